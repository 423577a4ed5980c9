//! The run's summary: fleet totals that answer the paper's claims with numbers
//! (`summary.json`), and the short table printed on stdout.

use serde::{Deserialize, Serialize};

use crate::data::tariff::Period;
use crate::report::provenance::Provenance;
use crate::sim::{RunResult, SlotRecord};

/// The EVA's revenue over the horizon and its parts (sums of Eqs. 3–7 over slots), in the
/// run's currency ([`Summary::currency`], CNY by default), as every amount below.
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
    /// The EVA's net cash from settlement (docs/model.md §5): `R` plus the margin
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
    /// `aux_met / aux_asked`; `null` when nothing was asked.
    pub aux_share_met: Option<f64>,
    /// Charging and discharging trades that moved less than 1 Wh (docs/model.md §3: the
    /// continuous model's tiny trades near a threshold; `min_trade_kwh` removes them).
    #[serde(default)]
    pub trades_below_1wh: usize,
}

/// The EVs' side: the scheme against uncoordinated charging (docs/model.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EvTotals {
    /// Number of EVs in the fleet (distinct `ev_id`s).
    pub n_evs: usize,
    /// Number of plug-in sessions, when some EV plugs in more than once (absent
    /// otherwise: then every EV has one session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_sessions: Option<usize>,
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
    /// Departure targets (absent when no EV has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<TargetTotals>,
    /// Battery wear under the run's policy, CNY (docs/model.md §10.3).
    #[serde(default)]
    pub wear_cny: f64,
}

/// The system cost of a run (docs/model.md §10.2), the same for every policy: what the
/// EVs and the EVA together pay the operator, plus the batteries' wear. Equal to the
/// EVs' net cost minus the EVA's profit plus wear, whatever the money between them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SystemCost {
    /// Energy bought at the real-time price, `Σ_t p_rt(t)·C_t`.
    pub energy_cny: f64,
    /// The value of the auxiliary (V2G) energy delivered, `Σ_t W_grid·D_t` (Eq. 5).
    pub aux_value_cny: f64,
    /// The task's penalties for shortfall and excess, `Σ_t C_limit(t)` (Eq. 7).
    pub penalty_cny: f64,
    /// Battery wear, `ω·Σ` energy into and out of the batteries (§10.3).
    pub wear_cny: f64,
    /// `energy − aux_value + penalty + wear`.
    pub total_cny: f64,
    /// The highest load of the day at the grid connection, kW: the grid file's base load
    /// plus the EVs' net power, `base_load_kw + (C_t − D_t)/0.25 h`.
    pub peak_load_kw: f64,
}

impl SystemCost {
    /// Sums the system cost of a run's slots.
    pub fn of(slots: &[SlotRecord]) -> SystemCost {
        let mut c = SystemCost {
            peak_load_kw: f64::NEG_INFINITY,
            ..SystemCost::default()
        };
        for r in slots {
            c.energy_cny += r.p_rt * r.charge_kwh;
            c.aux_value_cny += r.r_grid;
            c.penalty_cny += r.c_limit;
            c.wear_cny += r.wear_cny;
            let load = r.base_load_kw + (r.charge_kwh - r.discharge_kwh) / 0.25;
            c.peak_load_kw = c.peak_load_kw.max(load);
        }
        if slots.is_empty() {
            c.peak_load_kw = 0.0;
        }
        c.total_cny = c.energy_cny - c.aux_value_cny + c.penalty_cny + c.wear_cny;
        c
    }
}

/// Departure targets over the fleet (docs/model.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TargetTotals {
    /// EVs with a target.
    pub n_targets: usize,
    /// EVs that left with their target.
    pub n_met: usize,
    /// EVs whose target could not be reached from arrival at full charging power.
    pub n_unreachable: usize,
    /// `Σ max(0, target − final)`, kWh.
    pub shortfall_kwh: f64,
    /// `Σ target`, kWh.
    pub target_kwh: f64,
}

/// Totals over the slots of one tariff period.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PeriodTotals {
    /// `valley`, `flat` or `peak`: the tariff's own period at the slot's start
    /// (docs/model.md §2).
    pub period: Period,
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
    /// `Σ min(D, E_limit) / Σ E_limit`; `null` when nothing was asked in the period.
    pub aux_share_met: Option<f64>,
    /// Energy charged, kWh.
    pub charged_kwh: f64,
    /// Mean chosen discharging price, CNY/kWh; `null` for a policy without the price
    /// game (docs/model.md §10).
    pub mean_p_d: Option<f64>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// What produced the run ([`Provenance`]); absent only in a summary made by
    /// [`Summary::of`] alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Provenance>,
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
    /// The network's day, scheme against baseline (docs/model.md §9.4); absent without a
    /// network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<crate::report::network::NetworkSummary>,
    /// The currency of every amount and price (the scenario's `currency`, an ISO 4217
    /// code); absent from the file when it is the paper's CNY.
    #[serde(
        default = "default_currency",
        skip_serializing_if = "is_default_currency"
    )]
    pub currency: String,
    /// The policy that scheduled the EVs (docs/model.md §10).
    #[serde(default)]
    pub policy: crate::policy::Policy,
    /// The system cost (docs/model.md §10.2), comparable across policies.
    #[serde(default)]
    pub system: SystemCost,
    /// For policy `optimal`: the linear program's report (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimal: Option<crate::policy::optimal::Report>,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            run: None,
            slots: 0,
            start: String::new(),
            eva: EvaTotals::default(),
            energy: EnergyTotals::default(),
            evs: EvTotals::default(),
            periods: Vec::new(),
            network: None,
            currency: default_currency(),
            policy: Default::default(),
            system: SystemCost::default(),
            optimal: None,
        }
    }
}

fn default_currency() -> String {
    crate::data::scenario::DEFAULT_CURRENCY.to_string()
}

fn is_default_currency(c: &String) -> bool {
    c == crate::data::scenario::DEFAULT_CURRENCY
}

fn share(met: f64, asked: f64) -> Option<f64> {
    (asked > 0.0).then(|| met / asked)
}

fn per_kwh(cost: f64, gained: f64) -> Option<f64> {
    (gained > 1e-9).then(|| cost / gained)
}

impl Summary {
    /// Sums a run; `periods` gives each slot's tariff period (in slot order, one per
    /// slot), e.g. from [`crate::data::tariff::Tariff::period_at`]. The `run` object is
    /// left empty for the caller ([`crate::pipeline`]) to fill.
    pub fn of(result: &RunResult, periods: &[Period]) -> Summary {
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
        let n_evs = crate::data::fleet::count_evs(result.evs.ids());
        let mut ev = EvTotals {
            n_evs,
            n_sessions: (n_evs != result.evs.len()).then_some(result.evs.len()),
            ..EvTotals::default()
        };
        for e in result.evs.iter() {
            ev.paid_cny += e.paid_cny;
            ev.received_cny += e.received_cny;
            ev.net_cost_cny += e.net_cost_cny;
            ev.baseline_cost_cny += e.baseline_cost_cny;
            ev.initial_kwh += e.initial_kwh;
            ev.final_kwh += e.final_kwh;
            ev.baseline_final_kwh += e.baseline_final_kwh;
            ev.wear_cny += e.wear_cny;
            if let Some(t) = e.target_kwh {
                let tt = ev.targets.get_or_insert_with(TargetTotals::default);
                tt.n_targets += 1;
                tt.n_met += usize::from(e.target_met == Some(true));
                tt.n_unreachable += usize::from(e.target_reachable == Some(false));
                tt.shortfall_kwh += e.shortfall_kwh.unwrap_or(0.0);
                tt.target_kwh += t;
            }
        }
        en.trades_below_1wh = result.trades_below_1wh;
        ev.gained_kwh = ev.final_kwh - ev.initial_kwh;
        ev.baseline_gained_kwh = ev.baseline_final_kwh - ev.initial_kwh;
        ev.cost_per_kwh_gained = per_kwh(ev.net_cost_cny, ev.gained_kwh);
        ev.baseline_cost_per_kwh_gained = per_kwh(ev.baseline_cost_cny, ev.baseline_gained_kwh);
        eva.profit_cny = result.cash.eva_net;
        Summary {
            run: None,
            slots: s.len(),
            start: s.first().map(|r| r.time.clone()).unwrap_or_default(),
            eva,
            energy: en,
            evs: ev,
            periods: period_totals(s, periods),
            network: None,
            currency: default_currency(),
            policy: Default::default(),
            system: SystemCost::of(s),
            optimal: None,
        }
    }

    /// The short human table printed after a run and by `v2g report`.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let cur = &self.currency;
        let e = &self.evs;
        let en = &self.energy;
        let a = &self.eva;
        let pk = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v));
        o += &format!("{} EVs", e.n_evs);
        if let Some(n) = e.n_sessions {
            o += &format!(" ({n} sessions)");
        }
        o += &format!(", {} slots from {}", self.slots, self.start);
        if !self.policy.is_game() {
            o += &format!(", policy {}", self.policy);
        } else if let Some(run) = &self.run {
            let sc = &run.scenario;
            o += &format!(
                ", solver {}, epsilon {} {cur}/kWh",
                sc.solver, sc.params.epsilon
            );
        }
        o += "\n\n";
        let label = if self.policy.is_game() {
            "scheme"
        } else {
            self.policy.as_str()
        };
        o += &format!("EVs{label:>33}{:>19}\n", "uncoordinated");
        o += &format!(
            "  net cost ({cur})         {:>12.2} {:>18.2}\n",
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
            "  cost per kWh gained    {:>12} {:>18}  {cur}/kWh\n",
            pk(e.cost_per_kwh_gained),
            pk(e.baseline_cost_per_kwh_gained)
        );
        if let Some(t) = &e.targets {
            o += &format!(
                "  departure targets      {} of {} met ({} unreachable), shortfall {:.1} kWh of {:.1}\n",
                t.n_met, t.n_targets, t.n_unreachable, t.shortfall_kwh, t.target_kwh
            );
        }
        o += "\n";
        o += &format!(
            "EVA revenue R            {:>12.2} {cur}  = R_service {:.2} + R_grid {:.2} - C_V2G {:.2} - C_limit {:.2}\n",
            a.revenue, a.r_service, a.r_grid, a.c_v2g, a.c_limit
        );
        o += &format!(
            "EVA profit (settlement)  {:>12.2} {cur}; penalties C_limit: {:.2} for shortfall, {:.2} for excess\n",
            a.profit_cny, a.c_limit_shortfall, a.c_limit_excess
        );
        o += &format!(
            "Energy                   charged {:.1} kWh, discharged {:.1} kWh; {} trades below 1 Wh\n",
            en.charged_kwh, en.discharged_kwh, en.trades_below_1wh
        );
        o += &format!(
            "Auxiliary task           asked {:.1} kWh, delivered {:.1} kWh, met {}\n",
            en.aux_asked_kwh,
            en.aux_delivered_kwh,
            pct(en.aux_share_met)
        );
        let sy = &self.system;
        o += &format!(
            "System cost              {:>12.2} {cur}  = energy {:.2} - V2G value {:.2} + penalties {:.2} + wear {:.2}\n",
            sy.total_cny, sy.energy_cny, sy.aux_value_cny, sy.penalty_cny, sy.wear_cny
        );
        o += &format!("Peak grid load           {:>12.1} kW\n", sy.peak_load_kw);
        if let Some(opt) = &self.optimal {
            o += &format!(
                "Optimum                  relaxation bound {:.2} {cur}, {} program(s), {} EV-slots fixed to one direction\n",
                opt.relaxation_cny, opt.rounds, opt.fixed
            );
        }
        if !self.periods.is_empty() {
            o += "\nperiod  slots   revenue  R/slot   R_grid  C_limit  charged kWh  asked kWh  delivered kWh  met    mean p_d\n";
            for p in &self.periods {
                o += &format!(
                    "{:<7} {:>5} {:>9.2} {:>7.2} {:>8.2} {:>8.2} {:>12.1} {:>10.1} {:>14.1} {:>6} {:>9}\n",
                    p.period.as_str(),
                    p.slots,
                    p.revenue,
                    p.revenue / p.slots as f64,
                    p.r_grid,
                    p.c_limit,
                    p.charged_kwh,
                    p.aux_asked_kwh,
                    p.aux_delivered_kwh,
                    pct(p.aux_share_met),
                    p.mean_p_d.map_or("-".to_string(), |v| format!("{v:.3}"))
                );
            }
        }
        if let Some(n) = &self.network {
            let (s, b) = (&n.scheme, &n.baseline);
            let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
            o += &format!(
                "\nNetwork {} ({} buses, {} sites)      {label}      uncoordinated\n",
                n.case,
                n.buses,
                n.sites.len()
            );
            o += &format!(
                "  lowest voltage (p.u.)  {:>12.4} {:>18.4}  (bus {} and bus {})\n",
                s.worst_voltage_pu, b.worst_voltage_pu, s.worst_voltage_bus, b.worst_voltage_bus
            );
            o += &format!(
                "  hours outside V limits {:>12.2} {:>18.2}\n",
                s.hours_voltage_outside_limits, b.hours_voltage_outside_limits
            );
            o += &format!(
                "  hours overloaded       {:>12.2} {:>18.2}\n",
                s.hours_overloaded, b.hours_overloaded
            );
            o += &format!(
                "  peak transformer (%)   {:>12} {:>18}\n",
                opt(s.peak_transformer_loading_pct),
                opt(b.peak_transformer_loading_pct)
            );
            o += &format!(
                "  energy lost (kWh)      {:>12.1} {:>18.1}\n",
                s.energy_lost_kwh, b.energy_lost_kwh
            );
            o += &format!(
                "  curtailed EV trades    {:>12} {:>18}  (in {} slots)\n",
                s.curtailed_evs, "-", s.curtailed_slots
            );
        }
        o
    }
}

/// Totals by tariff period, in the order valley, flat, peak, periods without slots left out.
fn period_totals(s: &[SlotRecord], labels: &[Period]) -> Vec<PeriodTotals> {
    let order = [Period::Valley, Period::Flat, Period::Peak];
    let mut out: Vec<PeriodTotals> = order
        .iter()
        .map(|&period| PeriodTotals {
            period,
            mean_p_d: Some(0.0),
            ..PeriodTotals::default()
        })
        .collect();
    let mut met = [0.0; 3];
    for (r, &label) in s.iter().zip(labels) {
        let i = order.iter().position(|&p| p == label).unwrap_or(1);
        let p = &mut out[i];
        p.slots += 1;
        p.revenue += r.revenue;
        p.r_grid += r.r_grid;
        p.c_limit += r.c_limit;
        p.aux_asked_kwh += r.e_limit_kwh;
        p.aux_delivered_kwh += r.discharge_kwh;
        p.charged_kwh += r.charge_kwh;
        p.mean_p_d = match (p.mean_p_d, r.p_d) {
            (Some(sum), Some(v)) => Some(sum + v),
            _ => None,
        };
        met[i] += r.discharge_kwh.min(r.e_limit_kwh);
    }
    for (p, m) in out.iter_mut().zip(met) {
        if p.slots > 0 {
            p.mean_p_d = p.mean_p_d.map(|sum| sum / p.slots as f64);
        }
        p.aux_share_met = share(m, p.aux_asked_kwh);
    }
    out.retain(|p| p.slots > 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of these slots, with no EV.
    fn result_of(slots: Vec<SlotRecord>) -> RunResult {
        RunResult {
            slots,
            evs: Default::default(),
            cash: Default::default(),
            site_kwh: Vec::new(),
            curtailed: Vec::new(),
            trades_below_1wh: 0,
        }
    }
    use crate::data::tariff::Tariff;
    use crate::data::time::{format_time, parse_time, Horizon};

    fn slot(t: usize, time: &str, e_limit: f64, discharge: f64) -> SlotRecord {
        SlotRecord {
            slot: t,
            time: time.into(),
            p_rt: 1.12,
            p_c: 1.62,
            p_d: Some(-0.3),
            e_limit_kwh: e_limit,
            n_plugged: 1,
            n_charge: 0,
            n_discharge: 1,
            n_idle: 0,
            charge_kwh: 0.0,
            discharge_kwh: discharge,
            r_service: 0.0,
            r_grid: 0.0,
            c_v2g: 0.0,
            c_limit: 0.0,
            revenue: 1.0,
            base_load_kw: 0.0,
            wear_cny: 0.0,
        }
    }

    /// The tariff's labels for a partial horizon.
    fn labels(start: &str, slots: usize) -> (Vec<SlotRecord>, Vec<Period>) {
        let h = Horizon {
            start: parse_time(start).unwrap(),
            slots,
        };
        let t = Tariff::shenzhen();
        let records = (0..slots)
            .map(|i| slot(i, &format_time(h.slot_start(i)), 1.0, 0.5))
            .collect();
        let periods = (0..slots).map(|i| t.period_at(h.slot_start(i))).collect();
        (records, periods)
    }

    #[test]
    fn an_all_peak_horizon_is_labelled_peak() {
        // 16:00 for eight slots is inside the 14:00-19:00 peak: one price only, still peak.
        let (records, periods) = labels("2021-05-27T16:00", 8);
        let result = result_of(records);
        let s = Summary::of(&result, &periods);
        assert_eq!(s.periods.len(), 1);
        assert_eq!(s.periods[0].period, Period::Peak);
        assert_eq!(s.periods[0].slots, 8);
    }

    #[test]
    fn partial_horizons_follow_the_tariff_bands() {
        // 07:00 to 09:00: four valley slots (to 08:00), four flat.
        let (records, periods) = labels("2021-05-27T07:00", 8);
        let result = result_of(records);
        let s = Summary::of(&result, &periods);
        let got: Vec<(Period, usize)> = s.periods.iter().map(|p| (p.period, p.slots)).collect();
        assert_eq!(got, vec![(Period::Valley, 4), (Period::Flat, 4)]);
        // 18:30 to 19:30 crosses from peak to flat; 23:30 to 00:30 from flat to valley.
        let (_, p) = labels("2021-05-27T18:30", 4);
        assert_eq!(
            p,
            vec![Period::Peak, Period::Peak, Period::Flat, Period::Flat]
        );
        let (_, p) = labels("2021-05-27T23:30", 4);
        assert_eq!(
            p,
            vec![Period::Flat, Period::Flat, Period::Valley, Period::Valley]
        );
    }

    /// A policy without the game is named where the scheme's column would be, and its
    /// system cost printed (docs/model.md §10).
    #[test]
    fn the_table_names_the_policy_and_its_system_cost() {
        let result = result_of(vec![slot(0, "2019-11-04T03:00", 1.0, 2.0)]);
        let mut s = Summary::of(&result, &[Period::Valley]);
        assert!(s
            .render()
            .contains("EVs                           scheme      uncoordinated"));
        s.policy = crate::policy::Policy::Llf;
        let text = s.render();
        assert!(text.contains(", policy llf"), "{text}");
        assert!(
            text.contains("EVs                              llf      uncoordinated"),
            "{text}"
        );
        assert!(
            text.contains("System cost") && text.contains("Peak grid load"),
            "{text}"
        );
    }

    /// The printed table names the run's currency wherever it prints an amount or a
    /// price; `summary.json` carries it only when it is not the paper's CNY.
    #[test]
    fn the_table_and_the_file_name_the_currency() {
        let result = result_of(vec![slot(0, "2019-11-04T03:00", 1.0, 2.0)]);
        let mut s = Summary::of(&result, &[Period::Valley]);
        assert_eq!(s.currency, "CNY");
        let json = serde_json::to_value(&s).unwrap();
        assert!(json.get("currency").is_none());
        assert_eq!(s.render().matches("CNY").count(), 5, "{}", s.render());
        s.currency = "USD".into();
        let text = s.render();
        assert!(!text.contains("CNY"), "{text}");
        for want in [
            "net cost (USD)",
            "USD/kWh",
            "EVA revenue R",
            " USD  = R_service",
            " USD; penalties",
        ] {
            assert!(text.contains(want), "{want} not in {text}");
        }
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["currency"], "USD");
        let back: Summary = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn a_share_of_nothing_asked_is_null() {
        let result = result_of(vec![slot(0, "2021-05-27T03:00", 0.0, 2.0)]);
        let s = Summary::of(&result, &[Period::Valley]);
        assert_eq!(s.energy.aux_share_met, None);
        assert_eq!(s.periods[0].aux_share_met, None);
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["energy"]["aux_share_met"].is_null());
        assert!(s.render().contains("met -"), "{}", s.render());
        let asked = result_of(vec![slot(0, "2021-05-27T03:00", 4.0, 1.0)]);
        assert_eq!(
            Summary::of(&asked, &[Period::Valley]).energy.aux_share_met,
            Some(0.25)
        );
    }
}
