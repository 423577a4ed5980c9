//! The sweep's table, `sweep.csv`, and the merge that builds it from a sweep's folder.
//!
//! One row per point, sorted by id: `id`, one column per swept key (named as in the
//! spec, the point's value as written there), then the headline results of the point's
//! `summary.json` — `revenue` (the EVA's `Σ R`, CNY), `profit_cny` (the EVA's net cash,
//! CNY), `net_cost_cny` (the EVs' net cost under the scheme, CNY), `aux_share_met` (share
//! of the auxiliary task met, empty when none was asked), `charged_kwh`,
//! `discharged_kwh`, `final_kwh` (the EVs' energy at departure) — then `wall_s` (the
//! point's wall time, seconds) and `error` (why it failed; empty when it ran). Numbers
//! are written in Rust's shortest round-trip form, so they equal `summary.json`'s bit for
//! bit. A failed point's results are empty.

use std::path::{Path, PathBuf};

use crate::error::{excerpt, Error, Result};
use crate::report::output::{read_summary, write_atomic};
use crate::report::summary::Summary;
use crate::sweep::plan::Manifest;
use crate::sweep::{figures, outputs_match, read_sidecar, run_dir, Status, SWEEP_FILES};

/// The result columns of `sweep.csv`, after `id` and the swept keys.
pub const RESULT_COLUMNS: [&str; 12] = [
    "revenue",
    "profit_cny",
    "net_cost_cny",
    "aux_share_met",
    "charged_kwh",
    "discharged_kwh",
    "final_kwh",
    "system_cost_cny",
    "wear_cny",
    "peak_load_kw",
    "wall_s",
    "error",
];

/// The headline results of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Headline {
    /// The EVA's revenue `Σ R`, CNY.
    pub revenue: f64,
    /// The EVA's net cash from settlement, CNY.
    pub profit_cny: f64,
    /// The EVs' net cost under the scheme, CNY.
    pub net_cost_cny: f64,
    /// Share of the auxiliary task met; `None` when nothing was asked.
    pub aux_share_met: Option<f64>,
    /// Energy charged, kWh.
    pub charged_kwh: f64,
    /// Energy discharged, kWh.
    pub discharged_kwh: f64,
    /// The EVs' energy at departure, kWh.
    pub final_kwh: f64,
    /// The system cost (docs/model.md §10.2), CNY.
    pub system_cost_cny: f64,
    /// Battery wear, CNY.
    pub wear_cny: f64,
    /// The day's peak load at the grid connection, kW.
    pub peak_load_kw: f64,
}

impl Headline {
    /// The headline of a run's summary.
    pub fn of(s: &Summary) -> Self {
        Headline {
            revenue: s.eva.revenue,
            profit_cny: s.eva.profit_cny,
            net_cost_cny: s.evs.net_cost_cny,
            aux_share_met: s.energy.aux_share_met,
            charged_kwh: s.energy.charged_kwh,
            discharged_kwh: s.energy.discharged_kwh,
            final_kwh: s.evs.final_kwh,
            system_cost_cny: s.system.total_cny,
            wear_cny: s.system.wear_cny,
            peak_load_kw: s.system.peak_load_kw,
        }
    }

    /// The value of a result column (`revenue`, …); `None` for `aux_share_met` when
    /// nothing was asked, or a name that is not a result.
    pub fn get(&self, column: &str) -> Option<f64> {
        match column {
            "revenue" => Some(self.revenue),
            "profit_cny" => Some(self.profit_cny),
            "net_cost_cny" => Some(self.net_cost_cny),
            "aux_share_met" => self.aux_share_met,
            "charged_kwh" => Some(self.charged_kwh),
            "discharged_kwh" => Some(self.discharged_kwh),
            "final_kwh" => Some(self.final_kwh),
            "system_cost_cny" => Some(self.system_cost_cny),
            "wear_cny" => Some(self.wear_cny),
            "peak_load_kw" => Some(self.peak_load_kw),
            _ => None,
        }
    }
}

/// One row of `sweep.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The point's id.
    pub id: String,
    /// Its value of each swept key.
    pub cells: Vec<String>,
    /// Its results; `None` when it failed.
    pub results: Option<Headline>,
    /// Its wall time, seconds.
    pub wall_s: f64,
    /// Why it failed.
    pub error: Option<String>,
}

/// `sweep.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The swept keys, in the spec's order.
    pub keys: Vec<String>,
    /// One row per point, sorted by id.
    pub rows: Vec<Row>,
    /// The currency of the points' amounts (their scenarios' `currency`; the distinct
    /// codes joined by " or " in the rare sweep that varies it), for the figures' labels.
    pub currency: String,
}

fn num(v: f64) -> String {
    v.to_string()
}

impl Table {
    /// The header: `id`, the keys, [`RESULT_COLUMNS`].
    pub fn header(&self) -> Vec<String> {
        std::iter::once("id".to_string())
            .chain(self.keys.iter().cloned())
            .chain(RESULT_COLUMNS.iter().map(|c| c.to_string()))
            .collect()
    }

    /// The fields of a row, as `sweep.csv` writes them.
    pub fn fields(&self, row: &Row) -> Vec<String> {
        let mut f = Vec::with_capacity(self.keys.len() + RESULT_COLUMNS.len() + 1);
        f.push(row.id.clone());
        f.extend(row.cells.iter().cloned());
        for c in &RESULT_COLUMNS[..RESULT_COLUMNS.len() - 2] {
            f.push(
                row.results
                    .and_then(|r| r.get(c))
                    .map(num)
                    .unwrap_or_default(),
            );
        }
        f.push(format!("{:.3}", row.wall_s));
        f.push(row.error.clone().unwrap_or_default());
        f
    }

    /// `sweep.csv`'s bytes.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(self.header()).expect("in-memory write");
        for r in &self.rows {
            w.write_record(self.fields(r)).expect("in-memory write");
        }
        w.into_inner().expect("in-memory flush")
    }

    /// The table for people: the keys, revenue, profit, the EVs' net cost, the system
    /// cost (docs/model.md §10.2), the task met,
    /// energy discharged and the wall time, aligned, in the order of the swept values
    /// (numbers as numbers); a failed point shows its error.
    pub fn render(&self) -> String {
        let mut order: Vec<&Row> = self.rows.iter().collect();
        order.sort_by(|a, b| {
            a.cells
                .iter()
                .zip(&b.cells)
                .map(|(x, y)| match (x.parse::<f64>(), y.parse::<f64>()) {
                    (Ok(x), Ok(y)) => x.total_cmp(&y),
                    _ => x.cmp(y),
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut head: Vec<String> = vec!["id".into()];
        head.extend(self.keys.iter().cloned());
        head.extend(
            [
                "revenue",
                "profit_cny",
                "net_cost_cny",
                "system_cost",
                "aux_met",
                "discharged_kwh",
                "wall_s",
            ]
            .map(String::from),
        );
        let mut rows: Vec<Vec<String>> = vec![head];
        for r in order {
            let mut f = vec![r.id.clone()];
            f.extend(r.cells.iter().cloned());
            match (&r.results, &r.error) {
                (Some(h), _) => {
                    f.push(format!("{:.2}", h.revenue));
                    f.push(format!("{:.2}", h.profit_cny));
                    f.push(format!("{:.2}", h.net_cost_cny));
                    f.push(format!("{:.2}", h.system_cost_cny));
                    f.push(
                        h.aux_share_met
                            .map(|s| format!("{:.1}%", 100.0 * s))
                            .unwrap_or_else(|| "-".into()),
                    );
                    f.push(format!("{:.1}", h.discharged_kwh));
                    f.push(format!("{:.2}", r.wall_s));
                }
                (None, e) => f.push(format!("failed: {}", e.as_deref().unwrap_or("no results"))),
            }
            rows.push(f);
        }
        let cols = rows[0].len();
        let width: Vec<usize> = (0..cols)
            .map(|c| {
                rows.iter()
                    .filter(|r| r.len() == cols)
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(c, v)| {
                    if r.len() < cols && c == r.len() - 1 {
                        v.clone()
                    } else {
                        format!("{v:>w$}", w = width[c])
                    }
                })
                .collect();
            out += line.join("  ").trim_end();
            out.push('\n');
        }
        out
    }
}

/// What [`merge`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The table.
    pub table: Table,
    /// The files written: `sweep.csv` and the figures.
    pub written: Vec<PathBuf>,
}

/// Reads `DIR/sweep.json`, refusing one that no sweep writes: another program, no
/// points, a point whose values do not match the keys, or ids out of order or repeated.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("sweep.json");
    let m: Manifest = crate::report::output::read_json(&path, "sweep manifest")?;
    let bad = |why: String| {
        Err(Error::input(
            &path,
            0,
            0,
            "",
            format!("not a v2g sweep manifest: {why}"),
        ))
    };
    if m.program != "v2g" {
        return bad(format!("written by {}", excerpt(&m.program)));
    }
    if m.points.is_empty() {
        return bad("no points".into());
    }
    if let Some(p) = m.points.iter().find(|p| p.cells.len() != m.keys.len()) {
        return bad(format!(
            "point {} has {} values for {} keys",
            excerpt(&p.id),
            p.cells.len(),
            m.keys.len()
        ));
    }
    if let Some(w) = m.points.windows(2).find(|w| w[0].id >= w[1].id) {
        return bad(format!(
            "point ids out of order or repeated: {} before {}",
            excerpt(&w[0].id),
            excerpt(&w[1].id)
        ));
    }
    Ok(m)
}

/// `id (key = value, …)`.
fn name_point(keys: &[String], id: &str, cells: &[String]) -> String {
    let values: Vec<String> = keys
        .iter()
        .zip(cells)
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    if values.is_empty() {
        id.to_string()
    } else {
        format!("{id} ({})", values.join(", "))
    }
}

/// Builds `DIR/sweep.csv` and the figures from the points recorded in `DIR/sweep.json`
/// and whatever the shards wrote in `DIR/runs/`. Refuses ([`Error::SweepIncomplete`],
/// nothing written) when a point has no complete run, or was run for another spec (its
/// sidecar's `spec_digest` differs from the manifest's, or its outputs are of another
/// run). A point that failed is a row with its error. A `report.html` made from the
/// folder's previous table is removed: it would show the table this merge replaces.
pub fn merge(dir: &Path) -> Result<Merged> {
    let manifest = read_manifest(dir)?;
    let mut missing = Vec::new();
    let mut foreign = Vec::new();
    let mut rows = Vec::with_capacity(manifest.points.len());
    let mut currencies: Vec<String> = Vec::new();
    for p in &manifest.points {
        let name = || name_point(&manifest.keys, &p.id, &p.cells);
        let Some(side) = read_sidecar(dir, &p.id) else {
            missing.push(name());
            continue;
        };
        if side.spec_digest != manifest.spec_digest
            || side.id != p.id
            || side.scenario_sha256 != p.scenario_sha256
        {
            foreign.push(name());
            continue;
        }
        let results = match side.status {
            Status::Failed => None,
            Status::Ok => {
                let folder = run_dir(dir, &p.id);
                if !outputs_match(
                    &folder,
                    &p.scenario_sha256,
                    &p.fleet_sha256,
                    p.grid_sha256.as_deref(),
                    p.network_sha256.as_deref(),
                ) {
                    // Its sidecar says it finished, but the outputs are not that run's.
                    if folder.join("summary.json").is_file() {
                        foreign.push(name());
                    } else {
                        missing.push(name());
                    }
                    continue;
                }
                let summary = read_summary(&folder)?;
                if !currencies.contains(&summary.currency) {
                    currencies.push(summary.currency.clone());
                }
                Some(Headline::of(&summary))
            }
        };
        rows.push(Row {
            id: p.id.clone(),
            cells: p.cells.clone(),
            results,
            wall_s: side.wall_s,
            error: side.error.clone(),
        });
    }
    if !missing.is_empty() || !foreign.is_empty() {
        return Err(Error::SweepIncomplete {
            dir: dir.to_path_buf(),
            total: manifest.points.len(),
            missing,
            foreign,
        });
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    currencies.sort();
    let table = Table {
        keys: manifest.keys.clone(),
        rows,
        currency: if currencies.is_empty() {
            crate::data::scenario::DEFAULT_CURRENCY.to_string()
        } else {
            currencies.join(" or ")
        },
    };
    remove_if_there(&dir.join(crate::report::html::REPORT_FILE))?;
    let csv_path = dir.join("sweep.csv");
    write_atomic(&csv_path, &table.to_csv())?;
    let mut written = vec![csv_path];
    let figs = figures::sweep_figures(&table)?;
    for name in &SWEEP_FILES[2..] {
        let path = dir.join(name);
        match figs.iter().find(|(n, _)| n == name) {
            Some((_, svg)) => {
                write_atomic(&path, svg.as_bytes())?;
                written.push(path);
            }
            // A figure of an earlier sweep in this folder that this one does not draw.
            None => remove_if_there(&path)?,
        }
    }
    Ok(Merged { table, written })
}

/// Removes a file; one that is not there is no error.
fn remove_if_there(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(r: f64) -> Headline {
        Headline {
            revenue: r,
            profit_cny: r + 0.5,
            net_cost_cny: -r,
            aux_share_met: None,
            charged_kwh: 1.0,
            discharged_kwh: 2.25,
            final_kwh: 0.1 + 0.2,
            system_cost_cny: 2.0 * r,
            wear_cny: 0.25,
            peak_load_kw: 100.0 + r,
        }
    }

    fn table() -> Table {
        Table {
            keys: vec!["params.w_grid".into(), "solver".into()],
            rows: vec![
                Row {
                    id: "00aa".into(),
                    cells: vec!["0.5".into(), "grid".into()],
                    results: Some(Headline {
                        aux_share_met: Some(0.999),
                        ..head(12.5)
                    }),
                    wall_s: 1.23456,
                    error: None,
                },
                Row {
                    id: "11bb".into(),
                    cells: vec!["1.2".into(), "exact".into()],
                    results: None,
                    wall_s: 0.0,
                    error: Some("fleet.csv:2:4 (initial_kwh): bad, \"quoted\"".into()),
                },
            ],
            currency: "CNY".into(),
        }
    }

    #[test]
    fn csv_has_the_keys_then_the_results_in_shortest_form() {
        let csv = String::from_utf8(table().to_csv()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "id,params.w_grid,solver,revenue,profit_cny,net_cost_cny,aux_share_met,\
             charged_kwh,discharged_kwh,final_kwh,system_cost_cny,wear_cny,peak_load_kw,wall_s,error"
        );
        assert_eq!(
            lines[1],
            "00aa,0.5,grid,12.5,13,-12.5,0.999,1,2.25,0.30000000000000004,25,0.25,112.5,1.235,"
        );
        // A failed point: empty results, its error quoted as CSV quotes it.
        assert_eq!(
            lines[2],
            "11bb,1.2,exact,,,,,,,,,,,0.000,\"fleet.csv:2:4 (initial_kwh): bad, \"\"quoted\"\"\""
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn headline_columns_by_name() {
        let h = head(3.0);
        for (c, v) in [
            ("revenue", Some(3.0)),
            ("profit_cny", Some(3.5)),
            ("net_cost_cny", Some(-3.0)),
            ("aux_share_met", None),
            ("charged_kwh", Some(1.0)),
            ("discharged_kwh", Some(2.25)),
            ("final_kwh", Some(0.1 + 0.2)),
            ("wall_s", None),
        ] {
            assert_eq!(h.get(c), v, "{c}");
        }
    }

    #[test]
    fn rendered_table_aligns_and_shows_failures() {
        let mut t = table();
        // Listed by value (numbers as numbers), not by id.
        t.rows.swap(0, 1);
        t.rows[1].cells[0] = "10".into();
        t.rows[0].cells[0] = "9".into();
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("  id  params.w_grid  solver"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("11bb") && lines[2].starts_with("00aa"),
            "{text}"
        );
        assert!(
            lines[2].contains("12.50") && lines[2].contains("99.9%"),
            "{text}"
        );
        assert!(
            lines[1].ends_with("failed: fleet.csv:2:4 (initial_kwh): bad, \"quoted\""),
            "{text}"
        );
        // Right-aligned: every column ends where its header ends.
        let end = |l: &str, w: &str| l.find(w).map(|i| i + w.len());
        assert_eq!(end(lines[0], "solver"), end(lines[2], "grid"));
        assert_eq!(end(lines[0], "params.w_grid"), end(lines[2], "10"));
        assert_eq!(end(lines[0], "solver"), end(lines[1], "exact"));
    }

    #[test]
    fn points_are_named_by_id_and_values() {
        let keys = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            name_point(&keys, "00ff", &["1".into(), "x".into()]),
            "00ff (a = 1, b = x)"
        );
        assert_eq!(name_point(&[], "00ff", &[]), "00ff");
    }
}
