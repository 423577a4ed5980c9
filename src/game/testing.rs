//! Test fixtures shared by the game's unit tests.

use crate::game::follower::{EvState, Follower};
use crate::game::leader::SlotPrices;
use crate::game::search::SlotGame;

/// A slot's prices for real-time price `p_rt` (docs/model.md §2's rules, Table I values).
pub fn prices(p_rt: f64, e_limit: f64) -> SlotPrices {
    SlotPrices {
        p_rt,
        p_c: p_rt + 0.5,
        p_d_max: 0.0,
        p_d_min: -3.0 * p_rt,
        delta: 2.0 * p_rt,
        e_limit_kwh: e_limit,
        e0_kwh: 3.75,
        w_service: 0.5,
        w_grid: 0.792,
        p_delay: 0.1,
        eta_c: 1.0,
        eta_d: 1.0,
    }
}

/// A slot's game from EVs given as `(SOC, capacity kWh, beta, a)`.
pub fn game(p_rt: f64, e_limit: f64, evs: &[(f64, f64, f64, f64)], eps: f64) -> SlotGame {
    let pr = prices(p_rt, e_limit);
    let fs = evs
        .iter()
        .map(|&(soc, cap, beta, a)| {
            Follower::new(
                &EvState::new(soc * cap, cap, beta, a, 0.0),
                pr.p_c,
                pr.e0_kwh,
            )
        })
        .collect();
    SlotGame::new(pr, eps, fs).expect("valid test game")
}
