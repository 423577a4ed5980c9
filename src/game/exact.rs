//! The exact leader solver: the supremum of the EVA's revenue `R(p_d)` (Eqs. 3–7) over
//! the whole range `[p_d,min, p_d,max]`, not only on the epsilon grid of Eq. (12).
//!
//! # Derivation
//!
//! Write `q = a_i − p_d` for an EV's margin over its degradation cost. Only the discharge
//! regime depends on `p_d` (docs/model.md §3). Its unclamped optimum is
//! `x = w/(q ln 2) − 2`, which is negative for `q > q0 = w/(2 ln 2)` and reaches the bound
//! `x_min` at `q1 = w/((2 + x_min) ln 2)`. Its best utility is
//!
//! * free (`q0 < q < q1`): `u_d(q) = w·log2(w/(q ln 2)) − w − w/ln 2 + 2q`, with
//!   `u_d' = −x > 0` and `u_d'' = w/(q² ln 2) > 0`;
//! * clamped (`q >= q1`): `u_d(q) = w·(log2(2 + x_min) − 1) − q·x_min`, increasing too.
//!
//! So `u_d` grows as `p_d` falls, and with `u_fb = max(U_idle, u_charge)` the EV discharges
//! exactly when `p_d < τ_i = a_i − q*_i`, where `u_d(q*_i) = u_fb` ([`threshold`]: Newton's
//! method on the convex increasing free branch, from its right end, or the linear clamped
//! branch in closed form; `q* = q0` when the fallback is idle with `U_idle = 0`, where the
//! sign of the closed form decides, docs/model.md §3). With a smallest trade
//! `min_x = min_trade_kwh/E0` the regime exists only from `q_m = w/((2 − min_x) ln 2)` on
//! (never when `min_x > |x_min|`), so `τ_i = a_i − max(q*_i, q_m)`. Below
//! `κ_i = a_i − q1` it discharges `x_min`.
//!
//! With losses (docs/model.md §3.2) all of this holds in the battery-side price
//! `p' = η_d·p_d` with the follower's battery-side `x_min`: `τ_i = (a_i − q*_i)/η_d`,
//! `κ_i = (a_i − q1)/η_d`, and the meter energy below carries a factor `η_d`
//! (`D(p) = C + Σ_free η_d·E0·(2 − w_i/((a_i − η_d·p) ln 2))`, still decreasing and
//! concave); with `η_d = 1` the expressions are the lossless ones bit for bit.
//!
//! The thresholds `τ_i` and kinks `κ_i` cut the range into pieces on which the sets of
//! charging, idle, free and clamped EVs are fixed. On a piece, with `p = p_d <= 0`,
//!
//! `D(p) = C + Σ_free E0·(2 − w_i/((a_i − p) ln 2))`,
//! `R(p) = K + (W_grid + p)·D(p) − δ·|E_limit − D(p)|`,
//!
//! where `C = Σ_clamped E0·|x_min|` and `K = R_service − p_delay·n_idle` are constants of the
//! piece. `D` is decreasing in `p` (`D' = −Σ_free E0·w_i/((a_i − p)² ln 2) < 0`) and concave
//! (`D'' < 0`). On each side of the point where `D = E_limit`, with `σ = +1` where
//! `D < E_limit` and `−1` where `D > E_limit`, `R = K ∓ δE_limit + g(p)` with
//! `g(p) = c(p)·D(p)`, `c(p) = W_grid + σδ + p`, and
//!
//! `g'(p) = D + c·D'`, `g'' = 2D' + c·D''`.
//!
//! Where `c <= 0`, `g' >= 0` (`D >= 0`, `D' <= 0`); where `c >= 0`, `g'' < 0`, so `g'` is
//! decreasing. Hence `g'` changes sign at most once, from `+` to `−`, and `R` is unimodal
//! on each side: its maximum is at the right end when `g' >= 0` there, at the left end when
//! `g' <= 0` there, and otherwise at the unique root of `g'`, found by bisection on the sign
//! of `g'` (provably convergent; run to adjacent floating-point numbers). The same holds
//! for `D = E_limit`, a monotone equation solved by bisection.
//!
//! At a threshold `τ_i` the EV stops discharging (docs/model.md §3's tie rule: it discharges only
//! when strictly better), so the supremum of a piece at its upper end `τ_i` is not
//! attained; and within a few units in the last place of `τ_i` the follower's own
//! floating-point comparison of `u_d` with `u_fb` may disagree with `p < τ_i`. The solver
//! therefore proposes the nearest price to the peak (one step in the last place away,
//! then 4, 16, … times that, within the peak's piece) where every EV near its threshold
//! decides as the model says (`settle`) and as exact arithmetic does on the same inputs
//! ([`tie::discharges`], docs/model.md §4.3 "Ties"), so that one rounding cannot flip a
//! whole group of identical EVs. Every reported revenue is `R` evaluated from
//! the followers' own responses at the reported price ([`SlotPrices::revenue`]), so it is
//! what settlement pays.
//!
//! Against the grid: the grid's candidates lie in the range, so `R_exact >= R_grid` up to
//! rounding. Where they pick different prices the revenue peaks between candidates: at an
//! interior maximum of a piece (a root of `g'` or `D = E_limit`), or just below a
//! threshold where an EV starts to discharge and the EVA stops paying its idle fee (the
//! tests show such a case and bound the gap by `L·epsilon` plus the jumps at thresholds
//! within one grid step).
//!
//! # Cost and the SCP decomposition
//!
//! Thresholds cost a few logarithms per EV; sorting the events is `O(N log N)`; the sweep
//! over pieces keeps the free EVs' `Σ w_i` per distinct `a_i` (`G` groups; one for a fleet
//! with the default `a`), so `D`, `D'` and `R` on a piece cost `O(G)`: `O(N log N + N·G)`
//! per slot. The pieces' group states take at most `MAX_TABLE` (4 Mi) entries: beyond that
//! (many distinct `a_i`) only every few pieces keep theirs and the others replay the
//! changes since, bit for bit. Each SCP worker takes
//! the same contiguous sub-range of prices as in the grid search
//! ([`split_ranges`](crate::game::search::split_ranges), via [`decompose`]), maximises `R` exactly over it
//! (branch and bound: every piece gets a cheap upper bound; only pieces whose bound beats
//! the best endpoint value are maximised), evaluates its best price with the followers'
//! own responses, and proposes it. The best proposal wins: highest `R`, then the higher
//! price (closer to `p_d,max`).

use std::borrow::Cow;

use rayon::prelude::*;

use crate::error::Result;
use crate::game::follower::{Follower, Regime};
use crate::game::leader::{Revenue, RevenueSum, SlotPrices};
use crate::game::search::{decompose, Best, SearchResult, SlotGame, PAR_MIN_EVS};
use crate::game::solve::Worker;
use crate::game::tie;

const LN_2: f64 = std::f64::consts::LN_2;

/// An EV's discharge threshold `τ` and clamp kink `κ` (prices): it discharges exactly for
/// `p_d < τ`, at `x_min` for `p_d <= κ`. `τ = −∞` when it can never discharge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// `τ_i`.
    pub tau: f64,
    /// `κ_i`.
    pub kappa: f64,
}

/// The discharge threshold of one follower (see the module docs).
pub fn threshold(f: &Follower) -> Threshold {
    let never = Threshold {
        tau: f64::NEG_INFINITY,
        kappa: f64::NEG_INFINITY,
    };
    if f.x_min >= 0.0 || f.w <= 0.0 {
        return never;
    }
    let w = f.w;
    let q0 = w / (2.0 * LN_2);
    let q1 = w / ((2.0 + f.x_min) * LN_2);
    // The smallest trade: the regime exists only for |x_d| >= min_x at the meter, that is
    // |y_d| >= min_x/η_d on the battery's side, from q_m on.
    let min_y = f.min_x / f.eta_d;
    if min_y > -f.x_min {
        return never;
    }
    let q_m = if f.min_x > 0.0 {
        w / ((2.0 - min_y) * LN_2)
    } else {
        q0
    };
    let u_fb = f.u_fallback;
    let u_free = |q: f64| w * (w / (q * LN_2)).log2() - w - w / LN_2 + 2.0 * q;
    // With an idle fallback and U_idle = 0 the regime wins wherever it exists
    // (docs/model.md §3): the threshold is where it starts to exist.
    let sign_rule = f.fallback.regime == Regime::Idle && f.u_idle == 0.0;
    let q_star = if sign_rule || u_fb <= 0.0 {
        q0
    } else if u_free(q1) >= u_fb {
        // Newton from the right on a convex increasing function: monotone convergence.
        let mut q = q1;
        for _ in 0..100 {
            let slope = 2.0 - w / (q * LN_2);
            if slope <= 0.0 {
                break;
            }
            let next = (q - (u_free(q) - u_fb) / slope).max(q0);
            if next >= q {
                break;
            }
            q = next;
        }
        q
    } else {
        (w * ((2.0 + f.x_min).log2() - 1.0) - u_fb) / f.x_min
    };
    // q = a − η_d·p on the battery's side (docs/model.md §3.2): back to prices.
    Threshold {
        tau: (f.a - q_star.max(q_m)) / f.eta_d,
        kappa: (f.a - q1) / f.eta_d,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Starts discharging (free or clamped) below the event's price.
    Enter,
    /// Switches from free to clamped at the event's price.
    Clamp,
}

/// A price where the sets change, with what the sweep needs of its EV (so the sweep reads
/// the events in order and nothing else).
#[derive(Debug, Clone, Copy)]
struct Event {
    /// Price, kind and follower index ([`event_key`]): the sweep's order.
    key: u128,
    /// The EV's `a` group and `w`.
    group: u32,
    w: f64,
    /// Its fallback's share of `K`: `W_service·E0·x_c` when charging, `−p_delay` when idle.
    fee: f64,
    /// `E0·|x_min|`.
    clamp_kwh: f64,
    /// Enters already clamped (`τ <= κ`).
    enters_clamped: bool,
}

/// One piece: prices `[lo, hi]` (`hi` excluded when `hi_open`) with fixed sets.
#[derive(Debug, Clone, Copy)]
struct Piece {
    lo: f64,
    hi: f64,
    hi_open: bool,
    /// `R_service − p_delay·n_idle`.
    k: f64,
    /// `Σ_clamped E0·|x_min|`.
    c: f64,
    /// Number of group changes (`Pieces::deltas`) made before this piece.
    delta_end: usize,
}

/// One change of a group's free EVs: `(group, w_i, added)`.
type Delta = (u32, f64, bool);

/// Applies a change to the per-group `(Σ w_i, count)` of free EVs (the one place that
/// does, so that a replayed state is bit-identical to the sweep's).
fn apply(gs: &mut [(f64, f64)], (j, w, added): Delta) {
    let g = &mut gs[j as usize];
    if added {
        g.0 += w;
        g.1 += 1.0;
    } else {
        g.0 -= w;
        g.1 -= 1.0;
        if g.1 == 0.0 {
            g.0 = 0.0;
        }
    }
}

/// Fewest followers whose thresholds are computed in parallel: a threshold costs a few
/// logarithms (Newton's steps), so from a few hundred EVs both cores pay (a 2,000-EV
/// slot, as in `PricingEnv.step`, spends most of its search here).
const PAR_MIN_THRESHOLDS: usize = 512;

/// Most `(Σ w, count)` entries kept for the pieces' group states (64 MiB): beyond it, only
/// every `every`-th piece keeps its state and the others replay the changes since.
const MAX_TABLE: usize = 1 << 22;

/// The buffers of one exact search, kept on the searching thread from one slot to the
/// next: a city-scale slot fills about 100 MB of them, which fresh allocations would
/// fault in anew each slot and which the allocator would not always give back between
/// slots (docs/benchmarks.md, "City scale"). A thread keeps its largest slot's buffers
/// until it ends. A search that finds them taken (one started inside another on the same
/// thread, as rayon may) works with fresh ones.
#[derive(Default)]
struct Scratch {
    thr: Vec<Threshold>,
    taus: Vec<u128>,
    events: Vec<Event>,
    enters: Vec<u128>,
    list: Vec<Piece>,
    kept: Vec<(f64, f64)>,
    deltas: Vec<Delta>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// Frees the buffers this thread's exact searches kept ([`Scratch`]): what a slot loop
/// calls when its last slot is searched, before it builds its result.
pub(crate) fn free_buffers() {
    drop(SCRATCH.take());
}

/// The pieces of a slot, in descending price order, with everything needed to evaluate
/// `R` on each.
struct Pieces<'a> {
    prices: &'a SlotPrices,
    /// Distinct `a` values of the fleet.
    a: Vec<f64>,
    list: Vec<Piece>,
    /// Pieces `0, every, 2·every, …` keep their per-group state.
    every: usize,
    /// Per kept piece, per group: `Σ w_i` and the count of free EVs.
    kept: Vec<(f64, f64)>,
    /// Every change of a group, in sweep order (none when `every` is 1).
    deltas: Vec<Delta>,
}

impl<'a> Pieces<'a> {
    /// Piece `j`'s per-group state.
    fn state(&self, j: usize) -> Cow<'_, [(f64, f64)]> {
        let ng = self.a.len();
        let c = j / self.every;
        let kept = &self.kept[c * ng..(c + 1) * ng];
        if j % self.every == 0 {
            return Cow::Borrowed(kept);
        }
        let mut gs = kept.to_vec();
        let from = self.list[c * self.every].delta_end;
        for &d in &self.deltas[from..self.list[j].delta_end] {
            apply(&mut gs, d);
        }
        Cow::Owned(gs)
    }

    /// Piece `j`'s `R` as a function of the price, given its state from [`Self::state`].
    fn piece<'b>(&'b self, j: usize, gs: &'b [(f64, f64)]) -> PieceFn<'b> {
        let pc = &self.list[j];
        PieceFn {
            pr: self.prices,
            a: &self.a,
            gs,
            k: pc.k,
            c: pc.c,
        }
    }
}

/// `D` and `R` on one piece (see the module docs).
struct PieceFn<'b> {
    pr: &'b SlotPrices,
    a: &'b [f64],
    gs: &'b [(f64, f64)],
    k: f64,
    c: f64,
}

impl PieceFn<'_> {
    fn d(&self, p: f64) -> f64 {
        let (e0, h) = (self.pr.e0_kwh * self.pr.eta_d, self.pr.eta_d);
        let mut d = self.c;
        for (&a, &(sw, n)) in self.a.iter().zip(self.gs) {
            if n > 0.0 {
                d += e0 * (2.0 * n - sw / ((a - h * p) * LN_2));
            }
        }
        d.max(0.0)
    }

    fn d_prime(&self, p: f64) -> f64 {
        // D = C + Σ η_d·E0·(2 − w/((a − η_d·p) ln 2)): D' = −Σ η_d²·E0·w/((a − η_d·p)² ln 2).
        let h = self.pr.eta_d;
        let e0 = self.pr.e0_kwh * h * h;
        let mut dp = 0.0;
        for (&a, &(sw, n)) in self.a.iter().zip(self.gs) {
            if n > 0.0 {
                let q = a - h * p;
                dp -= e0 * sw / (q * q * LN_2);
            }
        }
        dp
    }

    /// `R` on the piece at `p` (Eqs. 3–7 with the piece's sets).
    fn value(&self, p: f64) -> f64 {
        let pr = self.pr;
        let d = self.d(p);
        self.k + (pr.w_grid - p.abs()) * d - pr.delta * (pr.e_limit_kwh - d).abs()
    }

    /// `g'` on the side `sigma` (+1: `D < E_limit`, −1: `D > E_limit`).
    fn g_prime(&self, p: f64, sigma: f64) -> f64 {
        let pr = self.pr;
        let c = pr.w_grid + sigma * pr.delta - p.abs();
        self.d(p) + c * self.d_prime(p)
    }

    /// An upper bound of `R` on `[l, r]`.
    fn upper_bound(&self, l: f64, r: f64) -> f64 {
        let pr = self.pr;
        let (dl, dr) = (self.d(l), self.d(r));
        let wr = pr.w_grid + r.min(0.0);
        let term = if wr >= 0.0 { wr * dl } else { wr * dr };
        let gap = (pr.e_limit_kwh - dl).max(dr - pr.e_limit_kwh).max(0.0);
        let ub = self.k + term - pr.delta * gap;
        ub + 1e-9 * (1.0 + ub.abs())
    }

    /// The maximiser of the unimodal `R` on `[l, r]` of one side of `D = E_limit`.
    fn argmax_side(&self, l: f64, r: f64, sigma: f64) -> f64 {
        if self.g_prime(r, sigma) >= 0.0 {
            return r;
        }
        if self.g_prime(l, sigma) <= 0.0 {
            return l;
        }
        let (mut lo, mut hi) = (l, r);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if self.g_prime(mid, sigma) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The maximiser of `R` on `[l, r]` (the best of both sides of `D = E_limit`, higher
    /// price on ties) and its value.
    fn argmax(&self, l: f64, r: f64) -> (f64, f64) {
        let e = self.pr.e_limit_kwh;
        let (dl, dr) = (self.d(l), self.d(r));
        let mut cands = Vec::with_capacity(3);
        if dr >= e {
            cands.push(self.argmax_side(l, r, -1.0));
        } else if dl <= e {
            cands.push(self.argmax_side(l, r, 1.0));
        } else {
            // D(l) > E > D(r): the crossing, by bisection on the decreasing D.
            let (mut lo, mut hi) = (l, r);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if self.d(mid) > e {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            cands.push(self.argmax_side(l, lo, -1.0));
            cands.push(self.argmax_side(hi, r, 1.0));
        }
        let mut best = (r, f64::NEG_INFINITY);
        for p in cands {
            let v = self.value(p);
            if v > best.1 || (v == best.1 && p > best.0) {
                best = (p, v);
            }
        }
        best
    }
}

/// Builds the pieces of a slot from its followers and their thresholds (what
/// [`search_within`] builds, in fresh buffers).
#[cfg(test)]
fn pieces<'a>(game: &'a SlotGame, thr: &[Threshold]) -> Pieces<'a> {
    let mut taus = Vec::new();
    tau_order(thr, &mut taus);
    pieces_within(game, thr, &taus, MAX_TABLE, &mut Scratch::default())
}

/// Every finite threshold's [`tau_key`], in ascending order, into `taus`.
fn tau_order(thr: &[Threshold], taus: &mut Vec<u128>) {
    taus.clear();
    taus.extend(
        thr.iter()
            .enumerate()
            .filter(|(_, t)| t.tau.is_finite())
            .map(|(i, t)| tau_key(t.tau, i)),
    );
    sort_by_distinct_key(taus, |&k| k);
}

/// `x`'s place in [`f64::total_cmp`]'s order as an unsigned integer (a bijection, so
/// sorting the keys sorts the numbers, and [`from_order_key`] gives them back).
fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// The inverse of [`order_key`].
fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Sorts by distinct keys, on both cores when there are many. The keys are distinct, so
/// the order is the one total order whatever the number of threads.
fn sort_by_distinct_key<T: Send>(items: &mut [T], key: impl Fn(&T) -> u128 + Sync) {
    if items.len() >= PAR_MIN_EVS {
        items.par_sort_unstable_by_key(key);
    } else {
        items.sort_unstable_by_key(key);
    }
}

/// An event's sort key: descending price, then enters before clamps, then the follower
/// index (the order of the sweep; every key is distinct).
fn event_key(price: f64, kind: Kind, idx: usize) -> u128 {
    let kind = match kind {
        Kind::Enter => 0u128,
        Kind::Clamp => 1,
    };
    (u128::from(!order_key(price)) << 64) | (kind << 32) | idx as u128
}

/// The price, kind and follower index of an [`event_key`].
fn decode_event(key: u128) -> (f64, Kind, usize) {
    let price = from_order_key(!((key >> 64) as u64));
    let kind = if (key >> 32) & 1 == 0 {
        Kind::Enter
    } else {
        Kind::Clamp
    };
    (price, kind, (key & 0xffff_ffff) as usize)
}

/// A threshold's sort key: ascending `τ`, then the follower index.
fn tau_key(tau: f64, idx: usize) -> u128 {
    (u128::from(order_key(tau)) << 64) | idx as u128
}

/// The `τ` and follower index of a [`tau_key`].
fn decode_tau(key: u128) -> (f64, usize) {
    (
        from_order_key((key >> 64) as u64),
        (key & 0xffff_ffff) as usize,
    )
}

/// Most distinct `a_i` collected by insertion before [`distinct_a`] sorts them all.
const FEW_A: usize = 256;

/// The distinct `a_i` of the followers in `total_cmp` order, equal values (`0.0` and
/// `-0.0`) merged into the first: what sorting them all and removing adjacent equal
/// values gives, without sorting every follower's value (fleets have few), on both cores
/// when there are many followers.
fn distinct_a(followers: &[Follower]) -> Vec<f64> {
    // Sorted by `total_cmp`, equal bit patterns once; `None` beyond FEW_A values.
    fn few(fs: &[Follower]) -> Option<Vec<f64>> {
        let mut a: Vec<f64> = Vec::new();
        for f in fs {
            if let Err(at) = a.binary_search_by(|y| y.total_cmp(&f.a)) {
                if a.len() >= FEW_A {
                    return None;
                }
                a.insert(at, f.a);
            }
        }
        Some(a)
    }
    fn merge(x: Option<Vec<f64>>, y: Option<Vec<f64>>) -> Option<Vec<f64>> {
        let (mut x, y) = (x?, y?);
        x.extend(y);
        x.sort_unstable_by(f64::total_cmp);
        x.dedup_by(|p, q| p.to_bits() == q.to_bits());
        (x.len() <= FEW_A).then_some(x)
    }
    let set = if followers.len() >= PAR_MIN_EVS {
        followers
            .par_chunks(PAR_MIN_EVS)
            .map(few)
            .reduce(|| Some(Vec::new()), merge)
    } else {
        few(followers)
    };
    let mut a = set.unwrap_or_else(|| {
        let mut a: Vec<f64> = followers.iter().map(|f| f.a).collect();
        a.sort_unstable_by(f64::total_cmp);
        a
    });
    a.dedup();
    a
}

/// The sweep's events in order: the enters (their keys; each made into its event, read
/// from its EV, when reached) merged by key with the clamps (sorted events).
struct Merged<'e, F> {
    enters: &'e [u128],
    clamps: &'e [Event],
    e: usize,
    c: usize,
    enter: F,
}

impl<F: Fn(u128) -> Event> Merged<'_, F> {
    /// Whether the next event is a clamp (its key is the smaller); `None` past the last.
    fn clamp_next(&self) -> Option<bool> {
        match (self.enters.get(self.e), self.clamps.get(self.c)) {
            (Some(&a), Some(b)) => Some(b.key < a),
            (a, b) => b.map(|_| true).or(a.map(|_| false)),
        }
    }

    /// The next event's key, if any.
    fn peek(&self) -> Option<u128> {
        Some(match self.clamp_next()? {
            true => self.clamps[self.c].key,
            false => self.enters[self.e],
        })
    }

    /// The next event, if there is one and its key passes `take`.
    fn next_if(&mut self, take: impl Fn(u128) -> bool) -> Option<Event> {
        if !take(self.peek()?) {
            return None;
        }
        Some(if self.clamp_next()? {
            self.c += 1;
            self.clamps[self.c - 1]
        } else {
            self.e += 1;
            (self.enter)(self.enters[self.e - 1])
        })
    }
}

/// The pieces of a slot, keeping at most about `max_table` group entries, in `scratch`'s buffers
/// (the events' is handed back; the pieces' go with the pieces).
fn pieces_within<'a>(
    game: &'a SlotGame,
    thr: &[Threshold],
    taus: &[u128],
    max_table: usize,
    scratch: &mut Scratch,
) -> Pieces<'a> {
    let pr = &game.prices;
    let (p_min, p_max) = (pr.p_d_min, pr.p_d_max);
    let e0 = pr.e0_kwh;
    let a = distinct_a(&game.followers);
    let group = |x: f64| a.partition_point(|&y| y < x) as u32;
    let ng = a.len();
    let fee_of = |f: &Follower| match f.fallback.regime {
        Regime::Charge => pr.w_service * e0 * f.fallback.x,
        _ => -pr.p_delay,
    };
    // Initial state at p_max.
    let (mut k, mut c) = (0.0, 0.0);
    let mut gs = vec![(0.0, 0.0); ng];
    let event = |i: usize, price: f64, kind: Kind| {
        let (f, t) = (&game.followers[i], &thr[i]);
        Event {
            key: event_key(price, kind, i),
            group: group(f.a),
            w: f.w,
            fee: fee_of(f),
            clamp_kwh: e0 * -(f.eta_d * f.x_min),
            enters_clamped: t.tau <= t.kappa,
        }
    };
    // The clamps, sorted below; the enters come in order from the sorted thresholds.
    let mut events = std::mem::take(&mut scratch.events);
    events.clear();
    for (i, (f, t)) in game.followers.iter().zip(thr).enumerate() {
        let discharging = p_max < t.tau;
        if !discharging {
            k += fee_of(f);
        }
        let clamped = p_max <= t.kappa;
        if discharging && clamped {
            c += e0 * -(f.eta_d * f.x_min);
        } else if discharging {
            apply(&mut gs, (group(f.a), f.w, true));
        }
        if !clamped && t.kappa > p_min && t.kappa < t.tau.min(p_max) {
            events.push(event(i, t.kappa, Kind::Clamp));
        }
    }
    // The sweep's order: descending price; at one price, enters before clamps; then by
    // index (every key is distinct, so this is the one order whatever the number of
    // threads). The clamps are sorted by their keys. Each EV with `p_min < τ <= p_max`
    // enters at `τ`: `taus` holds them in ascending `(τ, index)` order, so they are read
    // backwards, a run of equal `τ` forwards. The two lists are merged by key as the
    // sweep goes. The clamps carry what the sweep needs (read from the followers in
    // order); an enter is made when it is reached.
    sort_by_distinct_key(&mut events, |e| e.key);
    let window = {
        let from = taus.partition_point(|&t| decode_tau(t).0 <= p_min);
        let to = taus.partition_point(|&t| decode_tau(t).0 <= p_max);
        &taus[from..to.max(from)]
    };
    let mut enters = std::mem::take(&mut scratch.enters);
    enters.clear();
    let mut end = window.len();
    while end > 0 {
        let bits = window[end - 1] >> 64;
        let mut start = end - 1;
        while start > 0 && window[start - 1] >> 64 == bits {
            start -= 1;
        }
        enters.extend(window[start..end].iter().map(|&t| {
            let (tau, i) = decode_tau(t);
            event_key(tau, Kind::Enter, i)
        }));
        end = start;
    }
    let n_events = events.len() + enters.len();
    let mut stream = Merged {
        enters: &enters,
        clamps: &events,
        e: 0,
        c: 0,
        enter: |key: u128| {
            let i = decode_event(key).2;
            event(i, thr[i].tau, Kind::Enter)
        },
    };
    let every = ((n_events + 1).saturating_mul(ng) / max_table.max(1)).max(1);
    let mut list = std::mem::take(&mut scratch.list);
    list.clear();
    list.reserve(n_events + 1);
    let mut kept = std::mem::take(&mut scratch.kept);
    kept.clear();
    // With every piece's state kept nothing is replayed: no changes are recorded.
    let mut deltas = std::mem::take(&mut scratch.deltas);
    deltas.clear();
    deltas.reserve(if every > 1 { n_events } else { 0 });
    let mut hi = p_max;
    let mut hi_open = false;
    loop {
        let next = stream.peek();
        let lo = next.map_or(p_min, |key| decode_event(key).0);
        if lo <= hi {
            if list.len() % every == 0 {
                kept.extend_from_slice(&gs);
            }
            list.push(Piece {
                lo,
                hi,
                hi_open,
                k,
                c,
                delta_end: deltas.len(),
            });
        }
        let Some(key) = next else {
            break;
        };
        let price = decode_event(key).0;
        hi_open = false;
        while let Some(ev) = stream.next_if(|key| decode_event(key).0 == price) {
            let kind = decode_event(ev.key).1;
            let mut change = |d: Delta| {
                apply(&mut gs, d);
                if every > 1 {
                    deltas.push(d);
                }
            };
            match kind {
                Kind::Enter => {
                    hi_open = true;
                    k -= ev.fee;
                    if ev.enters_clamped {
                        c += ev.clamp_kwh;
                    } else {
                        change((ev.group, ev.w, true));
                    }
                }
                Kind::Clamp => {
                    change((ev.group, ev.w, false));
                    c += ev.clamp_kwh;
                }
            }
        }
        hi = price;
    }
    scratch.events = events;
    scratch.enters = enters;
    Pieces {
        prices: pr,
        a,
        list,
        every,
        kept,
        deltas,
    }
}

/// A worker's best: the price where the model `R` peaks on its sub-range and its model
/// value, with the part `[lo, hi]` of the piece it lies in that belongs to the sub-range
/// (`hi` excluded when `open`: the supremum at `hi` is then not attained).
#[derive(Debug, Clone, Copy)]
struct Peak {
    p: f64,
    value: f64,
    piece: usize,
    lo: f64,
    hi: f64,
    open: bool,
}

/// The exact maximum of the model `R` over prices `[l, r]` (see the module docs).
fn peak_in(ps: &Pieces<'_>, l: f64, r: f64) -> Option<Peak> {
    // Pieces are in descending price order: those overlapping [l, r].
    let first = ps.list.partition_point(|pc| pc.lo > r);
    let mut cands: Vec<(usize, f64, f64, bool, f64)> = Vec::new();
    let mut best: Option<Peak> = None;
    let consider = |best: &mut Option<Peak>, p: f64, value: f64, piece, lo, hi, open| {
        if best.is_none_or(|b| value > b.value || (value == b.value && p > b.p)) {
            *best = Some(Peak {
                p,
                value,
                piece,
                lo,
                hi,
                open,
            });
        }
    };
    for (j, pc) in ps.list.iter().enumerate().skip(first) {
        if pc.hi < l {
            break;
        }
        let (pl, ph) = (pc.lo.max(l), pc.hi.min(r));
        if pl > ph {
            continue;
        }
        let open = pc.hi_open && ph == pc.hi;
        if open && pl == ph {
            // The single point belongs to the piece above.
            continue;
        }
        let gs = ps.state(j);
        let f = ps.piece(j, &gs);
        for p in [ph, pl] {
            consider(&mut best, p, f.value(p), j, pl, ph, open);
        }
        cands.push((j, pl, ph, open, f.upper_bound(pl, ph)));
    }
    cands.sort_unstable_by(|x, y| y.4.total_cmp(&x.4).then(x.0.cmp(&y.0)));
    for (j, pl, ph, open, ub) in cands {
        if best.is_some_and(|b| ub < b.value) {
            break;
        }
        let gs = ps.state(j);
        let (p, v) = ps.piece(j, &gs).argmax(pl, ph);
        consider(&mut best, p, v, j, pl, ph, open);
    }
    best
}

/// How far (relative) from an EV's threshold rounding may decide its own choice: there
/// `u_d` and `u_fb` agree to within a few units in the last place.
const BAND: f64 = 1e-4;

/// Most direct evaluations [`settle`] makes before it keeps the best one seen.
const MAX_DIRECT: usize = 8;

/// The price actually proposed for a peak, with its revenue from the followers' own
/// responses (what settlement pays).
///
/// Near a threshold `τ_i` the EV's own choice (a floating-point comparison of `u_d` with
/// `u_fb`) may differ from the model's `p < τ_i`, and at an open upper end the supremum is
/// not attained. So a price is accepted only where every EV whose threshold lies within
/// [`BAND`] of it decides as the model does and the direct revenue is the model's (to
/// 1e-9 relative); starting from the peak (or the float just below an open end), prices
/// ever further away inside the peak's part of its piece are tried: one step in the last
/// place, then 4, 16, … times that, below first ([`probes`], [`acceptable`]). `first` is
/// [`first_probe`]'s price with its place and its revenue, found before; without one the
/// start, clamped to the peak's part, is proposed.
fn settle(
    game: &SlotGame,
    ps: &Pieces<'_>,
    taus: &[u128],
    peak: &Peak,
    first: Option<(usize, f64, Revenue)>,
) -> (f64, Revenue) {
    let Some((at, p0, r0)) = first else {
        let p = base_of(peak).clamp(peak.lo, peak.hi);
        return (p, revenue_at(game, p));
    };
    let gs = ps.state(peak.piece);
    let model_at = ps.piece(peak.piece, &gs);
    let later = probes(peak)
        .skip(at + 1)
        .filter(|&p| acceptable(game, taus, peak, p))
        .map(|p| (p, revenue_at(game, p)));
    let mut best: Option<(f64, Revenue)> = None;
    let mut direct = 0;
    for (p, r) in std::iter::once((p0, r0)).chain(later) {
        direct += 1;
        let model = model_at.value(p);
        if best.is_none_or(|(bp, b)| r.total > b.total || (r.total == b.total && p > bp)) {
            best = Some((p, r));
        }
        if r.total >= model - 1e-9 * model.abs().max(1.0) || direct >= MAX_DIRECT {
            break;
        }
    }
    best.unwrap_or((p0, r0))
}

/// One worker's start for [`settle`]: its part of the candidates, its peak and the first
/// price it may propose ([`first_probe`]'s, with its revenue once evaluated).
struct Start {
    range: std::ops::Range<usize>,
    peak: Peak,
    first: Option<(usize, f64, Revenue)>,
}

/// The first price [`settle`] may propose for `peak`, with its place among the
/// [`probes`]; `None` when none may be.
fn first_probe(game: &SlotGame, taus: &[u128], peak: &Peak) -> Option<(usize, f64)> {
    probes(peak)
        .enumerate()
        .find(|&(_, p)| acceptable(game, taus, peak, p))
}

/// Where [`settle`] starts: the peak, or the float just below an open end.
fn base_of(peak: &Peak) -> f64 {
    if peak.open && peak.p == peak.hi {
        next_down(peak.p)
    } else {
        peak.p
    }
}

/// The prices [`settle`] tries, in order: the start, then one step in the last place
/// either side of it, then 4, 16, … times that (47 pairs), below first.
fn probes(peak: &Peak) -> impl Iterator<Item = f64> {
    let base = base_of(peak);
    let step = f64::EPSILON * base.abs().max(1e-12);
    std::iter::once(base).chain(
        (0..47)
            .scan(step, move |step, _| {
                let s = *step;
                *step *= 4.0;
                Some([base - s, base + s])
            })
            .flatten(),
    )
}

/// Whether [`settle`] may propose `p`: inside the peak's part of its piece, and every EV
/// whose threshold lies within [`BAND`] of it decides there as the model does, and as
/// exact arithmetic does.
fn acceptable(game: &SlotGame, taus: &[u128], peak: &Peak, p: f64) -> bool {
    let inside = p >= peak.lo && (p < peak.hi || (p == peak.hi && !peak.open));
    if !inside {
        return false;
    }
    let band = BAND * (1.0 + p.abs());
    let from = taus.partition_point(|&t| decode_tau(t).0 < p - band);
    // Identical followers (equal thresholds, adjacent here) decide alike: the exact
    // decision of the last one is reused.
    let mut last: Option<(&Follower, bool)> = None;
    taus[from..]
        .iter()
        .map(|&t| decode_tau(t))
        .take_while(|t| t.0 <= p + band)
        .all(|(tau, i)| {
            let f = &game.followers[i];
            let own = f.discharge(p).is_some();
            if own != (p < tau) {
                return false;
            }
            let exact = match last {
                Some((g, d)) if g == f => d,
                _ => tie::discharges(f, &game.prices, p),
            };
            last = Some((f, exact));
            own == exact
        })
}

/// `R` at each of `prices` from the followers' own responses: [`revenue_at`] for each,
/// bit for bit (each price's sums run over the followers in order), in one pass over
/// the followers for up to four prices at a time, on both cores. The workers' first
/// proposals are evaluated together so that the followers are read twice per slot
/// instead of once per worker.
fn revenues_at(game: &SlotGame, prices: &[f64]) -> Vec<Revenue> {
    const AT_ONCE: usize = 4;
    let pr = &game.prices;
    let pass = |ps: &[f64]| -> Vec<Revenue> {
        let mut sums = [RevenueSum::default(); AT_ONCE];
        for f in &game.followers {
            for (sum, &p) in sums.iter_mut().zip(ps) {
                sum.add(pr, f.respond(p));
            }
        }
        sums.iter().zip(ps).map(|(s, &p)| s.finish(pr, p)).collect()
    };
    if game.followers.len() >= PAR_MIN_EVS {
        prices.par_chunks(AT_ONCE).flat_map_iter(pass).collect()
    } else {
        prices.chunks(AT_ONCE).flat_map(pass).collect()
    }
}

/// The largest `f64` below `x` (for finite `x`).
fn next_down(x: f64) -> f64 {
    if x == 0.0 {
        return -f64::from_bits(1);
    }
    let b = x.to_bits();
    f64::from_bits(if x > 0.0 { b - 1 } else { b + 1 })
}

/// `R` from the followers' own responses at `p` (what settlement pays).
pub fn revenue_at(game: &SlotGame, p: f64) -> Revenue {
    game.prices
        .revenue_of(p, game.followers.iter().map(|f| f.respond(p)))
}

/// Worker `j`'s sub-range of prices: the same split of the epsilon grid's candidates as
/// the grid search, as the closed interval from its lowest candidate's lower neighbour
/// (or `p_d,min`) to its highest candidate.
fn price_range(game: &SlotGame, r: &std::ops::Range<usize>) -> (f64, f64) {
    let hi = game.grid.price(r.start);
    let lo = if r.end >= game.grid.len() {
        game.prices.p_d_min
    } else {
        game.grid.price(r.end)
    };
    (lo, hi)
}

/// The index of the grid cell holding `p`, within the worker's index range.
fn cell(game: &SlotGame, p: f64, r: &std::ops::Range<usize>) -> usize {
    let k = ((game.prices.p_d_max - p) / game.grid.epsilon).floor();
    let k = if k.is_finite() && k > 0.0 {
        k as usize
    } else {
        0
    };
    k.clamp(r.start, r.end - 1)
}

/// The exact leader solver with the paper's SCP decomposition: each available worker
/// maximises `R` exactly over its sub-range of prices; the best proposal wins (highest
/// `R`, then higher price).
pub fn search(game: &SlotGame, workers: &[Worker]) -> Result<SearchResult> {
    search_within(game, workers, 0..game.grid.len())
}

/// [`search`] over the prices of the candidates in `allowed` only (docs/model.md §9.3):
/// each worker maximises over the prices of the part of its sub-range inside `allowed`.
pub fn search_within(
    game: &SlotGame,
    workers: &[Worker],
    allowed: std::ops::Range<usize>,
) -> Result<SearchResult> {
    let mut scratch = SCRATCH.take();
    let mut thr = std::mem::take(&mut scratch.thr);
    thr.clear();
    if game.followers.len() >= PAR_MIN_THRESHOLDS {
        thr.par_extend(game.followers.par_iter().map(threshold));
    } else {
        thr.extend(game.followers.iter().map(threshold));
    }
    let mut taus = std::mem::take(&mut scratch.taus);
    tau_order(&thr, &mut taus);
    let ps = pieces_within(game, &thr, &taus, MAX_TABLE, &mut scratch);
    // Each worker's part of the prices, its peak and the first price it may propose;
    // then those prices' revenues in one pass over the followers; then each worker
    // settles from there ([`settle`]).
    let mut starts: Vec<Option<Start>> =
        crate::game::search::split_ranges(game.grid.len(), workers)
            .into_par_iter()
            .map(|r| {
                let range = crate::game::search::within(&r?, &allowed);
                if range.is_empty() {
                    return None;
                }
                let (lo, hi) = price_range(game, &range);
                let peak = peak_in(&ps, lo, hi)?;
                let first =
                    first_probe(game, &taus, &peak).map(|(at, p)| (at, p, Revenue::default()));
                Some(Start { range, peak, first })
            })
            .collect();
    let firsts: Vec<f64> = starts
        .iter()
        .flatten()
        .filter_map(|s| s.first.map(|(_, p, _)| p))
        .collect();
    let mut revenues = revenues_at(game, &firsts).into_iter();
    for (_, _, r) in starts.iter_mut().flatten().filter_map(|s| s.first.as_mut()) {
        *r = revenues.next().expect("one revenue per first price");
    }
    let found = decompose(game.grid.len(), workers, |worker, _| {
        let s = starts[worker].as_ref()?;
        let (p, revenue) = settle(game, &ps, &taus, &s.peak, s.first);
        Some(Best {
            k: cell(game, p, &s.range),
            p_d: p,
            revenue,
        })
    });
    let Pieces {
        list, kept, deltas, ..
    } = ps;
    SCRATCH.set(Scratch {
        thr,
        taus,
        events: scratch.events,
        enters: scratch.enters,
        list,
        kept,
        deltas,
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::follower::Regime;
    use crate::game::solve::equal_workers;
    use crate::game::testing::game;
    use proptest::prelude::*;

    /// A search in the buffers its thread kept from the searches before (a larger slot, a
    /// smaller one, one with more `a` groups) finds exactly what a search in fresh buffers
    /// (another thread's) finds.
    #[test]
    fn kept_buffers_give_what_fresh_ones_give() {
        let make = |n: usize, groups: usize, p_rt: f64| {
            let evs: Vec<(f64, f64, f64, f64)> = (0..n)
                .map(|i| {
                    (
                        0.05 + (i as f64 * 0.377) % 0.9,
                        30.0 + (i % 17) as f64 * 10.0,
                        0.05 + (i % 7) as f64 * 0.05,
                        -0.01 - 0.02 * (i % groups) as f64,
                    )
                })
                .collect();
            game(p_rt, 50.0, &evs, 0.001)
        };
        let games = [
            make(6000, 1, 1.12),
            make(300, 3, 0.5),
            make(9000, 40, 0.8),
            make(40, 1, 1.12),
        ];
        let w = equal_workers(8);
        let fresh: Vec<SearchResult> = games
            .iter()
            .map(|g| std::thread::scope(|s| s.spawn(|| search(g, &w).unwrap()).join().unwrap()))
            .collect();
        for _ in 0..2 {
            for (g, f) in games.iter().zip(&fresh) {
                assert_eq!(&search(g, &w).unwrap(), f);
            }
        }
        free_buffers();
        assert_eq!(search(&games[2], &w).unwrap(), fresh[2]);
    }

    /// The sweep's merge of the enters with the sorted clamps gives every event once, in
    /// the order of sorting them all by key, and each enter made from its key.
    #[test]
    fn the_merged_events_are_the_sorted_union() {
        let ev = |key: u128| Event {
            key,
            group: (key % 7) as u32,
            w: key as f64,
            fee: 0.5,
            clamp_kwh: 1.0,
            enters_clamped: false,
        };
        let mut all: Vec<u128> = (0..500u128).map(|i| (i * 7919) % 100_003).collect();
        all.sort_unstable();
        all.dedup();
        for split in [0usize, 1, 3, 250] {
            let enters: Vec<u128> = all
                .iter()
                .copied()
                .filter(|k| *k as usize % 4 < split.min(4))
                .collect();
            let clamps: Vec<Event> = all
                .iter()
                .copied()
                .filter(|k| *k as usize % 4 >= split.min(4))
                .map(ev)
                .collect();
            let mut m = Merged {
                enters: &enters,
                clamps: &clamps,
                e: 0,
                c: 0,
                enter: ev,
            };
            let mut got = Vec::new();
            while let Some(key) = m.peek() {
                let e = m.next_if(|k| k == key).unwrap();
                assert_eq!(e.key, key);
                assert_eq!(e.w, key as f64);
                got.push(e.key);
            }
            assert_eq!(got, all, "split {split}");
        }
    }

    /// Several prices' revenues in one pass are each price's own, bit for bit, for any
    /// number of prices, on one core and on both.
    #[test]
    fn revenues_at_several_prices_are_each_prices_own() {
        for n in [30, 2 * PAR_MIN_EVS + 7] {
            let evs: Vec<(f64, f64, f64, f64)> = (0..n)
                .map(|i| {
                    (
                        0.05 + (i as f64 * 0.611) % 0.9,
                        30.0 + (i % 13) as f64 * 20.0,
                        0.05 + (i % 5) as f64 * 0.07,
                        -0.01 - 0.01 * (i % 3) as f64,
                    )
                })
                .collect();
            let g = game(1.12, 40.0, &evs, 0.001);
            let all: Vec<f64> = (0..9).map(|k| -0.05 - 0.37 * k as f64).collect();
            for m in 0..=all.len() {
                let got = revenues_at(&g, &all[..m]);
                let want: Vec<Revenue> = all[..m].iter().map(|&p| revenue_at(&g, p)).collect();
                assert_eq!(got, want, "{n} EVs, {m} prices");
            }
            assert!(revenue_at(&g, all[4]).n_discharge > 0);
        }
    }

    #[test]
    fn thresholds_match_the_followers_own_decisions() {
        let g = game(
            1.12,
            0.0,
            &(0..200)
                .map(|i| {
                    let s = (i as f64 * 0.137) % 1.0;
                    (s, 30.0 + i as f64, 0.05 + (i % 9) as f64 * 0.1, -0.01)
                })
                .collect::<Vec<_>>(),
            0.001,
        );
        for f in &g.followers {
            let t = threshold(f);
            if t.tau == f64::NEG_INFINITY {
                assert!(f.discharge(-1e6).is_none());
                continue;
            }
            let gap = 1e-6 * (1.0 + t.tau.abs());
            assert!(f.discharge(t.tau + gap).is_none(), "{f:?} {t:?}");
            assert!(f.discharge(t.tau - gap).is_some(), "{f:?} {t:?}");
            if t.kappa < t.tau - gap {
                let x = f.discharge(t.kappa - gap).unwrap();
                assert_eq!(x, f.x_min);
                let x = f.discharge((t.kappa + gap).min(t.tau - gap)).unwrap();
                assert!(x > f.x_min || t.kappa + gap >= t.tau - gap);
            }
        }
    }

    /// On every piece the model `R` equals the direct evaluation from the followers.
    #[test]
    fn piece_model_matches_direct_evaluation() {
        let evs: Vec<(f64, f64, f64, f64)> = (0..80)
            .map(|i| {
                (
                    (i as f64 * 0.37) % 1.0,
                    20.0 + i as f64 * 3.0,
                    0.05 + (i % 7) as f64 * 0.05,
                    if i % 3 == 0 { -0.01 } else { -0.05 },
                )
            })
            .collect();
        let g = game(0.66, 60.0, &evs, 0.001);
        let thr: Vec<Threshold> = g.followers.iter().map(threshold).collect();
        let ps = pieces(&g, &thr);
        assert!(ps.list.len() > 20);
        assert_eq!(ps.a.len(), 2);
        for (j, pc) in ps.list.iter().enumerate() {
            let gs = ps.state(j);
            let f = ps.piece(j, &gs);
            for t in [0.1, 0.5, 0.9] {
                let p = pc.lo + t * (pc.hi - pc.lo);
                // Within ~1e-8 of a threshold where the EV is indifferent (`u_d = u_fb`
                // to second order), rounding decides the follower's own choice; the
                // solver's `settle` step handles that band, so compare outside it.
                if p - pc.lo < 1e-7 || pc.hi - p < 1e-7 {
                    continue;
                }
                let want = revenue_at(&g, p).total;
                let got = f.value(p);
                assert!(
                    (got - want).abs() <= 1e-9 * (1.0 + want.abs()),
                    "p = {p}: {got} vs {want}"
                );
            }
        }
    }

    /// With every EV its own `a` (one group each), a bounded table replays the group
    /// changes to the same bits as the full table.
    #[test]
    fn replayed_states_equal_kept_ones() {
        let evs: Vec<(f64, f64, f64, f64)> = (0..300)
            .map(|i| {
                let a = -0.001 * (i % 97) as f64;
                ((i as f64 * 0.37) % 1.0, 20.0 + (i % 50) as f64, 0.16, a)
            })
            .collect();
        let g = game(1.12, 150.0, &evs, 0.001);
        let thr: Vec<Threshold> = g.followers.iter().map(threshold).collect();
        let mut taus = Vec::new();
        tau_order(&thr, &mut taus);
        let full = pieces_within(&g, &thr, &taus, usize::MAX, &mut Scratch::default());
        let small = pieces_within(&g, &thr, &taus, 1000, &mut Scratch::default());
        assert_eq!(full.every, 1);
        assert!(small.every > 10, "{}", small.every);
        assert!(small.kept.len() * 10 < full.kept.len());
        assert_eq!(full.list.len(), small.list.len());
        for j in 0..full.list.len() {
            let (x, y) = (full.state(j), small.state(j));
            assert!(
                x.iter()
                    .zip(y.iter())
                    .all(|(u, v)| u.0.to_bits() == v.0.to_bits() && u.1 == v.1),
                "piece {j}"
            );
        }
        let best = search(&g, &equal_workers(4)).unwrap().best;
        assert!(best.revenue.total >= g.scan().revenue.total - 1e-9);
    }

    /// The maximiser of a piece beats dense sampling of the piece.
    #[test]
    fn piece_maximiser_beats_dense_sampling() {
        let evs: Vec<(f64, f64, f64, f64)> = (0..40)
            .map(|i| ((i as f64 * 0.61) % 1.0, 40.0 + i as f64, 0.3, -0.01))
            .collect();
        for e_limit in [0.0, 30.0, 80.0, 400.0] {
            let g = game(1.12, e_limit, &evs, 0.001);
            let thr: Vec<Threshold> = g.followers.iter().map(threshold).collect();
            let ps = pieces(&g, &thr);
            for (j, pc) in ps.list.iter().enumerate() {
                let gs = ps.state(j);
                let f = ps.piece(j, &gs);
                let (p, v) = f.argmax(pc.lo, pc.hi);
                assert!(p >= pc.lo && p <= pc.hi);
                for s in 0..=400 {
                    let q = pc.lo + (pc.hi - pc.lo) * s as f64 / 400.0;
                    let vq = f.value(q);
                    assert!(vq <= v + 1e-9 * (1.0 + v.abs()), "{q}: {vq} > {v} at {p}");
                }
            }
        }
    }

    /// How far above the grid's best the exact maximum may lie: with `p*` the exact price
    /// and `p_k` the highest grid candidate at or below it, `R(p*) − R(p_k)` is at most
    /// `L·(p* − p_k) + J`. `L` bounds `|dR/dp| <= D + (|W_grid + p| + δ)·|D'|` on the
    /// pieces in between (`D <= D(p_k)`, each free EV's `|D'_i| = E0·w_i/(q_i² ln 2)` at its
    /// smallest `q_i` there); `J` sums the jumps of the EVs whose threshold lies in
    /// `(p_k, p*]`: each loses its fallback (`p_delay` or its charging fee) and adds its
    /// discharge, worth at most `(|W_grid + p| + δ)·E0·|x_i(p_k)|`.
    fn grid_gap_bound(g: &SlotGame, p_star: f64) -> f64 {
        let grid = &g.grid;
        let mut k = (((g.prices.p_d_max - p_star) / grid.epsilon).ceil().max(0.0) as usize)
            .min(grid.len() - 1);
        while k + 1 < grid.len() && grid.price(k) > p_star {
            k += 1;
        }
        while k > 0 && grid.price(k - 1) <= p_star {
            k -= 1;
        }
        let p_k = grid.price(k);
        let pr = &g.prices;
        let price_w = pr.w_grid.abs() + pr.p_d_min.abs() + pr.delta;
        let mut slope = 0.0;
        let mut jumps = 0.0;
        for f in &g.followers {
            let t = threshold(f);
            if t.tau <= p_k {
                continue;
            }
            if t.kappa < p_star {
                let q = (f.a - p_star).max(f.w / (2.0 * LN_2));
                slope += pr.e0_kwh * f.w / (q * q * LN_2);
            }
            if t.tau <= p_star {
                let fallback = match f.fallback.regime {
                    Regime::Charge => pr.w_service * pr.e0_kwh * f.fallback.x,
                    _ => pr.p_delay,
                };
                jumps += fallback + price_w * pr.e0_kwh * f.respond(p_k).x.abs();
            }
        }
        let d = g.revenue(k).discharge_kwh;
        (d + price_w * slope) * (p_star - p_k) + jumps
    }

    /// Where the grid and the exact solver pick different prices, it is because the
    /// revenue peaks between grid candidates. Here the only plugged EV idles unless it
    /// discharges, it starts to just below a threshold `τ` that is not on the grid, and
    /// with no auxiliary task every kWh discharged costs the EVA `|p_d| + δ − W_grid`.
    /// Just below `τ` it discharges a vanishing amount, so `R` is just below 0: the EVA no
    /// longer pays the idle fee. The exact solver sits there. The grid's first candidate
    /// below `τ` already buys so much energy that `R < −p_delay`, so the grid keeps
    /// `p_d,max` and pays the idle fee.
    #[test]
    fn exact_and_grid_differ_by_less_than_the_bound_and_why() {
        let g = game(1.12, 0.0, &[(0.5, 60.0, 0.16, -0.01)], 0.01);
        let t = threshold(&g.followers[0]);
        let grid = g.scan();
        let exact = search(&g, &equal_workers(1)).unwrap().best;
        assert!(
            exact.p_d < t.tau && exact.p_d > t.tau - 1e-6,
            "{exact:?} {t:?}"
        );
        assert_eq!(exact.revenue.n_discharge, 1);
        assert!(
            exact.revenue.total < 0.0 && exact.revenue.total > -1e-6,
            "{exact:?}"
        );
        assert_eq!((grid.k, grid.p_d, grid.revenue.n_idle), (0, 0.0, 1));
        assert!((grid.revenue.total + 0.1).abs() < 1e-12);
        let below = g.grid.index_of((t.tau / 0.01).floor() * 0.01);
        assert!(g.grid.price(below) < t.tau && g.grid.price(below) > t.tau - 0.01);
        assert!(g.revenue(below).total < -0.1, "{:?}", g.revenue(below));
        let gap = exact.revenue.total - grid.revenue.total;
        assert!(gap > 0.09 && gap <= grid_gap_bound(&g, exact.p_d), "{gap}");
    }

    /// An exact evaluation of a slot of identical EVs (docs/model.md §3 and §4.1), in
    /// rationals, written from the equations and sharing no code with the solver: each EV
    /// holds `SOC = 1/2` or `1/4` of 60 kWh (so `x_min = −1`), idles unless it discharges (`w`
    /// below `p_c·ln 2`), and `η = 1`; with `U_idle > 0` the price must make it discharge
    /// at `x_min`, where its utility is rational. `ln 2` is bounded by 39 decimals;
    /// returns `R` with both bounds (their gap is far below 1e-20) and the number of
    /// dischargers at `p`.
    fn exact_r_of_identical_evs(
        n: usize,
        (soc, beta, a, u_idle, min_trade_kwh): (f64, f64, f64, f64, f64),
        p: f64,
        pr: &SlotPrices,
    ) -> (f64, f64, usize) {
        use num_bigint::BigInt;
        use num_rational::BigRational as Q;
        let q = |x: f64| Q::from_float(x).unwrap();
        let ten39 = BigInt::from(10).pow(39);
        let l2_lo = Q::new(
            "693147180559945309417232121458176568075".parse().unwrap(),
            ten39.clone(),
        );
        let l2_hi = &l2_lo + Q::new(BigInt::from(1), ten39);
        let two = Q::from_integer(BigInt::from(2));
        // w = beta / SOC (Eq. 2), SOC = E/Cap: 1/2 or 1/4 here, so that the double `w` of
        // the follower is this rational exactly.
        assert!(soc == 0.5 || soc == 0.25);
        let w = q(beta) / q(soc);
        assert!(w < q(pr.p_c) * &l2_lo, "the fallback must be idle");
        let e0 = q(pr.e0_kwh);
        let min_x = q(min_trade_kwh) / &e0;
        let qq = q(a) - q(p);
        let mut bounds = Vec::new();
        let mut n_dis = None;
        for l2 in [&l2_lo, &l2_hi] {
            // x_d = clamp(w/((a − p) ln 2) − 2, −1, 0); the regime exists when x_d < 0 and
            // E0·|x_d| >= min_trade_kwh.
            let x = if qq > Q::from_integer(BigInt::from(0)) {
                let free = &w / (&qq * l2) - &two;
                let one = Q::from_integer(BigInt::from(1));
                if free <= -one.clone() {
                    -one
                } else {
                    free
                }
            } else {
                Q::from_integer(BigInt::from(0))
            };
            let exists = x < Q::from_integer(BigInt::from(0)) && -x.clone() >= min_x;
            // With U_idle > 0 the EV compares: it discharges when u_d(x_d) > U_idle. At
            // x_d = −1, u_d = w·(log2 1 − 1) − a·(−1) + p·(−1) = (a − p) − w, rational.
            let better = u_idle == 0.0 || {
                assert!(
                    x == -Q::from_integer(BigInt::from(1)),
                    "the test compares utilities only at x_min = −1"
                );
                &qq - &w > q(u_idle)
            };
            let exists = exists && better;
            let m = if exists { n } else { 0 };
            assert!(
                n_dis.is_none_or(|k| k == m),
                "ln 2's bounds must not straddle"
            );
            n_dis = Some(m);
            let nq = Q::from_integer(BigInt::from(m));
            let d = if exists { -(x * &e0) * &nq } else { nq };
            let idle = Q::from_integer(BigInt::from(n - m));
            let gap = q(pr.e_limit_kwh) - &d;
            let gap = if gap < Q::from_integer(BigInt::from(0)) {
                -gap
            } else {
                gap
            };
            // R = R_service + W_grid·D − (p_delay·n_idle + |p|·D) − δ·|E_limit − D|.
            let r =
                q(pr.w_grid) * &d - (q(pr.p_delay) * idle + q(p.abs()) * &d) - q(pr.delta) * gap;
            let (num, den) = (r.numer().to_string(), r.denom().to_string());
            // Both fit a double's range by far; their quotient is within an ulp or two.
            let (num, den): (f64, f64) = (num.parse().unwrap(), den.parse().unwrap());
            bounds.push(num / den);
        }
        (bounds[0], bounds[1], n_dis.unwrap())
    }

    /// Issue 30: 50 identical EVs put the exact solver's price on their common threshold,
    /// where one rounding decides for all 50 at once. With no auxiliary task, `R` is
    /// `−50·p_delay = −5` CNY above the threshold and about 0 just below it (the EVs
    /// discharge next to nothing and the idle fees stop), so the solver prices just below
    /// it. Whatever it chooses, its `R` must be what exact arithmetic gives at its price,
    /// for many thresholds (betas and `a`s), with and without a smallest trade.
    #[test]
    fn at_a_tie_of_fifty_identical_evs_r_is_the_exact_one() {
        let mut checked = 0;
        // (U_idle, smallest trade, E_limit): the sign of x_d decides; the smallest trade
        // decides; the utility at x_min = −1 is compared with U_idle, and the task is
        // what the 50 EVs deliver there, so that R peaks just below the threshold.
        let cases = [
            (0.0, 0.0, 0.0),
            (0.0, 3.75 / 1024.0, 0.0),
            (0.3, 0.0, 187.5),
        ];
        for (i, (u_idle, min_trade, e_limit)) in cases.into_iter().enumerate() {
            for (j, a, soc) in (0..300).flat_map(|j| {
                [-0.01, -0.0537, -0.2]
                    .into_iter()
                    .flat_map(move |a| [0.5, 0.25].map(|soc| (j, a, soc)))
            }) {
                let beta = if u_idle > 0.0 {
                    0.05 + 0.0005 * j as f64
                } else {
                    0.1 + 0.001 * j as f64
                };
                let pr = crate::game::testing::prices(1.12, e_limit);
                let s = crate::game::follower::EvState {
                    min_trade_kwh: min_trade,
                    ..crate::game::follower::EvState::new(soc * 60.0, 60.0, beta, a, u_idle)
                };
                let f = Follower::new(&s, pr.p_c, pr.e0_kwh);
                let g = SlotGame::new(pr, 0.001, vec![f; 50]).unwrap();
                let best = search(&g, &equal_workers(8)).unwrap().best;
                let t = threshold(&f);
                if (best.p_d - t.tau).abs() > 1e-9 {
                    // Not at the threshold (the EVs charge, or the peak lies elsewhere).
                    continue;
                }
                let ev = (soc, beta, a, u_idle, min_trade);
                let (lo, hi, n) = exact_r_of_identical_evs(50, ev, best.p_d, &pr);
                let got = best.revenue.total;
                assert!(
                    (got - lo).abs() <= 1e-9 && (got - hi).abs() <= 1e-9,
                    "{i} {j} {a} {soc}: p_d = {:e}: R = {got} reported ({} dischargers), {lo} exactly ({n})",
                    best.p_d,
                    best.revenue.n_discharge
                );
                assert_eq!(best.revenue.n_discharge, n, "{i} {j} {a} {soc}");
                // Settlement applies the followers' own responses at that price, and the
                // grid does no better on the same slot.
                assert_eq!(revenue_at(&g, best.p_d).total.to_bits(), got.to_bits());
                assert!(got >= g.scan().revenue.total - 1e-9, "{i} {j} {a} {soc}");
                checked += 1;
            }
        }
        assert!(checked > 4000, "{checked}");
    }

    /// The bound is tight enough to fail: here the exact maximum lies 0.035 CNY above the
    /// grid's best and the bound allows 0.087; an exact solver claiming 0.1 CNY more than
    /// it found would be caught.
    #[test]
    fn the_gap_bound_can_fail() {
        let evs: Vec<(f64, f64, f64, f64)> = (0..40)
            .map(|i| ((i as f64 * 0.61) % 1.0, 40.0 + i as f64, 0.3, -0.01))
            .collect();
        let g = game(1.12, 80.0, &evs, 0.001);
        let exact = search(&g, &equal_workers(3)).unwrap().best;
        let grid = g.scan();
        let gap = exact.revenue.total - grid.revenue.total;
        let bound = grid_gap_bound(&g, exact.p_d);
        assert!(gap > 0.01 && gap <= bound, "{gap} {bound}");
        assert!(gap + 0.1 > bound, "{gap} {bound}");
    }

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>()
                .prop_map(f64::from_bits)
                .prop_filter("not NaN", |x| !x.is_nan()),
            Just(0.0),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            -10.0..10.0f64,
        ]
    }

    proptest! {
        /// The sort keys order prices as `total_cmp` does, and give them back bit for bit.
        #[test]
        fn order_keys_sort_as_total_cmp_and_decode(x in any_f64(), y in any_f64()) {
            prop_assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
            prop_assert_eq!(order_key(x).cmp(&order_key(y)), x.total_cmp(&y));
            let (i, j) = (7usize, 3usize);
            for (kx, ky) in [(Kind::Enter, Kind::Clamp), (Kind::Clamp, Kind::Enter)] {
                let (a, b) = (event_key(x, kx, i), event_key(y, ky, j));
                // Descending price, then enters first, then the index.
                let want = y.total_cmp(&x).then(kx.cmp(&ky)).then(i.cmp(&j));
                prop_assert_eq!(a.cmp(&b), want);
                let (p, k, n) = decode_event(a);
                prop_assert_eq!((p.to_bits(), k, n), (x.to_bits(), kx, i));
            }
            let (t, n) = decode_tau(tau_key(x, i));
            prop_assert_eq!((t.to_bits(), n), (x.to_bits(), i));
            prop_assert_eq!(
                tau_key(x, i).cmp(&tau_key(y, j)),
                x.total_cmp(&y).then(i.cmp(&j))
            );
        }

        /// The distinct `a_i` are those of sorting them all and removing adjacent equal
        /// values, bit for bit, with few or many distinct values and many followers.
        #[test]
        fn distinct_a_is_sort_then_dedup(
            values in proptest::collection::vec(
                prop_oneof![Just(0.0), Just(-0.0), Just(-0.02), -1.0..0.0f64],
                1..40,
            ),
            n in 1usize..12_000,
            seed in any::<u64>(),
        ) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let g = game(0.66, 60.0, &[(0.5, 60.0, 0.16, -0.01)], 0.001);
            let f0 = g.followers[0];
            let fs: Vec<Follower> = (0..n)
                .map(|k| Follower {
                    // Past FEW_A distinct values too, now and then.
                    a: if seed % 5 == 0 {
                        -(k as f64) * 1e-6
                    } else {
                        values[rng.gen_range(0..values.len())]
                    },
                    ..f0
                })
                .collect();
            let mut want: Vec<f64> = fs.iter().map(|f| f.a).collect();
            want.sort_unstable_by(f64::total_cmp);
            want.dedup();
            let got = distinct_a(&fs);
            prop_assert_eq!(
                got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        /// The exact solver never does worse than the grid, its result does not depend on
        /// the workers, and its revenue is the followers' own.
        #[test]
        fn exact_is_at_least_grid_and_worker_independent(
            evs in proptest::collection::vec(
                (0.0f64..=1.0, 1.0f64..300.0, 0.01f64..1.0, prop_oneof![Just(-0.01), Just(-0.2), Just(0.0)]),
                0..60),
            p_rt in prop_oneof![Just(0.26), Just(0.66), Just(1.12)],
            e_limit in 0.0f64..200.0,
            caps in proptest::collection::vec((0.01f64..10.0, any::<bool>()), 1..16),
        ) {
            let g = game(p_rt, e_limit, &evs, 0.001);
            let grid = g.scan();
            let one = search(&g, &equal_workers(1)).unwrap().best;
            let tol = 1e-9 * grid.revenue.total.abs().max(1.0);
            prop_assert!(one.revenue.total >= grid.revenue.total - tol,
                "exact {:?} < grid {:?}", one, grid);
            let bound = grid_gap_bound(&g, one.p_d);
            prop_assert!(one.revenue.total - grid.revenue.total <= bound + tol,
                "exact {:?} more than {} above grid {:?}", one, bound, grid);
            prop_assert!(one.p_d >= g.prices.p_d_min && one.p_d <= g.prices.p_d_max);
            let direct = revenue_at(&g, one.p_d);
            prop_assert_eq!(direct.total.to_bits(), one.revenue.total.to_bits());
            let mut workers: Vec<Worker> = caps
                .iter()
                .map(|&(capacity, available)| Worker { capacity, available })
                .collect();
            workers[0].available = true;
            for ws in [equal_workers(2), equal_workers(7), workers] {
                let s = search(&g, &ws).unwrap().best;
                prop_assert_eq!(s.p_d.to_bits(), one.p_d.to_bits());
                prop_assert_eq!(s.revenue.total.to_bits(), one.revenue.total.to_bits());
            }
        }

        /// Many identical EVs share one threshold, where one rounding decides for all of
        /// them: the exact solver is still never worse than the grid on the same slot
        /// (down to a fine grid, which comes close to the thresholds), its revenue is the
        /// followers' own, and every EV near its threshold decides there as exact
        /// arithmetic does.
        #[test]
        fn exact_is_at_least_grid_with_identical_evs(
            kinds in proptest::collection::vec(
                (
                    0.0f64..=1.0,
                    1.0f64..300.0,
                    0.01f64..1.0,
                    prop_oneof![Just(-0.01), Just(-0.2)],
                    prop_oneof![Just(0.0), 0.0f64..0.3],
                    1usize..60,
                ),
                1..4),
            p_rt in prop_oneof![Just(0.26), Just(0.66), Just(1.12)],
            e_limit in prop_oneof![Just(0.0), 0.0f64..300.0],
            min_trade in prop_oneof![Just(0.0), 0.0f64..0.5],
            eps in prop_oneof![Just(0.001), Just(1e-5)],
        ) {
            let pr = crate::game::testing::prices(p_rt, e_limit);
            let mut fs = Vec::new();
            for &(soc, cap, beta, a, u_idle, n) in &kinds {
                let s = crate::game::follower::EvState {
                    min_trade_kwh: min_trade,
                    ..crate::game::follower::EvState::new(soc * cap, cap, beta, a, u_idle)
                };
                fs.extend(std::iter::repeat_n(Follower::new(&s, pr.p_c, pr.e0_kwh), n));
            }
            let g = SlotGame::new(pr, eps, fs).unwrap();
            let grid = g.scan();
            let best = search(&g, &equal_workers(4)).unwrap().best;
            let tol = 1e-9 * grid.revenue.total.abs().max(1.0);
            prop_assert!(best.revenue.total >= grid.revenue.total - tol,
                "exact {:?} < grid {:?}", best, grid);
            prop_assert_eq!(revenue_at(&g, best.p_d).total.to_bits(), best.revenue.total.to_bits());
            for f in &g.followers {
                if (threshold(f).tau - best.p_d).abs() < 1e-9 {
                    prop_assert_eq!(
                        f.discharge(best.p_d).is_some(),
                        tie::discharges(f, &g.prices, best.p_d)
                    );
                }
            }
        }

        /// With departure targets, charger power limits, a smallest trade, losses and
        /// positive `U_idle` on (docs/model.md §3): the thresholds still match the followers' own
        /// decisions, the exact solver never does worse than the grid, and its revenue is
        /// the followers' own.
        #[test]
        fn exact_is_at_least_grid_with_targets_power_and_smallest_trades(
            evs in proptest::collection::vec(
                (
                    0.0f64..=1.0,
                    1.0f64..300.0,
                    0.01f64..1.0,
                    prop_oneof![Just(-0.01), Just(-0.2), Just(0.0)],
                    prop_oneof![Just(0.0), 0.0f64..=1.0],
                    0usize..8,
                    prop_oneof![Just(f64::INFINITY), 0.5f64..10.0],
                    prop_oneof![Just(f64::INFINITY), Just(0.0), 0.5f64..10.0],
                    prop_oneof![Just(0.0), 0.0f64..0.1],
                ),
                0..60),
            p_rt in prop_oneof![Just(0.26), Just(0.66), Just(1.12)],
            e_limit in 0.0f64..200.0,
            min_trade in prop_oneof![Just(0.0), Just(1e-3), 0.0f64..1.0],
            eta_c in prop_oneof![Just(1.0), 0.51f64..=1.0],
            eta_d in prop_oneof![Just(1.0), 0.51f64..=1.0],
        ) {
            let pr = SlotPrices { eta_c, eta_d, ..crate::game::testing::prices(p_rt, e_limit) };
            let fs: Vec<Follower> = evs
                .iter()
                .map(|&(soc, cap, beta, a, target, after, up, down, u_idle)| {
                    let s = crate::game::follower::EvState {
                        max_charge_kwh: up,
                        max_discharge_kwh: down,
                        target_kwh: target * cap,
                        slots_after: after,
                        min_trade_kwh: min_trade,
                        eta_c,
                        eta_d,
                        ..crate::game::follower::EvState::new(soc * cap, cap, beta, a, u_idle)
                    };
                    Follower::new(&s, pr.p_c, pr.e0_kwh)
                })
                .collect();
            for f in &fs {
                let t = threshold(f);
                if t.tau == f64::NEG_INFINITY {
                    prop_assert!(f.discharge(-1e6).is_none(), "{:?}", f);
                    continue;
                }
                let gap = 1e-6 * (1.0 + t.tau.abs());
                prop_assert!(f.discharge(t.tau + gap).is_none(), "{:?} {:?}", f, t);
                prop_assert!(f.discharge(t.tau - gap).is_some(), "{:?} {:?}", f, t);
            }
            let g = SlotGame::new(pr, 0.001, fs).unwrap();
            let grid = g.scan();
            let one = search(&g, &equal_workers(3)).unwrap().best;
            let tol = 1e-9 * grid.revenue.total.abs().max(1.0);
            prop_assert!(one.revenue.total >= grid.revenue.total - tol,
                "exact {:?} < grid {:?}", one, grid);
            let direct = revenue_at(&g, one.p_d);
            prop_assert_eq!(direct.total.to_bits(), one.revenue.total.to_bits());
            let s = search(&g, &equal_workers(1)).unwrap().best;
            prop_assert_eq!(s.p_d.to_bits(), one.p_d.to_bits());
        }
    }
}
