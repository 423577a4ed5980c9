//! The rule-based policies (docs/model.md §10.1): uncoordinated charging, earliest
//! deadline first (EDF) and least laxity first (LLF), as ACN-Sim's schedulers of the
//! same names, on the model's bounds.
//!
//! Every EV has an energy **request**: its departure target (docs/model.md §3.1) when it
//! has one, otherwise a full battery. Each slot, EDF and LLF go through the plugged EVs
//! in their order and give each
//!
//! `min(E0·x_max, (request − E)/η_c, what its site has left)`
//!
//! at the meter (`x_max` the model's bound: room in the battery, `E0`, `max_kw`;
//! `what its site has left` only for a site with a transformer limit,
//! `L_s = transformer_kva·pf·0.25` kWh a slot, docs/model.md §9.3). They never discharge.
//! Without limits every EV gets what it asks, so the order only matters where a
//! transformer binds.
//!
//! * EDF orders by departure: the end of the EV's last plugged slot (its session's end,
//!   or the horizon's), earliest first.
//! * LLF orders by laxity, in slots: `n_left − need/E_up`, where `n_left` counts its
//!   plugged slots from this one on, `need` is `(request − E)/η_c` and `E_up =
//!   min(E0, max_kw·0.25 h)` the most it can draw a slot; least first.
//!
//! Ties go to the earlier fleet row.

use crate::data::fleet::Ev;
use crate::policy::{Schedule, SlotView};
use crate::sim::Run;

/// The most an EV can draw at the meter this slot under uncoordinated charging's bound
/// (docs/model.md §5.2): `E0·x_max`, with `x_max` from the room left, `E0` and `max_kw`,
/// exactly as [`crate::baseline`] computes it.
pub fn up_kwh(ev: &Ev, energy: f64, e0_kwh: f64, eta_c: f64) -> f64 {
    e0_kwh * crate::baseline::charge_x(ev, energy, e0_kwh, eta_c)
}

/// Uncoordinated charging as a schedule (docs/model.md §5.2): `E0·x_max` for every
/// plugged EV until it is full. Its `evs.csv` `final_kwh` equals the baseline columns'.
pub fn uncoordinated(run: &Run) -> impl Schedule + '_ {
    Uncoordinated { run }
}

struct Uncoordinated<'a> {
    run: &'a Run,
}

impl Schedule for Uncoordinated<'_> {
    fn decide(&mut self, view: &SlotView<'_>, out: &mut Vec<f64>) {
        let evs = self.run.fleet().evs();
        let (e0, eta_c) = (view.prices.e0_kwh, view.prices.eta_c);
        out.extend(
            view.active
                .iter()
                .map(|&i| up_kwh(&evs[i], view.energy[i], e0, eta_c)),
        );
    }
}

/// The order of [`ordered`]'s schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Earliest deadline first.
    Deadline,
    /// Least laxity first.
    Laxity,
}

/// EDF or LLF as a schedule (docs/model.md §10.1).
pub fn ordered(run: &Run, order: Order) -> impl Schedule + '_ {
    let params = &run.scenario().params;
    let request = run
        .fleet()
        .evs()
        .iter()
        .map(|e| {
            let target = e.state(params).target_kwh;
            if target > 0.0 {
                target
            } else {
                e.capacity_kwh
            }
        })
        .collect();
    let (ranges, _) = run.plug_schedule();
    Ordered {
        run,
        order,
        request,
        end: ranges.iter().map(|r| r.end).collect(),
        limits: crate::network::limits::slot_limits(&run.scenario().sites),
        keyed: Vec::new(),
    }
}

struct Ordered<'a> {
    run: &'a Run,
    order: Order,
    /// Each EV's request, kWh in the battery.
    request: Vec<f64>,
    /// Each EV's deadline: the end of its plugged slots.
    end: Vec<usize>,
    /// Each site's limit a slot, kWh at the meters.
    limits: Vec<Option<f64>>,
    /// (key, position in `active`, want) of this slot's EVs.
    keyed: Vec<(f64, usize, f64)>,
}

impl Schedule for Ordered<'_> {
    fn decide(&mut self, view: &SlotView<'_>, out: &mut Vec<f64>) {
        let evs = self.run.fleet().evs();
        let (e0, eta_c) = (view.prices.e0_kwh, view.prices.eta_c);
        out.resize(view.active.len(), 0.0);
        self.keyed.clear();
        for (k, &i) in view.active.iter().enumerate() {
            let e = view.energy[i];
            let need = (self.request[i] - e).max(0.0) / eta_c;
            let want = up_kwh(&evs[i], e, e0, eta_c).min(need);
            if want <= 0.0 {
                continue;
            }
            let key = match self.order {
                Order::Deadline => self.end[i] as f64,
                Order::Laxity => {
                    let e_up = evs[i].max_charge_kwh().min(e0);
                    (self.end[i] - view.t) as f64 - need / e_up
                }
            };
            self.keyed.push((key, k, want));
        }
        // Positions ascend with fleet rows, so they break ties.
        self.keyed
            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let site_of = self.run.site_of();
        let mut left: Vec<f64> = self
            .limits
            .iter()
            .map(|l| l.unwrap_or(f64::INFINITY))
            .collect();
        for &(_, k, want) in &self.keyed {
            let give = if left.is_empty() {
                want
            } else {
                let s = site_of[view.active[k]];
                let give = want.min(left[s]).max(0.0);
                left[s] -= give;
                give
            };
            out[k] = give;
        }
    }
}
