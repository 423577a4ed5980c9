//! The `v2g` command-line tool: parses arguments, calls the library, prints.
//! All logic lives in the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use v2g::data::scenario::{equal_workers, Solver};
use v2g::data::time::parse_time;
use v2g::generate::fleet::{generate_fleet, FleetSpec};
use v2g::generate::grid::{generate_grid, GridSpec};
use v2g::ledger::keys::Keyring;
use v2g::ledger::record::simulate_with_ledger;
use v2g::ledger::LedgerConfig;
use v2g::report::output::{read_summary, run_outputs, write_atomic};
use v2g::{default_grid_path, Error, Fleet, GridSignals, Horizon, Run, Scenario, Summary};

/// Vehicle-to-grid research: the blockchain Stackelberg V2G trading scheme, slot by slot.
#[derive(Debug, Parser)]
#[command(name = "v2g", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a fleet through the scheme and write slots.csv, evs.csv and summary.json.
    Simulate(Box<SimulateArgs>),
    /// Reprint the summary of a finished run.
    Report {
        /// The run's output folder (holding summary.json).
        dir: PathBuf,
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
    /// Re-check a ledger (hashes, Merkle roots, every signature, quorums, nonces,
    /// balances, oracle messages, meters, light-client inclusion proofs). Prints OK with
    /// counts, or the first failure and exits 1.
    Verify {
        /// The ledger file (ledger.jsonl in a run's output folder).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum FleetCommand {
    /// Generate a seeded SUSTech-like fleet of buses and private EVs with Table II's rows.
    Generate(FleetGenerateArgs),
}

#[derive(Debug, Subcommand)]
enum GridCommand {
    /// Generate a seeded campus grid day (base load, peak-shaving task).
    Generate(GridGenerateArgs),
}

#[derive(Debug, Args)]
struct FleetGenerateArgs {
    /// Number of sessions, Table II's six included.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    n: usize,
    /// Seed of the random stream.
    #[arg(long, value_name = "S", default_value_t = v2g::generate::SUSTECH_SEED)]
    seed: u64,
    /// Share of buses, in [0, 1].
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.1,
        allow_negative_numbers = true
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
    #[arg(long, value_name = "S", default_value_t = v2g::generate::SUSTECH_SEED)]
    seed: u64,
    /// First slot, YYYY-MM-DDTHH:MM.
    #[arg(long, value_name = "T", default_value = "2021-05-27T07:00")]
    start: String,
    /// Number of 15-minute slots.
    #[arg(long, value_name = "N", default_value_t = 96)]
    slots: usize,
    /// Shaving threshold between the day's lowest (0) and highest (1) load.
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.4,
        allow_negative_numbers = true
    )]
    threshold: f64,
    /// Share of the load above the threshold asked of the EV fleet, in [0, 1].
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.8,
        allow_negative_numbers = true
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
enum SolverArg {
    Grid,
    Exact,
}

#[derive(Debug, Args)]
struct SimulateArgs {
    /// Fleet CSV: ev_id,kind,capacity_kwh,initial_kwh,arrival,departure[,beta][,a][,u_idle].
    #[arg(long, value_name = "FILE")]
    fleet: PathBuf,
    /// Grid-signal CSV: time,base_load_kw,e_limit_kwh[,p_rt]. Default: <fleet stem>_grid.csv
    /// beside the fleet when it exists; otherwise no auxiliary task and the tariff applies.
    #[arg(long, value_name = "FILE")]
    grid: Option<PathBuf>,
    /// Scenario TOML with Table I parameters, horizon, epsilon, workers and seed.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Precision of the discharging-price search, CNY/kWh (default 0.001).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    epsilon: Option<f64>,
    /// Number of SCP workers splitting the price search, of equal capacity (default 8);
    /// independent of the number of CPU threads.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Start of the horizon, YYYY-MM-DDTHH:MM (default 2021-05-27T07:00).
    #[arg(long, value_name = "T")]
    start: Option<String>,
    /// Number of 15-minute slots (default 96).
    #[arg(long, value_name = "N")]
    slots: Option<usize>,
    /// Record the run in the ledger (ledger.jsonl); off for large sweeps (default on).
    #[arg(long, value_name = "on|off")]
    ledger: Option<OnOff>,
    /// Number of byzantine SCPs among the workers (needs workers > 3F; default 0).
    #[arg(long, value_name = "F")]
    byzantine: Option<usize>,
    /// Price search: the paper's epsilon grid, or the exact supremum of the EVA's revenue
    /// over the whole price range (default grid).
    #[arg(long, value_name = "grid|exact")]
    solver: Option<SolverArg>,
    /// Seed of the ledger's keys (default 2021).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Also write every key of the run to this keystore file (JSON).
    #[arg(long, value_name = "FILE")]
    keystore: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("v2g: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Simulate(args) => simulate(*args),
        Command::Report { dir } => {
            let summary = read_summary(&dir)?;
            Ok(print_stdout(&summary.render()))
        }
        Command::Fleet {
            command: FleetCommand::Generate(args),
        } => fleet_generate(args),
        Command::Grid {
            command: GridCommand::Generate(args),
        } => grid_generate(args),
        Command::Verify { file } => {
            let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
            match v2g::ledger::verify(&bytes) {
                Ok(report) => Ok(print_stdout(&format!("{}: {report}\n", file.display()))),
                Err(e) => {
                    eprintln!("v2g: {}: {e}", file.display());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

fn fleet_generate(args: FleetGenerateArgs) -> Result<ExitCode, Error> {
    let day = parse_time(&format!("{}T00:00", args.day))
        .ok_or_else(|| Error::param("--day", format!("'{}' is not YYYY-MM-DD", args.day)))?;
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

fn grid_generate(args: GridGenerateArgs) -> Result<ExitCode, Error> {
    let start = parse_time(&args.start).ok_or_else(|| {
        Error::param(
            "--start",
            format!("'{}' is not YYYY-MM-DDTHH:MM", args.start),
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

fn scenario_from(args: &SimulateArgs) -> Result<Scenario, Error> {
    let mut sc = match &args.scenario {
        Some(p) => Scenario::load(p)?,
        None => Scenario::default(),
    };
    if let Some(e) = args.epsilon {
        sc.params.epsilon = e;
    }
    if let Some(n) = args.workers {
        if n == 0 {
            return Err(Error::param("--workers", "must be at least 1"));
        }
        sc.workers = equal_workers(n);
    }
    if let Some(s) = &args.start {
        sc.horizon.start = parse_time(s)
            .ok_or_else(|| Error::param("--start", format!("'{s}' is not YYYY-MM-DDTHH:MM")))?;
    }
    if let Some(n) = args.slots {
        sc.horizon.slots = n;
    }
    if let Some(l) = args.ledger {
        sc.ledger = l == OnOff::On;
    }
    if let Some(f) = args.byzantine {
        sc.byzantine = f;
    }
    if let Some(s) = args.seed {
        sc.seed = s;
    }
    if let Some(s) = args.solver {
        sc.solver = match s {
            SolverArg::Grid => Solver::Grid,
            SolverArg::Exact => Solver::Exact,
        };
    }
    if args.keystore.is_some() && !sc.ledger {
        return Err(Error::param("--keystore", "needs the ledger on"));
    }
    sc.validate()?;
    Ok(sc)
}

fn grid_from(args: &SimulateArgs) -> Result<Option<GridSignals>, Error> {
    if let Some(g) = &args.grid {
        return GridSignals::load(g).map(Some);
    }
    let beside = default_grid_path(&args.fleet);
    if beside.is_file() {
        eprintln!("v2g: grid signals from {}", beside.display());
        GridSignals::load(&beside).map(Some)
    } else {
        eprintln!(
            "v2g: no grid file ({} not found): no auxiliary task (E_limit = 0), the tariff applies",
            beside.display()
        );
        Ok(None)
    }
}

fn simulate(args: SimulateArgs) -> Result<ExitCode, Error> {
    // Validate everything before simulating anything.
    let scenario = scenario_from(&args)?;
    let fleet = Fleet::load(&args.fleet)?;
    let grid = grid_from(&args)?;
    let run = Run::new(fleet, grid.as_ref(), scenario)?;
    let bar = progress_bar(run.horizon().slots as u64);
    let (result, ledger) = if run.scenario().ledger {
        let config = LedgerConfig {
            byzantine: run.scenario().byzantine,
        };
        let (result, ledger) = simulate_with_ledger(&run, config, || bar.inc(1))?;
        (result, Some(ledger))
    } else {
        (run.simulate(|_| bar.inc(1)), None)
    };
    bar.finish_and_clear();
    let summary = Summary::of(&result);
    let mut outputs = run_outputs(&result, run.grid_rows(), &summary)?;
    if let Some(ledger) = &ledger {
        outputs.add("ledger.jsonl", ledger.to_jsonl());
    }
    if let Some(path) = &args.keystore {
        let ids: Vec<String> = run.fleet().evs().iter().map(|e| e.id.clone()).collect();
        Keyring::derive(run.scenario().seed, &ids, run.scenario().workers.len())
            .to_keystore()
            .save(path)?;
    }
    let written = outputs.commit(&args.out)?;
    let mut text = summary.render();
    text += "\nwrote ";
    text += &names(&written);
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

/// A progress bar on stderr, drawn only when stderr is a terminal.
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} slots {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}
