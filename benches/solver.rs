//! Benches of the leader's price search per slot: the paper's epsilon grid against the
//! exact solver, at 100, 2,000 and 100,000 plugged EVs (a peak slot, epsilon 0.001, 8 SCP
//! workers). Each iteration builds the slot's game and searches it, as the simulation
//! does.
//!
//! `cargo bench --bench solver`

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{peak, states};
use criterion::{criterion_group, criterion_main, Criterion};
use v2g::game::exact;
use v2g::game::solve::equal_workers;
use v2g::{Follower, SlotGame};

fn grid_vs_exact(c: &mut Criterion) {
    let workers = equal_workers(8);
    for n in [100usize, 2_000, 100_000] {
        let prices = peak(n as f64 * 0.5);
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
                let g = SlotGame::new(prices, 0.001, black_box(fs.clone())).unwrap();
                g.search(&workers).unwrap().best.revenue.total
            })
        });
        group.bench_function("exact", |b| {
            b.iter(|| {
                let g = SlotGame::new(prices, 0.001, black_box(fs.clone())).unwrap();
                exact::search(&g, &workers).unwrap().best.revenue.total
            })
        });
        group.finish();
    }
}

criterion_group!(benches, grid_vs_exact);
criterion_main!(benches);
