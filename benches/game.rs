//! Benches of the game: the follower, one slot's price search at 100 and 2,000 plugged
//! EVs, and a whole 96-slot day of the 2,000-EV case-study fleet at epsilon 0.001.
//!
//! `cargo bench --bench game`

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use v2g::data::scenario::equal_workers;
use v2g::{EvState, Fleet, Follower, GridSignals, Run, Scenario, SlotGame, SlotPrices};

/// A deterministic spread of EV states (SOC 0–100 %, 30–300 kWh, varied beta).
fn states(n: usize) -> Vec<EvState> {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let cap = 30.0 + 270.0 * next();
            EvState {
                energy_kwh: cap * next(),
                capacity_kwh: cap,
                beta: 0.05 + 0.3 * next(),
                a: -0.01,
                u_idle: 0.0,
            }
        })
        .collect()
}

/// A peak slot (p_rt = 1.12: 3,361 candidates at epsilon 0.001).
fn peak(e_limit_kwh: f64) -> SlotPrices {
    SlotPrices {
        p_rt: 1.12,
        p_c: 1.62,
        p_d_max: 0.0,
        p_d_min: -3.36,
        delta: 2.24,
        e_limit_kwh,
        e0_kwh: 3.75,
        w_service: 0.5,
        w_grid: 0.792,
        p_delay: 0.1,
    }
}

fn follower(c: &mut Criterion) {
    let evs = states(1024);
    c.bench_function("follower/new+respond x1024", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for s in &evs {
                let f = Follower::new(black_box(s), 1.62, 3.75);
                acc += f.respond(black_box(-0.8)).x;
            }
            acc
        })
    });
}

fn slot_search(c: &mut Criterion) {
    let workers = equal_workers(8);
    for n in [100usize, 2000] {
        let prices = peak(n as f64 * 0.5);
        let fs: Vec<Follower> = states(n)
            .iter()
            .map(|s| Follower::new(s, prices.p_c, prices.e0_kwh))
            .collect();
        c.bench_function(&format!("slot search/{n} EVs, eps 0.001, 8 workers"), |b| {
            b.iter(|| {
                let g = SlotGame::new(prices, 0.001, black_box(fs.clone()));
                g.search(&workers).best.p_d
            })
        });
    }
}

fn day(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fleet = Fleet::load(&root.join("data/sustech.csv")).expect("data/sustech.csv");
    let grid = GridSignals::load(&root.join("data/sustech_grid.csv")).expect("grid");
    let run = Run::new(fleet, Some(&grid), Scenario::default()).expect("valid case study");
    let mut g = c.benchmark_group("day");
    g.sample_size(10);
    g.bench_function("96 slots, 2,000 EVs (sustech), eps 0.001", |b| {
        b.iter(|| run.simulate(|_| {}).slots.len())
    });
    g.finish();
}

criterion_group!(benches, follower, slot_search, day);
criterion_main!(benches);
