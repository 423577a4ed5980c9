//! Policies (issue 27; results in docs/benchmarks.md): the case study (2,000 EVs, one day,
//! ledger off, no output folder) under each policy, side by side with the scheme:
//!
//! * `policies/case study/<policy>` for the five policies (`optimal` solves the day's
//!   linear program);
//! * `policies/20k EVs/<rule>` for uncoordinated, EDF and LLF: a generated 20,000-EV day
//!   (`v2g fleet generate --n 20000`, cached outside the repository like the `city`
//!   bench's fleets) under the case study's grid signals;
//! * `policies/20k EVs/optimal`, only with `V2G_BENCH_SLOW=1`: about two minutes a run,
//!   so criterion's ten samples take over twenty minutes (docs/benchmarks.md also gives
//!   one run of `v2g simulate` timed by `/usr/bin/time`).
//!
//! `cargo bench --bench policies` (about 3 minutes; `-- "case study"` for the case study
//! alone).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

mod common;
use common::fleet;
use v2g::pipeline::{run, GridSource, RunSpec};
use v2g::policy::{Policy, POLICIES};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec(fleet: PathBuf, policy: Policy) -> RunSpec {
    let mut spec = RunSpec::new(fleet);
    spec.grid = GridSource::Path(root().join("data/sustech_grid.csv"));
    spec.overrides.ledger = Some(false);
    spec.overrides.policy = Some(policy);
    spec
}

fn case_study(c: &mut Criterion) {
    let mut g = c.benchmark_group("policies/case study");
    g.sample_size(10);
    for p in POLICIES {
        let spec = spec(root().join("data/sustech.csv"), p);
        if p == Policy::Optimal {
            g.measurement_time(Duration::from_secs(60));
        }
        g.bench_function(p.as_str(), |b| {
            b.iter(|| run(black_box(&spec), &mut |_| Ok(())).expect("runs"))
        });
    }
    g.finish();
}

fn twenty_k(c: &mut Criterion) {
    let mut g = c.benchmark_group("policies/20k EVs");
    g.sample_size(10);
    let path = fleet(20_000);
    for p in [Policy::Uncoordinated, Policy::Edf, Policy::Llf] {
        let spec = spec(path.clone(), p);
        g.bench_function(p.as_str(), |b| {
            b.iter(|| run(black_box(&spec), &mut |_| Ok(())).expect("runs"))
        });
    }
    if std::env::var_os("V2G_BENCH_SLOW").is_none_or(|v| v != "1") {
        g.finish();
        return;
    }
    // Minutes a run: the fewest samples criterion takes.
    let spec = spec(path, Policy::Optimal);
    g.measurement_time(Duration::from_secs(600));
    g.bench_function("optimal", |b| {
        b.iter(|| run(black_box(&spec), &mut |_| Ok(())).expect("runs"))
    });
    g.finish();
}

criterion_group!(benches, case_study, twenty_k);
criterion_main!(benches);
