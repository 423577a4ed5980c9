//! The synthetic campus grid day: base load and the auxiliary-service task `E_limit`.
//!
//! **Base load.** A university campus in Shenzhen in late May: air-conditioned teaching
//! buildings, laboratories and dormitories. The profile, in kW at clock hour `h`, is a
//! night floor plus four daily components, each a Gaussian bump in the (circular) distance
//! `d` between `h` and its centre, `g(h; μ, σ) = exp(−d² / 2σ²)`:
//!
//! `L(h) = 5200 + 6800·g(h; 11.0, 1.4) + 7200·g(h; 15.5, 1.9) + 3600·g(h; 20.5, 1.6) − 1500·g(h; 12.75, 0.5)`
//!
//! that is a floor of about 5.2 MW at night, a morning rise from 07:00 to a midday peak
//! near 11:00 (classes, laboratories), a lunch dip, the afternoon peak near 15:30 (cooling
//! load at the hottest hours) and an evening shoulder from the dormitories and library.
//! Each slot's value is taken at the slot's midpoint and multiplied by `1 + n_t`, where
//! `n_t = 0.7·n_(t−1) + N(0, 0.012)` is seeded AR(1) noise (about ±2 %), then rounded to
//! 0.1 kW.
//!
//! **Auxiliary-service task (peak shaving).** The operator asks the EV fleet to shave the
//! part of the campus load above a threshold set between the day's lowest and highest
//! load: `L_thr = L_min + θ·(L_max − L_min)`, and
//!
//! `E_limit(t) = s · max(0, L(t) − L_thr) · 0.25 h` (kWh per slot, rounded to 1 Wh),
//!
//! with `θ =` [`GridSpec::threshold`] and the fleet's share `s =` [`GridSpec::fleet_share`].
//! With the defaults (`θ = 0.4`, `s = 0.8`) the task runs from mid-morning to the evening
//! shoulder and peaks near 900 kWh a slot (3.7 MW) in the afternoon: within the reach of
//! the roughly 1,000 cars plugged on campus by day (3.75 kWh each at full discharge), but
//! not free: meeting it needs the discharging price to draw out a good part of them.

use chrono::{Duration, NaiveDateTime, Timelike};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::data::grid::{GridRow, GridSignals};
use crate::data::time::{Horizon, SLOT_MINUTES};
use crate::error::{Error, Result};
use crate::generate::SUSTECH_SEED;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSpec {
    /// Seed of the noise (the grid uses its own stream of the seed, apart from the fleet's).
    pub seed: u64,
    /// The slots to cover.
    pub horizon: Horizon,
    /// `θ`: where the shaving threshold lies between the day's lowest and highest load, in
    /// `[0, 1]`.
    pub threshold: f64,
    /// `s`: the share of the load above the threshold asked of the EV fleet, in `[0, 1]`.
    pub fleet_share: f64,
}

impl Default for GridSpec {
    /// The shipped `data/sustech_grid.csv`: 96 slots from 2021-05-27 07:00, seed
    /// [`SUSTECH_SEED`], `θ = 0.4`, `s = 0.8`.
    fn default() -> Self {
        GridSpec {
            seed: SUSTECH_SEED,
            horizon: Horizon::paper(),
            threshold: 0.4,
            fleet_share: 0.8,
        }
    }
}

/// `g(h; μ, σ)` with the circular distance between clock hours.
fn bump(h: f64, mu: f64, sigma: f64) -> f64 {
    let d = (h - mu).abs();
    let d = d.min(24.0 - d);
    (-d * d / (2.0 * sigma * sigma)).exp()
}

/// The noiseless campus base load (kW) at clock hour `h` in `[0, 24)`.
pub fn campus_load_kw(h: f64) -> f64 {
    5200.0 + 6800.0 * bump(h, 11.0, 1.4) + 7200.0 * bump(h, 15.5, 1.9) + 3600.0 * bump(h, 20.5, 1.6)
        - 1500.0 * bump(h, 12.75, 0.5)
}

/// `E_limit` for a slot of load `load_kw` (the peak-shaving rule of the module docs).
pub fn shaving_task_kwh(load_kw: f64, threshold_kw: f64, fleet_share: f64) -> f64 {
    let hours = SLOT_MINUTES as f64 / 60.0;
    fleet_share * (load_kw - threshold_kw).max(0.0) * hours
}

/// `x` rounded to `dp` decimal places, as the nearest `f64` to the decimal (so it prints
/// with at most `dp` decimals).
fn round_dp(x: f64, dp: i32) -> f64 {
    let f = 10f64.powi(dp);
    (x * f).round() / f
}

/// Generates the grid signals described in the module documentation, one row per slot of
/// the horizon, without a `p_rt` column (the tariff applies).
pub fn generate_grid(spec: &GridSpec) -> Result<GridSignals> {
    crate::data::scenario::check_horizon(&spec.horizon, "--start", "--slots")?;
    for (name, v) in [
        ("threshold", spec.threshold),
        ("fleet share", spec.fleet_share),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::param(name, "must lie in [0, 1]"));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    // Stream 1: the fleet generator draws from stream 0 of the same seed.
    rng.set_stream(1);
    let noise = Normal::new(0.0, 0.012).expect("constant, positive standard deviation");
    let mut n = 0.0;
    let half_slot = Duration::seconds(SLOT_MINUTES * 30);
    let loads: Vec<(NaiveDateTime, f64)> = (0..spec.horizon.slots)
        .map(|t| {
            let start = spec.horizon.slot_start(t);
            let mid = start + half_slot;
            let h = f64::from(mid.hour()) + f64::from(mid.minute()) / 60.0;
            n = 0.7 * n + noise.sample(&mut rng);
            (start, round_dp(campus_load_kw(h) * (1.0 + n), 1))
        })
        .collect();
    let lo = loads.iter().map(|l| l.1).fold(f64::INFINITY, f64::min);
    let hi = loads.iter().map(|l| l.1).fold(f64::NEG_INFINITY, f64::max);
    let thr = lo + spec.threshold * (hi - lo);
    let rows = loads
        .into_iter()
        .map(|(time, base_load_kw)| GridRow {
            time,
            base_load_kw,
            e_limit_kwh: round_dp(shaving_task_kwh(base_load_kw, thr, spec.fleet_share), 3),
            p_rt: None,
        })
        .collect();
    GridSignals::new(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::time::parse_time;

    #[test]
    fn the_profile_has_a_night_floor_a_midday_and_an_afternoon_peak() {
        let night = campus_load_kw(4.0);
        let midday = campus_load_kw(11.0);
        let lunch = campus_load_kw(12.75);
        let afternoon = campus_load_kw(15.5);
        let evening = campus_load_kw(20.5);
        assert!(night < 5400.0 && night > 5000.0, "{night}");
        assert!(midday > 11_000.0 && afternoon > 11_000.0);
        assert!(lunch < midday - 1500.0 && lunch < afternoon - 1500.0);
        assert!(evening > night + 2000.0 && evening < afternoon);
        // The morning rise is monotone from 07:00 to 10:30.
        let rise: Vec<f64> = (0..8)
            .map(|i| campus_load_kw(7.0 + 0.5 * i as f64))
            .collect();
        assert!(rise.windows(2).all(|w| w[1] > w[0]), "{rise:?}");
    }

    #[test]
    fn the_task_is_the_share_of_the_load_above_the_threshold() {
        assert_eq!(shaving_task_kwh(9_000.0, 10_000.0, 0.6), 0.0);
        assert!((shaving_task_kwh(12_000.0, 10_000.0, 0.6) - 300.0).abs() < 1e-9);
    }

    #[test]
    fn the_default_day_covers_the_case_study_and_asks_in_the_peaks() {
        let g = generate_grid(&GridSpec::default()).unwrap();
        let rows = g.rows();
        assert_eq!(rows.len(), 96);
        assert_eq!(rows[0].time, parse_time("2021-05-27T07:00").unwrap());
        assert_eq!(rows[95].time, parse_time("2021-05-28T06:45").unwrap());
        let task = |t: &str| g.at(parse_time(t).unwrap()).unwrap().e_limit_kwh;
        assert!(task("2021-05-27T11:00") > 200.0);
        assert!(task("2021-05-27T15:30") > 200.0);
        assert!(task("2021-05-27T20:30") > 0.0);
        assert_eq!(task("2021-05-28T03:00"), 0.0);
        let peak = rows.iter().map(|r| r.e_limit_kwh).fold(0.0, f64::max);
        assert!((700.0..1200.0).contains(&peak), "{peak}");
    }

    #[test]
    fn same_seed_same_day() {
        let a = generate_grid(&GridSpec::default()).unwrap().to_csv();
        assert_eq!(a, generate_grid(&GridSpec::default()).unwrap().to_csv());
        let b = generate_grid(&GridSpec {
            seed: 1,
            ..GridSpec::default()
        })
        .unwrap()
        .to_csv();
        assert_ne!(a, b);
    }

    #[test]
    fn bad_specs_are_refused() {
        let s = GridSpec {
            threshold: 1.5,
            ..GridSpec::default()
        };
        assert!(generate_grid(&s).is_err());
        let mut s = GridSpec::default();
        s.horizon.slots = 0;
        assert!(generate_grid(&s).is_err());
        // The scenario's horizon rules, before anything is allocated.
        for slots in [crate::data::scenario::MAX_SLOTS + 1, usize::MAX] {
            s.horizon.slots = slots;
            let e = generate_grid(&s).unwrap_err().to_string();
            assert!(e.contains("--slots") && e.contains("leap year"), "{e}");
        }
        s.horizon.slots = 2;
        s.horizon.start = crate::data::time::parse_time("2100-12-31T23:45").unwrap();
        let e = generate_grid(&s).unwrap_err().to_string();
        assert!(
            e.contains("--slots") && e.contains("run past 2100-12-31T23:59"),
            "{e}"
        );
        s.horizon.start = crate::data::time::parse_time("2021-05-27T07:00:30").unwrap();
        let e = generate_grid(&s).unwrap_err().to_string();
        assert!(e.contains("--start") && e.contains("whole minute"), "{e}");
    }
}
