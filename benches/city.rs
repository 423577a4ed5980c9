//! City scale (issue 30; results in docs/benchmarks.md): a whole generated day, every
//! output written, as `v2g simulate` runs it:
//!
//! * `city/100k EVs` and `city/1M EVs`: `v2g fleet generate --n 100000` (and `1000000`)
//!   under the case study's grid signals, exact solver, ledger off.
//! * `city/20k EVs, ledger on`: `v2g fleet generate --n 20000` under the same signals,
//!   the default solver, every block signed, checked and streamed to `ledger.jsonl`
//!   (about 670,000 trades).
//!
//! The fleets are generated once and cached outside the repository, in `$V2G_CITY_CACHE`
//! or else `v2g-city` in the system's temporary folder (56 MB for the million). Peak
//! memory is not a criterion figure: docs/benchmarks.md gives `/usr/bin/time -v` of the
//! same runs through the CLI.
//!
//! `cargo bench --bench city` (about 9 minutes; `-- "100k"` for the smaller one alone)

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

mod common;
use common::fleet;
use v2g::pipeline::{run, GridSource, RunSpec};
use v2g::Solver;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn city(c: &mut Criterion) {
    let mut g = c.benchmark_group("city");
    g.sample_size(10);
    let out = tempfile::tempdir().expect("scratch folder");
    for (name, n, secs, ledger) in [
        ("100k EVs", 100_000, 30, false),
        ("1M EVs", 1_000_000, 200, false),
        ("20k EVs, ledger on", 20_000, 250, true),
    ] {
        let mut spec = RunSpec::new(fleet(n));
        spec.grid = GridSource::Path(root().join("data/sustech_grid.csv"));
        spec.overrides.ledger = Some(ledger);
        // The city runs use the exact solver; the ledger-on day the default one, as
        // `v2g simulate --fleet ev20000.csv --grid data/sustech_grid.csv --ledger on`.
        spec.overrides.solver = (!ledger).then_some(Solver::Exact);
        spec.out = Some(out.path().join("out"));
        g.measurement_time(Duration::from_secs(secs));
        g.bench_function(name, |b| {
            b.iter(|| run(black_box(&spec), &mut |_| Ok(())).expect("runs"))
        });
    }
    g.finish();
}

criterion_group!(benches, city);
criterion_main!(benches);
