//! Benches of the game: the follower, one slot's price search at 100 and 2,000 plugged
//! EVs, and a whole 96-slot day of the 2,000-EV case-study fleet at epsilon 0.001.
//!
//! `cargo bench --bench game`

mod common;

use std::hint::black_box;
use std::path::Path;

use common::{peak, states};
use criterion::{criterion_group, criterion_main, Criterion};
use v2g::game::solve::equal_workers;
use v2g::{Fleet, Follower, GridSignals, Run, Scenario, SlotGame};

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
                let g = SlotGame::new(prices, 0.001, black_box(fs.clone())).unwrap();
                g.search(&workers).unwrap().best.p_d
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
        b.iter(|| run.simulate(|_| Ok(())).unwrap().slots.len())
    });
    g.finish();
}

criterion_group!(benches, follower, slot_search, day);
criterion_main!(benches);
