//! `v2g`: the blockchain-enabled Stackelberg V2G trading scheme of Chen, Lei and Jian
//! ("Addressing Trust Issues for Vehicle to Grid in Distributed Power Grids Using
//! Blockchains"), replayed slot by slot over a fleet of EV plug-in sessions.
//!
//! The contract for every unit, sign and tie-break is the project's `MODEL.md`; equation
//! numbers (1)–(12) are the paper's.
//!
//! * data in: [`data::fleet`], [`data::grid`], [`data::tariff`], [`data::scenario`],
//!   [`data::time`]
//! * the game: [`game::follower`] (Eqs. 1, 2, 9), [`game::leader`] (Eqs. 3–7),
//!   [`game::search`] (Eq. 12, step 4)
//! * [`settlement`] (Eq. 10, step 5) and the uncoordinated [`baseline`]
//! * the slot loop: [`sim`]
//! * reports: [`report`]
//! * synthetic case-study data: [`generate`]
//! * the trust layer (Section III.C steps 1–6): [`ledger`]
//!
//! ```no_run
//! use v2g::{Fleet, GridSignals, Run, Scenario};
//! # fn main() -> Result<(), v2g::Error> {
//! let fleet = Fleet::load("data/sustech.csv".as_ref())?;
//! let grid = GridSignals::load("data/sustech_grid.csv".as_ref())?;
//! let mut scenario = Scenario::default();
//! scenario.params.w_grid = 1.0;
//! let result = Run::new(fleet, Some(&grid), scenario)?.simulate(|_| {});
//! println!("p_d* of slot 40: {}", result.slots[40].p_d);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod baseline;
pub mod data;
pub mod error;
pub mod game;
pub mod generate;
pub mod ledger;
pub mod report;
pub mod settlement;
pub mod sim;

pub use data::fleet::{Ev, Fleet, Kind};
pub use data::grid::{GridRow, GridSignals};
pub use data::scenario::{Params, Scenario, Solver, Worker};
pub use data::tariff::Tariff;
pub use data::time::Horizon;
pub use error::{Error, Result};
pub use game::follower::{best_response, EvState, Follower, Regime, Response};
pub use game::leader::{Revenue, SlotPrices};
pub use game::search::{PriceGrid, SearchResult, SlotGame};
pub use report::summary::Summary;
pub use settlement::Trade;
pub use sim::{EvRecord, Run, RunResult, SlotOutcome, SlotRecord};

/// The grid-signal file looked for beside a fleet file: `<fleet stem>_grid.csv`.
pub fn default_grid_path(fleet: &std::path::Path) -> std::path::PathBuf {
    let stem = fleet
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    fleet.with_file_name(format!("{stem}_grid.csv"))
}
