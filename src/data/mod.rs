//! Data in: the fleet, the grid signals, the tariff, the scenario and time slots.

pub mod fleet;
pub mod grid;
pub mod scenario;
pub mod tariff;
pub mod time;
