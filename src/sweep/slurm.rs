//! Running a sweep on a Slurm cluster: a job array whose task `I` runs shard `I` of `N`
//! (`v2g sweep SPEC --out DIR --shard I/N`), and a merge job (`v2g sweep merge DIR`) that
//! starts when every task has succeeded (`--dependency=afterok`).
//!
//! [`write_scripts`] plans the sweep's folder (`sweep.json`, so that the merge knows every
//! point whatever the shards do) and writes `DIR/slurm/sweep.sbatch` and
//! `DIR/slurm/merge.sbatch` (logs in `DIR/slurm/logs/`); [`submit`] submits both with
//! `sbatch --parsable`. Paths in the scripts are absolute, so they run from any working
//! directory; the program is this one (or the one given) and must be reachable from the
//! cluster's nodes, like the spec, the inputs and `DIR` (a shared file system).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::sweep::plan::{InputFlags, Plan};
use crate::sweep::{prepare_dir, write_json};

/// The most tasks of a job array written by default (Slurm's default `MaxArraySize` is
/// 1001, array indices 0 to 1000).
pub const DEFAULT_MAX_TASKS: usize = 1000;

/// How to write the job array.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmOptions {
    /// The `v2g` program the jobs run (absolute, or made so).
    pub v2g: PathBuf,
    /// Tasks of the array, one shard each; `None`: one per point, at most
    /// [`DEFAULT_MAX_TASKS`].
    pub tasks: Option<usize>,
    /// At most this many tasks run at once (`--array=0-(N-1)%M`).
    pub array_limit: Option<usize>,
    /// CPUs of each task (`--cpus-per-task`), which run that many points at once.
    pub cpus_per_task: usize,
    /// More `#SBATCH` options for both jobs (e.g. `--partition=short`, `--time=01:00:00`).
    pub sbatch_options: Vec<String>,
    /// `--fleet` and `--grid`, passed on to every task.
    pub flags: InputFlags,
}

impl SlurmOptions {
    /// Running `v2g` as found at `v2g`, one shard per point, one CPU each.
    pub fn new(v2g: impl Into<PathBuf>) -> Self {
        SlurmOptions {
            v2g: v2g.into(),
            tasks: None,
            array_limit: None,
            cpus_per_task: 1,
            sbatch_options: Vec::new(),
            flags: InputFlags::default(),
        }
    }
}

/// The scripts written.
#[derive(Debug, Clone, PartialEq)]
pub struct Scripts {
    /// The job array's script.
    pub array: PathBuf,
    /// The merge job's script.
    pub merge: PathBuf,
    /// Tasks of the array.
    pub tasks: usize,
}

/// `s` quoted for a POSIX shell.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn abs(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(p, e))
}

/// `p` as a string for a script: absolute and printable on one line.
fn script_path(p: &Path, what: &str) -> Result<String> {
    let a = abs(p)?;
    let s = a
        .to_str()
        .ok_or_else(|| Error::param(what, format!("'{}' is not valid UTF-8", a.display())))?;
    if s.contains(['\n', '\r', '"']) {
        return Err(Error::param(
            what,
            format!(
                "{}: a path in a Slurm script may not hold a line break or a double quote",
                crate::error::excerpt(s)
            ),
        ));
    }
    Ok(s.to_string())
}

/// The job array's script (module docs).
pub fn array_script(
    plan: &Plan,
    spec: &str,
    dir: &str,
    opts: &SlurmOptions,
    tasks: usize,
) -> Result<String> {
    let v2g = script_path(&opts.v2g, "--v2g")?;
    let mut cmd = format!(
        "exec {} sweep {} --out {} --shard \"$SLURM_ARRAY_TASK_ID/{tasks}\" --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\"",
        sh_quote(&v2g),
        sh_quote(spec),
        sh_quote(dir)
    );
    if let Some(f) = &opts.flags.fleet {
        cmd += &format!(" --fleet {}", sh_quote(&script_path(f, "--fleet")?));
    }
    if let Some(g) = &opts.flags.grid {
        cmd += &format!(" --grid {}", sh_quote(&script_path(g, "--grid")?));
    }
    let limit = opts
        .array_limit
        .map(|m| format!("%{m}"))
        .unwrap_or_default();
    let mut s = String::from("#!/bin/bash\n");
    s += "# A v2g sweep as a Slurm job array: task I runs shard I of the sweep's points.\n";
    s += "# Written by `v2g sweep slurm`, which submits it (--submit) as\n";
    s += "#   jobid=$(sbatch --parsable sweep.sbatch)\n";
    s += "#   sbatch --dependency=afterok:$jobid merge.sbatch\n";
    s += &format!("# spec {spec} (sha256 {})\n", plan.spec_file.sha256);
    s += &format!(
        "# {} points in {tasks} shards; sweep digest {}\n",
        plan.points.len(),
        plan.digest
    );
    s += "#SBATCH --job-name=v2g-sweep\n";
    s += &format!("#SBATCH --array=0-{}{limit}\n", tasks - 1);
    s += "#SBATCH --ntasks=1\n";
    s += &format!("#SBATCH --cpus-per-task={}\n", opts.cpus_per_task);
    s += &format!("#SBATCH --output=\"{dir}/slurm/logs/sweep_%A_%a.out\"\n");
    for o in &opts.sbatch_options {
        s += &format!("#SBATCH {o}\n");
    }
    s += "set -eu\n";
    s += &cmd;
    s.push('\n');
    Ok(s)
}

/// The merge job's script (module docs).
pub fn merge_script(dir: &str, opts: &SlurmOptions) -> Result<String> {
    let v2g = script_path(&opts.v2g, "--v2g")?;
    let mut s = String::from("#!/bin/bash\n");
    s += "# Merges a v2g sweep's shards into sweep.csv and its figures; submitted by\n";
    s += "# `v2g sweep slurm --submit` to start once every task of the array has succeeded.\n";
    s += "#SBATCH --job-name=v2g-sweep-merge\n";
    // When a task fails, `afterok` can never hold: cancel the merge rather than leave it
    // pending for ever.
    s += "#SBATCH --kill-on-invalid-dep=yes\n";
    s += "#SBATCH --ntasks=1\n";
    s += "#SBATCH --cpus-per-task=1\n";
    s += &format!("#SBATCH --output=\"{dir}/slurm/logs/merge_%j.out\"\n");
    for o in &opts.sbatch_options {
        s += &format!("#SBATCH {o}\n");
    }
    s += "set -eu\n";
    s += &format!("exec {} sweep merge {}\n", sh_quote(&v2g), sh_quote(dir));
    Ok(s)
}

/// Prepares the sweep's folder `dir` (its `sweep.json`) and writes the two scripts into
/// `dir/slurm/` (module docs). `spec` is the spec file the tasks read.
pub fn write_scripts(plan: &Plan, spec: &Path, dir: &Path, opts: &SlurmOptions) -> Result<Scripts> {
    for (name, v) in [
        ("--tasks", opts.tasks),
        ("--array-limit", opts.array_limit),
        ("--cpus-per-task", Some(opts.cpus_per_task)),
    ] {
        if v == Some(0) {
            return Err(Error::param(name, "must be at least 1"));
        }
    }
    for o in &opts.sbatch_options {
        if !o.starts_with('-') || o.contains(['\n', '\r']) {
            return Err(Error::param(
                "--sbatch",
                format!(
                    "{}: an sbatch option on one line, such as --partition=short",
                    crate::error::excerpt(o)
                ),
            ));
        }
    }
    let n = plan.points.len();
    let tasks = opts.tasks.unwrap_or(DEFAULT_MAX_TASKS).min(n).max(1);
    let spec_s = script_path(spec, "SPEC")?;
    let dir_s = script_path(dir, "--out")?;
    prepare_dir(dir)?;
    write_json(&dir.join("sweep.json"), &plan.manifest())?;
    let folder = dir.join("slurm");
    let logs = folder.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
    let array = folder.join("sweep.sbatch");
    let merge = folder.join("merge.sbatch");
    crate::report::output::write_atomic(
        &array,
        array_script(plan, &spec_s, &dir_s, opts, tasks)?.as_bytes(),
    )?;
    crate::report::output::write_atomic(&merge, merge_script(&dir_s, opts)?.as_bytes())?;
    Ok(Scripts {
        array,
        merge,
        tasks,
    })
}

/// Runs `sbatch --parsable ARGS SCRIPT` and returns the job id it prints.
fn sbatch(args: &[String], script: &Path) -> Result<String> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| Error::io("sbatch", e))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(Error::param(
            "--submit",
            format!(
                "sbatch {} failed ({}): {}",
                script.display(),
                out.status,
                crate::error::excerpt_message(String::from_utf8_lossy(&out.stderr).trim())
            ),
        ));
    }
    // `--parsable` prints `JOBID` or `JOBID;CLUSTER`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::param(
            "--submit",
            format!(
                "sbatch printed no job id: {}",
                crate::error::excerpt(stdout.trim())
            ),
        ));
    }
    Ok(id)
}

/// Submits the job array, then the merge job depending on it (`afterok`); returns both
/// job ids.
pub fn submit(scripts: &Scripts) -> Result<(String, String)> {
    let array = sbatch(&[], &scripts.array)?;
    let merge = sbatch(&[format!("--dependency=afterok:{array}")], &scripts.merge)?;
    Ok((array, merge))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn paths_in_scripts_are_absolute_and_on_one_line() {
        let p = script_path(Path::new("x/y"), "--out").unwrap();
        assert!(Path::new(&p).is_absolute() && p.ends_with("x/y"), "{p}");
        let e = script_path(Path::new("/a\nb"), "--out").unwrap_err();
        assert!(
            e.to_string().contains("--out") && e.to_string().contains("line break"),
            "{e}"
        );
        assert!(script_path(Path::new("/a\"b"), "--out").is_err());
    }
}
