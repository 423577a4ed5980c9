//! Grid signals: the operator's per-slot base load, auxiliary-service task `E_limit` and
//! optional real-time price (MODEL.md section 6), delivered by the oracle (step 3).
//!
//! `time,base_load_kw,e_limit_kwh[,p_rt]`

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::data::fleet::{csv_error, open_csv, Fields};
use crate::data::time::{format_time, Horizon};
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
    /// The file the rows came from, for errors naming a missing slot.
    source: Option<PathBuf>,
    /// Number of lines read (header included), for errors at the end of the file.
    lines: u64,
}

const REQUIRED: [&str; 3] = ["time", "base_load_kw", "e_limit_kwh"];
const OPTIONAL: [&str; 1] = ["p_rt"];

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
        let lines = rows.len() as u64 + 1;
        Ok(GridSignals {
            rows,
            by_time,
            source: None,
            lines,
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
        let mut by_time = HashMap::new();
        let mut record = csv::StringRecord::new();
        let mut lines = 1;
        while rdr
            .read_record(&mut record)
            .map_err(|e| csv_error(path, e))?
        {
            let line = record.position().map_or(0, |p| p.line());
            lines = line;
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
        }
        Ok(GridSignals {
            rows,
            by_time,
            source: Some(path.to_path_buf()),
            lines,
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
    pub fn for_horizon(&self, h: &Horizon) -> Result<Vec<GridRow>> {
        (0..h.slots)
            .map(|t| {
                let time = h.slot_start(t);
                self.at(time).copied().ok_or_else(|| {
                    let file = self
                        .source
                        .clone()
                        .unwrap_or_else(|| PathBuf::from("<grid>"));
                    Error::input(
                        file,
                        self.lines + 1,
                        1,
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

fn check_row(r: &GridRow) -> Option<(&'static str, &'static str)> {
    if !r.base_load_kw.is_finite() {
        return Some(("base_load_kw", "base_load_kw must be a finite number"));
    }
    if !r.e_limit_kwh.is_finite() || r.e_limit_kwh < 0.0 {
        return Some(("e_limit_kwh", "e_limit_kwh must be a finite number >= 0"));
    }
    if let Some(p) = r.p_rt {
        if !p.is_finite() || p < 0.0 {
            return Some(("p_rt", "p_rt must be a finite number >= 0"));
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
        assert!(
            e.starts_with("g.csv:4:1") && e.contains("2021-05-27T07:30"),
            "{e}"
        );
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
}
