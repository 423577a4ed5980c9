//! The case study's figures, counterparts of the paper's Figs. 3–5, as SVG.
//!
//! * [`fig3`]: base load and auxiliary-service demand over the day (Fig. 3).
//! * [`fig4`]: aggregate charging and discharging power, with the real-time price
//!   `p_rt` and the chosen discharging price `p_d*` (Fig. 4).
//! * [`fig5`]: the EVA's revenue `R` and its components per slot, Eqs. 3–7 (Fig. 5).
//!
//! The x axis is the time of day; every quantity held for a slot is drawn as a step over
//! that slot. Drawing uses `plotters`' SVG backend into memory; the files are written with
//! the run's other outputs, atomically.

use chrono::Timelike;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::data::grid::GridRow;
use crate::data::time::{parse_time, SLOT_MINUTES};
use crate::error::{Error, Result};
use crate::sim::SlotRecord;

/// Width and height of every figure, in pixels.
pub const SIZE: (u32, u32) = (960, 540);

pub(crate) const SLOT_H: f64 = SLOT_MINUTES as f64 / 60.0;
pub(crate) const FONT: &str = "sans-serif";

pub(crate) fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Plot(e.to_string())
}

/// Hours since midnight of the first slot's day, for each slot start.
pub(crate) fn slot_hours(slots: &[SlotRecord]) -> Vec<f64> {
    let day0 = slots
        .first()
        .and_then(|s| parse_time(&s.time))
        .map(|t| t.date());
    slots
        .iter()
        .map(|s| match (parse_time(&s.time), day0) {
            (Some(t), Some(d0)) => {
                let days = (t.date() - d0).num_days() as f64;
                24.0 * days + f64::from(t.hour()) + f64::from(t.minute()) / 60.0
            }
            _ => 0.0,
        })
        .collect()
}

/// A step line: each value held from its slot's start to its end (made finite by
/// [`axis_value`]).
pub(crate) fn steps(hours: &[f64], values: impl Iterator<Item = f64>) -> Vec<(f64, f64)> {
    hours
        .iter()
        .zip(values)
        .flat_map(|(&h, v)| {
            let v = axis_value(v);
            [(h, v), (h + SLOT_H, v)]
        })
        .collect()
}

pub(crate) fn clock(x: &f64) -> String {
    format!("{:02}:00", (x.round() as i64).rem_euclid(24))
}

pub(crate) fn x_range(hours: &[f64]) -> std::ops::Range<f64> {
    let lo = hours.first().copied().unwrap_or(0.0);
    let hi = hours.last().copied().unwrap_or(0.0) + SLOT_H;
    lo..hi
}

/// Largest magnitude an axis shows; larger values (which no validated input gives) are
/// clipped to it.
const AXIS_LIMIT: f64 = 1e15;

/// `v` as a value an axis and a series can hold: finite (NaN is 0, infinities and huge
/// values are clipped to [`AXIS_LIMIT`]).
pub(crate) fn axis_value(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-AXIS_LIMIT, AXIS_LIMIT)
    }
}

/// `[lo, hi]` widened by a margin of 5 % of its span, taking the span as at least 1e-6
/// and 1e-8 of its magnitude: finite, in order, never empty.
///
/// plotters' tick search (`compute_f64_key_points`) never ends on an infinite or NaN
/// range, nor on one too narrow for the floats at its magnitude, so every y range goes
/// through here (or [`from_zero`]), whatever the data.
pub(crate) fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let (a, b) = (axis_value(lo), axis_value(hi));
    let (lo, hi) = (a.min(b), a.max(b));
    let span = (hi - lo).max(1e-6).max(1e-8 * lo.abs().max(hi.abs()));
    (lo - 0.05 * span)..(hi + 0.05 * span)
}

/// `[0, hi]` with a 5 % margin above, at least `[0, 0.00105]`; finite like [`padded`].
fn from_zero(hi: f64) -> std::ops::Range<f64> {
    0.0..(axis_value(hi).max(0.001) * 1.05)
}

/// The smallest and largest values as drawn (through [`axis_value`], so that every point
/// drawn lies on the chart), or `(0, 0)` when there is none.
pub(crate) fn min_max(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = vals
        .map(axis_value)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo <= hi {
        (lo, hi)
    } else {
        (0.0, 0.0)
    }
}

fn render(draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>) -> Result<String> {
    render_sized(SIZE, draw)
}

/// Draws an SVG of `size` pixels on a white background.
pub(crate) fn render_sized(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// How a series shows in the legend.
#[derive(Clone, Copy)]
pub(crate) enum Mark {
    /// A line of this width.
    Line(u32),
    /// A filled area.
    Area,
}

/// Draws the title and a legend (items flowed left to right, wrapping) in a band at the
/// top of `root`, and returns the area below it for the chart, so that the legend never
/// hides data.
pub(crate) fn header<'a>(
    root: &DrawingArea<SVGBackend<'a>, Shift>,
    title: &str,
    items: &[(&str, RGBColor, Mark)],
) -> Result<DrawingArea<SVGBackend<'a>, Shift>> {
    let title_font: TextStyle = (FONT, 22).into();
    let font: TextStyle = (FONT, 15).into();
    let (w, _) = root.dim_in_pixel();
    // Lay the items out first to know the band's height.
    let (left, sample, gap, row_h) = (80_i32, 26_i32, 22_i32, 22_i32);
    let mut pos = Vec::with_capacity(items.len());
    let (mut x, mut y) = (left, 44_i32);
    for (name, ..) in items {
        let (nw, _) = root.estimate_text_size(name, &font).map_err(plot_err)?;
        let item_w = sample + 6 + nw as i32;
        if x > left && x + item_w > w as i32 - 20 {
            x = left;
            y += row_h;
        }
        pos.push((x, y));
        x += item_w + gap;
    }
    let band = (y + row_h) as u32;
    let (top, chart) = root.split_vertically(band);
    let centred = title_font.pos(Pos::new(HPos::Center, VPos::Top));
    top.draw(&Text::new(title.to_string(), ((w / 2) as i32, 10), centred))
        .map_err(plot_err)?;
    for ((name, color, mark), (x, y)) in items.iter().zip(pos) {
        let mid = y + 8;
        match mark {
            Mark::Line(width) => top.draw(&PathElement::new(
                vec![(x, mid), (x + sample, mid)],
                color.stroke_width(*width),
            )),
            Mark::Area => top.draw(&Rectangle::new(
                [(x, mid - 6), (x + sample, mid + 6)],
                color.mix(0.5).filled(),
            )),
        }
        .map_err(plot_err)?;
        top.draw(&Text::new(
            name.to_string(),
            (x + sample + 6, y),
            font.clone(),
        ))
        .map_err(plot_err)?;
    }
    Ok(chart)
}

/// Axis numbers without a spurious `-0`.
pub(crate) fn num(v: &f64, decimals: usize) -> String {
    let scale = 10f64.powi(decimals as i32);
    format!("{:.*}", decimals, (v * scale).round() / scale + 0.0)
}

pub(crate) const BLUE_: RGBColor = RGBColor(31, 119, 180);
pub(crate) const ORANGE: RGBColor = RGBColor(255, 127, 14);
pub(crate) const GREEN_: RGBColor = RGBColor(44, 160, 44);
pub(crate) const RED_: RGBColor = RGBColor(214, 39, 40);
pub(crate) const PURPLE: RGBColor = RGBColor(148, 103, 189);

/// Fig. 3: the campus base load and the auxiliary-service demand `E_limit` (as average
/// power over its slot), both in MW.
pub fn fig3(slots: &[SlotRecord], grid: &[GridRow]) -> Result<String> {
    let hours = slot_hours(slots);
    let load: Vec<f64> = grid.iter().map(|r| r.base_load_kw / 1000.0).collect();
    let aux: Vec<f64> = slots
        .iter()
        .map(|s| s.e_limit_kwh / SLOT_H / 1000.0)
        .collect();
    let (_, hi) = min_max(load.iter().chain(aux.iter()).copied());
    render(|root| {
        let area = header(
            root,
            "Fig. 3  Campus base load and auxiliary-service demand",
            &[
                ("base load", BLUE_, Mark::Line(2)),
                (
                    "auxiliary-service demand (E_limit per 15 min, as power)",
                    ORANGE,
                    Mark::Area,
                ),
            ],
        )?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range(&hours), from_zero(hi))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(13)
            .x_label_formatter(&clock)
            .y_label_formatter(&|v| num(v, 1))
            .x_desc("time of day")
            .y_desc("power (MW)")
            .label_style((FONT, 15))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(AreaSeries::new(
                steps(&hours, aux.iter().copied()),
                0.0,
                ORANGE.mix(0.35),
            ))
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                steps(&hours, aux.iter().copied()),
                ORANGE.stroke_width(2),
            ))
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                steps(&hours, load.iter().copied()),
                BLUE_.stroke_width(2),
            ))
            .map_err(plot_err)?;
        Ok(())
    })
}

/// Fig. 4: aggregate charging power (positive) and discharging power (negative), kW, on
/// the left axis; the real-time price `p_rt` and the chosen discharging price `p_d*`, in
/// `currency` per kWh (the scenario's, e.g. CNY/kWh), on the right axis.
pub fn fig4(slots: &[SlotRecord], currency: &str) -> Result<String> {
    let hours = slot_hours(slots);
    let charge: Vec<f64> = slots.iter().map(|s| s.charge_kwh / SLOT_H).collect();
    let discharge: Vec<f64> = slots.iter().map(|s| -s.discharge_kwh / SLOT_H).collect();
    let (plo, phi) = min_max(charge.iter().chain(discharge.iter()).copied());
    // A policy without the price game has no p_d* (docs/model.md §10): no line.
    let p_d: Option<Vec<f64>> = slots.iter().map(|s| s.p_d).collect();
    let (qlo, qhi) = min_max(
        slots
            .iter()
            .flat_map(|s| [s.p_rt, s.p_d.unwrap_or(0.0), 0.0]),
    );
    let mut legend = vec![
        ("charging power", GREEN_, Mark::Area),
        ("discharging power", RED_, Mark::Area),
        ("real-time price p_rt (right axis)", BLUE_, Mark::Line(2)),
    ];
    if p_d.is_some() {
        legend.push(("discharging price p_d* (right axis)", BLACK, Mark::Line(2)));
    }
    render(|root| {
        let area = header(
            root,
            "Fig. 4  EV charging and discharging power, real-time and discharging prices",
            &legend,
        )?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .right_y_label_area_size(72)
            .build_cartesian_2d(x_range(&hours), padded(plo.min(0.0), phi.max(0.0)))
            .map_err(plot_err)?
            .set_secondary_coord(x_range(&hours), padded(qlo, qhi));
        chart
            .configure_mesh()
            .x_labels(13)
            .x_label_formatter(&clock)
            .y_label_formatter(&|v| num(v, 0))
            .x_desc("time of day")
            .y_desc("power (kW): charging > 0, discharging < 0")
            .label_style((FONT, 15))
            .draw()
            .map_err(plot_err)?;
        chart
            .configure_secondary_axes()
            .y_label_formatter(&|v| num(v, 2))
            .y_desc(format!("price ({currency}/kWh)"))
            .label_style((FONT, 15))
            .draw()
            .map_err(plot_err)?;
        for (vals, color) in [(&charge, GREEN_), (&discharge, RED_)] {
            chart
                .draw_series(AreaSeries::new(
                    steps(&hours, vals.iter().copied()),
                    0.0,
                    color.mix(0.35),
                ))
                .map_err(plot_err)?;
        }
        let p_rt: Vec<f64> = slots.iter().map(|s| s.p_rt).collect();
        for (vals, color) in [(Some(&p_rt), BLUE_), (p_d.as_ref(), BLACK)] {
            let Some(vals) = vals else { continue };
            chart
                .draw_secondary_series(LineSeries::new(
                    steps(&hours, vals.iter().copied()),
                    color.stroke_width(2),
                ))
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

/// Fig. 5: per slot, the EVA's revenues `R_service` (Eq. 4) and `R_grid` (Eq. 5) above
/// zero, its costs `C_V2G` (Eq. 6) and `C_limit` (Eq. 7) below zero, and the revenue `R`
/// (Eq. 3), in `currency` (the scenario's).
pub fn fig5(slots: &[SlotRecord], currency: &str) -> Result<String> {
    let hours = slot_hours(slots);
    type Get = fn(&SlotRecord) -> f64;
    let series: [(Get, RGBColor, u32, &str); 5] = [
        (|s| s.r_service, GREEN_, 2, "R_service (Eq. 4)"),
        (|s| s.r_grid, BLUE_, 2, "R_grid (Eq. 5)"),
        (|s| -s.c_v2g, ORANGE, 2, "−C_V2G (Eq. 6)"),
        (|s| -s.c_limit, PURPLE, 2, "−C_limit (Eq. 7)"),
        (
            |s| s.revenue,
            BLACK,
            3,
            "R = R_service + R_grid − C_V2G − C_limit (Eq. 3)",
        ),
    ];
    let (lo, hi) = min_max(
        slots
            .iter()
            .flat_map(|s| series.iter().map(move |(f, ..)| f(s)))
            .chain([0.0]),
    );
    let items: Vec<(&str, RGBColor, Mark)> = series
        .iter()
        .map(|(_, c, w, name)| (*name, *c, Mark::Line(*w)))
        .collect();
    render(|root| {
        let area = header(
            root,
            "Fig. 5  EVA revenue and cost components per slot",
            &items,
        )?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x_range(&hours), padded(lo, hi))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(13)
            .x_label_formatter(&clock)
            .y_label_formatter(&|v| num(v, 0))
            .x_desc("time of day")
            .y_desc(format!("{currency} per 15-min slot"))
            .label_style((FONT, 15))
            .draw()
            .map_err(plot_err)?;
        for (f, color, width, _) in series {
            chart
                .draw_series(LineSeries::new(
                    steps(&hours, slots.iter().map(f)),
                    color.stroke_width(width),
                ))
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

/// The three figures as `(file name, SVG)`, amounts and prices labelled in `currency`
/// (the scenario's ISO 4217 code).
pub fn case_study_figures(
    slots: &[SlotRecord],
    grid: &[GridRow],
    currency: &str,
) -> Result<Vec<(&'static str, String)>> {
    Ok(vec![
        ("fig3_load_and_aux_demand.svg", fig3(slots, grid)?),
        ("fig4_power_and_prices.svg", fig4(slots, currency)?),
        ("fig5_revenue_and_costs.svg", fig5(slots, currency)?),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(slot: usize, time: &str, p_d: f64, charge: f64, discharge: f64) -> SlotRecord {
        SlotRecord {
            slot,
            time: time.to_string(),
            p_rt: 0.66,
            p_c: 1.16,
            p_d: Some(p_d),
            e_limit_kwh: 100.0,
            n_plugged: 10,
            n_charge: 1,
            n_discharge: 2,
            n_idle: 7,
            charge_kwh: charge,
            discharge_kwh: discharge,
            r_service: 1.0,
            r_grid: 2.0,
            c_v2g: 0.5,
            c_limit: 0.25,
            revenue: 2.25,
            base_load_kw: 0.0,
            wear_cny: 0.0,
        }
    }

    fn two_slots() -> Vec<SlotRecord> {
        vec![
            record(0, "2021-05-27T23:45", -0.2, 3.75, 0.0),
            record(1, "2021-05-28T00:00", -0.3, 0.0, 7.5),
        ]
    }

    #[test]
    fn slots_are_hours_since_the_first_midnight_and_steps_hold_each_value() {
        let h = slot_hours(&two_slots());
        assert_eq!(h, vec![23.75, 24.0]);
        let st = steps(&h, [1.0, 2.0].into_iter());
        assert_eq!(
            st,
            vec![(23.75, 1.0), (24.0, 1.0), (24.0, 2.0), (24.25, 2.0)]
        );
        assert_eq!(clock(&24.0), "00:00");
        assert_eq!(clock(&31.0), "07:00");
    }

    #[test]
    fn axis_numbers_never_show_minus_zero() {
        assert_eq!(num(&-0.0001, 2), "0.00");
        assert_eq!(num(&-0.004, 2), "0.00");
        assert_eq!(num(&-0.25, 2), "-0.25");
        assert_eq!(num(&1500.0, 0), "1500");
    }

    /// The grid row of each slot: a 5 MW base load and the slot's task.
    fn grid_of(slots: &[SlotRecord]) -> Vec<GridRow> {
        slots
            .iter()
            .map(|s| GridRow {
                time: parse_time(&s.time).unwrap(),
                base_load_kw: 5000.0,
                e_limit_kwh: s.e_limit_kwh,
                p_rt: None,
            })
            .collect()
    }

    #[test]
    fn each_figure_has_its_title_axes_with_units_and_legend() {
        let slots = two_slots();
        let grid = grid_of(&slots);
        let figs = case_study_figures(&slots, &grid, "CNY").unwrap();
        let want: [&[&str]; 3] = [
            &[
                "Fig. 3",
                "power (MW)",
                "time of day",
                "base load",
                "auxiliary-service demand",
            ],
            &[
                "Fig. 4",
                "power (kW)",
                "price (CNY/kWh)",
                "charging power",
                "discharging power",
                "p_rt",
                "p_d*",
            ],
            &[
                "Fig. 5",
                "CNY per 15-min slot",
                "R_service",
                "R_grid",
                "C_V2G",
                "C_limit",
            ],
        ];
        for ((name, svg), texts) in figs.iter().zip(want) {
            assert!(svg.starts_with("<svg"), "{name}");
            for t in texts {
                assert!(svg.contains(t), "{name} lacks {t}");
            }
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{name}");
        }
    }

    /// Prices and amounts are labelled in the scenario's currency, never a fixed CNY.
    #[test]
    fn figures_label_the_scenarios_currency() {
        let slots = two_slots();
        let grid = grid_of(&slots);
        let figs = case_study_figures(&slots, &grid, "USD").unwrap();
        assert!(figs[1].1.contains("price (USD/kWh)"));
        assert!(figs[2].1.contains("USD per 15-min slot"));
        for (name, svg) in &figs {
            assert!(!svg.contains("CNY"), "{name} still says CNY");
        }
    }

    /// Draws the three figures on another thread and fails (instead of hanging the test
    /// run) when drawing takes more than 20 seconds.
    fn draws_in_time(slots: Vec<SlotRecord>, grid: Vec<GridRow>) -> Vec<(&'static str, String)> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(case_study_figures(&slots, &grid, "CNY"));
        });
        let figs = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("drawing the figures finishes")
            .expect("drawing the figures succeeds");
        for (name, svg) in &figs {
            assert!(
                svg.starts_with("<svg") && svg.ends_with("</svg>\n"),
                "{name}"
            );
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{name}");
        }
        figs
    }

    type Day = (Vec<SlotRecord>, Vec<GridRow>);

    fn day(n: usize, f: impl Fn(usize, &mut SlotRecord)) -> Day {
        let h = crate::data::time::Horizon::paper();
        let slots: Vec<SlotRecord> = (0..n)
            .map(|t| {
                let time = crate::data::time::format_time(h.slot_start(t));
                let mut r = record(t, &time, -0.5, 1.0, 1.0);
                f(t, &mut r);
                r
            })
            .collect();
        let grid = slots
            .iter()
            .map(|s| GridRow {
                time: parse_time(&s.time).unwrap(),
                base_load_kw: s.e_limit_kwh,
                e_limit_kwh: s.e_limit_kwh,
                p_rt: None,
            })
            .collect();
        (slots, grid)
    }

    #[test]
    fn extreme_but_valid_values_are_drawn_and_drawing_ends() {
        let max = crate::data::grid::MAX_GRID_VALUE;
        let cases: Vec<(&str, Day)> = vec![
            (
                "every E_limit and base load at the bound, huge revenues of both signs",
                day(96, |t, r| {
                    r.e_limit_kwh = max;
                    r.charge_kwh = max;
                    r.discharge_kwh = max;
                    (r.p_rt, r.p_c, r.p_d) = (100.0, 100.0, Some(-300.0));
                    r.r_service = 1e13;
                    r.r_grid = 1e12;
                    r.c_v2g = 1e13;
                    r.c_limit = 3e13;
                    r.revenue = if t % 2 == 0 { -3e13 } else { 2e13 };
                }),
            ),
            (
                "one value everywhere, far from zero (no span at all)",
                day(96, |_, r| {
                    r.e_limit_kwh = max;
                    (r.charge_kwh, r.discharge_kwh) = (max, 0.0);
                    (r.p_rt, r.p_c, r.p_d) = (100.0, 100.0, Some(100.0));
                    (r.r_service, r.r_grid, r.c_v2g, r.c_limit) = (1e12, 1e12, -1e12, -1e12);
                    r.revenue = 1e12;
                }),
            ),
            (
                "a span far below the floats' resolution at its magnitude",
                day(96, |t, r| {
                    (r.p_rt, r.p_c, r.p_d) = (1e9, 1e9, Some(1e9 + 1e-7 * t as f64));
                    r.revenue = 1e14 + (t % 2) as f64 * 0.02;
                }),
            ),
            (
                "all zeros",
                day(96, |_, r| {
                    (r.e_limit_kwh, r.charge_kwh, r.discharge_kwh) = (0.0, 0.0, 0.0);
                    (r.p_rt, r.p_c, r.p_d) = (0.0, 0.0, Some(0.0));
                    (r.r_service, r.r_grid, r.c_v2g, r.c_limit, r.revenue) =
                        (0.0, 0.0, 0.0, 0.0, 0.0);
                }),
            ),
            ("a single slot", day(1, |_, _| ())),
            (
                "a single slot at the bounds",
                day(1, |_, r| {
                    (r.e_limit_kwh, r.revenue) = (max, -1e13);
                }),
            ),
            ("no slot", day(0, |_, _| ())),
            (
                "a year of slots",
                day(366 * 96, |t, r| r.revenue = t as f64),
            ),
            (
                "values no validated input gives: infinities and NaN",
                day(8, |t, r| {
                    r.e_limit_kwh = f64::INFINITY;
                    r.charge_kwh = f64::NAN;
                    r.p_d = Some(f64::NEG_INFINITY);
                    r.revenue = if t == 0 { f64::MAX } else { -f64::MAX };
                    r.r_grid = 1e308;
                }),
            ),
        ];
        for (what, (slots, grid)) in cases {
            let figs = draws_in_time(slots, grid);
            assert_eq!(figs.len(), 3, "{what}");
        }
    }

    #[test]
    fn axis_ranges_are_finite_wide_enough_and_unchanged_for_ordinary_data() {
        // Ordinary data: the 5 % margin of before.
        assert_eq!(padded(-10.0, 30.0), -12.0..32.0);
        assert_eq!(padded(0.0, 0.0), -5e-8..5e-8);
        assert_eq!(from_zero(2.0), 0.0..2.1);
        assert_eq!(from_zero(0.0), 0.0..(0.001 * 1.05));
        for (lo, hi) in [
            (1e12, 1e12),
            (-1e14, -1e14),
            (1e9, 1e9 + 1e-7),
            (f64::NEG_INFINITY, f64::INFINITY),
            (f64::NAN, f64::NAN),
            (f64::MAX, -f64::MAX),
            (5.0, -5.0),
        ] {
            let r = padded(lo, hi);
            assert!(r.start.is_finite() && r.end.is_finite(), "{lo} {hi}: {r:?}");
            let mag = r.start.abs().max(r.end.abs());
            assert!(r.end - r.start >= 0.99e-9 * mag, "{lo} {hi}: {r:?}");
            assert!(mag <= 1.1 * AXIS_LIMIT, "{lo} {hi}: {r:?}");
        }
        for hi in [f64::INFINITY, f64::NAN, 1e308, -5.0] {
            let r = from_zero(hi);
            assert!(r.end.is_finite() && r.end > 0.0, "{hi}: {r:?}");
        }
        assert_eq!(min_max([].into_iter()), (0.0, 0.0));
        assert_eq!(min_max([f64::NAN, 2.0, -1.0].into_iter()), (-1.0, 2.0));
    }
}
