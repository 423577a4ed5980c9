//! `v2g simulate --solver exact`: the exact leader solver through the real CLI.

use std::path::Path;

use crate::common::*;

/// The column `name` of a `slots.csv`.
fn column(out: &Path, name: &str) -> Vec<f64> {
    let (h, rows) = read_csv(&out.join("slots.csv"));
    let j = h.iter().position(|c| c == name).expect("column");
    rows.iter().map(|r| num(&r[j])).collect()
}

/// On the case-study fleet the exact solver's first slot (same state as the grid's)
/// earns at least the grid's revenue, its price lies in the range, every slot's revenue
/// is the sum of its parts, and the ledger of the run verifies.
#[test]
fn exact_on_the_case_study_beats_the_grid_and_its_ledger_verifies() {
    let dir = tmp();
    let (grid, exact) = (dir.path().join("grid"), dir.path().join("exact"));
    let common = ["--fleet", "data/sustech.csv", "--slots", "12", "--start"];
    let start = "2021-05-27T10:00";
    let mut g = common.to_vec();
    g.extend([start, "--ledger", "off"]);
    ok(&simulate(&g, &grid));
    let mut e = common.to_vec();
    e.extend([start, "--solver", "exact"]);
    ok(&simulate(&e, &exact));
    let (rg, re) = (column(&grid, "revenue"), column(&exact, "revenue"));
    assert_eq!(re.len(), 12);
    assert!(
        re[0] >= rg[0] - 1e-9 * rg[0].abs().max(1.0),
        "{} < {}",
        re[0],
        rg[0]
    );
    // The exact price need not be on the grid; at least one slot here is not.
    let p = column(&exact, "p_d");
    let p_rt = column(&exact, "p_rt");
    for (p, r) in p.iter().zip(&p_rt) {
        assert!(*p <= 0.0 && *p >= -3.0 * r, "{p} outside [-3·{r}, 0]");
    }
    assert!(p
        .iter()
        .any(|p| ((p * 1000.0).round() - p * 1000.0).abs() > 1e-6));
    let parts: Vec<Vec<f64>> = ["r_service", "r_grid", "c_v2g", "c_limit"]
        .iter()
        .map(|c| column(&exact, c))
        .collect();
    for t in 0..12 {
        let sum = parts[0][t] + parts[1][t] - parts[2][t] - parts[3][t];
        assert!(
            (sum - re[t]).abs() <= 1e-9 * re[t].abs().max(1.0),
            "slot {t}"
        );
    }
    let v = ok(&v2g([
        "verify".as_ref(),
        exact.join("ledger.jsonl").as_os_str(),
    ]));
    assert!(v.contains("OK: 12 blocks"), "{v}");
}

/// The exact solver's outputs do not depend on the number of SCP workers or of threads,
/// and `solver = "exact"` in a scenario file is the same as `--solver exact`.
#[test]
fn exact_outputs_are_independent_of_workers_threads_and_how_it_is_chosen() {
    let dir = tmp();
    let base = [
        "--fleet",
        "data/sustech.csv",
        "--slots",
        "8",
        "--ledger",
        "off",
    ];
    let run = |name: &str, extra: &[&str], threads: Option<&str>| {
        let out = dir.path().join(name);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_v2g"));
        cmd.current_dir(root())
            .arg("simulate")
            .args(base)
            .args(extra);
        if let Some(t) = threads {
            cmd.env("RAYON_NUM_THREADS", t);
        }
        ok(&cmd.arg("--out").arg(&out).output().expect("v2g runs"));
        std::fs::read(out.join("slots.csv")).unwrap()
    };
    let scenario = dir.path().join("exact.toml");
    std::fs::write(&scenario, "solver = \"exact\"\n").unwrap();
    let one = run("one", &["--solver", "exact", "--workers", "1"], Some("1"));
    let seven = run("seven", &["--solver", "exact", "--workers", "7"], None);
    let file = run(
        "file",
        &["--scenario", scenario.to_str().unwrap()],
        Some("2"),
    );
    assert_eq!(one, seven);
    assert_eq!(one, file);
    let grid = run("grid", &[], None);
    assert_ne!(one, grid, "the exact solver moved no price");
}

#[test]
fn a_bad_solver_is_refused_with_exit_2_and_nothing_written() {
    let dir = tmp();
    let out = dir.path().join("out");
    let o = simulate(&["--fleet", "data/example.csv", "--solver", "newton"], &out);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("newton") && err.contains("exact"), "{err}");
    assert!(!out.exists());
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, "seed = 1\nsolver = \"newton\"\n").unwrap();
    let o = simulate(
        &[
            "--fleet",
            "data/example.csv",
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("s.toml:2:10"), "{err}");
    assert!(!out.exists());
}
