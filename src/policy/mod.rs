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

use crate::data::time::format_time;
use crate::error::{Error, Result};
use crate::game::follower::Regime;
use crate::game::leader::SlotPrices;
use crate::settlement::{Cash, Trade};
use crate::sim::{Run, RunResult, SlotRecord, SMALL_TRADE_KWH};

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

/// Plays a policy other than the scheme over the run's fleet and day; `slot_done(t)` is
/// called after each slot is settled (its error ends the run). The scheme itself is
/// [`Run::simulate`] (with the ledger, [`crate::ledger::record`]).
pub fn simulate(
    run: &Run,
    policy: Policy,
    slot_done: &mut dyn FnMut(usize) -> Result<()>,
) -> Result<(RunResult, PolicyNotes)> {
    match policy {
        Policy::Stackelberg => Ok((
            run.simulate(|o| slot_done(o.record.slot))?,
            PolicyNotes::default(),
        )),
        Policy::Uncoordinated => Ok((
            replay(run, rules::uncoordinated(run), slot_done)?,
            PolicyNotes::default(),
        )),
        Policy::Edf => Ok((
            replay(run, rules::ordered(run, rules::Order::Deadline), slot_done)?,
            PolicyNotes::default(),
        )),
        Policy::Llf => Ok((
            replay(run, rules::ordered(run, rules::Order::Laxity), slot_done)?,
            PolicyNotes::default(),
        )),
        Policy::Optimal => {
            let plan = optimal::solve(run)?;
            let result = replay(run, plan.schedule(), slot_done)?;
            Ok((
                result,
                PolicyNotes {
                    optimal: Some(plan.report),
                },
            ))
        }
    }
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
    let mut paid = vec![0.0; n];
    let mut received = vec![0.0; n];
    let mut throughput = vec![0.0; n];
    let mut total = Cash::default();
    let mut active: Vec<usize> = Vec::new();
    let mut slots = Vec::with_capacity(h.slots);
    let mut small = 0usize;
    let n_sites = sc.sites.len();
    let mut site_kwh = Vec::new();
    let limited = sc.sites.iter().any(|s| s.transformer_kva.is_some());
    let omega = sc.wear.per_kwh();
    let mut meter: Vec<f64> = Vec::new();
    for (t, starting) in starts.iter().enumerate() {
        active.retain(|&i| ranges[i].end > t);
        active.extend_from_slice(starting);
        active.sort_unstable();
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
        let mut wear = 0.0;
        if n_sites > 0 {
            let mut at = vec![0.0; n_sites];
            for tr in &trades {
                at[run.site_of()[tr.ev]] += tr.energy_kwh;
            }
            site_kwh.push(at);
        }
        for tr in &trades {
            if tr.regime != Regime::Idle && tr.energy_kwh.abs() < SMALL_TRADE_KWH {
                small += 1;
            }
            paid[tr.ev] += tr.paid_cny;
            received[tr.ev] += tr.received_cny;
            let moved = (tr.energy_after_kwh - tr.energy_before_kwh).abs();
            throughput[tr.ev] += moved;
            wear += omega * moved;
        }
        total.add(&cash);
        slots.push(SlotRecord {
            slot: t,
            time: format_time(h.slot_start(t)),
            p_rt: prices.p_rt,
            p_c: prices.p_c,
            p_d: None,
            e_limit_kwh: prices.e_limit_kwh,
            n_plugged: active.len(),
            n_charge: revenue.n_charge,
            n_discharge: revenue.n_discharge,
            n_idle: revenue.n_idle,
            charge_kwh: revenue.charge_kwh,
            discharge_kwh: revenue.discharge_kwh,
            r_service: revenue.r_service,
            r_grid: revenue.r_grid,
            c_v2g: revenue.c_v2g,
            c_limit: revenue.c_limit,
            revenue: revenue.total,
            base_load_kw: run.grid_rows()[t].base_load_kw,
            wear_cny: wear,
        });
        slot_done(t)?;
    }
    let evs = run.ev_records(&energy, &paid, &received, &throughput);
    Ok(RunResult {
        slots,
        evs,
        cash: total,
        trades_below_1wh: small,
        site_kwh,
        curtailed: if limited {
            vec![0; h.slots]
        } else {
            Vec::new()
        },
    })
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
            let stored = if e > 0.0 {
                e * prices.eta_c
            } else {
                e / prices.eta_d
            };
            let after = (before + stored).clamp(0.0, capacity[ev]);
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
