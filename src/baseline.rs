//! The uncoordinated-charging baseline (docs/model.md §5): from the first slot it is
//! plugged, each EV charges at `x = x_max` every slot until full or gone, paying
//! `p_c·E0·x`; it never discharges. `x_max` includes the charger's power (`max_kw`)
//! when the fleet gives it.

use rayon::prelude::*;

use crate::data::fleet::{Ev, Fleet};
use crate::data::time::Horizon;
use crate::game::follower::x_bounds;

/// One EV's outcome under the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineEv {
    /// Energy at departure (or at the horizon's end), kWh.
    pub final_kwh: f64,
    /// What it paid, CNY.
    pub cost_cny: f64,
}

/// Runs the baseline for every EV; `p_c[t]` is slot `t`'s charging price.
///
/// `eta_c` is the charging efficiency (docs/model.md §3.2): the battery gains `η_c·E0·x`
/// for `E0·x` paid at the meter (1: lossless).
pub fn run(
    fleet: &Fleet,
    horizon: &Horizon,
    p_c: &[f64],
    e0_kwh: f64,
    eta_c: f64,
) -> Vec<BaselineEv> {
    fleet
        .evs()
        .par_iter()
        .map(|ev| {
            let mut cost = 0.0;
            let final_kwh = charge(ev, horizon, e0_kwh, eta_c, |t, energy| {
                cost += p_c[t] * energy;
            });
            BaselineEv {
                final_kwh,
                cost_cny: cost,
            }
        })
        .collect()
}

/// One EV's uncoordinated charging: calls `slot(t, energy)` with the energy drawn at the
/// meter (kWh) in every slot it charges, and returns its energy at departure.
fn charge(
    ev: &Ev,
    horizon: &Horizon,
    e0_kwh: f64,
    eta_c: f64,
    mut slot: impl FnMut(usize, f64),
) -> f64 {
    let mut e = ev.initial_kwh;
    for t in horizon.plugged_slots(ev.arrival, ev.departure) {
        let x = charge_x(ev, e, e0_kwh, eta_c);
        if x <= 0.0 {
            break;
        }
        let energy = e0_kwh * x;
        slot(t, energy);
        e = (e + energy * eta_c).clamp(0.0, ev.capacity_kwh);
    }
    e
}

/// Uncoordinated charging's `x = x_max` for an EV holding `energy` kWh (docs/model.md
/// §5.2): the room left (filled at `η_c`), at most 1 (`E0`) and the charger's power.
pub fn charge_x(ev: &Ev, energy: f64, e0_kwh: f64, eta_c: f64) -> f64 {
    let (_, mut x) = if eta_c == 1.0 {
        x_bounds(energy, ev.capacity_kwh, e0_kwh)
    } else {
        (
            0.0,
            ((ev.capacity_kwh - energy) / (e0_kwh * eta_c)).clamp(0.0, 1.0),
        )
    };
    // The charger's power, when the fleet gives it (docs/model.md §3).
    let up = ev.max_charge_kwh();
    if up < e0_kwh {
        x = x.min(up / e0_kwh);
    }
    x
}

/// The baseline's energy drawn at each site in each slot (docs/model.md §9): `out[t][s]`,
/// kWh, summed over the sessions in fleet order; session `i` charges at site
/// `site_of[i]` of `n_sites`.
pub fn site_energy(
    fleet: &Fleet,
    horizon: &Horizon,
    e0_kwh: f64,
    eta_c: f64,
    site_of: &[usize],
    n_sites: usize,
) -> Vec<Vec<f64>> {
    let mut out = vec![vec![0.0; n_sites]; horizon.slots];
    for (ev, &s) in fleet.evs().iter().zip(site_of) {
        charge(ev, horizon, e0_kwh, eta_c, |t, energy| out[t][s] += energy);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fleet::{Ev, Kind};
    use crate::data::time::parse_time;

    #[test]
    fn charges_flat_out_until_full() {
        let h = Horizon::paper();
        let ev = Ev {
            site: None,
            session_id: None,
            id: "1".into(),
            kind: Kind::Private,
            capacity_kwh: 10.0,
            initial_kwh: 2.0,
            arrival: parse_time("2021-05-27T07:00").unwrap(),
            departure: parse_time("2021-05-27T09:00").unwrap(),
            beta: None,
            a: None,
            u_idle: None,
            limits: Default::default(),
        };
        let fleet = Fleet::new(vec![ev]).unwrap();
        let p_c: Vec<f64> = (0..96).map(|t| 1.0 + t as f64).collect();
        let b = run(&fleet, &h, &p_c, 3.75, 1.0);
        // 3.75 at 1.0, 3.75 at 2.0, then the last 0.5 kWh at 3.0.
        assert_eq!(b[0].final_kwh, 10.0);
        approx::assert_relative_eq!(b[0].cost_cny, 3.75 + 7.5 + 1.5, max_relative = 1e-12);
    }
}
