//! The Stackelberg game of one slot: followers (EVs), the leader (EVA) and the search for
//! the discharging price, on the paper's epsilon grid ([`search`]) or exactly ([`exact`]),
//! one call for either ([`solve`]); [`tie`] decides a follower's choice at a threshold in exact
//! arithmetic. `game` depends on no input format: it is pure maths on
//! its own types.

pub mod exact;
pub mod follower;
pub mod leader;
pub mod search;
pub mod solve;
#[cfg(test)]
pub(crate) mod testing;
pub mod tie;
