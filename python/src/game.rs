//! `SlotGame`: one slot's Stackelberg game for experiments, over the core's
//! `v2g::game` (the followers of Eq. 9, the leader's revenue of Eqs. 3–7, the grid search
//! of Eq. 12 and the exact solver).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use rayon::prelude::*;

use v2g::data::fleet::{MAX_BETA, MAX_CAPACITY_KWH, MAX_U_IDLE, MIN_A};
use v2g::data::grid::{MAX_GRID_VALUE, MAX_P_RT};
use v2g::data::scenario::{equal_workers, MAX_WORKERS};
use v2g::game::exact;
use v2g::game::follower::{discharge_x_unchecked, EvState, Follower, Regime};
use v2g::game::leader::Revenue;
use v2g::game::search::Best;
use v2g::sim::MAX_CANDIDATES;
use v2g::{Scenario, SlotGame, Worker};

use crate::{f64_bytes, f64s_of, package_error, to_py_err};

/// Parallelise over prices above this many (price, EV) pairs.
const PAR_MIN_WORK: usize = 1 << 16;

#[pyclass(name = "SlotGame", module = "v2g._v2g", frozen)]
pub struct PySlotGame {
    game: SlotGame,
    scenario: Scenario,
    /// Each follower's discharge threshold `τ` (`v2g::game::exact::threshold`).
    tau: Vec<f64>,
}

/// Relative width of the band around `τ` where [`revenue_batch`] asks the follower itself
/// (the exact solver's docs: the follower's own comparison may disagree with `p < τ` only
/// within a few units in the last place of `τ`).
const TAU_BAND: f64 = 1e-9;

/// `R` at `p` as `v2g::game::exact::revenue_at` computes it (the followers' own responses,
/// summed in follower order with `SlotPrices::revenue`'s expressions), bit for bit, but
/// without a logarithm for the EVs far from their threshold: one below `τ` discharges
/// `discharge_x_unchecked` (the follower's own expression), one above takes its fallback;
/// only those within [`TAU_BAND`] of `τ` are asked `Follower::discharge`. A test checks
/// it against `revenue_at` at random prices and at every `τ` ± a few ulps.
fn revenue_batch(game: &SlotGame, tau: &[f64], p: f64) -> Revenue {
    let pr = &game.prices;
    let (mut r_service, mut charge, mut d) = (0.0, 0.0, 0.0);
    let (mut nc, mut ni, mut nd) = (0, 0, 0);
    for (f, &t) in game.followers.iter().zip(tau) {
        let band = TAU_BAND * t.abs().max(1.0);
        let x_d = if p < t - band {
            Some(discharge_x_unchecked(f.w, f.a, f.x_min, p))
        } else if p > t + band {
            None
        } else {
            f.discharge(p)
        };
        match x_d {
            Some(x) => {
                d += pr.e0_kwh * x.abs();
                nd += 1;
            }
            None => match f.fallback.regime {
                Regime::Charge => {
                    r_service += pr.w_service * pr.e0_kwh * f.fallback.x;
                    charge += pr.e0_kwh * f.fallback.x;
                    nc += 1;
                }
                _ => ni += 1,
            },
        }
    }
    pr.assemble(
        p,
        Revenue {
            r_service,
            n_charge: nc,
            n_discharge: nd,
            n_idle: ni,
            charge_kwh: charge,
            discharge_kwh: d,
            ..Revenue::default()
        },
    )
}

fn input_err(py: Python<'_>, msg: String) -> PyErr {
    package_error(py, "InputError", msg)
}

/// The workers of a search: `n` of equal capacity, or the scenario's.
pub(crate) fn workers_of(py: Python<'_>, sc: &Scenario, n: Option<usize>) -> PyResult<Vec<Worker>> {
    match n {
        None => Ok(sc.workers.clone()),
        Some(n) if (1..=MAX_WORKERS).contains(&n) => Ok(equal_workers(n)),
        Some(n) => Err(input_err(
            py,
            format!(
                "invalid parameter workers: {n}: the number of SCP workers must be between 1 and {MAX_WORKERS}"
            ),
        )),
    }
}

/// A search's winner as a dict: `p_d`, `k` (its grid cell), `revenue` and its parts.
pub(crate) fn best_dict<'py>(py: Python<'py>, b: &Best) -> PyResult<Bound<'py, PyDict>> {
    let d = revenue_dict(py, &b.revenue)?;
    d.set_item("p_d", b.p_d)?;
    d.set_item("k", b.k)?;
    Ok(d)
}

/// `R` (as `revenue`) and its parts (Eqs. 3–7) with the aggregate response.
pub(crate) fn revenue_dict<'py>(py: Python<'py>, r: &Revenue) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("revenue", r.total)?;
    d.set_item("r_service", r.r_service)?;
    d.set_item("r_grid", r.r_grid)?;
    d.set_item("c_v2g", r.c_v2g)?;
    d.set_item("c_limit", r.c_limit)?;
    d.set_item("n_charge", r.n_charge)?;
    d.set_item("n_discharge", r.n_discharge)?;
    d.set_item("n_idle", r.n_idle)?;
    d.set_item("charge_kwh", r.charge_kwh)?;
    d.set_item("discharge_kwh", r.discharge_kwh)?;
    Ok(d)
}

/// Checks one EV's state with the fleet file's rules (docs/model.md §7); `row` is 0-based.
fn check_state(py: Python<'_>, row: usize, s: &EvState) -> PyResult<()> {
    let bad = |col: &str, rule: String| {
        Err(input_err(
            py,
            format!("fleet_state row {row} ({col}): {rule}"),
        ))
    };
    if !(s.capacity_kwh > 0.0 && s.capacity_kwh <= MAX_CAPACITY_KWH) {
        return bad(
            "capacity_kwh",
            format!("capacity_kwh must be a finite number > 0 and <= {MAX_CAPACITY_KWH}"),
        );
    }
    if !(s.energy_kwh >= 0.0 && s.energy_kwh <= s.capacity_kwh) {
        return bad(
            "energy_kwh",
            "energy_kwh must be a finite number >= 0 and <= capacity_kwh".into(),
        );
    }
    if !(s.beta > 0.0 && s.beta <= MAX_BETA) {
        return bad(
            "beta",
            format!("beta must be a finite number > 0 and <= {MAX_BETA}"),
        );
    }
    if !(MIN_A..=0.0).contains(&s.a) {
        return bad(
            "a",
            format!("a must be a finite number <= 0 and >= {MIN_A}"),
        );
    }
    if !(0.0..=MAX_U_IDLE).contains(&s.u_idle) {
        return bad(
            "u_idle",
            format!("u_idle must be a finite number >= 0 and <= {MAX_U_IDLE}"),
        );
    }
    Ok(())
}

impl PySlotGame {
    fn with_epsilon(&self, py: Python<'_>, epsilon: f64) -> PyResult<SlotGame> {
        SlotGame::new(self.game.prices, epsilon, self.game.followers.clone())
            .map_err(|e| to_py_err(py, e))
    }

    fn prices_of(&self, py: Python<'_>, p_d: &[u8]) -> PyResult<Vec<f64>> {
        let ps = f64s_of(py, "p_d", p_d)?;
        if let Some(p) = ps.iter().find(|p| !p.is_finite()) {
            return Err(input_err(py, format!("p_d: {p} is not a finite price")));
        }
        Ok(ps)
    }
}

#[pymethods]
impl PySlotGame {
    /// `energy`, `capacity`: float64 bytes, one value per plugged EV; `beta`, `a`,
    /// `u_idle`: float64 bytes or None, NaN taking the scenario's value; `params`: dotted
    /// scenario keys and values (`params.w_grid`, …), checked as in a scenario file.
    #[new]
    #[pyo3(signature = (energy, capacity, beta, a, u_idle, p_rt, e_limit, params))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        energy: &[u8],
        capacity: &[u8],
        beta: Option<&[u8]>,
        a: Option<&[u8]>,
        u_idle: Option<&[u8]>,
        p_rt: f64,
        e_limit: f64,
        params: Vec<(String, Bound<'_, PyAny>)>,
    ) -> PyResult<Self> {
        let scenario = crate::run::scenario_with(py, None, &params)?;
        scenario.params.validate().map_err(|e| to_py_err(py, e))?;
        let p = &scenario.params;
        let energy = f64s_of(py, "energy_kwh", energy)?;
        let capacity = f64s_of(py, "capacity_kwh", capacity)?;
        let n = energy.len();
        let column = |name: &str, b: Option<&[u8]>, default: f64| -> PyResult<Vec<f64>> {
            match b {
                None => Ok(vec![default; n]),
                Some(b) => Ok(f64s_of(py, name, b)?
                    .into_iter()
                    .map(|x| if x.is_nan() { default } else { x })
                    .collect()),
            }
        };
        let beta = column("beta", beta, p.beta)?;
        let a = column("a", a, p.a)?;
        let u_idle = column("u_idle", u_idle, p.u_idle)?;
        for (name, len) in [
            ("capacity_kwh", capacity.len()),
            ("beta", beta.len()),
            ("a", a.len()),
            ("u_idle", u_idle.len()),
        ] {
            if len != n {
                return Err(input_err(
                    py,
                    format!("fleet_state: {name} has {len} values, energy_kwh has {n}"),
                ));
            }
        }
        if !(0.0..=MAX_P_RT).contains(&p_rt) {
            return Err(input_err(
                py,
                format!("invalid parameter p_rt: {p_rt}: must be a finite number >= 0 and <= {MAX_P_RT}"),
            ));
        }
        if !(0.0..=MAX_GRID_VALUE).contains(&e_limit) {
            return Err(input_err(
                py,
                format!("invalid parameter e_limit: {e_limit}: must be a finite number >= 0 and <= {MAX_GRID_VALUE:e}"),
            ));
        }
        let prices = p.slot_prices(p_rt, e_limit);
        if prices.p_d_min > prices.p_d_max {
            return Err(input_err(
                py,
                format!(
                    "invalid parameter p_d_max: p_d,max = {} is below p_d,min = {} (Eq. 11)",
                    prices.p_d_max, prices.p_d_min
                ),
            ));
        }
        let mut followers = Vec::with_capacity(n);
        for i in 0..n {
            let s = EvState {
                min_trade_kwh: p.min_trade_kwh,
                eta_c: p.charge_efficiency,
                eta_d: p.discharge_efficiency,
                ..EvState::new(energy[i], capacity[i], beta[i], a[i], u_idle[i])
            };
            check_state(py, i, &s)?;
            followers.push(Follower::new(&s, prices.p_c, prices.e0_kwh));
        }
        let tau = followers.iter().map(|f| exact::threshold(f).tau).collect();
        let game = SlotGame::new(prices, p.epsilon, followers).map_err(|e| to_py_err(py, e))?;
        Ok(PySlotGame {
            game,
            scenario,
            tau,
        })
    }

    /// `(p_d_min, p_d_max)`: the oracle's discharging-price range (Eq. 11).
    #[getter]
    fn price_range(&self) -> (f64, f64) {
        (self.game.prices.p_d_min, self.game.prices.p_d_max)
    }

    /// The charging price `p_c = p_rt + W_service`.
    #[getter]
    fn p_c(&self) -> f64 {
        self.game.prices.p_c
    }

    /// Number of EVs.
    fn __len__(&self) -> usize {
        self.game.followers.len()
    }

    /// Each EV's best response (Eq. 9) at each price: `(x, regime)` as bytes of
    /// `len(p_d) × n` float64 and int8 (`1` charge, `0` idle, `-1` discharge), row-major.
    fn best_responses<'py>(
        &self,
        py: Python<'py>,
        p_d: &[u8],
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let ps = self.prices_of(py, p_d)?;
        let fs = &self.game.followers;
        let (x, regime): (Vec<f64>, Vec<u8>) = py.detach(|| {
            let mut x = Vec::with_capacity(ps.len() * fs.len());
            let mut regime = Vec::with_capacity(ps.len() * fs.len());
            for &p in &ps {
                for f in fs {
                    let r = f.respond(p);
                    x.push(r.x);
                    regime.push(match r.regime {
                        Regime::Charge => 1i8,
                        Regime::Idle => 0,
                        Regime::Discharge => -1,
                    } as u8);
                }
            }
            (x, regime)
        });
        Ok((f64_bytes(py, x.into_iter()), PyBytes::new(py, &regime)))
    }

    /// `R` and its parts at each price, from the followers' own responses (what
    /// settlement pays; `v2g::game::exact::revenue_at`, bit for bit, see
    /// [`revenue_batch`]): ten float64 byte columns in the order revenue, r_service,
    /// r_grid, c_v2g, c_limit, n_charge, n_discharge, n_idle, charge_kwh, discharge_kwh.
    /// Prices are evaluated in parallel; each is independent.
    fn revenue<'py>(&self, py: Python<'py>, p_d: &[u8]) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let (game, tau) = (&self.game, &self.tau);
        self.revenue_with(py, p_d, |p| revenue_batch(game, tau, p))
    }

    /// [`Self::revenue`] straight from `v2g::game::exact::revenue_at` (the reference the
    /// tests compare the batch evaluation with).
    fn revenue_reference<'py>(
        &self,
        py: Python<'py>,
        p_d: &[u8],
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let game = &self.game;
        self.revenue_with(py, p_d, |p| exact::revenue_at(game, p))
    }

    /// Each follower's discharge threshold `τ` (it discharges exactly for `p_d < τ`, up
    /// to rounding; `-inf` when it never does), float64 bytes.
    fn thresholds<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        f64_bytes(py, self.tau.iter().copied())
    }

    /// The paper's grid search (Eq. 12) with step `epsilon` (default: the scenario's)
    /// split over `workers` SCP workers (default: the scenario's): what `v2g simulate`
    /// does in each slot with `--solver grid`.
    #[pyo3(signature = (epsilon=None, workers=None))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        epsilon: Option<f64>,
        workers: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let ws = workers_of(py, &self.scenario, workers)?;
        let game = match epsilon {
            None => self.game.clone(),
            Some(e) => {
                let mut sc = self.scenario.clone();
                sc.params.epsilon = e;
                sc.params.validate().map_err(|e| to_py_err(py, e))?;
                self.with_epsilon(py, e)?
            }
        };
        let n = (game.prices.p_d_max - game.prices.p_d_min) / game.grid.epsilon;
        if n > MAX_CANDIDATES as f64 {
            return Err(input_err(
                py,
                format!("invalid parameter epsilon: the search would have {n:.0} candidates (at most {MAX_CANDIDATES})"),
            ));
        }
        let r = py
            .detach(|| v2g::solve(&game, v2g::Solver::Grid, &ws))
            .map_err(|e| to_py_err(py, e))?;
        best_dict(py, &r.0.best)
    }

    /// The exact solver (`--solver exact`): the supremum of `R` over the whole price
    /// range, split over `workers` SCP workers (default: the scenario's).
    #[pyo3(signature = (workers=None))]
    fn solve_exact<'py>(
        &self,
        py: Python<'py>,
        workers: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let ws = workers_of(py, &self.scenario, workers)?;
        let game = &self.game;
        let r = py
            .detach(|| v2g::solve(game, v2g::Solver::Exact, &ws))
            .map_err(|e| to_py_err(py, e))?;
        best_dict(py, &r.0.best)
    }
}

impl PySlotGame {
    fn revenue_with<'py>(
        &self,
        py: Python<'py>,
        p_d: &[u8],
        at: impl Fn(f64) -> Revenue + Sync,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let ps = self.prices_of(py, p_d)?;
        let n = self.game.followers.len();
        let rs: Vec<Revenue> = py.detach(|| {
            if ps.len() * n >= PAR_MIN_WORK {
                ps.par_iter().map(|&p| at(p)).collect()
            } else {
                ps.iter().map(|&p| at(p)).collect()
            }
        });
        let col = |f: &dyn Fn(&Revenue) -> f64| f64_bytes(py, rs.iter().map(f));
        Ok(vec![
            col(&|r| r.total),
            col(&|r| r.r_service),
            col(&|r| r.r_grid),
            col(&|r| r.c_v2g),
            col(&|r| r.c_limit),
            col(&|r| r.n_charge as f64),
            col(&|r| r.n_discharge as f64),
            col(&|r| r.n_idle as f64),
            col(&|r| r.charge_kwh),
            col(&|r| r.discharge_kwh),
        ])
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySlotGame>()?;
    Ok(())
}
