//! The fleet: one row per plug-in session (MODEL.md section 6).
//!
//! `ev_id,kind,capacity_kwh,initial_kwh,arrival,departure[,beta][,a][,u_idle]`
//!
//! A [`Fleet`] can only be built through validation, so a `Fleet` never holds a negative
//! capacity, a departure before its arrival or a duplicate id.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::data::scenario::Params;
use crate::data::time::{format_time, parse_time};
use crate::error::{Error, Result};

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
    /// Unique id.
    pub id: String,
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
}

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
}

/// A validated fleet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fleet {
    evs: Vec<Ev>,
}

const REQUIRED: [&str; 6] = [
    "ev_id",
    "kind",
    "capacity_kwh",
    "initial_kwh",
    "arrival",
    "departure",
];
const OPTIONAL: [&str; 3] = ["beta", "a", "u_idle"];

/// The rule an EV breaks, if any, as (column name, rule).
fn check_ev(ev: &Ev) -> Option<(&'static str, &'static str)> {
    if !ev.capacity_kwh.is_finite() || ev.capacity_kwh <= 0.0 {
        return Some(("capacity_kwh", "capacity_kwh must be a finite number > 0"));
    }
    if !ev.initial_kwh.is_finite() || ev.initial_kwh < 0.0 {
        return Some(("initial_kwh", "initial_kwh must be a finite number >= 0"));
    }
    if ev.initial_kwh > ev.capacity_kwh {
        return Some(("initial_kwh", "initial_kwh must be <= capacity_kwh"));
    }
    if ev.departure <= ev.arrival {
        return Some(("departure", "departure must be after arrival"));
    }
    if let Some(b) = ev.beta {
        if !b.is_finite() || b <= 0.0 {
            return Some(("beta", "beta must be a finite number > 0"));
        }
    }
    if let Some(a) = ev.a {
        if !a.is_finite() || a > 0.0 {
            return Some(("a", "a must be a finite number <= 0"));
        }
    }
    if let Some(u) = ev.u_idle {
        if !u.is_finite() || u < 0.0 {
            return Some((
                "u_idle",
                "u_idle must be a finite number >= 0 (with u_idle < 0 no best response exists)",
            ));
        }
    }
    None
}

impl Fleet {
    /// Validates EVs built in code; errors name the EV's index as its line.
    pub fn new(evs: Vec<Ev>) -> Result<Self> {
        let mut seen = HashSet::with_capacity(evs.len());
        for (i, ev) in evs.iter().enumerate() {
            if let Some((col, rule)) = check_ev(ev) {
                return Err(Error::input("<fleet>", i as u64 + 1, 0, col, rule));
            }
            if !seen.insert(ev.id.as_str()) {
                return Err(Error::input(
                    "<fleet>",
                    i as u64 + 1,
                    0,
                    "ev_id",
                    format!("ev_id must be unique: '{}' appears twice", ev.id),
                ));
            }
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
        let mut seen: HashSet<String> = HashSet::new();
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
            if id.is_empty() {
                return Err(f.err("ev_id", "ev_id must not be empty"));
            }
            let kind = match f.str("kind")? {
                "bus" => Kind::Bus,
                "private" => Kind::Private,
                other => {
                    return Err(f.err(
                        "kind",
                        format!("kind must be 'bus' or 'private', not '{other}'"),
                    ))
                }
            };
            let ev = Ev {
                id: id.to_string(),
                kind,
                capacity_kwh: f.num("capacity_kwh")?,
                initial_kwh: f.num("initial_kwh")?,
                arrival: f.time("arrival")?,
                departure: f.time("departure")?,
                beta: f.opt_num("beta")?,
                a: f.opt_num("a")?,
                u_idle: f.opt_num("u_idle")?,
            };
            if let Some((col, rule)) = check_ev(&ev) {
                return Err(f.err(col, rule));
            }
            if !seen.insert(ev.id.clone()) {
                return Err(f.err(
                    "ev_id",
                    format!("ev_id must be unique: '{}' appears twice", ev.id),
                ));
            }
            evs.push(ev);
        }
        if evs.is_empty() {
            return Err(Error::input(path, 2, 0, "", "the fleet has no sessions"));
        }
        Ok(Fleet { evs })
    }

    /// Writes the fleet as CSV (all columns; empty optional fields where unset).
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let any_opt = self
            .evs
            .iter()
            .any(|e| e.beta.is_some() || e.a.is_some() || e.u_idle.is_some());
        let mut header: Vec<&str> = REQUIRED.to_vec();
        if any_opt {
            header.extend_from_slice(&OPTIONAL);
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
            if any_opt {
                row.extend([opt(e.beta), opt(e.a), opt(e.u_idle)]);
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

    /// True when there is no session.
    pub fn is_empty(&self) -> bool {
        self.evs.is_empty()
    }
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
        _ => e.to_string(),
    };
    Error::input(path, line, 0, "", rule)
}

/// Column indices of a CSV header.
pub(crate) struct Columns {
    names: Vec<(&'static str, Option<usize>)>,
}

impl Columns {
    /// Maps required and optional column names to their index; unknown or missing
    /// required columns and duplicates are errors on line 1.
    pub(crate) fn new(
        header: &csv::StringRecord,
        required: &[&'static str],
        optional: &[&'static str],
        path: &Path,
    ) -> Result<Self> {
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
                        h,
                        format!("unknown column '{h}' (expected {})", expected.join(",")),
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

    fn opt_str(&self, col: &str) -> Option<&str> {
        let s = self.cols.index(col).and_then(|i| self.record.get(i))?;
        (!s.is_empty()).then_some(s)
    }

    pub(crate) fn num(&self, col: &str) -> Result<f64> {
        let s = self.str(col)?;
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
            Ok(_) => Err(self.err(col, format!("{col} must be a finite number, not '{s}'"))),
            Err(_) => Err(self.err(col, format!("{col} must be a number, not '{s}'"))),
        }
    }

    pub(crate) fn time(&self, col: &str) -> Result<NaiveDateTime> {
        let s = self.str(col)?;
        parse_time(s).ok_or_else(|| {
            self.err(
                col,
                format!("{col} must be a time YYYY-MM-DDTHH:MM[:SS], not '{s}'"),
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
    fn duplicate_ids_and_bad_optionals_are_rejected() {
        let e = load(&format!(
            "{HEAD}\n1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00\n1,bus,10,1,2021-05-27T08:00,2021-05-27T09:00\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("f.csv:3:1") && e.contains("unique"), "{e}");
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
        assert!(e.contains("no sessions"), "{e}");
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
