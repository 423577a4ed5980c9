//! The sweep's figures, SVG, from its table (points that failed are left out):
//!
//! * [`LINES_FILE`]: the headline results — the EVA's revenue, the EVs' net cost, the
//!   share of the auxiliary task met and the energy discharged — against the first swept
//!   key, one line per value of the second key when there is one;
//! * [`HEATMAP_FILE`] (two swept keys): the same four results as heat maps over the two
//!   keys, each cell labelled with its value.
//!
//! A key whose values are all numbers is a numeric axis; otherwise its values are
//! categories in sorted order. Sweeps of more than two keys get no figure.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::Result;
use crate::report::figures::{
    header, min_max, num, padded, plot_err, render_sized, Mark, BLUE_, FONT, GREEN_, ORANGE,
    PURPLE, RED_,
};
use crate::sweep::table::{Row, Table};

/// The line figure.
pub const LINES_FILE: &str = "sweep_lines.svg";

/// The heat-map figure (two swept keys).
pub const HEATMAP_FILE: &str = "sweep_heatmap.svg";

/// Width and height of each figure, in pixels.
pub const SIZE: (u32, u32) = (1200, 860);

/// The panels: result column, title, unit (`¤` for the sweep's currency), scale of the
/// values drawn.
const PANELS: [(&str, &str, &str, f64); 4] = [
    ("revenue", "EVA revenue R", "¤", 1.0),
    ("net_cost_cny", "EVs' net cost", "¤", 1.0),
    ("aux_share_met", "auxiliary task met", "%", 100.0),
    ("discharged_kwh", "energy discharged by the EVs", "kWh", 1.0),
];

const PALETTE: [RGBColor; 8] = [
    BLUE_,
    ORANGE,
    GREEN_,
    RED_,
    PURPLE,
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The unit of a swept key, for its axis label, prices and amounts in `currency`.
pub fn unit(key: &str, currency: &str) -> Option<String> {
    let k = key.strip_prefix("params.").unwrap_or(key);
    Some(match k {
        "w_grid" | "w_service" | "epsilon" | "p_d_max" | "a" => format!("{currency}/kWh"),
        "p_delay" => format!("{currency} per idle EV per slot"),
        "e0_kwh" => "kWh".to_string(),
        "u_idle" | "beta" => "utility".to_string(),
        "p_d_min_factor" | "delta_factor" => "× p_rt".to_string(),
        "horizon.slots" => "15-min slots".to_string(),
        "generate.n" => "EVs".to_string(),
        "generate.bus_share" => "share of buses".to_string(),
        _ => return None,
    })
}

/// The distinct values of one swept key, in order, and where each is drawn.
struct Axis {
    /// The axis label: the key and its unit.
    desc: String,
    /// The key's column in the table's cells.
    column: usize,
    /// Distinct values, sorted (numerically when all are numbers).
    labels: Vec<String>,
    /// Their numbers, when all are numbers.
    numbers: Option<Vec<f64>>,
}

impl Axis {
    fn of(rows: &[&Row], column: usize, key: &str, currency: &str) -> Axis {
        let mut labels: Vec<String> = rows.iter().map(|r| r.cells[column].clone()).collect();
        let numbers: Option<Vec<f64>> = labels
            .iter()
            .map(|l| l.parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect();
        match numbers {
            Some(_) => labels.sort_by(|a, b| {
                let (a, b) = (
                    a.parse::<f64>().unwrap_or(0.0),
                    b.parse::<f64>().unwrap_or(0.0),
                );
                a.total_cmp(&b)
            }),
            None => labels.sort(),
        }
        labels.dedup();
        let numbers = numbers.map(|_| labels.iter().map(|l| l.parse().unwrap_or(0.0)).collect());
        let desc = match unit(key, currency) {
            Some(u) => format!("{key} ({u})"),
            None => key.to_string(),
        };
        Axis {
            desc,
            column,
            labels,
            numbers,
        }
    }

    /// The index of a row's value.
    fn index(&self, row: &Row) -> usize {
        let v = &row.cells[self.column];
        self.labels.iter().position(|l| l == v).unwrap_or(0)
    }

    /// Where a row's value is drawn on a line chart: its number, or its index.
    fn pos(&self, row: &Row) -> f64 {
        let i = self.index(row);
        match &self.numbers {
            Some(n) => n[i],
            None => i as f64,
        }
    }

    /// The axis' range on a line chart.
    fn range(&self) -> std::ops::Range<f64> {
        match &self.numbers {
            Some(n) => {
                let (lo, hi) = min_max(n.iter().copied());
                let span = (hi - lo).max(1e-9 * lo.abs().max(1.0));
                (lo - 0.05 * span)..(hi + 0.05 * span)
            }
            None => -0.5..(self.labels.len() as f64 - 0.5),
        }
    }

    /// A tick's label: the number as plotted, or the category at an index.
    fn label(&self, v: f64) -> String {
        match &self.numbers {
            Some(_) => {
                let s = format!("{v:.6}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                if s == "-0" {
                    "0".into()
                } else {
                    s.into()
                }
            }
            None => self.category(v),
        }
    }

    /// The category drawn at `v`, when `v` is one's index.
    fn category(&self, v: f64) -> String {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < self.labels.len() {
            self.labels[i as usize].clone()
        } else {
            String::new()
        }
    }
}

/// A panel's value of a row, scaled; `None` when it has none.
fn value(row: &Row, column: &str, scale: f64) -> Option<f64> {
    row.results
        .as_ref()
        .and_then(|h| h.get(column))
        .map(|v| v * scale)
}

/// The figures a sweep's table gets, by the number of its keys and whether any of its
/// points ran (has results): the lines for one or two keys, and the heat map for two;
/// none for more keys or when every point failed.
pub fn figure_files(keys: usize, any_ran: bool) -> &'static [&'static str] {
    match (keys, any_ran) {
        (1, true) => &[LINES_FILE],
        (2, true) => &[LINES_FILE, HEATMAP_FILE],
        _ => &[],
    }
}

/// The sweep's figures as `(file name, SVG)` (module docs), those of [`figure_files`].
pub fn sweep_figures(table: &Table) -> Result<Vec<(&'static str, String)>> {
    let rows: Vec<&Row> = table.rows.iter().filter(|r| r.results.is_some()).collect();
    if figure_files(table.keys.len(), !rows.is_empty()).is_empty() {
        return Ok(Vec::new());
    }
    let x = Axis::of(&rows, 0, &table.keys[0], &table.currency);
    let series =
        (table.keys.len() == 2).then(|| Axis::of(&rows, 1, &table.keys[1], &table.currency));
    let mut out = vec![(LINES_FILE, lines(&rows, table, &x, series.as_ref())?)];
    if let Some(y) = &series {
        out.push((HEATMAP_FILE, heatmap(&rows, table, &x, y)?));
    }
    Ok(out)
}

/// The four panels of a figure, below its header.
fn panels<'a>(
    area: &DrawingArea<SVGBackend<'a>, Shift>,
) -> Vec<DrawingArea<SVGBackend<'a>, Shift>> {
    area.split_evenly((2, 2))
}

fn lines(rows: &[&Row], table: &Table, x: &Axis, series: Option<&Axis>) -> Result<String> {
    let groups: Vec<(String, RGBColor, Vec<&Row>)> = match series {
        None => vec![(String::new(), BLACK, rows.to_vec())],
        Some(s) => s
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let members = rows
                    .iter()
                    .filter(|r| &r.cells[s.column] == l)
                    .copied()
                    .collect();
                (
                    format!("{} = {l}", table.keys[1]),
                    PALETTE[i % PALETTE.len()],
                    members,
                )
            })
            .collect(),
    };
    let items: Vec<(&str, RGBColor, Mark)> = match series {
        None => Vec::new(),
        Some(_) => groups
            .iter()
            .map(|(n, c, _)| (n.as_str(), *c, Mark::Line(2)))
            .collect(),
    };
    let title = match series {
        None => format!("Sweep: headline results against {}", table.keys[0]),
        Some(_) => format!(
            "Sweep: headline results against {}, one line per {}",
            table.keys[0], table.keys[1]
        ),
    };
    render_sized(SIZE, |root| {
        let area = header(root, &title, &items)?;
        for (panel, (column, name, unit, scale)) in panels(&area).iter().zip(PANELS) {
            let unit = unit.replace('¤', &table.currency);
            let values = rows.iter().filter_map(|r| value(r, column, scale));
            let (lo, hi) = min_max(values);
            let mut chart = ChartBuilder::on(panel)
                .margin(10)
                .caption(format!("{name} ({unit})"), (FONT, 20))
                .x_label_area_size(44)
                .y_label_area_size(84)
                .build_cartesian_2d(x.range(), padded(lo, hi))
                .map_err(plot_err)?;
            let decimals = tick_decimals(padded(lo, hi));
            let x_ticks = match x.numbers {
                Some(_) => 10,
                None => x.labels.len().clamp(2, 12),
            };
            chart
                .configure_mesh()
                .x_labels(x_ticks)
                .x_label_formatter(&|v| x.label(*v))
                .y_label_formatter(&|v| num(v, decimals))
                .x_desc(x.desc.as_str())
                .y_desc(unit)
                .label_style((FONT, 16))
                .draw()
                .map_err(plot_err)?;
            for (_, color, members) in &groups {
                let mut pts: Vec<(f64, f64)> = members
                    .iter()
                    .filter_map(|r| value(r, column, scale).map(|v| (x.pos(r), v)))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(plot_err)?;
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(plot_err)?;
            }
        }
        Ok(())
    })
}

/// Viridis, from dark purple (0) to yellow (1).
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let f = t * (STOPS.len() - 1) as f64;
    let i = (f.floor() as usize).min(STOPS.len() - 2);
    let u = f - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Decimals that tell apart ticks about a tenth of `range` apart.
fn tick_decimals(range: std::ops::Range<f64>) -> usize {
    let step = (range.end - range.start) / 10.0;
    if step.is_finite() && step > 0.0 {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    }
}

/// A cell's label: three significant digits or so, and enough decimals to tell apart
/// values `span` apart.
fn short(v: f64, span: f64) -> String {
    let by_size = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    let by_span = if span.is_finite() && span > 0.0 {
        (1.0 - span.log10().floor()).clamp(0.0, 4.0) as usize
    } else {
        0
    };
    num(&v, by_size.max(by_span))
}

fn heatmap(rows: &[&Row], table: &Table, x: &Axis, y: &Axis) -> Result<String> {
    let (nx, ny) = (x.labels.len(), y.labels.len());
    let title = format!(
        "Sweep: headline results over {} and {} (dark: lowest, yellow: highest)",
        table.keys[0], table.keys[1]
    );
    render_sized(SIZE, |root| {
        let area = header(root, &title, &[])?;
        for (panel, (column, name, unit, scale)) in panels(&area).iter().zip(PANELS) {
            let unit = unit.replace('¤', &table.currency);
            let mut grid: Vec<Option<f64>> = vec![None; nx * ny];
            for r in rows {
                grid[x.index(r) * ny + y.index(r)] = value(r, column, scale);
            }
            let (lo, hi) = min_max(grid.iter().flatten().copied());
            let caption = if grid.iter().any(Option::is_some) {
                format!(
                    "{name} ({unit}): {} to {}",
                    short(lo, hi - lo),
                    short(hi, hi - lo)
                )
            } else {
                format!("{name} ({unit}): none")
            };
            let mut chart = ChartBuilder::on(panel)
                .margin(10)
                .caption(caption, (FONT, 20))
                .x_label_area_size(44)
                .y_label_area_size(84)
                .build_cartesian_2d(-0.5..(nx as f64 - 0.5), -0.5..(ny as f64 - 0.5))
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(nx.clamp(2, 12))
                .y_labels(ny.clamp(2, 12))
                .x_label_formatter(&|v| x.category(*v))
                .y_label_formatter(&|v| y.category(*v))
                .x_desc(x.desc.as_str())
                .y_desc(y.desc.as_str())
                .label_style((FONT, 16))
                .draw()
                .map_err(plot_err)?;
            let span = if hi > lo { hi - lo } else { 1.0 };
            let label_cells = nx * ny <= 144;
            for i in 0..nx {
                for j in 0..ny {
                    let (x0, y0) = (i as f64 - 0.5, j as f64 - 0.5);
                    let v = grid[i * ny + j];
                    let t = v.map(|v| (v - lo) / span);
                    let fill = match t {
                        Some(t) => viridis(t),
                        None => RGBColor(220, 220, 220),
                    };
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                            fill.filled(),
                        )))
                        .map_err(plot_err)?;
                    if label_cells {
                        let text = v.map(|v| short(v, hi - lo)).unwrap_or_else(|| "–".into());
                        let ink = if t.is_some_and(|t| t > 0.6) {
                            BLACK
                        } else {
                            WHITE
                        };
                        let style = TextStyle::from((FONT, 16)).color(&ink).pos(
                            plotters::style::text_anchor::Pos::new(
                                plotters::style::text_anchor::HPos::Center,
                                plotters::style::text_anchor::VPos::Center,
                            ),
                        );
                        chart
                            .draw_series(std::iter::once(Text::new(
                                text,
                                (i as f64, j as f64),
                                style,
                            )))
                            .map_err(plot_err)?;
                    }
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::table::Headline;

    /// Whether the SVG has a text element reading exactly `t`.
    fn has_text(svg: &str, t: &str) -> bool {
        svg.contains(&format!(">\n{t}\n</text>"))
    }

    fn row(id: &str, a: &str, b: &str, r: f64) -> Row {
        Row {
            id: id.into(),
            cells: vec![a.into(), b.into()],
            results: Some(Headline {
                revenue: r,
                profit_cny: r,
                net_cost_cny: -r,
                aux_share_met: Some(0.5),
                charged_kwh: 1.0,
                discharged_kwh: 2.0 * r,
                final_kwh: 3.0,
                system_cost_cny: 0.0,
                wear_cny: 0.0,
                peak_load_kw: 0.0,
            }),
            wall_s: 0.1,
            error: None,
        }
    }

    fn table(keys: &[&str]) -> Table {
        let mut rows = Vec::new();
        for (i, a) in ["0.5", "0.792", "1.2"].iter().enumerate() {
            for (j, b) in ["0.08", "0.16"].iter().enumerate() {
                rows.push(row(&format!("{i}{j}"), a, b, (i * 10 + j) as f64));
            }
        }
        rows.push(Row {
            results: None,
            error: Some("bad".into()),
            ..row("zz", "9", "9", 0.0)
        });
        Table {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            rows,
            currency: "CNY".into(),
        }
    }

    /// A sweep of runs in another currency labels its panels and price axes in it.
    #[test]
    fn figures_name_the_sweeps_currency() {
        let t = Table {
            currency: "USD".into(),
            ..table(&["params.w_grid", "params.beta"])
        };
        for (name, svg) in sweep_figures(&t).unwrap() {
            for want in ["params.w_grid (USD/kWh)", "EVA revenue R (USD)"] {
                assert!(svg.contains(want), "{name} lacks {want}");
            }
            assert!(!svg.contains("CNY"), "{name} still says CNY");
        }
    }

    #[test]
    fn two_keys_give_lines_and_a_heat_map_with_labelled_axes() {
        let figs = sweep_figures(&table(&["params.w_grid", "params.beta"])).unwrap();
        let names: Vec<&str> = figs.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, [LINES_FILE, HEATMAP_FILE]);
        for (name, svg) in &figs {
            assert!(
                svg.starts_with("<svg") && svg.ends_with("</svg>\n"),
                "{name}"
            );
            for t in [
                "params.w_grid (CNY/kWh)",
                "EVA revenue R (CNY)",
                "EVs&apos; net cost (CNY)",
                "auxiliary task met (%)",
                "energy discharged by the EVs (kWh)",
            ] {
                assert!(svg.contains(t), "{name} lacks {t}");
            }
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{name}");
        }
        // One line per value of the second key, named in the legend.
        assert!(
            figs[0].1.contains("params.beta = 0.08") && figs[0].1.contains("params.beta = 0.16")
        );
        // The heat map's axes carry every value; the failed point is left out.
        let heat = &figs[1].1;
        assert!(heat.contains("params.beta (utility)"));
        for v in ["0.5", "0.792", "1.2", "0.08", "0.16"] {
            assert!(has_text(heat, v), "heat map lacks the tick {v}");
        }
        assert!(!has_text(heat, "9"));
        // Cells are labelled with their values: revenue 21 at (1.2, 0.16).
        assert!(has_text(heat, "21.0"), "{heat}");
    }

    #[test]
    fn one_key_gives_lines_only_and_more_than_two_none() {
        let mut t = table(&["fleet"]);
        for (i, r) in t.rows.iter_mut().enumerate() {
            r.cells = vec![format!("fleet{i}.csv")];
        }
        let figs = sweep_figures(&t).unwrap();
        assert_eq!(figs.len(), 1);
        assert_eq!(figs[0].0, LINES_FILE);
        // Not numbers: categories at their index, each labelled (the failed one left out).
        for i in 0..6 {
            assert!(
                has_text(&figs[0].1, &format!("fleet{i}.csv")),
                "fleet{i}.csv"
            );
        }
        assert!(!has_text(&figs[0].1, "fleet6.csv"));
        let mut t = table(&["a", "b", "c"]);
        for r in &mut t.rows {
            r.cells.push("x".into());
        }
        assert!(sweep_figures(&t).unwrap().is_empty());
        assert!(sweep_figures(&table(&[])).unwrap().is_empty());
        let mut failed = table(&["a", "b"]);
        for r in &mut failed.rows {
            r.results = None;
        }
        assert!(sweep_figures(&failed).unwrap().is_empty());
    }

    #[test]
    fn categories_and_numbers_on_axes() {
        let rows = [
            row("1", "exact", "1", 0.0),
            row("2", "grid", "10", 0.0),
            row("3", "exact", "2", 0.0),
        ];
        let refs: Vec<&Row> = rows.iter().collect();
        let a = Axis::of(&refs, 0, "solver", "CNY");
        assert_eq!(a.labels, ["exact", "grid"]);
        assert!(a.numbers.is_none());
        assert_eq!(a.pos(&rows[1]), 1.0);
        assert_eq!(a.category(1.0), "grid");
        assert_eq!(a.category(0.5), "");
        assert_eq!(a.category(2.0), "");
        assert_eq!(a.range(), -0.5..1.5);
        let b = Axis::of(&refs, 1, "params.w_grid", "CNY");
        // Sorted as numbers, not as text.
        assert_eq!(b.labels, ["1", "2", "10"]);
        assert_eq!(b.pos(&rows[1]), 10.0);
        assert_eq!(b.label(0.5), "0.5");
        assert_eq!(b.label(-0.0000001), "0");
        assert_eq!(b.desc, "params.w_grid (CNY/kWh)");
        assert_eq!(unit("seed", "CNY"), None);
        assert_eq!(unit("generate.n", "CNY").as_deref(), Some("EVs"));
        assert_eq!(unit("params.w_grid", "USD").as_deref(), Some("USD/kWh"));
    }

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(0.5), RGBColor(33, 145, 140));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(short(1234.56, 100.0), "1235");
        assert_eq!(short(12.345, 10.0), "12.3");
        assert_eq!(short(-0.004, 1.0), "0.00");
        // Values close together get the digits that tell them apart.
        assert_eq!(short(40.0116, 0.05), "40.012");
        assert_eq!(short(40.0116, 0.0), "40.0");
        assert_eq!(tick_decimals(0.0..40.0), 0);
        assert_eq!(tick_decimals(99.95..99.98), 3);
        assert_eq!(tick_decimals(1.0..1.0), 2);
    }
}
