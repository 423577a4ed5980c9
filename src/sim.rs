//! The slot loop: the paper's scheme replayed over a fleet (steps 2–6 of Section III.C).
//!
//! Like argmin's executor, [`Run::simulate`] owns the loop; each step takes the state (every
//! EV's energy) and one slot's signals, plays the Stackelberg game, settles it, and hands
//! a [`SlotOutcome`] to an observer (a progress report, the ledger) before moving on. The
//! observer may fail or stop the run by returning an error ([`Error::Stopped`] to stop).

use std::sync::Arc;

use chrono::NaiveDateTime;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::baseline;
use crate::data::fleet::{Fleet, Kind};
use crate::data::grid::{GridRow, GridSignals};
use crate::data::scenario::{Scenario, Solver};
use crate::data::time::{format_time, whole_minute, Horizon};
use crate::error::{Error, Result};
use crate::game::follower::{slot_up_kwh, EvState, Follower, Regime};
use crate::game::leader::{Revenue, SlotPrices};
use crate::game::search::{SearchResult, SlotGame, PAR_MIN_EVS};
use crate::game::solve::solve_within;
use crate::settlement::{settle, Cash, Trade};

/// The most candidates one slot's grid search may have (keeps a typo in epsilon from
/// running for days); the exact solver is not bound by it.
pub const MAX_CANDIDATES: usize = 100_000_000;

/// What one follower's response costs in a scan of the grid, seconds: about 3 ns
/// (`SlotGame.revenue` over 20,000 prices and 2,000 EVs, release build, 2026-12-07,
/// docs/benchmarks.md); the basis of [`Run::grid_worst_case_note`]'s estimate.
pub const RESPONSE_SECONDS: f64 = 3e-9;

/// One row of `slots.csv` (docs/model.md §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotRecord {
    /// Slot index.
    pub slot: usize,
    /// Slot start, `YYYY-MM-DDTHH:MM`.
    pub time: String,
    /// Real-time price, CNY/kWh.
    pub p_rt: f64,
    /// Charging price, CNY/kWh.
    pub p_c: f64,
    /// Chosen discharging price `p_d*`, CNY/kWh; empty for a policy without the price
    /// game (docs/model.md §10).
    pub p_d: Option<f64>,
    /// Auxiliary-service task, kWh.
    pub e_limit_kwh: f64,
    /// EVs plugged for the whole slot.
    pub n_plugged: usize,
    /// Charging EVs.
    pub n_charge: usize,
    /// Discharging EVs.
    pub n_discharge: usize,
    /// Idle EVs.
    pub n_idle: usize,
    /// Energy charged, kWh.
    pub charge_kwh: f64,
    /// Energy discharged `D`, kWh.
    pub discharge_kwh: f64,
    /// `R_service` (Eq. 4), CNY.
    pub r_service: f64,
    /// `R_grid,V2G` (Eq. 5), CNY.
    pub r_grid: f64,
    /// `C_V2G` (Eq. 6), CNY.
    pub c_v2g: f64,
    /// `C_limit` (Eq. 7), CNY.
    pub c_limit: f64,
    /// `R` (Eq. 3), CNY.
    pub revenue: f64,
    /// The grid file's base load of the slot, kW (0 without a grid file).
    #[serde(default)]
    pub base_load_kw: f64,
    /// Battery wear of the slot's trades (docs/model.md §10.3), CNY.
    #[serde(default)]
    pub wear_cny: f64,
}

/// One row of `evs.csv` (docs/model.md §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvRecord {
    /// The EV's id.
    pub ev_id: String,
    /// `bus` or `private`.
    pub kind: Kind,
    /// Plug-in time, to the minute as written (`YYYY-MM-DDTHH:MM`; a time, not text,
    /// so that a million records do not hold two million strings).
    #[serde(with = "crate::data::time::minute")]
    pub arrival: NaiveDateTime,
    /// Plug-out time (written as `arrival`).
    #[serde(with = "crate::data::time::minute")]
    pub departure: NaiveDateTime,
    /// Energy at arrival, kWh.
    pub initial_kwh: f64,
    /// Energy at departure (or the horizon's end) under the scheme, kWh.
    pub final_kwh: f64,
    /// Paid for charging, CNY.
    pub paid_cny: f64,
    /// Received for discharging and idling, CNY.
    pub received_cny: f64,
    /// `paid − received`, CNY.
    pub net_cost_cny: f64,
    /// Energy at departure under uncoordinated charging, kWh.
    pub baseline_final_kwh: f64,
    /// Cost under uncoordinated charging, CNY.
    pub baseline_cost_cny: f64,
    /// Departure target, kWh (empty without one).
    pub target_kwh: Option<f64>,
    /// Whether the target can be reached from arrival at full charging power in the
    /// plugged slots (empty without a target); an unreachable target is charged for
    /// flat out, not refused.
    pub target_reachable: Option<bool>,
    /// Whether the EV left with its target (within [`TARGET_TOL_KWH`]; empty without one).
    pub target_met: Option<bool>,
    /// `max(0, target − final)`, kWh (empty without a target).
    pub shortfall_kwh: Option<f64>,
    /// `net_cost / (final − initial)`, CNY per kWh delivered to the battery (empty when
    /// the EV gained nothing).
    pub cost_per_kwh_delivered: Option<f64>,
    /// The session's name from the fleet's `session_id` column (empty without one). An
    /// EV that plugs in more than once has one row per session.
    pub session_id: Option<String>,
    /// Battery wear over the horizon (docs/model.md §10.3): `ω` times the energy into
    /// and out of the battery, CNY.
    pub wear_cny: f64,
}

/// A departure target counts as met when the EV leaves at most this far below it, kWh
/// (1 mWh: absorbs rounding of the last slot's `E + E0·x`).
pub const TARGET_TOL_KWH: f64 = 1e-6;

/// Trades moving less than this are counted in `summary.json` (`trades_below_1wh`), kWh.
pub const SMALL_TRADE_KWH: f64 = 1e-3;

/// What one slot produced, handed to the observer.
#[derive(Debug)]
pub struct SlotOutcome<'a> {
    /// The slot's row of `slots.csv`.
    pub record: &'a SlotRecord,
    /// The slot's prices and constants (the oracle's data).
    pub prices: &'a SlotPrices,
    /// The leader's game (followers, candidate grid).
    pub game: &'a SlotGame,
    /// The search's outcome: `p_d*` and each SCP worker's proposal.
    pub search: &'a SearchResult,
    /// One trade per plugged EV, in fleet order.
    pub trades: &'a [Trade],
    /// The slot's cash by party.
    pub cash: &'a Cash,
}

/// A slot's outcome, owned: what a pipeline hands to another thread (the ledger's
/// recorder works on slot `t` while slot `t + 1` is simulated).
#[derive(Debug, Clone)]
pub struct OwnedOutcome {
    /// The slot's row of `slots.csv`.
    pub record: SlotRecord,
    /// The slot's prices and constants.
    pub prices: SlotPrices,
    /// The leader's game.
    pub game: SlotGame,
    /// The search's outcome.
    pub search: SearchResult,
    /// One trade per plugged EV, in fleet order.
    pub trades: Vec<Trade>,
    /// The slot's cash by party.
    pub cash: Cash,
}

impl SlotOutcome<'_> {
    /// An owned copy of the outcome.
    pub fn to_owned_outcome(&self) -> OwnedOutcome {
        OwnedOutcome {
            record: self.record.clone(),
            prices: *self.prices,
            game: self.game.clone(),
            search: self.search.clone(),
            trades: self.trades.to_vec(),
            cash: *self.cash,
        }
    }
}

impl OwnedOutcome {
    /// The outcome, borrowed, as the observer sees it.
    pub fn outcome(&self) -> SlotOutcome<'_> {
        SlotOutcome {
            record: &self.record,
            prices: &self.prices,
            game: &self.game,
            search: &self.search,
            trades: &self.trades,
            cash: &self.cash,
        }
    }
}

/// The validated inputs of a run: nothing can fail once this exists.
#[derive(Debug, Clone)]
pub struct Run {
    /// Shared with each result's [`EvTable`], which reads its rows from it.
    fleet: Arc<Fleet>,
    scenario: Scenario,
    rows: Vec<GridRow>,
    /// Each session's charging site (an index of the scenario's `sites`); empty when the
    /// scenario has none.
    site_of: Vec<usize>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// One record per slot.
    pub slots: Vec<SlotRecord>,
    /// One row of `evs.csv` per session, in fleet order, made on demand.
    pub evs: EvTable,
    /// Money by party over the horizon.
    pub cash: Cash,
    /// Charging and discharging trades that moved less than 1 Wh ([`SMALL_TRADE_KWH`]).
    pub trades_below_1wh: usize,
    /// With charging sites: each slot's net energy at each site, kWh at the meters
    /// (charging positive), `site_kwh[t][s]`; empty without sites.
    pub site_kwh: Vec<Vec<f64>>,
    /// With transformer limits: each slot's number of curtailed EVs (docs/model.md
    /// §9.3); empty without limits.
    pub curtailed: Vec<usize>,
}

/// The rows of `evs.csv` (docs/model.md §8.2): one [`EvRecord`] per session, in fleet
/// order, made when asked for. The table keeps what the run computed for each session
/// (its final energy, money, baseline and wear, and its target) and shares the fleet's
/// rows with the [`Run`] for the rest: at a million sessions that is about 70 MB, where
/// the records themselves (each with its own id) would hold about 240 MB beside the fleet.
#[derive(Debug, Clone, Default)]
pub struct EvTable {
    fleet: Arc<Fleet>,
    outcomes: Vec<EvOutcome>,
}

/// What a run computed for one session: the numbers of its [`EvRecord`] that its fleet
/// row does not give.
#[derive(Debug, Clone, Copy, PartialEq)]
struct EvOutcome {
    final_kwh: f64,
    paid_cny: f64,
    received_cny: f64,
    baseline_final_kwh: f64,
    baseline_cost_cny: f64,
    wear_cny: f64,
    target_kwh: Option<f64>,
    target_reachable: Option<bool>,
}

impl EvTable {
    /// The number of sessions (rows).
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// True when the table has no row.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// Row `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<EvRecord> {
        let o = self.outcomes.get(i)?;
        let e = &self.fleet.evs()[i];
        let gained = o.final_kwh - e.initial_kwh;
        let shortfall = o.target_kwh.map(|target| (target - o.final_kwh).max(0.0));
        Some(EvRecord {
            ev_id: e.id.clone(),
            kind: e.kind,
            arrival: whole_minute(e.arrival),
            departure: whole_minute(e.departure),
            initial_kwh: e.initial_kwh,
            final_kwh: o.final_kwh,
            paid_cny: o.paid_cny,
            received_cny: o.received_cny,
            net_cost_cny: o.paid_cny - o.received_cny,
            baseline_final_kwh: o.baseline_final_kwh,
            baseline_cost_cny: o.baseline_cost_cny,
            target_kwh: o.target_kwh,
            target_reachable: o.target_reachable,
            target_met: shortfall.map(|s| s <= TARGET_TOL_KWH),
            shortfall_kwh: shortfall,
            cost_per_kwh_delivered: (gained > 1e-9).then(|| (o.paid_cny - o.received_cny) / gained),
            session_id: e.session_id.clone(),
            wear_cny: o.wear_cny,
        })
    }

    /// Row `i`, as indexing a list would give it.
    ///
    /// # Panics
    ///
    /// When `i` is not below [`EvTable::len`].
    pub fn row(&self, i: usize) -> EvRecord {
        self.get(i)
            .unwrap_or_else(|| panic!("row {i} of an EV table of {} rows", self.len()))
    }

    /// Every row in order, each made as it is reached.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = EvRecord> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// Each row's `ev_id`, in order, borrowed from the fleet.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.fleet.evs()[..self.len()].iter().map(|e| e.id.as_str())
    }

    /// Every row, made at once.
    pub fn to_vec(&self) -> Vec<EvRecord> {
        self.iter().collect()
    }
}

impl<'a> IntoIterator for &'a EvTable {
    type Item = EvRecord;
    type IntoIter = Box<dyn ExactSizeIterator<Item = EvRecord> + 'a>;

    /// [`EvTable::iter`], so that `for e in &result.evs` reads every row.
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Two tables are equal when their rows are.
impl PartialEq for EvTable {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Run {
    /// Checks the scenario and matches the grid signals to the horizon. Without grid
    /// signals there is no auxiliary task (`E_limit = 0`) and the tariff applies.
    pub fn new(fleet: Fleet, grid: Option<&GridSignals>, scenario: Scenario) -> Result<Self> {
        scenario.validate()?;
        let h = scenario.horizon;
        let rows = match grid {
            Some(g) => g.for_horizon(&h)?,
            None => (0..h.slots)
                .map(|t| GridRow {
                    time: h.slot_start(t),
                    base_load_kw: 0.0,
                    e_limit_kwh: 0.0,
                    p_rt: None,
                })
                .collect(),
        };
        let site_of = site_assignment(&fleet, &scenario.sites)?;
        let run = Run {
            fleet: Arc::new(fleet),
            scenario,
            rows,
            site_of,
        };
        for t in 0..h.slots {
            let p = run.prices(t);
            if p.p_d_min > p.p_d_max {
                return Err(Error::param(
                    "p_d_max",
                    format!(
                        "slot {t}: p_d,max = {} is below p_d,min = {} (Eq. 11)",
                        p.p_d_max, p.p_d_min
                    ),
                ));
            }
            let n = (p.p_d_max - p.p_d_min) / run.scenario.params.epsilon;
            // Only the grid search scans every candidate; the exact solver uses the grid
            // just to split the price range among the workers.
            if run.scenario.solver == Solver::Grid && n > MAX_CANDIDATES as f64 {
                return Err(Error::param(
                    "epsilon",
                    format!("slot {t} would have {n:.0} candidates (at most {MAX_CANDIDATES})"),
                ));
            }
        }
        Ok(run)
    }

    /// The grid search's worst case (docs/model.md §4.2): `(the most candidates of a slot,
    /// follower responses if every candidate of every slot were evaluated for every EV
    /// plugged in then)`; `None` for the exact solver and the policies without the game.
    /// The search skips the candidates that cannot hold the best price, so a run usually
    /// evaluates a tiny share of them.
    pub fn grid_worst_case(&self) -> Option<(f64, f64)> {
        // Only the price game searches prices (docs/model.md §10).
        if self.scenario.solver != Solver::Grid || !self.scenario.policy.is_game() {
            return None;
        }
        let h = self.scenario.horizon;
        let mut delta = vec![0i64; h.slots + 1];
        for r in self.plug_schedule().0.iter().filter(|r| !r.is_empty()) {
            delta[r.start] += 1;
            delta[r.end] -= 1;
        }
        let (mut plugged, mut most, mut total) = (0i64, 0.0f64, 0.0f64);
        for (t, d) in delta[..h.slots].iter().enumerate() {
            plugged += d;
            let p = self.prices(t);
            let n = ((p.p_d_max - p.p_d_min) / self.scenario.params.epsilon).floor() + 1.0;
            most = most.max(n);
            total += n * plugged as f64;
        }
        Some((most, total))
    }

    /// A note for a grid search whose worst case ([`Run::grid_worst_case`]) would take
    /// more than a minute at [`RESPONSE_SECONDS`] a response, saying why and what does
    /// not depend on `epsilon`; `None` otherwise.
    pub fn grid_worst_case_note(&self) -> Option<String> {
        let (most, responses) = self.grid_worst_case()?;
        let seconds = responses * RESPONSE_SECONDS;
        (seconds > 60.0).then(|| {
            format!(
                "epsilon {} gives up to {most:.0} price candidates a slot: the grid search \
                 skips those that cannot hold the best price, so a run usually takes seconds, \
                 but one whose revenue stays flat over many candidates evaluates them all, \
                 about {:.0} min for this fleet at worst; --solver exact does not depend on \
                 epsilon (docs/model.md §4.2)",
                self.scenario.params.epsilon,
                seconds / 60.0
            )
        })
    }

    /// Refuses a horizon in which no session of the fleet is plugged in for a whole slot
    /// (docs/model.md §1): such a run would simulate an empty day and report zeros. The
    /// error names the fleet's first arrival and last departure and the `--start` to give
    /// (the first arrival's whole hour). [`crate::pipeline::run`] checks it before
    /// simulating; a library caller may still play an empty day.
    pub fn require_sessions(&self) -> Result<()> {
        let h = self.scenario.horizon;
        let evs = self.fleet.evs();
        if !evs.is_empty()
            && evs
                .iter()
                .all(|e| h.plugged_slots(e.arrival, e.departure).is_empty())
        {
            let first = evs.iter().map(|e| e.arrival).min().expect("a session");
            let last = evs.iter().map(|e| e.departure).max().expect("a session");
            let start = first
                .date()
                .and_hms_opt(chrono::Timelike::hour(&first), 0, 0)
                .expect("a whole hour");
            return Err(Error::param(
                "--start",
                format!(
                    "no session of the fleet is plugged in during the horizon {} to {}: \
                     the fleet's sessions run from {} to {}; give --start {} (or \
                     [horizon] start in a scenario file) to simulate them",
                    format_time(h.start),
                    format_time(h.end()),
                    format_time(first),
                    format_time(last),
                    format_time(start)
                ),
            ));
        }
        Ok(())
    }

    /// The fleet.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The horizon.
    pub fn horizon(&self) -> &Horizon {
        &self.scenario.horizon
    }

    /// Each EV's plugged slots (whole slots between arrival and departure, docs/model.md
    /// §1), and `starts[t]`: the EVs whose first plugged slot is `t`, in fleet order. The
    /// slot loop and step-by-step drivers (the Python `PricingEnv`) share it.
    pub fn plug_schedule(&self) -> (Vec<std::ops::Range<usize>>, Vec<Vec<usize>>) {
        let h = self.scenario.horizon;
        let ranges: Vec<std::ops::Range<usize>> = self
            .fleet
            .evs()
            .iter()
            .map(|e| h.plugged_slots(e.arrival, e.departure))
            .collect();
        let mut starts: Vec<Vec<usize>> = vec![Vec::new(); h.slots];
        for (i, r) in ranges.iter().enumerate() {
            if !r.is_empty() {
                starts[r.start].push(i);
            }
        }
        (ranges, starts)
    }

    /// Each session's charging site, an index of the scenario's `sites` (docs/model.md
    /// §9.2); empty when the scenario has none.
    pub fn site_of(&self) -> &[usize] {
        &self.site_of
    }

    /// The grid row of each slot.
    pub fn grid_rows(&self) -> &[GridRow] {
        &self.rows
    }

    /// Slot `t`'s prices and constants (step 3's oracle data).
    pub fn prices(&self, t: usize) -> SlotPrices {
        let p = &self.scenario.params;
        let row = &self.rows[t];
        let p_rt = row
            .p_rt
            .unwrap_or_else(|| p.tariff.price_at(self.scenario.horizon.slot_start(t)));
        p.slot_prices(p_rt, row.e_limit_kwh)
    }

    /// Plays every slot; `observe` sees each slot's outcome as it is settled, and its
    /// error (a failed ledger check, [`Error::Stopped`]) ends the run with that error.
    pub fn simulate(
        &self,
        mut observe: impl FnMut(&SlotOutcome<'_>) -> Result<()>,
    ) -> Result<RunResult> {
        let h = self.scenario.horizon;
        let params = &self.scenario.params;
        let evs = self.fleet.evs();
        let n = evs.len();
        // starts[t]: EVs whose first plugged slot is t.
        let (ranges, starts) = self.plug_schedule();
        let capacity: Vec<f64> = evs.iter().map(|e| e.capacity_kwh).collect();
        // Each EV's state is derived from its row when needed (a few products): a list of
        // them would hold 96 bytes per EV for the whole run.
        let mut energy: Vec<f64> = evs.iter().map(|e| e.initial_kwh).collect();
        let mut tally = Tally::new(n, self.scenario.wear.per_kwh());
        let mut active: Vec<usize> = Vec::new();
        let mut slots = Vec::with_capacity(h.slots);
        let n_sites = self.scenario.sites.len();
        let limits = if self
            .scenario
            .sites
            .iter()
            .any(|s| s.transformer_kva.is_some())
        {
            crate::network::limits::slot_limits(&self.scenario.sites)
        } else {
            Vec::new()
        };
        let mut curtailed_evs = Vec::new();
        let mut buffer: Vec<Follower> = Vec::new();
        for (t, starting) in starts.iter().enumerate() {
            plugged_at(&mut active, &ranges, starting, t);
            let prices = self.prices(t);
            let follower = |&i: &usize| {
                let s = EvState {
                    energy_kwh: energy[i],
                    slots_after: ranges[i].end - t - 1,
                    ..evs[i].state(params)
                };
                Follower::new(&s, prices.p_c, prices.e0_kwh)
            };
            // One buffer of followers for every slot: no fresh pages each slot.
            let mut followers = std::mem::take(&mut buffer);
            followers.clear();
            if active.len() >= PAR_MIN_EVS {
                followers.par_extend(active.par_iter().map(follower));
            } else {
                followers.extend(active.iter().map(follower));
            }
            let game = SlotGame::new(prices, params.epsilon, followers)?;
            // The sites' transformer limits bind the price (docs/model.md §9.3).
            let at_site: Vec<usize> = if limits.is_empty() {
                Vec::new()
            } else {
                active.iter().map(|&i| self.site_of[i]).collect()
            };
            let plan = crate::network::limits::plan(&game, &at_site, &limits);
            let allowed = plan
                .as_ref()
                .map_or(0..game.grid.len(), |p| p.allowed.clone());
            let (search, mut responses) =
                solve_within(&game, self.scenario.solver, &self.scenario.workers, allowed)?;
            let best = search.best;
            // No price keeps every site within its limit: the chosen price's trades are
            // curtailed, and the slot's revenue is what is settled.
            let curtailed = match &plan {
                Some(p) if p.curtail => crate::network::limits::curtail(
                    &mut responses,
                    &at_site,
                    &limits,
                    prices.e0_kwh,
                ),
                _ => 0,
            };
            let settled = (curtailed > 0).then(|| prices.revenue(best.p_d, &responses));
            if !limits.is_empty() {
                curtailed_evs.push(curtailed);
            }
            let (trades, cash) = settle(
                t,
                &prices,
                best.p_d,
                &active,
                &responses,
                &mut energy,
                &capacity,
            );
            let wear = tally.add(&trades, &cash, &self.site_of, n_sites);
            let r = settled.unwrap_or(best.revenue);
            let record = self.slot_record(t, &prices, Some(best.p_d), active.len(), &r, wear);
            observe(&SlotOutcome {
                record: &record,
                prices: &prices,
                game: &game,
                search: &search,
                trades: &trades,
                cash: &cash,
            })?;
            slots.push(record);
            buffer = game.into_followers();
        }
        drop(buffer);
        crate::game::exact::free_buffers();
        Ok(self.result(slots, &ranges, &energy, tally, curtailed_evs))
    }
}

impl Run {
    /// Slot `t`'s row of `slots.csv` (docs/model.md §8.1): its prices, `p_d` (the game's
    /// price; none for the other policies), the `n_plugged` EVs' response and revenue `r`
    /// (Eqs. 3–7), the grid file's base load and the slot's wear.
    pub(crate) fn slot_record(
        &self,
        t: usize,
        prices: &SlotPrices,
        p_d: Option<f64>,
        n_plugged: usize,
        r: &Revenue,
        wear_cny: f64,
    ) -> SlotRecord {
        SlotRecord {
            slot: t,
            time: format_time(self.scenario.horizon.slot_start(t)),
            p_rt: prices.p_rt,
            p_c: prices.p_c,
            p_d,
            e_limit_kwh: prices.e_limit_kwh,
            n_plugged,
            n_charge: r.n_charge,
            n_discharge: r.n_discharge,
            n_idle: r.n_idle,
            charge_kwh: r.charge_kwh,
            discharge_kwh: r.discharge_kwh,
            r_service: r.r_service,
            r_grid: r.r_grid,
            c_v2g: r.c_v2g,
            c_limit: r.c_limit,
            revenue: r.total,
            base_load_kw: self.rows[t].base_load_kw,
            wear_cny,
        }
    }

    /// A slot loop's result: its slots, each session's row of `evs.csv` from its plugged
    /// slots (`ranges`, [`Run::plug_schedule`]'s), final `energy` and the loop's `tally`,
    /// and each slot's curtailed EVs.
    pub(crate) fn result(
        &self,
        slots: Vec<SlotRecord>,
        ranges: &[std::ops::Range<usize>],
        energy: &[f64],
        tally: Tally,
        curtailed: Vec<usize>,
    ) -> RunResult {
        RunResult {
            evs: self.ev_table(ranges, energy, &tally),
            slots,
            cash: tally.cash,
            trades_below_1wh: tally.small,
            site_kwh: tally.site_kwh,
            curtailed,
        }
    }

    /// The rows of `evs.csv` (docs/model.md §8.2) from each session's final energy and
    /// what the slot loop tallied (paid, received, and the throughput on the battery's
    /// side for its wear), with the uncoordinated baseline's columns beside them.
    pub(crate) fn ev_table(
        &self,
        ranges: &[std::ops::Range<usize>],
        energy: &[f64],
        tally: &Tally,
    ) -> EvTable {
        let (paid, received, throughput) = (&tally.paid, &tally.received, &tally.throughput);
        let h = self.scenario.horizon;
        let params = &self.scenario.params;
        let p_c_all: Vec<f64> = (0..h.slots).map(|t| self.prices(t).p_c).collect();
        let omega = self.scenario.wear.per_kwh();
        let base = baseline::run(
            &self.fleet,
            &h,
            &p_c_all,
            params.e0_kwh,
            params.charge_efficiency,
        );
        let outcomes = self
            .fleet
            .evs()
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let state = e.state(params);
                let target = state.target_kwh;
                let n_slots = ranges[i].len() as f64;
                let up = slot_up_kwh(&state, params.e0_kwh);
                let has = target > 0.0;
                EvOutcome {
                    final_kwh: energy[i],
                    paid_cny: paid[i],
                    received_cny: received[i],
                    baseline_final_kwh: base[i].final_kwh,
                    baseline_cost_cny: base[i].cost_cny,
                    wear_cny: omega * throughput[i],
                    target_kwh: has.then_some(target),
                    target_reachable: has.then_some(
                        e.initial_kwh + n_slots * (up * params.charge_efficiency) >= target,
                    ),
                }
            })
            .collect();
        EvTable {
            fleet: Arc::clone(&self.fleet),
            outcomes,
        }
    }
}

/// The EVs plugged in for the whole of slot `t` (docs/model.md §1), in fleet order, kept
/// from slot to slot: drops those whose plugged slots (`ranges`) ended, adds `starting`,
/// those whose first plugged slot is `t` (`ranges` and the starts are
/// [`Run::plug_schedule`]'s). Every slot loop keeps its set with it: the scheme's, the
/// other policies' and the Python `PricingEnv`'s.
pub fn plugged_at(
    active: &mut Vec<usize>,
    ranges: &[std::ops::Range<usize>],
    starting: &[usize],
    t: usize,
) {
    active.retain(|&i| ranges[i].end > t);
    active.extend_from_slice(starting);
    active.sort_unstable();
}

/// What a slot loop adds up over the horizon from each slot's trades, the scheme's
/// ([`Run::simulate`]) and the other policies' ([`crate::policy::replay`]) alike.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    /// What each session paid, CNY.
    pub paid: Vec<f64>,
    /// What each session received, CNY.
    pub received: Vec<f64>,
    /// Each session's energy into and out of its battery, kWh (for its wear).
    pub throughput: Vec<f64>,
    /// Charging and discharging trades below [`SMALL_TRADE_KWH`].
    pub small: usize,
    /// Money by party.
    pub cash: Cash,
    /// Each slot's net energy at each site, kWh (empty without sites).
    pub site_kwh: Vec<Vec<f64>>,
    /// Wear per kWh of throughput (docs/model.md §10.3).
    omega: f64,
}

impl Tally {
    /// Nothing yet, for `n` sessions, at `omega` per kWh of throughput.
    pub(crate) fn new(n: usize, omega: f64) -> Self {
        Tally {
            paid: vec![0.0; n],
            received: vec![0.0; n],
            throughput: vec![0.0; n],
            small: 0,
            cash: Cash::default(),
            site_kwh: Vec::new(),
            omega,
        }
    }

    /// Adds one slot's trades and cash (and, with `n_sites > 0`, its sites' energy, each
    /// session at `site_of[ev]`); returns the slot's wear.
    pub(crate) fn add(
        &mut self,
        trades: &[Trade],
        cash: &Cash,
        site_of: &[usize],
        n_sites: usize,
    ) -> f64 {
        if n_sites > 0 {
            let mut at = vec![0.0; n_sites];
            for tr in trades {
                at[site_of[tr.ev]] += tr.energy_kwh;
            }
            self.site_kwh.push(at);
        }
        let mut wear = 0.0;
        for tr in trades {
            if tr.regime != Regime::Idle && tr.energy_kwh.abs() < SMALL_TRADE_KWH {
                self.small += 1;
            }
            self.paid[tr.ev] += tr.paid_cny;
            self.received[tr.ev] += tr.received_cny;
            let moved = (tr.energy_after_kwh - tr.energy_before_kwh).abs();
            self.throughput[tr.ev] += moved;
            wear += self.omega * moved;
        }
        self.cash.add(cash);
        wear
    }
}

/// Each session's charging site (docs/model.md §9.2): the site its fleet row names, or
/// else site `i mod n` for session `i` of `n` sites; empty without sites (the fleet's
/// `site` column is then not used). Refuses a site name the scenario does not have.
pub fn site_assignment(fleet: &Fleet, sites: &[crate::network::Site]) -> Result<Vec<usize>> {
    if sites.is_empty() {
        return Ok(Vec::new());
    }
    fleet
        .evs()
        .iter()
        .enumerate()
        .map(|(i, e)| match &e.site {
            None => Ok(i % sites.len()),
            Some(name) => sites.iter().position(|s| &s.name == name).ok_or_else(|| {
                Error::param(
                    "site",
                    format!(
                        "session {i} (EV {}) names the site {}, which the scenario's [[sites]] do not have",
                        crate::error::excerpt(&e.id),
                        crate::error::excerpt(name)
                    ),
                )
            }),
        })
        .collect()
}

/// Slot start times of a horizon (for plots and reports).
pub fn slot_times(h: &Horizon) -> Vec<NaiveDateTime> {
    (0..h.slots).map(|t| h.slot_start(t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fleet::Ev;
    use crate::data::time::parse_time;
    use crate::game::solve::equal_workers;
    use crate::settlement::eva_net_matches_revenue;
    use proptest::prelude::*;

    fn fleet_strategy() -> impl Strategy<Value = Fleet> {
        proptest::collection::vec(
            (
                prop_oneof![Just(1.0), 0.5f64..300.0],
                0.0f64..=1.0,
                -8i64..100,
                1i64..120,
                prop_oneof![Just(None), (0.01f64..1.0).prop_map(Some)],
                prop_oneof![Just(None), (-0.2f64..=0.0).prop_map(Some)],
                prop_oneof![Just(None), (0.0f64..0.3).prop_map(Some)],
            ),
            1..25,
        )
        .prop_map(|rows| {
            let start = parse_time("2021-05-27T07:00").unwrap();
            let evs = rows
                .into_iter()
                .enumerate()
                .map(|(i, (cap, soc, arr, dur, beta, a, u_idle))| {
                    // Arrivals on and off the slot grid (multiples of 5 minutes).
                    let arrival = start + chrono::Duration::minutes(5 * arr);
                    Ev {
                        site: None,
                        session_id: None,
                        id: i.to_string(),
                        kind: if cap > 100.0 {
                            Kind::Bus
                        } else {
                            Kind::Private
                        },
                        capacity_kwh: cap,
                        initial_kwh: soc * cap,
                        arrival,
                        departure: arrival + chrono::Duration::minutes(5 * dur),
                        beta,
                        a,
                        u_idle,
                        limits: Default::default(),
                    }
                })
                .collect();
            Fleet::new(evs).unwrap()
        })
    }

    /// The EV table makes each row on demand from the fleet's row and the run's numbers:
    /// every way of reading it gives the same rows, with the fleet's ids, the money's
    /// difference as the net cost, and nothing past its end; two tables are equal when
    /// their rows are.
    #[test]
    fn the_ev_table_makes_each_row_on_demand() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sustech.csv");
        let fleet = Fleet::load(&path).unwrap();
        let run = Run::new(fleet, None, Scenario::default()).unwrap();
        let r = run.simulate(|_| Ok(())).unwrap();
        let rows = r.evs.to_vec();
        assert_eq!(rows.len(), run.fleet().len());
        assert_eq!(r.evs.len(), rows.len());
        assert!(!r.evs.is_empty());
        assert!(rows
            .iter()
            .any(|e| e.paid_cny > 0.0 && e.received_cny > 0.0));
        for (i, e) in rows.iter().enumerate() {
            assert_eq!(r.evs.get(i).as_ref(), Some(e));
            assert_eq!(&r.evs.row(i), e);
            assert_eq!(e.ev_id, run.fleet().evs()[i].id);
            assert_eq!(e.net_cost_cny, e.paid_cny - e.received_cny);
        }
        assert_eq!(r.evs.get(rows.len()), None);
        let ids: Vec<&str> = rows.iter().map(|e| e.ev_id.as_str()).collect();
        assert_eq!(r.evs.ids().collect::<Vec<_>>(), ids);
        assert_eq!((&r.evs).into_iter().collect::<Vec<_>>(), rows);
        assert_eq!(r.evs.iter().len(), rows.len());
        let mut other = r.evs.clone();
        assert_eq!(other, r.evs);
        other.outcomes[3].received_cny += 0.5;
        assert_ne!(other, r.evs);
        assert_eq!(other.row(3).net_cost_cny, rows[3].net_cost_cny - 0.5);
        other.outcomes.pop();
        assert_ne!(other, r.evs);
        assert!(EvTable::default().is_empty());
        assert_eq!(EvTable::default(), EvTable::default());
    }

    #[test]
    #[should_panic(expected = "row 3 of an EV table of 0 rows")]
    fn an_ev_table_row_past_the_end_panics() {
        EvTable::default().row(3);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Invariants on every slot of random fleets: `0 <= SOC <= 1`; `E_new = E_old + E0·x`;
        /// money balances between EVs, the EVA and the operator; the EVA's net cash is `R`;
        /// an EV acts only in slots it is plugged in for the whole slot, and then always.
        #[test]
        fn slot_invariants_on_random_fleets(
            fleet in fleet_strategy(),
            e_limit in proptest::collection::vec(0.0f64..60.0, 12),
            workers in 1usize..9,
        ) {
            let mut sc = Scenario::default();
            sc.horizon.slots = 12;
            sc.params.epsilon = 0.01;
            sc.workers = equal_workers(workers);
            let h = sc.horizon;
            let rows = (0..h.slots)
                .map(|t| GridRow { time: h.slot_start(t), base_load_kw: 0.0, e_limit_kwh: e_limit[t], p_rt: None })
                .collect();
            let grid = GridSignals::new(rows).unwrap();
            let run = Run::new(fleet.clone(), Some(&grid), sc).unwrap();
            let mut checked = 0usize;
            let mut failures: Vec<String> = Vec::new();
            let result = run.simulate(|o| {
                let t = o.record.slot;
                let (s, e) = (h.slot_start(t), h.slot_end(t));
                let expected: Vec<usize> = fleet.evs().iter().enumerate()
                    .filter(|(_, ev)| ev.arrival <= s && ev.departure >= e)
                    .map(|(i, _)| i)
                    .collect();
                let acting: Vec<usize> = o.trades.iter().map(|tr| tr.ev).collect();
                if acting != expected {
                    failures.push(format!("slot {t}: acting {acting:?} != plugged {expected:?}"));
                }
                for tr in o.trades {
                    let cap = fleet.evs()[tr.ev].capacity_kwh;
                    let soc = tr.energy_after_kwh / cap;
                    if !(0.0..=1.0).contains(&soc) {
                        failures.push(format!("slot {t} ev {}: SOC {soc}", tr.ev));
                    }
                    let want = tr.energy_before_kwh + o.prices.e0_kwh * tr.x;
                    if (tr.energy_after_kwh - want).abs() > 1e-9 * (1.0 + cap) {
                        failures.push(format!("slot {t} ev {}: E_new {} != E_old + E0 x {}", tr.ev, tr.energy_after_kwh, want));
                    }
                }
                let c = o.cash;
                let balance = (c.ev_paid - c.ev_received) - (c.eva_net + c.operator_net);
                if balance.abs() > 1e-9 * (1.0 + c.ev_paid + c.ev_received) {
                    failures.push(format!("slot {t}: money does not balance by {balance}"));
                }
                if !eva_net_matches_revenue(c, &o.search.best.revenue, 1e-9) {
                    failures.push(format!("slot {t}: EVA net {} != R {}", c.eva_net, o.search.best.revenue.total));
                }
                checked += 1;
                Ok(())
            }).unwrap();
            prop_assert!(failures.is_empty(), "{:#?}", failures);
            prop_assert_eq!(checked, 12);
            prop_assert_eq!(result.slots.len(), 12);
            // Per-EV totals add up to the fleet's cash.
            let paid: f64 = result.evs.iter().map(|e| e.paid_cny).sum();
            prop_assert!((paid - result.cash.ev_paid).abs() <= 1e-9 * (1.0 + paid));
            for e in &result.evs {
                prop_assert!(e.baseline_final_kwh >= e.initial_kwh - 1e-12);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Departure targets are met whenever they are reachable from arrival, with power
        /// limits, losses and a smallest trade on, under both solvers; an unreachable target is
        /// reported, never an error; the energy never leaves `[0, capacity]`.
        #[test]
        fn reachable_targets_are_met(
            fleet in fleet_strategy(),
            limits in proptest::collection::vec(
                (
                    prop_oneof![Just(None), (0.0f64..=1.0).prop_map(Some)],
                    prop_oneof![Just(None), (1.0f64..30.0).prop_map(Some)],
                    prop_oneof![Just(None), Just(Some(0.0)), (1.0f64..30.0).prop_map(Some)],
                ),
                25,
            ),
            min_soc in prop_oneof![Just(0.0), 0.0f64..=1.0],
            min_trade in prop_oneof![Just(0.0), 0.0f64..0.5],
            e_limit in proptest::collection::vec(0.0f64..60.0, 12),
            exact in any::<bool>(),
            eta_c in prop_oneof![Just(1.0), 0.51f64..=1.0],
            eta_d in prop_oneof![Just(1.0), 0.51f64..=1.0],
        ) {
            let evs: Vec<Ev> = fleet
                .evs()
                .iter()
                .zip(&limits)
                .map(|(e, &(t, up, down))| Ev {
                    limits: crate::data::fleet::Limits {
                        target_kwh: t.map(|f| f * e.capacity_kwh),
                        max_kw: up,
                        max_discharge_kw: down,
                    },
                    ..e.clone()
                })
                .collect();
            let fleet = Fleet::new(evs).unwrap();
            let mut sc = Scenario::default();
            sc.horizon.slots = 12;
            sc.params.epsilon = 0.01;
            sc.params.min_departure_soc = min_soc;
            sc.params.min_trade_kwh = min_trade;
            sc.params.charge_efficiency = eta_c;
            sc.params.discharge_efficiency = eta_d;
            sc.solver = if exact { Solver::Exact } else { Solver::Grid };
            let h = sc.horizon;
            let rows = (0..h.slots)
                .map(|t| GridRow { time: h.slot_start(t), base_load_kw: 0.0, e_limit_kwh: e_limit[t], p_rt: None })
                .collect();
            let grid = GridSignals::new(rows).unwrap();
            let run = Run::new(fleet.clone(), Some(&grid), sc).unwrap();
            let result = run.simulate(|o| {
                for tr in o.trades {
                    let cap = fleet.evs()[tr.ev].capacity_kwh;
                    assert!((0.0..=cap).contains(&tr.energy_after_kwh));
                    let up = fleet.evs()[tr.ev].max_charge_kwh().min(o.prices.e0_kwh);
                    assert!(tr.energy_kwh <= up * (1.0 + 1e-12), "{tr:?}");
                    let down = fleet.evs()[tr.ev].max_discharge_kwh().min(o.prices.e0_kwh);
                    assert!(-tr.energy_kwh <= down * (1.0 + 1e-12), "{tr:?}");
                    // Losses: the battery moves η_c·E or E/η_d for E at the meter.
                    let stored = if tr.energy_kwh > 0.0 { tr.energy_kwh * eta_c } else { tr.energy_kwh / eta_d };
                    let want = (tr.energy_before_kwh + stored).clamp(0.0, cap);
                    assert!((tr.energy_after_kwh - want).abs() <= 1e-9 * (1.0 + cap), "{tr:?}");
                }
                Ok(())
            }).unwrap();
            let mut targets = 0;
            for (e, r) in fleet.evs().iter().zip(&result.evs) {
                let t = e.target_kwh(&run.scenario().params);
                if t > 0.0 {
                    targets += 1;
                    prop_assert_eq!(r.target_kwh, Some(t));
                    if r.target_reachable == Some(true) {
                        prop_assert!(r.target_met == Some(true), "{:?}", r);
                    }
                    let short = r.shortfall_kwh.unwrap();
                    prop_assert!(short >= 0.0 && (short <= TARGET_TOL_KWH) == (r.target_met == Some(true)));
                } else {
                    prop_assert!(r.target_kwh.is_none() && r.target_met.is_none());
                }
            }
            prop_assert!(targets <= fleet.len());
        }
    }

    /// The grid's worst case counts every candidate of each slot for each EV plugged in
    /// then; a fine epsilon on a big fleet gets a note, the default and the exact solver
    /// none.
    #[test]
    fn the_grid_worst_case_counts_candidates_times_plugged_evs() {
        let ev = |id: &str, a: &str, d: &str| Ev {
            site: None,
            session_id: None,
            id: id.into(),
            kind: Kind::Private,
            capacity_kwh: 60.0,
            initial_kwh: 30.0,
            arrival: parse_time(a).unwrap(),
            departure: parse_time(d).unwrap(),
            beta: None,
            a: None,
            u_idle: None,
            limits: Default::default(),
        };
        // Slot 0 (07:00, valley 0.26): one EV; slot 1: two; slot 2: none.
        let fleet = Fleet::new(vec![
            ev("a", "2021-05-27T07:00", "2021-05-27T07:30"),
            ev("b", "2021-05-27T07:15", "2021-05-27T07:30"),
        ])
        .unwrap();
        let mut sc = Scenario {
            ledger: false,
            ..Scenario::default()
        };
        sc.horizon.slots = 3;
        sc.params.epsilon = 0.01;
        let run = Run::new(fleet.clone(), None, sc.clone()).unwrap();
        // p_d in [-3 x 0.26, 0]: 78 steps of 0.01, 79 candidates.
        let n = (0.78f64 / 0.01).floor() + 1.0;
        assert_eq!(run.grid_worst_case(), Some((n, n * 3.0)));
        assert_eq!(run.grid_worst_case_note(), None);
        let mut exact = sc.clone();
        exact.solver = Solver::Exact;
        assert_eq!(
            Run::new(fleet.clone(), None, exact)
                .unwrap()
                .grid_worst_case(),
            None
        );
        // 400 EVs plugged for three slots at epsilon 1e-8: 78,000,001 candidates a slot,
        // 1,200 EV-slots, 9.36e10 responses, about 281 s at 3 ns: "about 5 min".
        let many: Vec<Ev> = (0..400)
            .map(|i| ev(&format!("e{i}"), "2021-05-27T07:00", "2021-05-27T07:45"))
            .collect();
        sc.params.epsilon = 1e-8;
        let run = Run::new(Fleet::new(many).unwrap(), None, sc).unwrap();
        assert_eq!(
            run.grid_worst_case(),
            Some((78_000_001.0, 78_000_001.0 * 1200.0))
        );
        let note = run.grid_worst_case_note().expect("a note");
        assert!(
            note.starts_with("epsilon 0.00000001 gives up to 78000001 price candidates a slot")
                && note.contains("about 5 min for this fleet at worst")
                && note.contains("--solver exact"),
            "{note}"
        );
    }

    /// docs/model.md §3.1 and §8.2: a target is reachable from arrival when
    /// `initial_kwh + N·η_c·E_up >= target`, the battery's side of the meter. One slot at
    /// `E0` = 3.75 kWh reaches a 3.75 kWh target losslessly, but not with `η_c` = 0.9
    /// (3.375 kWh reach the battery): the EV charges flat out and is reported short.
    #[test]
    fn reachability_counts_the_charging_losses() {
        let ev = |target: f64| Ev {
            site: None,
            session_id: None,
            id: "1".into(),
            kind: Kind::Private,
            capacity_kwh: 60.0,
            initial_kwh: 0.0,
            arrival: parse_time("2021-05-27T07:00").unwrap(),
            departure: parse_time("2021-05-27T07:15").unwrap(),
            beta: None,
            a: None,
            u_idle: None,
            limits: crate::data::fleet::Limits {
                target_kwh: Some(target),
                ..Default::default()
            },
        };
        for (eta, reachable, final_kwh) in [(1.0, true, 3.75), (0.9, false, 3.375)] {
            let mut sc = Scenario {
                ledger: false,
                ..Scenario::default()
            };
            sc.horizon.slots = 1;
            sc.params.charge_efficiency = eta;
            let run = Run::new(Fleet::new(vec![ev(3.75)]).unwrap(), None, sc).unwrap();
            let r = run.simulate(|_| Ok(())).unwrap();
            let e = &r.evs.row(0);
            assert_eq!(e.target_reachable, Some(reachable), "η_c {eta}");
            assert!(
                (e.final_kwh - final_kwh).abs() < 1e-9,
                "η_c {eta}: {}",
                e.final_kwh
            );
            assert_eq!(e.target_met, Some(reachable), "η_c {eta}");
        }
    }

    #[test]
    fn a_range_above_its_floor_is_refused() {
        let fleet = Fleet::new(vec![Ev {
            site: None,
            session_id: None,
            id: "1".into(),
            kind: Kind::Bus,
            capacity_kwh: 10.0,
            initial_kwh: 1.0,
            arrival: parse_time("2021-05-27T07:00").unwrap(),
            departure: parse_time("2021-05-27T08:00").unwrap(),
            beta: None,
            a: None,
            u_idle: None,
            limits: Default::default(),
        }])
        .unwrap();
        let mut sc = Scenario::default();
        sc.params.p_d_max = -5.0;
        let e = Run::new(fleet, None, sc).unwrap_err().to_string();
        assert!(e.contains("p_d_max") && e.contains("Eq. 11"), "{e}");
    }
}
