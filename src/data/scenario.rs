//! Scenario: every Table I parameter, the horizon, epsilon and the SCP workers
//! (MODEL.md section 2), from a TOML file whose every key is optional.
//!
//! ```toml
//! seed = 2021
//! ledger = "on"          # "off" skips the trust layer (large sweeps)
//! byzantine = 0          # byzantine SCPs among the workers (needs workers > 3F)
//! solver = "grid"        # "exact": the exact leader solver (crate::game::exact)
//! [horizon]
//! start = "2021-05-27T07:00"
//! slots = 96
//! [params]
//! e0_kwh = 3.75
//! w_service = 0.5
//! w_grid = 0.792
//! p_delay = 0.1
//! u_idle = 0.0
//! beta = 0.16
//! a = -0.01
//! epsilon = 0.001
//! p_d_max = 0.0
//! p_d_min_factor = 3.0   # p_d,min = -3 p_rt
//! delta_factor = 2.0     # delta = 2 p_rt
//! [[workers]]
//! capacity = 2.0
//! [[workers]]
//! capacity = 1.0
//! available = false
//! ```
//!
//! Defaults equal Table I / Table III; the command line overrides the file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::tariff::{Tariff, TariffBand};
use crate::data::time::{format_time, parse_time, Horizon};
use crate::error::{Error, Result};

/// The paper's Table I parameters (with MODEL.md section 2's signs).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// `E0`, kWh moved in one slot at `x = ±1`.
    pub e0_kwh: f64,
    /// `W_service`, CNY/kWh service fee on charging energy (Eq. 4).
    pub w_service: f64,
    /// `W_grid`, CNY/kWh paid by the operator for V2G energy (Eq. 5).
    pub w_grid: f64,
    /// `p_delay`, CNY paid by the EVA to each idle EV per slot (Eq. 6).
    pub p_delay: f64,
    /// Default `U_idle` (Eq. 1) for EVs that do not set their own.
    pub u_idle: f64,
    /// Default `beta_i` (Eq. 2).
    pub beta: f64,
    /// Default `a_i`, CNY/kWh battery degradation coefficient (Eq. 1).
    pub a: f64,
    /// Precision `epsilon` of the discharging-price search, CNY/kWh (Eq. 12).
    pub epsilon: f64,
    /// `p_d,max` (Eq. 11), CNY/kWh.
    pub p_d_max: f64,
    /// `p_d,min = -p_d_min_factor · p_rt` (Table I: 3).
    pub p_d_min_factor: f64,
    /// `delta = delta_factor · p_rt` (Table I: 2), CNY/kWh (Eq. 7).
    pub delta_factor: f64,
    /// The tariff giving `p_rt` where the grid file has no `p_rt` column.
    pub tariff: Tariff,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            e0_kwh: 3.75,
            w_service: 0.5,
            w_grid: 0.792,
            p_delay: 0.1,
            u_idle: 0.0,
            beta: 0.16,
            a: -0.01,
            epsilon: 0.001,
            p_d_max: 0.0,
            p_d_min_factor: 3.0,
            delta_factor: 2.0,
            tariff: Tariff::shenzhen(),
        }
    }
}

impl Params {
    /// Checks every parameter's domain (MODEL.md section 2 and Eq. 11).
    pub fn validate(&self) -> Result<()> {
        let checks: [(&str, f64, bool, &str); 11] = [
            ("e0_kwh", self.e0_kwh, self.e0_kwh > 0.0, "must be > 0"),
            (
                "w_service",
                self.w_service,
                self.w_service >= 0.0,
                "must be >= 0",
            ),
            ("w_grid", self.w_grid, self.w_grid >= 0.0, "must be >= 0"),
            (
                "p_delay",
                self.p_delay,
                self.p_delay >= 0.0,
                "must be >= 0 (Eq. 11)",
            ),
            ("u_idle", self.u_idle, self.u_idle >= 0.0, "must be >= 0"),
            ("beta", self.beta, self.beta > 0.0, "must be > 0"),
            ("a", self.a, self.a <= 0.0, "must be <= 0"),
            ("epsilon", self.epsilon, self.epsilon > 0.0, "must be > 0"),
            (
                "p_d_max",
                self.p_d_max,
                self.p_d_max <= 0.0,
                "must be <= 0 (Eq. 11)",
            ),
            (
                "p_d_min_factor",
                self.p_d_min_factor,
                self.p_d_min_factor >= 0.0,
                "must be >= 0",
            ),
            (
                "delta_factor",
                self.delta_factor,
                self.delta_factor >= 0.0,
                "must be >= 0",
            ),
        ];
        for (name, v, ok, rule) in checks {
            if !v.is_finite() {
                return Err(Error::param(name, format!("{v} is not a finite number")));
            }
            if !ok {
                return Err(Error::param(name, format!("{v}: {rule}")));
            }
        }
        Ok(())
    }
}

/// One smart charging point taking part in the price search (step 4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Worker {
    /// Relative computing capacity: the share of candidates it gets is proportional to it.
    pub capacity: f64,
    /// An unavailable worker gets no sub-range.
    #[serde(default = "yes")]
    pub available: bool,
}

fn yes() -> bool {
    true
}

/// Default number of SCP workers.
pub const DEFAULT_WORKERS: usize = 8;

/// `n` available workers of equal capacity.
pub fn equal_workers(n: usize) -> Vec<Worker> {
    vec![
        Worker {
            capacity: 1.0,
            available: true,
        };
        n
    ]
}

/// Checks that at least one worker is available and every capacity is finite and > 0.
pub fn validate_workers(workers: &[Worker]) -> Result<()> {
    for (i, w) in workers.iter().enumerate() {
        if !(w.capacity.is_finite() && w.capacity > 0.0) {
            return Err(Error::param(
                format!("workers[{i}].capacity"),
                format!("{}: must be finite and > 0", w.capacity),
            ));
        }
    }
    if !workers.iter().any(|w| w.available) {
        return Err(Error::param(
            "workers",
            "at least one worker must be available",
        ));
    }
    Ok(())
}

/// Everything a run needs besides the fleet and the grid signals.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The simulated horizon.
    pub horizon: Horizon,
    /// Table I parameters.
    pub params: Params,
    /// The SCP workers of the price search.
    pub workers: Vec<Worker>,
    /// Seed for everything random or derived (ledger keys, generators).
    pub seed: u64,
    /// Whether the run records the ledger (`ledger = "on"` / `"off"`).
    pub ledger: bool,
    /// Number of byzantine SCPs `F` in the ledger's consensus (needs `workers > 3F`).
    pub byzantine: usize,
    /// How the EVA searches the discharging price.
    pub solver: Solver,
}

/// The leader's price search (`solver = "grid"` or `"exact"` in a scenario file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// The paper's epsilon grid (Eq. 12), [`crate::game::search`]: the default.
    #[default]
    Grid,
    /// The exact supremum of `R` over the whole price range, [`crate::game::exact`].
    Exact,
}

impl Solver {
    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Solver::Grid => "grid",
            Solver::Exact => "exact",
        }
    }
}

/// `"on"` / `"off"` in a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum OnOff {
    On,
    Off,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            horizon: Horizon::paper(),
            params: Params::default(),
            workers: equal_workers(DEFAULT_WORKERS),
            seed: 2021,
            ledger: true,
            byzantine: 0,
            solver: Solver::Grid,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHorizon {
    start: Option<String>,
    slots: Option<usize>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParams {
    e0_kwh: Option<f64>,
    w_service: Option<f64>,
    w_grid: Option<f64>,
    p_delay: Option<f64>,
    u_idle: Option<f64>,
    beta: Option<f64>,
    a: Option<f64>,
    epsilon: Option<f64>,
    p_d_max: Option<f64>,
    p_d_min_factor: Option<f64>,
    delta_factor: Option<f64>,
    tariff: Option<Vec<TariffBand>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    seed: Option<u64>,
    ledger: Option<OnOff>,
    byzantine: Option<usize>,
    solver: Option<Solver>,
    horizon: Option<RawHorizon>,
    params: Option<RawParams>,
    workers: Option<Vec<Worker>>,
}

impl Scenario {
    /// Reads a scenario file; keys it does not set keep their defaults.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// Parses a scenario from TOML text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            Error::input(path, line, col, "", e.message().to_string())
        })?;
        let mut sc = Scenario::default();
        if let Some(seed) = raw.seed {
            sc.seed = seed;
        }
        if let Some(l) = raw.ledger {
            sc.ledger = l == OnOff::On;
        }
        if let Some(f) = raw.byzantine {
            sc.byzantine = f;
        }
        if let Some(s) = raw.solver {
            sc.solver = s;
        }
        if let Some(h) = raw.horizon {
            if let Some(s) = h.start {
                sc.horizon.start = parse_time(&s).ok_or_else(|| {
                    Error::param("horizon.start", format!("'{s}' is not YYYY-MM-DDTHH:MM"))
                })?;
            }
            if let Some(n) = h.slots {
                sc.horizon.slots = n;
            }
        }
        if let Some(p) = raw.params {
            let d = &mut sc.params;
            let set = |dst: &mut f64, v: Option<f64>| {
                if let Some(v) = v {
                    *dst = v;
                }
            };
            set(&mut d.e0_kwh, p.e0_kwh);
            set(&mut d.w_service, p.w_service);
            set(&mut d.w_grid, p.w_grid);
            set(&mut d.p_delay, p.p_delay);
            set(&mut d.u_idle, p.u_idle);
            set(&mut d.beta, p.beta);
            set(&mut d.a, p.a);
            set(&mut d.epsilon, p.epsilon);
            set(&mut d.p_d_max, p.p_d_max);
            set(&mut d.p_d_min_factor, p.p_d_min_factor);
            set(&mut d.delta_factor, p.delta_factor);
            if let Some(bands) = p.tariff {
                d.tariff = Tariff::from_bands(&bands)?;
            }
        }
        if let Some(w) = raw.workers {
            sc.workers = w;
        }
        Ok(sc)
    }

    /// Checks every parameter (call after command-line overrides).
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        validate_workers(&self.workers)?;
        if self.ledger {
            crate::ledger::consensus::check_byzantine(self.workers.len(), self.byzantine)?;
        }
        if self.horizon.slots == 0 {
            return Err(Error::param("slots", "the horizon needs at least one slot"));
        }
        if self.horizon.slots > 366 * 96 {
            return Err(Error::param("slots", "at most one year (35,136 slots)"));
        }
        Ok(())
    }

    /// The scenario as TOML (every key written), e.g. to record a run's settings.
    pub fn to_toml(&self) -> String {
        let p = &self.params;
        let raw = RawScenario {
            seed: Some(self.seed),
            ledger: Some(if self.ledger { OnOff::On } else { OnOff::Off }),
            byzantine: Some(self.byzantine),
            solver: Some(self.solver),
            horizon: Some(RawHorizon {
                start: Some(format_time(self.horizon.start)),
                slots: Some(self.horizon.slots),
            }),
            params: Some(RawParams {
                e0_kwh: Some(p.e0_kwh),
                w_service: Some(p.w_service),
                w_grid: Some(p.w_grid),
                p_delay: Some(p.p_delay),
                u_idle: Some(p.u_idle),
                beta: Some(p.beta),
                a: Some(p.a),
                epsilon: Some(p.epsilon),
                p_d_max: Some(p.p_d_max),
                p_d_min_factor: Some(p.p_d_min_factor),
                delta_factor: Some(p.delta_factor),
                tariff: Some(p.tariff.bands()),
            }),
            workers: Some(self.workers.clone()),
        };
        toml::to_string(&raw).expect("scenario serialises")
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_table_i() {
        let sc = Scenario::from_toml("", Path::new("s.toml")).unwrap();
        assert_eq!(sc, Scenario::default());
        sc.validate().unwrap();
    }

    #[test]
    fn round_trip() {
        let mut sc = Scenario::default();
        sc.params.epsilon = 0.01;
        sc.workers[2].available = false;
        sc.ledger = false;
        sc.byzantine = 2;
        sc.solver = Solver::Exact;
        let back = Scenario::from_toml(&sc.to_toml(), Path::new("s.toml")).unwrap();
        assert_eq!(back, sc);
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let err = Scenario::from_toml("[params]\nbeta = 0.2\nbetta = 1\n", Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.toml:3:1"), "{err}");
        assert!(err.contains("betta"), "{err}");
    }

    #[test]
    fn ledger_keys_and_the_byzantine_bound() {
        let sc =
            Scenario::from_toml("ledger = \"off\"\nbyzantine = 5\n", Path::new("s.toml")).unwrap();
        assert!(!sc.ledger);
        assert_eq!(sc.byzantine, 5);
        // Off, the bound does not apply; on, 8 workers allow at most 2.
        sc.validate().unwrap();
        let on = Scenario { ledger: true, ..sc };
        assert!(on.validate().unwrap_err().to_string().contains("n > 3F"));
        let two = Scenario { byzantine: 2, ..on };
        two.validate().unwrap();
        assert!(Scenario::from_toml("ledger = \"maybe\"\n", Path::new("s.toml")).is_err());
    }

    #[test]
    fn solver_key() {
        let sc = Scenario::from_toml("solver = \"exact\"\n", Path::new("s.toml")).unwrap();
        assert_eq!(sc.solver, Solver::Exact);
        assert_eq!(Scenario::default().solver, Solver::Grid);
        let err = Scenario::from_toml("\nsolver = \"newton\"\n", Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.toml:2:10"), "{err}");
        assert!(err.contains("grid") && err.contains("exact"), "{err}");
    }

    #[test]
    fn domains_are_checked() {
        let mut sc = Scenario::default();
        sc.params.a = 0.5;
        assert!(sc.validate().unwrap_err().to_string().contains("a"));
        let sc = Scenario {
            workers: vec![Worker {
                capacity: 1.0,
                available: false,
            }],
            ..Scenario::default()
        };
        assert!(sc.validate().is_err());
    }
}
