//! Scenario: every Table I parameter, the horizon, epsilon and the SCP workers
//! (docs/model.md §2), from a TOML file whose every key is optional.
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
//! Defaults equal Table I / Table III; the command line overrides the file
//! ([`crate::pipeline::Overrides`]). Every key and its range: docs/model.md §2 and §7.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::tariff::{Tariff, MAX_PRICE};
use crate::data::time::{format_time, time_rule, Horizon, MAX_TIME};
use crate::error::{excerpt_message, Error, Result};
pub use crate::game::solve::{
    equal_workers, validate_workers, Solver, Worker, DEFAULT_WORKERS, MAX_WORKERS,
};
pub use crate::policy::optimal::Options as OptimalOptions;
pub use crate::policy::wear::Wear;
pub use crate::policy::Policy;

/// The most slots a horizon may have: one leap year of 15-minute slots.
pub const MAX_SLOTS: usize = 366 * 96;

/// The paper's Table I parameters (with the signs of docs/model.md §2). In a scenario
/// file every key is optional and defaults to Table I; docs/model.md §7 gives each range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// `E0`, kWh moved in one slot at `x = ±1`, in `(0, 1000]`.
    pub e0_kwh: f64,
    /// `W_service`, CNY/kWh service fee on charging energy (Eq. 4), in `[0, 100]`.
    pub w_service: f64,
    /// `W_grid`, CNY/kWh paid by the operator for V2G energy (Eq. 5), in `[0, 100]`.
    pub w_grid: f64,
    /// `p_delay`, CNY paid by the EVA to each idle EV per slot (Eq. 6), in `[0, 100]`.
    pub p_delay: f64,
    /// Default `U_idle` (Eq. 1) for EVs that do not set their own, in `[0, 100]`.
    pub u_idle: f64,
    /// Default `beta_i` (Eq. 2), in `(0, 100]`.
    pub beta: f64,
    /// Default `a_i`, CNY/kWh battery degradation coefficient (Eq. 1), in `[-100, 0]`.
    pub a: f64,
    /// Precision `epsilon` of the discharging-price search, CNY/kWh (Eq. 12), in
    /// `[1e-9, 100]`.
    pub epsilon: f64,
    /// `p_d,max` (Eq. 11), CNY/kWh, in `[-100, 0]`.
    pub p_d_max: f64,
    /// `p_d,min = -p_d_min_factor · p_rt` (Table I: 3), in `[0, 100]`.
    pub p_d_min_factor: f64,
    /// `delta = delta_factor · p_rt` (Table I: 2), CNY/kWh (Eq. 7), in `[0, 100]`.
    pub delta_factor: f64,
    /// The tariff giving `p_rt` (and each slot's period) where the grid file has no
    /// `p_rt` column.
    pub tariff: Tariff,
    /// Smallest trade, kWh: an EV whose best charge or discharge moves less
    /// (`E0·|x| < min_trade_kwh`) stays idle (docs/model.md §3), in `[0, e0_kwh]`. 0, the
    /// default, is the paper's continuous model (and is left out of the scenario's
    /// canonical encoding, so digests of scenarios without it do not change).
    #[serde(skip_serializing_if = "is_zero")]
    pub min_trade_kwh: f64,
    /// Default departure target as a share of capacity for EVs whose fleet row has no
    /// `target_kwh`: the EV must leave with at least `min_departure_soc · capacity_kwh`
    /// (docs/model.md §3), in `[0, 1]`. 0, the default, sets no target.
    #[serde(skip_serializing_if = "is_zero")]
    pub min_departure_soc: f64,
    /// Charging efficiency `η_c`: the battery gains `η_c·E` for `E` drawn at the meter
    /// (docs/model.md §3.2), in `(0.5, 1]`; 1, the default, is lossless (and left out of
    /// the canonical encoding).
    #[serde(skip_serializing_if = "is_one")]
    pub charge_efficiency: f64,
    /// Discharging efficiency `η_d`: the battery loses `E/η_d` for `E` delivered at the
    /// meter (docs/model.md §3.2), in `(0.5, 1]`; 1, the default, is lossless.
    #[serde(skip_serializing_if = "is_one")]
    pub discharge_efficiency: f64,
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

/// Scenario keys left out of the encoding at their default value (so that the digests of
/// scenarios that do not use them stay as they were); [`Scenario::set`] still knows them.
pub(crate) const OMITTED_AT_DEFAULT: [&str; 11] = [
    "params.min_trade_kwh",
    "params.min_departure_soc",
    "params.charge_efficiency",
    "params.discharge_efficiency",
    "network",
    "network_load_scale",
    "sites",
    "currency",
    "policy",
    "wear",
    "optimal",
];

fn is_zero(v: &f64) -> bool {
    *v == 0.0
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
            min_trade_kwh: 0.0,
            min_departure_soc: 0.0,
            charge_efficiency: 1.0,
            discharge_efficiency: 1.0,
        }
    }
}

/// A closed or half-open range of a parameter (docs/model.md §7).
#[derive(Debug, Clone, Copy)]
struct Range {
    lo: f64,
    lo_open: bool,
    hi: f64,
}

impl Range {
    const fn closed(lo: f64, hi: f64) -> Self {
        Range {
            lo,
            lo_open: false,
            hi,
        }
    }
    const fn open_lo(lo: f64, hi: f64) -> Self {
        Range {
            lo,
            lo_open: true,
            hi,
        }
    }
    fn contains(self, v: f64) -> bool {
        v.is_finite() && v <= self.hi && (v > self.lo || (!self.lo_open && v == self.lo))
    }
    fn describe(self) -> String {
        format!(
            "must be in {}{}, {}]",
            if self.lo_open { "(" } else { "[" },
            self.lo,
            self.hi
        )
    }
}

impl Params {
    /// Each parameter's name and value with its range (docs/model.md §7).
    fn ranges(&self) -> [(&'static str, f64, Range); 15] {
        let money = Range::closed(0.0, MAX_PRICE);
        [
            ("e0_kwh", self.e0_kwh, Range::open_lo(0.0, 1000.0)),
            ("w_service", self.w_service, money),
            ("w_grid", self.w_grid, money),
            ("p_delay", self.p_delay, money),
            ("u_idle", self.u_idle, money),
            ("beta", self.beta, Range::open_lo(0.0, 100.0)),
            ("a", self.a, Range::closed(-100.0, 0.0)),
            ("epsilon", self.epsilon, Range::closed(1e-9, 100.0)),
            ("p_d_max", self.p_d_max, Range::closed(-MAX_PRICE, 0.0)),
            ("p_d_min_factor", self.p_d_min_factor, money),
            ("delta_factor", self.delta_factor, money),
            (
                "min_trade_kwh",
                self.min_trade_kwh,
                Range::closed(0.0, self.e0_kwh),
            ),
            (
                "min_departure_soc",
                self.min_departure_soc,
                Range::closed(0.0, 1.0),
            ),
            (
                "charge_efficiency",
                self.charge_efficiency,
                Range::open_lo(0.5, 1.0),
            ),
            (
                "discharge_efficiency",
                self.discharge_efficiency,
                Range::open_lo(0.5, 1.0),
            ),
        ]
    }

    /// One slot's prices and constants (step 3's oracle data) for real-time price `p_rt`
    /// and auxiliary task `e_limit_kwh`: `p_c = p_rt + W_service`,
    /// `p_d,min = −p_d_min_factor·p_rt`, `delta = delta_factor·p_rt` (docs/model.md §2).
    /// The slot loop ([`crate::sim::Run::prices`]) and the Python binding's one-slot game
    /// both build their games from it.
    pub fn slot_prices(&self, p_rt: f64, e_limit_kwh: f64) -> crate::game::leader::SlotPrices {
        crate::game::leader::SlotPrices {
            p_rt,
            p_c: p_rt + self.w_service,
            p_d_max: self.p_d_max,
            p_d_min: -self.p_d_min_factor * p_rt,
            delta: self.delta_factor * p_rt,
            e_limit_kwh,
            e0_kwh: self.e0_kwh,
            w_service: self.w_service,
            w_grid: self.w_grid,
            p_delay: self.p_delay,
            eta_c: self.charge_efficiency,
            eta_d: self.discharge_efficiency,
        }
    }

    /// Checks every parameter's range (docs/model.md §2 and §7, Eq. 11); the error names
    /// the parameter as a scenario file spells it (`params.beta`).
    pub fn validate(&self) -> Result<()> {
        for (name, v, range) in self.ranges() {
            if !range.contains(v) {
                return Err(Error::param(
                    format!("params.{name}"),
                    format!("{v}: {}", range.describe()),
                ));
            }
        }
        Ok(())
    }
}

/// Everything a run needs besides the fleet and the grid signals: the resolved scenario
/// of docs/model.md §2. A scenario file is this struct in TOML, every key optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Seed for everything random or derived (ledger keys, generators).
    pub seed: u64,
    /// Whether the run records the ledger (`ledger = "on"` / `"off"`).
    #[serde(with = "on_off")]
    pub ledger: bool,
    /// Number of byzantine SCPs `F` in the ledger's consensus (needs the ledger on and
    /// `workers > 3F`).
    pub byzantine: usize,
    /// How the EVA searches the discharging price.
    pub solver: Solver,
    /// The simulated horizon.
    pub horizon: Horizon,
    /// Table I parameters.
    pub params: Params,
    /// The SCP workers of the price search.
    pub workers: Vec<Worker>,
    /// The distribution network: a MATPOWER case file (docs/model.md §9), relative to the
    /// scenario file's folder (`--network FILE`: to the working directory). Not part of
    /// the canonical encoding: a run's identity holds the file's SHA-256 instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Multiplies the grid file's base load (or, without one, the case's own loads)
    /// before it is spread over the network's buses, in `(0, 1000]` (docs/model.md §9.1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub network_load_scale: f64,
    /// The charging sites (docs/model.md §9.2): where sessions plug in, and their
    /// transformers' limits, which bind the price game.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<crate::network::Site>,
    /// The currency of every price and amount of the run: an ISO 4217 code, three capital
    /// letters (docs/model.md §2). It names the unit in printed tables, figure labels and
    /// reports; nothing is converted, so the tariff, `W_service`, `W_grid`, `p_delay`,
    /// `a`, `epsilon` and `p_d,max` must all be given in it. Default `"CNY"`, the paper's
    /// (left out of the canonical encoding at its default).
    #[serde(default = "cny", skip_serializing_if = "is_cny")]
    pub currency: String,
    /// How the EVs' energy is scheduled (docs/model.md §10): the paper's `stackelberg`
    /// game (the default, left out of the canonical encoding), `uncoordinated`, `edf`,
    /// `llf` or `optimal`. A policy other than the game takes no solver, workers,
    /// byzantine SCPs, `epsilon` or ledger; setting it turns the ledger off.
    #[serde(default, skip_serializing_if = "Policy::is_default")]
    pub policy: Policy,
    /// Battery wear (docs/model.md §10.3), reported for every policy and minimised by
    /// `optimal` (left out of the canonical encoding at its defaults).
    #[serde(default, skip_serializing_if = "Wear::is_default")]
    pub wear: Wear,
    /// Options of the `optimal` policy (docs/model.md §10.2; left out of the canonical
    /// encoding at their defaults).
    #[serde(default, skip_serializing_if = "OptimalOptions::is_default")]
    pub optimal: OptimalOptions,
}

fn one() -> f64 {
    1.0
}

/// The paper's currency, the default of [`Scenario::currency`].
pub const DEFAULT_CURRENCY: &str = "CNY";

fn cny() -> String {
    DEFAULT_CURRENCY.to_string()
}

fn is_cny(c: &String) -> bool {
    c == DEFAULT_CURRENCY
}

/// Whether `code` has the shape of an ISO 4217 currency code: three ASCII capital letters.
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// `ledger = "on"` / `"off"` in files.
mod on_off {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum OnOff {
        On,
        Off,
    }

    pub fn serialize<S: Serializer>(on: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *on { "on" } else { "off" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(matches!(OnOff::deserialize(d)?, OnOff::On))
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            seed: 2021,
            ledger: true,
            byzantine: 0,
            solver: Solver::Grid,
            horizon: Horizon::paper(),
            params: Params::default(),
            workers: equal_workers(DEFAULT_WORKERS),
            network: None,
            network_load_scale: 1.0,
            sites: Vec::new(),
            currency: cny(),
            policy: Policy::Stackelberg,
            wear: Wear::default(),
            optimal: OptimalOptions::default(),
        }
    }
}

impl Scenario {
    /// Reads a scenario file; keys it does not set keep their defaults.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// Parses a scenario from TOML text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let mut sc: Scenario = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            Error::input(path, line, col, "", excerpt_message(e.message().trim_end()))
        })?;
        // The ledger records the price game: a policy without one has it off unless the
        // file asks for it (which validation then refuses, naming the policy).
        if !sc.policy.is_game() {
            let asked = text
                .parse::<toml::Table>()
                .map(|t| t.contains_key("ledger"))
                .unwrap_or(false);
            if !asked {
                sc.ledger = false;
            }
        }
        Ok(sc)
    }

    /// Sets one scenario key by its dotted name as a scenario file spells it
    /// (`"params.w_grid"`, `"solver"`, `"horizon.slots"`, `"workers"`), with the value's
    /// type checked as when reading a file. Sweeps and bindings use this; ranges are
    /// checked by [`Scenario::validate`].
    pub fn set(&mut self, key: &str, value: toml::Value) -> Result<()> {
        let unserialisable = |e: toml::ser::Error| {
            Error::param(key, format!("the scenario does not serialise: {e}"))
        };
        let mut doc = toml::Value::try_from(&*self).map_err(unserialisable)?;
        // Tables left out at their defaults are set inside like any other.
        if let Some(table) = doc.as_table_mut() {
            if !table.contains_key("wear") {
                let wear = toml::Value::try_from(self.wear).map_err(unserialisable)?;
                table.insert("wear".into(), wear);
            }
            if !table.contains_key("optimal") {
                let optimal = toml::Value::try_from(self.optimal).map_err(unserialisable)?;
                table.insert("optimal".into(), optimal);
            }
        }
        let was_game = self.policy.is_game();
        let mut parts = key.split('.').peekable();
        let mut at = &mut doc;
        while let Some(part) = parts.next() {
            // An array's element by its index: `sites.0.transformer_kva`.
            if at.is_array() {
                let array = at.as_array_mut().expect("an array");
                let len = array.len();
                let slot = part
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| array.get_mut(i))
                    .ok_or_else(|| {
                        Error::param(key, format!("'{part}' is not an index of a list of {len}"))
                    })?;
                if parts.peek().is_none() {
                    *slot = value;
                    break;
                }
                at = slot;
                continue;
            }
            let table = at
                .as_table_mut()
                .ok_or_else(|| Error::param(key, format!("'{part}' is not inside a table")))?;
            if parts.peek().is_none()
                && !table.contains_key(part)
                && OMITTED_AT_DEFAULT.contains(&key)
            {
                // A key left out of the encoding at its default (Params::min_trade_kwh).
                table.insert(part.to_string(), value);
                break;
            }
            let slot = table
                .get_mut(part)
                .ok_or_else(|| Error::param(key, "no such scenario key"))?;
            if parts.peek().is_none() {
                *slot = value;
                break;
            }
            at = slot;
        }
        *self = doc.try_into().map_err(|e: toml::de::Error| {
            Error::param(key, excerpt_message(e.message().trim_end()))
        })?;
        // Choosing a policy without the price game turns the ledger off (docs/model.md
        // §10); asking for the ledger afterwards is refused by validation.
        if key == "policy" && was_game && !self.policy.is_game() {
            self.ledger = false;
        }
        Ok(())
    }

    /// Checks every parameter (call after overrides): the ranges of docs/model.md §7.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        self.wear.validate()?;
        self.optimal.validate()?;
        self.check_policy_options()?;
        validate_workers(&self.workers)?;
        if self.byzantine > 0 && !self.ledger {
            return Err(Error::param(
                "byzantine",
                format!(
                    "{} byzantine SCPs need the ledger on: without it there is no consensus to attack",
                    self.byzantine
                ),
            ));
        }
        if self.ledger {
            crate::ledger::consensus::check_byzantine(self.workers.len(), self.byzantine)?;
        }
        check_horizon(&self.horizon, "horizon.start", "horizon.slots")?;
        if !is_currency_code(&self.currency) {
            return Err(Error::param(
                "currency",
                format!(
                    "{}: must be an ISO 4217 code, three capital letters (\"CNY\", \"USD\", \"EUR\")",
                    crate::error::excerpt(&self.currency)
                ),
            ));
        }
        if !(self.network_load_scale > 0.0 && self.network_load_scale <= 1000.0) {
            return Err(Error::param(
                "network_load_scale",
                format!("{}: must be in (0, 1000]", self.network_load_scale),
            ));
        }
        for (i, site) in self.sites.iter().enumerate() {
            if let Some((key, rule)) = site.rule() {
                return Err(Error::param(format!("sites.{i}.{key}"), rule));
            }
            if let Some(j) = self.sites[..i].iter().position(|o| o.name == site.name) {
                return Err(Error::param(
                    format!("sites.{i}.name"),
                    format!(
                        "{} is also the name of site {j}: names must be unique",
                        crate::error::excerpt(&site.name)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Refuses options a policy does not take (docs/model.md §10): only the price game
    /// has a ledger, a solver, SCP workers, byzantine SCPs and a search step `epsilon`.
    pub fn check_policy_options(&self) -> Result<()> {
        let p = self.policy;
        if p != Policy::Optimal && !self.optimal.is_default() {
            return Err(Error::param(
                "optimal",
                format!("policy {p} does not take [optimal] options: only policy optimal has them"),
            ));
        }
        if p.is_game() {
            return Ok(());
        }
        let refuse = |key: &str, what: &str| {
            Err(Error::param(
                key,
                format!(
                    "policy {p} does not take {what}: only the stackelberg price game has it \
                     (docs/model.md §10)"
                ),
            ))
        };
        if self.ledger {
            return refuse(
                "ledger",
                "a ledger (it records the price game's trades; use ledger = \"off\")",
            );
        }
        if self.byzantine > 0 {
            return refuse("byzantine", "byzantine SCPs");
        }
        if self.solver != Solver::Grid {
            return refuse("solver", "a price solver");
        }
        if self.workers != equal_workers(DEFAULT_WORKERS) {
            return refuse("workers", "SCP workers");
        }
        if self.params.epsilon != Params::default().epsilon {
            return refuse("params.epsilon", "a price-search step epsilon");
        }
        Ok(())
    }

    /// The scenario as TOML (every key written), e.g. to record a run's settings.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario serialises to TOML")
    }

    /// The scenario's one canonical byte encoding: compact JSON of every resolved key in
    /// declaration order, floats in their shortest round-trip form. Provenance, sweeps
    /// and the ledger's genesis all derive from it.
    pub fn canonical_json(&self) -> String {
        // The network's path is where the file was, not what it is: its SHA-256 stands
        // for it in a run's identity (provenance, the genesis, sweep ids).
        if self.network.is_some() {
            let without = Scenario {
                network: None,
                ..self.clone()
            };
            return without.canonical_json();
        }
        serde_json::to_string(self).expect("a scenario serialises to JSON")
    }

    /// SHA-256 of [`Scenario::canonical_json`], lowercase hex: the scenario's digest.
    pub fn digest(&self) -> String {
        crate::data::sha256_hex(self.canonical_json().as_bytes())
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, col)
}

/// The horizon's rules, for a scenario and for the grid generator (`start_name` and
/// `slots_name` name the parameters in errors): a start on a whole minute inside the data
/// files' time range, 1 to [`MAX_SLOTS`] slots, and every slot starting by
/// 2100-12-31T23:59, the latest time a data file may hold.
pub fn check_horizon(h: &Horizon, start_name: &str, slots_name: &str) -> Result<()> {
    if let Some(rule) = time_rule(h.start, true) {
        // Whole minutes: grid rows are matched to slot starts.
        return Err(Error::param(start_name, rule));
    }
    if h.slots == 0 {
        return Err(Error::param(
            slots_name,
            "the horizon needs at least one slot",
        ));
    }
    if h.slots > MAX_SLOTS {
        return Err(Error::param(
            slots_name,
            format!("{}: at most one leap year ({MAX_SLOTS} slots)", h.slots),
        ));
    }
    // Every slot starts at a time a data file may hold (the grid's rows, the oracle's
    // messages), so the horizon ends by 2100-12-31T23:59.
    let last = h.slot_start(h.slots - 1);
    if last > MAX_TIME {
        return Err(Error::param(
            slots_name,
            format!(
                "{} slots from {} run past {}: the last would start at {}",
                h.slots,
                format_time(h.start),
                format_time(MAX_TIME),
                format_time(last)
            ),
        ));
    }
    Ok(())
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
    fn load_reads_a_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, "solver = \"exact\"\n[params]\nw_grid = 1.5\n").unwrap();
        let sc = Scenario::load(&p).unwrap();
        assert_eq!((sc.solver, sc.params.w_grid), (Solver::Exact, 1.5));
        std::fs::write(&p, "[params]\nw_grid = \"x\"\n").unwrap();
        let e = Scenario::load(&p).unwrap_err().to_string();
        assert!(e.contains("s.toml:2:"), "{e}");
        assert!(Scenario::load(&dir.path().join("none.toml")).is_err());
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
        // Off, byzantine SCPs have nothing to attack: refused with a reason.
        let e = sc.validate().unwrap_err().to_string();
        assert!(e.contains("byzantine") && e.contains("ledger on"), "{e}");
        Scenario {
            byzantine: 0,
            ..sc.clone()
        }
        .validate()
        .unwrap();
        // On, 8 workers allow at most 2.
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
        assert!(sc.validate().unwrap_err().to_string().contains("params.a"));
        let sc = Scenario {
            workers: vec![Worker {
                capacity: 1.0,
                available: false,
            }],
            ..Scenario::default()
        };
        assert!(sc.validate().is_err());
    }

    /// The currency is a label of three capital letters, in the encoding only when it is
    /// not the paper's CNY, and settable by name (a sweep may vary it).
    #[test]
    fn currency_is_an_iso_code_encoded_only_when_not_cny() {
        let a = Scenario::default();
        assert_eq!(a.currency, "CNY");
        let sc = Scenario::from_toml("currency = \"USD\"\n", Path::new("s.toml")).unwrap();
        sc.validate().unwrap();
        assert_eq!(sc.currency, "USD");
        assert!(sc.canonical_json().contains(r#""currency":"USD""#));
        assert_ne!(sc.digest(), a.digest());
        let mut b = a.clone();
        b.set("currency", toml::Value::String("EUR".into()))
            .unwrap();
        assert_eq!(b.currency, "EUR");
        for bad in ["usd", "US", "USDT", "U$D", "", "ÉUR"] {
            let sc = Scenario {
                currency: bad.to_string(),
                ..Scenario::default()
            };
            let e = sc.validate().unwrap_err().to_string();
            assert!(
                e.contains("currency") && e.contains("ISO 4217"),
                "{bad}: {e}"
            );
        }
        assert!(is_currency_code("CNY") && is_currency_code("XAU"));
    }

    /// Issue 12's keys are left out of the canonical encoding at their defaults (so the
    /// digests of scenarios without them do not move), written when set, read back, and
    /// settable by name like every other key.
    #[test]
    fn options_are_encoded_only_when_set() {
        let a = Scenario::default();
        let json = a.canonical_json();
        for key in OMITTED_AT_DEFAULT {
            let name = key.trim_start_matches("params.");
            assert!(!json.contains(name), "{name} in {json}");
        }
        let mut b = a.clone();
        for (key, v) in OMITTED_AT_DEFAULT[..4].iter().zip([0.001, 0.8, 0.95, 0.9]) {
            b.set(key, toml::Value::Float(v)).unwrap();
        }
        b.validate().unwrap();
        let json = b.canonical_json();
        for key in &OMITTED_AT_DEFAULT[..4] {
            assert!(json.contains(key.trim_start_matches("params.")), "{key}");
        }
        assert_ne!(a.digest(), b.digest());
        let back = Scenario::from_toml(&b.to_toml(), Path::new("s.toml")).unwrap();
        assert_eq!(back, b);
        assert_eq!(
            (
                b.params.min_trade_kwh,
                b.params.min_departure_soc,
                b.params.charge_efficiency,
                b.params.discharge_efficiency
            ),
            (0.001, 0.8, 0.95, 0.9)
        );
        // An unknown key is still refused.
        let e = b
            .set("params.min_trade_wh", toml::Value::Float(1.0))
            .unwrap_err();
        assert!(e.to_string().contains("no such scenario key"), "{e}");
    }

    /// docs/model.md §10: `policy` is a key like any other, left out of the encoding at
    /// `stackelberg`; a policy without the game turns the ledger off unless the file asks
    /// for it, and refuses the options only the game takes.
    #[test]
    fn a_policy_without_the_game_refuses_the_games_options() {
        let a = Scenario::default();
        assert!(!a.canonical_json().contains("policy"));
        assert!(!a.canonical_json().contains("wear"));
        assert!(!a.canonical_json().contains("optimal"));
        let p = Path::new("s.toml");
        let sc = Scenario::from_toml("policy = \"edf\"\n", p).unwrap();
        assert_eq!(sc.policy, Policy::Edf);
        assert!(!sc.ledger);
        sc.validate().unwrap();
        assert!(sc.canonical_json().contains(r#""policy":"edf""#));
        assert_ne!(sc.digest(), a.digest());
        // Asked for, the ledger is refused, naming the policy.
        let on = Scenario::from_toml("policy = \"optimal\"\nledger = \"on\"\n", p).unwrap();
        let e = on.validate().unwrap_err().to_string();
        assert!(e.contains("ledger") && e.contains("policy optimal"), "{e}");
        let bad = Scenario::from_toml("policy = \"greedy\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            bad.starts_with("s.toml:1:10") && bad.contains("edf"),
            "{bad}"
        );
        for (key, v) in [
            ("solver", toml::Value::String("exact".into())),
            ("byzantine", toml::Value::Integer(1)),
            ("params.epsilon", toml::Value::Float(0.01)),
            ("optimal.max_iterations", toml::Value::Integer(50)),
        ] {
            let mut x = sc.clone();
            x.set(key, v).unwrap();
            let e = x.validate().unwrap_err().to_string();
            assert!(
                e.contains(key.split('.').next().unwrap()) && e.contains("policy edf"),
                "{key}: {e}"
            );
        }
        let mut w = sc.clone();
        w.workers = equal_workers(3);
        assert!(w.validate().unwrap_err().to_string().contains("workers"));
        // Setting the policy by name (a sweep) turns the ledger off; the game keeps it.
        let mut b = Scenario::default();
        b.set("policy", toml::Value::String("llf".into())).unwrap();
        assert!(!b.ledger);
        b.validate().unwrap();
        let mut g = Scenario::default();
        g.set("policy", toml::Value::String("stackelberg".into()))
            .unwrap();
        assert!(g.ledger);
        // `[optimal]` options with optimal, `[wear]` with every policy.
        let mut o = Scenario::from_toml(
            "policy = \"optimal\"\n[optimal]\nmax_iterations = 50\n[wear]\ncycle_life = 2000\n",
            p,
        )
        .unwrap();
        o.validate().unwrap();
        assert_eq!((o.optimal.max_iterations, o.wear.cycle_life), (50, 2000.0));
        o.set("wear.battery_price_per_kwh", toml::Value::Float(0.0))
            .unwrap();
        assert_eq!(o.wear.per_kwh(), 0.0);
        let back = Scenario::from_toml(&o.to_toml(), p).unwrap();
        assert_eq!(back, o);
        o.optimal.max_iterations = 0;
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("optimal.max_iterations"));
        let mut d = Scenario::default();
        d.set("wear.cycle_life", toml::Value::Float(1500.0))
            .unwrap();
        assert!(d.canonical_json().contains("cycle_life"));
        assert!(Scenario::from_toml("[wear]\ncycles = 1\n", p).is_err());
    }

    #[test]
    fn every_range_is_enforced_at_both_ends() {
        // (key, lowest valid, highest valid, just below, just above)
        let cases: [(&str, f64, f64, f64, f64); 15] = [
            ("e0_kwh", 1e-9, 1000.0, 0.0, 1000.001),
            ("w_service", 0.0, 100.0, -1e-9, 100.001),
            ("w_grid", 0.0, 100.0, -1e-9, 100.001),
            ("p_delay", 0.0, 100.0, -1e-9, 100.001),
            ("u_idle", 0.0, 100.0, -1e-9, 100.001),
            ("beta", 1e-9, 100.0, 0.0, 100.001),
            ("a", -100.0, 0.0, -100.001, 1e-9),
            ("epsilon", 1e-9, 100.0, 0.9e-9, 100.001),
            ("p_d_max", -100.0, 0.0, -100.001, 1e-9),
            ("p_d_min_factor", 0.0, 100.0, -1e-9, 100.001),
            ("delta_factor", 0.0, 100.0, -1e-9, 100.001),
            // Up to the default e0_kwh = 3.75.
            ("min_trade_kwh", 0.0, 3.75, -1e-9, 3.750001),
            ("min_departure_soc", 0.0, 1.0, -1e-9, 1.000001),
            ("charge_efficiency", 0.5000001, 1.0, 0.5, 1.000001),
            ("discharge_efficiency", 0.5000001, 1.0, 0.5, 1.000001),
        ];
        for (key, lo, hi, below, above) in cases {
            let with = |v: f64| {
                let mut sc = Scenario::default();
                sc.set(&format!("params.{key}"), toml::Value::Float(v))
                    .unwrap();
                sc.validate()
            };
            with(lo).unwrap_or_else(|e| panic!("{key} = {lo}: {e}"));
            with(hi).unwrap_or_else(|e| panic!("{key} = {hi}: {e}"));
            for bad in [below, above, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let e = with(bad).expect_err(&format!("{key} = {bad} accepted"));
                assert!(e.to_string().contains(&format!("params.{key}")), "{e}");
                let open = if (lo > 0.0 && lo < 1e-6 && key != "epsilon")
                    || key.ends_with("_efficiency")
                {
                    "("
                } else {
                    "["
                };
                let want = format!("must be in {open}");
                assert!(e.to_string().contains(&want), "{key}: {e}");
            }
        }
    }

    #[test]
    fn horizon_start_may_be_a_toml_local_date_time() {
        let read = |value: &str| {
            Scenario::from_toml(
                &format!("[horizon]\nstart = {value}\n"),
                Path::new("s.toml"),
            )
        };
        let quoted = read("\"2021-05-27T08:15\"").unwrap();
        for value in [
            "2021-05-27T08:15:00",
            "2021-05-27T08:15",
            "2021-05-27 08:15:00",
        ] {
            assert_eq!(read(value).unwrap().horizon, quoted.horizon, "{value}");
        }
        // Not a local date-time: located, with the value or the kind shown.
        for (value, want) in [
            (
                "2021-05-27",
                "s.toml:2:9: \"2021-05-27\" is not YYYY-MM-DDTHH:MM",
            ),
            (
                "2021-05-27T08:15:00Z",
                "s.toml:2:9: \"2021-05-27T08:15:00Z\" is not YYYY-MM-DDTHH:MM",
            ),
            (
                "08:15:00",
                "s.toml:2:9: \"08:15:00\" is not YYYY-MM-DDTHH:MM",
            ),
            (
                "{ a = 1 }",
                "s.toml:2:9: a table is not a time YYYY-MM-DDTHH:MM",
            ),
            (
                "5",
                "s.toml:2:9: invalid type: integer `5`, expected a time YYYY-MM-DDTHH:MM",
            ),
        ] {
            let e = read(value).unwrap_err().to_string();
            assert_eq!(e, want, "{value}");
        }
        // Written back (summary.json, JSON) as text, and read again from it.
        let json = serde_json::to_string(&quoted.horizon).unwrap();
        assert_eq!(json, r#"{"start":"2021-05-27T08:15","slots":96}"#);
        let back: Horizon = serde_json::from_str(&json).unwrap();
        assert_eq!(back, quoted.horizon);
    }

    #[test]
    fn horizon_start_on_a_whole_minute_and_slots_bounded() {
        let sc = Scenario::from_toml(
            "[horizon]\nstart = \"2021-05-27T07:00:30\"\n",
            Path::new("s.toml"),
        )
        .unwrap();
        let e = sc.validate().unwrap_err().to_string();
        assert!(
            e.contains("horizon.start") && e.contains("whole minute"),
            "{e}"
        );
        let on_minute = Scenario::from_toml(
            "[horizon]\nstart = \"2021-05-27T07:00:00\"\n",
            Path::new("s.toml"),
        )
        .unwrap();
        on_minute.validate().unwrap();
        assert_eq!(MAX_SLOTS, 35_136, "one leap year of 15-minute slots");
        let mut sc = Scenario::default();
        sc.horizon.slots = MAX_SLOTS;
        sc.validate().unwrap();
        sc.horizon.slots = MAX_SLOTS + 1;
        assert!(sc.validate().is_err());
        sc.horizon.slots = 0;
        assert!(sc.validate().is_err());
        let old = Scenario::from_toml(
            "[horizon]\nstart = \"1969-12-31T23:00\"\n",
            Path::new("s.toml"),
        )
        .unwrap();
        assert!(old.validate().is_err());
        // The last slot starts by 2100-12-31T23:59, the latest time a data file holds.
        let late = |start: &str, slots: usize| {
            let mut sc = Scenario::default();
            sc.horizon.start = crate::data::time::parse_time(start).unwrap();
            sc.horizon.slots = slots;
            sc.validate()
        };
        late("2100-12-31T23:45", 1).unwrap();
        late("2100-12-31T23:59", 1).unwrap();
        late("2100-12-31T23:30", 2).unwrap();
        let e = late("2100-12-31T23:45", 2).unwrap_err().to_string();
        assert!(
            e.contains("horizon.slots")
                && e.contains("2 slots from 2100-12-31T23:45 run past 2100-12-31T23:59")
                && e.contains("the last would start at 2101-01-01T00:00"),
            "{e}"
        );
        assert!(late("2100-01-01T00:00", MAX_SLOTS).is_err());
        late("2099-01-01T00:00", MAX_SLOTS).unwrap();
    }

    #[test]
    fn set_by_dotted_key_checks_names_and_types() {
        let mut sc = Scenario::default();
        sc.set("params.w_grid", toml::Value::Float(1.2)).unwrap();
        assert_eq!(sc.params.w_grid, 1.2);
        sc.set("solver", toml::Value::String("exact".into()))
            .unwrap();
        assert_eq!(sc.solver, Solver::Exact);
        sc.set("horizon.slots", toml::Value::Integer(8)).unwrap();
        assert_eq!(sc.horizon.slots, 8);
        let e = sc.set("params.w_grd", toml::Value::Float(1.0)).unwrap_err();
        assert!(e.to_string().contains("no such scenario key"), "{e}");
        let e = sc
            .set("params.beta", toml::Value::String("x".into()))
            .unwrap_err();
        assert!(e.to_string().contains("params.beta"), "{e}");
        let e = sc.set("solver.x", toml::Value::Integer(1)).unwrap_err();
        assert!(e.to_string().contains("not inside a table"), "{e}");
    }

    #[test]
    fn digest_is_of_the_canonical_encoding_and_tracks_every_key() {
        let a = Scenario::default();
        assert_eq!(a.digest(), Scenario::default().digest());
        assert_eq!(a.digest().len(), 64);
        assert_eq!(
            a.digest(),
            crate::data::sha256_hex(a.canonical_json().as_bytes())
        );
        let mut b = a.clone();
        b.params.epsilon = 0.002;
        assert_ne!(a.digest(), b.digest());
        let mut c = a.clone();
        c.workers[3].capacity = 2.0;
        assert_ne!(a.digest(), c.digest());
        let mut d = a.clone();
        d.horizon.start += chrono::Duration::minutes(15);
        assert_ne!(a.digest(), d.digest());
        // The encoding names every resolved key.
        let json: serde_json::Value = serde_json::from_str(&a.canonical_json()).unwrap();
        for key in [
            "seed",
            "ledger",
            "byzantine",
            "solver",
            "horizon",
            "params",
            "workers",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["params"]["tariff"][2]["period"], "peak");
        assert_eq!(json["horizon"]["start"], "2021-05-27T07:00");
    }
}
