//! The whole run as one library call: what `v2g simulate` does, for the binary, sweeps
//! and language bindings alike.
//!
//! [`run`] takes a [`RunSpec`] (the inputs as paths or tables in memory, the scenario and
//! its command-line [`Overrides`], the keystore and the output folder) and
//!
//! 1. resolves and validates everything: the scenario (file, then overrides, then every
//!    range of docs/model.md §7), the fleet and grid files (read once, hashed), the paths
//!    (no output or keystore may be an input, no keystore inside the output folder), the
//!    horizon against the grid rows, and the output folder itself (created and writable,
//!    holding nothing but a previous run's outputs, and written by no other run: its lock
//!    is taken and held to the end, and what interrupted runs left beside it is removed)
//!    — all before any slot is simulated;
//! 2. simulates slot by slot, with the ledger when it is on, reporting each slot to the
//!    caller's progress callback, which may stop the run ([`Error::Stopped`]);
//! 3. sums the [`Summary`] with its provenance (the `run` object of `summary.json`);
//! 4. when an output folder was given, writes every output file into a staging folder and
//!    swaps it in whole ([`crate::report::output`]).
//!
//! It never prints and never exits: notes and progress go to the callback, failures come
//! back as [`Error`]s.

use std::path::{Path, PathBuf};

use crate::data::fleet::Fleet;
use crate::data::grid::{GridRow, GridSignals};
use crate::data::scenario::{equal_workers, Scenario, Solver, MAX_WORKERS};
use crate::data::tariff::Period;
use crate::data::time::parse_time;
use crate::error::{Error, Result};
use crate::ledger::block::Commitment;
use crate::ledger::keys::Keyring;
use crate::ledger::record::{simulate_streaming, simulate_with_ledger, LedgerBuilder};
use crate::ledger::Ledger;
use crate::report::output::{OutputDir, OutputSet};
use crate::report::provenance::{InputFile, Inputs, Provenance};
use crate::report::summary::Summary;
use crate::sim::{Run, RunResult};

/// Where the fleet comes from.
#[derive(Debug, Clone)]
pub enum FleetSource {
    /// A fleet CSV file (docs/model.md §6).
    Path(PathBuf),
    /// A fleet built in code; `name` stands for its path in provenance.
    Table {
        /// A name for it in provenance (`<memory: NAME>`).
        name: String,
        /// The fleet.
        fleet: Fleet,
    },
}

/// Where the grid signals come from.
#[derive(Debug, Clone, Default)]
pub enum GridSource {
    /// `<fleet stem>_grid.csv` beside the fleet file when it exists; otherwise none.
    #[default]
    Beside,
    /// A grid-signal CSV file (docs/model.md §6).
    Path(PathBuf),
    /// No grid signals: no auxiliary task (`E_limit = 0`) and the tariff's prices.
    None,
    /// Grid signals built in code; `name` stands for its path in provenance.
    Table {
        /// A name for it in provenance (`<memory: NAME>`).
        name: String,
        /// The signals.
        grid: GridSignals,
    },
}

/// Where the scenario comes from (before [`Overrides`]).
#[derive(Debug, Clone, Default)]
pub enum ScenarioSource {
    /// Table I and the paper's horizon.
    #[default]
    Default,
    /// A scenario TOML file.
    Path(PathBuf),
    /// A scenario built in code.
    Value(Box<Scenario>),
}

/// Overrides of the scenario, as the command line gives them: each set field replaces the
/// scenario's value before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--epsilon X`.
    pub epsilon: Option<f64>,
    /// `--workers N`: `N` workers of equal capacity, 1 to [`MAX_WORKERS`].
    pub workers: Option<usize>,
    /// `--start T`, `YYYY-MM-DDTHH:MM`.
    pub start: Option<String>,
    /// `--slots N`.
    pub slots: Option<usize>,
    /// `--ledger on|off`.
    pub ledger: Option<bool>,
    /// `--byzantine F`.
    pub byzantine: Option<usize>,
    /// `--solver grid|exact`.
    pub solver: Option<Solver>,
    /// `--seed S`.
    pub seed: Option<u64>,
    /// `--policy P` (docs/model.md §10): a policy other than the game turns the ledger
    /// off unless `--ledger on` asks for it (which validation refuses).
    pub policy: Option<crate::policy::Policy>,
}

impl Overrides {
    /// Applies the overrides to `sc`. Refuses a worker count outside `1..=MAX_WORKERS`
    /// before allocating anything, and a start time that does not parse; every other range
    /// is checked by [`Scenario::validate`].
    pub fn apply(&self, sc: &mut Scenario) -> Result<()> {
        if let Some(p) = self.policy {
            sc.policy = p;
            if !p.is_game() {
                sc.ledger = false;
            }
        }
        if let Some(e) = self.epsilon {
            sc.params.epsilon = e;
        }
        if let Some(n) = self.workers {
            if !(1..=MAX_WORKERS).contains(&n) {
                return Err(Error::param(
                    "--workers",
                    format!("{n}: the number of SCP workers must be between 1 and {MAX_WORKERS}"),
                ));
            }
            sc.workers = equal_workers(n);
        }
        if let Some(s) = &self.start {
            sc.horizon.start = parse_time(s).ok_or_else(|| {
                Error::param(
                    "--start",
                    format!("{} is not YYYY-MM-DDTHH:MM", crate::error::excerpt(s)),
                )
            })?;
        }
        if let Some(n) = self.slots {
            sc.horizon.slots = n;
        }
        if let Some(l) = self.ledger {
            sc.ledger = l;
        }
        if let Some(f) = self.byzantine {
            sc.byzantine = f;
        }
        if let Some(s) = self.solver {
            sc.solver = s;
        }
        if let Some(s) = self.seed {
            sc.seed = s;
        }
        Ok(())
    }
}

/// Everything one run needs.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The fleet.
    pub fleet: FleetSource,
    /// The grid signals.
    pub grid: GridSource,
    /// The scenario before overrides.
    pub scenario: ScenarioSource,
    /// Overrides of the scenario (the command line's flags).
    pub overrides: Overrides,
    /// The ledger's keystore (needs the ledger on): its keys are used, and when the file
    /// does not exist it is created with fresh keys (`rw-------`). Without it the keys are
    /// fresh and discarded after the run.
    pub keystore: Option<PathBuf>,
    /// The output folder, replaced whole by the run's outputs; `None` writes nothing.
    pub out: Option<PathBuf>,
    /// The command line, recorded in provenance.
    pub command_line: Vec<String>,
    /// The distribution network (`--network FILE`, docs/model.md §9); `None` takes the
    /// scenario's `network`, if any (relative to the scenario file's folder).
    pub network: Option<PathBuf>,
}

impl RunSpec {
    /// A run of the fleet file `fleet` with the grid file beside it (when there is one),
    /// the default scenario, no overrides and no output folder.
    pub fn new(fleet: impl Into<PathBuf>) -> Self {
        RunSpec::with_fleet(FleetSource::Path(fleet.into()))
    }

    /// A run of `fleet` with the defaults of [`RunSpec::new`].
    pub fn with_fleet(fleet: FleetSource) -> Self {
        RunSpec {
            fleet,
            grid: GridSource::default(),
            scenario: ScenarioSource::default(),
            overrides: Overrides::default(),
            keystore: None,
            out: None,
            command_line: Vec::new(),
            network: None,
        }
    }
}

/// What the pipeline reports to its caller as it goes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Something a user should know (e.g. which grid file was taken).
    Note(&'a str),
    /// Everything is validated; the simulation of `slots` slots over `evs` sessions starts.
    Started {
        /// Slots of the horizon.
        slots: usize,
        /// Sessions of the fleet.
        evs: usize,
    },
    /// A slot is settled (and recorded, with the ledger on).
    Slot {
        /// Slots done so far.
        done: usize,
        /// Slots of the horizon.
        total: usize,
    },
    /// The outputs are being written into this folder.
    Writing(&'a Path),
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Per-slot and per-EV records.
    pub result: RunResult,
    /// `summary.json`, provenance included.
    pub summary: Summary,
    /// The ledger, when it was on and kept in memory (a run with an output folder streams
    /// it into `ledger.jsonl` instead, holding one block at a time: then this is `None`
    /// and [`RunOutput::genesis`] holds its genesis).
    pub ledger: Option<Ledger>,
    /// The ledger's genesis record, when the ledger was on.
    pub genesis: Option<crate::ledger::Genesis>,
    /// The grid row of each slot (for Fig. 3).
    pub grid_rows: Vec<GridRow>,
    /// With a network: every slot's power flow for the scheme and the baseline.
    pub network: Option<crate::report::network::NetworkResult>,
    /// The files written, when an output folder was given.
    pub written: Vec<PathBuf>,
}

impl RunOutput {
    /// Every output file of the run: `slots.csv`, `evs.csv`, `summary.json`, the figures
    /// and, when the ledger was on, `genesis.json` and (when kept in memory)
    /// `ledger.jsonl`.
    pub fn output_set(&self) -> Result<OutputSet> {
        let mut set = self.output_set_but_evs()?;
        set.add(
            "evs.csv",
            crate::report::output::to_csv(
                self.result.evs.iter(),
                &crate::report::output::EV_COLUMNS,
            ),
        );
        Ok(set)
    }

    /// [`Self::output_set`] without `evs.csv`, which [`run`] streams into the folder.
    fn output_set_but_evs(&self) -> Result<OutputSet> {
        let mut set = crate::report::output::run_outputs_but_evs(
            &self.result,
            &self.grid_rows,
            &self.summary,
        )?;
        if let Some(ledger) = &self.ledger {
            set.add("ledger.jsonl", ledger.to_jsonl());
        }
        if let Some(g) = &self.genesis {
            set.add("genesis.json", crate::ledger::store::write_genesis(g));
        }
        if let Some(net) = &self.network {
            use crate::report::network as n;
            use crate::report::output::to_csv;
            set.add("network.csv", n::network_csv(&net.rows));
            set.add("network_buses.csv", to_csv(&net.buses, &n::BUS_COLUMNS));
            set.add(
                "fig6_network.svg",
                n::fig_network(net, net.vmin_limit)?.into_bytes(),
            );
        }
        Ok(set)
    }

    /// Writes the output folder `dir` (replaced whole, as [`run`] does).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        self.output_set()?.commit(dir)
    }

    /// The run's figures, as its folder holds them: Figs. 3–5 and, with a network,
    /// `fig6_network.svg`.
    pub fn figures(&self) -> Result<Vec<crate::report::html::Figure>> {
        use crate::report::html::Figure;
        let mut figures: Vec<Figure> = crate::report::figures::case_study_figures(
            &self.result.slots,
            &self.grid_rows,
            &self.summary.currency,
        )?
        .into_iter()
        .map(|(name, svg)| Figure::new(name, svg))
        .collect();
        if let Some(net) = &self.network {
            let svg = crate::report::network::fig_network(net, net.vmin_limit)?;
            figures.push(Figure::new("fig6_network.svg", svg));
        }
        Ok(figures)
    }

    /// The run's HTML report (docs/model.md §8.4), made in memory: the same bytes as
    /// `v2g report DIR --html` writes for the run's folder.
    pub fn html(&self) -> Result<String> {
        use crate::report::html::{Page, RunPage};
        let page = RunPage {
            summary: self.summary.clone(),
            figures: self.figures()?,
        };
        Ok(Page::Run(Box::new(page)).render())
    }
}

/// An input read once: its bytes described for provenance.
struct Loaded<T> {
    value: T,
    file: InputFile,
    path: Option<PathBuf>,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn load_fleet(src: &FleetSource) -> Result<Loaded<Fleet>> {
    Ok(match src {
        FleetSource::Path(p) => {
            let bytes = read(p)?;
            Loaded {
                value: Fleet::from_reader(bytes.as_slice(), p)?,
                file: InputFile::of(p.display().to_string(), &bytes),
                path: Some(p.clone()),
            }
        }
        FleetSource::Table { name, fleet } => Loaded {
            file: InputFile::of(format!("<memory: {name}>"), fleet.to_csv().as_bytes()),
            value: fleet.clone(),
            path: None,
        },
    })
}

fn load_grid(
    src: &GridSource,
    fleet: &FleetSource,
    progress: &mut dyn FnMut(Event<'_>) -> Result<()>,
) -> Result<Option<Loaded<GridSignals>>> {
    let from_file = |p: &Path| -> Result<Loaded<GridSignals>> {
        let bytes = read(p)?;
        Ok(Loaded {
            value: GridSignals::from_reader(bytes.as_slice(), p)?,
            file: InputFile::of(p.display().to_string(), &bytes),
            path: Some(p.to_path_buf()),
        })
    };
    match src {
        GridSource::Path(p) => from_file(p).map(Some),
        GridSource::None => Ok(None),
        GridSource::Table { name, grid } => Ok(Some(Loaded {
            file: InputFile::of(format!("<memory: {name}>"), grid.to_csv().as_bytes()),
            value: grid.clone(),
            path: None,
        })),
        GridSource::Beside => {
            let FleetSource::Path(f) = fleet else {
                progress(Event::Note(
                    "no grid signals: no auxiliary task (E_limit = 0), the tariff applies",
                ))?;
                return Ok(None);
            };
            let beside = crate::default_grid_path(f);
            if beside.is_file() {
                progress(Event::Note(&format!(
                    "grid signals from {}",
                    beside.display()
                )))?;
                from_file(&beside).map(Some)
            } else {
                progress(Event::Note(&format!(
                    "no grid file ({} not found): no auxiliary task (E_limit = 0), the tariff applies",
                    beside.display()
                )))?;
                Ok(None)
            }
        }
    }
}

fn resolve_scenario(spec: &RunSpec) -> Result<(Scenario, Option<InputFile>)> {
    let (mut sc, file) = match &spec.scenario {
        ScenarioSource::Default => (Scenario::default(), None),
        ScenarioSource::Value(sc) => (sc.as_ref().clone(), None),
        ScenarioSource::Path(p) => {
            let bytes = read(p)?;
            let text = String::from_utf8(bytes.clone())
                .map_err(|_| Error::input(p, 0, 0, "", "the file is not valid UTF-8"))?;
            (
                Scenario::from_toml(&text, p)?,
                Some(InputFile::of(p.display().to_string(), &bytes)),
            )
        }
    };
    spec.overrides.apply(&mut sc)?;
    sc.validate()?;
    if spec.keystore.is_some() && !sc.ledger {
        return Err(Error::param("--keystore", "needs the ledger on"));
    }
    Ok((sc, file))
}

/// The run's network file: `--network`, else the scenario's `network` (relative to the
/// scenario file's folder when the scenario came from a file).
fn network_path(spec: &RunSpec, sc: &Scenario) -> Option<PathBuf> {
    if let Some(p) = &spec.network {
        return Some(p.clone());
    }
    let given = PathBuf::from(sc.network.as_ref()?);
    Some(match &spec.scenario {
        ScenarioSource::Path(file) if given.is_relative() => file
            .parent()
            .map_or_else(|| given.clone(), |dir| dir.join(&given)),
        _ => given,
    })
}

/// Reads and checks the network and its sites (docs/model.md §9): the case file, the
/// scenario's sites against it. A network needs at least one site.
fn load_network(path: &Path, sc: &Scenario) -> Result<(crate::network::Study, InputFile)> {
    let bytes = read(path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::input(path, 0, 0, "", "the file is not valid UTF-8"))?;
    if sc.sites.is_empty() {
        return Err(Error::param(
            "sites",
            format!(
                "the network {} needs charging sites: add [[sites]] with name, bus and \
                 transformer_kva to the scenario (docs/model.md §9.2)",
                path.display()
            ),
        ));
    }
    let case = crate::network::matpower::parse_str(text, path)?;
    let study = crate::network::Study::new(case, &sc.sites)?;
    Ok((study, InputFile::of(path.display().to_string(), &bytes)))
}

/// A path made absolute without requiring it to exist: the longest existing ancestor is
/// canonicalised (links resolved) and the rest appended.
fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(c) = at.canonicalize() {
            return rest
                .iter()
                .rev()
                .fold(c, |acc: PathBuf, part| acc.join(part));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return abs,
        }
    }
}

/// Refuses an output file (`--out` of the commands that write one file, such as
/// `v2g fleet import`) that is one of the command's inputs, links resolved: writing it
/// would destroy the input it was made from.
pub fn check_output_file(out: &Path, inputs: &[&Path]) -> Result<()> {
    check_output("--out", out, inputs)
}

/// [`check_output_file`] for an output file given by the flag `flag`.
pub fn check_output(flag: &str, out: &Path, inputs: &[&Path]) -> Result<()> {
    let o = absolute(out);
    match inputs.iter().find(|p| absolute(p) == o) {
        Some(given) => Err(Error::param(
            flag,
            format!(
                "'{}' is the input '{}': writing it would destroy the input",
                out.display(),
                given.display()
            ),
        )),
        None => Ok(()),
    }
}

/// Refuses an output folder or keystore that would overwrite or swallow an input, and a
/// keystore inside the output folder (which the swap replaces whole).
fn check_paths(inputs: &[&Path], out: Option<&Path>, keystore: Option<&Path>) -> Result<()> {
    let inputs: Vec<(PathBuf, &Path)> = inputs.iter().map(|p| (absolute(p), *p)).collect();
    if let Some(out) = out {
        let o = absolute(out);
        for (abs, given) in &inputs {
            if abs == &o || abs.starts_with(&o) {
                return Err(Error::param(
                    "--out",
                    format!(
                        "the output folder '{}' {} the input '{}': a run replaces the folder whole",
                        out.display(),
                        if abs == &o { "is" } else { "holds" },
                        given.display()
                    ),
                ));
            }
        }
    }
    if let Some(ks) = keystore {
        let k = absolute(ks);
        for (abs, given) in &inputs {
            if abs == &k {
                return Err(Error::param(
                    "--keystore",
                    format!("'{}' is the input '{}'", ks.display(), given.display()),
                ));
            }
        }
        if let Some(out) = out {
            if k.starts_with(absolute(out)) {
                return Err(Error::param(
                    "--keystore",
                    format!(
                        "'{}' is inside the output folder '{}', which each run replaces whole",
                        ks.display(),
                        out.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Runs the whole pipeline (module docs). `progress` sees notes, the start, every slot and
/// the writing of the outputs; an error it returns ([`Error::Stopped`]) ends the run with
/// nothing written.
pub fn run(spec: &RunSpec, progress: &mut dyn FnMut(Event<'_>) -> Result<()>) -> Result<RunOutput> {
    // 1. Validate everything before simulating anything.
    let (scenario, scenario_file) = resolve_scenario(spec)?;
    let fleet = load_fleet(&spec.fleet)?;
    let grid = load_grid(&spec.grid, &spec.fleet, progress)?;
    let network_file = network_path(spec, &scenario);
    let mut network = network_file
        .as_deref()
        .map(|p| load_network(p, &scenario))
        .transpose()?;
    let mut input_paths: Vec<&Path> = Vec::new();
    if let Some(p) = &network_file {
        input_paths.push(p);
    }
    if let Some(p) = &fleet.path {
        input_paths.push(p);
    }
    if let Some(p) = grid.as_ref().and_then(|g| g.path.as_ref()) {
        input_paths.push(p);
    }
    if let ScenarioSource::Path(p) = &spec.scenario {
        input_paths.push(p);
    }
    check_paths(&input_paths, spec.out.as_deref(), spec.keystore.as_deref())?;
    let inputs = Inputs {
        fleet: fleet.file,
        grid: grid.as_ref().map(|g| g.file.clone()),
        scenario: scenario_file,
        network: network.as_ref().map(|(_, f)| f.clone()),
    };
    let run = Run::new(fleet.value, grid.as_ref().map(|g| &g.value), scenario)?;
    run.require_sessions()?;
    if let Some(note) = run.grid_worst_case_note() {
        progress(Event::Note(&note))?;
    }
    let mut out_dir = spec.out.as_deref().map(OutputDir::prepare).transpose()?;
    if let Some(note) = out_dir
        .as_ref()
        .and_then(|d| crate::report::output::stale_note(d.removed()))
    {
        progress(Event::Note(&note))?;
    }
    // The ledger's keys: the keystore's (created with fresh keys when absent), or fresh
    // ones that live only as long as the run.
    let builder = if run.scenario().ledger {
        let ids: Vec<String> = run.fleet().evs().iter().map(|e| e.id.clone()).collect();
        let n = run.scenario().workers.len();
        let ring = match &spec.keystore {
            Some(path) => Keyring::load_or_create(path, &ids, n)?,
            None => Keyring::generate(&ids, n)?,
        };
        let commitment = Commitment {
            fleet_sha256: inputs.fleet.sha256.clone(),
            grid_sha256: inputs.grid.as_ref().map(|g| g.sha256.clone()),
            scenario_sha256: run.scenario().digest(),
            scenario: run.scenario().clone(),
            network_sha256: inputs.network.as_ref().map(|n| n.sha256.clone()),
        };
        Some(LedgerBuilder::new(&run, ring, commitment)?)
    } else {
        None
    };

    // 2. Simulate.
    let total = run.horizon().slots;
    progress(Event::Started {
        slots: total,
        evs: run.fleet().len(),
    })?;
    let mut optimal = None;
    let mut observe = |o: &crate::sim::SlotOutcome<'_>| {
        progress(Event::Slot {
            done: o.record.slot + 1,
            total,
        })
    };
    let (result, ledger, genesis) = match (builder, out_dir.as_mut()) {
        // With an output folder the ledger is streamed into it: one block in memory.
        (Some(builder), Some(dir)) => {
            let (file, path) = dir.stream("ledger.jsonl")?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
            let (result, genesis) = simulate_streaming(&run, builder, &mut w, &path, &mut observe)?;
            (result, None, Some(genesis))
        }
        (Some(builder), None) => {
            let (result, ledger) = simulate_with_ledger(&run, builder, &mut observe)?;
            let genesis = ledger.genesis.clone();
            (result, Some(ledger), Some(genesis))
        }
        (None, _) => {
            let policy = run.scenario().policy;
            if policy == crate::policy::Policy::Optimal {
                progress(Event::Note(
                    "policy optimal: solving the day's linear program (docs/model.md §10.2)",
                ))?;
            }
            let (result, notes) = crate::policy::simulate(&run, policy, &mut |t| {
                progress(Event::Slot { done: t + 1, total })
            })?;
            optimal = notes.optimal;
            (result, None, None)
        }
    };

    // 3. Summary and provenance.
    let h = run.horizon();
    let tariff = &run.scenario().params.tariff;
    let periods: Vec<Period> = (0..h.slots)
        .map(|t| tariff.period_at(h.slot_start(t)))
        .collect();
    let mut summary = Summary::of(&result, &periods);
    summary.currency = run.scenario().currency.clone();
    summary.policy = run.scenario().policy;
    summary.optimal = optimal;
    // The network's flows, for the scheme and the baseline.
    let network = match network.as_mut() {
        None => None,
        Some((study, _)) => {
            let sc = run.scenario();
            let sites = &sc.sites;
            let baseline = crate::baseline::site_energy(
                run.fleet(),
                h,
                sc.params.e0_kwh,
                sc.params.charge_efficiency,
                run.site_of(),
                sites.len(),
            );
            let times: Vec<String> = result.slots.iter().map(|s| s.time.clone()).collect();
            let base: Vec<Option<f64>> = run
                .grid_rows()
                .iter()
                .map(|r| grid.as_ref().map(|_| r.base_load_kw))
                .collect();
            let net = crate::report::network::flows(
                study,
                sites,
                &times,
                &base,
                sc.network_load_scale,
                &result.site_kwh,
                &baseline,
                &result.curtailed,
            )?;
            summary.network = Some(net.summary.clone());
            Some(net)
        }
    };
    summary.run = Some(Provenance::new(
        run.scenario(),
        inputs,
        spec.command_line.clone(),
    ));
    let mut output = RunOutput {
        result,
        summary,
        ledger,
        genesis,
        grid_rows: run.grid_rows().to_vec(),
        network,
        written: Vec::new(),
    };

    // 4. Write.
    if let Some(mut dir) = out_dir {
        progress(Event::Writing(dir.path()))?;
        // The per-EV table goes straight to its file: a million EVs' rows (86 MB) are
        // not held in memory beside their records.
        let (file, path) = dir.stage_file("evs.csv")?;
        crate::report::output::write_csv(
            std::io::BufWriter::with_capacity(1 << 20, file),
            output.result.evs.iter(),
            &crate::report::output::EV_COLUMNS,
        )
        .map_err(|e| Error::io(&path, e))?;
        let set = output.output_set_but_evs()?;
        output.written = dir.commit(set)?;
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_bound_the_worker_count_before_allocating() {
        let mut sc = Scenario::default();
        for n in [0, MAX_WORKERS + 1, 1_000_000_000, usize::MAX] {
            let o = Overrides {
                workers: Some(n),
                ..Overrides::default()
            };
            let e = o.apply(&mut sc).unwrap_err().to_string();
            assert!(
                e.contains("--workers") && e.contains("between 1 and 1024"),
                "{e}"
            );
        }
        let o = Overrides {
            workers: Some(MAX_WORKERS),
            ..Overrides::default()
        };
        o.apply(&mut sc).unwrap();
        assert_eq!(sc.workers.len(), MAX_WORKERS);
    }

    #[test]
    fn overrides_replace_each_key() {
        let mut sc = Scenario::default();
        let o = Overrides {
            epsilon: Some(0.01),
            workers: Some(3),
            start: Some("2021-05-27T16:00".into()),
            slots: Some(8),
            ledger: Some(false),
            byzantine: Some(0),
            solver: Some(Solver::Exact),
            seed: Some(7),
            policy: None,
        };
        o.apply(&mut sc).unwrap();
        assert_eq!(sc.params.epsilon, 0.01);
        assert_eq!(sc.workers.len(), 3);
        assert_eq!(sc.horizon.start, parse_time("2021-05-27T16:00").unwrap());
        assert_eq!(sc.horizon.slots, 8);
        assert!(!sc.ledger);
        assert_eq!(sc.solver, Solver::Exact);
        assert_eq!(sc.seed, 7);
        let bad = Overrides {
            start: Some("tomorrow".into()),
            ..Overrides::default()
        };
        assert!(bad
            .apply(&mut sc)
            .unwrap_err()
            .to_string()
            .contains("--start"));
    }

    #[test]
    fn an_output_file_that_is_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("sessions.csv");
        std::fs::write(&input, "x").unwrap();
        check_output_file(&dir.path().join("fleet.csv"), &[&input]).unwrap();
        check_output_file(&dir.path().join("new/fleet.csv"), &[&input]).unwrap();
        for same in [input.clone(), dir.path().join(".").join("sessions.csv")] {
            let e = check_output_file(&same, &[&dir.path().join("other"), &input])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("--out") && e.contains("destroy the input"),
                "{e}"
            );
        }
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            assert!(check_output_file(&link, &[&input]).is_err());
        }
    }

    #[test]
    fn paths_that_would_lose_an_input_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fleet = dir.path().join("fleet.csv");
        std::fs::write(&fleet, "x").unwrap();
        let out = dir.path().join("out");
        check_paths(&[&fleet], Some(&out), Some(&dir.path().join("keys.json"))).unwrap();
        // The output folder is the input, or holds it.
        assert!(check_paths(&[&fleet], Some(&fleet), None).is_err());
        assert!(check_paths(&[&fleet], Some(dir.path()), None).is_err());
        // The keystore is an input (also through another spelling of the path).
        let other = dir.path().join(".").join("fleet.csv");
        assert!(check_paths(&[&fleet], Some(&out), Some(&other)).is_err());
        // The keystore inside the output folder.
        let e = check_paths(&[&fleet], Some(&out), Some(&out.join("keys.json"))).unwrap_err();
        assert!(e.to_string().contains("inside the output folder"), "{e}");
    }

    #[test]
    fn an_empty_fleet_runs_reports_and_writes_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = RunSpec::with_fleet(FleetSource::Table {
            name: "empty".into(),
            fleet: Fleet::new(vec![]).unwrap(),
        });
        spec.grid = GridSource::None;
        spec.overrides.slots = Some(3);
        spec.out = Some(dir.path().join("out"));
        let out = run(&spec, &mut |_| Ok(())).unwrap();
        assert_eq!(out.result.slots.len(), 3);
        assert!(out.result.slots.iter().all(|s| s.n_plugged == 0));
        assert_eq!(out.summary.evs.n_evs, 0);
        assert_eq!(out.written.len(), 8, "{:?}", out.written);
        let run = out.summary.run.as_ref().unwrap();
        assert_eq!(run.inputs.fleet.path, "<memory: empty>");
        assert!(run.inputs.grid.is_none());
    }

    #[test]
    fn the_grid_beside_the_fleet_is_found_progress_counts_and_write_writes() {
        let mut spec = RunSpec::new("data/example.csv");
        spec.overrides.ledger = Some(false);
        spec.overrides.slots = Some(4);
        let mut done = Vec::new();
        let mut notes = Vec::new();
        let out = run(&spec, &mut |e| {
            match e {
                Event::Slot { done: d, total } => done.push((d, total)),
                Event::Note(n) => notes.push(n.to_string()),
                _ => {}
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(done, vec![(1, 4), (2, 4), (3, 4), (4, 4)]);
        assert!(notes[0].contains("example_grid.csv"), "{notes:?}");
        let grid = out
            .summary
            .run
            .as_ref()
            .unwrap()
            .inputs
            .grid
            .as_ref()
            .unwrap();
        assert_eq!(grid.path, "data/example_grid.csv");
        let dir = tempfile::tempdir().unwrap();
        let written = out.write(&dir.path().join("out")).unwrap();
        assert_eq!(written.len(), 6);
        assert!(written.iter().all(|p| p.is_file()), "{written:?}");
    }

    #[test]
    fn a_keystore_needs_the_ledger_on() {
        let mut spec = RunSpec::new("data/example.csv");
        spec.overrides.ledger = Some(false);
        spec.keystore = Some("keys.json".into());
        let e = run(&spec, &mut |_| Ok(())).unwrap_err().to_string();
        assert!(e.contains("--keystore") && e.contains("ledger on"), "{e}");
    }

    #[test]
    fn a_stopping_callback_stops_the_run() {
        let mut spec = RunSpec::new("data/example.csv");
        spec.overrides.ledger = Some(false);
        let mut seen = 0;
        let e = run(&spec, &mut |ev| {
            if let Event::Slot { done, .. } = ev {
                seen = done;
                if done == 3 {
                    return Err(Error::Stopped);
                }
            }
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(e, Error::Stopped));
        assert_eq!(seen, 3);
    }
}
