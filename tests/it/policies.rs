//! Policies (docs/model.md §10): every policy writes the same files with the same columns;
//! options a policy does not take, unknown policies and an unsolved optimum are refused
//! with nothing written; the sweep over the five policies and `v2g compare` give a table
//! in which the optimum has the lowest system cost.

use crate::common::*;

const POLICIES: [&str; 5] = ["stackelberg", "uncoordinated", "edf", "llf", "optimal"];

/// Each policy on the example fleet: the same files (the ledger's only for the game),
/// the same columns, `p_d` empty without the game, and the system cost's identity.
#[test]
fn every_policy_writes_the_same_files_with_the_same_columns() {
    let dir = tmp();
    let mut headers = Vec::new();
    for p in POLICIES {
        let out = dir.path().join(p);
        let o = simulate(&["--fleet", "data/example.csv", "--policy", p], &out);
        let text = ok(&o);
        assert!(text.contains("System cost"), "{text}");
        let mut want = RUN_FILES.to_vec();
        if p == "stackelberg" {
            want.extend(["genesis.json", "ledger.jsonl"]);
            want.sort();
        }
        assert_eq!(names(&out), want, "{p}");
        let (sh, slots) = read_csv(&out.join("slots.csv"));
        let (eh, _) = read_csv(&out.join("evs.csv"));
        let p_d = sh.iter().position(|c| c == "p_d").unwrap();
        assert!(
            slots
                .iter()
                .all(|r| r[p_d].is_empty() == (p != "stackelberg")),
            "{p}: p_d"
        );
        headers.push((sh, eh));
        let s = summary(&out);
        assert_eq!(s["policy"], p);
        let sc = s["system"]["total_cny"].as_f64().unwrap();
        let rhs = s["evs"]["net_cost_cny"].as_f64().unwrap()
            - s["eva"]["profit_cny"].as_f64().unwrap()
            + s["evs"]["wear_cny"].as_f64().unwrap();
        assert!(
            (sc - rhs).abs() < 1e-9 * (1.0 + sc.abs()),
            "{p}: {sc} vs {rhs}"
        );
        assert_eq!(s.get("optimal").is_some(), p == "optimal", "{p}");
        if p != "stackelberg" {
            assert!(s["periods"][0]["mean_p_d"].is_null(), "{p}");
        }
    }
    assert!(headers.windows(2).all(|w| w[0] == w[1]));
}

/// docs/model.md §10: the options only the game takes, an unknown policy and an optimum
/// the solver does not reach are refused: exit 2, one line, nothing written.
#[test]
fn bad_policies_and_options_are_refused_and_nothing_is_written() {
    let dir = tmp();
    let iters = write(
        dir.path(),
        "iters.toml",
        "policy = \"optimal\"\n[optimal]\nmax_iterations = 2\n",
    );
    let edf_opt = write(
        dir.path(),
        "edf.toml",
        "policy = \"edf\"\n[optimal]\nmax_iterations = 50\n",
    );
    let iters = iters.to_str().unwrap();
    let edf_opt = edf_opt.to_str().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&["--policy", "greedy"], "greedy"),
        (
            &["--policy", "edf", "--ledger", "on"],
            "policy edf does not take a ledger",
        ),
        (
            &["--policy", "optimal", "--solver", "exact"],
            "policy optimal does not take a price solver",
        ),
        (
            &["--policy", "llf", "--workers", "3"],
            "policy llf does not take SCP workers",
        ),
        (
            &["--policy", "uncoordinated", "--epsilon", "0.01"],
            "epsilon",
        ),
        (&["--policy", "edf", "--byzantine", "1"], "byzantine"),
        (
            &["--scenario", edf_opt],
            "policy edf does not take [optimal] options",
        ),
        (
            &["--scenario", iters],
            "iteration limit (2, scenario [optimal] max_iterations)",
        ),
    ];
    for (args, want) in cases {
        let out = dir.path().join("out");
        let mut all = vec!["--fleet", "data/example.csv"];
        all.extend_from_slice(args);
        let o = simulate(&all, &out);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(want), "{args:?}: {e}");
        // One error line, the last (notes such as the grid file taken come before).
        let errors: Vec<&str> = e.lines().filter(|l| l.starts_with("v2g: error")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {e}");
        assert!(e.trim_end().ends_with(errors[0]), "{args:?}: {e}");
        assert!(
            !out.exists() || names(&out).is_empty(),
            "{args:?} wrote something"
        );
    }
}

/// The "done when": the sweep over the five policies on the case study, then
/// `v2g compare`: the optimum has the lowest system cost, every other policy's gap is its
/// difference, and the CSV and figure are written.
#[test]
fn the_policies_sweep_and_compare_put_the_optimum_lowest() {
    let dir = tmp();
    let sw = dir.path().join("sweep");
    let o = v2g_within(
        [
            "sweep",
            "docs/sweeps/policies.toml",
            "--out",
            sw.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(600),
    );
    ok(&o);
    let (h, rows) = read_csv(&sw.join("sweep.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let cost = |p: &str| {
        num(&rows.iter().find(|r| r[col("policy")] == p).unwrap()[col("system_cost_cny")])
    };
    for p in POLICIES {
        assert!(cost("optimal") <= cost(p) + 1e-6 * cost(p).abs(), "{p}");
    }
    assert!(cost("optimal") < cost("stackelberg"));
    let cmp = dir.path().join("cmp");
    let o = v2g([
        "compare",
        sw.to_str().unwrap(),
        "--out",
        cmp.to_str().unwrap(),
    ]);
    let text = ok(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("run") && lines[0].contains("system cost CNY"),
        "{text}"
    );
    for (line, p) in lines[1..6].iter().zip(POLICIES) {
        assert!(line.starts_with(p), "{text}");
    }
    assert!(lines[5].contains(" 0.00 "), "{text}");
    let (ch, crows) = read_csv(&cmp.join("comparison.csv"));
    assert_eq!(ch[..4], ["run", "policy", "system_cost_cny", "gap_cny"]);
    assert_eq!(crows.len(), 5);
    for r in &crows {
        let gap = num(&r[3]);
        assert!((gap - (num(&r[2]) - cost("optimal"))).abs() < 1e-6, "{r:?}");
    }
    let svg = std::fs::read_to_string(cmp.join("comparison_load.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("optimal") && svg.contains("base load"));
    // A folder that is neither a run nor a sweep, and an output inside a compared run,
    // are refused with nothing written.
    let bad = v2g([
        "compare",
        "data",
        "--out",
        dir.path().join("c2").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("neither a run's output folder"),
        "{}",
        stderr(&bad)
    );
    assert!(!dir.path().join("c2").exists());
    let run = sw.join("runs");
    let first = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let inside = first.join("cmp");
    let o = v2g([
        "compare",
        first.to_str().unwrap(),
        "--out",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!inside.exists());
}

/// A day whose relaxation keeps trading both ways through seven programs (found by the
/// Python suite's random days: W_grid 3, no wear, no losses) is solved by the eighth,
/// with every EV-slot fixed to one direction, never refused.
#[test]
fn the_last_program_fixes_every_direction_and_is_played() {
    let dir = tmp();
    let out = dir.path().join("out");
    let d = |f: &str| {
        test_data(&format!("policies/{f}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let o = simulate(
        &[
            "--fleet",
            &d("fleet.csv"),
            "--grid",
            &d("grid.csv"),
            "--scenario",
            &d("scenario.toml"),
        ],
        &out,
    );
    ok(&o);
    let s = summary(&out);
    let opt = &s["optimal"];
    assert_eq!(opt["rounds"], 8, "{opt}");
    assert!(opt["fixed"].as_u64().unwrap() > 0, "{opt}");
    let (relax, obj) = (
        opt["relaxation_cny"].as_f64().unwrap(),
        opt["objective_cny"].as_f64().unwrap(),
    );
    assert!(relax <= obj + 1e-9, "{opt}");
    let total = s["system"]["total_cny"].as_f64().unwrap();
    assert!(
        (total - obj).abs() < 1e-5 * (1.0 + obj.abs()),
        "{total} vs {obj}"
    );
}
