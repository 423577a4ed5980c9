//! The comparison of policies (`v2g compare`, docs/model.md §10.4): one table of the
//! headline results of several finished runs, as text, as CSV, and one figure of the
//! day's load curves over the base load.
//!
//! It reads what the runs wrote (`summary.json`, `slots.csv`), never recomputes them: the
//! system cost (§10.2) is the same sum for every policy, so a policy's gap to `optimal`
//! is one subtraction.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::report::figures::{
    clock, header, min_max, num, padded, plot_err, render_sized, slot_hours, steps, x_range, Mark,
    BLUE_, FONT, GREEN_, ORANGE, PURPLE, RED_, SIZE, SLOT_H,
};
use crate::report::summary::Summary;
use crate::sim::SlotRecord;

/// The comparison's CSV file.
pub const CSV_FILE: &str = "comparison.csv";
/// The comparison's figure.
pub const FIGURE_FILE: &str = "comparison_load.svg";

/// One run to compare: its label, summary and slots.
#[derive(Debug, Clone)]
pub struct Entry {
    /// How the table names it: the policy, or the folder when two runs share a policy.
    pub label: String,
    /// Its `summary.json`.
    pub summary: Summary,
    /// Its `slots.csv`.
    pub slots: Vec<SlotRecord>,
}

/// One row of the comparison (`comparison.csv`), in the runs' currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The run's label.
    pub run: String,
    /// Its policy.
    pub policy: String,
    /// The system cost (§10.2).
    pub system_cost_cny: f64,
    /// `system_cost − the lowest system cost of the table` (0 for the best).
    pub gap_cny: f64,
    /// The EVA's revenue `Σ R` (Eq. 3).
    pub eva_revenue_cny: f64,
    /// The EVs' net cost (paid − received).
    pub ev_net_cost_cny: f64,
    /// The EVs' energy at departure, kWh.
    pub final_kwh: f64,
    /// Departure targets met, of those with one (empty without targets).
    pub targets_met: Option<usize>,
    /// Sessions with a departure target (empty without targets).
    pub targets: Option<usize>,
    /// The day's peak load at the grid connection, kW.
    pub peak_load_kw: f64,
    /// Auxiliary (V2G) energy delivered, kWh.
    pub aux_delivered_kwh: f64,
    /// Share of the auxiliary task met (empty when nothing was asked).
    pub aux_share_met: Option<f64>,
    /// Battery wear.
    pub wear_cny: f64,
    /// With a network: the day's lowest bus voltage, p.u.
    pub worst_voltage_pu: Option<f64>,
    /// With a network and rated sites: the highest transformer loading, %.
    pub peak_transformer_loading_pct: Option<f64>,
}

/// The columns of `comparison.csv`.
pub const COLUMNS: [&str; 15] = [
    "run",
    "policy",
    "system_cost_cny",
    "gap_cny",
    "eva_revenue_cny",
    "ev_net_cost_cny",
    "final_kwh",
    "targets_met",
    "targets",
    "peak_load_kw",
    "aux_delivered_kwh",
    "aux_share_met",
    "wear_cny",
    "worst_voltage_pu",
    "peak_transformer_loading_pct",
];

/// Reads the runs to compare: each folder is a run's output folder (holding
/// `summary.json`), or a sweep's folder, whose finished points (`runs/<id>/`) are read
/// in the order of their policies (stackelberg, uncoordinated, edf, llf, optimal), then
/// of their ids. Refuses a folder that is neither, fewer than one run, and
/// runs of different horizons or currencies (their tables would not compare).
pub fn read(dirs: &[PathBuf]) -> Result<Vec<Entry>> {
    let mut found: Vec<(PathBuf, Summary, Vec<SlotRecord>)> = Vec::new();
    for dir in dirs {
        if dir.join("summary.json").is_file() {
            found.push(read_run(dir)?);
        } else if dir.join("sweep.json").is_file() {
            let runs = dir.join("runs");
            let mut points: Vec<PathBuf> = std::fs::read_dir(&runs)
                .map_err(|e| Error::io(&runs, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("summary.json").is_file())
                .collect();
            points.sort();
            if points.is_empty() {
                return Err(Error::input(
                    dir,
                    0,
                    0,
                    "",
                    "a sweep's folder without a finished run (runs/<id>/summary.json)",
                ));
            }
            // In the order of the policies (docs/model.md §10), then of the ids.
            let mut runs = points
                .iter()
                .map(|p| read_run(p))
                .collect::<Result<Vec<_>>>()?;
            runs.sort_by_key(|(p, s, _)| {
                let rank = crate::policy::POLICIES.iter().position(|&q| q == s.policy);
                (rank, p.clone())
            });
            found.extend(runs);
        } else {
            return Err(Error::input(
                dir,
                0,
                0,
                "",
                "neither a run's output folder (no summary.json) nor a sweep's folder \
                 (no sweep.json)",
            ));
        }
    }
    let Some((first_dir, first, _)) = found.first() else {
        return Err(Error::param("DIR", "give at least one run's folder"));
    };
    for (dir, s, _) in &found[1..] {
        if (s.slots, &s.start) != (first.slots, &first.start) || s.currency != first.currency {
            return Err(Error::input(
                dir,
                0,
                0,
                "",
                format!(
                    "its day ({} slots from {}, {}) is not that of {} ({} slots from {}, \
                     {}): only runs of one horizon and currency compare",
                    s.slots,
                    s.start,
                    s.currency,
                    first_dir.display(),
                    first.slots,
                    first.start,
                    first.currency
                ),
            ));
        }
    }
    let labels: Vec<String> = found
        .iter()
        .map(|(dir, s, _)| {
            let policy = s.policy.as_str();
            let shared = found
                .iter()
                .filter(|(_, o, _)| o.policy == s.policy)
                .count()
                > 1;
            if shared {
                format!(
                    "{policy} ({})",
                    dir.file_name()
                        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into())
                )
            } else {
                policy.to_string()
            }
        })
        .collect();
    Ok(found
        .into_iter()
        .zip(labels)
        .map(|((_, summary, slots), label)| Entry {
            label,
            summary,
            slots,
        })
        .collect())
}

fn read_run(dir: &Path) -> Result<(PathBuf, Summary, Vec<SlotRecord>)> {
    let summary = crate::report::output::read_summary(dir)?;
    let path = dir.join("slots.csv");
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut rdr = csv::Reader::from_reader(std::io::BufReader::new(file));
    let mut slots = Vec::new();
    for (n, rec) in rdr.deserialize::<SlotRecord>().enumerate() {
        let rec = rec.map_err(|e| {
            Error::input(
                &path,
                n as u64 + 2,
                0,
                "",
                format!(
                    "not a v2g slots.csv row: {}",
                    crate::error::excerpt(&e.to_string())
                ),
            )
        })?;
        slots.push(rec);
    }
    if slots.len() != summary.slots {
        return Err(Error::input(
            &path,
            0,
            0,
            "",
            format!(
                "{} rows, but summary.json says {} slots: the folder mixes two runs",
                slots.len(),
                summary.slots
            ),
        ));
    }
    Ok((dir.to_path_buf(), summary, slots))
}

/// The comparison's rows, one per entry, in the entries' order.
pub fn rows(entries: &[Entry]) -> Vec<Row> {
    let best = entries
        .iter()
        .map(|e| e.summary.system.total_cny)
        .fold(f64::INFINITY, f64::min);
    entries
        .iter()
        .map(|e| {
            let s = &e.summary;
            let net = s.network.as_ref().map(|n| &n.scheme);
            Row {
                run: e.label.clone(),
                policy: s.policy.to_string(),
                system_cost_cny: s.system.total_cny,
                gap_cny: s.system.total_cny - best,
                eva_revenue_cny: s.eva.revenue,
                ev_net_cost_cny: s.evs.net_cost_cny,
                final_kwh: s.evs.final_kwh,
                targets_met: s.evs.targets.map(|t| t.n_met),
                targets: s.evs.targets.map(|t| t.n_targets),
                peak_load_kw: s.system.peak_load_kw,
                aux_delivered_kwh: s.energy.aux_delivered_kwh,
                aux_share_met: s.energy.aux_share_met,
                wear_cny: s.system.wear_cny,
                worst_voltage_pu: net.map(|n| n.worst_voltage_pu),
                peak_transformer_loading_pct: net.and_then(|n| n.peak_transformer_loading_pct),
            }
        })
        .collect()
}

/// `comparison.csv`'s bytes.
pub fn to_csv(rows: &[Row]) -> Vec<u8> {
    crate::report::output::to_csv(rows, &COLUMNS)
}

/// The table for people, amounts in `currency`.
pub fn render(rows: &[Row], currency: &str) -> String {
    let opt = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |v| format!("{v:.d$}"));
    let mut head = vec![
        "run".to_string(),
        format!("system cost {currency}"),
        "gap".into(),
        format!("EVA revenue {currency}"),
        format!("EVs' net cost {currency}"),
        "final kWh".into(),
        "targets met".into(),
        "peak kW".into(),
        "V2G kWh".into(),
        "task met".into(),
        format!("wear {currency}"),
    ];
    let network = rows.iter().any(|r| r.worst_voltage_pu.is_some());
    if network {
        head.push("worst V p.u.".into());
        head.push("transformer %".into());
    }
    let mut table = vec![head];
    for r in rows {
        let mut line = vec![
            r.run.clone(),
            format!("{:.2}", r.system_cost_cny),
            format!("{:.2}", r.gap_cny),
            format!("{:.2}", r.eva_revenue_cny),
            format!("{:.2}", r.ev_net_cost_cny),
            format!("{:.1}", r.final_kwh),
            match (r.targets_met, r.targets) {
                (Some(m), Some(n)) => format!("{m}/{n}"),
                _ => "-".into(),
            },
            format!("{:.1}", r.peak_load_kw),
            format!("{:.1}", r.aux_delivered_kwh),
            r.aux_share_met
                .map_or("-".into(), |v| format!("{:.1}%", 100.0 * v)),
            format!("{:.2}", r.wear_cny),
        ];
        if network {
            line.push(opt(r.worst_voltage_pu, 4));
            line.push(opt(r.peak_transformer_loading_pct, 1));
        }
        table.push(line);
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|j| {
            table
                .iter()
                .map(|l| l[j].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &table {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(j, (c, &w))| {
                if j == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        out += cells.join("  ").trim_end();
        out.push('\n');
    }
    out
}

const COLORS: [RGBColor; 5] = [BLUE_, ORANGE, GREEN_, RED_, PURPLE];

/// The figure: each run's load at the grid connection over the day (base load plus its
/// EVs' net power, kW) and the base load alone.
pub fn figure(entries: &[Entry]) -> Result<String> {
    let first = entries
        .first()
        .ok_or_else(|| Error::param("DIR", "give at least one run's folder"))?;
    let hours = slot_hours(&first.slots);
    let base: Vec<f64> = first.slots.iter().map(|s| s.base_load_kw).collect();
    let loads: Vec<Vec<f64>> = entries
        .iter()
        .map(|e| {
            e.slots
                .iter()
                .map(|s| s.base_load_kw + (s.charge_kwh - s.discharge_kwh) / SLOT_H)
                .collect()
        })
        .collect();
    let (lo, hi) = min_max(loads.iter().flatten().chain(&base).copied());
    let mut legend: Vec<(&str, RGBColor, Mark)> = vec![("base load", BLACK, Mark::Line(2))];
    for (k, e) in entries.iter().enumerate() {
        legend.push((e.label.as_str(), color(k), Mark::Line(2)));
    }
    render_sized(SIZE, |root| {
        let area = header(
            root,
            "Load at the grid connection by policy (base load + EVs' net power)",
            &legend,
        )?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x_range(&hours), padded(lo.min(0.0), hi))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(13)
            .x_label_formatter(&clock)
            .y_label_formatter(&|v| num(v, 0))
            .x_desc("time of day")
            .y_desc("load (kW)")
            .label_style((FONT, 15))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                steps(&hours, base.iter().copied()),
                BLACK.stroke_width(2),
            ))
            .map_err(plot_err)?;
        for (k, load) in loads.iter().enumerate() {
            chart
                .draw_series(LineSeries::new(
                    steps(&hours, load.iter().copied()),
                    color(k).stroke_width(2),
                ))
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

fn color(k: usize) -> RGBColor {
    let c = COLORS[k % COLORS.len()];
    // Past five runs, darker shades of the same five.
    let f = 1.0 / (1 + k / COLORS.len()) as f64;
    RGBColor(
        (c.0 as f64 * f) as u8,
        (c.1 as f64 * f) as u8,
        (c.2 as f64 * f) as u8,
    )
}

/// What `v2g compare` does: reads the folders, then writes `comparison.csv` and
/// `comparison_load.svg` into `out` (created when missing; each file written
/// atomically, and nothing written when a folder is refused or `out` is one of the run
/// folders read). Returns the table's text, the rows and the files written.
pub fn write(dirs: &[PathBuf], out: &Path) -> Result<(String, Vec<Row>, Vec<PathBuf>)> {
    let entries = read(dirs)?;
    let rows = rows(&entries);
    let text = render(&rows, &entries[0].summary.currency);
    let svg = figure(&entries)?;
    let out_abs = std::path::absolute(out).map_err(|e| Error::io(out, e))?;
    for d in dirs {
        let d_abs = std::path::absolute(d).map_err(|e| Error::io(d, e))?;
        if d_abs == out_abs || d_abs.starts_with(&out_abs) || out_abs.starts_with(&d_abs) {
            return Err(Error::param(
                "--out",
                format!(
                    "{} holds or is inside a run folder being compared ({}): choose another folder",
                    out.display(),
                    d.display()
                ),
            ));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let csv_path = out.join(CSV_FILE);
    let svg_path = out.join(FIGURE_FILE);
    crate::report::output::write_atomic(&csv_path, &to_csv(&rows))?;
    crate::report::output::write_atomic(&svg_path, svg.as_bytes())?;
    Ok((text, rows, vec![csv_path, svg_path]))
}
