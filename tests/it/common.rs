//! Helpers: a temporary directory and a command builder for the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate's root (where `data/` and `tests/data/` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `tests/data/`.
pub fn test_data(name: &str) -> PathBuf {
    root().join("tests").join("data").join(name)
}

/// A fresh temporary directory, removed when dropped.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// `v2g` with arguments, run to completion.
pub fn v2g<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_v2g"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("v2g runs")
}

/// `v2g` with arguments, run to completion, but killed (and the test failed) when it
/// runs longer than `limit`, so that a hang fails instead of stalling the test run.
pub fn v2g_within<I, S>(args: I, limit: std::time::Duration) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_v2g"));
    cmd.args(args).current_dir(root());
    output_within(cmd, limit)
}

/// Runs `cmd` to completion, but kills it (and fails the test) when it runs longer than
/// `limit`, so that a hang fails instead of stalling the test run.
pub fn output_within(mut cmd: Command, limit: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let name = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
    // Drain both pipes on threads so that a chatty child never blocks on a full pipe.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).expect("read the child's output");
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} ran longer than {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "v2g failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Reads a CSV file into its header and rows of fields.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("csv opens");
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Writes a file into a directory and returns its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// `v2g simulate` with arguments and `--out OUT`, run to completion.
pub fn simulate(extra: &[&str], out: &Path) -> Output {
    let mut args: Vec<std::ffi::OsString> = vec!["simulate".into()];
    args.extend(extra.iter().map(Into::into));
    args.push("--out".into());
    args.push(out.into());
    v2g(args)
}

/// The files of a run's output folder with the ledger off, sorted.
pub const RUN_FILES: [&str; 6] = [
    "evs.csv",
    "fig3_load_and_aux_demand.svg",
    "fig4_power_and_prices.svg",
    "fig5_revenue_and_costs.svg",
    "slots.csv",
    "summary.json",
];

/// A run folder's `summary.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// The names in a folder, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A number from a CSV cell.
pub fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
}
