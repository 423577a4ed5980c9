//! The network's outputs (docs/model.md §9.4): one AC power flow per slot for the scheme
//! and for the uncoordinated baseline, `network.csv`, `network_buses.csv`, the `network`
//! section of `summary.json` and the voltage and transformer figure.

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::network::pf::Start;
use crate::network::study::{FlowSummary, Study, SLOT_HOURS};
use crate::report::figures::{min_max, padded, plot_err, render_sized, FONT, SIZE};

/// The two policies whose flows are computed.
pub const POLICIES: [&str; 2] = ["scheme", "baseline"];

/// One row of `network.csv`: a slot under a policy (the CSV holds the flow's summary's
/// fields after the first three).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkRow {
    /// Slot index.
    pub slot: usize,
    /// Slot start.
    pub time: String,
    /// `scheme` or `baseline`.
    pub policy: String,
    /// The flow's summary.
    pub flow: FlowSummary,
    /// EVs whose trades were curtailed to keep a site within its limit (the scheme; 0
    /// for the baseline, which has no limits).
    pub curtailed_evs: usize,
}

impl Serialize for NetworkRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let f = &self.flow;
        (
            self.slot,
            &self.time,
            &self.policy,
            f.vm_min_pu,
            f.vm_min_bus,
            f.vm_max_pu,
            f.vm_max_bus,
            f.branch_loading_max_pct,
            f.branch_loading_max,
            f.transformer_loading_max_pct,
            &f.transformer_loading_max_site,
            f.losses_kw,
            f.voltage_violations,
            f.loading_violations,
            self.curtailed_evs,
        )
            .serialize(s)
    }
}

/// The columns of `network.csv`.
pub const NETWORK_COLUMNS: [&str; 15] = [
    "slot",
    "time",
    "policy",
    "vm_min_pu",
    "vm_min_bus",
    "vm_max_pu",
    "vm_max_bus",
    "branch_loading_max_pct",
    "branch_loading_max",
    "transformer_loading_max_pct",
    "transformer_loading_max_site",
    "losses_kw",
    "voltage_violations",
    "loading_violations",
    "curtailed_evs",
];

/// `network.csv`: the header, then one line per row.
pub fn network_csv(rows: &[NetworkRow]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(NETWORK_COLUMNS).expect("in-memory write");
    for r in rows {
        w.serialize(r).expect("network rows serialise to CSV");
    }
    w.into_inner().expect("in-memory flush")
}

/// One row of `network_buses.csv`: a bus in a slot under a policy, what another tool
/// needs to re-run the same flow (the demands) and what this one found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusRow {
    /// Slot index.
    pub slot: usize,
    /// `scheme` or `baseline`.
    pub policy: String,
    /// The bus number (`BUS_I`).
    pub bus: u32,
    /// Active demand, kW (the base load's share plus the sites' EVs).
    pub p_kw: f64,
    /// Reactive demand, kvar.
    pub q_kvar: f64,
    /// Voltage magnitude, p.u.
    pub vm_pu: f64,
    /// Voltage angle, degrees.
    pub va_deg: f64,
}

/// The columns of `network_buses.csv`.
pub const BUS_COLUMNS: [&str; 7] = ["slot", "policy", "bus", "p_kw", "q_kvar", "vm_pu", "va_deg"];

/// One policy's day on the network, for `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyNetwork {
    /// The lowest voltage of the day, p.u.
    pub worst_voltage_pu: f64,
    /// Its bus.
    pub worst_voltage_bus: u32,
    /// Its slot.
    pub worst_voltage_slot: usize,
    /// The highest voltage of the day, p.u.
    pub highest_voltage_pu: f64,
    /// Hours with a bus outside its voltage limits.
    pub hours_voltage_outside_limits: f64,
    /// Hours with a branch or site transformer above its rating.
    pub hours_overloaded: f64,
    /// Energy lost in lines and transformers of the case over the day, kWh.
    pub energy_lost_kwh: f64,
    /// The highest site-transformer loading of the day, % (`null` without ratings).
    pub peak_transformer_loading_pct: Option<f64>,
    /// Its site.
    pub peak_transformer_site: Option<String>,
    /// The highest branch loading of the day, % of `RATE_A` (`null` without ratings).
    pub peak_branch_loading_pct: Option<f64>,
    /// Slots in which some EV was curtailed to keep a site within its limit.
    pub curtailed_slots: usize,
    /// Curtailed EV trades over the day.
    pub curtailed_evs: usize,
}

/// The `network` section of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSummary {
    /// The case's name (its `function mpc = NAME`).
    pub case: String,
    /// Buses of the case.
    pub buses: usize,
    /// Branches in service.
    pub branches_in_service: usize,
    /// The charging sites, in scenario order.
    pub sites: Vec<crate::network::Site>,
    /// The scheme.
    pub scheme: PolicyNetwork,
    /// Uncoordinated charging.
    pub baseline: PolicyNetwork,
}

/// Every flow of a run.
#[derive(Debug, Clone)]
pub struct NetworkResult {
    /// `network.csv`'s rows: every slot for the scheme, then every slot for the baseline.
    pub rows: Vec<NetworkRow>,
    /// `network_buses.csv`'s rows, in the same order, bus by bus.
    pub buses: Vec<BusRow>,
    /// The summary.
    pub summary: NetworkSummary,
    /// The case's lowest `VMIN`, p.u. (drawn in the figure).
    pub vmin_limit: f64,
}

/// The day's flows: slot `t` has base load `base_kw[t]` (kW, `None` for the case's own
/// loads) times `scale`, and each site's EV energy `scheme_kwh[t][s]` (and
/// `baseline_kwh[t][s]`) over the slot. Each slot's flow starts from the slot before's
/// solution of the same policy (the first from a flat start). A flow that does not
/// converge is an error naming its slot and policy. `curtailed[t]` counts the scheme's
/// curtailed EVs in slot `t` (empty without limits).
#[allow(clippy::too_many_arguments)] // one day's inputs, each a different thing
pub fn flows(
    study: &mut Study,
    sites: &[crate::network::Site],
    times: &[String],
    base_kw: &[Option<f64>],
    scale: f64,
    scheme_kwh: &[Vec<f64>],
    baseline_kwh: &[Vec<f64>],
    curtailed: &[usize],
) -> Result<NetworkResult> {
    let mut rows = Vec::with_capacity(2 * times.len());
    let mut buses = Vec::new();
    let ids: Vec<u32> = study.case().buses().iter().map(|b| b.id).collect();
    for (p, (policy, energy)) in POLICIES.iter().zip([scheme_kwh, baseline_kwh]).enumerate() {
        let mut last = None;
        for (t, time) in times.iter().enumerate() {
            let site_kw: Vec<f64> = energy
                .get(t)
                .map(|e| e.iter().map(|kwh| kwh / SLOT_HOURS).collect())
                .unwrap_or_else(|| vec![0.0; sites.len()]);
            let (pk, qk) = study.demands(base_kw[t], scale, &site_kw);
            let start = last.as_ref().map_or(Start::Flat, Start::From);
            let f = study
                .flow(pk, qk, &site_kw, start)
                .map_err(|e| Error::PowerFlow {
                    slot: t,
                    policy: policy.to_string(),
                    reason: e.to_string(),
                })?;
            for (b, &id) in ids.iter().enumerate() {
                buses.push(BusRow {
                    slot: t,
                    policy: policy.to_string(),
                    bus: id,
                    p_kw: f.p_kw[b],
                    q_kvar: f.q_kvar[b],
                    vm_pu: f.solution.vm[b],
                    va_deg: f.solution.va_deg[b],
                });
            }
            rows.push(NetworkRow {
                slot: t,
                time: time.clone(),
                policy: policy.to_string(),
                flow: f.summary.clone(),
                curtailed_evs: if p == 0 {
                    curtailed.get(t).copied().unwrap_or(0)
                } else {
                    0
                },
            });
            last = Some(f.solution);
        }
    }
    let day = |policy: &str| policy_day(rows.iter().filter(|r| r.policy == policy));
    let summary = NetworkSummary {
        case: study.case().name().to_string(),
        buses: ids.len(),
        branches_in_service: study
            .case()
            .branches()
            .iter()
            .filter(|b| b.in_service)
            .count(),
        sites: sites.to_vec(),
        scheme: day("scheme"),
        baseline: day("baseline"),
    };
    let vmin_limit = study
        .case()
        .buses()
        .iter()
        .map(|b| b.vmin)
        .fold(f64::INFINITY, f64::min);
    Ok(NetworkResult {
        rows,
        buses,
        summary,
        vmin_limit,
    })
}

/// A policy's day from its rows, in slot order.
fn policy_day<'a>(rows: impl Iterator<Item = &'a NetworkRow>) -> PolicyNetwork {
    let mut d = PolicyNetwork {
        worst_voltage_pu: f64::INFINITY,
        worst_voltage_bus: 0,
        worst_voltage_slot: 0,
        highest_voltage_pu: f64::NEG_INFINITY,
        hours_voltage_outside_limits: 0.0,
        hours_overloaded: 0.0,
        energy_lost_kwh: 0.0,
        peak_transformer_loading_pct: None,
        peak_transformer_site: None,
        peak_branch_loading_pct: None,
        curtailed_slots: 0,
        curtailed_evs: 0,
    };
    for r in rows {
        let f = &r.flow;
        if f.vm_min_pu < d.worst_voltage_pu {
            d.worst_voltage_pu = f.vm_min_pu;
            d.worst_voltage_bus = f.vm_min_bus;
            d.worst_voltage_slot = r.slot;
        }
        d.highest_voltage_pu = d.highest_voltage_pu.max(f.vm_max_pu);
        if f.voltage_violations > 0 {
            d.hours_voltage_outside_limits += SLOT_HOURS;
        }
        if f.loading_violations > 0 {
            d.hours_overloaded += SLOT_HOURS;
        }
        d.energy_lost_kwh += f.losses_kw * SLOT_HOURS;
        if r.curtailed_evs > 0 {
            d.curtailed_slots += 1;
            d.curtailed_evs += r.curtailed_evs;
        }
        if let Some(p) = f.transformer_loading_max_pct {
            if d.peak_transformer_loading_pct.is_none_or(|m| p > m) {
                d.peak_transformer_loading_pct = Some(p);
                d.peak_transformer_site = f.transformer_loading_max_site.clone();
            }
        }
        if let Some(p) = f.branch_loading_max_pct {
            if d.peak_branch_loading_pct.is_none_or(|m| p > m) {
                d.peak_branch_loading_pct = Some(p);
            }
        }
    }
    d
}

/// The network figure: above, the day's voltage band (lowest and highest bus voltage per
/// slot) for the scheme and the baseline, with the case's lowest `VMIN`; below, the most
/// loaded site transformer's loading per slot, %, with its rating (100 %).
pub fn fig_network(net: &NetworkResult, vmin_limit: f64) -> Result<String> {
    use crate::report::figures::{clock, num, steps, x_range, BLUE_, ORANGE};
    use chrono::Timelike;
    let slots = net.rows.len() / 2;
    let rows = |p: usize| &net.rows[p * slots..(p + 1) * slots];
    let col =
        |p: usize, f: &dyn Fn(&NetworkRow) -> f64| -> Vec<f64> { rows(p).iter().map(f).collect() };
    let vmin = [col(0, &|r| r.flow.vm_min_pu), col(1, &|r| r.flow.vm_min_pu)];
    let vmax = [col(0, &|r| r.flow.vm_max_pu), col(1, &|r| r.flow.vm_max_pu)];
    let load = [
        col(0, &|r| r.flow.transformer_loading_max_pct.unwrap_or(0.0)),
        col(1, &|r| r.flow.transformer_loading_max_pct.unwrap_or(0.0)),
    ];
    // Hours since midnight of the first slot's day.
    let times: Vec<Option<chrono::NaiveDateTime>> = rows(0)
        .iter()
        .map(|r| crate::data::time::parse_time(&r.time))
        .collect();
    let day0 = times.first().copied().flatten().map(|t| t.date());
    let hours: Vec<f64> = times
        .iter()
        .map(|t| match (t, day0) {
            (Some(t), Some(d0)) => {
                24.0 * (t.date() - d0).num_days() as f64
                    + f64::from(t.hour())
                    + f64::from(t.minute()) / 60.0
            }
            _ => 0.0,
        })
        .collect();
    let colours = [BLUE_, ORANGE];
    let xs = x_range(&hours);
    let grid_line = BLACK.mix(0.12);
    render_sized(SIZE, |root| {
        let (top, bottom) = root.split_vertically(SIZE.1 / 2 + 20);
        let (lo, hi) = min_max(
            vmin.iter()
                .chain(vmax.iter())
                .flatten()
                .copied()
                .chain([vmin_limit]),
        );
        let mut chart = ChartBuilder::on(&top)
            .caption(
                "Network: lowest and highest bus voltage, scheme against uncoordinated charging",
                (FONT, 18),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(72)
            .build_cartesian_2d(xs.clone(), padded(lo, hi))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(13)
            .x_label_formatter(&clock)
            .y_label_formatter(&|v| num(v, 2))
            .y_desc("voltage (p.u.)")
            .light_line_style(TRANSPARENT)
            .bold_line_style(grid_line)
            .label_style((FONT, 14))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                [(xs.start, vmin_limit), (xs.end, vmin_limit)],
                BLACK.stroke_width(1),
            ))
            .map_err(plot_err)?
            .label(format!("lowest VMIN of the case ({})", num(&vmin_limit, 2)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(1)));
        for (p, name) in ["scheme", "uncoordinated"].iter().enumerate() {
            let c = colours[p];
            chart
                .draw_series(LineSeries::new(
                    steps(&hours, vmin[p].iter().copied()),
                    c.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(format!("{name}: lowest"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            chart
                .draw_series(LineSeries::new(
                    steps(&hours, vmax[p].iter().copied()),
                    c.mix(0.6).stroke_width(1),
                ))
                .map_err(plot_err)?
                .label(format!("{name}: highest"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.mix(0.6).stroke_width(1))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 13))
            .draw()
            .map_err(plot_err)?;
        let (_, top_load) = min_max(load.iter().flatten().copied());
        let mut chart = ChartBuilder::on(&bottom)
            .caption("The most loaded site transformer", (FONT, 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(xs.clone(), padded(0.0, top_load.max(100.0)))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(13)
            .x_label_formatter(&clock)
            .y_label_formatter(&|v| num(v, 0))
            .x_desc("time of day")
            .y_desc("loading (% of kVA)")
            .light_line_style(TRANSPARENT)
            .bold_line_style(grid_line)
            .label_style((FONT, 14))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                [(xs.start, 100.0), (xs.end, 100.0)],
                BLACK.stroke_width(1),
            ))
            .map_err(plot_err)?
            .label("rating (100 %)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(1)));
        for (p, name) in ["scheme", "uncoordinated"].iter().enumerate() {
            let c = colours[p];
            chart
                .draw_series(LineSeries::new(
                    steps(&hours, load[p].iter().copied()),
                    c.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(name.to_string())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 13))
            .draw()
            .map_err(plot_err)?;
        Ok(())
    })
}
