//! Using `v2g` as a library: run the pipeline on a fleet (its grid file found beside it)
//! for a few values of a parameter, and read the per-slot results and the summary.
//!
//! `cargo run --release --example sweep_w_grid -- [FLEET]` (default `data/example.csv`)

use v2g::pipeline::{run, RunSpec, ScenarioSource};
use v2g::Scenario;

fn main() -> Result<(), v2g::Error> {
    let fleet = std::env::args().nth(1).unwrap_or("data/example.csv".into());
    let mut spec = RunSpec::new(fleet); // no `out`: nothing is written
    spec.overrides.ledger = Some(false);
    println!("w_grid,revenue_cny,discharged_kwh,busiest_slot,busiest_p_d");
    for w_grid in [0.5, 0.792, 1.2, 2.0] {
        let mut scenario = Scenario::default();
        scenario.params.w_grid = w_grid;
        spec.scenario = ScenarioSource::Value(Box::new(scenario));
        let out = run(&spec, &mut |_event| Ok(()))?; // progress events, ignored here
        let busiest = out.result.slots.iter().max_by_key(|s| s.n_plugged).unwrap();
        println!(
            "{w_grid},{:.4},{:.4},{},{}",
            out.summary.eva.revenue,
            out.summary.energy.discharged_kwh,
            busiest.time,
            busiest.p_d.expect("the scheme prices every slot")
        );
    }
    Ok(())
}
