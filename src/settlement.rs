//! Settlement of a slot (docs/model.md §5, the paper's step 5): once `p_d*` is fixed,
//! every plugged EV applies its response and money moves.
//!
//! * charging EV: pays `p_c·E0·x` to the EVA; the EVA buys that energy from the grid at
//!   `p_rt`
//! * discharging EV: receives `|p_d*|·E0·|x|` from the EVA; the operator pays the EVA
//!   `W_grid·E0·|x|`
//! * idle EV: receives `p_delay` from the EVA
//! * the EVA pays `C_limit` to the operator
//!
//! and each EV's energy becomes `E + E0·x` (Eq. 10), or with losses `E + η_c·E0·x` when
//! charging and `E − E0·|x|/η_d` when discharging (docs/model.md §3.2): money and the
//! trade's `energy_kwh` are on energy at the meter. The trades are what the ledger
//! records: one per plugged EV per slot.

use serde::{Deserialize, Serialize};

use crate::game::follower::{Regime, Response};
use crate::game::leader::{Revenue, SlotPrices};

/// One EV's trade in one slot: the seam between the simulation and the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// Slot index.
    pub slot: usize,
    /// Index of the EV in the fleet.
    pub ev: usize,
    /// Charge, idle or discharge.
    pub regime: Regime,
    /// Normalised quantity `x`.
    pub x: f64,
    /// Energy into the battery `E0·x`, kWh (negative when discharging).
    pub energy_kwh: f64,
    /// Unit price: `p_c` when charging, `p_d*` when discharging, 0 when idle (CNY/kWh).
    pub unit_price: f64,
    /// What the EV pays, CNY (>= 0).
    pub paid_cny: f64,
    /// What the EV receives, CNY (>= 0).
    pub received_cny: f64,
    /// Energy before the slot, kWh.
    pub energy_before_kwh: f64,
    /// Energy after the slot, kWh.
    pub energy_after_kwh: f64,
}

/// The money of one slot, by party (CNY). Everything EVs pay out is received by the EVA or
/// the operator and vice versa: `ev_paid − ev_received == eva_net + operator_net` up to
/// rounding.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Cash {
    /// Paid by EVs for charging.
    pub ev_paid: f64,
    /// Received by EVs (discharging and idle compensation).
    pub ev_received: f64,
    /// The EVA's net cash: `Σ p_c·E0·x − Σ p_rt·E0·x + W_grid·D − Σ received − C_limit`.
    pub eva_net: f64,
    /// The operator's net cash: `Σ p_rt·E0·x + C_limit − W_grid·D`.
    pub operator_net: f64,
}

/// Eq. (10) with losses (docs/model.md §3.2): the battery's energy after `energy_kwh` at
/// the meter (charging positive) from `before`: it gains `η_c·E` or loses `|E|/η_d`; the
/// clamp to `[0, capacity]` only absorbs rounding at the bounds.
pub fn battery_after(prices: &SlotPrices, before: f64, energy_kwh: f64, capacity: f64) -> f64 {
    let stored = if energy_kwh > 0.0 {
        energy_kwh * prices.eta_c
    } else {
        energy_kwh / prices.eta_d
    };
    (before + stored).clamp(0.0, capacity)
}

impl Cash {
    /// Adds another slot's cash, party by party.
    pub fn add(&mut self, other: &Cash) {
        self.ev_paid += other.ev_paid;
        self.ev_received += other.ev_received;
        self.eva_net += other.eva_net;
        self.operator_net += other.operator_net;
    }
}

/// Applies the responses of the plugged EVs at `p_d*`. `energy` holds every EV's energy
/// (kWh) and is updated in place; `capacity` their capacities; `plugged[i]` is the fleet
/// index of the EV answering `responses[i]`.
pub fn settle(
    slot: usize,
    prices: &SlotPrices,
    p_d: f64,
    plugged: &[usize],
    responses: &[Response],
    energy: &mut [f64],
    capacity: &[f64],
) -> (Vec<Trade>, Cash) {
    let e0 = prices.e0_kwh;
    let mut cash = Cash::default();
    let (mut bought, mut d) = (0.0, 0.0);
    let trades = plugged
        .iter()
        .zip(responses)
        .map(|(&ev, r)| {
            let before = energy[ev];
            let energy_kwh = e0 * r.x;
            let after = battery_after(prices, before, energy_kwh, capacity[ev]);
            energy[ev] = after;
            let (unit_price, paid, received) = match r.regime {
                Regime::Charge => {
                    bought += energy_kwh;
                    (prices.p_c, prices.p_c * energy_kwh, 0.0)
                }
                Regime::Discharge => {
                    d += -energy_kwh;
                    (p_d, 0.0, p_d.abs() * -energy_kwh)
                }
                Regime::Idle => (0.0, 0.0, prices.p_delay),
            };
            cash.ev_paid += paid;
            cash.ev_received += received;
            Trade {
                slot,
                ev,
                regime: r.regime,
                x: r.x,
                energy_kwh,
                unit_price,
                paid_cny: paid,
                received_cny: received,
                energy_before_kwh: before,
                energy_after_kwh: after,
            }
        })
        .collect();
    let c_limit = prices.delta * (prices.e_limit_kwh - d).abs();
    cash.eva_net =
        cash.ev_paid - prices.p_rt * bought + prices.w_grid * d - cash.ev_received - c_limit;
    cash.operator_net = prices.p_rt * bought + c_limit - prices.w_grid * d;
    (trades, cash)
}

/// The EVA's net cash of a slot equals its revenue `R` (Eq. 3): a check that the
/// settlement and the leader's objective describe the same money.
pub fn eva_net_matches_revenue(cash: &Cash, revenue: &Revenue, tol: f64) -> bool {
    (cash.eva_net - revenue.total).abs() <= tol * (1.0 + revenue.total.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_energy_by_hand() {
        let prices = SlotPrices {
            p_rt: 0.66,
            p_c: 1.16,
            p_d_max: 0.0,
            p_d_min: -1.98,
            delta: 1.32,
            e_limit_kwh: 5.0,
            e0_kwh: 3.75,
            w_service: 0.5,
            w_grid: 0.792,
            p_delay: 0.1,
            eta_c: 1.0,
            eta_d: 1.0,
        };
        let rs = [
            Response {
                regime: Regime::Charge,
                x: 1.0,
            },
            Response {
                regime: Regime::Discharge,
                x: -0.8,
            },
            Response::IDLE,
        ];
        let mut energy = vec![10.0, 20.0, 30.0, 40.0];
        let cap = vec![50.0; 4];
        let (trades, cash) = settle(3, &prices, -0.5, &[0, 2, 3], &rs, &mut energy, &cap);
        assert_eq!(energy, vec![13.75, 20.0, 27.0, 40.0]);
        assert_eq!(trades.len(), 3);
        approx::assert_relative_eq!(trades[0].paid_cny, 1.16 * 3.75);
        approx::assert_relative_eq!(trades[1].received_cny, 0.5 * 3.0);
        approx::assert_relative_eq!(trades[2].received_cny, 0.1);
        approx::assert_relative_eq!(
            cash.ev_paid - cash.ev_received,
            cash.eva_net + cash.operator_net,
            epsilon = 1e-12
        );
        let rev = prices.revenue(-0.5, &rs);
        assert!(eva_net_matches_revenue(&cash, &rev, 1e-12));
    }
}
