//! Sweeps: many runs of the pipeline from one spec, in parallel, resumable, shardable
//! over a Slurm job array, merged into one table (`sweep.csv`) with figures.
//!
//! A sweep spec is a scenario file (every key of [`Scenario`](crate::Scenario), the base
//! of every point) with a `[sweep]` table:
//!
//! ```toml
//! fleet = "sustech.csv"          # relative to the spec file (or --fleet FILE)
//! grid = "sustech_grid.csv"      # optional: default beside the fleet (or --grid FILE)
//! ledger = "off"
//! solver = "exact"
//! [sweep]
//! "params.w_grid" = [0.5, 0.792, 1.2]   # a dotted scenario key and its values
//! "params.beta" = [0.08, 0.16, 0.32]
//! [[sweep.points]]                       # optional explicit combinations, added
//! "params.w_grid" = 2.0
//! "params.beta" = 0.5
//! ```
//!
//! The points are the Cartesian product of the swept keys (the last varying fastest) and
//! then the explicit points. A swept key is any scenario key (`params.*`, `solver`,
//! `seed`, `ledger`, `horizon.slots`, `workers`, …), `fleet` or `grid` (arrays of paths),
//! or a key of the generated fleet: a `[generate]` table (`n`, `bus_share`, `day`; the
//! defaults of `v2g fleet generate`) or a swept `generate.*` key makes every point's
//! fleet [`generate_fleet`](crate::generate::fleet::generate_fleet) with the point's
//! `seed`, so `seed = [1, 2, 3]` sweeps fleets drawn with three seeds.
//!
//! * [`SweepSpec`] parses the file with every error located ([`spec`]).
//! * [`Plan::new`] resolves, validates and names every point ([`plan`]).
//! * [`run`] runs the points of one shard into `DIR/runs/<id>/` (each the ordinary
//!   output folder of [`pipeline::run`](crate::pipeline::run)) and records each in
//!   `DIR/runs/<id>.json`; the whole sweep ends with [`merge`].
//! * [`merge`] builds `DIR/sweep.csv` and the figures from whatever the shards wrote
//!   ([`table`], [`figures`]), refusing missing points and points of another spec.
//! * [`slurm`] writes (and submits) a job array running the shards and a merge job.
//!
//! The folder of a sweep holds `sweep.json` (the plan: points, ids, digests),
//! `sweep.csv`, `sweep_*.svg`, `runs/` and `slurm/`, nothing else.

pub mod plan;
pub mod spec;

pub use plan::{InputFlags, Manifest, Plan, Point, PointFleet, Shard};
pub use spec::SweepSpec;
