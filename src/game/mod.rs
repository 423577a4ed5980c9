//! The Stackelberg game of one slot: followers (EVs), the leader (EVA) and the search for
//! the discharging price.

pub mod follower;
pub mod leader;
pub mod search;
