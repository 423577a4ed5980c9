//! Using `v2g` as a library: load a fleet and its grid signals, change a parameter in code,
//! run, and read the per-slot results.
//!
//! `cargo run --release --example sweep_w_grid -- [FLEET]` (default `data/example.csv`)
//!
//! For each auxiliary-service price `W_grid` in a small sweep, prints the EVA's revenue,
//! the energy discharged, and the chosen discharging price of the busiest slot.

use std::path::PathBuf;

use v2g::{default_grid_path, Fleet, GridSignals, Run, Scenario};

fn main() -> Result<(), v2g::Error> {
    let fleet_path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/example.csv"));
    let fleet = Fleet::load(&fleet_path)?;
    let grid = GridSignals::load(&default_grid_path(&fleet_path))?;
    println!("w_grid,revenue_cny,discharged_kwh,busiest_slot,busiest_p_d");
    for w_grid in [0.5, 0.792, 1.2, 2.0] {
        let mut scenario = Scenario::default();
        scenario.params.w_grid = w_grid;
        let result = Run::new(fleet.clone(), Some(&grid), scenario)?.simulate(|_| {});
        let revenue: f64 = result.slots.iter().map(|s| s.revenue).sum();
        let discharged: f64 = result.slots.iter().map(|s| s.discharge_kwh).sum();
        let busiest = result
            .slots
            .iter()
            .max_by_key(|s| s.n_plugged)
            .expect("at least one slot");
        println!(
            "{w_grid},{revenue:.4},{discharged:.4},{},{}",
            busiest.time, busiest.p_d
        );
    }
    Ok(())
}
