//! Writing a run's output folder so that it never mixes two runs.
//!
//! A run's files are written into a fresh staging directory beside the output folder
//! (`.NAME.v2g-stage-XXXXXX`), then swapped in whole:
//!
//! * no folder yet: one `rename` of the staging directory to the folder;
//! * a folder already there: on Linux one `renameat2(RENAME_EXCHANGE)` swaps the two
//!   directories atomically, and the old set (now in the staging path) is removed;
//!   elsewhere, or on a file system that cannot exchange, the old folder is renamed aside
//!   first and the new one renamed in (a crash between those two renames leaves the old
//!   set complete beside an absent folder).
//!
//! So on Linux a crash or kill at any moment leaves either the complete old set or the
//! complete new one at the folder's path; a normal failure removes the staging directory.
//! The folder is checked before anything is simulated ([`OutputDir::prepare`]): it must
//! be creatable and writable, and hold nothing but files v2g writes, because the swap
//! replaces it whole. Those are [`OUTPUT_FILES`] and the HTML report that `v2g report DIR
//! --html` adds ([`html::REPORT_FILE`](crate::report::html::REPORT_FILE)); a new run's set
//! has no report, so the swap removes the old run's with the rest.
//!
//! One run at a time writes a folder: [`OutputDir::prepare`] takes the folder's lock, an
//! operating-system lock (`flock`) on the file `.NAME.v2g-lock` beside it
//! ([`OutputLock`]), and holds it until the swap is done; a second run into the same
//! folder is refused at once ([`Error::OutputBusy`]). The operating system releases the
//! lock of a process that dies, so a killed run never blocks the next one. Holding the
//! lock, the next run knows that no run is writing the folder, so the staging folders
//! beside it are leftovers of interrupted runs (a second Ctrl-C, `kill -9`, a crash): it
//! removes them and says so ([`OutputDir::removed`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::grid::GridRow;
use crate::error::{Error, Result};
use crate::report::figures::case_study_figures;
use crate::report::summary::Summary;
use crate::sim::RunResult;

/// Every file name a run may write into its output folder; a folder holding anything
/// else (but the HTML report, [`crate::report::html::is_report_file`]) is not replaced.
pub const OUTPUT_FILES: [&str; 11] = [
    "slots.csv",
    "evs.csv",
    "summary.json",
    "fig3_load_and_aux_demand.svg",
    "fig4_power_and_prices.svg",
    "fig5_revenue_and_costs.svg",
    "ledger.jsonl",
    "genesis.json",
    "network.csv",
    "network_buses.csv",
    "fig6_network.svg",
];

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

    /// The bytes of the file `name`, if the set has it.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// Writes every file into `dir`, replacing whatever output set it held: checks the
    /// folder ([`OutputDir::prepare`]), stages, then swaps ([`OutputDir::commit`]).
    pub fn commit(self, dir: &Path) -> Result<Vec<PathBuf>> {
        OutputDir::prepare(dir)?.commit(self)
    }
}

/// Where an injected fault stops [`OutputDir::commit`] (tests of the swap only: set by
/// the environment variable `V2G_FAULT` in debug builds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// After every file is staged, before the swap: a normal failure.
    BeforeSwap,
    /// Right after the swap, before the old set is removed, like a kill: nothing is
    /// cleaned up.
    KillAfterSwap,
}

fn injected_fault() -> Option<Fault> {
    if !cfg!(debug_assertions) {
        return None;
    }
    match std::env::var("V2G_FAULT").ok()?.as_str() {
        "before-swap" => Some(Fault::BeforeSwap),
        "kill-after-swap" => Some(Fault::KillAfterSwap),
        _ => None,
    }
}

/// The lock of an output folder: an exclusive operating-system lock (`flock`, through
/// `fs4`) on the file `.NAME.v2g-lock` beside the folder `NAME`, held while this value
/// lives. The file holds the holder's process id (for the message of a refused run) and
/// is removed when the lock is released; one left by a killed process is unlocked (the
/// operating system released it) and is simply taken again.
#[derive(Debug)]
pub struct OutputLock {
    file: std::fs::File,
    path: PathBuf,
}

impl OutputLock {
    /// The lock file of the folder `dir`: `.NAME.v2g-lock` beside it.
    pub fn path_of(dir: &Path) -> PathBuf {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        parent_of(dir).join(format!(".{name}.v2g-lock"))
    }

    /// Takes the lock of the folder `dir` (whose parent folder must exist), without
    /// waiting: [`Error::OutputBusy`] when another run holds it.
    pub fn take(dir: &Path) -> Result<Self> {
        use std::io::{Read, Seek};
        let path = Self::path_of(dir);
        // The previous holder removes the file as it lets go: a lock taken on a file that
        // is no longer at the path is let go and taken again on the path's new file.
        for _ in 0..64 {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => {}
                Err(fs4::TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    return Err(Error::OutputBusy {
                        dir: dir.to_path_buf(),
                        lock: path,
                        holder: text.trim().parse().ok(),
                    });
                }
                Err(fs4::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
            if !same_file(&file, &path) {
                continue;
            }
            let pid = std::process::id().to_string();
            file.set_len(0)
                .and_then(|_| file.rewind())
                .and_then(|_| file.write_all(pid.as_bytes()))
                .map_err(|e| Error::io(&path, e))?;
            return Ok(OutputLock { file, path });
        }
        Err(Error::io(
            &path,
            std::io::Error::other("the lock file kept being replaced while it was taken"),
        ))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    /// Removes the lock file while still holding the lock, then lets go (closing the file).
    fn drop(&mut self) {
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether the open `file` is the file at `path` now.
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// The folder holding `dir` (`.` for a bare name).
fn parent_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether `name` is a staging (`.NAME.v2g-stage-XXXXXX`) or set-aside
/// (`.NAME.v2g-old-XXXXXX`) folder of the output folder `NAME` (`tempfile`'s six random
/// characters), and which.
fn leftover_of<'a>(name: &'a str, target: &str) -> Option<(&'a str, Leftover)> {
    let rest = name.strip_prefix('.')?.strip_prefix(target)?;
    let (kind, random) = if let Some(r) = rest.strip_prefix(".v2g-stage-") {
        (Leftover::Stage, r)
    } else if let Some(r) = rest.strip_prefix(".v2g-old-") {
        (Leftover::Old, r)
    } else {
        return None;
    };
    (random.len() == 6 && random.bytes().all(|b| b.is_ascii_alphanumeric())).then_some((name, kind))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Leftover {
    Stage,
    Old,
}

/// Removes what interrupted runs left beside the folder `dir`: its staging folders, and
/// its set-aside folders (`.NAME.v2g-old-*`, whose `old/` holds the previous outputs while
/// two renames replace them where the file system cannot exchange: when the folder itself
/// is missing, that `old/` is put back first). Call it only holding the folder's lock
/// ([`OutputLock`]): then no run is writing any of them. Returns the folders removed.
pub fn remove_stale(dir: &Path) -> Result<Vec<PathBuf>> {
    let Some(target) = dir.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let parent = parent_of(dir);
    let entries = match std::fs::read_dir(&parent) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&parent, e)),
    };
    let mut found: Vec<(PathBuf, Leftover)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((_, kind)) = leftover_of(name, target) {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.push((entry.path(), kind));
            }
        }
    }
    found.sort();
    let mut removed = Vec::new();
    for (path, kind) in found {
        let old = path.join("old");
        if kind == Leftover::Old && std::fs::symlink_metadata(dir).is_err() && old.is_dir() {
            std::fs::rename(&old, dir).map_err(|e| Error::io(dir, e))?;
        }
        std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        removed.push(path);
    }
    Ok(removed)
}

/// The note on stale folders removed: `removed 1 stale staging folder of an interrupted
/// run: PATH`.
pub fn stale_note(removed: &[PathBuf]) -> Option<String> {
    if removed.is_empty() {
        return None;
    }
    let n = removed.len();
    Some(format!(
        "removed {n} stale staging folder{} of an interrupted run: {}",
        if n == 1 { "" } else { "s" },
        removed
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// An output folder checked and ready to receive a run: its lock is held
/// ([`OutputLock`]) and its staging directory exists beside it. Dropping it without
/// [`OutputDir::commit`] removes the staging directory, then lets go of the lock.
#[derive(Debug)]
pub struct OutputDir {
    target: PathBuf,
    stage: tempfile::TempDir,
    streamed: Vec<String>,
    removed: Vec<PathBuf>,
    // Last: dropped after the staging directory is removed.
    lock: OutputLock,
}

impl OutputDir {
    /// Checks that `dir` can take a run's outputs before anything is simulated: its parent
    /// is created if needed and must be writable (the staging directory is created there
    /// now), and `dir`, when it exists, must be a folder holding only [`OUTPUT_FILES`]
    /// and the HTML report. Takes the folder's lock ([`OutputLock`]; [`Error::OutputBusy`]
    /// when another run holds it) and removes the leftovers of interrupted runs
    /// ([`remove_stale`], [`OutputDir::removed`]).
    pub fn prepare(dir: &Path) -> Result<Self> {
        let name = dir
            .file_name()
            .filter(|n| !n.is_empty() && *n != "." && *n != "..")
            .ok_or_else(|| {
                Error::param(
                    "--out",
                    format!("'{}' does not name a folder to replace", dir.display()),
                )
            })?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match std::fs::symlink_metadata(dir) {
            Ok(m) if m.is_dir() => check_only_outputs(dir)?,
            Ok(_) => {
                return Err(Error::param(
                    "--out",
                    format!("'{}' exists and is not a folder", dir.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(dir, e)),
        }
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let lock = OutputLock::take(dir)?;
        let removed = remove_stale(dir)?;
        let stage = tempfile::Builder::new()
            .prefix(&format!(".{}.v2g-stage-", name.to_string_lossy()))
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, e))?;
        Ok(OutputDir {
            target: dir.to_path_buf(),
            stage,
            streamed: Vec::new(),
            removed,
            lock,
        })
    }

    /// The leftovers of interrupted runs removed by [`OutputDir::prepare`] (see
    /// [`stale_note`]).
    pub fn removed(&self) -> &[PathBuf] {
        &self.removed
    }

    /// The folder's lock file, held until the commit is done.
    pub fn lock_path(&self) -> &Path {
        self.lock.path()
    }

    /// A file of the output set to be written while the run goes on (the ledger): its
    /// path in the staging folder, created empty. It is swapped in with the rest by
    /// [`OutputDir::commit`], which syncs it.
    pub fn stream(&mut self, name: &str) -> Result<(StreamFile, PathBuf)> {
        let path = self.stage.path().join(name);
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        self.streamed.push(name.to_string());
        Ok((StreamFile { file, unsynced: 0 }, path))
    }

    /// A file of the output set written in full before [`OutputDir::commit`] (a large
    /// table streamed rather than held in memory): its path in the staging folder,
    /// created empty, unsynced until the commit syncs it with the rest.
    pub fn stage_file(&mut self, name: &str) -> Result<(std::fs::File, PathBuf)> {
        let path = self.stage.path().join(name);
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        self.streamed.push(name.to_string());
        Ok((file, path))
    }

    /// The folder the outputs will replace.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Stages every file (each synced), then swaps the staged folder in for the old one
    /// (module docs). Returns the paths written, in the set's order.
    pub fn commit(self, set: OutputSet) -> Result<Vec<PathBuf>> {
        let fault = injected_fault();
        let stage_path = self.stage.path().to_path_buf();
        // Each file is written and synced on its own thread, so that the disk's waits
        // overlap (on this thread when no thread can be started); the first error in the
        // set's order is reported. A streamed file is already written: it is synced.
        let jobs: Vec<(&str, Option<&[u8]>)> = set
            .files
            .iter()
            .map(|(n, b)| (n.as_str(), Some(b.as_slice())))
            .chain(self.streamed.iter().map(|n| (n.as_str(), None)))
            .collect();
        let job = |(name, bytes): (&str, Option<&[u8]>)| {
            let path = stage_path.join(name);
            match bytes {
                Some(bytes) => write_synced(&path, bytes),
                None => std::fs::File::open(&path)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| Error::io(&path, e)),
            }
        };
        let synced: Vec<Result<()>> = std::thread::scope(|s| {
            let pending: Vec<_> = jobs
                .iter()
                .map(|&j| {
                    std::thread::Builder::new()
                        .spawn_scoped(s, move || job(j))
                        .map_err(|_| j)
                })
                .collect();
            pending
                .into_iter()
                .map(|p| match p {
                    Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                    Err(j) => job(j),
                })
                .collect()
        });
        synced.into_iter().collect::<Result<()>>()?;
        // In the order of OUTPUT_FILES, whichever were streamed (others after, as given).
        let mut order: Vec<&str> = set
            .names()
            .chain(self.streamed.iter().map(String::as_str))
            .collect();
        order.sort_by_key(|n| {
            OUTPUT_FILES
                .iter()
                .position(|f| f == n)
                .unwrap_or(usize::MAX)
        });
        let names: Vec<PathBuf> = order.iter().map(|n| self.target.join(n)).collect();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&stage_path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io(&stage_path, e))?;
        }
        sync_dir(&stage_path)?;
        if fault == Some(Fault::BeforeSwap) {
            return Err(Error::io(
                &self.target,
                std::io::Error::other("injected fault before the swap"),
            ));
        }
        let target = &self.target;
        let exists = std::fs::symlink_metadata(target).is_ok();
        if !exists {
            // Nothing to replace: the staging directory becomes the folder.
            let stage = self.stage.keep();
            std::fs::rename(&stage, target).map_err(|e| {
                let _ = std::fs::remove_dir_all(&stage);
                Error::io(target, e)
            })?;
        } else if exchange(&stage_path, target)? {
            // The staging path now holds the old set.
            if fault == Some(Fault::KillAfterSwap) {
                let _ = self.stage.keep();
                return Err(Error::io(
                    target,
                    std::io::Error::other("injected kill after the swap"),
                ));
            }
            drop(self.stage);
        } else {
            let aside = tempfile::Builder::new()
                .prefix(&format!(
                    ".{}.v2g-old-",
                    target.file_name().unwrap_or_default().to_string_lossy()
                ))
                .tempdir_in(stage_path.parent().unwrap_or(Path::new(".")))
                .map_err(|e| Error::io(target, e))?;
            let old = aside.path().join("old");
            std::fs::rename(target, &old).map_err(|e| Error::io(target, e))?;
            let stage = self.stage.keep();
            if let Err(e) = std::fs::rename(&stage, target) {
                // Put the old set back; the new one is dropped.
                let _ = std::fs::rename(&old, target);
                let _ = std::fs::remove_dir_all(&stage);
                return Err(Error::io(target, e));
            }
            drop(aside);
        }
        if let Some(parent) = stage_path.parent() {
            sync_dir(parent)?;
        }
        Ok(names)
    }
}

/// A file streamed into the staging folder ([`OutputDir::stream`]). Every
/// [`StreamFile::SYNC_EVERY`] bytes it syncs what it holds, so that the disk writes a long
/// run's ledger while the run goes on, and the sync at [`OutputDir::commit`] finds little
/// left to write.
#[derive(Debug)]
pub struct StreamFile {
    file: std::fs::File,
    unsynced: usize,
}

impl StreamFile {
    /// Bytes written between two syncs.
    pub const SYNC_EVERY: usize = 4 << 20;
}

impl Write for StreamFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n;
        if self.unsynced >= Self::SYNC_EVERY {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Refuses a folder holding anything but files a run writes and the HTML report made
/// from them: the swap replaces the folder whole, so anything else in it would be lost.
fn check_only_outputs(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        let ours = OUTPUT_FILES.iter().any(|n| name == *n)
            || crate::report::html::is_report_file(&name.to_string_lossy());
        if !is_file || !ours {
            return Err(Error::param(
                "--out",
                format!(
                    "'{}' holds '{}', which is not a v2g output: a run replaces the whole \
                     folder, so choose a new or empty folder, or one holding only a \
                     previous run's outputs",
                    dir.display(),
                    name.to_string_lossy()
                ),
            ));
        }
    }
    Ok(())
}

/// Swaps two directories atomically (Linux `RENAME_EXCHANGE`). `Ok(false)` where the
/// platform or file system cannot, so the caller falls back to two renames.
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => Ok(true),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => Ok(false),
            Err(e) => Err(Error::io(b, e.into())),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Ok(false)
    }
}

/// Creates `path` and writes `bytes` to it, synced, readable by everyone like an ordinary
/// new file (`rw-r--r--` before the umask).
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Syncs a directory's entries to disk (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes `bytes` to a new temporary file in `dir`, synced, with permissions `mode` before
/// the umask, ready to be renamed into place.
fn stage(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> Result<tempfile::NamedTempFile> {
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), e))?;
    Ok(tmp)
}

fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = stage(dir, &name, bytes, mode)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Writes one file atomically: to a temporary file beside it, then renamed into place,
/// readable by everyone like an ordinary new file (`rw-r--r--` before the umask).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(path, bytes, 0o644)
}

/// [`write_atomic`] for secrets: readable and writable by the owner only (`rw-------`).
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// Serialises records as CSV with a header from their field names.
pub fn to_csv<T: Serialize>(
    rows: impl IntoIterator<Item = T>,
    header_if_empty: &[&str],
) -> Vec<u8> {
    let mut out = Vec::new();
    write_csv(&mut out, rows, header_if_empty).expect("in-memory write");
    out
}

/// [`to_csv`]'s bytes, written to `w` as the rows come (a large table, such as an
/// [`crate::sim::EvTable`]'s rows, is never held in memory whole).
pub fn write_csv<T: Serialize>(
    w: impl Write,
    rows: impl IntoIterator<Item = T>,
    header_if_empty: &[&str],
) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(w);
    let mut empty = true;
    for r in rows {
        w.serialize(r).map_err(std::io::Error::other)?;
        empty = false;
    }
    if empty {
        w.write_record(header_if_empty)?;
    }
    w.flush()
}

/// The columns of `slots.csv` (docs/model.md §8).
pub const SLOT_COLUMNS: [&str; 19] = [
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
    "base_load_kw",
    "wear_cny",
];

/// The columns of `evs.csv` (docs/model.md §8).
pub const EV_COLUMNS: [&str; 18] = [
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
    "target_kwh",
    "target_reachable",
    "target_met",
    "shortfall_kwh",
    "cost_per_kwh_delivered",
    "session_id",
    "wear_cny",
];

/// A run's outputs: `slots.csv`, `evs.csv`, `summary.json` and the three figures of
/// [`figures`](crate::report::figures) (`grid` is the run's grid row per slot, for Fig. 3).
pub fn run_outputs(result: &RunResult, grid: &[GridRow], summary: &Summary) -> Result<OutputSet> {
    let mut set = run_outputs_but_evs(result, grid, summary)?;
    set.add("evs.csv", to_csv(result.evs.iter(), &EV_COLUMNS));
    Ok(set)
}

/// [`run_outputs`] without `evs.csv` (for a caller that streams it, [`write_csv`]).
pub fn run_outputs_but_evs(
    result: &RunResult,
    grid: &[GridRow],
    summary: &Summary,
) -> Result<OutputSet> {
    let mut set = OutputSet::new();
    set.add("slots.csv", to_csv(&result.slots, &SLOT_COLUMNS));
    let mut json = serde_json::to_vec_pretty(summary).expect("summary serialises");
    json.push(b'\n');
    set.add("summary.json", json);
    for (name, svg) in case_study_figures(&result.slots, grid, &summary.currency)? {
        set.add(name, svg.into_bytes());
    }
    Ok(set)
}

/// Reads `summary.json` from a finished run's folder.
pub fn read_summary(dir: &Path) -> Result<Summary> {
    read_json(&dir.join("summary.json"), "summary")
}

/// Reads a JSON file v2g wrote (`what` names it in errors: "not a v2g {what}"), with the
/// line and column of a parse error and only a short excerpt of a bad value.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::input(
            path,
            e.line() as u64,
            e.column() as u64,
            "",
            format!("not a v2g {what}: {}", crate::error::json_message(&e)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_file_syncs_as_it_goes_and_keeps_every_byte() {
        let parent = tempfile::tempdir().unwrap();
        let mut dir = OutputDir::prepare(&parent.path().join("out")).unwrap();
        let (mut file, path) = dir.stream("ledger.jsonl").unwrap();
        let bytes: Vec<u8> = (0..2 * StreamFile::SYNC_EVERY + 5)
            .map(|i| (i % 251) as u8)
            .collect();
        for chunk in bytes.chunks(1 << 20) {
            file.write_all(chunk).unwrap();
            // The count of bytes not yet synced never reaches the period.
            assert!(file.unsynced < StreamFile::SYNC_EVERY);
        }
        // Two periods synced, the rest waits for the commit's sync.
        assert_eq!(file.unsynced, 5);
        file.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        let written = dir.commit(OutputSet::new()).unwrap();
        assert_eq!(written, vec![parent.path().join("out/ledger.jsonl")]);
        assert_eq!(std::fs::read(&written[0]).unwrap(), bytes);
    }

    #[test]
    fn a_folder_being_written_is_refused_until_its_run_lets_go() {
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("out");
        let first = OutputDir::prepare(&out).unwrap();
        let lock = parent.path().join(".out.v2g-lock");
        assert_eq!(first.lock_path(), lock);
        assert_eq!(
            std::fs::read_to_string(&lock).unwrap(),
            std::process::id().to_string()
        );
        // Another open file description of the lock file is another run.
        let e = OutputDir::prepare(&out).unwrap_err();
        assert!(matches!(e, Error::OutputBusy { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "the output folder '{}' is being written by another run, process {} (it \
                 holds the lock {}): wait for that run to end, or choose another output folder",
                out.display(),
                std::process::id(),
                lock.display()
            )
        );
        // Another folder beside it is free.
        let other = OutputDir::prepare(&parent.path().join("out2")).unwrap();
        drop(other);
        // Committed, the lock is let go and its file removed; the next run goes on.
        first.commit(OutputSet::new()).unwrap();
        assert!(!lock.exists());
        let second = OutputDir::prepare(&out).unwrap();
        drop(second);
        // A lock file left by a killed run is not a lock: the OS let go of it.
        std::fs::write(&lock, "999999").unwrap();
        drop(OutputDir::prepare(&out).unwrap());
        let mut left: Vec<_> = std::fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["out"]);
    }

    #[test]
    fn leftovers_of_interrupted_runs_are_removed_by_the_next_run_only_its_own() {
        let parent = tempfile::tempdir().unwrap();
        let p = parent.path();
        for name in [
            ".aa.v2g-stage-AbC123",
            ".aa.v2g-old-x1y2z3",
            ".bb.v2g-stage-AbC123",
            "aa",
            ".aab.v2g-stage-AbC123",
            ".aa.v2g-stage-short",
        ] {
            std::fs::create_dir(p.join(name)).unwrap();
        }
        let dir = OutputDir::prepare(&p.join("aa")).unwrap();
        assert_eq!(
            dir.removed(),
            [p.join(".aa.v2g-old-x1y2z3"), p.join(".aa.v2g-stage-AbC123")]
        );
        assert_eq!(
            stale_note(&dir.removed()[1..]).unwrap(),
            format!(
                "removed 1 stale staging folder of an interrupted run: {}",
                p.join(".aa.v2g-stage-AbC123").display()
            )
        );
        assert!(stale_note(&[]).is_none());
        drop(dir);
        let mut left: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".aa.v2g-stage-short",
                ".aab.v2g-stage-AbC123",
                ".bb.v2g-stage-AbC123",
                "aa"
            ]
        );
        // A folder set aside by a run killed between its two renames is put back.
        let old = p.join(".cc.v2g-old-Q1w2E3");
        std::fs::create_dir_all(old.join("old")).unwrap();
        std::fs::write(old.join("old/summary.json"), "{}").unwrap();
        let dir = OutputDir::prepare(&p.join("cc")).unwrap();
        assert_eq!(dir.removed(), std::slice::from_ref(&old));
        assert_eq!(
            std::fs::read_to_string(p.join("cc/summary.json")).unwrap(),
            "{}"
        );
        assert!(!old.exists());
    }

    #[test]
    fn a_file_that_cannot_be_written_fails_the_commit_and_leaves_nothing() {
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("out");
        let mut set = OutputSet::new();
        set.add("slots.csv", b"t\n0\n".to_vec());
        // No such folder in the staging directory: creating the file fails.
        set.add("no/such/evs.csv", b"x".to_vec());
        set.add("summary.json", b"{}".to_vec());
        let e = OutputDir::prepare(&out)
            .unwrap()
            .commit(set)
            .unwrap_err()
            .to_string();
        assert!(e.contains("evs.csv"), "{e}");
        // No folder swapped in, no staging directory left behind.
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
