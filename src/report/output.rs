//! Writing a run's outputs atomically: every file is first written to a temporary file in
//! the output folder, and only when all are written are they renamed into place, so a
//! failed run never leaves half a result.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::grid::GridRow;
use crate::error::{Error, Result};
use crate::report::figures::case_study_figures;
use crate::report::summary::Summary;
use crate::sim::RunResult;

/// A set of files to write together.
#[derive(Debug, Default)]
pub struct OutputSet {
    files: Vec<(String, Vec<u8>)>,
}

impl OutputSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file (name relative to the output folder).
    pub fn add(&mut self, name: impl Into<String>, bytes: Vec<u8>) {
        self.files.push((name.into(), bytes));
    }

    /// Names of the files in the set.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(n, _)| n.as_str())
    }

    /// Writes every file into `dir` (created if needed): all to temporary files first,
    /// then each renamed into place.
    pub fn commit(self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut staged = Vec::with_capacity(self.files.len());
        for (name, bytes) in self.files {
            let tmp = stage(dir, &name, &bytes)?;
            staged.push((tmp, dir.join(name)));
        }
        let mut out = Vec::with_capacity(staged.len());
        for (tmp, path) in staged {
            tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
            out.push(path);
        }
        Ok(out)
    }
}

/// Writes `bytes` to a new temporary file in `dir`, synced, readable by everyone like an
/// ordinary new file (`rw-r--r--` before the umask), ready to be renamed into place.
fn stage(dir: &Path, name: &str, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), e))?;
    Ok(tmp)
}

/// Writes one file atomically: to a temporary file beside it, then renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = stage(dir, &name, bytes)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Serialises records as CSV with a header from their field names.
pub fn to_csv<T: Serialize>(rows: &[T], header_if_empty: &[&str]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        w.write_record(header_if_empty).expect("in-memory write");
    }
    for r in rows {
        w.serialize(r).expect("records serialise to CSV");
    }
    w.into_inner().expect("in-memory flush")
}

/// The columns of `slots.csv` (MODEL.md section 7).
pub const SLOT_COLUMNS: [&str; 17] = [
    "slot",
    "time",
    "p_rt",
    "p_c",
    "p_d",
    "e_limit_kwh",
    "n_plugged",
    "n_charge",
    "n_discharge",
    "n_idle",
    "charge_kwh",
    "discharge_kwh",
    "r_service",
    "r_grid",
    "c_v2g",
    "c_limit",
    "revenue",
];

/// The columns of `evs.csv` (MODEL.md section 7).
pub const EV_COLUMNS: [&str; 11] = [
    "ev_id",
    "kind",
    "arrival",
    "departure",
    "initial_kwh",
    "final_kwh",
    "paid_cny",
    "received_cny",
    "net_cost_cny",
    "baseline_final_kwh",
    "baseline_cost_cny",
];

/// A run's outputs: `slots.csv`, `evs.csv`, `summary.json` and the three figures of
/// [`figures`](crate::report::figures) (`grid` is the run's grid row per slot, for Fig. 3).
pub fn run_outputs(result: &RunResult, grid: &[GridRow], summary: &Summary) -> Result<OutputSet> {
    let mut set = OutputSet::new();
    set.add("slots.csv", to_csv(&result.slots, &SLOT_COLUMNS));
    set.add("evs.csv", to_csv(&result.evs, &EV_COLUMNS));
    let mut json = serde_json::to_vec_pretty(summary).expect("summary serialises");
    json.push(b'\n');
    set.add("summary.json", json);
    for (name, svg) in case_study_figures(&result.slots, grid)? {
        set.add(name, svg.into_bytes());
    }
    Ok(set)
}

/// Reads `summary.json` from a finished run's folder.
pub fn read_summary(dir: &Path) -> Result<Summary> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::input(
            &path,
            e.line() as u64,
            e.column() as u64,
            "",
            format!("not a v2g summary: {e}"),
        )
    })
}
