//! The perfect-foresight optimum (`--policy optimal`, docs/model.md §10.2): a central
//! planner who knows the whole day schedules every EV's energy in every plugged slot to
//! minimise the **system cost**, as one linear program solved by Clarabel.
//!
//! Variables, for EV `i` in its `k`-th plugged slot `t` (kWh at the meter unless said):
//! `c ≥ 0` charged, `d ≥ 0` discharged, `E_{k+1}` in the battery after the slot; per slot
//! `u_t ≥ |E_limit(t) − D_t|`. Constraints:
//!
//! * the model's bounds in one slot: `c/C̄ + d/D̄ ≤ 1` with `C̄ = min(E0, max_kw·0.25 h)`
//!   and `D̄ = min(E0, max_discharge_kw·0.25 h)` (the convex hull of "charge up to `C̄` or
//!   discharge up to `D̄`"; no `d` when `D̄ = 0`);
//! * Eq. (10) with losses: `E_{k+1} = E_k + η_c·c − d/η_d`, `E_0` the energy at arrival,
//!   `0 ≤ E_{k+1} ≤ Cap`;
//! * the departure target (§3.1): `E_n ≥ target` where it is reachable flat out,
//!   otherwise `E_n ≥` what flat-out charging reaches (the least shortfall); with site
//!   limits, which can make targets out of reach together, the total shortfall is
//!   minimised first (a first program) and then held;
//! * the sites' transformer limits (§9.3): `−L_s ≤ Σ_{i at s} (c − d) ≤ L_s` every slot;
//! * `D_t = Σ_i d`, `u_t ≥ E_limit(t) − D_t`, `u_t ≥ D_t − E_limit(t)`.
//!
//! Objective (the system cost, `crate::report::summary::SystemCost`):
//! `Σ_t [p_rt(t)·Σ c − W_grid·D_t + δ(t)·u_t] + ω·Σ (η_c·c + d/η_d)`.
//!
//! Structure: an EV's slots are coupled only through its own energy (a chain of
//! equalities), slots only through the task and the site limits. The sums over EVs are
//! built as a tree of partial sums of at most [`BLOCK`] terms, so that no row of the
//! program is dense and the solver's sparse factorisation stays near linear in the fleet.
//!
//! The program is the tightest convex relaxation of the model's one-way trades: it may
//! charge and discharge one battery in one slot when V2G energy is worth more than buying
//! it. Where its solution does, the smaller of the two is fixed at zero and the program
//! solved again (at most [`MAX_ROUNDS`] times); the first round's optimum is reported as
//! the relaxation's bound, a lower bound on the system cost of every schedule within the
//! same bounds, targets and limits.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};

use crate::error::{Error, Result};
use crate::policy::{Schedule, SlotView};
use crate::sim::Run;

/// The most terms one row of the program sums; longer sums go through partial sums.
pub const BLOCK: usize = 256;

/// A battery charged and discharged by more than this in one slot (kWh) is fixed to one
/// direction and the program solved again.
pub const SIMULTANEOUS_KWH: f64 = 1e-6;

/// Energies below this (kWh) are the interior-point solver's zero.
pub const CLEAN_KWH: f64 = 1e-9;

/// How many times the program is solved, at most, to fix simultaneous trades; the last
/// time with every EV-slot fixed to one direction, so that it cannot trade both ways.
pub const MAX_ROUNDS: usize = 8;

/// The solver's default iteration limit (scenario `[optimal] max_iterations`).
pub const DEFAULT_MAX_ITERATIONS: u32 = 200;

/// The scenario's `[optimal]` table: options of the `optimal` policy only.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// The interior-point solver's iteration limit per program, `[1, 10000]`; a program
    /// not solved within it is an error (nothing is written).
    pub max_iterations: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_iterations: DEFAULT_MAX_ITERATIONS,
        }
    }
}

impl Options {
    /// Whether these are the defaults (left out of the canonical encoding).
    pub fn is_default(&self) -> bool {
        *self == Options::default()
    }

    /// The ranges of docs/model.md §7.
    pub fn validate(&self) -> Result<()> {
        if !(1..=10_000).contains(&self.max_iterations) {
            return Err(Error::param(
                "optimal.max_iterations",
                format!("{}: must be in [1, 10000]", self.max_iterations),
            ));
        }
        Ok(())
    }
}

/// What solving the optimum found, for `summary.json`'s `optimal`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// The first program's optimum with its constant part (the penalty of slots nobody
    /// can serve): the relaxation's system cost, a lower bound on every schedule's within
    /// the same bounds, targets and limits, in the run's currency.
    pub relaxation_cny: f64,
    /// The last program's optimum: the system cost of the schedule played (before the
    /// replay's rounding), in the run's currency.
    pub objective_cny: f64,
    /// Programs solved for the cost (1 when no trade had to be fixed to one direction).
    pub rounds: usize,
    /// EV-slots fixed to one direction.
    pub fixed: usize,
    /// The least total shortfall of the departure targets, kWh: what flat-out charging
    /// cannot reach, plus what the site limits leave short (0 when every target is in
    /// reach).
    pub shortfall_kwh: f64,
    /// Variables of the last program.
    pub variables: usize,
    /// Constraints of the last program.
    pub constraints: usize,
    /// Interior-point iterations, summed over the programs solved.
    pub iterations: u32,
}

/// The optimum: each EV's energy at the meter in each of its plugged slots.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `energy[i][k]`: EV `i`'s energy at the meter in its `k`-th plugged slot, kWh
    /// (charging positive).
    pub energy: Vec<Vec<f64>>,
    /// Each EV's first plugged slot.
    pub start: Vec<usize>,
    /// What solving found.
    pub report: Report,
}

impl Plan {
    /// The plan as a schedule for [`crate::policy::replay`].
    pub fn schedule(&self) -> impl Schedule + '_ {
        PlanSchedule { plan: self }
    }
}

struct PlanSchedule<'a> {
    plan: &'a Plan,
}

impl Schedule for PlanSchedule<'_> {
    fn decide(&mut self, view: &SlotView<'_>, out: &mut Vec<f64>) {
        let p = self.plan;
        out.extend(
            view.active
                .iter()
                .map(|&i| p.energy[i][view.t - p.start[i]]),
        );
    }
}

/// One EV's part of the program.
#[derive(Debug, Clone)]
struct EvLp {
    /// Fleet index.
    i: usize,
    /// First plugged slot.
    start: usize,
    /// Plugged slots.
    n: usize,
    initial: f64,
    cap: f64,
    c_max: f64,
    d_max: f64,
    /// The energy to hold at departure, kWh (after reachability), if any.
    target: Option<f64>,
    /// The departure target asked, kWh (0: none).
    wanted: f64,
    /// Index into the run's sites when that site has a limit.
    site: Option<usize>,
}

/// Which direction an EV-slot is fixed to after a round with simultaneous trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fix {
    Free,
    NoDischarge,
    NoCharge,
}

/// Columns of one EV-slot.
#[derive(Debug, Clone, Copy)]
struct Cols {
    c: usize,
    d: Option<usize>,
}

/// What solving a program gave.
struct Solved {
    /// The optimal point.
    x: Vec<f64>,
    /// `q·x`.
    objective: f64,
    /// Interior-point iterations.
    iterations: u32,
    /// Variables of the program.
    variables: usize,
    /// Constraints of the program.
    constraints: usize,
}

/// The program in triplets: equalities `A x = b` first, then `A x ≤ b`.
#[derive(Default)]
struct Builder {
    q: Vec<f64>,
    eq: Vec<(usize, usize, f64)>,
    b_eq: Vec<f64>,
    le: Vec<(usize, usize, f64)>,
    b_le: Vec<f64>,
}

impl Builder {
    fn var(&mut self, cost: f64) -> usize {
        self.q.push(cost);
        self.q.len() - 1
    }

    fn eq(&mut self, terms: &[(usize, f64)], rhs: f64) {
        let r = self.b_eq.len();
        self.eq.extend(terms.iter().map(|&(c, v)| (r, c, v)));
        self.b_eq.push(rhs);
    }

    fn le(&mut self, terms: &[(usize, f64)], rhs: f64) {
        let r = self.b_le.len();
        self.le.extend(terms.iter().map(|&(c, v)| (r, c, v)));
        self.b_le.push(rhs);
    }

    /// `Σ terms` as an expression of at most [`BLOCK`] terms: longer sums are replaced by
    /// partial sums `p = Σ chunk` (a tree), so that no row is dense.
    fn aggregate(&mut self, mut terms: Vec<(usize, f64)>) -> Vec<(usize, f64)> {
        while terms.len() > BLOCK {
            let mut next = Vec::with_capacity(terms.len() / BLOCK + 1);
            for chunk in terms.chunks(BLOCK) {
                let p = self.var(0.0);
                let mut row = chunk.to_vec();
                row.push((p, -1.0));
                self.eq(&row, 0.0);
                next.push((p, 1.0));
            }
            terms = next;
        }
        terms
    }

    /// Solves `min q·x` over the rows.
    fn solve(self, max_iterations: u32) -> Result<Solved> {
        let n = self.q.len();
        let n_eq = self.b_eq.len();
        let m = n_eq + self.b_le.len();
        // Column-major with rows ascending in each column (counting sort by column).
        let mut count = vec![0usize; n + 1];
        for &(_, c, _) in self.eq.iter().chain(&self.le) {
            count[c + 1] += 1;
        }
        for c in 0..n {
            count[c + 1] += count[c];
        }
        let nnz = count[n];
        let mut rowval = vec![0usize; nnz];
        let mut nzval = vec![0.0f64; nnz];
        let mut next = count.clone();
        for (r, c, v) in self
            .eq
            .iter()
            .copied()
            .chain(self.le.iter().map(|&(r, c, v)| (r + n_eq, c, v)))
        {
            rowval[next[c]] = r;
            nzval[next[c]] = v;
            next[c] += 1;
        }
        // Rows were pushed in ascending order within each family, equalities first, so
        // each column is already sorted; a duplicate (row, column) never occurs.
        let a = CscMatrix::new(m, n, count, rowval, nzval);
        let p = CscMatrix::zeros((n, n));
        let mut b = self.b_eq;
        b.extend(self.b_le);
        let cones = [
            SupportedConeT::ZeroConeT(n_eq),
            SupportedConeT::NonnegativeConeT(m - n_eq),
        ];
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .max_iter(max_iterations)
            .max_threads(1)
            .build()
            .map_err(|e| Error::Optimum {
                reason: format!("the solver's settings: {e:?}"),
            })?;
        let mut solver =
            DefaultSolver::new(&p, &self.q, &a, &b, &cones, settings).map_err(|e| {
                Error::Optimum {
                    reason: format!("the program was refused by the solver: {e:?}"),
                }
            })?;
        solver.solve();
        let s = &solver.solution;
        match s.status {
            SolverStatus::Solved | SolverStatus::AlmostSolved => {}
            SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
                return Err(Error::Optimum {
                    reason: "the solver finds no schedule within the bounds, targets and site \
                             limits (primal infeasible); every such schedule is feasible by \
                             construction (targets out of reach are relaxed to what can be \
                             reached, limits allow idling), so this is a numerical failure: \
                             please report it with the run's inputs"
                        .into(),
                })
            }
            SolverStatus::MaxIterations => {
                return Err(Error::Optimum {
                    reason: format!(
                        "the solver stopped at its iteration limit ({max_iterations}, scenario \
                         [optimal] max_iterations) before the optimum"
                    ),
                })
            }
            other => {
                return Err(Error::Optimum {
                    reason: format!(
                        "the solver failed ({other:?}) after {} iterations",
                        s.iterations
                    ),
                })
            }
        }
        Ok(Solved {
            x: s.x.clone(),
            objective: s.obj_val,
            iterations: s.iterations,
            variables: n,
            constraints: m,
        })
    }
}

/// The EVs' parts of the program, and the slots' constants.
struct Model {
    evs: Vec<EvLp>,
    slots: usize,
    p_rt: Vec<f64>,
    delta: Vec<f64>,
    e_limit: Vec<f64>,
    w_grid: f64,
    eta_c: f64,
    eta_d: f64,
    omega: f64,
    /// Each site's limit a slot, kWh (`None`: none).
    limits: Vec<Option<f64>>,
    max_iterations: u32,
}

impl Model {
    fn new(run: &Run) -> Model {
        let sc = run.scenario();
        let params = &sc.params;
        let e0 = params.e0_kwh;
        let (ranges, _) = run.plug_schedule();
        let limits = crate::network::limits::slot_limits(&sc.sites);
        let evs = run
            .fleet()
            .evs()
            .iter()
            .enumerate()
            .filter(|(i, _)| !ranges[*i].is_empty())
            .map(|(i, ev)| {
                let r = ranges[i].clone();
                let wanted = ev.state(params).target_kwh;
                // What flat-out charging reaches (docs/model.md §5.2's rule).
                let mut reach = ev.initial_kwh;
                for _ in r.clone() {
                    let x = crate::baseline::charge_x(ev, reach, e0, params.charge_efficiency);
                    reach = (reach + e0 * x * params.charge_efficiency).clamp(0.0, ev.capacity_kwh);
                }
                let target = (wanted > 0.0).then(|| {
                    // A margin inside the target (and inside what is reachable) that
                    // absorbs the interior-point solver's feasibility tolerance.
                    (wanted + 5e-7).min(reach - 1e-7)
                });
                let site = run
                    .site_of()
                    .get(i)
                    .copied()
                    .filter(|&s| limits.get(s).is_some_and(|l| l.is_some()));
                EvLp {
                    i,
                    start: r.start,
                    n: r.len(),
                    initial: ev.initial_kwh,
                    cap: ev.capacity_kwh,
                    c_max: ev.max_charge_kwh().min(e0),
                    d_max: ev.max_discharge_kwh().min(e0),
                    target,
                    wanted,
                    site,
                }
            })
            .collect();
        let h = sc.horizon;
        let prices: Vec<_> = (0..h.slots).map(|t| run.prices(t)).collect();
        Model {
            evs,
            slots: h.slots,
            p_rt: prices.iter().map(|p| p.p_rt).collect(),
            delta: prices.iter().map(|p| p.delta).collect(),
            e_limit: prices.iter().map(|p| p.e_limit_kwh).collect(),
            w_grid: params.w_grid,
            eta_c: params.charge_efficiency,
            eta_d: params.discharge_efficiency,
            omega: sc.wear.per_kwh(),
            limits,
            max_iterations: sc.optimal.max_iterations,
        }
    }

    fn any_limit(&self) -> bool {
        self.evs.iter().any(|e| e.site.is_some())
    }

    fn any_target(&self) -> bool {
        self.evs.iter().any(|e| e.target.is_some())
    }

    /// Builds the program. `stage`: `Shortfall` minimises the targets' total shortfall;
    /// `Cost(held)` minimises the system cost, with the total shortfall held at `held`
    /// when targets are soft (site limits), hard targets otherwise. Returns the builder,
    /// each EV-slot's columns and the objective's constant.
    fn build(&self, stage: Stage, fix: &[Fix]) -> (Builder, Vec<Cols>, f64) {
        let mut b = Builder::default();
        let cost = matches!(stage, Stage::Cost(_));
        let soft = self.any_limit() && self.any_target();
        let mut cols = Vec::with_capacity(fix.len());
        let mut d_terms: Vec<Vec<(usize, f64)>> = vec![Vec::new(); self.slots];
        let mut site_terms: Vec<Vec<Vec<(usize, f64)>>> =
            vec![vec![Vec::new(); self.slots]; self.limits.len()];
        let mut sigma = Vec::new();
        let (eta_c, eta_d, omega) = (self.eta_c, self.eta_d, self.omega);
        for ev in &self.evs {
            let mut prev: Option<usize> = None;
            for k in 0..ev.n {
                let t = ev.start + k;
                let f = fix[cols.len()];
                let c = b.var(if cost {
                    self.p_rt[t] + omega * eta_c
                } else {
                    0.0
                });
                let d = (ev.d_max > 0.0).then(|| {
                    b.var(if cost {
                        -self.w_grid + omega / eta_d
                    } else {
                        0.0
                    })
                });
                let e = b.var(0.0);
                // E_{k+1} − E_k − η_c·c + d/η_d = 0, E_0 the energy at arrival.
                let mut row = vec![(e, 1.0), (c, -eta_c)];
                if let Some(d) = d {
                    row.push((d, 1.0 / eta_d));
                }
                let rhs = match prev {
                    Some(p) => {
                        row.push((p, -1.0));
                        0.0
                    }
                    None => ev.initial,
                };
                b.eq(&row, rhs);
                b.le(&[(c, -1.0)], 0.0);
                match d {
                    Some(d) => {
                        b.le(&[(d, -1.0)], 0.0);
                        b.le(&[(c, 1.0 / ev.c_max), (d, 1.0 / ev.d_max)], 1.0);
                        match f {
                            Fix::NoDischarge => b.le(&[(d, 1.0)], 0.0),
                            Fix::NoCharge => b.le(&[(c, 1.0)], 0.0),
                            Fix::Free => {}
                        }
                        d_terms[t].push((d, 1.0));
                        b.le(&[(e, -1.0)], 0.0);
                    }
                    None => b.le(&[(c, 1.0)], ev.c_max),
                }
                b.le(&[(e, 1.0)], ev.cap);
                if let Some(s) = ev.site {
                    site_terms[s][t].push((c, 1.0));
                    if let Some(d) = d {
                        site_terms[s][t].push((d, -1.0));
                    }
                }
                cols.push(Cols { c, d });
                prev = Some(e);
            }
            if let (Some(target), Some(e)) = (ev.target, prev) {
                if soft {
                    let s = b.var(if cost { 0.0 } else { 1.0 });
                    b.le(&[(s, -1.0)], 0.0);
                    b.le(&[(e, -1.0), (s, -1.0)], -target);
                    sigma.push((s, 1.0));
                } else {
                    b.le(&[(e, -1.0)], -target);
                }
            }
        }
        if let Stage::Cost(Some(held)) = stage {
            let sum = b.aggregate(sigma);
            if !sum.is_empty() {
                b.le(&sum, held);
            }
        }
        let mut constant = 0.0;
        for (t, terms) in d_terms.into_iter().enumerate() {
            let (lim, delta) = (self.e_limit[t], self.delta[t]);
            if terms.is_empty() {
                constant += delta * lim;
                continue;
            }
            let sum = b.aggregate(terms);
            let u = b.var(if cost { delta } else { 0.0 });
            // u ≥ E_limit − D and u ≥ D − E_limit.
            let mut row: Vec<(usize, f64)> = sum.iter().map(|&(c, v)| (c, -v)).collect();
            row.push((u, -1.0));
            b.le(&row, -lim);
            let mut row = sum;
            row.push((u, -1.0));
            b.le(&row, lim);
        }
        for (s, per_slot) in site_terms.into_iter().enumerate() {
            let Some(limit) = self.limits[s] else {
                continue;
            };
            for terms in per_slot.into_iter().filter(|t| !t.is_empty()) {
                let sum = b.aggregate(terms);
                b.le(&sum, limit);
                let neg: Vec<(usize, f64)> = sum.iter().map(|&(c, v)| (c, -v)).collect();
                b.le(&neg, limit);
            }
        }
        (b, cols, if cost { constant } else { 0.0 })
    }
}

#[derive(Debug, Clone, Copy)]
enum Stage {
    Shortfall,
    Cost(Option<f64>),
}

/// Solves the optimum of a run (docs/model.md §10.2).
pub fn solve(run: &Run) -> Result<Plan> {
    let model = Model::new(run);
    let n_slots: usize = model.evs.iter().map(|e| e.n).sum();
    let mut fix = vec![Fix::Free; n_slots];
    let mut iterations = 0;
    // With site limits, targets may be out of reach together: least shortfall first.
    let held = if model.any_limit() && model.any_target() {
        let (b, _, _) = model.build(Stage::Shortfall, &fix);
        let solved = b.solve(model.max_iterations)?;
        iterations += solved.iterations;
        let least = solved.objective.max(0.0);
        Some((least, least + 1e-7 * (1.0 + least)))
    } else {
        None
    };
    let mut relaxation = None;
    let mut fixed = 0;
    for round in 1..=MAX_ROUNDS {
        let (b, cols, constant) = model.build(Stage::Cost(held.map(|h| h.1)), &fix);
        let solved = b.solve(model.max_iterations)?;
        iterations += solved.iterations;
        let (x, n, m) = (&solved.x, solved.variables, solved.constraints);
        let objective = solved.objective + constant;
        relaxation.get_or_insert(objective);
        let clean = |v: f64| if v < CLEAN_KWH { 0.0 } else { v };
        let mut both = 0;
        for (k, col) in cols.iter().enumerate() {
            let c = clean(x[col.c]);
            let d = col.d.map_or(0.0, |d| clean(x[d]));
            if c > SIMULTANEOUS_KWH && d > SIMULTANEOUS_KWH {
                both += 1;
                fix[k] = if c >= d {
                    Fix::NoDischarge
                } else {
                    Fix::NoCharge
                };
            }
        }
        if both > 0 && round + 1 == MAX_ROUNDS {
            // The last program: every EV-slot that could still trade both ways is fixed
            // to the direction it leans to now (charging when it does neither), so that
            // the program cannot charge and discharge one battery at once.
            for (k, col) in cols.iter().enumerate() {
                if let (Fix::Free, Some(d)) = (fix[k], col.d) {
                    let (c, d) = (clean(x[col.c]), clean(x[d]));
                    fix[k] = if d > c {
                        Fix::NoCharge
                    } else {
                        Fix::NoDischarge
                    };
                }
            }
        }
        if both > 0 {
            fixed = fix.iter().filter(|f| **f != Fix::Free).count();
            if round == MAX_ROUNDS {
                return Err(Error::Optimum {
                    reason: format!(
                        "after {MAX_ROUNDS} programs, {both} EV-slots still charge and \
                         discharge one battery at once"
                    ),
                });
            }
            continue;
        }
        let mut energy: Vec<Vec<f64>> = vec![Vec::new(); run.fleet().len()];
        let mut start = vec![0; run.fleet().len()];
        let mut k = 0;
        for ev in &model.evs {
            start[ev.i] = ev.start;
            energy[ev.i] = (0..ev.n)
                .map(|j| {
                    let col = cols[k + j];
                    clean(x[col.c]) - col.d.map_or(0.0, |d| clean(x[d]))
                })
                .collect();
            k += ev.n;
        }
        // What no schedule can charge (targets past flat-out charging), plus what the
        // site limits leave short of the rest.
        let out_of_reach = model
            .evs
            .iter()
            .filter_map(|e| e.target.map(|t| (e.wanted - t).max(0.0)))
            .fold(0.0, |a, b| a + b);
        let shortfall = out_of_reach + held.map_or(0.0, |h| h.0);
        return Ok(Plan {
            energy,
            start,
            report: Report {
                relaxation_cny: relaxation.unwrap_or(objective),
                objective_cny: objective,
                rounds: round,
                fixed,
                shortfall_kwh: shortfall,
                variables: n,
                constraints: m,
                iterations,
            },
        });
    }
    unreachable!("the loop returns")
}
