//! Sweeps: many runs of the pipeline from one spec, in parallel, resumable, shardable
//! over a Slurm job array, merged into one table (`sweep.csv`) with figures.
//!
//! A sweep spec is a scenario file (every key of [`Scenario`](crate::Scenario), the base
//! of every point) with a `[sweep]` table:
//!
//! ```toml
//! fleet = "sustech.csv"          # relative to the spec file (or --fleet FILE)
//! grid = "sustech_grid.csv"      # optional: default beside the fleet (or --grid FILE)
//! ledger = "off"
//! solver = "exact"
//! [sweep]
//! "params.w_grid" = [0.5, 0.792, 1.2]   # a dotted scenario key and its values
//! "params.beta" = [0.08, 0.16, 0.32]
//! [[sweep.points]]                       # optional explicit combinations, added
//! "params.w_grid" = 2.0
//! "params.beta" = 0.5
//! ```
//!
//! The points are the Cartesian product of the swept keys (the last varying fastest) and
//! then the explicit points. A swept key is any scenario key (`params.*`, `solver`,
//! `seed`, `ledger`, `horizon.slots`, `workers`, …; `epsilon`, `start` and `slots` are
//! short for `params.epsilon`, `horizon.start`, `horizon.slots`, as `simulate`'s flags
//! name them), `fleet` or `grid` (arrays of paths),
//! or a key of the generated fleet: a `[generate]` table (`n`, `bus_share`, `day`; the
//! defaults of `v2g fleet generate`) or a swept `generate.*` key makes every point's
//! fleet [`generate_fleet`](crate::generate::fleet::generate_fleet) with the point's
//! `seed`, so `seed = [1, 2, 3]` sweeps fleets drawn with three seeds.
//!
//! * [`SweepSpec`] parses the file with every error located ([`spec`]).
//! * [`Plan::new`] resolves, validates and names every point ([`plan`]);
//!   [`Plan::new_with`] reports how far it is ([`Planning`]).
//! * [`run`] runs the points of one shard into `DIR/runs/<id>/` (each the ordinary
//!   output folder of [`pipeline::run`](crate::pipeline::run)) and records each in
//!   `DIR/runs/<id>.json`; the whole sweep ends with [`merge`].
//! * [`merge`] builds `DIR/sweep.csv` and the figures from whatever the shards wrote
//!   ([`table`], [`figures`]), refusing missing points and points of another spec.
//! * [`slurm`] writes (and submits) a job array running the shards and a merge job.
//! * [`html`] writes the HTML report of a sweep's folder, or of a run's.
//!
//! The folder of a sweep holds `sweep.json` (the plan: points, ids, digests),
//! `sweep.csv`, `sweep_*.svg`, `runs/` and `slurm/`, and the HTML report made from them
//! (`report.html`, [`crate::report::html`]), nothing else.

pub mod figures;
pub mod html;
pub mod plan;
pub mod slurm;
pub mod spec;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use plan::{InputFlags, Manifest, Plan, PlanStage, Planning, Point, PointFleet, Shard};
pub use spec::SweepSpec;
pub use table::{merge, Merged, Table};

use crate::error::{Error, Result};
use crate::generate::fleet::generate_fleet;
use crate::pipeline::{FleetSource, GridSource, RunSpec, ScenarioSource};
use crate::report::output::{read_summary, write_atomic, OUTPUT_FILES};
use crate::report::provenance::InputFile;

/// The files a sweep writes at the top of its folder.
pub const SWEEP_FILES: [&str; 4] = [
    "sweep.json",
    "sweep.csv",
    figures::LINES_FILE,
    figures::HEATMAP_FILE,
];

/// The folders a sweep writes at the top of its folder.
pub const SWEEP_DIRS: [&str; 2] = ["runs", "slurm"];

/// How a point ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Its output folder is complete.
    Ok,
    /// It failed; the error says why.
    Failed,
}

/// `DIR/runs/<id>.json`: what the sweep knows about one point beside its output folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The point's id.
    pub id: String,
    /// The digest of the sweep it was run for ([`Plan::digest`]).
    pub spec_digest: String,
    /// Its values of the sweep's keys.
    pub point: BTreeMap<String, String>,
    /// The resolved scenario's digest.
    pub scenario_sha256: String,
    /// The fleet (path, size, SHA-256).
    pub fleet: InputFile,
    /// The grid signals; `null`: none.
    pub grid: Option<InputFile>,
    /// How it ended.
    pub status: Status,
    /// Why it failed.
    pub error: Option<String>,
    /// Wall time of its run, seconds (0 for a point refused before running).
    pub wall_s: f64,
    /// The shard that ran it (`I/N`).
    pub shard: String,
    /// The spec file.
    pub spec_file: InputFile,
    /// The command line of the sweep.
    pub command_line: Vec<String>,
}

/// Reads `DIR/runs/<id>.json`, if it is there and readable.
pub fn read_sidecar(dir: &Path, id: &str) -> Option<Sidecar> {
    let text = std::fs::read_to_string(sidecar_path(dir, id)).ok()?;
    serde_json::from_str(&text).ok()
}

/// `DIR/runs/<id>.json`.
pub fn sidecar_path(dir: &Path, id: &str) -> PathBuf {
    dir.join("runs").join(format!("{id}.json"))
}

/// `DIR/runs/<id>/`.
pub fn run_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join("runs").join(id)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(value).expect("serialises to JSON");
    json.push(b'\n');
    write_atomic(path, &json)
}

/// Whether the outputs of a run are complete and are the run of `expected` (scenario,
/// fleet and grid digests): the `run` object of its `summary.json` says so, and every
/// file the run writes is there.
pub fn outputs_match(
    folder: &Path,
    scenario_sha256: &str,
    fleet_sha256: &str,
    grid_sha256: Option<&str>,
    network_sha256: Option<&str>,
) -> bool {
    let Ok(summary) = read_summary(folder) else {
        return false;
    };
    let Some(run) = summary.run else {
        return false;
    };
    if run.scenario_sha256 != scenario_sha256
        || run.inputs.fleet.sha256 != fleet_sha256
        || run.inputs.grid.as_ref().map(|g| g.sha256.as_str()) != grid_sha256
        || run.inputs.network.as_ref().map(|n| n.sha256.as_str()) != network_sha256
    {
        return false;
    }
    OUTPUT_FILES
        .iter()
        .filter(|f| run.scenario.ledger || !matches!(**f, "ledger.jsonl" | "genesis.json"))
        .filter(|f| {
            run.inputs.network.is_some()
                || !matches!(
                    **f,
                    "network.csv" | "network_buses.csv" | "fig6_network.svg"
                )
        })
        .all(|f| folder.join(f).is_file())
}

/// Whether `point` already has a complete, matching run in `dir` (sidecar and outputs).
fn finished(dir: &Path, point: &Point) -> Option<Sidecar> {
    let side = read_sidecar(dir, &point.id)?;
    let grid = point.grid_input.as_ref().map(|g| g.sha256.as_str());
    let ok = side.id == point.id
        && side.status == Status::Ok
        && side.scenario_sha256 == point.scenario_sha256
        && side.fleet.sha256 == point.fleet_input.sha256
        && side.grid.as_ref().map(|g| g.sha256.as_str()) == grid
        && outputs_match(
            &run_dir(dir, &point.id),
            &point.scenario_sha256,
            &point.fleet_input.sha256,
            grid,
            point.network_sha256.as_deref(),
        );
    ok.then_some(side)
}

/// Checks that `dir` can hold a sweep (new, empty, or holding only a sweep's files and
/// its HTML report) and creates it with its `runs/` folder. `dir` may be a link to a
/// folder (scratch space on a cluster): a sweep writes inside it and never replaces it.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(dir, e))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let kind = entry.file_type().map_err(|e| Error::io(dir, e))?;
                let ours = (kind.is_file() && SWEEP_FILES.contains(&name.as_ref()))
                    || (kind.is_dir() && SWEEP_DIRS.contains(&name.as_ref()))
                    || (kind.is_file() && crate::report::html::is_report_file(&name))
                    // A temporary file of an interrupted atomic write.
                    || (kind.is_file() && name.starts_with(".sweep") && name.ends_with(".tmp"));
                if !ours {
                    return Err(Error::param(
                        "--out",
                        format!(
                            "'{}' holds '{}', which is not part of a sweep: choose a new or \
                             empty folder, or a previous sweep's",
                            dir.display(),
                            name
                        ),
                    ));
                }
            }
        }
        Ok(_) => {
            return Err(Error::param(
                "--out",
                format!("'{}' exists and is not a folder", dir.display()),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(dir, e)),
    }
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, e))
}

/// The most points a sweep runs at once (`--jobs`): a thread each.
pub const MAX_JOBS: usize = 1024;

/// How to run a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The sweep's folder.
    pub out: PathBuf,
    /// Points run at once (a rayon pool of this many threads, which the pipeline's own
    /// parallel work shares, and never more than the points to run); 0: one per core;
    /// at most [`MAX_JOBS`].
    pub jobs: usize,
    /// Which shard to run.
    pub shard: Shard,
    /// The command line, recorded in provenance and the sidecars.
    pub command_line: Vec<String>,
}

impl Options {
    /// The whole sweep into `out`, one point per core at once.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Options {
            out: out.into(),
            jobs: 0,
            shard: Shard::ALL,
            command_line: Vec::new(),
        }
    }
}

/// What a sweep reports as it goes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Something a user should know.
    Note(&'a str),
    /// The shard's points are known: `to_run` of `points` will run (the others are
    /// finished already).
    Started {
        /// Points of the whole sweep.
        total: usize,
        /// Points of this shard.
        points: usize,
        /// Points of this shard to run.
        to_run: usize,
    },
    /// A point is done.
    Point {
        /// Its id.
        id: &'a str,
        /// Points done so far (of `to_run`).
        done: usize,
        /// Points to run.
        to_run: usize,
        /// Why it failed, if it did.
        error: Option<&'a str>,
        /// Its wall time, seconds.
        wall_s: f64,
    },
}

/// What a sweep did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Points of the shard.
    pub points: usize,
    /// Points run now.
    pub ran: usize,
    /// Points finished before (skipped).
    pub skipped: usize,
    /// Points that failed: id and error.
    pub failed: Vec<(String, String)>,
    /// The merged table and the files written, when the whole sweep was run.
    pub merged: Option<Merged>,
    /// Wall time of the sweep, seconds.
    pub wall_s: f64,
}

/// Runs shard `opts.shard` of `plan` into `opts.out` (module docs): points already
/// finished there are skipped, each other point runs through the pipeline into
/// `runs/<id>/` and is recorded in `runs/<id>.json`, a failing point is recorded with its
/// error and does not stop the others. For the whole sweep it then merges ([`merge`]).
/// `progress` sees a note per plan note, the start and every point; an error it returns
/// ([`Error::Stopped`]) stops the sweep (running points stop too, nothing half-written).
pub fn run(
    plan: &Plan,
    opts: &Options,
    progress: &mut (dyn FnMut(Event<'_>) -> Result<()> + Send),
) -> Result<Report> {
    let started = Instant::now();
    if opts.jobs > MAX_JOBS {
        return Err(Error::param(
            "--jobs",
            format!("{}: at most {MAX_JOBS} points at once", opts.jobs),
        ));
    }
    let dir = &opts.out;
    prepare_dir(dir)?;
    write_json(&dir.join("sweep.json"), &plan.manifest())?;
    for note in &plan.notes {
        progress(Event::Note(note))?;
    }
    let mine: Vec<&Point> = plan.shard(opts.shard).collect();
    let mut to_run = Vec::new();
    let mut skipped = 0;
    for p in &mine {
        match finished(dir, p) {
            Some(side) => {
                skipped += 1;
                if side.spec_digest != plan.digest {
                    // The same run, now part of this sweep.
                    let side = Sidecar {
                        spec_digest: plan.digest.clone(),
                        point: point_map(plan, p),
                        ..side
                    };
                    write_json(&sidecar_path(dir, &p.id), &side)?;
                }
            }
            None => to_run.push(*p),
        }
    }
    progress(Event::Started {
        total: plan.points.len(),
        points: mine.len(),
        to_run: to_run.len(),
    })?;

    // No more threads than points to run: more would only wait.
    let threads = match opts.jobs {
        0 => 0,
        jobs => jobs.min(to_run.len().max(1)),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::param("--jobs", e.to_string()))?;
    let stop = AtomicBool::new(false);
    let shared = Mutex::new((progress, 0usize, Vec::new()));
    let total = to_run.len();
    let outcome: Result<()> = pool.install(|| {
        to_run.par_iter().try_for_each(|p| -> Result<()> {
            if stop.load(Ordering::Relaxed) {
                return Err(Error::Stopped);
            }
            let PointEnd {
                error,
                wall_s,
                notes,
            } = run_point(plan, p, opts, &stop).inspect_err(|_| {
                stop.store(true, Ordering::Relaxed);
            })?;
            let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
            let (progress, done, failed) = &mut *guard;
            for n in &notes {
                if let Err(e) = progress(Event::Note(n)) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            *done += 1;
            if let Some(e) = &error {
                failed.push((p.id.clone(), e.clone()));
            }
            let event = Event::Point {
                id: &p.id,
                done: *done,
                to_run: total,
                error: error.as_deref(),
                wall_s,
            };
            if let Err(e) = progress(event) {
                stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
            Ok(())
        })
    });
    outcome?;
    let (_, ran, mut failed) = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    failed.sort();
    let merged = if opts.shard.is_all() {
        Some(merge(dir)?)
    } else {
        None
    };
    Ok(Report {
        points: mine.len(),
        ran,
        skipped,
        failed,
        merged,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// The point's values by key.
fn point_map(plan: &Plan, p: &Point) -> BTreeMap<String, String> {
    plan.keys
        .iter()
        .cloned()
        .zip(p.cells.iter().cloned())
        .collect()
}

/// Runs one point and records it (unless another process is running it); returns its
/// error (if it failed), wall time and notes. `Err` only for a stop or a sidecar that
/// cannot be written.
fn run_point(plan: &Plan, p: &Point, opts: &Options, stop: &AtomicBool) -> Result<PointEnd> {
    let dir = &opts.out;
    let t0 = Instant::now();
    let mut notes = Vec::new();
    let error = match &p.invalid {
        Some(e) => Some(e.clone()),
        None => {
            let fleet = match &p.fleet {
                PointFleet::File(path) => Ok(FleetSource::Path(path.clone())),
                PointFleet::Generated(fs) => generate_fleet(fs).map(|fleet| FleetSource::Table {
                    name: plan::generated_name(fs),
                    fleet,
                }),
            };
            match fleet {
                Err(e) => Some(e.to_string()),
                Ok(fleet) => {
                    let spec = RunSpec {
                        fleet,
                        grid: match &p.grid {
                            Some(g) => GridSource::Path(g.clone()),
                            None => GridSource::None,
                        },
                        scenario: ScenarioSource::Value(Box::new(p.scenario.clone())),
                        overrides: Default::default(),
                        keystore: None,
                        out: Some(run_dir(dir, &p.id)),
                        command_line: opts.command_line.clone(),
                        network: None,
                    };
                    // The point's folder is locked as any run's: a point another process
                    // is running (the same sweep run twice at once) is refused, and what
                    // a killed run of it left is removed (a note).
                    let out = crate::pipeline::run(&spec, &mut |e| {
                        if let crate::pipeline::Event::Note(n) = e {
                            notes.push(format!("point {}: {n}", p.id));
                        }
                        if stop.load(Ordering::Relaxed) {
                            Err(Error::Stopped)
                        } else {
                            Ok(())
                        }
                    });
                    match out {
                        Err(Error::Stopped) => return Err(Error::Stopped),
                        // Not this process's to record: the run holding the lock records
                        // the point when it ends.
                        Err(e @ Error::OutputBusy { .. }) => {
                            return Ok(PointEnd {
                                error: Some(e.to_string()),
                                wall_s: 0.0,
                                notes,
                            })
                        }
                        Err(e) => Some(e.to_string()),
                        Ok(out) => {
                            let run = out.summary.run.as_ref();
                            let fleet_sha = run.map(|r| r.inputs.fleet.sha256.as_str());
                            let grid_sha =
                                run.and_then(|r| r.inputs.grid.as_ref().map(|g| g.sha256.as_str()));
                            if fleet_sha != Some(p.fleet_input.sha256.as_str()) {
                                Some(format!(
                                    "the fleet {} changed during the sweep",
                                    p.fleet_input.path
                                ))
                            } else if grid_sha != p.grid_input.as_ref().map(|g| g.sha256.as_str()) {
                                Some("the grid file changed during the sweep".to_string())
                            } else {
                                None
                            }
                        }
                    }
                }
            }
        }
    };
    let wall_s = if p.invalid.is_some() {
        0.0
    } else {
        t0.elapsed().as_secs_f64()
    };
    let side = Sidecar {
        id: p.id.clone(),
        spec_digest: plan.digest.clone(),
        point: point_map(plan, p),
        scenario_sha256: p.scenario_sha256.clone(),
        fleet: p.fleet_input.clone(),
        grid: p.grid_input.clone(),
        status: if error.is_some() {
            Status::Failed
        } else {
            Status::Ok
        },
        error: error.clone(),
        wall_s,
        shard: opts.shard.to_string(),
        spec_file: plan.spec_file.clone(),
        command_line: opts.command_line.clone(),
    };
    write_json(&sidecar_path(dir, &p.id), &side)?;
    Ok(PointEnd {
        error,
        wall_s,
        notes,
    })
}

/// How a point's run ended ([`run_point`]).
struct PointEnd {
    /// Why it failed, if it did.
    error: Option<String>,
    /// Its wall time, seconds.
    wall_s: f64,
    /// What its run noted (leftovers of an interrupted run removed).
    notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(dir: &Path, sweep: &str) -> Plan {
        let text = format!(
            "fleet = {:?}\nledger = \"off\"\nhorizon.slots = 4\n{sweep}",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/example.csv")
                .display()
                .to_string()
        );
        let spec = SweepSpec::from_toml(&text, &dir.join("s.toml")).unwrap();
        Plan::new(&spec, &InputFlags::default()).unwrap()
    }

    #[test]
    fn a_sweep_folder_holds_only_a_sweeps_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        prepare_dir(&out).unwrap();
        assert!(out.join("runs").is_dir());
        for f in SWEEP_FILES {
            std::fs::write(out.join(f), "x").unwrap();
        }
        std::fs::create_dir(out.join("slurm")).unwrap();
        std::fs::write(out.join(".sweep.csv.abc.tmp"), "x").unwrap();
        // The HTML report, and what an interrupted write of it leaves.
        std::fs::write(out.join("report.html"), "x").unwrap();
        std::fs::write(out.join(".report.html.abc.tmp"), "x").unwrap();
        prepare_dir(&out).unwrap();
        // Anything else is refused, by name.
        for (name, dir_entry) in [
            ("notes.txt", false),
            ("sweep.csv.bak", false),
            ("figs", true),
        ] {
            let p = out.join(name);
            if dir_entry {
                std::fs::create_dir(&p).unwrap();
            } else {
                std::fs::write(&p, "x").unwrap();
            }
            let e = prepare_dir(&out).unwrap_err().to_string();
            assert!(e.contains("--out") && e.contains(name), "{e}");
            if dir_entry {
                std::fs::remove_dir(&p).unwrap();
            } else {
                std::fs::remove_file(&p).unwrap();
            }
        }
        // A file where a folder is expected is refused; so is `runs` as a file.
        std::fs::remove_dir_all(out.join("runs")).unwrap();
        std::fs::write(out.join("runs"), "x").unwrap();
        assert!(prepare_dir(&out)
            .unwrap_err()
            .to_string()
            .contains("'runs'"));
        let e = prepare_dir(&out.join("sweep.csv")).unwrap_err().to_string();
        assert!(e.contains("not a folder"), "{e}");
        // A link to a folder is that folder.
        #[cfg(unix)]
        {
            let real = dir.path().join("scratch");
            std::fs::create_dir(&real).unwrap();
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            prepare_dir(&link).unwrap();
            assert!(real.join("runs").is_dir());
        }
    }

    #[test]
    fn a_sweep_runs_resumes_and_knows_complete_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let p = plan(dir.path(), "[sweep]\n\"params.w_grid\" = [0.5, 1.2]\n");
        let out = dir.path().join("out");
        let mut events = Vec::new();
        let report = run(&p, &Options::new(&out), &mut |e| {
            events.push(format!("{e:?}"));
            Ok(())
        })
        .unwrap();
        assert_eq!((report.points, report.ran, report.skipped), (2, 2, 0));
        assert!(report.failed.is_empty());
        let merged = report.merged.unwrap();
        assert_eq!(merged.table.rows.len(), 2);
        assert_eq!(events.len(), 3, "{events:?}");
        assert!(events[0].starts_with("Started { total: 2, points: 2, to_run: 2"));
        for q in &p.points {
            let folder = run_dir(&out, &q.id);
            let grid = q.grid_input.as_ref().map(|g| g.sha256.as_str());
            assert!(outputs_match(
                &folder,
                &q.scenario_sha256,
                &q.fleet_input.sha256,
                grid,
                None
            ));
            assert!(!outputs_match(
                &folder,
                &q.fleet_input.sha256,
                &q.fleet_input.sha256,
                grid,
                None
            ));
            assert!(!outputs_match(
                &folder,
                &q.scenario_sha256,
                &q.scenario_sha256,
                grid,
                None
            ));
            assert!(!outputs_match(
                &folder,
                &q.scenario_sha256,
                &q.fleet_input.sha256,
                None,
                None
            ));
            // A run with a network is not a run without one.
            assert!(!outputs_match(
                &folder,
                &q.scenario_sha256,
                &q.fleet_input.sha256,
                grid,
                Some("00")
            ));
            assert!(finished(&out, q).is_some());
        }
        // A missing output file: that point runs again.
        let q = &p.points[0];
        std::fs::remove_file(run_dir(&out, &q.id).join("fig4_power_and_prices.svg")).unwrap();
        assert!(finished(&out, q).is_none());
        // A sidecar that says it failed: again.
        let side = read_sidecar(&out, &p.points[1].id).unwrap();
        write_json(
            &sidecar_path(&out, &p.points[1].id),
            &Sidecar {
                status: Status::Failed,
                ..side
            },
        )
        .unwrap();
        assert!(finished(&out, &p.points[1]).is_none());
        let report = run(&p, &Options::new(&out), &mut |_| Ok(())).unwrap();
        assert_eq!((report.ran, report.skipped), (2, 0));
        let report = run(&p, &Options::new(&out), &mut |_| Ok(())).unwrap();
        assert_eq!((report.ran, report.skipped), (0, 2));
        // No sidecar: again.
        std::fs::remove_file(sidecar_path(&out, &p.points[0].id)).unwrap();
        assert!(finished(&out, &p.points[0]).is_none());
    }

    #[test]
    fn a_stopping_callback_stops_the_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let p = plan(dir.path(), "[sweep]\nseed = [1, 2, 3, 4]\n");
        let out = dir.path().join("out");
        let opts = Options {
            jobs: 1,
            ..Options::new(&out)
        };
        let e = run(&p, &opts, &mut |e| match e {
            Event::Point { .. } => Err(Error::Stopped),
            _ => Ok(()),
        })
        .unwrap_err();
        assert!(matches!(e, Error::Stopped));
        let sidecars = std::fs::read_dir(out.join("runs"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count();
        assert_eq!(sidecars, 1);
        assert!(!out.join("sweep.csv").exists());
    }

    #[test]
    fn a_shard_does_not_merge() {
        let dir = tempfile::tempdir().unwrap();
        let p = plan(dir.path(), "[sweep]\nseed = [1, 2, 3]\n");
        let out = dir.path().join("out");
        let opts = Options {
            shard: Shard { index: 1, count: 2 },
            ..Options::new(&out)
        };
        let report = run(&p, &opts, &mut |_| Ok(())).unwrap();
        assert_eq!((report.points, report.ran), (1, 1));
        assert!(report.merged.is_none());
        assert!(!out.join("sweep.csv").exists());
        let side = read_sidecar(&out, &p.points[1].id).unwrap();
        assert_eq!(side.shard, "1/2");
        assert_eq!(side.spec_digest, p.digest);
        assert_eq!(side.point["seed"], p.points[1].cells[0]);
        let m: Manifest =
            serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap())
                .unwrap();
        assert_eq!(m, p.manifest());
    }
}
