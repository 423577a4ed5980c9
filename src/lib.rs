//! `v2g`: the blockchain-enabled Stackelberg V2G trading scheme of Chen, Lei and Jian
//! ("Addressing Trust Issues for Vehicle to Grid in Distributed Power Grids Using
//! Blockchains"), replayed slot by slot over a fleet of EV plug-in sessions.
//!
//! The contract for every unit, sign, tie-break and value range is the repository's
//! `docs/model.md`; equation numbers (1)–(12) are the paper's.
//!
//! * the whole run as one call: [`pipeline`] (what `v2g simulate` does)
//! * data in: [`data::fleet`], [`data::grid`], [`data::tariff`], [`data::scenario`],
//!   [`data::time`]
//! * the game: [`game::follower`] (Eqs. 1, 2, 9), [`game::leader`] (Eqs. 3–7),
//!   [`game::search`] (Eq. 12, step 4), [`game::exact`], one call for either:
//!   [`game::solve`]
//! * [`settlement`] (Eq. 10, step 5) and the uncoordinated [`baseline`]
//! * the slot loop: [`sim`]
//! * reports: [`report`] (summary, provenance, figures, the output folder)
//! * synthetic case-study data: [`generate`]
//! * the trust layer (Section III.C steps 1–6): [`ledger`]
//! * many runs from one spec, local or on Slurm, merged into one table: [`sweep`]
//!
//! The library has no command-line dependencies: build it with
//! `default-features = false` to leave out the `cli` feature (clap, indicatif).
//!
//! ```no_run
//! use v2g::pipeline::{run, RunSpec};
//! # fn main() -> Result<(), v2g::Error> {
//! let mut spec = RunSpec::new("data/sustech.csv"); // the grid file beside it is found
//! spec.overrides.ledger = Some(false);
//! let out = run(&spec, &mut |_event| Ok(()))?;
//! // The scheme prices every slot (other policies leave p_d empty, docs/model.md §10).
//! if let Some(p_d) = out.result.slots[40].p_d {
//!     println!("p_d* of slot 40: {p_d}");
//! }
//! println!("EVA revenue: {:.2} CNY", out.summary.eva.revenue);
//! println!("system cost: {:.2} CNY", out.summary.system.total_cny);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod baseline;
pub mod data;
pub mod error;
pub mod game;
pub mod generate;
pub mod ledger;
pub mod network;
pub mod pipeline;
pub mod policy;
pub mod report;
pub mod settlement;
pub mod sim;
pub mod sweep;

pub use data::fleet::{Ev, Fleet, Kind, Limits};
pub use data::grid::{GridRow, GridSignals};
pub use data::scenario::{Params, Scenario};
pub use data::tariff::Period;
pub use data::tariff::Tariff;
pub use data::time::Horizon;
pub use error::{Error, Result};
pub use game::follower::{best_response, EvState, Follower, Regime, Response};
pub use game::leader::{Revenue, SlotPrices};
pub use game::search::{PriceGrid, SearchResult, SlotGame};
pub use game::solve::{solve, Solver, Worker};
pub use pipeline::{Overrides, RunOutput, RunSpec};
pub use report::provenance::Provenance;
pub use report::summary::Summary;
pub use settlement::Trade;
pub use sim::{EvRecord, OwnedOutcome, Run, RunResult, SlotOutcome, SlotRecord};

/// The grid-signal file looked for beside a fleet file: `<fleet stem>_grid.csv`.
pub fn default_grid_path(fleet: &std::path::Path) -> std::path::PathBuf {
    let stem = fleet
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    fleet.with_file_name(format!("{stem}_grid.csv"))
}
