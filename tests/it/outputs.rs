//! The run as a whole (issue 10): provenance in `summary.json`, output folders that never
//! mix two runs, paths that would lose an input, bad flags caught before simulating,
//! progress off a terminal, and the library without the command-line feature.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::*;

/// `v2g simulate --fleet data/example.csv --out OUT` with extra flags and environment.
fn run_env(out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_v2g"));
    cmd.current_dir(root())
        .args(["simulate", "--fleet", "data/example.csv", "--out"])
        .arg(out)
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("v2g runs")
}

/// Every file of a folder with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn provenance_names_the_program_the_inputs_and_every_resolved_parameter() {
    let dir = tmp();
    let sc = write(
        dir.path(),
        "s.toml",
        "[params]\nw_grid = 1.0\n[[workers]]\ncapacity = 2.0\n[[workers]]\ncapacity = 1.0\n",
    );
    let out = dir.path().join("out");
    let o = run_env(
        &out,
        &[
            "--scenario",
            sc.to_str().unwrap(),
            "--epsilon",
            "0.01",
            "--ledger",
            "off",
            "--slots",
            "8",
        ],
        &[],
    );
    let text = ok(&o);
    assert!(text.contains("solver grid, epsilon 0.01 CNY/kWh"), "{text}");
    let s = summary(&out);
    let run = &s["run"];
    for key in [
        "program",
        "version",
        "command_line",
        "inputs",
        "scenario_sha256",
        "scenario",
    ] {
        assert!(run.get(key).is_some(), "run.{key} missing");
    }
    assert_eq!(run["program"], "v2g");
    assert_eq!(run["version"], env!("CARGO_PKG_VERSION"));
    let cmd: Vec<&str> = run["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        cmd.contains(&"--epsilon") && cmd.contains(&"0.01"),
        "{cmd:?}"
    );
    // The inputs, with hashes of the very files.
    for (key, path) in [
        ("fleet", root().join("data/example.csv")),
        ("grid", root().join("data/example_grid.csv")),
        ("scenario", sc.clone()),
    ] {
        let f = &run["inputs"][key];
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(f["sha256"], v2g::data::sha256_hex(&bytes), "{key}");
        assert_eq!(f["bytes"], bytes.len() as u64, "{key}");
        assert!(f["path"]
            .as_str()
            .unwrap()
            .ends_with(path.file_name().unwrap().to_str().unwrap()));
    }
    // The resolved scenario: file, then flags, every key present.
    let scn = &run["scenario"];
    for key in [
        "seed",
        "ledger",
        "byzantine",
        "solver",
        "horizon",
        "params",
        "workers",
    ] {
        assert!(scn.get(key).is_some(), "scenario.{key} missing");
    }
    for key in ["start", "slots"] {
        assert!(scn["horizon"].get(key).is_some(), "horizon.{key}");
    }
    for key in [
        "e0_kwh",
        "w_service",
        "w_grid",
        "p_delay",
        "u_idle",
        "beta",
        "a",
        "epsilon",
        "p_d_max",
        "p_d_min_factor",
        "delta_factor",
        "tariff",
    ] {
        assert!(scn["params"].get(key).is_some(), "params.{key}");
    }
    assert_eq!(scn["params"]["w_grid"], 1.0);
    assert_eq!(scn["params"]["epsilon"], 0.01);
    assert_eq!(scn["ledger"], "off");
    assert_eq!(scn["horizon"]["slots"], 8);
    assert_eq!(scn["workers"][0]["capacity"], 2.0);
    assert_eq!(scn["workers"][1]["available"], true);
    assert_eq!(scn["params"]["tariff"].as_array().unwrap().len(), 6);
    // The digest is the resolved scenario's.
    let parsed: v2g::Scenario = serde_json::from_value(scn.clone()).unwrap();
    assert_eq!(run["scenario_sha256"], parsed.digest());
    // `v2g report` prints it.
    let report = ok(&v2g(["report", out.to_str().unwrap()]));
    assert!(
        report.contains(&format!("sha256 {}", parsed.digest())),
        "{report}"
    );
    assert!(report.contains("s.toml"), "{report}");
}

#[test]
fn a_rerun_replaces_the_whole_set_and_ledger_off_leaves_no_stale_ledger() {
    let dir = tmp();
    let out = dir.path().join("out");
    ok(&run_env(&out, &["--slots", "4", "-q"], &[]));
    assert!(out.join("ledger.jsonl").exists());
    ok(&run_env(
        &out,
        &["--slots", "4", "--ledger", "off", "-q"],
        &[],
    ));
    assert_eq!(names(&out), RUN_FILES);
    assert_eq!(summary(&out)["run"]["scenario"]["ledger"], "off");
    // No staging or old folders are left beside it.
    assert_eq!(names(dir.path()), ["out"]);
}

#[test]
fn a_failure_before_the_swap_leaves_the_old_set_and_no_temporary_files() {
    let dir = tmp();
    let out = dir.path().join("out");
    ok(&run_env(&out, &["--slots", "4", "-q"], &[]));
    let before = snapshot(&out);
    let o = run_env(
        &out,
        &["--slots", "6", "--ledger", "off", "-q"],
        &[("V2G_FAULT", "before-swap")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("injected fault"), "{}", stderr(&o));
    assert_eq!(snapshot(&out), before, "the old set is untouched");
    assert_eq!(names(dir.path()), ["out"], "no staging folder is left");
}

#[cfg(unix)]
#[test]
fn ctrl_c_or_sigterm_stops_a_run_and_leaves_no_staging_folder() {
    let dir = tmp();
    let out = dir.path().join("out");
    ok(&run_env(&out, &["--slots", "4", "-q"], &[]));
    let before = snapshot(&out);
    for signal in ["INT", "TERM"] {
        let child = Command::new(env!("CARGO_BIN_EXE_v2g"))
            .current_dir(root())
            .args(["simulate", "--fleet", "data/sustech.csv", "-q", "--out"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("v2g starts");
        // Signal once the run has staged its folder (the whole case study takes seconds).
        let started = Instant::now();
        while !names(dir.path())
            .iter()
            .any(|n| n.starts_with(".out.v2g-stage-"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no staging folder"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let kill = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(kill.success());
        let o = child.wait_with_output().expect("v2g ends");
        assert_eq!(o.status.code(), Some(130), "SIG{signal}: {}", stderr(&o));
        assert!(stderr(&o).contains("stopped by a signal"), "{}", stderr(&o));
        assert_eq!(
            snapshot(&out),
            before,
            "SIG{signal}: the old set is untouched"
        );
        assert_eq!(
            names(dir.path()),
            ["out"],
            "SIG{signal}: no staging folder is left"
        );
    }
}

#[test]
fn a_kill_right_after_the_swap_leaves_the_complete_new_set() {
    let dir = tmp();
    let out = dir.path().join("out");
    ok(&run_env(&out, &["--slots", "4", "-q"], &[]));
    let old = snapshot(&out);
    let new_args = ["--slots", "6", "--ledger", "off", "-q"];
    let o = run_env(&out, &new_args, &[("V2G_FAULT", "kill-after-swap")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // The folder holds the complete new set, exactly as an undisturbed run writes it.
    let reference = dir.path().join("reference");
    ok(&run_env(&reference, &new_args, &[]));
    let got = snapshot(&out);
    let want = snapshot(&reference);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for name in ["slots.csv", "evs.csv"] {
        assert_eq!(got[name], want[name], "{name}");
    }
    // Like a kill, it cleaned nothing up: the old set is whole in the staging path.
    let stray: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with(".out.v2g-stage-"))
        .collect();
    assert_eq!(stray.len(), 1, "{:?}", names(dir.path()));
    assert_eq!(snapshot(&dir.path().join(&stray[0])), old);
}

/// `v2g simulate` of the whole case study (with the ledger: seconds) into `out`, started.
fn slow_run(out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_v2g"))
        .current_dir(root())
        .args(["simulate", "--fleet", "data/sustech.csv", "-q", "--out"])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("v2g starts")
}

/// Waits until a name in `dir` starts with `prefix` (a minute at most).
fn wait_for(dir: &Path, prefix: &str) {
    let started = Instant::now();
    while !names(dir).iter().any(|n| n.starts_with(prefix)) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no {prefix}* in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_second_run_into_a_folder_being_written_is_refused() {
    let dir = tmp();
    let out = dir.path().join("out");
    ok(&run_env(&out, &["--slots", "4", "-q"], &[]));
    let before = snapshot(&out);
    // Another run holds the folder's lock (here, this process, as `simulate` takes it).
    let lock = v2g::report::output::OutputLock::take(&out).unwrap();
    let o = run_env(&out, &["--slots", "6", "--ledger", "off", "-q"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "v2g: error: the output folder '{}' is being written by another run, process {} \
             (it holds the lock {}): wait for that run to end, or choose another output folder\n",
            out.display(),
            std::process::id(),
            dir.path().join(".out.v2g-lock").display()
        )
    );
    assert!(stdout(&o).is_empty());
    assert_eq!(snapshot(&out), before, "the folder is untouched");
    drop(lock);
    assert_eq!(
        names(dir.path()),
        ["out"],
        "the lock file goes with the lock"
    );
    ok(&run_env(
        &out,
        &["--slots", "6", "--ledger", "off", "-q"],
        &[],
    ));
    assert_ne!(snapshot(&out), before);
    assert_eq!(names(dir.path()), ["out"]);

    // Two real runs at once: the second is refused while the first writes, and the
    // first's outputs are whole.
    let first = slow_run(&out);
    wait_for(dir.path(), ".out.v2g-lock");
    let o = run_env(&out, &["--slots", "4", "--ledger", "off"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "'{}' is being written by another run, process {} (it holds",
            out.display(),
            first.id()
        )),
        "{}",
        stderr(&o)
    );
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(summary(&out)["evs"]["n_evs"], 2000);
    assert_eq!(names(dir.path()), ["out"]);
}

#[cfg(unix)]
#[test]
fn the_next_run_removes_the_staging_folder_a_killed_run_left_and_says_so() {
    let dir = tmp();
    let out = dir.path().join("out");
    ok(&run_env(&out, &["--slots", "4", "-q"], &[]));
    let before = snapshot(&out);
    // kill -9 while the run is staging: nothing cleans up, the lock file stays.
    let mut child = slow_run(&out);
    wait_for(dir.path(), ".out.v2g-stage-");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let stage: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with(".out.v2g-stage-"))
        .collect();
    assert_eq!(stage.len(), 1, "{:?}", names(dir.path()));
    assert_eq!(snapshot(&out), before);
    // The next run takes the dead run's lock, removes its staging folder and says so.
    let o = run_env(&out, &["--slots", "6", "--ledger", "off"], &[]);
    ok(&o);
    let note = format!(
        "v2g: removed 1 stale staging folder of an interrupted run: {}\n",
        dir.path().join(&stage[0]).display()
    );
    assert!(stderr(&o).contains(&note), "{}", stderr(&o));
    assert_eq!(names(dir.path()), ["out"]);
    // Once: the run after it has nothing to remove.
    let o = run_env(&out, &["--slots", "6", "--ledger", "off"], &[]);
    assert!(!stderr(&o).contains("stale"), "{}", stderr(&o));
}

#[test]
fn the_output_folder_is_checked_before_anything_is_simulated() {
    let dir = tmp();
    let file = write(dir.path(), "notes.txt", "mine");
    // A folder under a file cannot be created; a file is not a folder.
    for out in [file.join("out"), file.clone()] {
        let start = Instant::now();
        let o = run_env(&out, &[], &[]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_eq!(
            stderr(&o).lines().filter(|l| l.contains("error")).count(),
            1
        );
        assert!(start.elapsed() < Duration::from_secs(1));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    // A folder holding someone else's file is not replaced.
    let out = dir.path().join("out");
    ok(&run_env(&out, &["--slots", "2", "-q"], &[]));
    write(&out, "my_notes.md", "keep me");
    let before = snapshot(&out);
    let o = run_env(&out, &["--slots", "2", "-q"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("'my_notes.md', which is not a v2g output"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(&out), before);
}

#[test]
fn outputs_and_keystores_that_are_inputs_are_refused() {
    let dir = tmp();
    let fleet = dir.path().join("fleet.csv");
    std::fs::copy(root().join("data/example.csv"), &fleet).unwrap();
    let grid = dir.path().join("fleet_grid.csv");
    std::fs::copy(root().join("data/example_grid.csv"), &grid).unwrap();
    let sc = write(dir.path(), "s.toml", "seed = 3\n");
    let out = dir.path().join("out");
    let p = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--out".into(), p(&fleet)], "is the input"),
        (vec!["--out".into(), p(dir.path())], "holds the input"),
        (
            vec!["--out".into(), p(&out), "--keystore".into(), p(&fleet)],
            "is the input",
        ),
        (
            vec!["--out".into(), p(&out), "--keystore".into(), p(&grid)],
            "is the input",
        ),
        (
            vec!["--out".into(), p(&out), "--keystore".into(), p(&sc)],
            "is the input",
        ),
        (
            vec![
                "--out".into(),
                p(&out),
                "--keystore".into(),
                p(&out.join("keys.json")),
            ],
            "inside the output folder",
        ),
    ];
    let inputs = snapshot(dir.path());
    for (flags, rule) in cases {
        let mut args = vec![
            "simulate".to_string(),
            "--fleet".into(),
            p(&fleet),
            "--scenario".into(),
            p(&sc),
            "-q".into(),
        ];
        args.extend(flags.clone());
        let o = v2g(&args);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(rule), "{flags:?}: {}", stderr(&o));
        assert_eq!(snapshot(dir.path()), inputs, "{flags:?} wrote something");
    }
}

/// Runs a bad command line after a good run into the same folder: exit 2 in well under a
/// second, one error line naming `what`, the folder untouched.
fn refused_fast(extra: &[&str], what: &[&str]) {
    let dir = tmp();
    let out = dir.path().join("out");
    ok(&run_env(&out, &["--slots", "2", "-q"], &[]));
    let before = snapshot(&out);
    let start = Instant::now();
    let o = run_env(&out, extra, &[]);
    let took = start.elapsed();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "{extra:?}: {err}");
    for w in what {
        assert!(lines[0].contains(w), "{extra:?}: '{w}' not in {err}");
    }
    assert!(took < Duration::from_secs(1), "{extra:?} took {took:?}");
    assert_eq!(snapshot(&out), before, "{extra:?}");
}

#[test]
fn bad_flags_are_refused_with_a_reason_before_simulating() {
    refused_fast(
        &["--workers", "1000000000"],
        &["--workers", "between 1 and 1024"],
    );
    refused_fast(
        &["--workers", "18446744073709551615"],
        &["--workers", "between 1 and 1024"],
    );
    refused_fast(
        &["--byzantine", "1", "--ledger", "off"],
        &["byzantine", "need the ledger on"],
    );
    refused_fast(
        &["--start", "2021-05-27T07:00:30"],
        &["horizon.start", "whole minute"],
    );
    refused_fast(
        &["--epsilon", "1e300"],
        &["params.epsilon", "[0.000000001, 100]"],
    );
    refused_fast(&["--slots", "35137"], &["horizon.slots", "at most"]);
}

#[test]
fn the_exact_solver_takes_an_epsilon_only_the_grid_search_refuses() {
    let dir = tmp();
    let flags = [
        "--epsilon",
        "1e-8",
        "--start",
        "2021-05-27T16:00",
        "--ledger",
        "off",
        "--slots",
        "4",
        "-q",
    ];
    let o = run_env(&dir.path().join("grid"), &flags, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("candidates"), "{}", stderr(&o));
    let mut exact = flags.to_vec();
    exact.extend(["--solver", "exact"]);
    ok(&run_env(&dir.path().join("exact"), &exact, &[]));
}

#[test]
fn periods_are_the_tariffs_and_a_share_of_nothing_asked_is_null() {
    let dir = tmp();
    let out = dir.path().join("peak");
    let text = ok(&run_env(
        &out,
        &[
            "--start",
            "2021-05-27T16:00",
            "--slots",
            "8",
            "--ledger",
            "off",
        ],
        &[],
    ));
    let s = summary(&out);
    let periods = s["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 1, "{periods:?}");
    assert_eq!(periods[0]["period"], "peak");
    assert_eq!(periods[0]["slots"], 8);
    assert!(text.contains("\npeak "), "{text}");
    assert!(!text.contains("valley"), "{text}");
    // Without grid signals nothing is asked: the share met is null, printed as '-'.
    let fleet = dir.path().join("alone.csv");
    std::fs::copy(root().join("data/example.csv"), &fleet).unwrap();
    let out = dir.path().join("none");
    let o = v2g([
        "simulate",
        "--fleet",
        fleet.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--ledger",
        "off",
        "--slots",
        "8",
    ]);
    let text = ok(&o);
    let s = summary(&out);
    assert!(s["energy"]["aux_share_met"].is_null(), "{}", s["energy"]);
    assert!(s["periods"][0]["aux_share_met"].is_null());
    assert!(s["run"]["inputs"]["grid"].is_null());
    assert!(text.contains("met -"), "{text}");
}

#[test]
fn progress_goes_to_stderr_off_a_terminal_and_quiet_silences_it() {
    let dir = tmp();
    let env = [("V2G_PROGRESS_EVERY_MS", "0")];
    let o = run_env(
        &dir.path().join("a"),
        &["--slots", "6", "--ledger", "off"],
        &env,
    );
    let err = stderr(&o);
    ok(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("slots/s")).collect();
    assert!(!lines.is_empty(), "{err}");
    assert!(
        lines[0].starts_with("v2g: 1/6 slots (16.7%), ") && lines[0].contains("left"),
        "{err}"
    );
    let o = run_env(
        &dir.path().join("b"),
        &["--slots", "6", "--ledger", "off", "--quiet"],
        &env,
    );
    ok(&o);
    assert_eq!(stderr(&o), "", "--quiet prints nothing on stderr");
}

#[test]
fn simulate_help_lists_every_output_file() {
    let help = ok(&v2g(["simulate", "--help"]));
    for name in v2g::report::output::OUTPUT_FILES {
        assert!(help.contains(name), "simulate --help does not name {name}");
    }
    assert!(help.contains("--quiet"));
}

/// The library builds without the command-line feature, and then has neither clap nor
/// indicatif among its dependencies.
#[test]
fn the_library_builds_without_the_cli_feature() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = Command::new(&cargo)
        .current_dir(root())
        .args([
            "tree",
            "--no-default-features",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            "v2g",
        ])
        .output()
        .expect("cargo tree runs");
    let text = String::from_utf8_lossy(&tree.stdout);
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    assert!(text.contains("serde"), "{text}");
    for cli_only in ["clap ", "indicatif "] {
        assert!(!text.contains(cli_only), "{cli_only} in the library's tree");
    }
    let target: PathBuf = root().join("target").join("no-default-features");
    let check = Command::new(&cargo)
        .current_dir(root())
        .env("CARGO_TARGET_DIR", &target)
        .args(["check", "--lib", "--no-default-features", "--quiet"])
        .output()
        .expect("cargo check runs");
    assert!(
        check.status.success(),
        "cargo check --lib --no-default-features failed:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
