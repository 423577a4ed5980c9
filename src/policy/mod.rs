//! Charging policies (docs/model.md §10): the paper's scheme and what a reviewer compares
//! it with, on the same fleet, day and outputs.
//!
//! * `stackelberg`: the paper's scheme ([`crate::sim::Run::simulate`]);
//! * `uncoordinated`: every EV charges flat out from arrival (§5.2, as a full run);
//! * `edf`, `llf`: smart charging without discharge, earliest deadline or least laxity
//!   first, within the sites' transformer limits ([`rules`]);
//! * `optimal`: the central planner's schedule with perfect foresight, the minimum of the
//!   system cost by a linear program ([`optimal`]).
//!
//! Every policy but the scheme plays its schedule through one slot loop
//! ([`replay`]), settled by one rule ([`settle`]), so that every policy's `slots.csv`,
//! `evs.csv` and summary have the same columns and mean the same thing.

pub mod optimal;
pub mod rules;
pub mod wear;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::game::follower::Regime;
use crate::game::leader::SlotPrices;
use crate::settlement::{Cash, Trade};
use crate::sim::{Run, RunResult};

/// How the EVs' energy is scheduled (scenario key `policy`, flag `--policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// The paper's Stackelberg game: the EVA prices, the EVs respond (the default).
    #[default]
    Stackelberg,
    /// Uncoordinated charging: flat out from arrival until full (docs/model.md §5.2).
    Uncoordinated,
    /// Earliest deadline first: charging only, in departure order, up to each EV's request.
    Edf,
    /// Least laxity first: charging only, in order of slack before the request is late.
    Llf,
    /// The perfect-foresight optimum of the system cost (a linear program).
    Optimal,
}

/// Every policy, in the order tables list them.
pub const POLICIES: [Policy; 5] = [
    Policy::Stackelberg,
    Policy::Uncoordinated,
    Policy::Edf,
    Policy::Llf,
    Policy::Optimal,
];

impl Policy {
    /// The name a scenario file and the command line use.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Stackelberg => "stackelberg",
            Policy::Uncoordinated => "uncoordinated",
            Policy::Edf => "edf",
            Policy::Llf => "llf",
            Policy::Optimal => "optimal",
        }
    }

    /// Whether this is the paper's game, the only policy with a price search, SCP
    /// workers and a ledger.
    pub fn is_game(self) -> bool {
        self == Policy::Stackelberg
    }

    /// Whether the policy is the default (left out of the scenario's canonical encoding).
    pub fn is_default(&self) -> bool {
        *self == Policy::Stackelberg
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Policy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        POLICIES
            .iter()
            .copied()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                Error::param(
                    "policy",
                    format!(
                        "{}: not a policy (stackelberg, uncoordinated, edf, llf or optimal)",
                        crate::error::excerpt(s)
                    ),
                )
            })
    }
}

/// What [`simulate`] reports besides the run's records: the optimum's solver figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyNotes {
    /// For `optimal`: the linear program's report.
    pub optimal: Option<optimal::Report>,
}

/// Plays `policy` over the run's fleet and day; `slot_done(t)` is called after each slot
/// is settled (its error ends the run). The scheme is [`Run::simulate`] (with the ledger,
/// [`crate::ledger::record`] instead); the other policies are [`replay`]s of their
/// schedules.
pub fn simulate(
    run: &Run,
    policy: Policy,
    slot_done: &mut dyn FnMut(usize) -> Result<()>,
) -> Result<(RunResult, PolicyNotes)> {
    let result = match policy {
        Policy::Stackelberg => run.simulate(|o| slot_done(o.record.slot))?,
        Policy::Uncoordinated => replay(run, rules::uncoordinated(run), slot_done)?,
        Policy::Edf => replay(run, rules::ordered(run, rules::Order::Deadline), slot_done)?,
        Policy::Llf => replay(run, rules::ordered(run, rules::Order::Laxity), slot_done)?,
        Policy::Optimal => {
            let plan = optimal::solve(run)?;
            let result = replay(run, plan.schedule(), slot_done)?;
            let notes = PolicyNotes {
                optimal: Some(plan.report),
            };
            return Ok((result, notes));
        }
    };
    Ok((result, PolicyNotes::default()))
}

/// One slot as a schedule sees it.
pub struct SlotView<'a> {
    /// The slot's index.
    pub t: usize,
    /// The EVs plugged in for the whole slot (docs/model.md §1), fleet indices ascending.
    pub active: &'a [usize],
    /// Every EV's energy at the slot's start, kWh (indexed by fleet index).
    pub energy: &'a [f64],
    /// The slot's prices.
    pub prices: &'a SlotPrices,
}

/// A schedule: for each slot, the energy at the meter of each plugged EV, kWh (charging
/// positive), in the order of `view.active`, pushed into `out` (cleared by the caller).
pub trait Schedule {
    /// Fills `out` with one meter energy per plugged EV.
    fn decide(&mut self, view: &SlotView<'_>, out: &mut Vec<f64>);
}

/// The slot loop of every policy but the scheme: each slot, the schedule decides each
/// plugged EV's energy at the meter, [`settle`] applies it, and the records are made as
/// the scheme's are (docs/model.md §8; `p_d` empty).
pub fn replay(
    run: &Run,
    mut schedule: impl Schedule,
    slot_done: &mut dyn FnMut(usize) -> Result<()>,
) -> Result<RunResult> {
    let sc = run.scenario();
    let h = sc.horizon;
    let evs = run.fleet().evs();
    let n = evs.len();
    let (ranges, starts) = run.plug_schedule();
    let capacity: Vec<f64> = evs.iter().map(|e| e.capacity_kwh).collect();
    let mut energy: Vec<f64> = evs.iter().map(|e| e.initial_kwh).collect();
    let mut tally = crate::sim::Tally::new(n, sc.wear.per_kwh());
    let mut active: Vec<usize> = Vec::new();
    let mut slots = Vec::with_capacity(h.slots);
    let n_sites = sc.sites.len();
    let limited = sc.sites.iter().any(|s| s.transformer_kva.is_some());
    let mut meter: Vec<f64> = Vec::new();
    for (t, starting) in starts.iter().enumerate() {
        crate::sim::plugged_at(&mut active, &ranges, starting, t);
        let prices = run.prices(t);
        meter.clear();
        schedule.decide(
            &SlotView {
                t,
                active: &active,
                energy: &energy,
                prices: &prices,
            },
            &mut meter,
        );
        debug_assert_eq!(meter.len(), active.len());
        let (trades, cash, revenue) = settle(t, &prices, &active, &meter, &mut energy, &capacity);
        let wear = tally.add(&trades, &cash, run.site_of(), n_sites);
        slots.push(run.slot_record(t, &prices, None, active.len(), &revenue, wear));
        slot_done(t)?;
    }
    let curtailed = if limited {
        vec![0; h.slots]
    } else {
        Vec::new()
    };
    Ok(run.result(slots, &ranges, &energy, tally, curtailed))
}

/// Settles one slot of a policy other than the scheme (docs/model.md §10.1): each plugged
/// EV moves `meter[k]` kWh at its meter (charging positive); a charging EV pays
/// `p_c` per kWh, as under the scheme; a discharging EV is paid the operator's `W_grid`
/// per kWh, passed through by the EVA (there is no price game, so no `p_d`); an idle EV
/// is paid nothing (`p_delay` is the scheme's incentive); the EVA pays `C_limit` (Eq. 7)
/// as under the scheme. The battery follows Eq. (10) with the losses of §3.2. Returns the
/// trades, the cash and the slot's revenue parts (Eqs. 3–7 with `|p_d| = W_grid` and no
/// idle fees: `R = R_service − C_limit`).
pub fn settle(
    slot: usize,
    prices: &SlotPrices,
    plugged: &[usize],
    meter: &[f64],
    energy: &mut [f64],
    capacity: &[f64],
) -> (Vec<Trade>, Cash, crate::game::leader::Revenue) {
    let e0 = prices.e0_kwh;
    let mut cash = Cash::default();
    let mut r = crate::game::leader::Revenue::default();
    let trades: Vec<Trade> = plugged
        .iter()
        .zip(meter)
        .map(|(&ev, &e)| {
            let before = energy[ev];
            let after = crate::settlement::battery_after(prices, before, e, capacity[ev]);
            energy[ev] = after;
            let (regime, unit_price, paid, received) = if e > 0.0 {
                r.n_charge += 1;
                r.charge_kwh += e;
                (Regime::Charge, prices.p_c, prices.p_c * e, 0.0)
            } else if e < 0.0 {
                r.n_discharge += 1;
                r.discharge_kwh += -e;
                (Regime::Discharge, -prices.w_grid, 0.0, prices.w_grid * -e)
            } else {
                r.n_idle += 1;
                (Regime::Idle, 0.0, 0.0, 0.0)
            };
            cash.ev_paid += paid;
            cash.ev_received += received;
            Trade {
                slot,
                ev,
                regime,
                x: e / e0,
                energy_kwh: e,
                unit_price,
                paid_cny: paid,
                received_cny: received,
                energy_before_kwh: before,
                energy_after_kwh: after,
            }
        })
        .collect();
    let d = r.discharge_kwh;
    r.r_service = prices.w_service * r.charge_kwh;
    r.r_grid = prices.w_grid * d;
    r.c_v2g = prices.w_grid * d;
    r.c_limit = prices.delta * (prices.e_limit_kwh - d).abs();
    r.total = r.r_service + r.r_grid - r.c_v2g - r.c_limit;
    cash.eva_net = cash.ev_paid - prices.p_rt * r.charge_kwh + prices.w_grid * d
        - cash.ev_received
        - r.c_limit;
    cash.operator_net = prices.p_rt * r.charge_kwh + r.c_limit - prices.w_grid * d;
    (trades, cash, r)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::fleet::{Ev, Fleet, Kind, Limits};
    use crate::data::grid::{GridRow, GridSignals};
    use crate::data::scenario::Scenario;
    use crate::data::time::parse_time;
    use proptest::prelude::*;

    /// An EV plugged from slot `from` for `slots` slots of the 07:00 horizon.
    pub(crate) fn ev(id: usize, cap: f64, initial: f64, from: i64, slots: i64) -> Ev {
        let start = parse_time("2021-05-27T07:00").unwrap();
        let arrival = start + chrono::Duration::minutes(15 * from);
        Ev {
            site: None,
            session_id: None,
            id: id.to_string(),
            kind: Kind::Private,
            capacity_kwh: cap,
            initial_kwh: initial,
            arrival,
            departure: arrival + chrono::Duration::minutes(15 * slots),
            beta: None,
            a: None,
            u_idle: None,
            limits: Limits::default(),
        }
    }

    /// A run of `evs` over `slots` slots, with `p_rt[t]` and `e_limit[t]` from a grid.
    pub(crate) fn run_of(evs: Vec<Ev>, p_rt: &[f64], e_limit: &[f64], sc: Scenario) -> Run {
        let start = parse_time("2021-05-27T07:00").unwrap();
        let rows = p_rt
            .iter()
            .zip(e_limit)
            .enumerate()
            .map(|(t, (&p, &e))| GridRow {
                time: start + chrono::Duration::minutes(15 * t as i64),
                base_load_kw: 100.0 + t as f64,
                e_limit_kwh: e,
                p_rt: Some(p),
            })
            .collect();
        let mut sc = sc;
        sc.horizon.slots = p_rt.len();
        sc.ledger = false;
        let grid = GridSignals::new(rows).unwrap();
        Run::new(Fleet::new(evs).unwrap(), Some(&grid), sc).unwrap()
    }

    /// A scenario with one site whose 15 kVA transformer allows 3.75 kWh a slot.
    fn one_site() -> Scenario {
        Scenario {
            sites: vec![crate::network::Site {
                name: "s".into(),
                bus: 1,
                transformer_kva: Some(15.0),
                power_factor: 1.0,
            }],
            ..Scenario::default()
        }
    }

    fn play(run: &Run, p: Policy) -> RunResult {
        simulate(run, p, &mut |_| Ok(())).unwrap().0
    }

    /// docs/model.md §10.1: a charging EV pays `p_c`, a discharging one is paid `W_grid`,
    /// an idle one nothing; `R = R_service − C_limit`; money balances.
    #[test]
    fn settle_moves_money_as_documented() {
        let prices = crate::game::testing::prices(0.66, 10.0);
        let mut energy = vec![10.0, 20.0, 5.0, 7.0];
        let cap = vec![60.0; 4];
        let (trades, cash, r) =
            settle(3, &prices, &[0, 1, 3], &[2.0, -3.0, 0.0], &mut energy, &cap);
        assert_eq!(energy, vec![12.0, 17.0, 5.0, 7.0]);
        assert_eq!(trades[0].regime, Regime::Charge);
        assert_eq!(trades[0].paid_cny, prices.p_c * 2.0);
        assert_eq!(trades[1].regime, Regime::Discharge);
        assert_eq!(trades[1].received_cny, prices.w_grid * 3.0);
        assert_eq!(trades[1].unit_price, -0.792);
        // x is the meter energy in units of E0 (Eq. 9's x).
        assert_eq!((trades[0].x, trades[1].x), (2.0 / 3.75, -3.0 / 3.75));
        assert_eq!(
            (trades[2].regime, trades[2].received_cny),
            (Regime::Idle, 0.0)
        );
        assert_eq!((r.n_charge, r.n_discharge, r.n_idle), (1, 1, 1));
        assert_eq!((r.charge_kwh, r.discharge_kwh), (2.0, 3.0));
        assert!((r.r_service - 0.5 * 2.0).abs() < 1e-12);
        assert_eq!(r.r_grid, r.c_v2g);
        assert!((r.c_limit - 1.32 * 7.0).abs() < 1e-12);
        assert!((r.total - (1.0 - 1.32 * 7.0)).abs() < 1e-12);
        let lhs = cash.ev_paid - cash.ev_received;
        assert!((lhs - (cash.eva_net + cash.operator_net)).abs() < 1e-12);
        assert!((cash.eva_net - r.total).abs() < 1e-12);
        // With losses the battery gains η_c·e and loses e/η_d; the meter's money is the same.
        let lossy = SlotPrices {
            eta_c: 0.9,
            eta_d: 0.8,
            ..prices
        };
        let mut energy = vec![10.0, 20.0];
        let (t2, _, _) = settle(0, &lossy, &[0, 1], &[2.0, -4.0], &mut energy, &cap);
        assert!((energy[0] - 11.8).abs() < 1e-12 && (energy[1] - 15.0).abs() < 1e-12);
        assert_eq!(t2[0].paid_cny, prices.p_c * 2.0);
    }

    /// EDF serves the earliest departure first and LLF the least laxity first, within a
    /// site's transformer limit; without a limit both give every EV what it asks.
    #[test]
    fn edf_and_llf_order_the_evs_under_a_transformer_limit() {
        // EV 0 leaves after 4 slots needing 4 kWh (laxity 4 − 4/3.75 ≈ 2.9); EV 1 leaves
        // after 8 slots needing 26.25 kWh (laxity 8 − 7 = 1). One site, 3.75 kWh a slot.
        let mut a = ev(0, 60.0, 56.0, 0, 4);
        a.limits.target_kwh = None;
        let b = ev(1, 60.0, 33.75, 0, 8);
        let mut sc = one_site();
        let run = run_of(vec![a, b], &[0.5; 8], &[0.0; 8], sc.clone());
        let edf = play(&run, Policy::Edf);
        let llf = play(&run, Policy::Llf);
        // EDF: EV 0 first (it fills up in slot 0 and 1), then EV 1.
        assert_eq!(edf.slots[0].charge_kwh, 3.75);
        assert_eq!(edf.site_kwh[0][0], 3.75);
        assert_eq!(edf.evs.row(0).final_kwh, 60.0);
        assert!((edf.evs.row(1).final_kwh - (33.75 + 3.75 * 8.0 - 4.0)).abs() < 1e-9);
        // LLF: EV 1 first while its laxity is least (1 in slots 0 and 1; EV 0's falls
        // from 2.93 to 1.93), EV 0 in slot 2 (0.93 against 1), EV 1 again in slot 3 (0
        // against 0.93): EV 0 leaves 0.25 kWh short of full, EV 1 gets 7 slots.
        assert_eq!(llf.slots[2].charge_kwh, 3.75);
        assert_eq!(llf.evs.row(0).final_kwh, 59.75);
        assert_eq!(llf.evs.row(1).final_kwh, 60.0);
        for s in edf.slots.iter().chain(&llf.slots) {
            assert!(s.charge_kwh <= 3.75 + 1e-12 && s.discharge_kwh == 0.0);
            assert_eq!(s.p_d, None);
        }
        // Without a limit both give each EV min(E0·x_max, need), as uncoordinated does.
        sc.sites.clear();
        let run = run_of(
            vec![ev(0, 60.0, 56.0, 0, 4), ev(1, 60.0, 33.75, 0, 8)],
            &[0.5; 8],
            &[0.0; 8],
            sc,
        );
        let unc = play(&run, Policy::Uncoordinated);
        for p in [Policy::Edf, Policy::Llf] {
            let r = play(&run, p);
            for (x, y) in r.evs.iter().zip(&unc.evs) {
                assert_eq!(x.final_kwh, y.final_kwh, "{p}");
            }
        }
    }

    /// LLF's key is `n_left − need/E_up` (docs/model.md §10.1), EDF's the deadline: in slot 2
    /// of the day above, EV 0 (2 slots left, 4 kWh to go: 0.93) comes before EV 1 (6 left,
    /// 18.75 to go: 1); in slot 3 EV 1 (5 left, 18.75 to go: 0) before EV 0 (1 left, 0.25 to
    /// go: 0.93), while EDF serves EV 0, the earlier deadline, first in every slot.
    #[test]
    fn llf_orders_by_slots_left_minus_slots_needed() {
        let sc = one_site();
        let run = run_of(
            vec![ev(0, 60.0, 56.0, 0, 4), ev(1, 60.0, 33.75, 0, 8)],
            &[0.5; 8],
            &[0.0; 8],
            sc,
        );
        let mut llf = rules::ordered(&run, rules::Order::Laxity);
        let mut edf = rules::ordered(&run, rules::Order::Deadline);
        for (t, energy, want_llf, want_edf) in [
            (0, [56.0, 33.75], [0.0, 3.75], [3.75, 0.0]),
            (2, [56.0, 41.25], [3.75, 0.0], [3.75, 0.0]),
            (3, [59.75, 41.25], [0.0, 3.75], [0.25, 3.5]),
        ] {
            let prices = run.prices(t);
            let view = SlotView {
                t,
                active: &[0, 1],
                energy: &energy,
                prices: &prices,
            };
            for (s, want) in [
                (&mut llf as &mut dyn Schedule, want_llf),
                (&mut edf as &mut dyn Schedule, want_edf),
            ] {
                let mut out = Vec::new();
                s.decide(&view, &mut out);
                assert!(
                    out.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
                    "slot {t}: {out:?} vs {want:?}"
                );
            }
        }
    }

    /// A target below a full battery stops EDF and LLF at the target.
    #[test]
    fn edf_stops_at_the_departure_target() {
        let mut a = ev(0, 60.0, 10.0, 0, 8);
        a.limits.target_kwh = Some(20.0);
        let run = run_of(vec![a], &[0.5; 8], &[0.0; 8], Scenario::default());
        for p in [Policy::Edf, Policy::Llf] {
            let r = play(&run, p);
            assert_eq!(r.evs.row(0).final_kwh, 20.0, "{p}");
            assert_eq!(r.evs.row(0).target_met, Some(true));
        }
        assert_eq!(play(&run, Policy::Uncoordinated).evs.row(0).final_kwh, 40.0);
    }

    /// With charging losses, EDF and LLF draw `need/η_c` at the meter: the target is met in
    /// one slot, not approached.
    #[test]
    fn edf_draws_the_need_over_the_charging_efficiency() {
        let mut a = ev(0, 60.0, 18.0, 0, 4);
        a.limits.target_kwh = Some(20.0);
        let mut sc = Scenario::default();
        sc.params.charge_efficiency = 0.8;
        let run = run_of(vec![a], &[0.5; 4], &[0.0; 4], sc);
        for p in [Policy::Edf, Policy::Llf] {
            let r = play(&run, p);
            assert!(
                (r.slots[0].charge_kwh - 2.5).abs() < 1e-12,
                "{p}: {:?}",
                r.slots[0]
            );
            assert_eq!(r.slots[1].charge_kwh, 0.0, "{p}");
            assert!((r.evs.row(0).final_kwh - 20.0).abs() < 1e-12, "{p}");
        }
    }

    /// The optimum charges in the cheap slot to meet a target and discharges to meet the
    /// task; its system cost is its LP objective.
    #[test]
    fn the_optimum_buys_cheap_and_serves_the_task() {
        let mut a = ev(0, 60.0, 10.0, 0, 4);
        a.limits.target_kwh = Some(13.75);
        let mut sc = Scenario::default();
        sc.wear.battery_price_per_kwh = 0.0;
        // Slot 2 is cheap; slot 3 asks 1 kWh of V2G.
        let run = run_of(vec![a], &[1.0, 1.0, 0.2, 1.0], &[0.0, 0.0, 0.0, 1.0], sc);
        let (r, notes) = simulate(&run, Policy::Optimal, &mut |_| Ok(())).unwrap();
        let rep = notes.optimal.unwrap();
        // Buying the last kWh at 1.0 in slot 0, 1 or 3 costs the same, and the interior
        // point splits such ties, so slot 3 may be fixed to one direction, at no cost.
        assert!(
            (rep.objective_cny - rep.relaxation_cny).abs() < 1e-6,
            "{rep:?}"
        );
        // 3.75 kWh (the most a slot moves) in the cheap slot 2 at 0.2, 1 kWh more at 1.0
        // to meet the target, and 1 kWh delivered in slot 3 (worth W_grid 0.792 and the
        // avoided penalty 2.0).
        let charged: Vec<f64> = r.slots.iter().map(|s| s.charge_kwh).collect();
        assert!((charged[2] - 3.75).abs() < 1e-6, "{charged:?}");
        assert!(
            (r.slots[3].discharge_kwh - 1.0).abs() < 1e-6,
            "{:?}",
            r.slots[3]
        );
        assert!((r.evs.row(0).final_kwh - 13.75).abs() < 1e-5);
        assert_eq!(r.evs.row(0).target_met, Some(true));
        let sc = crate::report::summary::SystemCost::of(&r.slots);
        assert!(
            (sc.total_cny - rep.objective_cny).abs() < 1e-6,
            "{sc:?} {rep:?}"
        );
        // 3.75·0.2 + 1.0·1.0 − 0.792·1 + 0 penalty.
        assert!((sc.total_cny - (0.75 + 1.0 - 0.792)).abs() < 1e-6, "{sc:?}");
    }

    /// An empty battery asked for V2G energy would charge and discharge at once in the
    /// relaxation; the direction is fixed and the program solved again.
    #[test]
    fn simultaneous_trades_are_fixed_to_one_direction() {
        let run = run_of(
            vec![ev(0, 60.0, 0.0, 0, 2)],
            &[0.1, 0.1],
            &[3.0, 0.0],
            Scenario::default(),
        );
        let (r, notes) = simulate(&run, Policy::Optimal, &mut |_| Ok(())).unwrap();
        let rep = notes.optimal.unwrap();
        assert!(rep.rounds >= 2 && rep.fixed >= 1, "{rep:?}");
        assert!(rep.relaxation_cny <= rep.objective_cny + 1e-9, "{rep:?}");
        for s in &r.slots {
            assert!(s.n_charge + s.n_discharge <= 1, "{s:?}");
        }
    }

    /// A solver stopped by `[optimal] max_iterations` is an error naming it.
    #[test]
    fn an_unsolved_program_is_an_error() {
        let mut sc = Scenario::default();
        sc.optimal.max_iterations = 1;
        sc.policy = Policy::Optimal;
        let run = run_of(vec![ev(0, 60.0, 10.0, 0, 4)], &[1.0; 4], &[1.0; 4], sc);
        let e = simulate(&run, Policy::Optimal, &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("policy optimal") && e.contains("max_iterations"),
            "{e}"
        );
    }

    /// The grid search's worst-case note is the game's: a policy without it has none.
    #[test]
    fn only_the_game_has_a_grid_worst_case() {
        let evs = vec![ev(0, 60.0, 10.0, 0, 4)];
        let game = run_of(evs.clone(), &[0.5; 4], &[0.0; 4], Scenario::default());
        assert!(game.grid_worst_case().is_some());
        let sc = Scenario {
            policy: Policy::Edf,
            ..Scenario::default()
        };
        assert_eq!(
            run_of(evs, &[0.5; 4], &[0.0; 4], sc).grid_worst_case(),
            None
        );
    }

    #[test]
    fn policies_have_names_and_refuse_unknown_ones() {
        for p in POLICIES {
            assert_eq!(p.as_str().parse::<Policy>().unwrap(), p);
            assert_eq!(p.to_string(), p.as_str());
        }
        let e = "greedy".parse::<Policy>().unwrap_err().to_string();
        assert!(e.contains("greedy") && e.contains("optimal"), "{e}");
        assert!(Policy::Stackelberg.is_game() && !Policy::Edf.is_game());
    }

    fn fleets() -> impl Strategy<Value = Vec<Ev>> {
        proptest::collection::vec(
            (
                prop_oneof![Just(20.0), 5.0f64..200.0],
                0.0f64..=1.0,
                0i64..10,
                1i64..12,
                prop_oneof![Just(None), (0.0f64..=1.0).prop_map(Some)],
                prop_oneof![Just(None), (1.0f64..30.0).prop_map(Some)],
            ),
            1..8,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (cap, soc, from, n, target, kw))| {
                    let mut e = ev(i, cap, soc * cap, from, n);
                    e.limits.target_kwh = target.map(|t| t * cap);
                    e.limits.max_kw = kw;
                    e
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// On random fleets and days: every policy's system cost is `EVs' net cost −
        /// EVA profit + wear`; the optimum's is at most every other policy's (they all
        /// keep the same bounds and reach what the optimum must); uncoordinated is the
        /// baseline columns; energy stays within [0, Cap].
        #[test]
        fn system_cost_identity_and_the_optimum_bound(
            evs in fleets(),
            p_rt in proptest::collection::vec(0.1f64..1.5, 12),
            task in proptest::collection::vec(prop_oneof![Just(0.0), 0.0f64..20.0], 12),
            eta in prop_oneof![Just((1.0, 1.0)), (0.8f64..=1.0, 0.8f64..=1.0)],
        ) {
            let mut sc = Scenario::default();
            sc.params.charge_efficiency = eta.0;
            sc.params.discharge_efficiency = eta.1;
            let run = run_of(evs, &p_rt, &task, sc);
            let mut costs = Vec::new();
            for p in POLICIES {
                let r = play(&run, p);
                let s = crate::report::summary::Summary::of(&r, &[crate::data::tariff::Period::Flat; 12]);
                let lhs = s.system.total_cny;
                let rhs = s.evs.net_cost_cny - s.eva.profit_cny + s.evs.wear_cny;
                prop_assert!((lhs - rhs).abs() <= 1e-9 * (1.0 + lhs.abs()), "{p}: {lhs} vs {rhs}");
                prop_assert!((s.system.wear_cny - s.evs.wear_cny).abs() <= 1e-9 * (1.0 + lhs.abs()));
                for (e, f) in r.evs.iter().zip(run.fleet().evs()) {
                    prop_assert!(e.final_kwh >= 0.0 && e.final_kwh <= f.capacity_kwh);
                }
                if p == Policy::Uncoordinated {
                    for e in &r.evs {
                        prop_assert_eq!(e.final_kwh, e.baseline_final_kwh);
                        prop_assert!((e.net_cost_cny - e.baseline_cost_cny).abs() <= 1e-9 * (1.0 + e.baseline_cost_cny));
                    }
                }
                costs.push((p, lhs));
            }
            let best = costs.iter().find(|c| c.0 == Policy::Optimal).unwrap().1;
            for (p, c) in &costs {
                prop_assert!(best <= c + 1e-5 * (1.0 + c.abs()), "optimal {best} above {p} {c}");
            }
        }
    }
}
