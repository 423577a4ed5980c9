//! `v2g._v2g`: the extension module under the Python package `v2g`.
//!
//! A thin layer over the core crate: every computation is the library's own
//! (`v2g::pipeline::run`, `v2g::game`, `v2g::ledger::audit`, `v2g::generate`). This crate
//! only converts: Python values in, columns out, and the library's typed errors into the
//! package's exception classes (`v2g.InputError`, …, defined in `v2g/_errors.py`). Inputs
//! are validated before any computation, so nothing panics across the boundary.
//!
//! Columns leave as `bytes` holding native-endian `f64`/`i64` values (one copy out of the
//! Rust vectors); the Python layer views them with `numpy.frombuffer` and wraps them in
//! `pyarrow` arrays without copying again.

#![forbid(unsafe_code)]

use pyo3::exceptions::{
    PyBlockingIOError, PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

mod env;
mod game;
mod run;
mod tools;

/// A Python exception of the package (`v2g._errors.NAME`) with `msg`.
pub(crate) fn package_error(py: Python<'_>, name: &str, msg: String) -> PyErr {
    let class = py.import("v2g._errors").and_then(|m| m.getattr(name));
    match class {
        Ok(c) => match c.call1((msg.clone(),)) {
            Ok(v) => PyErr::from_value(v),
            Err(e) => e,
        },
        Err(_) => PyValueError::new_err(msg),
    }
}

/// The library's error as the package's exception: input and parameter errors are
/// `v2g.InputError` (a `ValueError`) with the same located message the CLI prints after
/// `v2g: error: `; files that cannot be read are `FileNotFoundError` / `OSError`; an output
/// folder another run is writing is `BlockingIOError` (an `OSError`); a failed ledger
/// check is `v2g.LedgerError`; an optimum that could not be solved (`--policy optimal`)
/// is `v2g.OptimumError` (a `RuntimeError`).
pub(crate) fn to_py_err(py: Python<'_>, e: v2g::Error) -> PyErr {
    let msg = e.to_string();
    match e {
        v2g::Error::Input { .. } | v2g::Error::Parameter { .. } => {
            package_error(py, "InputError", msg)
        }
        v2g::Error::Io { source, .. } => {
            if source.kind() == std::io::ErrorKind::NotFound {
                PyFileNotFoundError::new_err(msg)
            } else {
                PyOSError::new_err(msg)
            }
        }
        v2g::Error::OutputBusy { .. } => PyBlockingIOError::new_err(msg),
        v2g::Error::Ledger(_) => package_error(py, "LedgerError", msg),
        v2g::Error::Optimum { .. } => package_error(py, "OptimumError", msg),
        v2g::Error::Stopped => package_error(py, "Stopped", msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// A Python value as a TOML value (for `Scenario::set`): bool, int, float, str, and lists
/// and dicts of them.
pub(crate) fn to_toml(key: &str, v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    let py = v.py();
    if v.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        return match v.extract::<i64>() {
            Ok(i) => Ok(toml::Value::Integer(i)),
            Err(_) => Err(package_error(
                py,
                "InputError",
                format!("invalid parameter {key}: the integer does not fit in 64 bits"),
            )),
        };
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(v.extract()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(v.extract()?));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, x) in d.iter() {
            let k: String = k.extract()?;
            let sub = to_toml(&format!("{key}.{k}"), &x)?;
            t.insert(k, sub);
        }
        return Ok(toml::Value::Table(t));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for x in v.try_iter()? {
            out.push(to_toml(key, &x?)?);
        }
        return Ok(toml::Value::Array(out));
    }
    // NumPy scalars and the like: an integer when they have `__index__`, else a float
    // when they convert to one.
    if v.hasattr("__index__")? {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(toml::Value::Integer(i));
        }
    }
    if let Ok(f) = v.extract::<f64>() {
        return Ok(toml::Value::Float(f));
    }
    Err(package_error(
        py,
        "InputError",
        format!(
            "invalid parameter {key}: a scenario value is a bool, int, float, str, list or dict, not {}",
            v.get_type().name()?
        ),
    ))
}

/// Native-endian bytes of `f64` values.
pub(crate) fn f64_bytes<'py>(py: Python<'py>, v: impl Iterator<Item = f64>) -> Bound<'py, PyBytes> {
    let mut b = Vec::with_capacity(v.size_hint().0 * 8);
    for x in v {
        b.extend_from_slice(&x.to_ne_bytes());
    }
    PyBytes::new(py, &b)
}

/// Native-endian bytes of `i64` values.
pub(crate) fn i64_bytes<'py>(py: Python<'py>, v: impl Iterator<Item = i64>) -> Bound<'py, PyBytes> {
    let mut b = Vec::with_capacity(v.size_hint().0 * 8);
    for x in v {
        b.extend_from_slice(&x.to_ne_bytes());
    }
    PyBytes::new(py, &b)
}

/// `f64` values from native-endian bytes (what `numpy.ndarray.tobytes()` gives for
/// `float64`).
pub(crate) fn f64s_of(py: Python<'_>, what: &str, b: &[u8]) -> PyResult<Vec<f64>> {
    if b.len() % 8 != 0 {
        return Err(package_error(
            py,
            "InputError",
            format!(
                "{what}: {} bytes are not a whole number of float64 values",
                b.len()
            ),
        ));
    }
    Ok(b.chunks_exact(8)
        .map(|c| f64::from_ne_bytes(c.try_into().expect("chunks of 8")))
        .collect())
}

/// Seconds since 1970-01-01T00:00 of a naive date-time (the Python layer makes them
/// `timestamp[s]` columns).
pub(crate) fn epoch_seconds(t: chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

/// The case study's fleet file, shipped inside the module so that `PricingEnv()` and
/// `v2g.case_study()` work from an installed package.
const SUSTECH_FLEET: &str = include_str!("../../data/sustech.csv");
/// The case study's grid-signal file.
const SUSTECH_GRID: &str = include_str!("../../data/sustech_grid.csv");

/// `(fleet_csv, grid_csv)`: the shipped case study's files, as text.
#[pyfunction]
fn case_study_csv() -> (&'static str, &'static str) {
    (SUSTECH_FLEET, SUSTECH_GRID)
}

#[pymodule]
fn _v2g(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(case_study_csv, m)?)?;
    run::register(m)?;
    tools::register(m)?;
    game::register(m)?;
    env::register(m)?;
    Ok(())
}
