//! The leader: the EVA's revenue for a discharging price (the paper's Eqs. 3–7).
//!
//! With `D = Σ_discharging E0·|x_i|` (kWh):
//!
//! * `R_service = Σ_charging W_service·E0·x_i` (Eq. 4)
//! * `R_grid = W_grid·D` (Eq. 5)
//! * `C_V2G = p_delay·(number of idle EVs) + |p_d|·D` (Eq. 6)
//! * `C_limit = delta(t)·|E_limit(t) − D|` (Eq. 7)
//! * `R = R_service + R_grid − C_V2G − C_limit` (Eq. 3)

use serde::{Deserialize, Serialize};

use crate::game::follower::{Regime, Response};

/// The per-slot constants of the leader's problem (step 3's oracle data and Table I).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotPrices {
    /// Real-time price `p_rt(t)`, CNY/kWh.
    pub p_rt: f64,
    /// Charging price `p_c = p_rt + W_service`, CNY/kWh.
    pub p_c: f64,
    /// Upper end of the discharging-price range, CNY/kWh.
    pub p_d_max: f64,
    /// Lower end of the discharging-price range, CNY/kWh.
    pub p_d_min: f64,
    /// Penalty `delta(t)` per kWh of missed or excess auxiliary energy.
    pub delta: f64,
    /// Auxiliary-service task `E_limit(t)`, kWh.
    pub e_limit_kwh: f64,
    /// `E0`, kWh.
    pub e0_kwh: f64,
    /// `W_service`, CNY/kWh.
    pub w_service: f64,
    /// `W_grid`, CNY/kWh.
    pub w_grid: f64,
    /// `p_delay`, CNY per idle EV.
    pub p_delay: f64,
    /// Charging efficiency `η_c` (1: lossless; docs/model.md §3.2).
    pub eta_c: f64,
    /// Discharging efficiency `η_d` (1: lossless; docs/model.md §3.2).
    pub eta_d: f64,
}

/// The EVA's revenue at one discharging price, with its parts (Eqs. 3–7) and the
/// aggregate response behind it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Revenue {
    /// `R_service` (Eq. 4), CNY.
    pub r_service: f64,
    /// `R_grid,V2G` (Eq. 5), CNY.
    pub r_grid: f64,
    /// `C_V2G` (Eq. 6), CNY.
    pub c_v2g: f64,
    /// `C_limit` (Eq. 7), CNY.
    pub c_limit: f64,
    /// `R` (Eq. 3), CNY.
    pub total: f64,
    /// Number of charging EVs.
    pub n_charge: usize,
    /// Number of discharging EVs.
    pub n_discharge: usize,
    /// Number of idle EVs.
    pub n_idle: usize,
    /// Energy charged, `Σ_charging E0·x`, kWh.
    pub charge_kwh: f64,
    /// Energy discharged `D`, kWh.
    pub discharge_kwh: f64,
}

impl SlotPrices {
    /// Eqs. (3)–(7) from the aggregate response at `p_d`: `agg` carries the charging
    /// service revenue, the counts and the energies; the rest is filled in.
    #[inline]
    pub fn assemble(&self, p_d: f64, agg: Revenue) -> Revenue {
        let d_kwh = agg.discharge_kwh;
        let r_grid = self.w_grid * d_kwh;
        let c_v2g = self.p_delay * agg.n_idle as f64 + p_d.abs() * d_kwh;
        let c_limit = self.delta * (self.e_limit_kwh - d_kwh).abs();
        Revenue {
            r_grid,
            c_v2g,
            c_limit,
            total: agg.r_service + r_grid - c_v2g - c_limit,
            ..agg
        }
    }

    /// Eqs. (3)–(7) straight from the EVs' responses at `p_d`, summed in the order given.
    /// The reference the fast search is checked against.
    pub fn revenue(&self, p_d: f64, responses: &[Response]) -> Revenue {
        self.revenue_of(p_d, responses.iter().copied())
    }

    /// [`Self::revenue`] of responses as they come (in follower order, the same sums bit
    /// for bit), without collecting them.
    pub fn revenue_of(&self, p_d: f64, responses: impl IntoIterator<Item = Response>) -> Revenue {
        let mut sum = RevenueSum::default();
        for r in responses {
            sum.add(self, r);
        }
        sum.finish(self, p_d)
    }
}

/// The running sums of Eqs. (3)–(7) over responses in follower order: what
/// [`SlotPrices::revenue_of`] adds up, for callers that add up several prices' responses
/// in one pass over the followers (the same sums, bit for bit).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RevenueSum {
    r_service: f64,
    charge_kwh: f64,
    discharge_kwh: f64,
    n_charge: usize,
    n_idle: usize,
    n_discharge: usize,
}

impl RevenueSum {
    /// Adds one EV's response.
    #[inline]
    pub(crate) fn add(&mut self, prices: &SlotPrices, r: Response) {
        match r.regime {
            Regime::Charge => {
                self.r_service += prices.w_service * prices.e0_kwh * r.x;
                self.charge_kwh += prices.e0_kwh * r.x;
                self.n_charge += 1;
            }
            Regime::Idle => self.n_idle += 1,
            Regime::Discharge => {
                self.discharge_kwh += prices.e0_kwh * r.x.abs();
                self.n_discharge += 1;
            }
        }
    }

    /// `R` at `p_d` from the sums ([`SlotPrices::assemble`]).
    pub(crate) fn finish(self, prices: &SlotPrices, p_d: f64) -> Revenue {
        prices.assemble(
            p_d,
            Revenue {
                r_service: self.r_service,
                n_charge: self.n_charge,
                n_discharge: self.n_discharge,
                n_idle: self.n_idle,
                charge_kwh: self.charge_kwh,
                discharge_kwh: self.discharge_kwh,
                ..Revenue::default()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> SlotPrices {
        SlotPrices {
            p_rt: 1.12,
            p_c: 1.62,
            p_d_max: 0.0,
            p_d_min: -3.36,
            delta: 2.24,
            e_limit_kwh: 10.0,
            e0_kwh: 3.75,
            w_service: 0.5,
            w_grid: 0.792,
            p_delay: 0.1,
            eta_c: 1.0,
            eta_d: 1.0,
        }
    }

    #[test]
    fn eqs_3_to_7_by_hand() {
        let rs = [
            Response {
                regime: Regime::Charge,
                x: 0.4,
            },
            Response::IDLE,
            Response {
                regime: Regime::Discharge,
                x: -1.0,
            },
            Response {
                regime: Regime::Discharge,
                x: -0.5,
            },
        ];
        let r = prices().revenue(-0.9, &rs);
        // R_service = 0.5 * 3.75 * 0.4 = 0.75
        approx::assert_relative_eq!(r.r_service, 0.75, max_relative = 1e-12);
        // D = 3.75 * 1.5 = 5.625; R_grid = 0.792 * 5.625 = 4.455
        approx::assert_relative_eq!(r.discharge_kwh, 5.625, max_relative = 1e-12);
        approx::assert_relative_eq!(r.r_grid, 4.455, max_relative = 1e-12);
        // C_V2G = 0.1 * 1 + 0.9 * 5.625 = 5.1625
        approx::assert_relative_eq!(r.c_v2g, 5.1625, max_relative = 1e-12);
        // C_limit = 2.24 * |10 - 5.625| = 9.8
        approx::assert_relative_eq!(r.c_limit, 9.8, max_relative = 1e-12);
        approx::assert_relative_eq!(r.total, 0.75 + 4.455 - 5.1625 - 9.8, max_relative = 1e-12);
        assert_eq!((r.n_charge, r.n_idle, r.n_discharge), (1, 1, 2));
        approx::assert_relative_eq!(r.charge_kwh, 1.5, max_relative = 1e-12);
    }

    #[test]
    fn excess_delivery_is_penalised_too() {
        let rs = [Response {
            regime: Regime::Discharge,
            x: -1.0,
        }; 4];
        let r = prices().revenue(-0.5, &rs);
        // D = 15 > E_limit = 10: penalty on the excess 5 kWh.
        approx::assert_relative_eq!(r.c_limit, 2.24 * 5.0, max_relative = 1e-12);
    }
}
