//! Provenance: what produced an output folder, recorded as the `run` object of
//! `summary.json` and printed by `v2g report`.
//!
//! It names the program and its version, the command line, every input (its path as the
//! user gave it, its size and SHA-256) and the resolved scenario with its digest
//! ([`Scenario::digest`]): every parameter after defaults, files and flags were merged.
//! Two folders with equal `scenario_sha256` and input hashes came from the same inputs.

use serde::{Deserialize, Serialize};

use crate::data::scenario::Scenario;

/// One input of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// The path as given (or `<memory: NAME>` for a table passed in code).
    pub path: String,
    /// Size in bytes of what was read (for a table passed in code: of its CSV form).
    pub bytes: u64,
    /// SHA-256 of those bytes, lowercase hex.
    pub sha256: String,
}

impl InputFile {
    /// Describes bytes read from `path`.
    pub fn of(path: impl Into<String>, bytes: &[u8]) -> Self {
        InputFile {
            path: path.into(),
            bytes: bytes.len() as u64,
            sha256: crate::data::sha256_hex(bytes),
        }
    }
}

/// The inputs of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The fleet.
    pub fleet: InputFile,
    /// The grid signals; `null` when the run had none (no auxiliary task, the tariff's
    /// prices).
    pub grid: Option<InputFile>,
    /// The scenario file; `null` when none was given (defaults and flags only).
    pub scenario: Option<InputFile>,
    /// The network's case file (docs/model.md §9); absent without a network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<InputFile>,
}

/// The `run` object of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The program: `v2g`.
    pub program: String,
    /// The program's version (`Cargo.toml`'s).
    pub version: String,
    /// The command line (arguments as given; empty for a library call that set none).
    pub command_line: Vec<String>,
    /// The inputs, with their hashes.
    pub inputs: Inputs,
    /// SHA-256 of the resolved scenario's canonical encoding.
    pub scenario_sha256: String,
    /// The resolved scenario: every parameter, the tariff, the workers and their
    /// capacities, the solver, epsilon, the horizon, ledger on or off, the byzantine count.
    pub scenario: Scenario,
}

impl Provenance {
    /// The provenance of a run of this program over `inputs` under `scenario`.
    pub fn new(scenario: &Scenario, inputs: Inputs, command_line: Vec<String>) -> Self {
        Provenance {
            program: "v2g".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            command_line,
            inputs,
            scenario_sha256: scenario.digest(),
            scenario: scenario.clone(),
        }
    }

    /// A few lines for people: version, command line, inputs with their hashes, and the
    /// scenario's main settings with its digest.
    pub fn render(&self) -> String {
        let sc = &self.scenario;
        let file = |f: &InputFile| format!("{} ({} bytes, sha256 {})", f.path, f.bytes, f.sha256);
        let mut o = format!("run       {} {}", self.program, self.version);
        if !self.command_line.is_empty() {
            o += &format!(": {}", self.command_line.join(" "));
        }
        o += &format!("\nfleet     {}\n", file(&self.inputs.fleet));
        o += &match &self.inputs.grid {
            Some(g) => format!("grid      {}\n", file(g)),
            None => "grid      none (no auxiliary task; the tariff's prices)\n".into(),
        };
        if let Some(s) = &self.inputs.scenario {
            o += &format!("scenario  {}\n", file(s));
        }
        if let Some(n) = &self.inputs.network {
            o += &format!("network   {}\n", file(n));
        }
        let available = sc.workers.iter().filter(|w| w.available).count();
        o += &format!(
            "resolved  sha256 {}: solver {}, epsilon {} {}/kWh, {} SCP workers ({} available), \
             {} slots from {}, ledger {}, byzantine {}, seed {}\n",
            self.scenario_sha256,
            sc.solver,
            sc.params.epsilon,
            sc.currency,
            sc.workers.len(),
            available,
            sc.horizon.slots,
            crate::data::time::format_time(sc.horizon.start),
            if sc.ledger { "on" } else { "off" },
            sc.byzantine,
            sc.seed
        );
        o
    }
}
