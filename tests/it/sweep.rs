//! `v2g sweep`: many runs from one spec, through the real CLI (issue 14). Small fleets,
//! few slots and the ledger off keep these fast; the Slurm test is ignored by
//! `cargo test` and run by `./test` on a machine with a cluster (`V2G_SLURM=1`, set by
//! `.ci/run`, which starts a one-node cluster).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// The base of the specs below: the example fleet (its grid file beside it), 8 slots
/// from 16:00, the ledger off.
const BASE: &str = "fleet = \"FLEET\"\nledger = \"off\"\n\
                    [horizon]\nstart = \"2021-05-27T16:00\"\nslots = 8\n";

/// The 2 keys × 3 values sweep of the issue.
const GRID_BETA: &str = "[sweep]\n\"params.w_grid\" = [0.5, 0.792, 1.2]\n\
                         \"params.beta\" = [0.08, 0.16]\n";

/// Writes a spec into `dir` with `fleet` (relative to `dir`) in the base.
fn spec(dir: &Path, name: &str, fleet: &Path, sweep: &str) -> PathBuf {
    let text = BASE.replace("FLEET", &fleet.display().to_string()) + sweep;
    write(dir, name, &text)
}

fn example() -> PathBuf {
    root().join("data/example.csv")
}

/// `v2g sweep ARGS`, run to completion (at most 5 minutes).
fn sweep(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let mut all: Vec<&std::ffi::OsStr> = vec!["sweep".as_ref()];
    all.extend(args);
    v2g_within(all, Duration::from_secs(300))
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// `sweep.csv` as its header and rows.
fn table(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    read_csv(&dir.join("sweep.csv"))
}

/// `sweep.csv` without its `wall_s` column, which is the only one that may differ
/// between two runs of the same sweep.
fn without_timings(dir: &Path) -> Vec<Vec<String>> {
    csv_without_timings(&dir.join("sweep.csv"))
}

/// A sweep table (header first) without its `wall_s` column.
fn csv_without_timings(path: &Path) -> Vec<Vec<String>> {
    let (h, rows) = read_csv(path);
    let w = h
        .iter()
        .position(|c| c == "wall_s")
        .expect("a wall_s column");
    std::iter::once(h)
        .chain(rows)
        .map(|mut r| {
            r.remove(w);
            r
        })
        .collect()
}

#[test]
fn a_sweep_of_two_keys_equals_the_six_simulate_runs_number_for_number() {
    let dir = tmp();
    let s = spec(dir.path(), "s.toml", &example(), GRID_BETA);
    let out = dir.path().join("out");
    let o = sweep(&[s.as_os_str(), os("--out"), out.as_os_str()]);
    let text = ok(&o);
    assert!(
        text.contains("6 points: 6 run, 0 already done, 0 failed"),
        "{text}"
    );
    // The table printed: a row per point.
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("100.0%") || l.contains("99.9%"))
            .count(),
        6,
        "{text}"
    );
    let (h, rows) = table(&out);
    assert_eq!(
        h,
        [
            "id",
            "params.w_grid",
            "params.beta",
            "revenue",
            "profit_cny",
            "net_cost_cny",
            "aux_share_met",
            "charged_kwh",
            "discharged_kwh",
            "final_kwh",
            "system_cost_cny",
            "wear_cny",
            "peak_load_kw",
            "wall_s",
            "error"
        ]
    );
    assert_eq!(rows.len(), 6);
    let ids: Vec<&String> = rows.iter().map(|r| &r[0]).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "rows are sorted by id");
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    for w_grid in ["0.5", "0.792", "1.2"] {
        for beta in ["0.08", "0.16"] {
            let row = rows
                .iter()
                .find(|r| r[1] == w_grid && r[2] == beta)
                .unwrap_or_else(|| panic!("no row for {w_grid}, {beta}"));
            assert_eq!(row[col("error")], "");
            // The same run by hand: a scenario file with the point's values.
            let sc = write(
                dir.path(),
                &format!("sc_{w_grid}_{beta}.toml"),
                &format!(
                    "ledger = \"off\"\n[horizon]\nstart = \"2021-05-27T16:00\"\nslots = 8\n\
                     [params]\nw_grid = {w_grid}\nbeta = {beta}\n"
                ),
            );
            let single = dir.path().join(format!("single_{w_grid}_{beta}"));
            ok(&simulate(
                &[
                    "--fleet",
                    "data/example.csv",
                    "--scenario",
                    sc.to_str().unwrap(),
                ],
                &single,
            ));
            let point = out.join("runs").join(&row[0]);
            for f in ["slots.csv", "evs.csv"] {
                assert_eq!(
                    std::fs::read(point.join(f)).unwrap(),
                    std::fs::read(single.join(f)).unwrap(),
                    "{f} of {w_grid}, {beta}"
                );
            }
            let summary = |d: &Path| -> serde_json::Value {
                let mut v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap())
                        .unwrap();
                v.as_object_mut().unwrap().remove("run");
                v
            };
            let sum = summary(&single);
            assert_eq!(summary(&point), sum);
            // sweep.csv holds summary.json's numbers, bit for bit.
            for (c, path) in [
                ("revenue", "/eva/revenue"),
                ("profit_cny", "/eva/profit_cny"),
                ("net_cost_cny", "/evs/net_cost_cny"),
                ("aux_share_met", "/energy/aux_share_met"),
                ("charged_kwh", "/energy/charged_kwh"),
                ("discharged_kwh", "/energy/discharged_kwh"),
                ("final_kwh", "/evs/final_kwh"),
            ] {
                let want = sum.pointer(path).and_then(|v| v.as_f64()).unwrap();
                assert_eq!(num(&row[col(c)]), want, "{c} of {w_grid}, {beta}");
            }
            // The point's folder has its provenance; its id is derived from it.
            let run: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(point.join("summary.json")).unwrap())
                    .unwrap();
            let run = &run["run"];
            assert_eq!(
                run["scenario"]["params"]["w_grid"].as_f64(),
                Some(num(w_grid))
            );
            let single_run: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(single.join("summary.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(run["scenario_sha256"], single_run["run"]["scenario_sha256"]);
            assert_eq!(
                run["inputs"]["fleet"]["sha256"],
                single_run["run"]["inputs"]["fleet"]["sha256"]
            );
            // The sidecar beside it.
            let side: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(out.join("runs").join(format!("{}.json", row[0])))
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(side["status"], "ok");
            assert_eq!(side["point"]["params.w_grid"], w_grid);
            assert_eq!(side["scenario_sha256"], run["scenario_sha256"]);
        }
    }
    // The figures: results against W_grid, one line per beta, and a heat map.
    for f in ["sweep_lines.svg", "sweep_heatmap.svg"] {
        let svg = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(svg.contains("params.w_grid (CNY/kWh)"), "{f}");
        assert!(svg.contains("EVA revenue R (CNY)"), "{f}");
    }
    // The sweep folder holds nothing else.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "runs",
            "sweep.csv",
            "sweep.json",
            "sweep_heatmap.svg",
            "sweep_lines.svg"
        ]
    );
}

#[test]
fn shards_merged_equal_the_sweep_and_jobs_do_not_change_it() {
    let dir = tmp();
    let s = spec(dir.path(), "s.toml", &example(), GRID_BETA);
    let whole = dir.path().join("whole");
    ok(&sweep(&[
        s.as_os_str(),
        os("--out"),
        whole.as_os_str(),
        os("--jobs"),
        os("2"),
    ]));
    let one_job = dir.path().join("one_job");
    ok(&sweep(&[
        s.as_os_str(),
        os("--out"),
        one_job.as_os_str(),
        os("--jobs"),
        os("1"),
    ]));
    assert_eq!(without_timings(&whole), without_timings(&one_job));
    // The most jobs allowed run no more threads than points, and give the same sweep;
    // one more is refused before the folder is made.
    let many = dir.path().join("many");
    let jobs = |n: usize, out: &Path| {
        let n = n.to_string();
        sweep(&[
            s.as_os_str(),
            os("--out"),
            out.as_os_str(),
            os("--jobs"),
            os(&n),
        ])
    };
    ok(&jobs(v2g::sweep::MAX_JOBS, &many));
    assert_eq!(without_timings(&whole), without_timings(&many));
    let too_many = dir.path().join("too_many");
    let o = jobs(v2g::sweep::MAX_JOBS + 1, &too_many);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--jobs: 1025: at most 1024"),
        "{}",
        stderr(&o)
    );
    assert!(!too_many.exists());
    let sharded = dir.path().join("sharded");
    for shard in ["1/2", "0/2"] {
        let text = ok(&sweep(&[
            s.as_os_str(),
            os("--out"),
            sharded.as_os_str(),
            os("--shard"),
            os(shard),
        ]));
        assert!(
            text.contains(&format!("3 points in shard {shard} of 6 in all")),
            "{text}"
        );
        assert!(text.contains("v2g sweep merge"), "{text}");
        // A shard writes no table.
        assert!(!sharded.join("sweep.csv").exists());
    }
    let text = ok(&v2g([os("sweep"), os("merge"), sharded.as_os_str()]));
    assert!(
        text.contains("wrote ") && text.contains("sweep.csv"),
        "{text}"
    );
    assert_eq!(without_timings(&whole), without_timings(&sharded));
    // The sidecars say which shard ran each point.
    let (_, rows) = table(&sharded);
    for (i, r) in rows.iter().enumerate() {
        let side =
            std::fs::read_to_string(sharded.join("runs").join(format!("{}.json", r[0]))).unwrap();
        assert!(
            side.contains(&format!("\"shard\": \"{}/2\"", i % 2)),
            "{side}"
        );
    }
}

#[test]
fn merge_refuses_a_missing_shard_and_a_foreign_spec() {
    let dir = tmp();
    let s = spec(dir.path(), "s.toml", &example(), GRID_BETA);
    let out = dir.path().join("out");
    ok(&sweep(&[
        s.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--shard"),
        os("0/2"),
    ]));
    let o = v2g([os("sweep"), os("merge"), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("3 of 6 points have no complete run"), "{err}");
    // It names the points shard 1 should have run (every other id).
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    let ids: Vec<&str> = manifest["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 6);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(err.contains(id), i % 2 == 1, "{id} in {err}");
    }
    assert!(err.contains("params.w_grid = "), "{err}");
    assert!(!out.join("sweep.csv").exists());

    // The whole sweep, then the plan of another spec (one more point) written over it
    // (as `v2g sweep slurm` or any shard of it does): the points the two share were run
    // for the first spec.
    ok(&sweep(&[s.as_os_str(), os("--out"), out.as_os_str()]));
    let other = spec(
        dir.path(),
        "other.toml",
        &example(),
        &format!("{GRID_BETA}[[sweep.points]]\n\"params.w_grid\" = 2.0\n\"params.beta\" = 0.3\n"),
    );
    ok(&v2g([
        os("sweep"),
        os("slurm"),
        other.as_os_str(),
        os("--out"),
        out.as_os_str(),
    ]));
    std::fs::remove_file(out.join("sweep.csv")).unwrap();
    let o = v2g([os("sweep"), os("merge"), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("1 of 7 points have no complete run"), "{err}");
    assert!(
        err.contains("6 of 7 points were run for a different spec"),
        "{err}"
    );
    assert!(
        err.contains("params.w_grid = 2, params.beta = 0.3"),
        "{err}"
    );
    assert!(!out.join("sweep.csv").exists());
    // Run under the other spec, the shared points are taken over and the new one runs.
    let text = ok(&sweep(&[other.as_os_str(), os("--out"), out.as_os_str()]));
    assert!(text.contains("7 points: 1 run, 6 already done"), "{text}");
    let (_, rows) = table(&out);
    assert_eq!(rows.len(), 7);
    // A folder that is no sweep.
    let o = v2g([os("sweep"), os("merge"), dir.path().as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("sweep.json"), "{}", stderr(&o));
    // A sweep.json that no sweep writes is refused, naming the file, and nothing is
    // written.
    let path = out.join("sweep.json");
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let broken: [(&str, Edit); 6] = [
        ("has 2 values for 0 keys", |m| {
            m["keys"] = serde_json::json!([])
        }),
        ("has 2 values for 3 keys", |m| {
            m["keys"]
                .as_array_mut()
                .unwrap()
                .push("params.p_delay".into())
        }),
        ("has 3 values for 2 keys", |m| {
            m["points"][4]["cells"]
                .as_array_mut()
                .unwrap()
                .push("1".into())
        }),
        ("no points", |m| m["points"] = serde_json::json!([])),
        ("out of order or repeated", |m| {
            m["points"][1]["id"] = m["points"][0]["id"].clone()
        }),
        ("written by \"x\"", |m| m["program"] = "x".into()),
    ];
    for (want, edit) in broken {
        let mut m = good.clone();
        edit(&mut m);
        std::fs::write(&path, m.to_string()).unwrap();
        std::fs::remove_file(out.join("sweep.csv")).ok();
        let o = v2g([os("sweep"), os("merge"), out.as_os_str()]);
        assert_eq!(o.status.code(), Some(2), "{want}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("sweep.json") && err.contains(want),
            "{want}: {err}"
        );
        assert!(!out.join("sweep.csv").exists());
    }
}

/// Modification times and contents of a finished point's files.
fn fingerprint(out: &Path, id: &str) -> Vec<(std::time::SystemTime, Vec<u8>)> {
    let runs = out.join("runs");
    [
        runs.join(format!("{id}.json")),
        runs.join(id).join("summary.json"),
        runs.join(id).join("slots.csv"),
    ]
    .iter()
    .map(|p| {
        let m = std::fs::metadata(p).unwrap();
        (m.modified().unwrap(), std::fs::read(p).unwrap())
    })
    .collect()
}

#[test]
fn a_killed_sweep_resumes_without_recomputing_finished_points() {
    let dir = tmp();
    // Points slow enough to kill the sweep between two of them: the case-study fleet.
    let s = spec(
        dir.path(),
        "s.toml",
        &root().join("data/sustech.csv"),
        "[sweep]\n\"params.w_grid\" = [0.5, 0.792, 1.2]\n\"params.beta\" = [0.08, 0.16, 0.32]\n",
    );
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_v2g"))
        .args([
            os("sweep"),
            s.as_os_str(),
            os("--out"),
            out.as_os_str(),
            os("--jobs"),
            os("1"),
        ])
        .env("V2G_PROGRESS_EVERY_MS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no clean-up) once two points are done.
    let started = Instant::now();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("the sweep reports its progress before it ends")
            .unwrap();
        if line.contains("2/9 points") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(240), "no progress");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let finished: Vec<String> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json").map(String::from)
        })
        .collect();
    assert!(
        (2..9).contains(&finished.len()),
        "killed after {} points",
        finished.len()
    );
    assert!(!out.join("sweep.csv").exists());
    let before: Vec<_> = finished.iter().map(|id| fingerprint(&out, id)).collect();
    std::thread::sleep(Duration::from_millis(20));

    let o = v2g_within(
        [os("sweep"), s.as_os_str(), os("--out"), out.as_os_str()],
        Duration::from_secs(300),
    );
    let text = ok(&o);
    let n = finished.len();
    assert!(
        text.contains(&format!(
            "9 points: {} run, {n} already done, 0 failed",
            9 - n
        )),
        "{text}"
    );
    assert!(
        stderr(&o).contains(&format!("{} to run, {n} already done", 9 - n)),
        "{}",
        stderr(&o)
    );
    // The finished points were not touched: same files, same times.
    let after: Vec<_> = finished.iter().map(|id| fingerprint(&out, id)).collect();
    assert_eq!(before, after);
    // No staging folder of the killed run is left.
    for e in std::fs::read_dir(out.join("runs")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "left over: {name}");
    }
    let (_, rows) = table(&out);
    assert_eq!(rows.len(), 9);
    assert!(rows.iter().all(|r| r.last().unwrap().is_empty()));
    // Once more: nothing to run.
    let text = ok(&sweep(&[s.as_os_str(), os("--out"), out.as_os_str()]));
    assert!(text.contains("9 points: 0 run, 9 already done"), "{text}");
}

/// A point whose folder another process is writing (the same sweep run twice at once)
/// is refused, not recorded: the run holding its lock records it.
#[test]
fn a_point_another_run_is_writing_is_refused_and_left_to_it() {
    let dir = tmp();
    let s = spec(
        dir.path(),
        "s.toml",
        &example(),
        "[sweep]\n\"params.w_grid\" = [0.5, 1.2]\n",
    );
    let out = dir.path().join("out");
    let plan = v2g::sweep::Plan::new(
        &v2g::sweep::SweepSpec::load(&s).unwrap(),
        &v2g::sweep::InputFlags::default(),
    )
    .unwrap();
    let busy = &plan.points[0].id;
    let folder = out.join("runs").join(busy);
    std::fs::create_dir_all(out.join("runs")).unwrap();
    let lock = v2g::report::output::OutputLock::take(&folder).unwrap();
    let o = sweep(&[s.as_os_str(), os("--out"), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "v2g: point {busy} failed: the output folder '{}' is being written by another run",
            folder.display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(!folder.exists());
    assert!(!out.join("runs").join(format!("{busy}.json")).exists());
    drop(lock);
    let text = ok(&sweep(&[s.as_os_str(), os("--out"), out.as_os_str()]));
    assert!(
        text.contains("2 points: 1 run, 1 already done, 0 failed"),
        "{text}"
    );
}

/// A large sweep says how its planning goes, rate-limited like a run's progress
/// (`V2G_PROGRESS_EVERY_MS=0` here: a line per chunk of points), and `--quiet` silences it.
#[test]
fn planning_a_large_sweep_reports_its_progress() {
    let dir = tmp();
    let values = |n: usize, step: f64| -> String {
        (1..=n)
            .map(|i| format!("{}", 0.01 + i as f64 * step))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // 110 × 100 = 11000 points: three chunks of 4096 and a bit.
    let sweep_keys = format!(
        "[sweep]\n\"params.w_grid\" = [{}]\n\"params.beta\" = [{}]\n",
        values(110, 0.01),
        values(100, 0.001)
    );
    let s = spec(dir.path(), "s.toml", &example(), &sweep_keys);
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_v2g"))
            .args(args)
            .env("V2G_PROGRESS_EVERY_MS", "0")
            .current_dir(root())
            .output()
            .unwrap()
    };
    let out = dir.path().join("out");
    let o = run(&[
        os("sweep"),
        os("slurm"),
        s.as_os_str(),
        os("--out"),
        out.as_os_str(),
    ]);
    assert!(
        stdout(&o).starts_with("11000 points in 1000 tasks"),
        "{}",
        stdout(&o)
    );
    let err = stderr(&o);
    for line in [
        "v2g: planning the sweep: resolving the points' scenarios, 4096/11000 points (37.2%), ",
        "v2g: planning the sweep: resolving the points' scenarios, 8192/11000 points (74.5%), ",
        "v2g: planning the sweep: checking the points' inputs and naming them, 8192/11000 points (74.5%), ",
    ] {
        assert!(err.contains(line), "'{line}' not in:\n{err}");
    }
    assert!(err.lines().all(|l| l.ends_with(" s left")), "{err}");
    // A sweep prints the same while it plans; --quiet prints nothing. (Its fleet is
    // missing, so every point is invalid and the plan is refused: nothing runs.)
    let missing = spec(
        dir.path(),
        "m.toml",
        &dir.path().join("none.csv"),
        &sweep_keys,
    );
    let o = run(&[
        os("sweep"),
        missing.as_os_str(),
        os("--out"),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("v2g: planning the sweep: checking the points' inputs"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        os("sweep"),
        missing.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("-q"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).starts_with("v2g: error: "), "{}", stderr(&o));
}

#[test]
fn a_failing_point_is_recorded_and_the_others_run() {
    let dir = tmp();
    let bad = write(
        dir.path(),
        "bad.csv",
        "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure\n\
         1,bus,100,120,2021-05-27T16:00,2021-05-28T06:00\n",
    );
    let s = write(
        dir.path(),
        "s.toml",
        &format!(
            "ledger = \"off\"\n[horizon]\nstart = \"2021-05-27T16:00\"\nslots = 8\n\
             [sweep]\nfleet = [{:?}, \"bad.csv\"]\n\"params.w_grid\" = [0.5, 1.2]\n",
            example().display().to_string()
        ),
    );
    let _ = bad;
    let out = dir.path().join("out");
    let o = sweep(&[s.as_os_str(), os("--out"), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("4 points: 4 run, 0 already done, 2 failed"),
        "{text}"
    );
    let err = stderr(&o);
    assert_eq!(err.matches("failed: ").count(), 2, "{err}");
    assert!(err.contains("bad.csv:2:4 (initial_kwh)"), "{err}");
    let (h, rows) = table(&out);
    let e = h.iter().position(|c| c == "error").unwrap();
    let r = h.iter().position(|c| c == "revenue").unwrap();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let failed = row[1] == "bad.csv";
        assert_eq!(row[e].contains("initial_kwh"), failed, "{row:?}");
        assert_eq!(row[r].is_empty(), failed, "{row:?}");
        assert_eq!(out.join("runs").join(&row[0]).exists(), !failed);
    }
    // Again: the good points are done, the bad ones fail again.
    let o = sweep(&[s.as_os_str(), os("--out"), out.as_os_str(), os("-q")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("4 points: 2 run, 2 already done, 2 failed"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn a_generated_fleet_is_drawn_for_each_seed() {
    let dir = tmp();
    let s = write(
        dir.path(),
        "s.toml",
        &format!(
            "grid = {:?}\nledger = \"off\"\nsolver = \"exact\"\n\
             [horizon]\nstart = \"2021-05-27T16:00\"\nslots = 4\n[generate]\nn = 30\n\
             [sweep]\nseed = [1, 2]\n",
            root().join("data/sustech_grid.csv").display().to_string()
        ),
    );
    let out = dir.path().join("out");
    ok(&sweep(&[
        s.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("-q"),
    ]));
    let (h, rows) = table(&out);
    assert_eq!(h[1], "seed");
    assert_eq!(rows.len(), 2);
    assert_ne!(rows[0][3], rows[1][3], "two fleets, two revenues");
    for row in &rows {
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("runs").join(&row[0]).join("summary.json")).unwrap(),
        )
        .unwrap();
        let fleet = summary["run"]["inputs"]["fleet"]["path"].as_str().unwrap();
        assert_eq!(
            fleet,
            format!(
                "<memory: generated n=30 seed={} bus_share=0.1 day=2021-05-27>",
                row[1]
            )
        );
        assert_eq!(summary["evs"]["n_evs"], 30);
    }
}

#[test]
fn bad_specs_get_located_errors_and_nothing_runs() {
    let dir = tmp();
    let out = dir.path().join("out");
    let cases: [(&str, &str); 6] = [
        (
            "[sweep]\n\"params.w_grd\" = [1.0]\n",
            "s.toml:7:1 (params.w_grd): unknown key",
        ),
        (
            "[sweep]\n\"params.beta\" = []\n",
            "s.toml:7:17 (params.beta): the array is empty",
        ),
        (
            "[sweep]\n\"params.beta\" = [0.1, \"high\"]\n",
            "s.toml:7:23 (params.beta): ",
        ),
        (
            "[sweep]\n\"params.beta\" = [0.1, -2.0]\n",
            "s.toml:7:23 (params.beta): -2: must be in (0, 100]",
        ),
        (
            "[sweep]\nsolver = [\"grid\"]\nsolver = [\"exact\"]\n",
            "s.toml:8:1",
        ),
        (
            "[sweep]\n\"params.beta\" = [0.1]\nparams.beta = [0.2]\n",
            "s.toml:8:8 (params.beta): the key is swept twice",
        ),
    ];
    for (sweep_text, want) in cases {
        let s = spec(dir.path(), "s.toml", &example(), sweep_text);
        let o = sweep(&[s.as_os_str(), os("--out"), out.as_os_str()]);
        assert_eq!(o.status.code(), Some(2), "{sweep_text}");
        let err = stderr(&o);
        assert!(err.starts_with("v2g: error: "), "{err}");
        assert!(err.contains(want), "{sweep_text}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!out.exists(), "{sweep_text}");
    }
    // A folder that holds something else is refused before anything runs.
    let s = spec(dir.path(), "s.toml", &example(), GRID_BETA);
    std::fs::create_dir(&out).unwrap();
    write(&out, "notes.txt", "mine");
    let o = sweep(&[s.as_os_str(), os("--out"), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("notes.txt"), "{}", stderr(&o));
    assert!(!out.join("runs").exists());
    let o = sweep(&[
        s.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--shard"),
        os("2/2"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("0 <= I < N"), "{}", stderr(&o));
}

#[test]
fn slurm_scripts_run_the_shards_and_then_the_merge() {
    let dir = tmp();
    let s = spec(dir.path(), "s.toml", &example(), GRID_BETA);
    let out = dir.path().join("out");
    let text = ok(&v2g([
        os("sweep"),
        os("slurm"),
        s.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--tasks"),
        os("4"),
        os("--array-limit"),
        os("2"),
        os("--sbatch=--time=00:10:00"),
        os("--v2g"),
        os("/opt/v2g/bin/v2g"),
    ]));
    assert!(text.contains("6 points in 4 tasks"), "{text}");
    let array = std::fs::read_to_string(out.join("slurm/sweep.sbatch")).unwrap();
    assert!(array.starts_with("#!/bin/bash\n"), "{array}");
    for line in [
        "#SBATCH --array=0-3%2\n",
        "#SBATCH --cpus-per-task=1\n",
        "#SBATCH --time=00:10:00\n",
        &format!(
            "exec '/opt/v2g/bin/v2g' sweep '{}' --out '{}' --shard \"$SLURM_ARRAY_TASK_ID/4\" \
             --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\"\n",
            s.display(),
            out.display()
        ),
    ] {
        assert!(array.contains(line), "{line} not in\n{array}");
    }
    let merge = std::fs::read_to_string(out.join("slurm/merge.sbatch")).unwrap();
    assert!(
        merge.contains(&format!(
            "exec '/opt/v2g/bin/v2g' sweep merge '{}'\n",
            out.display()
        )),
        "{merge}"
    );
    assert!(merge.contains("#SBATCH --time=00:10:00\n"), "{merge}");
    assert!(
        merge.contains("#SBATCH --kill-on-invalid-dep=yes\n"),
        "{merge}"
    );
    assert!(out.join("slurm/logs").is_dir());
    // The plan is there for the merge: without any shard, every point is missing.
    let o = v2g([os("sweep"), os("merge"), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("6 of 6 points have no complete run"),
        "{}",
        stderr(&o)
    );
    // The scripts' commands are the local shards: run them here, in any order.
    for i in [3, 1, 0, 2] {
        ok(&sweep(&[
            s.as_os_str(),
            os("--out"),
            out.as_os_str(),
            os("--shard"),
            os(&format!("{i}/4")),
        ]));
    }
    ok(&v2g([os("sweep"), os("merge"), out.as_os_str()]));
    assert_eq!(table(&out).1.len(), 6);
}

/// On a machine with Slurm (`V2G_SLURM=1`, set by `.ci/run` once its one-node cluster is
/// up): the generated job array and merge job, submitted with `--submit`, give the local
/// sweep's table. Ignored by `cargo test` (listed as such, with the reason); `./test` runs
/// it when `V2G_SLURM=1` (docs/guide/testing.md, "Tests that need a machine's service").
#[test]
#[ignore = "needs a Slurm cluster: V2G_SLURM=1 (set by .ci/run)"]
fn on_slurm_the_job_array_and_merge_job_give_the_local_table() {
    assert_eq!(
        std::env::var("V2G_SLURM").as_deref(),
        Ok("1"),
        "this test needs a Slurm cluster: V2G_SLURM=1 says there is one (.ci/run starts a \
         one-node cluster and sets it)"
    );
    // Slurm's jobs run outside the test's temporary folder's lifetime guarantees, so the
    // folder is kept until the jobs are done.
    let dir = tmp();
    let s = spec(dir.path(), "s.toml", &example(), GRID_BETA);
    let local = dir.path().join("local");
    ok(&sweep(&[
        s.as_os_str(),
        os("--out"),
        local.as_os_str(),
        os("-q"),
    ]));
    let out = dir.path().join("slurm");
    let text = ok(&v2g([
        os("sweep"),
        os("slurm"),
        s.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--tasks"),
        os("3"),
        os("--array-limit"),
        os("2"),
        os("--submit"),
    ]));
    assert!(text.contains("submitted job array "), "{text}");
    let ids: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty())
        .collect();
    let started = Instant::now();
    let limit = Duration::from_secs(180);
    while !out.join("sweep.csv").exists() {
        if started.elapsed() > limit {
            let logs: Vec<String> = std::fs::read_dir(out.join("slurm/logs"))
                .map(|d| {
                    d.flatten()
                        .map(|e| {
                            format!(
                                "{}:\n{}",
                                e.path().display(),
                                std::fs::read_to_string(e.path()).unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let squeue = Command::new("squeue")
                .output()
                .map(|o| stdout(&o))
                .unwrap_or_default();
            for id in &ids {
                let _ = Command::new("scancel").arg(id).status();
            }
            panic!(
                "no sweep.csv after {limit:?}; squeue:\n{squeue}\nlogs:\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // The merge job writes sweep.csv, then its figures: wait for the job to end.
    while Command::new("squeue")
        .args(["-h", "-j", &ids.join(",")])
        .output()
        .map(|o| !stdout(&o).trim().is_empty())
        .unwrap_or(false)
    {
        assert!(
            started.elapsed() < limit + Duration::from_secs(30),
            "jobs still queued"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(without_timings(&out), without_timings(&local));
    // One log per task and the merge's.
    let logs: Vec<String> = std::fs::read_dir(out.join("slurm/logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        logs.iter().filter(|l| l.starts_with("sweep_")).count(),
        3,
        "{logs:?}"
    );
    assert_eq!(
        logs.iter().filter(|l| l.starts_with("merge_")).count(),
        1,
        "{logs:?}"
    );
}

/// The guide's sweep (`docs/guide/sweeps.md`): its spec is `docs/sweeps/case_study.toml`
/// (verbatim), and running it gives the committed table (numbers within 1e-9, relative)
/// and figures (byte for byte). `V2G_BLESS=1 cargo test --test it guide_sweep` rewrites
/// them after a deliberate change of results.
#[test]
fn the_guide_sweep_gives_the_committed_table_and_figures() {
    let spec = root().join("docs/sweeps/case_study.toml");
    let page = std::fs::read_to_string(root().join("docs/guide/sweeps.md")).unwrap();
    let marker = "<!-- docs/sweeps/case_study.toml -->";
    let at = page
        .find(marker)
        .expect("docs/guide/sweeps.md marks its sweep spec")
        + marker.len();
    let start = page[at..].find("```toml\n").expect("a toml block follows") + at + 8;
    let end = page[start..].find("```").unwrap() + start;
    assert_eq!(&page[start..end], std::fs::read_to_string(&spec).unwrap());
    committed_sweep(
        "case_study",
        &[
            ("sweep_lines.svg", "case_study_lines.svg"),
            ("sweep_heatmap.svg", "case_study_heatmap.svg"),
        ],
    );
}

/// The departure-targets sweep the guide shows (`docs/guide/inputs.md`, "Departure
/// targets, charger power, smallest trade"): `docs/sweeps/targets.toml` gives the committed
/// `targets.csv` and `targets_lines.svg`. `V2G_BLESS=1` rewrites them.
#[test]
fn the_targets_sweep_gives_the_committed_table_and_figure() {
    let page = std::fs::read_to_string(root().join("docs/guide/inputs.md")).unwrap();
    for named in [
        "v2g sweep docs/sweeps/targets.toml --out results/targets",
        "docs/sweeps/targets.csv",
        "](../sweeps/targets_lines.svg)",
    ] {
        assert!(page.contains(named), "docs/guide/inputs.md names {named}");
    }
    committed_sweep("targets", &[("sweep_lines.svg", "targets_lines.svg")]);
}

/// Runs `docs/sweeps/NAME.toml` and compares its table with `docs/sweeps/NAME.csv`
/// (numbers within 1e-9, relative; timings left out) and each figure `(written, golden)`
/// byte for byte; with `V2G_BLESS=1` it rewrites them instead.
fn committed_sweep(name: &str, figures: &[(&str, &str)]) {
    let spec = root().join(format!("docs/sweeps/{name}.toml"));
    let table = format!("{name}.csv");
    let dir = tmp();
    let out = dir.path().join("out");
    ok(&sweep(&[
        spec.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("-q"),
    ]));
    let golden = root().join("docs/sweeps");
    if std::env::var_os("V2G_BLESS").is_some_and(|v| v == "1") {
        std::fs::copy(out.join("sweep.csv"), golden.join(&table)).unwrap();
        for (got, want) in figures {
            std::fs::copy(out.join(got), golden.join(want)).unwrap();
        }
        return;
    }
    let got = without_timings(&out);
    let want = csv_without_timings(&golden.join(&table));
    assert_eq!(got.len(), want.len(), "{table}");
    assert_eq!(got[0], want[0], "{table}");
    for (g, w) in got.iter().zip(&want).skip(1) {
        for (a, b) in g.iter().zip(w) {
            match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => assert!(
                    (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                    "{a} != {b} in {g:?} ({table})"
                ),
                _ => assert_eq!(a, b, "{g:?} ({table})"),
            }
        }
    }
    for (got, want) in figures {
        assert!(
            std::fs::read(out.join(got)).unwrap() == std::fs::read(golden.join(want)).unwrap(),
            "{got} differs from docs/sweeps/{want} (V2G_BLESS=1 rewrites it)"
        );
    }
}
