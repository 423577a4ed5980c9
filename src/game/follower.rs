//! The follower: each plugged EV's best response to the prices of a slot
//! (the paper's Eqs. 1, 2 and 9, with docs/model.md §3's bounds and tie rule).
//!
//! With `SOC` the state of charge at the slot's start, `Cap` the capacity and `E0` the
//! energy of one slot at `x = ±1`:
//!
//! * willingness `w = beta / max(SOC, 0.001)` (Eq. 2's `w_i^t`),
//! * bounds from Eqs. (8) and (10): `x_max = min(1, (1 − SOC)·Cap/E0)`,
//!   `x_min = max(−1, −SOC·Cap/E0)`,
//! * utility (Eq. 1 with Eq. 2's satisfaction):
//!   charge `0 < x <= x_max`: `u = w·log2(1 + x) − p_c·x`;
//!   idle `x = 0`: `u = U_idle`;
//!   discharge `x_min <= x < 0`: `u = w·(log2(2 + x) − 1) − a·x + p_d·x`.
//!
//! Each regime is concave, so its optimum is its stationary point clamped to its bounds:
//! `x_c = clamp(w/(p_c ln 2) − 1, 0, x_max)` (a regime only if `x_c > 0`) and, when
//! `a − p_d > 0`, `x_d = clamp(w/((a − p_d) ln 2) − 2, x_min, 0)` (a regime only if
//! `x_d < 0`). The EV takes the regime of highest utility; a tie goes to idle, then to
//! charge: an EV discharges only when that is strictly better than both other choices.
//!
//! Everything but the discharge regime is independent of `p_d`, so [`Follower::new`]
//! computes it once per slot, and [`Follower::discharge`] is all the price search has to
//! evaluate per candidate.

use std::f64::consts::LN_2;

/// The floor on SOC in `w = beta / max(SOC, 0.001)`.
pub const SOC_FLOOR: f64 = 0.001;

/// What an EV does in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// `0 < x <= x_max`.
    Charge,
    /// `x = 0`.
    Idle,
    /// `x_min <= x < 0`.
    Discharge,
}

impl Regime {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Charge => "charge",
            Regime::Idle => "idle",
            Regime::Discharge => "discharge",
        }
    }
}

/// An EV's best response: its regime and normalised quantity `x` in `[-1, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Response {
    /// Charge, idle or discharge.
    pub regime: Regime,
    /// Normalised energy: `E0·x` kWh flows into the battery (negative: out of it).
    pub x: f64,
}

impl Response {
    /// Idle: `x = 0`.
    pub const IDLE: Response = Response {
        regime: Regime::Idle,
        x: 0.0,
    };
}

/// An EV's state and preferences at a slot's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvState {
    /// Energy in the battery, kWh.
    pub energy_kwh: f64,
    /// Capacity, kWh (> 0).
    pub capacity_kwh: f64,
    /// `beta_i > 0`.
    pub beta: f64,
    /// `a_i <= 0`, CNY/kWh.
    pub a: f64,
    /// `U_i,idle >= 0`.
    pub u_idle: f64,
}

/// One EV's follower problem for one slot, with everything that does not depend on the
/// discharging price computed once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Follower {
    /// Willingness `w = beta / max(SOC, 0.001)`.
    pub w: f64,
    /// Upper bound on `x` (Eqs. 8, 10).
    pub x_max: f64,
    /// Lower bound on `x` (Eqs. 8, 10).
    pub x_min: f64,
    /// Degradation coefficient `a`.
    pub a: f64,
    /// The best response when discharging is ruled out: charge at `x_c` or idle.
    pub fallback: Response,
    /// Utility of `fallback`: `max(U_idle, u(x_c))`, ties to idle.
    pub u_fallback: f64,
}

/// The bounds on `x` from Eqs. (8) and (10) for an EV holding `energy_kwh` of
/// `capacity_kwh`: `(x_min, x_max) = (max(−1, −SOC·Cap/E0), min(1, (1 − SOC)·Cap/E0))`.
pub fn x_bounds(energy_kwh: f64, capacity_kwh: f64, e0_kwh: f64) -> (f64, f64) {
    let soc = energy_kwh / capacity_kwh;
    let x_max = ((1.0 - soc) * capacity_kwh / e0_kwh).clamp(0.0, 1.0);
    let x_min = (-soc * capacity_kwh / e0_kwh).clamp(-1.0, 0.0);
    (x_min, x_max)
}

/// Eq. (1) with Eq. (2): the utility of `x` for willingness `w`.
pub fn utility(x: f64, w: f64, p_c: f64, p_d: f64, a: f64, u_idle: f64) -> f64 {
    if x > 0.0 {
        w * (1.0 + x).log2() - p_c * x
    } else if x < 0.0 {
        w * ((2.0 + x).log2() - 1.0) - a * x + p_d * x
    } else {
        u_idle
    }
}

impl Follower {
    /// Precomputes the slot's follower problem for charging price `p_c` and slot energy
    /// `e0_kwh`.
    pub fn new(ev: &EvState, p_c: f64, e0_kwh: f64) -> Self {
        let soc = ev.energy_kwh / ev.capacity_kwh;
        let w = ev.beta / soc.max(SOC_FLOOR);
        let (x_min, x_max) = x_bounds(ev.energy_kwh, ev.capacity_kwh, e0_kwh);
        let x_c = (w / (p_c * LN_2) - 1.0).clamp(0.0, x_max);
        let (fallback, u_fallback) = if x_c > 0.0 {
            let u_c = w * (1.0 + x_c).log2() - p_c * x_c;
            if u_c > ev.u_idle {
                (
                    Response {
                        regime: Regime::Charge,
                        x: x_c,
                    },
                    u_c,
                )
            } else {
                (Response::IDLE, ev.u_idle)
            }
        } else {
            (Response::IDLE, ev.u_idle)
        };
        Follower {
            w,
            x_max,
            x_min,
            a: ev.a,
            fallback,
            u_fallback,
        }
    }

    /// The discharge regime's optimum `x_d` at discharging price `p_d`, whether or not the
    /// EV would take it: `clamp(w/((a − p_d) ln 2) − 2, x_min, 0)`; `None` when the regime
    /// does not exist (`a − p_d <= 0` or `x_d = 0`).
    #[inline]
    pub fn discharge_x(&self, p_d: f64) -> Option<f64> {
        let q = self.a - p_d;
        if q <= 0.0 {
            return None;
        }
        let x_d = discharge_x_unchecked(self.w, self.a, self.x_min, p_d);
        (x_d < 0.0).then_some(x_d)
    }

    /// `Some(x_d)` when the EV discharges at `p_d`: the discharge regime exists and is
    /// strictly better than the fallback (charge or idle).
    #[inline]
    pub fn discharge(&self, p_d: f64) -> Option<f64> {
        let x_d = self.discharge_x(p_d)?;
        let u_d = self.w * ((2.0 + x_d).log2() - 1.0) - self.a * x_d + p_d * x_d;
        (u_d > self.u_fallback).then_some(x_d)
    }

    /// The best response at discharging price `p_d` (Eq. 9).
    pub fn respond(&self, p_d: f64) -> Response {
        match self.discharge(p_d) {
            Some(x) => Response {
                regime: Regime::Discharge,
                x,
            },
            None => self.fallback,
        }
    }
}

/// `clamp(w/((a − p_d) ln 2) − 2, x_min, 0)`: the discharge optimum, for callers that know
/// the regime exists. The one expression shared by the follower and the price search so
/// both give the same bits.
#[inline(always)]
pub fn discharge_x_unchecked(w: f64, a: f64, x_min: f64, p_d: f64) -> f64 {
    (w / ((a - p_d) * LN_2) - 2.0).clamp(x_min, 0.0)
}

/// The best response of an EV in a slot (Eq. 9): a convenience over [`Follower`].
pub fn best_response(ev: &EvState, p_c: f64, p_d: f64, e0_kwh: f64) -> Response {
    Follower::new(ev, p_c, e0_kwh).respond(p_d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const E0: f64 = 3.75;

    fn ev(energy: f64, cap: f64) -> EvState {
        EvState {
            energy_kwh: energy,
            capacity_kwh: cap,
            beta: 0.16,
            a: -0.01,
            u_idle: 0.0,
        }
    }

    /// Brute force: the best `x` on a dense grid over `[x_min, x_max]`, plus 0 and the
    /// bounds, with the same tie rule (idle, then charge, then discharge).
    fn brute(f: &Follower, p_c: f64, p_d: f64, u_idle: f64, n: usize) -> (f64, f64) {
        let mut best = (0.0, u_idle);
        let consider = |x: f64, best: &mut (f64, f64)| {
            let u = utility(x, f.w, p_c, p_d, f.a, u_idle);
            if u > best.1 {
                *best = (x, u);
            }
        };
        // Charge side first so that discharge wins only when strictly better.
        for i in 1..=n {
            consider(f.x_max * i as f64 / n as f64, &mut best);
        }
        for i in 1..=n {
            consider(f.x_min * i as f64 / n as f64, &mut best);
        }
        best
    }

    #[test]
    fn closed_form_values() {
        // SOC 0.5, Cap 40: w = 0.32; p_c = 0.76: x_c = 0.32/(0.76 ln2) - 1 < 0 -> no charge.
        let f = Follower::new(&ev(20.0, 40.0), 0.76, E0);
        assert_eq!(f.fallback, Response::IDLE);
        // SOC 0.05: w = 3.2, x_c = 3.2/(0.76 ln 2) - 1 = 5.07 -> clamp to 1.
        let f = Follower::new(&ev(2.0, 40.0), 0.76, E0);
        assert_eq!(f.fallback.regime, Regime::Charge);
        assert_eq!(f.fallback.x, 1.0);
        // Discharge at p_d = -3.36, SOC 0.5: x_d = 0.32/(3.35 ln 2) - 2 -> clamp to -1.
        let f = Follower::new(&ev(20.0, 40.0), 1.62, E0);
        let r = f.respond(-3.36);
        assert_eq!(r.regime, Regime::Discharge);
        assert_eq!(r.x, -1.0);
        // At p_d = 0 nobody discharges (a - p_d < 0).
        assert_eq!(f.respond(0.0), Response::IDLE);
    }

    #[test]
    fn bounds_follow_energy() {
        let f = Follower::new(&ev(39.0, 40.0), 0.36, E0);
        assert!((f.x_max - 1.0 / E0).abs() < 1e-12);
        let f = Follower::new(&ev(1.0, 40.0), 0.36, E0);
        assert!((f.x_min + 1.0 / E0).abs() < 1e-12);
        let f = Follower::new(&ev(0.0, 40.0), 0.36, E0);
        assert_eq!(f.x_min, 0.0);
        assert_eq!(f.discharge_x(-3.0), None);
        let f = Follower::new(&ev(40.0, 40.0), 0.36, E0);
        assert_eq!(f.x_max, 0.0);
        assert_eq!(f.fallback, Response::IDLE);
    }

    #[test]
    fn ties_go_to_idle() {
        // u_idle equal to the charge optimum's utility: idle wins.
        let e = ev(2.0, 40.0);
        let f = Follower::new(&e, 0.76, E0);
        let u_c = f.u_fallback;
        let f2 = Follower::new(&EvState { u_idle: u_c, ..e }, 0.76, E0);
        assert_eq!(f2.fallback, Response::IDLE);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// The closed form matches a dense brute-force maximisation over `x`, including SOC
        /// at 0 and 1, tiny batteries and prices at the ends of their ranges.
        #[test]
        fn closed_form_matches_brute_force(
            cap in prop_oneof![Just(0.5), Just(3.0), 0.1f64..400.0],
            soc in prop_oneof![Just(0.0), Just(1.0), Just(0.0005), 0.0f64..=1.0],
            beta in prop_oneof![Just(0.16), 0.01f64..2.0],
            a in prop_oneof![Just(-0.01), Just(0.0), -0.5f64..=0.0],
            u_idle in prop_oneof![Just(0.0), 0.0f64..0.5],
            p_rt in prop_oneof![Just(0.26), Just(0.66), Just(1.12), 0.0f64..2.0],
            frac in prop_oneof![Just(0.0), Just(1.0), 0.0f64..=1.0],
        ) {
            let p_c = p_rt + 0.5;
            let p_d = -3.0 * p_rt * frac; // from p_d,max = 0 to p_d,min = -3 p_rt
            let e = EvState { energy_kwh: soc * cap, capacity_kwh: cap, beta, a, u_idle };
            let f = Follower::new(&e, p_c, E0);
            let r = f.respond(p_d);
            prop_assert!(r.x >= f.x_min && r.x <= f.x_max);
            prop_assert!(f.x_min >= -1.0 && f.x_max <= 1.0);
            let u = utility(r.x, f.w, p_c, p_d, a, u_idle);
            let (bx, bu) = brute(&f, p_c, p_d, u_idle, 4000);
            // The closed form is never beaten by the grid (up to rounding) ...
            let tol = 1e-9 * (1.0 + bu.abs());
            prop_assert!(u >= bu - tol, "closed {:?} u={} brute x={} u={}", r, u, bx, bu);
            // ... and the grid gets close to it (the grid's step bounds the gap).
            let step = (f.x_max - f.x_min) / 4000.0;
            let lip = f.w / LN_2 + p_c + a.abs() + p_d.abs();
            prop_assert!(u - bu <= lip * step + tol + 1e-12);
            // Regime and sign agree.
            match r.regime {
                Regime::Charge => prop_assert!(r.x > 0.0),
                Regime::Idle => prop_assert!(r.x == 0.0),
                Regime::Discharge => prop_assert!(r.x < 0.0 && u > u_idle),
            }
        }
    }
}
