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

/// The guide's library snippet (`docs/guide/library.md`) is exactly
/// `examples/sweep_w_grid.rs`, which the test above runs: the guide cannot drift from code
/// that compiles and works.
#[test]
fn the_guides_library_snippet_is_the_example_that_runs() {
    let page = std::fs::read_to_string(root().join("docs/guide/library.md")).unwrap();
    let marker = "<!-- examples/sweep_w_grid.rs -->";
    let at = page
        .find(marker)
        .expect("docs/guide/library.md marks its library snippet");
    let rest = &page[at + marker.len()..];
    let start = rest
        .find("```rust\n")
        .expect("a rust block follows the marker")
        + 8;
    let end = rest[start..].find("```").expect("the block ends") + start;
    let example = std::fs::read_to_string(root().join("examples/sweep_w_grid.rs")).unwrap();
    assert_eq!(&rest[start..end], example);
}
