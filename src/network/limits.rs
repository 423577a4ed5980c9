//! The sites' transformer limits in the price game (docs/model.md §9.3).
//!
//! A site `s` with a transformer of `S_s` kVA at power factor `pf_s` may move at most
//! `L_s = S_s·pf_s·0.25` kWh at its meters in a slot, either way: its EVs' net energy
//! `E_s(k)` (charging positive) at candidate `k` must satisfy `−L_s <= E_s(k) <= L_s`.
//!
//! A lower price only enlarges discharging (docs/model.md §3), so `E_s(k)` does not grow
//! with `k`: each site's upper limit holds from some candidate `a_s` on, its lower limit up
//! to some `b_s`, and the candidates that keep every site within its limits are the range
//! `[max a_s, min b_s]`, found by bisection with the followers' own responses
//! ([`crate::game::search::SlotGame::responses`]).
//!
//! * When that range is not empty, the EVA's search (grid or exact) is restricted to it
//!   ([`Plan::allowed`]), and no trade is changed.
//! * Otherwise the search is restricted to the candidates that keep every site within
//!   its limit on the discharging side (`[0, min b_s]`; when there is none, the highest
//!   price alone), and at the chosen price every site still over its limit is
//!   **curtailed** ([`curtail`]): all its charging EVs' energies are scaled by one factor so
//!   that the site's net energy is exactly `L_s` (or, over its limit on the discharging
//!   side, all its discharging EVs' energies, to `−L_s`).
//!
//! With no limit, or limits never reached, the search and every trade are those of the
//! unconstrained game, bit for bit.

use std::ops::Range;

use crate::game::follower::{Regime, Response};
use crate::game::search::SlotGame;

/// Each site's energy limit in a slot, kWh at the meters (`None`: no limit).
pub fn slot_limits(sites: &[crate::network::Site]) -> Vec<Option<f64>> {
    sites
        .iter()
        .map(|s| {
            s.limit_kw()
                .map(|kw| kw * crate::network::study::SLOT_HOURS)
        })
        .collect()
}

/// What the sites' limits allow in one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The candidates the EVA may choose from (never empty).
    pub allowed: Range<usize>,
    /// Whether no candidate keeps every site within its limits, so that the chosen price's
    /// trades are curtailed ([`curtail`]).
    pub curtail: bool,
}

/// Each site's net energy at the meters (kWh, charging positive) when the followers give
/// `responses`; `site[j]` is follower `j`'s site.
pub fn site_energy(
    responses: &[Response],
    site: &[usize],
    n_sites: usize,
    e0_kwh: f64,
) -> Vec<f64> {
    let mut e = vec![0.0; n_sites];
    for (r, &s) in responses.iter().zip(site) {
        e[s] += e0_kwh * r.x;
    }
    e
}

/// The plan of a slot's game: `site[j]` is follower `j`'s site, `limits[s]` site `s`'s
/// energy limit (kWh). `None` when no site has a limit.
pub fn plan(game: &SlotGame, site: &[usize], limits: &[Option<f64>]) -> Option<Plan> {
    if limits.iter().all(Option::is_none) {
        return None;
    }
    let n = game.grid.len();
    let e0 = game.prices.e0_kwh;
    let energy = |k: usize| site_energy(&game.responses(k), site, limits.len(), e0);
    let upper_ok = |k: usize| {
        let e = energy(k);
        limits
            .iter()
            .zip(&e)
            .all(|(l, e)| l.is_none_or(|l| *e <= l))
    };
    let lower_ok = |k: usize| {
        let e = energy(k);
        limits
            .iter()
            .zip(&e)
            .all(|(l, e)| l.is_none_or(|l| *e >= -l))
    };
    // The first candidate where every upper limit holds (n when none does).
    let a = first(n, upper_ok);
    // One past the last candidate where every lower limit holds (0 when none does).
    let b = first(n, |k| !lower_ok(k));
    Some(if a < b {
        Plan {
            allowed: a..b,
            curtail: false,
        }
    } else {
        Plan {
            allowed: 0..b.max(1),
            curtail: true,
        }
    })
}

/// The first `k` in `0..n` where the monotone predicate `ok` (false, then true) holds;
/// `n` when it never does.
fn first(n: usize, ok: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Curtails the responses at every site over its limit (module docs): its charging EVs'
/// `x` scaled by `(L + D)/C` when its net energy is above `L`, its discharging EVs' by
/// `(L + C)/D` when below `−L` (`C`, `D`: the site's charged and discharged energy).
/// Returns how many EVs were curtailed.
pub fn curtail(
    responses: &mut [Response],
    site: &[usize],
    limits: &[Option<f64>],
    e0_kwh: f64,
) -> usize {
    let n = limits.len();
    let (mut c, mut d) = (vec![0.0; n], vec![0.0; n]);
    for (r, &s) in responses.iter().zip(site) {
        match r.regime {
            Regime::Charge => c[s] += e0_kwh * r.x,
            Regime::Discharge => d[s] -= e0_kwh * r.x,
            Regime::Idle => {}
        }
    }
    let factor: Vec<(f64, f64)> = (0..n)
        .map(|s| match limits[s] {
            Some(l) if c[s] - d[s] > l => (((l + d[s]) / c[s]).clamp(0.0, 1.0), 1.0),
            Some(l) if c[s] - d[s] < -l => (1.0, ((l + c[s]) / d[s]).clamp(0.0, 1.0)),
            _ => (1.0, 1.0),
        })
        .collect();
    let mut curtailed = 0;
    for (r, &s) in responses.iter_mut().zip(site) {
        let f = match r.regime {
            Regime::Charge => factor[s].0,
            Regime::Discharge => factor[s].1,
            Regime::Idle => 1.0,
        };
        if f < 1.0 {
            r.x *= f;
            curtailed += 1;
        }
    }
    curtailed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(regime: Regime, x: f64) -> Response {
        Response { regime, x }
    }

    #[test]
    fn the_first_true_of_a_monotone_predicate() {
        assert_eq!(first(10, |k| k >= 4), 4);
        assert_eq!(first(10, |_| true), 0);
        assert_eq!(first(10, |_| false), 10);
        assert_eq!(first(0, |_| true), 0);
        assert_eq!(first(1, |k| k >= 1), 1);
    }

    #[test]
    fn curtailment_brings_each_site_to_its_limit_and_no_further() {
        // Site 0: 3 + 1 kWh charged, 1 discharged, limit 2: charging scaled by 3/4.
        // Site 1: 2 kWh discharged, limit 1: discharging scaled by 1/2.
        // Site 2: within its limit; site 3: no limit.
        let mut rs = vec![
            r(Regime::Charge, 0.75),
            r(Regime::Charge, 0.25),
            r(Regime::Discharge, -0.25),
            r(Regime::Discharge, -0.5),
            r(Regime::Charge, 0.1),
            r(Regime::Charge, 1.0),
            r(Regime::Idle, 0.0),
        ];
        let site = [0, 0, 0, 1, 2, 3, 0];
        let limits = [Some(2.0), Some(1.0), Some(1.0), None];
        let n = curtail(&mut rs, &site, &limits, 4.0);
        assert_eq!(n, 3);
        let e = site_energy(&rs, &site, 4, 4.0);
        assert!((e[0] - 2.0).abs() < 1e-12, "{e:?}");
        assert!((e[1] + 1.0).abs() < 1e-12, "{e:?}");
        assert_eq!((e[2], e[3]), (0.4, 4.0));
        assert_eq!(rs[4].x, 0.1);
        assert_eq!(
            rs[2].x, -0.25,
            "a site over its charging limit keeps its discharge"
        );
        // Within every limit: nothing changes.
        let before = rs.clone();
        assert_eq!(curtail(&mut rs, &site, &limits, 4.0), 0);
        assert_eq!(rs, before);
    }
}
