//! The Stackelberg game of one slot: followers (EVs), the leader (EVA) and the search for
//! the discharging price, on the paper's epsilon grid ([`search`]) or exactly ([`exact`]).

pub mod exact;
pub mod follower;
pub mod leader;
pub mod search;
#[cfg(test)]
pub(crate) mod testing;
