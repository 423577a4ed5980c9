//! The fleet: one row per plug-in session (docs/model.md §6).
//!
//! `ev_id,kind,capacity_kwh,initial_kwh,arrival,departure[,beta][,a][,u_idle]`
//! `[,target_kwh][,max_kw][,max_discharge_kw][,session_id][,site]`
//!
//! An EV may plug in more than once: its `ev_id` repeats on each session's row, the
//! sessions must not overlap in time and must agree on the car (`kind`,
//! `capacity_kwh`); `session_id`, when given, names a session and is unique in the file.
//!
//! A [`Fleet`] can only be built through validation, so a `Fleet` never holds a negative
//! capacity, a departure before its arrival or two overlapping sessions of one EV.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::data::scenario::Params;
use crate::data::time::{format_time, parse_time, time_rule};
use crate::error::{excerpt, excerpt_message, Error, Result};

/// The two kinds of vehicle in the SUSTech fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Electric bus (large pack, depot charging).
    Bus,
    /// Private car.
    Private,
}

impl Kind {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bus => "bus",
            Kind::Private => "private",
        }
    }
}

/// One EV's plug-in session.
#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    /// The EV's id: the same on every session of one car (its wallet in the ledger).
    pub id: String,
    /// The session's name (`session_id`), when the fleet gives one: unique in the fleet.
    pub session_id: Option<String>,
    /// Bus or private car.
    pub kind: Kind,
    /// `E_i^capacity`, kWh.
    pub capacity_kwh: f64,
    /// Energy at arrival, kWh.
    pub initial_kwh: f64,
    /// Plug-in time.
    pub arrival: NaiveDateTime,
    /// Plug-out time.
    pub departure: NaiveDateTime,
    /// `beta_i` (Eq. 2); the scenario's default when `None`.
    pub beta: Option<f64>,
    /// `a_i` (Eq. 1), CNY/kWh; the scenario's default when `None`.
    pub a: Option<f64>,
    /// `U_i,idle` (Eq. 1); the scenario's default when `None`.
    pub u_idle: Option<f64>,
    /// The session's optional limits beyond the paper's model (all `None` in it).
    pub limits: Limits,
    /// The charging site (a scenario's `[[sites]] name`) the session plugs in at, when
    /// the fleet names one (docs/model.md §9); a network run assigns the others.
    pub site: Option<String>,
}

/// A session's optional limits (docs/model.md §3 and §6): a departure target and the
/// charger's power. All `None` is the paper's model.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Energy the EV must hold when it leaves, kWh, in `[0, capacity_kwh]`; the
    /// scenario's `min_departure_soc · capacity_kwh` when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_kwh: Option<f64>,
    /// The charger's (or car's) charging power, kW, in `(0, 10000]`: at most
    /// `max_kw × 0.25 h` per slot (and never more than `E0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_kw: Option<f64>,
    /// Discharging power, kW, in `[0, 10000]`; `max_kw` when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_discharge_kw: Option<f64>,
}

impl Limits {
    /// True when no limit is set (the paper's model).
    pub fn is_none(&self) -> bool {
        *self == Limits::default()
    }
}

/// Hours in one slot: energy per slot is power × this.
pub const SLOT_HOURS: f64 = 0.25;

impl Ev {
    /// `beta_i`, or the default.
    pub fn beta(&self, p: &Params) -> f64 {
        self.beta.unwrap_or(p.beta)
    }
    /// `a_i`, or the default.
    pub fn a(&self, p: &Params) -> f64 {
        self.a.unwrap_or(p.a)
    }
    /// `U_i,idle`, or the default.
    pub fn u_idle(&self, p: &Params) -> f64 {
        self.u_idle.unwrap_or(p.u_idle)
    }
    /// The departure target, kWh: the row's `target_kwh`, else
    /// `min_departure_soc · capacity_kwh`; 0 for none.
    pub fn target_kwh(&self, p: &Params) -> f64 {
        self.limits
            .target_kwh
            .unwrap_or(p.min_departure_soc * self.capacity_kwh)
    }
    /// Most energy into the battery per slot from the charger's power, kWh
    /// (`f64::INFINITY` without `max_kw`: then `E0` bounds it).
    pub fn max_charge_kwh(&self) -> f64 {
        self.limits
            .max_kw
            .map_or(f64::INFINITY, |kw| kw * SLOT_HOURS)
    }
    /// Most energy out of the battery per slot, kWh: `max_discharge_kw`, else `max_kw`
    /// (`f64::INFINITY` without either).
    pub fn max_discharge_kwh(&self) -> f64 {
        self.limits
            .max_discharge_kw
            .or(self.limits.max_kw)
            .map_or(f64::INFINITY, |kw| kw * SLOT_HOURS)
    }
    /// The EV's follower state at arrival (Eqs. 1, 2, 8–10 with the options of
    /// docs/model.md §3.1–3.2): its energy, capacity and preferences, power limits,
    /// departure target, and the scenario's smallest trade and efficiencies. The slot
    /// loop sets `energy_kwh` and `slots_after` each slot.
    pub fn state(&self, p: &Params) -> crate::game::follower::EvState {
        crate::game::follower::EvState {
            max_charge_kwh: self.max_charge_kwh(),
            max_discharge_kwh: self.max_discharge_kwh(),
            target_kwh: self.target_kwh(p),
            min_trade_kwh: p.min_trade_kwh,
            eta_c: p.charge_efficiency,
            eta_d: p.discharge_efficiency,
            ..crate::game::follower::EvState::new(
                self.initial_kwh,
                self.capacity_kwh,
                self.beta(p),
                self.a(p),
                self.u_idle(p),
            )
        }
    }
}

/// A validated fleet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fleet {
    evs: Vec<Ev>,
}

/// The fleet file's required columns, in the order it is written (docs/model.md §6.1).
pub const REQUIRED: [&str; 6] = [
    "ev_id",
    "kind",
    "capacity_kwh",
    "initial_kwh",
    "arrival",
    "departure",
];
/// The fleet file's optional columns (docs/model.md §6.1).
pub const OPTIONAL: [&str; 8] = [
    "beta",
    "a",
    "u_idle",
    "target_kwh",
    "max_kw",
    "max_discharge_kw",
    "session_id",
    "site",
];

/// Longest `ev_id`, in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Largest `capacity_kwh` (a large bus has a few hundred kWh).
pub const MAX_CAPACITY_KWH: f64 = 10_000.0;
/// Largest `beta` (Table I: 0.16).
pub const MAX_BETA: f64 = 100.0;
/// Smallest (most negative) `a`, CNY/kWh (Table I: -0.01).
pub const MIN_A: f64 = -100.0;
/// Largest `u_idle` (Table I: 0).
pub const MAX_U_IDLE: f64 = 100.0;
/// Largest `max_kw` and `max_discharge_kw`, kW (a megawatt bus charger is 1,000).
pub const MAX_KW: f64 = 10_000.0;

/// The rule an `ev_id` breaks, if any: 1 to [`MAX_ID_CHARS`] characters of printable ASCII
/// without spaces (bytes 0x21 to 0x7E), so that ids print, compare and sign unambiguously
/// (no control characters, no look-alike letters from other scripts).
fn id_rule(id: &str) -> Option<String> {
    name_rule("ev_id", id)
}

/// The rule an id in column `col` (`ev_id`, `session_id`) breaks, if any (see [`id_rule`]).
fn name_rule(col: &str, id: &str) -> Option<String> {
    if id.is_empty() {
        return Some(format!(
            "{col} must not be empty (1 to {MAX_ID_CHARS} printable ASCII characters, no spaces)"
        ));
    }
    if let Some((k, c)) = id
        .chars()
        .enumerate()
        .find(|&(_, c)| !('\x21'..='\x7e').contains(&c))
    {
        return Some(format!(
            "{col} must be printable ASCII without spaces (bytes 0x21 to 0x7E): {} has {} at character {}",
            excerpt(id),
            excerpt(c.encode_utf8(&mut [0; 4])),
            k + 1
        ));
    }
    if id.len() > MAX_ID_CHARS {
        return Some(format!(
            "{col} must be at most {MAX_ID_CHARS} characters, not {}: {}",
            id.len(),
            excerpt(id)
        ));
    }
    None
}

/// The rule an EV breaks, if any, as (column name, rule). Every bound is inclusive unless
/// the rule says `>` or `<`; a NaN or infinity breaks every bound.
fn check_ev(ev: &Ev) -> Option<(&'static str, String)> {
    if let Some(rule) = id_rule(&ev.id) {
        return Some(("ev_id", rule));
    }
    if let Some(rule) = ev
        .session_id
        .as_deref()
        .and_then(|s| name_rule("session_id", s))
    {
        return Some(("session_id", rule));
    }
    if let Some(rule) = ev.site.as_deref().and_then(|s| name_rule("site", s)) {
        return Some(("site", rule));
    }
    if !(ev.capacity_kwh > 0.0 && ev.capacity_kwh <= MAX_CAPACITY_KWH) {
        return Some((
            "capacity_kwh",
            format!("capacity_kwh must be a finite number > 0 and <= {MAX_CAPACITY_KWH}"),
        ));
    }
    if !(ev.initial_kwh.is_finite() && ev.initial_kwh >= 0.0) {
        return Some((
            "initial_kwh",
            "initial_kwh must be a finite number >= 0".into(),
        ));
    }
    if ev.initial_kwh > ev.capacity_kwh {
        return Some(("initial_kwh", "initial_kwh must be <= capacity_kwh".into()));
    }
    for (col, t) in [("arrival", ev.arrival), ("departure", ev.departure)] {
        if let Some(rule) = time_rule(t, false) {
            return Some((col, format!("{col} {rule}")));
        }
    }
    if ev.departure <= ev.arrival {
        return Some(("departure", "departure must be after arrival".into()));
    }
    if let Some(b) = ev.beta {
        if !(b > 0.0 && b <= MAX_BETA) {
            return Some((
                "beta",
                format!("beta must be a finite number > 0 and <= {MAX_BETA}"),
            ));
        }
    }
    if let Some(a) = ev.a {
        if !(MIN_A..=0.0).contains(&a) {
            return Some((
                "a",
                format!("a must be a finite number <= 0 and >= {MIN_A}"),
            ));
        }
    }
    if let Some(u) = ev.u_idle {
        if !(0.0..=MAX_U_IDLE).contains(&u) {
            return Some((
                "u_idle",
                format!(
                    "u_idle must be a finite number >= 0 and <= {MAX_U_IDLE} (with u_idle < 0 no best response exists)"
                ),
            ));
        }
    }
    let l = &ev.limits;
    if let Some(t) = l.target_kwh {
        if !(t.is_finite() && t >= 0.0) {
            return Some((
                "target_kwh",
                "target_kwh must be a finite number >= 0".into(),
            ));
        }
        if t > ev.capacity_kwh {
            return Some(("target_kwh", "target_kwh must be <= capacity_kwh".into()));
        }
    }
    if let Some(kw) = l.max_kw {
        if !(kw > 0.0 && kw <= MAX_KW) {
            return Some((
                "max_kw",
                format!("max_kw must be a finite number > 0 and <= {MAX_KW}"),
            ));
        }
    }
    if let Some(kw) = l.max_discharge_kw {
        if !(0.0..=MAX_KW).contains(&kw) {
            return Some((
                "max_discharge_kw",
                format!("max_discharge_kw must be a finite number >= 0 and <= {MAX_KW}"),
            ));
        }
    }
    None
}

impl Fleet {
    /// Validates EVs built in code; errors name the EV's index as its line.
    pub fn new(evs: Vec<Ev>) -> Result<Self> {
        for (i, ev) in evs.iter().enumerate() {
            if let Some((col, rule)) = check_ev(ev) {
                return Err(Error::input("<fleet>", i as u64 + 1, 0, col, rule));
            }
        }
        if let Some((i, col, rule)) = check_sessions(&evs, &|i| i as u64 + 1) {
            return Err(Error::input("<fleet>", i as u64 + 1, 0, col, rule));
        }
        Ok(Fleet { evs })
    }

    /// Reads and validates a fleet CSV file.
    pub fn load(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(file, path)
    }

    /// Reads and validates fleet CSV from a reader; `path` names it in errors.
    pub fn from_reader(reader: impl Read, path: &Path) -> Result<Self> {
        let (mut rdr, cols) = open_csv(reader, path, &REQUIRED, &OPTIONAL)?;
        let csv_err = |e: csv::Error| csv_error(path, e);
        let mut evs = Vec::new();
        let mut lines = Vec::new();
        let mut record = csv::StringRecord::new();
        while rdr.read_record(&mut record).map_err(csv_err)? {
            let line = record.position().map_or(0, |p| p.line());
            let f = Fields {
                record: &record,
                cols: &cols,
                path,
                line,
            };
            let id = f.str("ev_id")?;
            if let Some(rule) = id_rule(id) {
                return Err(f.err("ev_id", rule));
            }
            let kind = match f.required("kind")? {
                "bus" => Kind::Bus,
                "private" => Kind::Private,
                other => {
                    return Err(f.err(
                        "kind",
                        format!("kind must be 'bus' or 'private', not {}", excerpt(other)),
                    ))
                }
            };
            let ev = Ev {
                id: id.to_string(),
                session_id: f.opt_str("session_id").map(str::to_string),
                kind,
                capacity_kwh: f.num("capacity_kwh")?,
                initial_kwh: f.num("initial_kwh")?,
                arrival: f.time("arrival")?,
                departure: f.time("departure")?,
                beta: f.opt_num("beta")?,
                a: f.opt_num("a")?,
                u_idle: f.opt_num("u_idle")?,
                limits: Limits {
                    target_kwh: f.opt_num("target_kwh")?,
                    max_kw: f.opt_num("max_kw")?,
                    max_discharge_kw: f.opt_num("max_discharge_kw")?,
                },
                site: f.opt_str("site").map(str::to_string),
            };
            if let Some((col, rule)) = check_ev(&ev) {
                return Err(f.err(col, rule));
            }
            evs.push(ev);
            lines.push(line);
        }
        if evs.is_empty() {
            // Line 0: the file as a whole (it has no line 2 to name).
            return Err(Error::input(path, 0, 0, "", "the fleet has no sessions"));
        }
        if let Some((i, col, rule)) = check_sessions(&evs, &|i| lines[i]) {
            let c = cols.index(col).map_or(0, |c| c as u64 + 1);
            return Err(Error::input(path, lines[i], c, col, rule));
        }
        // The doubling growth leaves up to half the list unused: a million sessions
        // would keep tens of MB for nothing.
        evs.shrink_to_fit();
        Ok(Fleet { evs })
    }

    /// Writes the fleet as CSV (all columns; empty optional fields where unset).
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let any_opt = self
            .evs
            .iter()
            .any(|e| e.beta.is_some() || e.a.is_some() || e.u_idle.is_some());
        let any_limit = self.evs.iter().any(|e| !e.limits.is_none());
        let any_session = self.evs.iter().any(|e| e.session_id.is_some());
        let any_site = self.evs.iter().any(|e| e.site.is_some());
        let mut header: Vec<&str> = REQUIRED.to_vec();
        if any_session {
            header.insert(1, "session_id");
        }
        if any_opt || any_limit {
            header.extend_from_slice(&OPTIONAL[..3]);
        }
        if any_limit {
            header.extend_from_slice(&OPTIONAL[3..6]);
        }
        if any_site {
            header.push("site");
        }
        w.write_record(&header).expect("in-memory write");
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        for e in &self.evs {
            let mut row = vec![
                e.id.clone(),
                e.kind.as_str().to_string(),
                e.capacity_kwh.to_string(),
                e.initial_kwh.to_string(),
                format_time(e.arrival),
                format_time(e.departure),
            ];
            if any_session {
                row.insert(1, e.session_id.clone().unwrap_or_default());
            }
            if any_opt || any_limit {
                row.extend([opt(e.beta), opt(e.a), opt(e.u_idle)]);
            }
            if any_limit {
                let l = &e.limits;
                row.extend([opt(l.target_kwh), opt(l.max_kw), opt(l.max_discharge_kw)]);
            }
            if any_site {
                row.push(e.site.clone().unwrap_or_default());
            }
            w.write_record(&row).expect("in-memory write");
        }
        String::from_utf8(w.into_inner().expect("in-memory flush")).expect("utf-8")
    }

    /// The sessions, in file order.
    pub fn evs(&self) -> &[Ev] {
        &self.evs
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.evs.len()
    }

    /// For each session, the index of its EV's first session ([`wallet_index`]).
    pub fn wallets(&self) -> Vec<usize> {
        wallet_index(self.evs.iter().map(|e| e.id.as_str()))
    }

    /// Number of distinct EVs (`ev_id`s); [`Fleet::len`] when no EV plugs in twice.
    pub fn n_evs(&self) -> usize {
        count_evs(self.evs.iter().map(|e| e.id.as_str()))
    }

    /// True when there is no session.
    pub fn is_empty(&self) -> bool {
        self.evs.is_empty()
    }
}

/// The first row (in file order) that breaks a rule between sessions, as (row index,
/// column, rule); `line` gives a row's line for the message. The rules: a `session_id` is
/// unique; the sessions of one `ev_id` describe one car (same `kind` and `capacity_kwh`)
/// and do not overlap in time (each arrives no earlier than the one before it leaves), so
/// an EV is plugged in at most once in any slot.
fn check_sessions(
    evs: &[Ev],
    line: &dyn Fn(usize) -> u64,
) -> Option<(usize, &'static str, String)> {
    let mut found: Vec<(usize, &'static str, String)> = Vec::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    // Each EV's first session, and every later one as (first, row): no list per EV.
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(evs.len());
    let mut later: Vec<(usize, usize)> = Vec::new();
    for (i, ev) in evs.iter().enumerate() {
        if let Some(s) = ev.session_id.as_deref() {
            if let Some(&j) = names.get(s) {
                found.push((
                    i,
                    "session_id",
                    format!(
                        "session_id must be unique: {} is also on line {}",
                        excerpt(s),
                        line(j)
                    ),
                ));
            } else {
                names.insert(s, i);
            }
        }
        match first.entry(ev.id.as_str()) {
            std::collections::hash_map::Entry::Occupied(o) => later.push((*o.get(), i)),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
    }
    drop(first);
    later.sort_unstable();
    let groups = later.chunk_by(|x, y| x.0 == y.0).map(|g| {
        std::iter::once(g[0].0)
            .chain(g.iter().map(|&(_, i)| i))
            .collect::<Vec<usize>>()
    });
    for rows in groups {
        let first = &evs[rows[0]];
        for &i in &rows[1..] {
            let e = &evs[i];
            if e.kind != first.kind {
                found.push((
                    i,
                    "kind",
                    format!(
                        "kind must be the same on every session of EV {}: {} here, {} on line {}",
                        excerpt(&e.id),
                        e.kind.as_str(),
                        first.kind.as_str(),
                        line(rows[0])
                    ),
                ));
            } else if e.capacity_kwh != first.capacity_kwh {
                found.push((
                    i,
                    "capacity_kwh",
                    format!(
                        "capacity_kwh must be the same on every session of EV {}: {} here, {} on line {}",
                        excerpt(&e.id),
                        e.capacity_kwh,
                        first.capacity_kwh,
                        line(rows[0])
                    ),
                ));
            }
        }
        let mut by_time = rows.clone();
        by_time.sort_by_key(|&i| (evs[i].arrival, i));
        for w in by_time.windows(2) {
            let (a, b) = (&evs[w[0]], &evs[w[1]]);
            if b.arrival < a.departure {
                // Reported on the later row of the file, naming the earlier one.
                let (row, other, col) = if w[1] > w[0] {
                    (w[1], w[0], "arrival")
                } else {
                    (w[0], w[1], "departure")
                };
                found.push((
                    row,
                    col,
                    format!(
                        "sessions of EV {} overlap: {} to {} here, {} to {} on line {} (an EV's sessions must not overlap in time)",
                        excerpt(&a.id),
                        format_time(evs[row].arrival),
                        format_time(evs[row].departure),
                        format_time(evs[other].arrival),
                        format_time(evs[other].departure),
                        line(other)
                    ),
                ));
            }
        }
    }
    found.into_iter().min_by_key(|f| f.0)
}

/// For each session (given by its `ev_id`, in fleet order), the index of its EV's first
/// session: the EV's wallet in the ledger, whose key, nonce and balance carry over
/// between its sessions.
pub fn wallet_index<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| *first.entry(id).or_insert(i))
        .collect()
}

/// The number of distinct EVs among sessions given by their `ev_id`s.
pub fn count_evs<'a>(ids: impl IntoIterator<Item = &'a str>) -> usize {
    ids.into_iter().collect::<HashSet<_>>().len()
}

/// The number of EVs (wallets) of a [`wallet_index`]: the sessions that are their EV's
/// first.
pub fn wallet_count(wallet: &[usize]) -> usize {
    wallet.iter().enumerate().filter(|&(i, &w)| i == w).count()
}

/// Opens CSV with a required header (fields trimmed) and maps its columns.
pub(crate) fn open_csv<R: Read>(
    reader: R,
    path: &Path,
    required: &[&'static str],
    optional: &[&'static str],
) -> Result<(csv::Reader<R>, Columns)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = rdr.headers().map_err(|e| csv_error(path, e))?.clone();
    let cols = Columns::new(&header, required, optional, path)?;
    Ok((rdr, cols))
}

/// Turns a csv error into an input error with its position.
pub(crate) fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    let rule = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields, the header {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "the file is not valid UTF-8".to_string(),
        csv::ErrorKind::Io(io) => format!("read failed: {io}"),
        _ => excerpt_message(&e.to_string()),
    };
    Error::input(path, line, 0, "", rule)
}

/// Column indices of a CSV header.
pub(crate) struct Columns {
    names: Vec<(&'static str, Option<usize>)>,
}

impl Columns {
    /// Maps required and optional column names to their index; an empty first line (or
    /// an empty file), unknown or missing required columns and duplicates are errors on
    /// line 1.
    pub(crate) fn new(
        header: &csv::StringRecord,
        required: &[&'static str],
        optional: &[&'static str],
        path: &Path,
    ) -> Result<Self> {
        // The reader trims fields (`open_csv`); a byte-order mark alone is no name either.
        if header
            .iter()
            .all(|h| h.trim_start_matches('\u{feff}').is_empty())
        {
            return Err(Error::input(
                path,
                1,
                0,
                "",
                format!(
                    "no header: the first line must name the columns ({} required)",
                    required.join(",")
                ),
            ));
        }
        let mut names: Vec<(&'static str, Option<usize>)> = required
            .iter()
            .chain(optional)
            .map(|&n| (n, None))
            .collect();
        for (i, h) in header.iter().enumerate() {
            let h = h.trim().trim_start_matches('\u{feff}');
            match names.iter_mut().find(|(n, _)| *n == h) {
                Some((_, idx @ None)) => *idx = Some(i),
                Some(_) => {
                    return Err(Error::input(
                        path,
                        1,
                        i as u64 + 1,
                        h,
                        format!("column '{h}' appears twice in the header"),
                    ))
                }
                None => {
                    let expected: Vec<&str> = required.iter().chain(optional).copied().collect();
                    return Err(Error::input(
                        path,
                        1,
                        i as u64 + 1,
                        "",
                        format!(
                            "unknown column {} (expected {})",
                            excerpt(h),
                            expected.join(",")
                        ),
                    ));
                }
            }
        }
        for &(n, idx) in &names[..required.len()] {
            if idx.is_none() {
                return Err(Error::input(
                    path,
                    1,
                    0,
                    n,
                    format!("the header lacks the required column '{n}'"),
                ));
            }
        }
        names.shrink_to_fit();
        Ok(Columns { names })
    }

    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|x| x.1)
    }
}

/// The rule a required cell left empty breaks: it is missing (a table's NaN, None or NaT
/// is written as an empty cell).
pub(crate) fn missing(col: &str) -> String {
    format!(
        "{col} is missing: the cell is empty (in a table: NaN, None or NaT), and {col} is required"
    )
}

/// Typed access to one CSV record's fields, with positioned errors.
pub(crate) struct Fields<'a> {
    pub(crate) record: &'a csv::StringRecord,
    pub(crate) cols: &'a Columns,
    pub(crate) path: &'a Path,
    pub(crate) line: u64,
}

impl Fields<'_> {
    pub(crate) fn err(&self, col: &str, rule: impl Into<String>) -> Error {
        let c = self.cols.index(col).map_or(0, |i| i as u64 + 1);
        Error::input(self.path, self.line, c, col, rule)
    }

    pub(crate) fn str(&self, col: &str) -> Result<&str> {
        let i = self.cols.index(col).expect("required column");
        Ok(self.record.get(i).unwrap_or(""))
    }

    /// A required column's cell, refused when it is empty (as a table's missing value,
    /// NaN, None or NaT, is written): the cell is named as missing, not quoted as `""`.
    pub(crate) fn required(&self, col: &str) -> Result<&str> {
        let s = self.str(col)?;
        if s.is_empty() {
            return Err(self.err(col, missing(col)));
        }
        Ok(s)
    }

    pub(crate) fn opt_str(&self, col: &str) -> Option<&str> {
        let s = self.cols.index(col).and_then(|i| self.record.get(i))?;
        (!s.is_empty()).then_some(s)
    }

    pub(crate) fn num(&self, col: &str) -> Result<f64> {
        let s = self.required(col)?;
        self.parse_num(col, s)
    }

    pub(crate) fn opt_num(&self, col: &str) -> Result<Option<f64>> {
        self.opt_str(col)
            .map(|s| self.parse_num(col, s))
            .transpose()
    }

    fn parse_num(&self, col: &str, s: &str) -> Result<f64> {
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(self.err(
                col,
                format!("{col} must be a finite number, not {}", excerpt(s)),
            )),
            Err(_) => Err(self.err(col, format!("{col} must be a number, not {}", excerpt(s)))),
        }
    }

    pub(crate) fn time(&self, col: &str) -> Result<NaiveDateTime> {
        let s = self.required(col)?;
        parse_time(s).ok_or_else(|| {
            self.err(
                col,
                format!(
                    "{col} must be a time YYYY-MM-DDTHH:MM[:SS], not {}",
                    excerpt(s)
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure";

    fn load(text: &str) -> Result<Fleet> {
        Fleet::from_reader(text.as_bytes(), Path::new("f.csv"))
    }

    #[test]
    fn reads_table_ii_row_with_defaults() {
        let f = load(&format!(
            "{HEAD}\n1,bus,160,57.2,2021-05-27T16:00,2021-05-28T06:30\n"
        ))
        .unwrap();
        assert_eq!(f.len(), 1);
        let ev = &f.evs()[0];
        assert_eq!(ev.capacity_kwh, 160.0);
        assert_eq!(ev.beta(&Params::default()), 0.16);
    }

    #[test]
    fn optional_columns_may_be_empty() {
        let f = load(&format!(
            "{HEAD},beta,a,u_idle\n1,private,40,10,2021-05-27T08:00,2021-05-27T09:00,,-0.02,\n"
        ))
        .unwrap();
        assert_eq!(f.evs()[0].a, Some(-0.02));
        assert_eq!(f.evs()[0].beta, None);
    }

    #[test]
    fn each_rule_names_line_and_column() {
        let cases = [
            (
                "1,bus,0,0,2021-05-27T08:00,2021-05-27T09:00",
                "2:3",
                "capacity_kwh",
            ),
            (
                "1,bus,10,11,2021-05-27T08:00,2021-05-27T09:00",
                "2:4",
                "initial_kwh",
            ),
            (
                "1,bus,10,-1,2021-05-27T08:00,2021-05-27T09:00",
                "2:4",
                "initial_kwh",
            ),
            (
                "1,bus,10,1,2021-05-27T08:00,2021-05-27T08:00",
                "2:6",
                "departure",
            ),
            (
                "1,car,10,1,2021-05-27T08:00,2021-05-27T09:00",
                "2:2",
                "kind",
            ),
            (
                "1,bus,NaN,1,2021-05-27T08:00,2021-05-27T09:00",
                "2:3",
                "finite",
            ),
            ("1,bus,10,1,yesterday,2021-05-27T09:00", "2:5", "arrival"),
        ];
        for (row, at, word) in cases {
            let e = load(&format!("{HEAD}\n{row}\n")).unwrap_err().to_string();
            assert!(e.starts_with(&format!("f.csv:{at}")), "{row}: {e}");
            assert!(e.contains(word), "{row}: {e}");
        }
    }

    #[test]
    fn overlapping_sessions_and_bad_optionals_are_rejected() {
        let e = load(&format!(
            "{HEAD}\n1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00\n1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00\n"
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "f.csv:3:5 (arrival): sessions of EV \"1\" overlap: 2021-05-27T08:00 to \
             2021-05-27T09:00 here, 2021-05-27T08:00 to 2021-05-27T09:00 on line 2 (an EV's \
             sessions must not overlap in time)"
        );
        for (col, v) in [("beta", "0"), ("a", "0.1"), ("u_idle", "-1")] {
            let e = load(&format!(
                "{HEAD},{col}\n1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00,{v}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.starts_with("f.csv:2:7") && e.contains(col), "{e}");
        }
    }

    #[test]
    fn header_problems() {
        let e = load("ev_id,kind\n").unwrap_err().to_string();
        assert!(e.contains("capacity_kwh"), "{e}");
        let e = load(&format!("{HEAD},colour\n")).unwrap_err().to_string();
        assert!(
            e.starts_with("f.csv:1:7") && e.contains("unknown column"),
            "{e}"
        );
        let e = load(&format!("{HEAD}\n")).unwrap_err().to_string();
        // The file has no line 2 to name.
        assert_eq!(e, "f.csv: the fleet has no sessions");
    }

    /// The next float above / below `x` (`f64::next_up` needs Rust 1.86).
    fn up(x: f64) -> f64 {
        if x == 0.0 {
            f64::from_bits(1)
        } else if x > 0.0 {
            f64::from_bits(x.to_bits() + 1)
        } else {
            f64::from_bits(x.to_bits() - 1)
        }
    }
    fn down(x: f64) -> f64 {
        -up(-x)
    }

    fn ev() -> Ev {
        Ev {
            site: None,
            session_id: None,
            id: "1".into(),
            kind: Kind::Bus,
            capacity_kwh: 100.0,
            initial_kwh: 10.0,
            arrival: parse_time("2021-05-27T08:00").unwrap(),
            departure: parse_time("2021-05-27T09:00").unwrap(),
            beta: None,
            a: None,
            u_idle: None,
            limits: Default::default(),
        }
    }

    /// `Fleet::new` on one EV changed by `f`: `Ok` or the error's text.
    fn check(f: impl FnOnce(&mut Ev)) -> std::result::Result<(), String> {
        let mut e = ev();
        f(&mut e);
        Fleet::new(vec![e]).map(|_| ()).map_err(|e| e.to_string())
    }

    /// Asserts `f` is accepted and `g` refused with `rule` in the error on `col`.
    fn bound(f: impl FnOnce(&mut Ev), g: impl FnOnce(&mut Ev), col: &str, rule: &str) {
        assert_eq!(check(f), Ok(()), "{col}: just inside");
        let e = check(g).unwrap_err();
        assert!(
            e.starts_with(&format!("<fleet>:1:0 ({col}): ")) && e.contains(rule),
            "{col}: just outside: {e}"
        );
    }

    #[test]
    fn capacity_bounds() {
        let rule = "capacity_kwh must be a finite number > 0 and <= 10000";
        bound(
            |e| (e.capacity_kwh, e.initial_kwh) = (10_000.0, 0.0),
            |e| (e.capacity_kwh, e.initial_kwh) = (up(10_000.0), 0.0),
            "capacity_kwh",
            rule,
        );
        bound(
            |e| (e.capacity_kwh, e.initial_kwh) = (up(0.0), 0.0),
            |e| (e.capacity_kwh, e.initial_kwh) = (0.0, 0.0),
            "capacity_kwh",
            rule,
        );
        for v in [1e308, f64::INFINITY, f64::NAN, -1.0, f64::NEG_INFINITY] {
            let e = check(|e| (e.capacity_kwh, e.initial_kwh) = (v, 0.0)).unwrap_err();
            assert!(e.contains(rule), "{v}: {e}");
        }
    }

    #[test]
    fn initial_energy_bounds() {
        bound(
            |e| e.initial_kwh = 0.0,
            |e| e.initial_kwh = down(0.0),
            "initial_kwh",
            "initial_kwh must be a finite number >= 0",
        );
        bound(
            |e| e.initial_kwh = 100.0,
            |e| e.initial_kwh = up(100.0),
            "initial_kwh",
            "initial_kwh must be <= capacity_kwh",
        );
        for v in [f64::NAN, f64::NEG_INFINITY] {
            let e = check(|e| e.initial_kwh = v).unwrap_err();
            assert!(
                e.contains("initial_kwh must be a finite number >= 0"),
                "{e}"
            );
        }
        let e = check(|e| e.initial_kwh = f64::INFINITY).unwrap_err();
        assert!(e.contains("(initial_kwh)"), "{e}");
    }

    #[test]
    fn time_bounds_and_order() {
        let sec = chrono::Duration::seconds(1);
        let (lo, hi) = (crate::data::time::MIN_TIME, crate::data::time::MAX_TIME);
        let bounds = "must lie between 1970-01-01T00:00 and 2100-12-31T23:59";
        bound(
            |e| e.arrival = lo,
            |e| e.arrival = lo - sec,
            "arrival",
            &format!("arrival {bounds}, not 1969-12-31T23:59:59"),
        );
        bound(
            |e| e.departure = hi,
            |e| e.departure = hi + sec,
            "departure",
            &format!("departure {bounds}, not 2100-12-31T23:59:01"),
        );
        // Arrival past the upper bound is refused as an arrival, not as an order problem.
        let e = check(|e| (e.arrival, e.departure) = (hi + sec, hi + sec + sec)).unwrap_err();
        assert!(e.contains(&format!("arrival {bounds}")), "{e}");
        let e = check(|e| (e.arrival, e.departure) = (lo - sec - sec, lo - sec)).unwrap_err();
        assert!(e.contains(&format!("arrival {bounds}")), "{e}");
        bound(
            |e| e.departure = e.arrival + sec,
            |e| e.departure = e.arrival,
            "departure",
            "departure must be after arrival",
        );
    }

    #[test]
    fn optional_parameter_bounds() {
        let beta = "beta must be a finite number > 0 and <= 100";
        bound(
            |e| e.beta = Some(100.0),
            |e| e.beta = Some(up(100.0)),
            "beta",
            beta,
        );
        bound(
            |e| e.beta = Some(up(0.0)),
            |e| e.beta = Some(0.0),
            "beta",
            beta,
        );
        let a = "a must be a finite number <= 0 and >= -100";
        bound(|e| e.a = Some(0.0), |e| e.a = Some(up(0.0)), "a", a);
        bound(|e| e.a = Some(-100.0), |e| e.a = Some(down(-100.0)), "a", a);
        let u = "u_idle must be a finite number >= 0 and <= 100";
        bound(
            |e| e.u_idle = Some(0.0),
            |e| e.u_idle = Some(down(0.0)),
            "u_idle",
            u,
        );
        bound(
            |e| e.u_idle = Some(100.0),
            |e| e.u_idle = Some(up(100.0)),
            "u_idle",
            u,
        );
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(check(|e| e.beta = Some(v)).unwrap_err().contains(beta));
            assert!(check(|e| e.a = Some(v)).unwrap_err().contains(a));
            assert!(check(|e| e.u_idle = Some(v)).unwrap_err().contains(u));
        }
        assert_eq!(
            check(|e| (e.beta, e.a, e.u_idle) = (Some(0.16), Some(-0.01), Some(0.0))),
            Ok(())
        );
    }

    #[test]
    fn ev_id_is_1_to_64_printable_ascii_without_spaces() {
        let printable = "ev_id must be printable ASCII without spaces (bytes 0x21 to 0x7E)";
        bound(
            |e| e.id = "!".into(),
            |e| e.id = " ".into(),
            "ev_id",
            &format!("{printable}: \" \" has \" \" at character 1"),
        );
        bound(
            |e| e.id = "~".into(),
            |e| e.id = "\x7f".into(),
            "ev_id",
            &format!("{printable}: \"\\u{{7f}}\" has \"\\u{{7f}}\" at character 1"),
        );
        bound(
            |e| e.id = "x".repeat(64),
            |e| e.id = "x".repeat(65),
            "ev_id",
            "ev_id must be at most 64 characters, not 65: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\" (65 chars)",
        );
        bound(
            |e| e.id = "A".into(),
            |e| e.id = String::new(),
            "ev_id",
            "ev_id must not be empty (1 to 64 printable ASCII characters, no spaces)",
        );
        for (id, shown, at) in [
            ("a\0b", "\"a\\u{0}b\" has \"\\u{0}\"", 2),
            ("ab\x1b[31m", "\"ab\\u{1b}[31m\" has \"\\u{1b}\"", 3),
            ("\t1", "\"\\t1\" has \"\\t\"", 1),
            ("1\n", "\"1\\n\" has \"\\n\"", 2),
            ("bus 1", "\"bus 1\" has \" \"", 4),
            // Cyrillic a: looks like 'a', is not ASCII.
            ("\u{430}1", "\"\\u{430}1\" has \"\\u{430}\"", 1),
            ("1\u{a0}", "\"1\\u{a0}\" has \"\\u{a0}\"", 2),
        ] {
            let e = check(|e| e.id = id.into()).unwrap_err();
            assert!(
                e.contains(&format!("{printable}: {shown} at character {at}")),
                "{id:?}: {e}"
            );
        }
        // A huge bad id is shown cut.
        let e = check(|e| e.id = format!("\0{}", "z".repeat(1 << 20))).unwrap_err();
        assert!(e.len() < 250, "{e}");
        assert!(e.contains("…\" (1048577 chars)"), "{e}");
        // Every printable ASCII character but space is allowed.
        let all: String = ('!'..='~').collect();
        assert_eq!(check(|e| e.id = all[..64].into()), Ok(()));
        assert_eq!(check(|e| e.id = all[64..].into()), Ok(()));
    }

    #[test]
    fn file_rules_name_their_bound_line_and_column() {
        let head = format!("{HEAD},beta,a,u_idle");
        let ok = "1,bus,10000,10000,1970-01-01T00:00,2100-12-31T23:59,100,-100,100";
        assert!(load(&format!("{head}\n{ok}\n")).is_ok());
        for (row, at, rule) in [
            (
                "1,bus,1e308,1,2021-05-27T08:00,2021-05-27T09:00,,,",
                "2:3 (capacity_kwh)",
                "capacity_kwh must be a finite number > 0 and <= 10000",
            ),
            (
                "1,bus,10000.001,1,2021-05-27T08:00,2021-05-27T09:00,,,",
                "2:3 (capacity_kwh)",
                "<= 10000",
            ),
            (
                "1,bus,10,1,1969-12-31T23:59,2021-05-27T09:00,,,",
                "2:5 (arrival)",
                "arrival must lie between 1970-01-01T00:00 and 2100-12-31T23:59, not 1969-12-31T23:59",
            ),
            (
                "1,bus,10,1,2021-05-27T08:00,2101-01-01T00:00,,,",
                "2:6 (departure)",
                "departure must lie between",
            ),
            (
                "1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00,100.5,,",
                "2:7 (beta)",
                "<= 100",
            ),
            (
                "1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00,,-101,",
                "2:8 (a)",
                ">= -100",
            ),
            (
                "1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00,,,1e300",
                "2:9 (u_idle)",
                "<= 100",
            ),
            (
                "a\u{0}b,bus,10,1,2021-05-27T08:00,2021-05-27T09:00,,,",
                "2:1 (ev_id)",
                "\"a\\u{0}b\" has \"\\u{0}\" at character 2",
            ),
            (
                "b\u{430}s,bus,10,1,2021-05-27T08:00,2021-05-27T09:00,,,",
                "2:1 (ev_id)",
                "\"b\\u{430}s\" has \"\\u{430}\" at character 2",
            ),
        ] {
            let e = load(&format!("{head}\n{row}\n")).unwrap_err().to_string();
            assert!(e.starts_with(&format!("f.csv:{at}: ")), "{row}: {e}");
            assert!(e.contains(rule), "{row}: {e}");
        }
    }

    #[test]
    fn quoted_values_are_short_and_escaped() {
        let huge = "\u{1b}".repeat(1 << 20);
        for row in [
            format!("1,{huge},10,1,2021-05-27T08:00,2021-05-27T09:00"),
            format!("1,bus,{huge},1,2021-05-27T08:00,2021-05-27T09:00"),
            format!("1,bus,10,1,{huge},2021-05-27T09:00"),
        ] {
            let e = load(&format!("{HEAD}\n{row}\n")).unwrap_err().to_string();
            assert!(e.len() < 200, "{}", &e[..200]);
            assert!(
                !e.contains('\u{1b}') && e.contains("(1048576 chars)"),
                "{e}"
            );
        }
        let e = load(&format!("{HEAD},{huge}\n")).unwrap_err().to_string();
        assert!(e.len() < 250 && !e.contains('\u{1b}'), "{e}");
        assert!(e.starts_with("f.csv:1:7: unknown column \"\\u{1b}"), "{e}");
    }

    #[test]
    fn an_empty_required_cell_is_named_missing() {
        let t = "2021-05-27T08:00";
        for (row, at) in [
            (format!("1,bus,,1,{t},{t}"), "2:3 (capacity_kwh)"),
            (format!("1,bus,10,,{t},{t}"), "2:4 (initial_kwh)"),
            (format!("1,bus,10,1,,{t}"), "2:5 (arrival)"),
            (format!("1,bus,10,1,{t},"), "2:6 (departure)"),
            (format!("1,,10,1,{t},{t}"), "2:2 (kind)"),
        ] {
            let e = load(&format!("{HEAD}\n{row}\n")).unwrap_err().to_string();
            let col = at.split(['(', ')']).nth(1).unwrap();
            assert_eq!(
                e,
                format!(
                    "f.csv:{at}: {col} is missing: the cell is empty (in a table: NaN, None \
                     or NaT), and {col} is required"
                )
            );
        }
    }

    #[test]
    fn non_finite_numbers_are_refused_as_such() {
        for (v, shown) in [("inf", "\"inf\""), ("-inf", "\"-inf\""), ("NaN", "\"NaN\"")] {
            let e = load(&format!(
                "{HEAD}\n1,bus,{v},1,{},{}\n",
                "2021-05-27T08:00", "2021-05-27T09:00"
            ))
            .unwrap_err()
            .to_string();
            assert_eq!(
                e,
                format!(
                    "f.csv:2:3 (capacity_kwh): capacity_kwh must be a finite number, not {shown}"
                )
            );
        }
    }

    #[test]
    fn csv_format_errors_are_located() {
        let e = load(&format!("{HEAD}\n1,bus,10,1,2021-05-27T08:00\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.csv:2:0: the row has 5 fields, the header 6");
        let mut bytes =
            format!("{HEAD}\n1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00\n").into_bytes();
        bytes[HEAD.len() + 1] = 0xff;
        let e = Fleet::from_reader(&bytes[..], Path::new("f.csv"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.csv:2:0: the file is not valid UTF-8");
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        let e = Fleet::from_reader(Broken, Path::new("f.csv"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.csv: read failed: disk on fire");
    }

    #[test]
    fn an_empty_file_or_first_line_is_a_missing_header() {
        for text in ["", "\n", ",,\n1,2,3\n", " , \u{feff}\n"] {
            let e = load(text).unwrap_err().to_string();
            assert_eq!(
                e,
                "f.csv:1:0: no header: the first line must name the columns \
                 (ev_id,kind,capacity_kwh,initial_kwh,arrival,departure required)",
                "{text:?}"
            );
        }
        // One named column is a header, judged column by column as before.
        let e = load(",ev_id\n").unwrap_err().to_string();
        assert!(e.starts_with("f.csv:1:1: unknown column"), "{e}");
    }

    #[test]
    fn load_reads_a_file_and_names_a_missing_one() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let f = Fleet::load(&dir.join("tests/data/two_ev.csv")).unwrap();
        assert_eq!(f.len(), 2);
        assert!(!f.is_empty());
        assert!(Fleet::default().is_empty());
        let e = Fleet::load(&dir.join("no/such.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no/such.csv"), "{e}");
    }

    #[test]
    fn defaults_apply_only_where_unset() {
        let p = Params::default();
        let mut e = ev();
        assert_eq!((e.beta(&p), e.a(&p), e.u_idle(&p)), (p.beta, p.a, p.u_idle));
        (e.beta, e.a, e.u_idle) = (Some(0.5), Some(-0.5), Some(0.25));
        assert_eq!((e.beta(&p), e.a(&p), e.u_idle(&p)), (0.5, -0.5, 0.25));
    }

    #[test]
    fn each_optional_column_alone_is_written() {
        for (col, v) in [("beta", "0.5"), ("a", "-0.5"), ("u_idle", "0.25")] {
            let f = load(&format!(
                "{HEAD},{col}\n1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00,{v}\n"
            ))
            .unwrap();
            assert_eq!(load(&f.to_csv()).unwrap(), f, "{col}");
        }
    }

    #[test]
    fn limit_columns_bounds() {
        // ev(): capacity 100.
        let t = "target_kwh must be a finite number >= 0";
        bound(
            |e| e.limits.target_kwh = Some(0.0),
            |e| e.limits.target_kwh = Some(down(0.0)),
            "target_kwh",
            t,
        );
        bound(
            |e| e.limits.target_kwh = Some(100.0),
            |e| e.limits.target_kwh = Some(up(100.0)),
            "target_kwh",
            "target_kwh must be <= capacity_kwh",
        );
        let k = "max_kw must be a finite number > 0 and <= 10000";
        bound(
            |e| e.limits.max_kw = Some(up(0.0)),
            |e| e.limits.max_kw = Some(0.0),
            "max_kw",
            k,
        );
        bound(
            |e| e.limits.max_kw = Some(10_000.0),
            |e| e.limits.max_kw = Some(up(10_000.0)),
            "max_kw",
            k,
        );
        let d = "max_discharge_kw must be a finite number >= 0 and <= 10000";
        bound(
            |e| e.limits.max_discharge_kw = Some(0.0),
            |e| e.limits.max_discharge_kw = Some(down(0.0)),
            "max_discharge_kw",
            d,
        );
        bound(
            |e| e.limits.max_discharge_kw = Some(10_000.0),
            |e| e.limits.max_discharge_kw = Some(up(10_000.0)),
            "max_discharge_kw",
            d,
        );
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(check(|e| e.limits.target_kwh = Some(v))
                .unwrap_err()
                .contains(t));
            assert!(check(|e| e.limits.max_kw = Some(v))
                .unwrap_err()
                .contains(k));
            assert!(check(|e| e.limits.max_discharge_kw = Some(v))
                .unwrap_err()
                .contains(d));
        }
    }

    #[test]
    fn limits_give_per_slot_energy_and_targets() {
        let p = Params::default();
        let mut e = ev();
        assert!(e.limits.is_none());
        assert_eq!(e.target_kwh(&p), 0.0);
        assert_eq!(e.max_charge_kwh(), f64::INFINITY);
        assert_eq!(e.max_discharge_kwh(), f64::INFINITY);
        let p8 = Params {
            min_departure_soc: 0.8,
            ..Params::default()
        };
        assert_eq!(e.target_kwh(&p8), 80.0);
        e.limits.target_kwh = Some(30.0);
        assert!(!e.limits.is_none());
        assert_eq!(e.target_kwh(&p8), 30.0);
        e.limits.max_kw = Some(7.0);
        assert_eq!(e.max_charge_kwh(), 1.75);
        assert_eq!(e.max_discharge_kwh(), 1.75, "max_kw by default");
        e.limits.max_discharge_kw = Some(2.0);
        assert_eq!(e.max_discharge_kwh(), 0.5);
        assert_eq!(e.max_charge_kwh(), 1.75);
    }

    #[test]
    fn limit_columns_are_read_written_and_located() {
        let text = format!(
            "{HEAD},target_kwh,max_kw,max_discharge_kw\n\
             1,bus,160,57.2,2021-05-27T16:00,2021-05-28T06:30,120,60,\n\
             2,private,40,0,2021-05-27T08:00,2021-05-27T09:00,,7.2,0\n"
        );
        let f = load(&text).unwrap();
        assert_eq!(
            f.evs()[0].limits,
            Limits {
                target_kwh: Some(120.0),
                max_kw: Some(60.0),
                max_discharge_kw: None
            }
        );
        assert_eq!(f.evs()[1].limits.max_discharge_kw, Some(0.0));
        let csv = f.to_csv();
        assert!(csv.starts_with(&format!(
            "{HEAD},beta,a,u_idle,target_kwh,max_kw,max_discharge_kw\n"
        )));
        assert_eq!(load(&csv).unwrap(), f);
        // Only a limit set: the limit columns are written (after empty beta, a, u_idle).
        let one = load(&format!(
            "{HEAD},max_kw\n1,bus,160,57.2,2021-05-27T16:00,2021-05-28T06:30,11\n"
        ))
        .unwrap();
        assert_eq!(load(&one.to_csv()).unwrap(), one);
        assert!(one.to_csv().contains(",,,,11,\n"), "{}", one.to_csv());
        // Without limits the paper's columns only.
        let plain = load(&format!(
            "{HEAD},beta\n1,bus,160,57.2,2021-05-27T16:00,2021-05-28T06:30,0.2\n"
        ))
        .unwrap();
        assert!(plain
            .to_csv()
            .starts_with(&format!("{HEAD},beta,a,u_idle\n")));
        // A bad value names its line and column.
        let e = load(&format!(
            "{HEAD},target_kwh\n1,bus,160,57.2,2021-05-27T16:00,2021-05-28T06:30,161\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("f.csv:2:7 (target_kwh): target_kwh must be <= capacity_kwh"),
            "{e}"
        );
    }

    /// Sessions of one EV: `(arrival hour, departure hour)` on 2021-05-27, in file order.
    fn sessions(hours: &[(u32, u32)]) -> String {
        let mut t = format!("{HEAD}\n");
        for (a, d) in hours {
            t += &format!("car,private,60,10,2021-05-27T{a:02}:00,2021-05-27T{d:02}:00\n");
        }
        t
    }

    #[test]
    fn an_ev_may_plug_in_again_once_it_has_left() {
        // Back to back (arrival = the last departure), with a gap, and out of file order.
        for hours in [
            vec![(8, 10), (10, 12)],
            vec![(8, 10), (14, 16), (18, 20)],
            vec![(14, 16), (8, 10), (10, 12)],
        ] {
            let f = load(&sessions(&hours)).unwrap();
            assert_eq!((f.len(), f.n_evs()), (hours.len(), 1));
            assert_eq!(f.wallets(), vec![0; hours.len()]);
        }
        // Overlaps by a minute, contains, is contained, starts together: refused on the
        // later row of the file, at the column that overlaps, naming the other row.
        for (hours, at, other) in [
            (vec![(8, 10), (9, 12)], "f.csv:3:5 (arrival)", "on line 2"),
            (vec![(9, 12), (8, 10)], "f.csv:3:6 (departure)", "on line 2"),
            (vec![(8, 16), (14, 15)], "f.csv:3:5 (arrival)", "on line 2"),
            (
                vec![(14, 15), (8, 16)],
                "f.csv:3:6 (departure)",
                "on line 2",
            ),
            (
                vec![(8, 10), (12, 14), (13, 15)],
                "f.csv:4:5 (arrival)",
                "on line 3",
            ),
            (
                vec![(8, 10), (12, 14), (7, 9)],
                "f.csv:4:6 (departure)",
                "on line 2",
            ),
        ] {
            let e = load(&sessions(&hours)).unwrap_err().to_string();
            assert!(e.starts_with(at) && e.contains(other), "{hours:?}: {e}");
            assert!(e.contains("must not overlap"), "{e}");
        }
        let e = load(&format!(
            "{HEAD}\ncar,private,60,10,2021-05-27T08:00,2021-05-27T10:00\n\
             car,private,60,10,2021-05-27T09:59,2021-05-27T11:00\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("f.csv:3:5 (arrival)"), "{e}");
        // Other EVs are not affected by one EV's sessions.
        let f = load(&format!(
            "{HEAD}\na,bus,100,10,2021-05-27T08:00,2021-05-27T10:00\n\
             b,bus,100,10,2021-05-27T08:00,2021-05-27T10:00\n\
             a,bus,100,50,2021-05-27T10:00,2021-05-27T11:00\n"
        ))
        .unwrap();
        assert_eq!((f.len(), f.n_evs()), (3, 2));
        assert_eq!(f.wallets(), vec![0, 1, 0]);
    }

    #[test]
    fn an_evs_sessions_describe_one_car() {
        let two = |second: &str| {
            load(&format!(
                "{HEAD}\ncar,private,60,10,2021-05-27T08:00,2021-05-27T10:00\n{second}\n"
            ))
        };
        assert!(two("car,private,60,59,2021-05-27T11:00,2021-05-27T12:00").is_ok());
        let e = two("car,bus,60,10,2021-05-27T11:00,2021-05-27T12:00")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "f.csv:3:2 (kind): kind must be the same on every session of EV \"car\": bus \
             here, private on line 2"
        );
        let e = two("car,private,61,10,2021-05-27T11:00,2021-05-27T12:00")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "f.csv:3:3 (capacity_kwh): capacity_kwh must be the same on every session of EV \
             \"car\": 61 here, 60 on line 2"
        );
        // The first broken row of the file is reported, whichever rule it breaks.
        let e = load(&format!(
            "{HEAD}\ncar,private,60,10,2021-05-27T08:00,2021-05-27T10:00\n\
             car,private,60,10,2021-05-27T09:00,2021-05-27T12:00\n\
             car,bus,60,10,2021-05-27T13:00,2021-05-27T14:00\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("f.csv:3:5 (arrival)"), "{e}");
    }

    #[test]
    fn session_ids_are_unique_printable_names() {
        let head = format!("{HEAD},session_id");
        let row = |id: &str, s: &str, h: u32| {
            format!(
                "{id},private,60,10,2021-05-27T{h:02}:00,2021-05-27T{:02}:00,{s}\n",
                h + 1
            )
        };
        let f = load(&format!(
            "{head}\n{}{}{}",
            row("car", "s1", 8),
            row("car", "s2", 10),
            row("van", "", 8)
        ))
        .unwrap();
        let names: Vec<Option<&str>> = f.evs().iter().map(|e| e.session_id.as_deref()).collect();
        assert_eq!(names, [Some("s1"), Some("s2"), None]);
        // Written right after ev_id, and read back the same.
        let csv = f.to_csv();
        assert!(
            csv.starts_with(
                "ev_id,session_id,kind,capacity_kwh,initial_kwh,arrival,departure\ncar,s1,"
            ),
            "{csv}"
        );
        assert_eq!(load(&csv).unwrap(), f);
        let e = load(&format!(
            "{head}\n{}{}",
            row("car", "s1", 8),
            row("van", "s1", 8)
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "f.csv:3:7 (session_id): session_id must be unique: \"s1\" is also on line 2"
        );
        let e = load(&format!("{head}\n{}", row("car", "s\u{e9}", 8)))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("f.csv:2:7 (session_id): session_id must be printable ASCII"),
            "{e}"
        );
        let long = "s".repeat(MAX_ID_CHARS + 1);
        let e = load(&format!("{head}\n{}", row("car", &long, 8)))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("f.csv:2:7 (session_id): session_id must be at most 64"),
            "{e}"
        );
        assert!(load(&format!("{head}\n{}", row("car", &long[1..], 8))).is_ok());
        // Built in code: the same rules, located by index.
        let mut a = ev();
        a.session_id = Some(String::new());
        let e = Fleet::new(vec![a]).unwrap_err().to_string();
        assert!(
            e.starts_with("<fleet>:1:0 (session_id): session_id must not be empty"),
            "{e}"
        );
        let mut a = ev();
        a.session_id = Some("x".into());
        let mut b = ev();
        b.id = "2".into();
        b.session_id = Some("x".into());
        let e = Fleet::new(vec![a.clone(), b]).unwrap_err().to_string();
        assert!(
            e.starts_with("<fleet>:2:0 (session_id)") && e.contains("line 1"),
            "{e}"
        );
        a.session_id = None;
        let e = Fleet::new(vec![a.clone(), a]).unwrap_err().to_string();
        assert!(e.starts_with("<fleet>:2:0 (arrival)"), "{e}");
    }

    #[test]
    fn the_follower_state_carries_the_row_and_the_scenario_s_options() {
        let p = Params {
            min_trade_kwh: 0.002,
            charge_efficiency: 0.9,
            discharge_efficiency: 0.8,
            min_departure_soc: 0.5,
            ..Params::default()
        };
        let mut e = ev();
        e.beta = Some(0.3);
        e.limits.max_kw = Some(8.0);
        e.limits.max_discharge_kw = Some(4.0);
        let s = e.state(&p);
        assert_eq!((s.energy_kwh, s.capacity_kwh), (10.0, 100.0));
        assert_eq!((s.beta, s.a, s.u_idle), (0.3, p.a, p.u_idle));
        assert_eq!((s.max_charge_kwh, s.max_discharge_kwh), (2.0, 1.0));
        assert_eq!(s.target_kwh, 50.0);
        assert_eq!(s.min_trade_kwh, 0.002);
        assert_eq!((s.eta_c, s.eta_d), (0.9, 0.8));
    }

    #[test]
    fn wallet_index_points_at_each_evs_first_session() {
        assert_eq!(
            wallet_index(["a", "b", "a", "c", "b", "a"]),
            [0, 1, 0, 3, 1, 0]
        );
        assert_eq!(wallet_index([]), Vec::<usize>::new());
        let ids = ["a", "b", "a", "c", "b", "a"];
        assert_eq!(count_evs(ids), 3);
        assert_eq!(wallet_count(&wallet_index(ids)), 3);
        assert_eq!((count_evs([]), wallet_count(&[])), (0, 0));
        assert_eq!(wallet_count(&wallet_index(["x", "y"])), 2);
    }

    #[test]
    fn csv_round_trip() {
        let f = load(&format!(
            "{HEAD},beta,a,u_idle\n1,bus,160,57.2,2021-05-27T16:00,2021-05-28T06:30,,,0.5\n2,private,40,0,2021-05-27T08:00,2021-05-27T09:00,0.2,,\n"
        ))
        .unwrap();
        assert_eq!(load(&f.to_csv()).unwrap(), f);
    }
}
