//! Grid signals: the operator's per-slot base load, auxiliary-service task `E_limit` and
//! optional real-time price (docs/model.md §6), delivered by the oracle (step 3).
//!
//! `time,base_load_kw,e_limit_kwh[,p_rt]`

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::data::fleet::{csv_error, open_csv, Fields};
use crate::data::time::{format_time, time_rule, Horizon, SLOT_MINUTES};
use crate::error::{Error, Result};

/// One row of the grid-signal file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridRow {
    /// Slot start.
    pub time: NaiveDateTime,
    /// Campus base load, kW.
    pub base_load_kw: f64,
    /// Auxiliary-service task `E_limit(t) >= 0`, kWh.
    pub e_limit_kwh: f64,
    /// Real-time price replacing the tariff, CNY/kWh.
    pub p_rt: Option<f64>,
}

/// Validated grid signals, keyed by slot start time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridSignals {
    rows: Vec<GridRow>,
    by_time: HashMap<NaiveDateTime, usize>,
    /// Each row's line (of the file, or 1-based index of the rows made in code).
    lines: Vec<u64>,
    /// The file the rows came from, for errors naming a missing slot.
    source: Option<PathBuf>,
}

/// The grid file's required columns, in the order it is written (docs/model.md §6.2).
pub const REQUIRED: [&str; 3] = ["time", "base_load_kw", "e_limit_kwh"];
/// The grid file's optional columns (docs/model.md §6.2).
pub const OPTIONAL: [&str; 1] = ["p_rt"];

/// Largest `base_load_kw` and `e_limit_kwh` (10 GW, 10 GWh: far above any campus or
/// feeder, yet small enough that every sum and figure axis stays finite).
pub const MAX_GRID_VALUE: f64 = 1e7;
/// Largest `p_rt`, CNY/kWh (Table III's peak is 1.16).
pub const MAX_P_RT: f64 = 100.0;

impl GridSignals {
    /// Builds signals from rows made in code (validated like a file).
    pub fn new(rows: Vec<GridRow>) -> Result<Self> {
        let mut by_time = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let line = i as u64 + 1;
            if let Some((col, rule)) = check_row(r) {
                return Err(Error::input("<grid>", line, 0, col, rule));
            }
            if by_time.insert(r.time, i).is_some() {
                return Err(Error::input("<grid>", line, 0, "time", dup_rule(r.time)));
            }
        }
        Ok(GridSignals {
            lines: (1..=rows.len() as u64).collect(),
            rows,
            by_time,
            source: None,
        })
    }

    /// Reads and validates a grid-signal CSV file.
    pub fn load(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(file, path)
    }

    /// Reads and validates grid-signal CSV from a reader; `path` names it in errors.
    pub fn from_reader(reader: impl Read, path: &Path) -> Result<Self> {
        let (mut rdr, cols) = open_csv(reader, path, &REQUIRED, &OPTIONAL)?;
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        let mut by_time = HashMap::new();
        let mut record = csv::StringRecord::new();
        while rdr
            .read_record(&mut record)
            .map_err(|e| csv_error(path, e))?
        {
            let line = record.position().map_or(0, |p| p.line());
            let f = Fields {
                record: &record,
                cols: &cols,
                path,
                line,
            };
            let row = GridRow {
                time: f.time("time")?,
                base_load_kw: f.num("base_load_kw")?,
                e_limit_kwh: f.num("e_limit_kwh")?,
                p_rt: f.opt_num("p_rt")?,
            };
            if let Some((col, rule)) = check_row(&row) {
                return Err(f.err(col, rule));
            }
            if by_time.insert(row.time, rows.len()).is_some() {
                return Err(f.err("time", dup_rule(row.time)));
            }
            rows.push(row);
            lines.push(line);
        }
        Ok(GridSignals {
            rows,
            by_time,
            lines,
            source: Some(path.to_path_buf()),
        })
    }

    /// The rows, in file order.
    pub fn rows(&self) -> &[GridRow] {
        &self.rows
    }

    /// The row for a slot start time.
    pub fn at(&self, t: NaiveDateTime) -> Option<&GridRow> {
        self.by_time.get(&t).map(|&i| &self.rows[i])
    }

    /// One row per slot of the horizon, or an error naming the first slot with no row.
    ///
    /// The error names the file without a line (line 0): the missing row is nowhere in it.
    pub fn for_horizon(&self, h: &Horizon) -> Result<Vec<GridRow>> {
        let file = || {
            self.source
                .clone()
                .unwrap_or_else(|| PathBuf::from("<grid>"))
        };
        // A row inside the horizon but off its slot starts would match no slot: refused
        // rather than silently left out (rows outside the horizon are not used).
        let off_start = self.rows.iter().enumerate().find_map(|(i, r)| {
            let t = h.slot_containing(r.time)?;
            (h.slot_start(t) != r.time).then_some((i, r, t))
        });
        if let Some((i, r, t)) = off_start {
            return Err(Error::input(
                file(),
                self.lines[i],
                0,
                "time",
                format!(
                    "{} falls inside slot {t} ({}) of the horizon but is not a slot start: slots start every {SLOT_MINUTES} minutes from {}",
                    format_time(r.time),
                    format_time(h.slot_start(t)),
                    format_time(h.start)
                ),
            ));
        }
        (0..h.slots)
            .map(|t| {
                let time = h.slot_start(t);
                self.at(time).copied().ok_or_else(|| {
                    Error::input(
                        file(),
                        0,
                        0,
                        "time",
                        format!(
                            "no row for slot {t} ({}) of the horizon: every slot needs one",
                            format_time(time)
                        ),
                    )
                })
            })
            .collect()
    }

    /// Writes the signals as CSV (with the `p_rt` column when any row has one).
    pub fn to_csv(&self) -> String {
        let with_p = self.rows.iter().any(|r| r.p_rt.is_some());
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut head = REQUIRED.to_vec();
        if with_p {
            head.push("p_rt");
        }
        w.write_record(&head).expect("in-memory write");
        for r in &self.rows {
            let mut rec = vec![
                format_time(r.time),
                r.base_load_kw.to_string(),
                r.e_limit_kwh.to_string(),
            ];
            if with_p {
                rec.push(r.p_rt.map(|p| p.to_string()).unwrap_or_default());
            }
            w.write_record(&rec).expect("in-memory write");
        }
        String::from_utf8(w.into_inner().expect("in-memory flush")).expect("utf-8")
    }
}

fn dup_rule(t: NaiveDateTime) -> String {
    format!("time must be unique: {} appears twice", format_time(t))
}

/// The rule a row breaks, if any, as (column name, rule). Bounds are inclusive; a NaN or
/// infinity breaks every bound.
fn check_row(r: &GridRow) -> Option<(&'static str, String)> {
    if let Some(rule) = time_rule(r.time, true) {
        return Some(("time", format!("time {rule}")));
    }
    if !(0.0..=MAX_GRID_VALUE).contains(&r.base_load_kw) {
        return Some((
            "base_load_kw",
            format!("base_load_kw must be a finite number >= 0 and <= {MAX_GRID_VALUE:e}"),
        ));
    }
    if !(0.0..=MAX_GRID_VALUE).contains(&r.e_limit_kwh) {
        return Some((
            "e_limit_kwh",
            format!("e_limit_kwh must be a finite number >= 0 and <= {MAX_GRID_VALUE:e}"),
        ));
    }
    if let Some(p) = r.p_rt {
        if !(0.0..=MAX_P_RT).contains(&p) {
            return Some((
                "p_rt",
                format!("p_rt must be a finite number >= 0 and <= {MAX_P_RT}"),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<GridSignals> {
        GridSignals::from_reader(text.as_bytes(), Path::new("g.csv"))
    }

    #[test]
    fn rows_match_by_time_not_position() {
        let g = load("time,base_load_kw,e_limit_kwh,p_rt\n2021-05-27T07:15,10,5,\n2021-05-27T07:00,9,4,0.3\n").unwrap();
        let h = Horizon {
            start: crate::data::time::parse_time("2021-05-27T07:00").unwrap(),
            slots: 2,
        };
        let rows = g.for_horizon(&h).unwrap();
        assert_eq!(rows[0].e_limit_kwh, 4.0);
        assert_eq!(rows[0].p_rt, Some(0.3));
        assert_eq!(rows[1].p_rt, None);
        let h3 = Horizon { slots: 3, ..h };
        let e = g.for_horizon(&h3).unwrap_err().to_string();
        // The file has 3 lines: no line past its end is named.
        assert_eq!(
            e,
            "g.csv (time): no row for slot 2 (2021-05-27T07:30) of the horizon: every slot needs one"
        );
        let e = GridSignals::new(vec![])
            .unwrap()
            .for_horizon(&h)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "<grid> (time): no row for slot 0 (2021-05-27T07:00) of the horizon: every slot needs one"
        );
    }

    #[test]
    fn a_row_inside_the_horizon_off_its_slot_starts_is_refused() {
        let text = "time,base_load_kw,e_limit_kwh\n2021-05-27T06:50,1,0\n2021-05-27T07:00,1,0\n2021-05-27T07:15,1,0\n2021-05-27T07:20,1,9\n2021-05-27T07:35,1,0\n";
        let g = load(text).unwrap();
        let h = |start: &str, slots| Horizon {
            start: crate::data::time::parse_time(start).unwrap(),
            slots,
        };
        // Outside the horizon (before it, or from its end on) a row is not used.
        g.for_horizon(&h("2021-05-27T07:00", 1)).unwrap();
        let e = g
            .for_horizon(&h("2021-05-27T07:00", 2))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "g.csv:5:0 (time): 2021-05-27T07:20 falls inside slot 1 (2021-05-27T07:15) of the horizon but is not a slot start: slots start every 15 minutes from 2021-05-27T07:00"
        );
        // Rows made in code are named by their 1-based index.
        let made = GridSignals::new(g.rows().to_vec()).unwrap();
        let e = made
            .for_horizon(&h("2021-05-27T06:50", 1))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("<grid>:2:0 (time): 2021-05-27T07:00 falls inside slot 0"),
            "{e}"
        );
        // On a horizon whose slots it starts, the same row is used.
        let rows = g.for_horizon(&h("2021-05-27T07:20", 2)).unwrap();
        assert_eq!(rows[0].e_limit_kwh, 9.0);
    }

    #[test]
    fn rules() {
        let head = "time,base_load_kw,e_limit_kwh,p_rt";
        for (row, at, word) in [
            ("2021-05-27T07:00,1,-1,", "2:3", "e_limit_kwh"),
            ("2021-05-27T07:00,inf,1,", "2:2", "finite"),
            ("2021-05-27T07:00,1,1,-0.5", "2:4", "p_rt"),
            ("07:00,1,1,", "2:1", "time"),
        ] {
            let e = load(&format!("{head}\n{row}\n")).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("g.csv:{at}")) && e.contains(word),
                "{e}"
            );
        }
        let e = load(&format!(
            "{head}\n2021-05-27T07:00,1,1,\n2021-05-27T07:00,1,1,\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("g.csv:3:1") && e.contains("unique"), "{e}");
    }

    /// The next float above / below `x` (`f64::next_up` needs Rust 1.86).
    fn up(x: f64) -> f64 {
        if x == 0.0 {
            f64::from_bits(1)
        } else {
            f64::from_bits(x.to_bits() + 1)
        }
    }

    fn row() -> GridRow {
        GridRow {
            time: crate::data::time::parse_time("2021-05-27T07:00").unwrap(),
            base_load_kw: 3000.0,
            e_limit_kwh: 10.0,
            p_rt: Some(0.66),
        }
    }

    /// Asserts the row changed by `f` is accepted and by `g` refused with `rule` on `col`.
    fn bound(f: impl FnOnce(&mut GridRow), g: impl FnOnce(&mut GridRow), col: &str, rule: &str) {
        let (mut a, mut b) = (row(), row());
        f(&mut a);
        g(&mut b);
        assert!(GridSignals::new(vec![a]).is_ok(), "{col}: just inside");
        let e = GridSignals::new(vec![b]).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("<grid>:1:0 ({col}): ")) && e.contains(rule),
            "{col}: just outside: {e}"
        );
    }

    #[test]
    fn load_reads_a_file_and_names_a_missing_one() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let g = GridSignals::load(&dir.join("tests/data/two_ev_grid.csv")).unwrap();
        assert_eq!(g.rows().len(), 2);
        assert_eq!(g.rows()[1].e_limit_kwh, 3.75);
        let e = GridSignals::load(&dir.join("no/such_grid.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no/such_grid.csv"), "{e}");
    }

    #[test]
    fn value_bounds() {
        let load = "base_load_kw must be a finite number >= 0 and <= 1e7";
        bound(
            |r| r.base_load_kw = 0.0,
            |r| r.base_load_kw = -up(0.0),
            "base_load_kw",
            load,
        );
        bound(
            |r| r.base_load_kw = 1e7,
            |r| r.base_load_kw = up(1e7),
            "base_load_kw",
            load,
        );
        let lim = "e_limit_kwh must be a finite number >= 0 and <= 1e7";
        bound(
            |r| r.e_limit_kwh = 0.0,
            |r| r.e_limit_kwh = -up(0.0),
            "e_limit_kwh",
            lim,
        );
        bound(
            |r| r.e_limit_kwh = 1e7,
            |r| r.e_limit_kwh = up(1e7),
            "e_limit_kwh",
            lim,
        );
        let p = "p_rt must be a finite number >= 0 and <= 100";
        bound(
            |r| r.p_rt = Some(0.0),
            |r| r.p_rt = Some(-up(0.0)),
            "p_rt",
            p,
        );
        bound(
            |r| r.p_rt = Some(100.0),
            |r| r.p_rt = Some(up(100.0)),
            "p_rt",
            p,
        );
        bound(|r| r.p_rt = None, |r| r.p_rt = Some(1e300), "p_rt", p);
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e308] {
            bound(|_| (), |r| r.base_load_kw = v, "base_load_kw", load);
            bound(|_| (), |r| r.e_limit_kwh = v, "e_limit_kwh", lim);
            bound(|_| (), |r| r.p_rt = Some(v), "p_rt", p);
        }
    }

    #[test]
    fn time_bounds_and_whole_minutes() {
        use crate::data::time::{MAX_TIME, MIN_TIME};
        let sec = chrono::Duration::seconds(1);
        let bounds = "time must lie between 1970-01-01T00:00 and 2100-12-31T23:59, not";
        bound(
            |r| r.time = MIN_TIME,
            |r| r.time = MIN_TIME - sec,
            "time",
            bounds,
        );
        bound(
            |r| r.time = MAX_TIME,
            |r| r.time = MAX_TIME + sec,
            "time",
            bounds,
        );
        let t0 = row().time;
        bound(
            |r| r.time = t0 + chrono::Duration::minutes(1),
            |r| r.time = t0 + sec,
            "time",
            "time must lie on a whole minute (seconds 0), not 2021-05-27T07:00:01",
        );
    }

    #[test]
    fn file_rules_name_their_bound_line_and_column() {
        let head = "time,base_load_kw,e_limit_kwh,p_rt";
        let ok = "2100-12-31T23:59:00,1e7,10000000,100";
        assert!(load(&format!("{head}\n{ok}\n")).is_ok());
        for (row, at, rule) in [
            (
                "2021-05-27T07:00:30,1,1,",
                "2:1 (time)",
                "time must lie on a whole minute (seconds 0), not 2021-05-27T07:00:30",
            ),
            (
                "1969-12-31T23:45,1,1,",
                "2:1 (time)",
                "time must lie between 1970-01-01T00:00 and 2100-12-31T23:59, not 1969-12-31T23:45",
            ),
            (
                "2021-05-27T07:00,-5,1,",
                "2:2 (base_load_kw)",
                "base_load_kw must be a finite number >= 0 and <= 1e7",
            ),
            (
                "2021-05-27T07:00,1,1e308,",
                "2:3 (e_limit_kwh)",
                "e_limit_kwh must be a finite number >= 0 and <= 1e7",
            ),
            (
                "2021-05-27T07:00,1,1,1e300",
                "2:4 (p_rt)",
                "p_rt must be a finite number >= 0 and <= 100",
            ),
        ] {
            let e = load(&format!("{head}\n{row}\n")).unwrap_err().to_string();
            assert!(e.starts_with(&format!("g.csv:{at}: ")), "{row}: {e}");
            assert!(e.contains(rule), "{row}: {e}");
        }
    }
}
