//! The distribution-network foundation of `v2g`: a MATPOWER case reader ([`matpower`]),
//! the per-unit branch model and bus admittance matrix ([`ybus`]) and a Newton-Raphson AC
//! power flow ([`pf`]), plus a seeded radial feeder generator for benchmarks
//! ([`feeder`]).
//!
//! Pure functions of a network and injections: no scenario, no files beyond the case
//! reader, no ledger. The name is the physical network's; the grid operator's signals
//! (prices, the auxiliary task) are [`crate::data::grid`].

pub mod error;
pub mod feeder;
pub mod limits;
pub mod matpower;

pub use error::{NetworkError, Position};
pub mod pf;
pub mod study;
pub mod ybus;

pub use study::{Site, Study};
