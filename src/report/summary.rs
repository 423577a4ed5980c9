//! The run's summary: fleet totals that answer the paper's claims with numbers
//! (`summary.json`), and the short table printed on stdout.

use serde::{Deserialize, Serialize};

use crate::sim::{RunResult, SlotRecord};

/// The EVA's revenue over the horizon and its parts (sums of Eqs. 3–7 over slots), CNY.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EvaTotals {
    /// `Σ R`.
    pub revenue: f64,
    /// `Σ R_service`.
    pub r_service: f64,
    /// `Σ R_grid,V2G`.
    pub r_grid: f64,
    /// `Σ C_V2G`.
    pub c_v2g: f64,
    /// `Σ C_limit` (penalties paid to the operator).
    pub c_limit: f64,
    /// The part of `Σ C_limit` paid in slots that delivered less than `E_limit`.
    pub c_limit_shortfall: f64,
    /// The part of `Σ C_limit` paid in slots that delivered more than `E_limit`.
    pub c_limit_excess: f64,
    /// The EVA's net cash from settlement (MODEL.md section 5): `R` plus the margin
    /// `p_c − p_rt = W_service` it keeps on charging energy bought at `p_rt`, which is
    /// already `R_service`; so it equals `R` up to rounding and is the EVA's profit.
    pub profit_cny: f64,
}

/// Energy moved and the auxiliary task, kWh.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EnergyTotals {
    /// Energy charged into EVs.
    pub charged_kwh: f64,
    /// Energy discharged by EVs (`Σ D`).
    pub discharged_kwh: f64,
    /// Auxiliary energy asked (`Σ E_limit`).
    pub aux_asked_kwh: f64,
    /// Auxiliary energy delivered (`Σ D`).
    pub aux_delivered_kwh: f64,
    /// The part of the task met (`Σ min(D, E_limit)`).
    pub aux_met_kwh: f64,
    /// `aux_met / aux_asked` (0 when nothing was asked).
    pub aux_share_met: f64,
}

/// The EVs' side: the scheme against uncoordinated charging (MODEL.md section 5).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EvTotals {
    /// Number of EVs in the fleet.
    pub n_evs: usize,
    /// Paid for charging under the scheme, CNY.
    pub paid_cny: f64,
    /// Received for discharging and idling under the scheme, CNY.
    pub received_cny: f64,
    /// Net cost under the scheme, CNY.
    pub net_cost_cny: f64,
    /// Cost under uncoordinated charging, CNY.
    pub baseline_cost_cny: f64,
    /// Energy at arrival, kWh.
    pub initial_kwh: f64,
    /// Energy at departure under the scheme, kWh.
    pub final_kwh: f64,
    /// Energy at departure under uncoordinated charging, kWh.
    pub baseline_final_kwh: f64,
    /// Net energy gained under the scheme (`final − initial`), kWh.
    pub gained_kwh: f64,
    /// Net energy gained under uncoordinated charging, kWh.
    pub baseline_gained_kwh: f64,
    /// Net cost per kWh gained under the scheme, CNY/kWh (`null` when nothing was gained).
    pub cost_per_kwh_gained: Option<f64>,
    /// Cost per kWh gained under uncoordinated charging, CNY/kWh.
    pub baseline_cost_per_kwh_gained: Option<f64>,
}

/// Totals over the slots of one tariff period.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PeriodTotals {
    /// `valley`, `flat` or `peak` (by the slot's real-time price: the lowest price of the
    /// run is the valley, the highest the peak).
    pub period: String,
    /// Number of slots.
    pub slots: usize,
    /// `Σ R`, CNY.
    pub revenue: f64,
    /// `Σ R_grid`, CNY.
    pub r_grid: f64,
    /// `Σ C_limit`, CNY.
    pub c_limit: f64,
    /// `Σ E_limit`, kWh.
    pub aux_asked_kwh: f64,
    /// `Σ D`, kWh.
    pub aux_delivered_kwh: f64,
    /// `Σ min(D, E_limit) / Σ E_limit`.
    pub aux_share_met: f64,
    /// Energy charged, kWh.
    pub charged_kwh: f64,
    /// Mean chosen discharging price, CNY/kWh.
    pub mean_p_d: f64,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Number of slots.
    pub slots: usize,
    /// Start of the horizon.
    pub start: String,
    /// The EVA.
    pub eva: EvaTotals,
    /// Energy and the auxiliary task.
    pub energy: EnergyTotals,
    /// The EVs, scheme against baseline.
    pub evs: EvTotals,
    /// By tariff period.
    pub periods: Vec<PeriodTotals>,
}

fn share(met: f64, asked: f64) -> f64 {
    if asked > 0.0 {
        met / asked
    } else {
        0.0
    }
}

fn per_kwh(cost: f64, gained: f64) -> Option<f64> {
    (gained > 1e-9).then(|| cost / gained)
}

fn period_of(p_rt: f64, lo: f64, hi: f64) -> &'static str {
    if hi > lo && p_rt == lo {
        "valley"
    } else if hi > lo && p_rt == hi {
        "peak"
    } else {
        "flat"
    }
}

impl Summary {
    /// Sums a run.
    pub fn of(result: &RunResult) -> Summary {
        let s = &result.slots;
        let mut eva = EvaTotals::default();
        let mut en = EnergyTotals::default();
        for r in s {
            eva.revenue += r.revenue;
            eva.r_service += r.r_service;
            eva.r_grid += r.r_grid;
            eva.c_v2g += r.c_v2g;
            eva.c_limit += r.c_limit;
            if r.discharge_kwh < r.e_limit_kwh {
                eva.c_limit_shortfall += r.c_limit;
            } else {
                eva.c_limit_excess += r.c_limit;
            }
            en.charged_kwh += r.charge_kwh;
            en.discharged_kwh += r.discharge_kwh;
            en.aux_asked_kwh += r.e_limit_kwh;
            en.aux_delivered_kwh += r.discharge_kwh;
            en.aux_met_kwh += r.discharge_kwh.min(r.e_limit_kwh);
        }
        en.aux_share_met = share(en.aux_met_kwh, en.aux_asked_kwh);
        let mut ev = EvTotals {
            n_evs: result.evs.len(),
            ..EvTotals::default()
        };
        for e in &result.evs {
            ev.paid_cny += e.paid_cny;
            ev.received_cny += e.received_cny;
            ev.net_cost_cny += e.net_cost_cny;
            ev.baseline_cost_cny += e.baseline_cost_cny;
            ev.initial_kwh += e.initial_kwh;
            ev.final_kwh += e.final_kwh;
            ev.baseline_final_kwh += e.baseline_final_kwh;
        }
        ev.gained_kwh = ev.final_kwh - ev.initial_kwh;
        ev.baseline_gained_kwh = ev.baseline_final_kwh - ev.initial_kwh;
        ev.cost_per_kwh_gained = per_kwh(ev.net_cost_cny, ev.gained_kwh);
        ev.baseline_cost_per_kwh_gained = per_kwh(ev.baseline_cost_cny, ev.baseline_gained_kwh);
        eva.profit_cny = result.cash.eva_net;
        Summary {
            slots: s.len(),
            start: s.first().map(|r| r.time.clone()).unwrap_or_default(),
            eva,
            energy: en,
            evs: ev,
            periods: periods(s),
        }
    }

    /// The short human table printed after a run and by `v2g report`.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let e = &self.evs;
        let en = &self.energy;
        let a = &self.eva;
        let pk = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        o += &format!(
            "{} EVs, {} slots from {}\n\n",
            e.n_evs, self.slots, self.start
        );
        o += "EVs                           scheme      uncoordinated\n";
        o += &format!(
            "  net cost (CNY)         {:>12.2} {:>18.2}\n",
            e.net_cost_cny, e.baseline_cost_cny
        );
        o += &format!(
            "  energy at departure    {:>12.1} {:>18.1}  kWh (arrived with {:.1})\n",
            e.final_kwh, e.baseline_final_kwh, e.initial_kwh
        );
        o += &format!(
            "  energy gained          {:>12.1} {:>18.1}  kWh\n",
            e.gained_kwh, e.baseline_gained_kwh
        );
        o += &format!(
            "  cost per kWh gained    {:>12} {:>18}  CNY/kWh\n\n",
            pk(e.cost_per_kwh_gained),
            pk(e.baseline_cost_per_kwh_gained)
        );
        o += &format!(
            "EVA revenue R            {:>12.2} CNY  = R_service {:.2} + R_grid {:.2} - C_V2G {:.2} - C_limit {:.2}\n",
            a.revenue, a.r_service, a.r_grid, a.c_v2g, a.c_limit
        );
        o += &format!(
            "EVA profit (settlement)  {:>12.2} CNY; penalties C_limit: {:.2} for shortfall, {:.2} for excess\n",
            a.profit_cny, a.c_limit_shortfall, a.c_limit_excess
        );
        o += &format!(
            "Energy                   charged {:.1} kWh, discharged {:.1} kWh\n",
            en.charged_kwh, en.discharged_kwh
        );
        o += &format!(
            "Auxiliary task           asked {:.1} kWh, delivered {:.1} kWh, met {:.1}%\n",
            en.aux_asked_kwh,
            en.aux_delivered_kwh,
            100.0 * en.aux_share_met
        );
        if !self.periods.is_empty() {
            o += "\nperiod  slots   revenue  R/slot   R_grid  C_limit  charged kWh  asked kWh  delivered kWh  met    mean p_d\n";
            for p in &self.periods {
                o += &format!(
                    "{:<7} {:>5} {:>9.2} {:>7.2} {:>8.2} {:>8.2} {:>12.1} {:>10.1} {:>14.1} {:>5.1}% {:>9.3}\n",
                    p.period,
                    p.slots,
                    p.revenue,
                    p.revenue / p.slots as f64,
                    p.r_grid,
                    p.c_limit,
                    p.charged_kwh,
                    p.aux_asked_kwh,
                    p.aux_delivered_kwh,
                    100.0 * p.aux_share_met,
                    p.mean_p_d
                );
            }
        }
        o
    }
}

fn periods(s: &[SlotRecord]) -> Vec<PeriodTotals> {
    let lo = s.iter().map(|r| r.p_rt).fold(f64::INFINITY, f64::min);
    let hi = s.iter().map(|r| r.p_rt).fold(f64::NEG_INFINITY, f64::max);
    let mut out: Vec<PeriodTotals> = ["valley", "flat", "peak"]
        .iter()
        .map(|n| PeriodTotals {
            period: n.to_string(),
            ..PeriodTotals::default()
        })
        .collect();
    let mut met = [0.0; 3];
    for r in s {
        let i = match period_of(r.p_rt, lo, hi) {
            "valley" => 0,
            "flat" => 1,
            _ => 2,
        };
        let p = &mut out[i];
        p.slots += 1;
        p.revenue += r.revenue;
        p.r_grid += r.r_grid;
        p.c_limit += r.c_limit;
        p.aux_asked_kwh += r.e_limit_kwh;
        p.aux_delivered_kwh += r.discharge_kwh;
        p.charged_kwh += r.charge_kwh;
        p.mean_p_d += r.p_d;
        met[i] += r.discharge_kwh.min(r.e_limit_kwh);
    }
    for (p, m) in out.iter_mut().zip(met) {
        if p.slots > 0 {
            p.mean_p_d /= p.slots as f64;
        }
        p.aux_share_met = share(m, p.aux_asked_kwh);
    }
    out.retain(|p| p.slots > 0);
    out
}
