//! The state machine under `v2g.env.PricingEnv`: the slot loop of `v2g::sim::Run`, with the
//! discharging price chosen by the caller instead of the EVA's search.
//!
//! Each slot is built as the simulation builds it (the plugged EVs in index order, their
//! followers at the slot's prices, one `SlotGame`), the EVs answer the caller's price with
//! their own best responses (Eq. 9), the revenue is `R` from those responses (Eqs. 3–7)
//! and the slot is settled with `v2g::settlement::settle`, which moves the batteries'
//! energy. Playing the grid search's `p_d*` every slot therefore replays `v2g simulate`
//! (a test checks it slot by slot).

use std::ops::Range;
use std::path::Path;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use v2g::game::follower::{EvState, Follower, Response};
use v2g::pipeline::{FleetSource, GridSource};
use v2g::settlement::settle;
use v2g::{Fleet, GridSignals, Run, SlotGame};

use crate::game::{best_dict, revenue_dict, workers_of};
use crate::run::parse_solver;
use crate::to_py_err;

/// Names of the observation's features, in order (documented in `v2g/env.py`).
pub const FEATURES: [&str; 11] = [
    "slot_fraction",
    "p_rt",
    "p_c",
    "p_d_min",
    "p_d_max",
    "e_limit_kwh",
    "n_plugged",
    "energy_kwh",
    "mean_soc",
    "max_charge_kwh",
    "max_discharge_kwh",
];

#[pyclass(name = "EnvCore", module = "v2g._v2g")]
pub struct EnvCore {
    run: Run,
    ranges: Vec<Range<usize>>,
    starts: Vec<Vec<usize>>,
    capacity: Vec<f64>,
    states: Vec<EvState>,
    energy: Vec<f64>,
    active: Vec<usize>,
    t: usize,
    game: Option<SlotGame>,
}

impl EnvCore {
    /// Builds slot `t`'s game (nothing past the horizon).
    fn prepare(&mut self, py: Python<'_>) -> PyResult<()> {
        let t = self.t;
        self.game = None;
        if t >= self.run.horizon().slots {
            return Ok(());
        }
        v2g::sim::plugged_at(&mut self.active, &self.ranges, &self.starts[t], t);
        let prices = self.run.prices(t);
        let followers: Vec<Follower> = self
            .active
            .iter()
            .map(|&i| {
                let s = EvState {
                    energy_kwh: self.energy[i],
                    slots_after: self.ranges[i].end - t - 1,
                    ..self.states[i]
                };
                Follower::new(&s, prices.p_c, prices.e0_kwh)
            })
            .collect();
        self.game = Some(
            SlotGame::new(prices, self.run.scenario().params.epsilon, followers)
                .map_err(|e| to_py_err(py, e))?,
        );
        Ok(())
    }

    fn game(&self) -> PyResult<&SlotGame> {
        self.game.as_ref().ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("the episode is over: call reset()")
        })
    }
}

#[pymethods]
impl EnvCore {
    /// The same inputs as `simulate` (fleet and grid as a path or `(name, csv bytes)`,
    /// the grid `None` for the file beside the fleet or `False` for none; the scenario
    /// as a path and dotted keys set on it).
    #[new]
    #[pyo3(signature = (fleet, grid, scenario_path, scenario_set))]
    fn new(
        py: Python<'_>,
        fleet: &Bound<'_, PyAny>,
        grid: Option<&Bound<'_, PyAny>>,
        scenario_path: Option<std::path::PathBuf>,
        scenario_set: Vec<(String, Bound<'_, PyAny>)>,
    ) -> PyResult<Self> {
        let err = |e| to_py_err(py, e);
        let fleet_src = crate::run::fleet_source(py, fleet)?;
        let grid_src = crate::run::grid_source(py, grid)?;
        let scenario = crate::run::scenario_with(py, scenario_path.as_deref(), &scenario_set)?;
        let fleet = match &fleet_src {
            FleetSource::Path(p) => Fleet::load(p).map_err(err)?,
            FleetSource::Table { fleet, .. } => fleet.clone(),
        };
        let grid = match grid_src {
            GridSource::Path(p) => Some(GridSignals::load(&p).map_err(err)?),
            GridSource::None => None,
            GridSource::Table { grid, .. } => Some(grid),
            GridSource::Beside => match &fleet_src {
                FleetSource::Path(p) => {
                    let beside = v2g::default_grid_path(p);
                    if beside.is_file() {
                        Some(GridSignals::load(Path::new(&beside)).map_err(err)?)
                    } else {
                        None
                    }
                }
                FleetSource::Table { .. } => None,
            },
        };
        let run = Run::new(fleet, grid.as_ref(), scenario).map_err(err)?;
        let params = &run.scenario().params;
        let evs = run.fleet().evs();
        let (ranges, starts) = run.plug_schedule();
        let capacity = evs.iter().map(|e| e.capacity_kwh).collect();
        let states = evs.iter().map(|e| e.state(params)).collect();
        let energy = evs.iter().map(|e| e.initial_kwh).collect();
        let mut core = EnvCore {
            run,
            ranges,
            starts,
            capacity,
            states,
            energy,
            active: Vec::new(),
            t: 0,
            game: None,
        };
        core.prepare(py)?;
        Ok(core)
    }

    /// Back to the first slot with every battery at its initial energy.
    fn reset(&mut self, py: Python<'_>) -> PyResult<()> {
        self.energy = self
            .run
            .fleet()
            .evs()
            .iter()
            .map(|e| e.initial_kwh)
            .collect();
        self.active.clear();
        self.t = 0;
        self.prepare(py)
    }

    /// The current slot (`slots` once the episode is over).
    #[getter]
    fn slot(&self) -> usize {
        self.t
    }

    /// Slots of the horizon.
    #[getter]
    fn slots(&self) -> usize {
        self.run.horizon().slots
    }

    /// Sessions in the fleet.
    #[getter]
    fn n_evs(&self) -> usize {
        self.run.fleet().len()
    }

    /// `(lowest p_d,min over the horizon, p_d,max)`: the action space.
    #[getter]
    fn action_bounds(&self) -> (f64, f64) {
        let h = self.run.horizon().slots;
        let lo = (0..h)
            .map(|t| self.run.prices(t).p_d_min)
            .fold(f64::INFINITY, f64::min);
        (lo, self.run.scenario().params.p_d_max)
    }

    /// The names of the observation's features.
    #[staticmethod]
    fn features() -> Vec<&'static str> {
        FEATURES.to_vec()
    }

    /// The observation of the current slot ([`FEATURES`]); past the horizon, zeros but
    /// `slot_fraction = 1`.
    fn observe(&self) -> Vec<f64> {
        let slots = self.run.horizon().slots;
        let mut o = vec![0.0; FEATURES.len()];
        o[0] = self.t as f64 / slots as f64;
        let Some(g) = &self.game else {
            return o;
        };
        let p = &g.prices;
        let (mut energy, mut soc, mut up, mut down) = (0.0, 0.0, 0.0, 0.0);
        for &i in &self.active {
            let e = self.energy[i];
            let c = self.capacity[i];
            energy += e;
            soc += e / c;
            up += p.e0_kwh.min(c - e);
            down += p.e0_kwh.min(e);
        }
        let n = self.active.len();
        o[1] = p.p_rt;
        o[2] = p.p_c;
        o[3] = p.p_d_min;
        o[4] = p.p_d_max;
        o[5] = p.e_limit_kwh;
        o[6] = n as f64;
        o[7] = energy;
        o[8] = if n == 0 { 0.0 } else { soc / n as f64 };
        o[9] = up;
        o[10] = down;
        o
    }

    /// The current slot's optimum with `solver` (`"exact"`: the supremum of `R`; `"grid"`:
    /// the paper's search) on the scenario's workers, as `SlotGame.search` reports it.
    fn optimum<'py>(&self, py: Python<'py>, solver: &str) -> PyResult<Bound<'py, PyDict>> {
        let solver = parse_solver(py, solver)?;
        let ws = workers_of(py, self.run.scenario(), None)?;
        let game = self.game()?;
        // The search alone: the followers' responses at the optimum are not needed.
        let r = py
            .detach(|| v2g::game::solve::search_within(game, solver, &ws, 0..game.grid.len()))
            .map_err(|e| to_py_err(py, e))?;
        best_dict(py, &r.best)
    }

    /// Plays the current slot at `p_d` (already within the slot's range): the EVs
    /// best-respond, the slot is settled, and the next slot is prepared. Returns `R` and
    /// its parts at `p_d`.
    fn step<'py>(&mut self, py: Python<'py>, p_d: f64) -> PyResult<Bound<'py, PyDict>> {
        let game = self.game()?;
        let prices = game.prices;
        let responses: Vec<Response> = game.followers.iter().map(|f| f.respond(p_d)).collect();
        let revenue = prices.revenue(p_d, &responses);
        settle(
            self.t,
            &prices,
            p_d,
            &self.active,
            &responses,
            &mut self.energy,
            &self.capacity,
        );
        self.t += 1;
        self.prepare(py)?;
        revenue_dict(py, &revenue)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EnvCore>()?;
    Ok(())
}
