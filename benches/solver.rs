//! Benches of the leader's price search per slot: the paper's epsilon grid against the
//! exact solver, at 100, 2,000 and 100,000 plugged EVs (a peak slot, epsilon 0.001, 8 SCP
//! workers). Each iteration builds the slot's game and searches it, as the simulation
//! does.
//!
//! `cargo bench --bench solver`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use v2g::data::scenario::equal_workers;
use v2g::game::exact;
use v2g::{EvState, Follower, SlotGame, SlotPrices};

/// A deterministic spread of EV states (SOC 0–100 %, 30–300 kWh, varied beta, default a).
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

/// A peak slot (p_rt = 1.12: 3,361 candidates at epsilon 0.001) with an auxiliary task of
/// 0.5 kWh per plugged EV.
fn peak(n: usize) -> SlotPrices {
    SlotPrices {
        p_rt: 1.12,
        p_c: 1.62,
        p_d_max: 0.0,
        p_d_min: -3.36,
        delta: 2.24,
        e_limit_kwh: n as f64 * 0.5,
        e0_kwh: 3.75,
        w_service: 0.5,
        w_grid: 0.792,
        p_delay: 0.1,
    }
}

fn grid_vs_exact(c: &mut Criterion) {
    let workers = equal_workers(8);
    for n in [100usize, 2_000, 100_000] {
        let prices = peak(n);
        let fs: Vec<Follower> = states(n)
            .iter()
            .map(|s| Follower::new(s, prices.p_c, prices.e0_kwh))
            .collect();
        let mut group = c.benchmark_group(format!("solver/{n} EVs"));
        if n >= 100_000 {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(20));
        }
        group.bench_function("grid", |b| {
            b.iter(|| {
                let g = SlotGame::new(prices, 0.001, black_box(fs.clone()));
                g.search(&workers).best.revenue.total
            })
        });
        group.bench_function("exact", |b| {
            b.iter(|| {
                let g = SlotGame::new(prices, 0.001, black_box(fs.clone()));
                exact::search(&g, &workers).best.revenue.total
            })
        });
        group.finish();
    }
}

criterion_group!(benches, grid_vs_exact);
criterion_main!(benches);
