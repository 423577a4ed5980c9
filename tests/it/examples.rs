//! Every program in `examples/` runs (cargo builds them for `cargo test`).

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

fn example(name: &str) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_v2g"));
    let dir = bin.parent().expect("target dir").join("examples");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn sweep_w_grid_changes_a_parameter_and_reads_slots() {
    let o = Command::new(example("sweep_w_grid"))
        .arg(root().join("data/example.csv"))
        .output()
        .expect("examples are built by a plain `cargo test` (not by `cargo test --test it`)");
    let text = ok(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "w_grid,revenue_cny,discharged_kwh,busiest_slot,busiest_p_d"
    );
    assert_eq!(lines.len(), 5, "{text}");
    // A higher auxiliary-service price never makes the EVA discharge less.
    let discharged: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    assert!(
        discharged.windows(2).all(|w| w[1] >= w[0] - 1e-9),
        "{discharged:?}"
    );
}
