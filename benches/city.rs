//! City scale (issue 30; results in docs/benchmarks.md): a whole generated day with the
//! exact solver, ledger off, every output written, as `v2g simulate` runs it:
//!
//! * `city/100k EVs` and `city/1M EVs`: `v2g fleet generate --n 100000` (and `1000000`)
//!   under the case study's grid signals.
//!
//! The fleets are generated once and cached outside the repository, in `$V2G_CITY_CACHE`
//! or else `v2g-city` in the system's temporary folder (56 MB for the million). Peak
//! memory is not a criterion figure: docs/benchmarks.md gives `/usr/bin/time -v` of the
//! same runs through the CLI.
//!
//! `cargo bench --bench city` (about 5 minutes; `-- "100k"` for the smaller one alone)

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
    for (name, n, secs) in [("100k EVs", 100_000, 30), ("1M EVs", 1_000_000, 200)] {
        let mut spec = RunSpec::new(fleet(n));
        spec.grid = GridSource::Path(root().join("data/sustech_grid.csv"));
        spec.overrides.ledger = Some(false);
        spec.overrides.solver = Some(Solver::Exact);
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
