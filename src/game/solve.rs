//! Step 4 as one call: the SCP workers who share the price search, the choice of solver,
//! and [`solve`], which runs the chosen solver over the workers and returns `p_d*` with
//! every EV's response at it (docs/model.md §4).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::game::follower::Response;
use crate::game::search::{SearchResult, SlotGame};

/// One smart charging point taking part in the price search (step 4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Worker {
    /// Relative computing capacity: the share of candidates it gets is proportional to it.
    pub capacity: f64,
    /// An unavailable worker gets no sub-range.
    #[serde(default = "yes")]
    pub available: bool,
}

fn yes() -> bool {
    true
}

/// Default number of SCP workers.
pub const DEFAULT_WORKERS: usize = 8;

/// The most SCP workers a run may have (docs/model.md §7).
pub const MAX_WORKERS: usize = 1024;

/// The largest relative capacity of one worker (docs/model.md §7).
pub const MAX_CAPACITY: f64 = 1e6;

/// `n` available workers of equal capacity.
pub fn equal_workers(n: usize) -> Vec<Worker> {
    vec![
        Worker {
            capacity: 1.0,
            available: true,
        };
        n
    ]
}

/// Checks the worker set: 1 to [`MAX_WORKERS`] workers, each capacity finite and in
/// `(0, MAX_CAPACITY]`, at least one available.
pub fn validate_workers(workers: &[Worker]) -> Result<()> {
    if workers.is_empty() {
        return Err(Error::param("workers", "at least one worker is needed"));
    }
    if workers.len() > MAX_WORKERS {
        return Err(Error::param(
            "workers",
            format!("{} workers: at most {MAX_WORKERS}", workers.len()),
        ));
    }
    for (i, w) in workers.iter().enumerate() {
        if !(w.capacity.is_finite() && w.capacity > 0.0 && w.capacity <= MAX_CAPACITY) {
            return Err(Error::param(
                format!("workers[{i}].capacity"),
                format!("{}: must be in (0, {MAX_CAPACITY:e}]", w.capacity),
            ));
        }
    }
    if !workers.iter().any(|w| w.available) {
        return Err(Error::param(
            "workers",
            "at least one worker must be available",
        ));
    }
    Ok(())
}

/// The leader's price search (`solver = "grid"` or `"exact"` in a scenario file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// The paper's epsilon grid (Eq. 12), [`crate::game::search`]: the default.
    #[default]
    Grid,
    /// The exact supremum of `R` over the whole price range, [`crate::game::exact`].
    Exact,
}

impl Solver {
    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Solver::Grid => "grid",
            Solver::Exact => "exact",
        }
    }
}

impl std::fmt::Display for Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Step 4 of one slot: the chosen solver's search over the workers' sub-ranges, and
/// every follower's response at the winning price `p_d*` (in follower order), which is
/// what settlement applies. Refuses an invalid worker set instead of panicking.
pub fn solve(
    game: &SlotGame,
    solver: Solver,
    workers: &[Worker],
) -> Result<(SearchResult, Vec<Response>)> {
    solve_within(game, solver, workers, 0..game.grid.len())
}

/// [`solve`] over the candidates `allowed` only (a non-empty range of candidate
/// indices): the sites' limits (docs/model.md §9.3). Each worker searches the part of its
/// sub-range inside `allowed` (none: no best); the exact solver the prices of that part.
/// With every candidate allowed this is [`solve`], bit for bit.
pub fn solve_within(
    game: &SlotGame,
    solver: Solver,
    workers: &[Worker],
    allowed: std::ops::Range<usize>,
) -> Result<(SearchResult, Vec<Response>)> {
    let search = search_within(game, solver, workers, allowed)?;
    Ok(match solver {
        Solver::Grid => {
            let responses = game.responses(search.best.k);
            (search, responses)
        }
        Solver::Exact => {
            let p = search.best.p_d;
            let respond = |f: &crate::game::follower::Follower| f.respond(p);
            let responses = if game.followers.len() >= crate::game::search::PAR_MIN_EVS {
                use rayon::prelude::*;
                game.followers.par_iter().map(respond).collect()
            } else {
                game.followers.iter().map(respond).collect()
            };
            (search, responses)
        }
    })
}

/// Step 4's search alone, without the followers' responses (what a caller that only
/// wants `p_d*` and its revenue needs): [`solve_within`]'s search, bit for bit.
pub fn search_within(
    game: &SlotGame,
    solver: Solver,
    workers: &[Worker],
    allowed: std::ops::Range<usize>,
) -> Result<SearchResult> {
    validate_workers(workers)?;
    match solver {
        Solver::Grid => game.search_within(workers, allowed),
        Solver::Exact => crate::game::exact::search_within(game, workers, allowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::testing::game;

    #[test]
    fn worker_set_bounds() {
        assert!(validate_workers(&[]).is_err());
        validate_workers(&equal_workers(MAX_WORKERS)).unwrap();
        let e = validate_workers(&equal_workers(MAX_WORKERS + 1)).unwrap_err();
        assert!(e.to_string().contains("at most 1024"), "{e}");
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_CAPACITY * 2.0] {
            let w = [Worker {
                capacity: bad,
                available: true,
            }];
            assert!(validate_workers(&w).is_err(), "{bad}");
        }
        let top = [Worker {
            capacity: MAX_CAPACITY,
            available: true,
        }];
        validate_workers(&top).unwrap();
        let none = [Worker {
            capacity: 1.0,
            available: false,
        }];
        assert!(validate_workers(&none).is_err());
    }

    #[test]
    fn solve_applies_the_chosen_solver_and_refuses_no_workers() {
        let g = game(
            1.12,
            20.0,
            &[(0.9, 60.0, 0.16, -0.01), (0.2, 60.0, 0.16, -0.01)],
            0.001,
        );
        let ws = equal_workers(3);
        let (grid, rg) = solve(&g, Solver::Grid, &ws).unwrap();
        assert_eq!(grid.best, g.search(&ws).unwrap().best);
        assert_eq!(rg, g.responses(grid.best.k));
        let (exact, re) = solve(&g, Solver::Exact, &ws).unwrap();
        assert_eq!(
            exact.best,
            crate::game::exact::search(&g, &ws).unwrap().best
        );
        let want: Vec<Response> = g
            .followers
            .iter()
            .map(|f| f.respond(exact.best.p_d))
            .collect();
        assert_eq!(re, want);
        assert!(solve(&g, Solver::Grid, &[]).is_err());
        // The search alone is the same search.
        let all = 0..g.grid.len();
        for (solver, full) in [(Solver::Grid, &grid), (Solver::Exact, &exact)] {
            let alone = search_within(&g, solver, &ws, all.clone()).unwrap();
            assert_eq!(alone.best, full.best);
            assert_eq!(alone.proposals, full.proposals);
        }
        assert!(search_within(&g, Solver::Exact, &[], all).is_err());
    }
}
