//! `simulate`: one call of `v2g::pipeline::run`, and the run's output as columns.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use v2g::data::time::parse_time;
use v2g::pipeline::{run, Event, FleetSource, GridSource, RunOutput, RunSpec, ScenarioSource};
use v2g::policy::Policy;
use v2g::report::compare;
use v2g::{Fleet, GridSignals, Scenario, Solver};

use crate::{epoch_seconds, f64_bytes, i64_bytes, package_error, to_py_err, to_toml};

/// A run's output, kept whole so that `write` produces exactly the CLI's folder.
#[pyclass(name = "RunOutput", module = "v2g._v2g", frozen)]
pub struct PyRunOutput {
    out: RunOutput,
    notes: Vec<String>,
}

/// One column: its name, its type tag (`f64`, `i64`, `time` in epoch seconds, `str`) and
/// its values (bytes for numbers, a list of str for text).
type Column<'py> = (&'static str, &'static str, Bound<'py, PyAny>);

fn f64_col<'py, T>(
    py: Python<'py>,
    name: &'static str,
    rows: &[T],
    f: impl Fn(&T) -> f64,
) -> Column<'py> {
    (name, "f64", f64_bytes(py, rows.iter().map(f)).into_any())
}

fn i64_col<'py, T>(
    py: Python<'py>,
    name: &'static str,
    rows: &[T],
    f: impl Fn(&T) -> i64,
) -> Column<'py> {
    (name, "i64", i64_bytes(py, rows.iter().map(f)).into_any())
}

fn time_col<'py, T>(
    py: Python<'py>,
    name: &'static str,
    rows: &[T],
    f: impl Fn(&T) -> &str,
) -> Column<'py> {
    // The records hold times the library formatted itself, so they always parse.
    let secs = rows
        .iter()
        .map(|r| parse_time(f(r)).map_or(i64::MIN, epoch_seconds));
    (name, "time", i64_bytes(py, secs).into_any())
}

/// A time column of times held as such.
fn datetime_col<'py, T>(
    py: Python<'py>,
    name: &'static str,
    rows: &[T],
    f: impl Fn(&T) -> chrono::NaiveDateTime,
) -> Column<'py> {
    let secs = rows.iter().map(|r| epoch_seconds(f(r)));
    (name, "time", i64_bytes(py, secs).into_any())
}

/// An optional float column: NaN marks an empty cell (no value in the CSV), which the
/// Python layer turns into a null.
fn opt_f64_col<'py, T>(
    py: Python<'py>,
    name: &'static str,
    rows: &[T],
    f: impl Fn(&T) -> Option<f64>,
) -> Column<'py> {
    let v = rows.iter().map(|r| f(r).unwrap_or(f64::NAN));
    (name, "f64?", f64_bytes(py, v).into_any())
}

/// An optional boolean column: a list of `True`, `False` or `None`.
fn opt_bool_col<'py, T>(
    py: Python<'py>,
    name: &'static str,
    rows: &[T],
    f: impl Fn(&T) -> Option<bool>,
) -> PyResult<Column<'py>> {
    let list = PyList::new(py, rows.iter().map(&f))?;
    Ok((name, "bool?", list.into_any()))
}

fn str_col<'py, T>(
    py: Python<'py>,
    name: &'static str,
    rows: &[T],
    f: impl Fn(&T) -> &str,
) -> PyResult<Column<'py>> {
    let list = PyList::new(py, rows.iter().map(|r| PyString::new(py, f(r))))?;
    Ok((name, "str", list.into_any()))
}

/// An optional integer column: a list of `int` or `None`.
fn opt_i64_col<'py, T>(
    py: Python<'py>,
    name: &'static str,
    rows: &[T],
    f: impl Fn(&T) -> Option<i64>,
) -> PyResult<Column<'py>> {
    let list = PyList::new(py, rows.iter().map(&f))?;
    Ok((name, "i64?", list.into_any()))
}

/// An optional text column: a list of strings or `None`.
fn opt_str_col<'py, T>(
    py: Python<'py>,
    name: &'static str,
    rows: &[T],
    f: impl Fn(&T) -> Option<&str>,
) -> PyResult<Column<'py>> {
    let list = PyList::new(py, rows.iter().map(&f))?;
    Ok((name, "str", list.into_any()))
}

#[pymethods]
impl PyRunOutput {
    /// The columns of `slots.csv`, in its order.
    fn slots_columns<'py>(&self, py: Python<'py>) -> PyResult<Vec<Column<'py>>> {
        let s = &self.out.result.slots;
        Ok(vec![
            i64_col(py, "slot", s, |r| r.slot as i64),
            time_col(py, "time", s, |r| &r.time),
            f64_col(py, "p_rt", s, |r| r.p_rt),
            f64_col(py, "p_c", s, |r| r.p_c),
            // Empty (NaN here, a null in the table) for a policy without the price game.
            opt_f64_col(py, "p_d", s, |r| r.p_d),
            f64_col(py, "e_limit_kwh", s, |r| r.e_limit_kwh),
            i64_col(py, "n_plugged", s, |r| r.n_plugged as i64),
            i64_col(py, "n_charge", s, |r| r.n_charge as i64),
            i64_col(py, "n_discharge", s, |r| r.n_discharge as i64),
            i64_col(py, "n_idle", s, |r| r.n_idle as i64),
            f64_col(py, "charge_kwh", s, |r| r.charge_kwh),
            f64_col(py, "discharge_kwh", s, |r| r.discharge_kwh),
            f64_col(py, "r_service", s, |r| r.r_service),
            f64_col(py, "r_grid", s, |r| r.r_grid),
            f64_col(py, "c_v2g", s, |r| r.c_v2g),
            f64_col(py, "c_limit", s, |r| r.c_limit),
            f64_col(py, "revenue", s, |r| r.revenue),
            f64_col(py, "base_load_kw", s, |r| r.base_load_kw),
            f64_col(py, "wear_cny", s, |r| r.wear_cny),
        ])
    }

    /// The columns of `evs.csv`, in its order.
    fn evs_columns<'py>(&self, py: Python<'py>) -> PyResult<Vec<Column<'py>>> {
        let e = &self.out.result.evs.to_vec();
        Ok(vec![
            str_col(py, "ev_id", e, |r| &r.ev_id)?,
            str_col(py, "kind", e, |r| r.kind.as_str())?,
            datetime_col(py, "arrival", e, |r| r.arrival),
            datetime_col(py, "departure", e, |r| r.departure),
            f64_col(py, "initial_kwh", e, |r| r.initial_kwh),
            f64_col(py, "final_kwh", e, |r| r.final_kwh),
            f64_col(py, "paid_cny", e, |r| r.paid_cny),
            f64_col(py, "received_cny", e, |r| r.received_cny),
            f64_col(py, "net_cost_cny", e, |r| r.net_cost_cny),
            f64_col(py, "baseline_final_kwh", e, |r| r.baseline_final_kwh),
            f64_col(py, "baseline_cost_cny", e, |r| r.baseline_cost_cny),
            opt_f64_col(py, "target_kwh", e, |r| r.target_kwh),
            opt_bool_col(py, "target_reachable", e, |r| r.target_reachable)?,
            opt_bool_col(py, "target_met", e, |r| r.target_met)?,
            opt_f64_col(py, "shortfall_kwh", e, |r| r.shortfall_kwh),
            opt_f64_col(py, "cost_per_kwh_delivered", e, |r| {
                r.cost_per_kwh_delivered
            }),
            opt_str_col(py, "session_id", e, |r| r.session_id.as_deref())?,
            f64_col(py, "wear_cny", e, |r| r.wear_cny),
        ])
    }

    /// The grid row of each slot (`time`, `base_load_kw`, `e_limit_kwh`, and `p_rt`
    /// where the grid file gave one, NaN elsewhere): what Fig. 3 draws.
    fn grid_columns<'py>(&self, py: Python<'py>) -> Vec<Column<'py>> {
        let g = &self.out.grid_rows;
        vec![
            (
                "time",
                "time",
                i64_bytes(py, g.iter().map(|r| epoch_seconds(r.time))).into_any(),
            ),
            f64_col(py, "base_load_kw", g, |r| r.base_load_kw),
            f64_col(py, "e_limit_kwh", g, |r| r.e_limit_kwh),
            f64_col(py, "p_rt", g, |r| r.p_rt.unwrap_or(f64::NAN)),
        ]
    }

    /// The columns of `network.csv`, in its order (`None` when the run had no network):
    /// every slot under the scheme, then every slot under the baseline.
    fn network_columns<'py>(&self, py: Python<'py>) -> PyResult<Option<Vec<Column<'py>>>> {
        let Some(net) = &self.out.network else {
            return Ok(None);
        };
        let n = &net.rows;
        Ok(Some(vec![
            i64_col(py, "slot", n, |r| r.slot as i64),
            time_col(py, "time", n, |r| &r.time),
            str_col(py, "policy", n, |r| &r.policy)?,
            f64_col(py, "vm_min_pu", n, |r| r.flow.vm_min_pu),
            i64_col(py, "vm_min_bus", n, |r| i64::from(r.flow.vm_min_bus)),
            f64_col(py, "vm_max_pu", n, |r| r.flow.vm_max_pu),
            i64_col(py, "vm_max_bus", n, |r| i64::from(r.flow.vm_max_bus)),
            opt_f64_col(py, "branch_loading_max_pct", n, |r| {
                r.flow.branch_loading_max_pct
            }),
            opt_i64_col(py, "branch_loading_max", n, |r| {
                r.flow.branch_loading_max.map(|b| b as i64)
            })?,
            opt_f64_col(py, "transformer_loading_max_pct", n, |r| {
                r.flow.transformer_loading_max_pct
            }),
            opt_str_col(py, "transformer_loading_max_site", n, |r| {
                r.flow.transformer_loading_max_site.as_deref()
            })?,
            f64_col(py, "losses_kw", n, |r| r.flow.losses_kw),
            i64_col(py, "voltage_violations", n, |r| {
                r.flow.voltage_violations as i64
            }),
            i64_col(py, "loading_violations", n, |r| {
                r.flow.loading_violations as i64
            }),
            i64_col(py, "curtailed_evs", n, |r| r.curtailed_evs as i64),
        ]))
    }

    /// The columns of `network_buses.csv`, in its order (`None` without a network): each
    /// bus's demand and voltage, slot by slot, the scheme's slots then the baseline's.
    fn network_buses_columns<'py>(&self, py: Python<'py>) -> PyResult<Option<Vec<Column<'py>>>> {
        let Some(net) = &self.out.network else {
            return Ok(None);
        };
        let b = &net.buses;
        Ok(Some(vec![
            i64_col(py, "slot", b, |r| r.slot as i64),
            str_col(py, "policy", b, |r| &r.policy)?,
            i64_col(py, "bus", b, |r| i64::from(r.bus)),
            f64_col(py, "p_kw", b, |r| r.p_kw),
            f64_col(py, "q_kvar", b, |r| r.q_kvar),
            f64_col(py, "vm_pu", b, |r| r.vm_pu),
            f64_col(py, "va_deg", b, |r| r.va_deg),
        ]))
    }

    /// `summary.json`'s text, byte for byte (the file ends with one more newline).
    fn summary_json(&self) -> String {
        serde_json::to_string_pretty(&self.out.summary).unwrap_or_default()
    }

    /// The run's policy (`summary.json`'s `policy`, docs/model.md §10).
    fn policy(&self) -> &'static str {
        self.out.summary.policy.as_str()
    }

    /// `genesis.json`'s text when the ledger was on.
    fn genesis_json(&self) -> Option<String> {
        self.out
            .genesis
            .as_ref()
            .map(|g| String::from_utf8_lossy(&v2g::ledger::store::write_genesis(g)).into_owned())
    }

    /// Whether the ledger is held in memory (on, and no output folder was given).
    fn has_ledger(&self) -> bool {
        self.out.ledger.is_some()
    }

    /// The files written by the run itself (when `out` was given).
    fn written(&self) -> Vec<String> {
        self.out
            .written
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    /// Notes the pipeline reported (e.g. which grid file was taken).
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    /// The run's HTML report (`v2g report DIR --html`'s bytes for its folder), written
    /// atomically to `path` too when one is given; the GIL is released.
    #[pyo3(signature = (path=None))]
    fn html(&self, py: Python<'_>, path: Option<PathBuf>) -> PyResult<String> {
        py.detach(|| {
            let html = self.out.html()?;
            if let Some(p) = &path {
                v2g::report::output::write_atomic(p, html.as_bytes())?;
            }
            Ok(html)
        })
        .map_err(|e: v2g::Error| to_py_err(py, e))
    }

    /// Writes the CLI's output folder `dir` (replaced whole); the GIL is released.
    fn write(&self, py: Python<'_>, dir: PathBuf) -> PyResult<Vec<String>> {
        let written = py
            .detach(|| self.out.write(&dir))
            .map_err(|e| to_py_err(py, e))?;
        Ok(written.iter().map(|p| p.display().to_string()).collect())
    }
}

/// A table given as `(name, csv bytes)`, or a path.
enum Input {
    Path(PathBuf),
    Csv(String, Vec<u8>),
}

fn input(v: &Bound<'_, PyAny>) -> PyResult<Input> {
    if let Ok(t) = v.cast::<PyTuple>() {
        let (name, bytes): (String, Vec<u8>) = t.extract()?;
        return Ok(Input::Csv(name, bytes));
    }
    Ok(Input::Path(v.extract()?))
}

pub(crate) fn fleet_source(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<FleetSource> {
    Ok(match input(v)? {
        Input::Path(p) => FleetSource::Path(p),
        Input::Csv(name, bytes) => FleetSource::Table {
            fleet: Fleet::from_reader(bytes.as_slice(), Path::new(&format!("<{name}>")))
                .map_err(|e| to_py_err(py, e))?,
            name,
        },
    })
}

pub(crate) fn grid_source(py: Python<'_>, v: Option<&Bound<'_, PyAny>>) -> PyResult<GridSource> {
    let Some(v) = v else {
        return Ok(GridSource::Beside);
    };
    if let Ok(false) = v.extract::<bool>() {
        return Ok(GridSource::None);
    }
    Ok(match input(v)? {
        Input::Path(p) => GridSource::Path(p),
        Input::Csv(name, bytes) => GridSource::Table {
            grid: GridSignals::from_reader(bytes.as_slice(), Path::new(&format!("<{name}>")))
                .map_err(|e| to_py_err(py, e))?,
            name,
        },
    })
}

/// `solver = "grid" | "exact"`.
pub(crate) fn parse_solver(py: Python<'_>, s: &str) -> PyResult<Solver> {
    match s {
        "grid" => Ok(Solver::Grid),
        "exact" => Ok(Solver::Exact),
        other => Err(package_error(
            py,
            "InputError",
            format!(
                "invalid parameter solver: {} is not 'grid' or 'exact'",
                v2g::error::excerpt(other)
            ),
        )),
    }
}

/// `policy = "stackelberg" | "uncoordinated" | "edf" | "llf" | "optimal"`: the library's
/// own parsing, whose error names every policy.
pub(crate) fn parse_policy(py: Python<'_>, s: &str) -> PyResult<Policy> {
    s.parse::<Policy>().map_err(|e| to_py_err(py, e))
}

/// The scenario: a file, then each `(dotted key, value)` set in order with
/// `Scenario::set` (types checked as in a file; ranges by the pipeline's validation).
pub(crate) fn scenario_with(
    py: Python<'_>,
    base: Option<&Path>,
    set: &[(String, Bound<'_, PyAny>)],
) -> PyResult<Scenario> {
    let mut sc = match base {
        None => Scenario::default(),
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| to_py_err(py, v2g::Error::io(p, e)))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                to_py_err(
                    py,
                    v2g::Error::input(p, 0, 0, "", "the file is not valid UTF-8"),
                )
            })?;
            Scenario::from_toml(&text, p).map_err(|e| to_py_err(py, e))?
        }
    };
    for (key, value) in set {
        let v = to_toml(key, value)?;
        sc.set(key, v).map_err(|e| to_py_err(py, e))?;
    }
    Ok(sc)
}

/// The network a scenario file names, relative to the file's folder as the CLI reads it,
/// when the scenario is that file with keys set on top (which makes it a value, whose
/// relative paths are the working directory's) and no key replaces `network`.
fn file_network(
    file: Option<&Path>,
    set: &[(String, Bound<'_, PyAny>)],
    sc: &Scenario,
) -> Option<PathBuf> {
    let file = file?;
    if set.is_empty() || set.iter().any(|(k, _)| k == "network") {
        return None;
    }
    let given = PathBuf::from(sc.network.as_ref()?);
    if given.is_absolute() {
        return None;
    }
    Some(
        file.parent()
            .map_or_else(|| given.clone(), |dir| dir.join(&given)),
    )
}

/// Runs the pipeline with the GIL released. Between slots the GIL is taken back to check
/// for signals (Ctrl-C stops the run: `KeyboardInterrupt`, nothing written) and to call
/// `progress(done, total)`; an exception it raises stops the run and is re-raised.
#[pyfunction]
#[pyo3(signature = (fleet, grid, scenario_path, scenario_set, solver, epsilon, workers, ledger, out, progress, command_line, network=None, policy=None))]
#[allow(clippy::too_many_arguments)]
pub fn simulate(
    py: Python<'_>,
    fleet: &Bound<'_, PyAny>,
    grid: Option<&Bound<'_, PyAny>>,
    scenario_path: Option<PathBuf>,
    scenario_set: Vec<(String, Bound<'_, PyAny>)>,
    solver: Option<String>,
    epsilon: Option<f64>,
    workers: Option<usize>,
    ledger: Option<bool>,
    out: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
    command_line: Vec<String>,
    network: Option<PathBuf>,
    policy: Option<String>,
) -> PyResult<PyRunOutput> {
    let mut spec = RunSpec::with_fleet(fleet_source(py, fleet)?);
    spec.grid = grid_source(py, grid)?;
    // `network` is `--network`; without it, the scenario's `network`.
    spec.network = network;
    spec.scenario = match (scenario_path, scenario_set.is_empty()) {
        (None, true) => ScenarioSource::Default,
        (Some(p), true) => ScenarioSource::Path(p),
        (p, false) => {
            let sc = scenario_with(py, p.as_deref(), &scenario_set)?;
            if spec.network.is_none() {
                spec.network = file_network(p.as_deref(), &scenario_set, &sc);
            }
            ScenarioSource::Value(Box::new(sc))
        }
    };
    spec.overrides.solver = solver.as_deref().map(|s| parse_solver(py, s)).transpose()?;
    // `--policy`: before anything runs, so a bad name writes nothing.
    spec.overrides.policy = policy.as_deref().map(|s| parse_policy(py, s)).transpose()?;
    spec.overrides.epsilon = epsilon;
    spec.overrides.workers = workers;
    spec.overrides.ledger = ledger;
    spec.out = out;
    spec.command_line = command_line;

    let mut stored: Option<PyErr> = None;
    let mut notes: Vec<String> = Vec::new();
    let result = py.detach(|| {
        run(&spec, &mut |e| match e {
            Event::Slot { done, total } => Python::attach(|py| -> PyResult<()> {
                py.check_signals()?;
                if let Some(cb) = &progress {
                    cb.call1(py, (done, total))?;
                }
                Ok(())
            })
            .map_err(|err| {
                stored = Some(err);
                v2g::Error::Stopped
            }),
            Event::Note(n) => {
                notes.push(n.to_string());
                Ok(())
            }
            _ => Ok(()),
        })
    });
    match result {
        Ok(out) => Ok(PyRunOutput { out, notes }),
        Err(e) => Err(match (e, stored) {
            (v2g::Error::Stopped, Some(err)) => err,
            (e, _) => to_py_err(py, e),
        }),
    }
}

/// The comparison of finished runs (`v2g compare`, docs/model.md §10.4): the columns of
/// `comparison.csv`, in its order, from the library's own rows
/// (`v2g::report::compare::rows`), one per `(label, run)`. Runs of different horizons or
/// currencies are refused, as `v2g compare` refuses their folders.
#[pyfunction]
fn compare_columns<'py>(
    py: Python<'py>,
    runs: Vec<(String, PyRef<'py, PyRunOutput>)>,
) -> PyResult<Vec<Column<'py>>> {
    let Some((first_label, first)) = runs.first() else {
        return Err(to_py_err(
            py,
            v2g::Error::param("results", "give at least one Result to compare"),
        ));
    };
    let f = &first.out.summary;
    for (label, r) in &runs[1..] {
        let s = &r.out.summary;
        if (s.slots, &s.start) != (f.slots, &f.start) || s.currency != f.currency {
            return Err(to_py_err(
                py,
                v2g::Error::param(
                    "results",
                    format!(
                        "{label}: its day ({} slots from {}, {}) is not that of {first_label} \
                         ({} slots from {}, {}): only runs of one horizon and currency compare",
                        s.slots, s.start, s.currency, f.slots, f.start, f.currency
                    ),
                ),
            ));
        }
    }
    let entries: Vec<compare::Entry> = runs
        .iter()
        .map(|(label, r)| compare::Entry {
            label: label.clone(),
            summary: r.out.summary.clone(),
            slots: r.out.result.slots.clone(),
        })
        .collect();
    let rows = compare::rows(&entries);
    let to_i64 = |v: Option<usize>| v.map(|n| n as i64);
    let cols = vec![
        str_col(py, "run", &rows, |r| &r.run)?,
        str_col(py, "policy", &rows, |r| &r.policy)?,
        f64_col(py, "system_cost_cny", &rows, |r| r.system_cost_cny),
        f64_col(py, "gap_cny", &rows, |r| r.gap_cny),
        f64_col(py, "eva_revenue_cny", &rows, |r| r.eva_revenue_cny),
        f64_col(py, "ev_net_cost_cny", &rows, |r| r.ev_net_cost_cny),
        f64_col(py, "final_kwh", &rows, |r| r.final_kwh),
        opt_i64_col(py, "targets_met", &rows, |r| to_i64(r.targets_met))?,
        opt_i64_col(py, "targets", &rows, |r| to_i64(r.targets))?,
        f64_col(py, "peak_load_kw", &rows, |r| r.peak_load_kw),
        f64_col(py, "aux_delivered_kwh", &rows, |r| r.aux_delivered_kwh),
        opt_f64_col(py, "aux_share_met", &rows, |r| r.aux_share_met),
        f64_col(py, "wear_cny", &rows, |r| r.wear_cny),
        opt_f64_col(py, "worst_voltage_pu", &rows, |r| r.worst_voltage_pu),
        opt_f64_col(py, "peak_transformer_loading_pct", &rows, |r| {
            r.peak_transformer_loading_pct
        }),
    ];
    // The columns are the CSV's, in its order (a new column in the library fails here
    // rather than silently going missing).
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    if names != compare::COLUMNS {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "the comparison's columns {names:?} are not comparison.csv's {:?}",
            compare::COLUMNS
        )));
    }
    Ok(cols)
}

/// Seconds that `v2g::pipeline::run` takes on `fleet` (a path, its grid beside it) with
/// the ledger off and `solver`, measured in Rust, `repeat` times: the reference that
/// `v2g.simulate`'s overhead is measured against.
#[pyfunction]
fn time_library(py: Python<'_>, fleet: PathBuf, solver: &str, repeat: usize) -> PyResult<Vec<f64>> {
    let mut spec = RunSpec::new(fleet);
    spec.overrides.ledger = Some(false);
    spec.overrides.solver = Some(parse_solver(py, solver)?);
    py.detach(|| {
        (0..repeat)
            .map(|_| {
                let t = std::time::Instant::now();
                run(&spec, &mut |_| Ok(())).map(|_| t.elapsed().as_secs_f64())
            })
            .collect::<Result<Vec<f64>, v2g::Error>>()
    })
    .map_err(|e| to_py_err(py, e))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRunOutput>()?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(time_library, m)?)?;
    m.add_function(wrap_pyfunction!(compare_columns, m)?)?;
    Ok(())
}
