//! Issue 12's speed rule: each opt-in option keeps the 2,000-EV case-study day within
//! 1.2× of the paper's model, in one criterion run (`cargo bench --bench options`).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use v2g::data::fleet::{Ev, Fleet, Limits};
use v2g::{GridSignals, Run, Scenario};

fn day(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fleet = Fleet::load(&root.join("data/sustech.csv")).expect("data/sustech.csv");
    let grid = GridSignals::load(&root.join("data/sustech_grid.csv")).expect("grid");
    // Every car on a 7.2 kW charger, every bus on a 60 kW one, discharging at 5 kW / 30 kW.
    let powered = Fleet::new(
        fleet
            .evs()
            .iter()
            .map(|e| {
                let bus = e.capacity_kwh > 100.0;
                Ev {
                    session_id: None,
                    limits: Limits {
                        max_kw: Some(if bus { 60.0 } else { 7.2 }),
                        max_discharge_kw: Some(if bus { 30.0 } else { 5.0 }),
                        ..Limits::default()
                    },
                    ..e.clone()
                }
            })
            .collect(),
    )
    .expect("valid fleet");
    let with = |f: &Fleet, set: &dyn Fn(&mut Scenario)| {
        let mut sc = Scenario::default();
        set(&mut sc);
        Run::new(f.clone(), Some(&grid), sc).expect("valid case study")
    };
    let runs = [
        ("paper's model", with(&fleet, &|_| {})),
        (
            "targets (min_departure_soc 0.8)",
            with(&fleet, &|s| s.params.min_departure_soc = 0.8),
        ),
        ("charger power (max_kw)", with(&powered, &|_| {})),
        (
            "smallest trade (min_trade_kwh 0.001)",
            with(&fleet, &|s| s.params.min_trade_kwh = 0.001),
        ),
        (
            "losses (efficiencies 0.95)",
            with(&fleet, &|s| {
                s.params.charge_efficiency = 0.95;
                s.params.discharge_efficiency = 0.95;
            }),
        ),
    ];
    let mut g = c.benchmark_group("day with options");
    g.sample_size(10);
    for (name, run) in &runs {
        g.bench_function(*name, |b| {
            b.iter(|| black_box(run).simulate(|_| Ok(())).unwrap().slots.len())
        });
    }
    g.finish();
}

criterion_group!(benches, day);
criterion_main!(benches);
