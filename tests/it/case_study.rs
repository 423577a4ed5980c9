//! The SUSTech case study (issue 3): the shipped data regenerate byte for byte from the
//! commands in `data/README.md`, and the full run matches the golden results in
//! `tests/golden/` within a relative tolerance.
//!
//! A deliberate change of results updates the golden files in the same commit, with the
//! reason in the commit message: `V2G_BLESS=1 cargo test --test it case_study` rewrites them.

use std::path::Path;

use approx::relative_eq;
use serde_json::Value;

use crate::common::{ok, read_csv, root, stdout, tmp, v2g};

/// Relative tolerance of the golden comparison: far below one step of the price grid
/// (0.001 CNY/kWh) and any visible change of a revenue, far above floating-point noise.
const REL_TOL: f64 = 1e-9;
/// Absolute floor for values that are (close to) zero.
const ABS_TOL: f64 = 1e-9;

/// The figures of a run and their titles.
const FIGURES: [(&str, &str); 3] = [
    ("fig3_load_and_aux_demand.svg", "Fig. 3"),
    ("fig4_power_and_prices.svg", "Fig. 4"),
    ("fig5_revenue_and_costs.svg", "Fig. 5"),
];

fn golden(name: &str) -> std::path::PathBuf {
    root().join("tests").join("golden").join(name)
}

fn bless() -> bool {
    std::env::var_os("V2G_BLESS").is_some_and(|v| v == "1")
}

fn close(a: f64, b: f64) -> bool {
    relative_eq!(a, b, epsilon = ABS_TOL, max_relative = REL_TOL)
}

/// Compares two CSV tables cell by cell: numbers within tolerance, other text exactly.
/// Returns the first difference as `row, column: got vs want`.
fn csv_diff(got: &[Vec<String>], want: &[Vec<String>], header: &[String]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("{} rows, golden has {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        for (j, (a, b)) in g.iter().zip(w).enumerate() {
            let same = match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => close(x, y),
                _ => a == b,
            };
            if !same {
                return Some(format!("row {}, {}: {a} vs golden {b}", i + 1, header[j]));
            }
        }
    }
    None
}

/// Compares two JSON values: numbers within tolerance, everything else exactly.
fn json_diff(got: &Value, want: &Value, path: &str) -> Option<String> {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64()?, b.as_f64()?);
            (!close(a, b)).then(|| format!("{path}: {a} vs golden {b}"))
        }
        (Value::Object(a), Value::Object(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: {} keys vs golden {}", a.len(), b.len()));
            }
            b.iter().find_map(|(k, wv)| match a.get(k) {
                Some(gv) => json_diff(gv, wv, &format!("{path}.{k}")),
                None => Some(format!("{path}.{k}: missing")),
            })
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: {} items vs golden {}", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (g, w))| json_diff(g, w, &format!("{path}[{i}]")))
        }
        _ => (got != want).then(|| format!("{path}: {got} vs golden {want}")),
    }
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The `cargo run --release -- …` lines of `data/README.md`, as `v2g` arguments.
fn readme_commands() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join("data").join("README.md")).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("cargo run --release -- "))
        .map(|rest| rest.split_whitespace().map(String::from).collect())
        .collect()
}

#[test]
fn the_shipped_data_regenerate_byte_for_byte_from_the_readme_commands() {
    let cmds = readme_commands();
    assert_eq!(cmds.len(), 2, "data/README.md records both commands");
    let dir = tmp();
    for mut args in cmds {
        let i = args.iter().position(|a| a == "--out").expect("--out");
        let shipped = root().join(&args[i + 1]);
        let fresh = dir.path().join(shipped.file_name().unwrap());
        args[i + 1] = fresh.display().to_string();
        ok(&v2g(&args));
        let (a, b) = (
            std::fs::read(&fresh).unwrap(),
            std::fs::read(&shipped).unwrap(),
        );
        assert!(
            a == b,
            "{} differs from {}",
            fresh.display(),
            shipped.display()
        );
    }
}

#[test]
fn the_case_study_matches_the_golden_results() {
    let dir = tmp();
    let out = dir.path().join("run");
    let text = ok(&v2g([
        "simulate",
        "--fleet",
        "data/sustech.csv",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        text.contains(
            "2000 EVs, 96 slots from 2021-05-27T07:00, solver grid, epsilon 0.001 CNY/kWh"
        ),
        "{text}"
    );
    if bless() {
        std::fs::create_dir_all(golden("")).unwrap();
        std::fs::copy(out.join("slots.csv"), golden("sustech_slots.csv")).unwrap();
        // The golden summary's command line is the README's, not this test's temporary path.
        let mut s = read_json(&out.join("summary.json"));
        s["run"]["command_line"] = serde_json::json!([
            "v2g",
            "simulate",
            "--fleet",
            "data/sustech.csv",
            "--out",
            "results"
        ]);
        let mut text = serde_json::to_string_pretty(&s).unwrap();
        text.push('\n');
        std::fs::write(golden("sustech_summary.json"), text).unwrap();
        for f in FIGURES {
            std::fs::copy(out.join(f.0), golden(f.0)).unwrap();
        }
    }
    let (header, got) = read_csv(&out.join("slots.csv"));
    let (gheader, want) = read_csv(&golden("sustech_slots.csv"));
    assert_eq!(header, gheader);
    assert_eq!(got.len(), 96);
    if let Some(d) = csv_diff(&got, &want, &header) {
        panic!("slots.csv moved from tests/golden/sustech_slots.csv: {d}");
    }
    // The `run` object's command line names this test's temporary folder, and its version
    // is the crate's: both are checked here, the rest against the golden file.
    let mut summary = read_json(&out.join("summary.json"));
    let run = summary["run"]
        .as_object_mut()
        .expect("summary.json has a run object");
    let cmd = run.remove("command_line").expect("run.command_line");
    let cmd: Vec<&str> = cmd
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        cmd[1..],
        [
            "simulate",
            "--fleet",
            "data/sustech.csv",
            "--out",
            out.to_str().unwrap()
        ]
    );
    let version = run.remove("version").expect("run.version");
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let mut want = read_json(&golden("sustech_summary.json"));
    let golden_run = want["run"].as_object_mut().expect("golden run object");
    golden_run.remove("command_line");
    golden_run.remove("version");
    if let Some(d) = json_diff(&summary, &want, "") {
        panic!("summary.json moved from tests/golden/sustech_summary.json: {d}");
    }
    // The figures are written with the run, are SVG with their titles, and are the ones
    // docs/guide/running.md shows (tests/golden/*.svg): pixel coordinates are integers, so the same
    // results draw the same bytes.
    for (file, title) in FIGURES {
        let svg = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains(title), "{file}");
        assert!(!svg.contains("NaN"), "{file}");
        let shown = std::fs::read_to_string(golden(file)).unwrap();
        assert!(
            svg == shown,
            "{file} differs from tests/golden/{file} (the guide's)"
        );
    }
    // The run's ledger holds every trade of the day and passes the audit.
    let audit = ok(&v2g(["verify", out.join("ledger.jsonl").to_str().unwrap()]));
    let trades: usize = got
        .iter()
        .map(|r| {
            r[header.iter().position(|h| h == "n_plugged").unwrap()]
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert!(
        audit.contains(&format!("OK: 96 blocks, {trades} transactions")),
        "{audit}"
    );
    // `v2g report` reprints the same summary table, then the provenance.
    let report = ok(&v2g(["report", out.to_str().unwrap()]));
    let table = text.split("\nwrote ").next().unwrap();
    assert!(report.starts_with(table), "report:\n{report}\nrun:\n{text}");
    let sha = |p: &str| v2g::data::sha256_hex(&std::fs::read(root().join(p)).unwrap());
    for line in [
        "fleet     data/sustech.csv (107941 bytes".to_string(),
        format!("sha256 {})", sha("data/sustech.csv")),
        format!("sha256 {})", sha("data/sustech_grid.csv")),
        "solver grid, epsilon 0.001 CNY/kWh, 8 SCP workers".to_string(),
    ] {
        assert!(report.contains(&line), "report lacks {line}:\n{report}");
    }
}

/// The guard can fail: one slot's price moved by one grid step, or its revenue by a
/// hundredth of a fen, is caught and named.
#[test]
fn the_golden_comparison_catches_one_moved_price_or_revenue() {
    let (header, want) = read_csv(&golden("sustech_slots.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (name, delta) in [("p_d", -0.001), ("revenue", 1e-4)] {
        let mut got = want.clone();
        let c = col(name);
        let v: f64 = got[40][c].parse().unwrap();
        got[40][c] = (v + delta).to_string();
        let d = csv_diff(&got, &want, &header).expect("a moved value is caught");
        assert!(d.starts_with(&format!("row 41, {name}:")), "{d}");
    }
    assert_eq!(csv_diff(&want, &want, &header), None);
    let summary = read_json(&golden("sustech_summary.json"));
    let mut moved = summary.clone();
    let r = moved["eva"]["revenue"].as_f64().unwrap();
    moved["eva"]["revenue"] = Value::from(r * (1.0 + 1e-7));
    let d = json_diff(&moved, &summary, "").expect("caught");
    assert!(d.starts_with(".eva.revenue"), "{d}");
}

#[test]
fn generators_refuse_bad_arguments_with_exit_2() {
    let dir = tmp();
    let f = dir.path().join("f.csv");
    for args in [
        vec!["fleet", "generate", "--n", "5", "--out"],
        vec!["fleet", "generate", "--bus-share", "1.5", "--out"],
        vec!["fleet", "generate", "--day", "2021-13-01", "--out"],
        // Sessions run into the next day, which must lie in 1970..=2100 too.
        vec!["fleet", "generate", "--day", "2100-12-31", "--out"],
        vec!["fleet", "generate", "--day", "1969-12-31", "--out"],
        vec!["grid", "generate", "--threshold", "-0.1", "--out"],
        vec!["grid", "generate", "--slots", "0", "--out"],
        vec!["grid", "generate", "--start", "noon", "--out"],
        vec!["grid", "generate", "--start", "2101-01-01T00:00", "--out"],
    ] {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.push(f.display().to_string());
        let o = v2g(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.starts_with("v2g: error: invalid parameter"),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!f.exists(), "nothing written for {args:?}");
        assert!(stdout(&o).is_empty());
    }
}
