//! The network's cost (issue 26's speed goals; results in docs/benchmarks.md):
//!
//! * `network/case study run, no network` and `network/case study run, case33bw`: the
//!   whole `v2g simulate` of the case study (ledger off, nothing written) without and with
//!   the 33-bus feeder of `data/networks/sustech_case33bw.toml` (2 × 96 power flows, the
//!   sites' limits binding the price); the goal is at most 20 % more.
//! * `network/case33bw, 192 flows`: the flows alone, from the run's site energies.
//! * `network/feeder 1000 buses, 100k EVs, 192 flows`: a generated 1,000-bus radial feeder
//!   (`network::feeder`), 100 sites with 50 kVA transformers holding a generated
//!   100,000-EV day (`v2g fleet generate --n 100000`); the day's flows with the scheme's
//!   site energies for both halves (uncoordinated charging of 100,000 EVs would draw far
//!   more than the feeder can carry); the goal is under 2 s.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use v2g::network::{feeder, Site, Study};
use v2g::pipeline::{run, GridSource, RunSpec, ScenarioSource};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn case_study(network: bool) -> RunSpec {
    let mut spec = RunSpec::new(root().join("data/sustech.csv"));
    spec.grid = GridSource::Path(root().join("data/sustech_grid.csv"));
    spec.overrides.ledger = Some(false);
    if network {
        spec.scenario = ScenarioSource::Path(root().join("data/networks/sustech_case33bw.toml"));
    }
    spec
}

fn case_study_runs(c: &mut Criterion) {
    let mut g = c.benchmark_group("network");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for (name, network) in [
        ("case study run, no network", false),
        ("case study run, case33bw", true),
    ] {
        let spec = case_study(network);
        g.bench_function(name, |b| {
            b.iter(|| run(black_box(&spec), &mut |_| Ok(())).expect("runs"))
        });
    }
    // The flows alone.
    let out = run(&case_study(true), &mut |_| Ok(())).expect("runs");
    let sc =
        v2g::data::scenario::Scenario::load(&root().join("data/networks/sustech_case33bw.toml"))
            .expect("scenario");
    let text = std::fs::read_to_string(root().join("data/networks/case33bw.m")).unwrap();
    let case =
        v2g::network::matpower::parse_str(&text, &root().join("data/networks/case33bw.m")).unwrap();
    let times: Vec<String> = out.result.slots.iter().map(|s| s.time.clone()).collect();
    let base: Vec<Option<f64>> = out.grid_rows.iter().map(|r| Some(r.base_load_kw)).collect();
    let energies = out.result.site_kwh.clone();
    let mut study = Study::new(case, &sc.sites).expect("study");
    g.bench_function("case33bw, 192 flows", |b| {
        b.iter(|| {
            v2g::report::network::flows(
                &mut study,
                &sc.sites,
                &times,
                &base,
                sc.network_load_scale,
                black_box(&energies),
                &energies,
                &[],
            )
            .expect("converges")
        })
    });
    g.finish();
}

fn feeder_100k(c: &mut Criterion) {
    let spec = feeder::FeederSpec::default();
    let case = feeder::radial_feeder(&spec).expect("feeder");
    // 100 sites on every tenth bus, 50 kVA each.
    let sites: Vec<Site> = (0..100)
        .map(|i| Site {
            name: format!("s{i}"),
            bus: case.buses()[10 * i + 9].id,
            transformer_kva: Some(50.0),
            power_factor: 1.0,
        })
        .collect();
    let fleet = v2g::generate::fleet::generate_fleet(&v2g::generate::fleet::FleetSpec {
        n: 100_000,
        ..Default::default()
    })
    .expect("fleet");
    let mut sc = v2g::data::scenario::Scenario {
        ledger: false,
        sites: sites.clone(),
        ..Default::default()
    };
    sc.solver = v2g::data::scenario::Solver::Exact;
    let r = v2g::sim::Run::new(fleet, None, sc).expect("run");
    let result = r.simulate(|_| Ok(())).expect("simulates");
    let times: Vec<String> = result.slots.iter().map(|s| s.time.clone()).collect();
    let base = vec![None; times.len()];
    let mut study = Study::new(case, &sites).expect("study");
    let mut g = c.benchmark_group("network");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("feeder 1000 buses, 100k EVs, 192 flows", |b| {
        b.iter(|| {
            v2g::report::network::flows(
                &mut study,
                &sites,
                &times,
                &base,
                1.0,
                black_box(&result.site_kwh),
                &result.site_kwh,
                &[],
            )
            .expect("converges")
        })
    });
    g.finish();
}

criterion_group!(benches, case_study_runs, feeder_100k);
criterion_main!(benches);
