//! The EVA's discharging-price search (the paper's Eq. 12, step 4), on the epsilon grid,
//! its candidates split into contiguous sub-ranges over the SCP workers.
//!
//! Candidates are `p_d,max − k·epsilon` for `k = 0, 1, …, K`,
//! `K = floor((p_d,max − p_d,min)/epsilon + 1e-9)`, plus `p_d,min` itself when it is not on
//! that grid. `p_d*` is the candidate of highest `R`; on exactly equal `R` the smaller `k`
//! wins (docs/model.md §4).
//!
//! # How one candidate is evaluated fast
//!
//! Only the discharge regime depends on `p_d`, and an EV's best discharge utility grows as
//! `p_d` falls (it is a maximum of functions increasing in `a − p_d`), so each EV discharges
//! exactly from some candidate index `k_i` on. [`SlotGame`]'s index (built on first use) finds every `k_i` by
//! bisection over the candidate indices with the follower's own decision
//! ([`Follower::discharge`]), then sorts the EVs by `k_i`. For candidate `k` the
//! dischargers are then a prefix of that order; everything the other EVs contribute (their
//! charging revenue, their idle count) is a suffix sum computed once. The inner loop is a
//! division, a subtraction and a clamp per discharging EV, with no allocation and no
//! logarithm.
//!
//! Every candidate's `R` is a function of `k` alone, computed the same way whichever
//! worker evaluates it, and workers are combined with the same order (highest `R`, then
//! smallest `k`), so the chosen price and revenue are bit-identical for any number of
//! workers and any capacities.
//!
//! # Which candidates are evaluated
//!
//! A worker need not evaluate every candidate of its sub-range to know which one wins
//! ([`SlotGame::best_in`], branch and bound). Between two evaluated candidates `k1 < k2`
//! the dischargers only grow (a prefix of the sorted order, from `m1` to `m2`) and each
//! discharges more as the price falls, so the computed `D` lies between its values at
//! `k1` and `k2`, widened by its worst rounding error (`m2` terms and sums of a few
//! units in the last place each, a term's amplified where `a − η_d·p` cancels). The other EVs' part `R_service − p_delay·n_idle` only
//! loses service fees and idle fees as EVs start to discharge, so it is at most the
//! service at `k1` minus the idle fees at `k2`. With `W_grid − |p|` at its largest
//! (`k1`'s price) this bounds `R = K + (W_grid − |p|)·D − δ·|E_limit − D|` at every
//! candidate in between; a relative 1e-12 of the terms' size covers the rounding of
//! Eqs. 3–7. Blocks are split at their middle candidate, highest bound first; a block
//! whose bound is strictly below the best `R` found cannot hold the winner nor a tie
//! with it and is dropped; blocks of at most 16 candidates are evaluated in full. The
//! winner is therefore the candidate that evaluating every candidate would pick
//! (highest `R`, then smallest `k`), bit for bit ([`SlotGame::best_in_every`] is the
//! reference, and a property test compares them). A block with no discharger at either
//! end has `D = 0` throughout, so all its candidates have the bits of its first one, and
//! it is skipped. What is evaluated is the few
//! candidates near the peaks: on the case study at `epsilon = 1e-6` (3.36 million
//! candidates in a peak slot) the run takes under 0.1 s where evaluating every candidate took
//! 169 s.

use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::game::follower::{discharge_x_unchecked, Follower, Regime, Response};
use crate::game::leader::{Revenue, SlotPrices};
use crate::game::solve::Worker;

/// The epsilon grid of candidate discharging prices of one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceGrid {
    /// `p_d,max`.
    pub p_max: f64,
    /// `p_d,min`.
    pub p_min: f64,
    /// `epsilon`.
    pub epsilon: f64,
    /// `K`.
    pub k_max: usize,
    /// Whether `p_d,min` is an extra candidate (index `K + 1`) off the grid.
    pub extra_min: bool,
}

impl PriceGrid {
    /// The grid for `[p_min, p_max]` at precision `epsilon`. Refuses a non-finite bound,
    /// `p_min > p_max`, an epsilon that is not finite and > 0, and a grid of more than
    /// [`MAX_GRID_LEN`] candidates (whose indices would not fit the search's arithmetic).
    pub fn new(p_min: f64, p_max: f64, epsilon: f64) -> Result<Self> {
        if !(p_min.is_finite() && p_max.is_finite()) || p_min > p_max {
            return Err(Error::param(
                "p_d range",
                format!(
                    "[{p_min}, {p_max}] is not a finite interval with p_d,min <= p_d,max (Eq. 11)"
                ),
            ));
        }
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(Error::param(
                "epsilon",
                format!("{epsilon}: must be finite and > 0"),
            ));
        }
        let n = (p_max - p_min) / epsilon;
        if !n.is_finite() || n >= MAX_GRID_LEN as f64 {
            return Err(Error::param(
                "epsilon",
                format!("{n:.3e} candidates in [{p_min}, {p_max}]: at most {MAX_GRID_LEN:e}"),
            ));
        }
        let k_max = ((p_max - p_min) / epsilon + 1e-9).floor().max(0.0) as usize;
        let last = p_max - k_max as f64 * epsilon;
        let extra_min = last - p_min > 1e-9 * epsilon;
        Ok(PriceGrid {
            p_max,
            p_min,
            epsilon,
            k_max,
            extra_min,
        })
    }

    /// Number of candidates.
    pub fn len(&self) -> usize {
        self.k_max + 1 + usize::from(self.extra_min)
    }

    /// Always false: a grid has at least `p_d,max`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Candidate `k`'s price: `p_d,max − k·epsilon`, rounded to 1e-12 CNY/kWh so that
    /// outputs read `-0.237` rather than `-0.23700000000000002`.
    #[inline]
    pub fn price(&self, k: usize) -> f64 {
        if k <= self.k_max {
            ((self.p_max - k as f64 * self.epsilon) * 1e12).round() / 1e12
        } else {
            self.p_min
        }
    }

    /// The index of the candidate whose price is `p` (the closest one).
    pub fn index_of(&self, p: f64) -> usize {
        if self.extra_min && p <= self.p_min {
            return self.k_max + 1;
        }
        (((self.p_max - p) / self.epsilon).round().max(0.0) as usize).min(self.k_max)
    }
}

/// The most candidates a [`PriceGrid`] may index (the exact solver uses the grid only to
/// split the price range among workers, so it may have far more than the grid search can
/// scan).
pub const MAX_GRID_LEN: usize = 1 << 50;

/// Splits `n` candidates into contiguous sub-ranges in proportion to the capacities of the
/// available workers; an unavailable worker gets `None`. The ranges cover `0..n` in worker
/// order.
pub fn split_ranges(n: usize, workers: &[Worker]) -> Vec<Option<Range<usize>>> {
    let total: f64 = workers
        .iter()
        .filter(|w| w.available)
        .map(|w| w.capacity)
        .sum();
    let last_available = workers.iter().rposition(|w| w.available);
    let mut cum = 0.0;
    let mut lo = 0;
    workers
        .iter()
        .enumerate()
        .map(|(j, w)| {
            if !w.available {
                return None;
            }
            cum += w.capacity;
            let hi = if Some(j) == last_available {
                n
            } else {
                (((n as f64) * (cum / total)).floor() as usize).clamp(lo, n)
            };
            let r = lo..hi;
            lo = hi;
            Some(r)
        })
        .collect()
}

/// Step 4's decomposition, shared by both solvers: the `n` candidates split over the
/// workers ([`split_ranges`]), each available worker's best found by `best_in(worker,
/// sub-range)` (in parallel with rayon), and the best proposal winning
/// ([`Best::better`]). Refuses a worker set with no available worker.
pub fn decompose(
    n: usize,
    workers: &[Worker],
    best_in: impl Fn(usize, Range<usize>) -> Option<Best> + Sync,
) -> Result<SearchResult> {
    let proposals: Vec<Proposal> = split_ranges(n, workers)
        .into_par_iter()
        .enumerate()
        .filter_map(|(worker, r)| {
            let range = r?;
            Some(Proposal {
                worker,
                best: best_in(worker, range.clone()),
                range,
            })
        })
        .collect();
    let best = proposals
        .iter()
        .filter_map(|p| p.best)
        .reduce(Best::better)
        .ok_or_else(|| Error::param("workers", "at least one worker must be available"))?;
    Ok(SearchResult { best, proposals })
}

/// The candidates of `range` inside `allowed`.
pub fn within(range: &Range<usize>, allowed: &Range<usize>) -> Range<usize> {
    let start = range.start.max(allowed.start);
    start..range.end.min(allowed.end).max(start)
}

/// The best candidate of a range: its index, price and revenue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best {
    /// Candidate index `k`.
    pub k: usize,
    /// Its price `p_d`.
    pub p_d: f64,
    /// Its revenue.
    pub revenue: Revenue,
}

impl Best {
    /// The better of two: higher `R`, then the higher price, then smaller `k` (docs/model.md
    /// section 4's tie rule: on the grid a higher price is a smaller `k`; the exact solver
    /// proposes prices between grid candidates).
    pub fn better(self, other: Best) -> Best {
        let (r, o) = (self.revenue.total, other.revenue.total);
        if o > r
            || (o == r && (other.p_d > self.p_d || (other.p_d == self.p_d && other.k < self.k)))
        {
            other
        } else {
            self
        }
    }
}

/// One SCP worker's report: its sub-range and the best candidate in it (step 4).
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// Index of the worker in the scenario's worker list.
    pub worker: usize,
    /// Its sub-range of candidate indices.
    pub range: Range<usize>,
    /// Its best candidate; `None` for an empty range.
    pub best: Option<Best>,
}

/// The outcome of a slot's search: the winner and every worker's proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// `p_d*` and its revenue.
    pub best: Best,
    /// One proposal per available worker, in worker order.
    pub proposals: Vec<Proposal>,
}

/// One slot's leader problem with every plugged EV's follower problem precomputed.
#[derive(Debug, Clone)]
pub struct SlotGame {
    /// The slot's prices and constants.
    pub prices: SlotPrices,
    /// The candidate grid.
    pub grid: PriceGrid,
    /// The followers, in the caller's order.
    pub followers: Vec<Follower>,
    /// The grid search's index, built on first use (the exact solver never needs it).
    index: OnceLock<GridIndex>,
}

/// What the grid search precomputes: each follower's first discharging candidate, and the
/// followers sorted by it.
#[derive(Debug, Clone)]
struct GridIndex {
    /// `k_i` for each follower (`grid.len()` when it never discharges).
    threshold: Vec<usize>,
    // Sorted by threshold (ties by follower index): structure of arrays for the inner loop.
    sorted_thr: Vec<usize>,
    sorted_w: Vec<f64>,
    sorted_a: Vec<f64>,
    sorted_xmin: Vec<f64>,
    // suffix_*[m]: totals over sorted positions m.. of the non-discharge contributions.
    suffix_service: Vec<f64>,
    suffix_charge: Vec<f64>,
    suffix_n_charge: Vec<usize>,
    suffix_n_idle: Vec<usize>,
    /// Bounds `(|a_i| + η_d·|p|)/(a_i − η_d·p)` over every discharger and price: how much a
    /// rounding of the price moves `w/((a − η_d·p) ln 2)` (see [`SlotGame::bound`]).
    cancellation: f64,
}

/// Parallelise per-EV precomputation above this many EVs.
pub(crate) const PAR_MIN_EVS: usize = 4096;

impl GridIndex {
    fn build(prices: &SlotPrices, grid: &PriceGrid, followers: &[Follower]) -> Self {
        let n_cand = grid.len();
        let thr_of = |f: &Follower| first_discharge(f, grid, n_cand);
        let threshold: Vec<usize> = if followers.len() >= PAR_MIN_EVS {
            followers.par_iter().map(thr_of).collect()
        } else {
            followers.iter().map(thr_of).collect()
        };
        let mut order: Vec<u32> = (0..followers.len() as u32).collect();
        order.sort_unstable_by_key(|&i| (threshold[i as usize], i));
        let n = order.len();
        let pick = |g: &dyn Fn(&Follower) -> f64| -> Vec<f64> {
            order.iter().map(|&i| g(&followers[i as usize])).collect()
        };
        let sorted_w = pick(&|f| f.w);
        let sorted_a = pick(&|f| f.a);
        let sorted_xmin = pick(&|f| f.x_min);
        let sorted_thr: Vec<usize> = order.iter().map(|&i| threshold[i as usize]).collect();
        let mut suffix_service = vec![0.0; n + 1];
        let mut suffix_charge = vec![0.0; n + 1];
        let mut suffix_n_charge = vec![0; n + 1];
        let mut suffix_n_idle = vec![0; n + 1];
        for m in (0..n).rev() {
            let f = &followers[order[m] as usize];
            let (s, c, nc, ni) = match f.fallback.regime {
                Regime::Charge => (
                    prices.w_service * prices.e0_kwh * f.fallback.x,
                    prices.e0_kwh * f.fallback.x,
                    1,
                    0,
                ),
                _ => (0.0, 0.0, 0, 1),
            };
            suffix_service[m] = suffix_service[m + 1] + s;
            suffix_charge[m] = suffix_charge[m + 1] + c;
            suffix_n_charge[m] = suffix_n_charge[m + 1] + nc;
            suffix_n_idle[m] = suffix_n_idle[m + 1] + ni;
        }
        // A discharger has w/((a − η_d·p) ln 2) <= 2, so a − η_d·p >= w/(2 ln 2).
        let p_abs = prices.eta_d * grid.p_min.abs().max(grid.p_max.abs());
        let cancellation = followers
            .iter()
            .zip(&threshold)
            .filter(|&(_, &t)| t < n_cand)
            .map(|(f, _)| (f.a.abs() + p_abs) * 2.0 * std::f64::consts::LN_2 / f.w)
            .fold(0.0, f64::max);
        GridIndex {
            cancellation,
            threshold,
            sorted_thr,
            sorted_w,
            sorted_a,
            sorted_xmin,
            suffix_service,
            suffix_charge,
            suffix_n_charge,
            suffix_n_idle,
        }
    }
}

impl SlotGame {
    /// Builds the slot's game from the followers of the plugged EVs (any number, none
    /// included); refuses a price range or epsilon that [`PriceGrid::new`] refuses.
    pub fn new(prices: SlotPrices, epsilon: f64, followers: Vec<Follower>) -> Result<Self> {
        Ok(SlotGame {
            grid: PriceGrid::new(prices.p_d_min, prices.p_d_max, epsilon)?,
            prices,
            followers,
            index: OnceLock::new(),
        })
    }

    /// The followers back, for the next slot to reuse their buffer.
    pub fn into_followers(self) -> Vec<Follower> {
        self.followers
    }

    /// The grid search's index: each follower's first discharging candidate found by
    /// bisection over the candidate indices with its own decision, the followers sorted
    /// by it and suffix sums of the others' contributions. Built on first use.
    fn index(&self) -> &GridIndex {
        self.index
            .get_or_init(|| GridIndex::build(&self.prices, &self.grid, &self.followers))
    }

    /// `k_i` for each follower: the first candidate at which it discharges (`grid.len()`
    /// when it never does).
    pub fn thresholds(&self) -> &[usize] {
        &self.index().threshold
    }

    /// Number of dischargers at candidate `k`.
    #[inline]
    fn dischargers(&self, k: usize) -> usize {
        let ix = self.index();
        ix.sorted_thr.partition_point(|&t| t <= k)
    }

    /// `R` at candidate `k` given the number `m` of dischargers there.
    #[inline]
    fn revenue_with(&self, k: usize, m: usize) -> Revenue {
        let ix = self.index();
        let p = self.grid.price(k);
        let e0 = self.prices.e0_kwh;
        // Losses (docs/model.md §3.2): the battery-side discharge at price η_d·p, delivered
        // as η_d times it, the same expressions as Follower::discharge_x.
        let eta = self.prices.eta_d;
        let pb = eta * p;
        let mut d = 0.0;
        for j in 0..m {
            let x =
                eta * discharge_x_unchecked(ix.sorted_w[j], ix.sorted_a[j], ix.sorted_xmin[j], pb);
            d += e0 * -x;
        }
        self.prices.assemble(
            p,
            Revenue {
                r_service: ix.suffix_service[m],
                n_charge: ix.suffix_n_charge[m],
                n_discharge: m,
                n_idle: ix.suffix_n_idle[m],
                charge_kwh: ix.suffix_charge[m],
                discharge_kwh: d,
                ..Revenue::default()
            },
        )
    }

    /// `R(p_d)` at candidate `k` (Eqs. 3–7).
    pub fn revenue(&self, k: usize) -> Revenue {
        self.revenue_with(k, self.dischargers(k))
    }

    /// The best candidate in a range of indices (`None` when it is empty): what one SCP
    /// worker computes. Highest `R`, then smallest `k`: the same candidate as evaluating
    /// every one ([`Self::best_in_every`]), found by branch and bound (module docs,
    /// "Which candidates are evaluated").
    pub fn best_in(&self, range: Range<usize>) -> Option<Best> {
        if range.len() <= 2 * LEAF {
            return self.best_in_every(range);
        }
        let at = |k: usize| {
            let m = self.dischargers(k);
            let revenue = self.revenue_with(k, m);
            (
                End {
                    k,
                    m,
                    d: revenue.discharge_kwh,
                },
                Best {
                    k,
                    p_d: self.grid.price(k),
                    revenue,
                },
            )
        };
        let (first, b0) = at(range.start);
        let (last, b1) = at(range.end - 1);
        let mut best = better_k(b0, b1);
        let mut heap = std::collections::BinaryHeap::new();
        heap.push(Block {
            ub: self.bound(&first, &last),
            lo: first,
            hi: last,
        });
        while let Some(block) = heap.pop() {
            // Blocks come highest bound first: once one cannot reach the best, none can.
            // Strictly below: a block whose bound equals the best may hold a tie at a
            // smaller k.
            if block.ub < best.revenue.total {
                break;
            }
            let (lo, hi) = (block.lo, block.hi);
            if hi.m == 0 {
                // No discharger anywhere in between: D = 0, so every candidate's R has
                // the bits of `lo`'s (the price enters only through |p|·D), and `lo` has
                // the smaller k. A slot where nobody discharges costs nothing per
                // candidate.
                continue;
            }
            if hi.k - lo.k <= LEAF {
                if let Some(b) = self.best_in_every(lo.k + 1..hi.k) {
                    best = better_k(best, b);
                }
                continue;
            }
            let (mid, b) = at(lo.k + (hi.k - lo.k) / 2);
            best = better_k(best, b);
            for (l, h) in [(lo, mid), (mid, hi)] {
                if h.k > l.k + 1 {
                    heap.push(Block {
                        ub: self.bound(&l, &h),
                        lo: l,
                        hi: h,
                    });
                }
            }
        }
        Some(best)
    }

    /// An upper bound of the computed `R` at every candidate strictly between two
    /// evaluated ones (module docs): between them the dischargers only grow and each
    /// discharges more as the price falls, so `D` lies between its values at the ends
    /// (padded by its rounding error); the other EVs' part `R_service − p_delay·n_idle`
    /// is at most `R_service` at the left end minus the idle fees at the right end.
    fn bound(&self, lo: &End, hi: &End) -> f64 {
        let ix = self.index();
        let pr = &self.prices;
        let u = f64::EPSILON;
        // Each discharger's term E0·η_d·|x| is off by at most E0·η_d·u·(16 + 4·c) (the
        // quotient's few roundings, and the price's rounding through a − η_d·p, amplified
        // by the cancellation c), and summing m terms adds u·D per term; the computed D
        // at any candidate in between and at either end may each be off by that much.
        let per_ev = pr.e0_kwh * pr.eta_d * u * (16.0 + 4.0 * ix.cancellation);
        let pad = 2.0 * (hi.m as f64 + 1.0) * (per_ev + u * hi.d);
        let d_min = (lo.d - pad).max(0.0);
        let d_max = hi.d + pad;
        let (p1, p2) = (self.grid.price(lo.k), self.grid.price(hi.k));
        let abs_min = if p2 <= 0.0 && p1 >= 0.0 {
            0.0
        } else {
            p1.abs().min(p2.abs())
        };
        let abs_max = p1.abs().max(p2.abs());
        let service = ix.suffix_service[lo.m];
        let k = service - pr.p_delay * ix.suffix_n_idle[hi.m] as f64;
        let c = pr.w_grid - abs_min;
        let term = if c >= 0.0 { c * d_max } else { c * d_min };
        let gap = (pr.e_limit_kwh - d_max)
            .max(d_min - pr.e_limit_kwh)
            .max(0.0);
        let ub = k + term - pr.delta * gap;
        let size = service.abs()
            + pr.p_delay * ix.suffix_n_idle[lo.m] as f64
            + (pr.w_grid.abs() + abs_max) * d_max
            + pr.delta * (pr.e_limit_kwh + d_max);
        ub + 1e-12 * (1.0 + size)
    }

    /// The best candidate in a range, every candidate evaluated in index order (the
    /// reference for [`Self::best_in`], and its leaves).
    pub fn best_in_every(&self, range: Range<usize>) -> Option<Best> {
        let ix = self.index();
        let mut m = self.dischargers(range.start);
        let mut best: Option<Best> = None;
        for k in range {
            while m < ix.sorted_thr.len() && ix.sorted_thr[m] <= k {
                m += 1;
            }
            let revenue = self.revenue_with(k, m);
            // Strictly greater: within a range, ties keep the smaller k.
            if best.is_none_or(|b| revenue.total > b.revenue.total) {
                best = Some(Best {
                    k,
                    p_d: self.grid.price(k),
                    revenue,
                });
            }
        }
        best
    }

    /// The single-threaded scan over every candidate: the reference for [`Self::search`].
    pub fn scan(&self) -> Best {
        self.best_in(0..self.grid.len())
            .expect("a grid has at least one candidate")
    }

    /// The paper's distributed search: each available worker scans its sub-range (run in
    /// parallel with rayon), the best proposal wins. Refuses a worker set with no
    /// available worker.
    pub fn search(&self, workers: &[Worker]) -> Result<SearchResult> {
        decompose(self.grid.len(), workers, |_, range| self.best_in(range))
    }

    /// [`SlotGame::search`] over the candidates in `allowed` only: each worker's best in
    /// the part of its sub-range inside `allowed`, none when that part is empty.
    pub fn search_within(&self, workers: &[Worker], allowed: Range<usize>) -> Result<SearchResult> {
        decompose(self.grid.len(), workers, |_, range| {
            let part = within(&range, &allowed);
            if part.is_empty() {
                None
            } else {
                self.best_in(part)
            }
        })
    }

    /// Each follower's response at candidate `k`, consistent with the search's own
    /// evaluation (the regime from the thresholds, `x_d` from the shared expression).
    pub fn responses(&self, k: usize) -> Vec<Response> {
        let ix = self.index();
        let p = self.grid.price(k);
        self.followers
            .iter()
            .zip(&ix.threshold)
            .map(|(f, &t)| {
                if t <= k {
                    Response {
                        regime: Regime::Discharge,
                        x: f.eta_d * discharge_x_unchecked(f.w, f.a, f.x_min, f.eta_d * p),
                    }
                } else {
                    f.fallback
                }
            })
            .collect()
    }
}

/// Blocks of at most this many candidates are evaluated candidate by candidate.
const LEAF: usize = 16;

/// An evaluated candidate, as the bound needs it: its index, its number of dischargers
/// and its `D`.
#[derive(Debug, Clone, Copy)]
struct End {
    k: usize,
    m: usize,
    d: f64,
}

/// The candidates strictly between two evaluated ones, with an upper bound of their `R`.
#[derive(Debug, Clone, Copy)]
struct Block {
    ub: f64,
    lo: End,
    hi: End,
}

impl PartialEq for Block {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Block {}

impl PartialOrd for Block {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Block {
    /// Highest bound first, then the lower index (a max-heap pops the greatest).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ub
            .total_cmp(&other.ub)
            .then(other.lo.k.cmp(&self.lo.k))
    }
}

/// The better of two candidates by the grid's order: higher `R`, then smaller `k`.
fn better_k(a: Best, b: Best) -> Best {
    if b.revenue.total > a.revenue.total || (b.revenue.total == a.revenue.total && b.k < a.k) {
        b
    } else {
        a
    }
}

/// The first candidate index at which `f` discharges, by bisection (discharging is
/// monotone in the index); `n_cand` when it never does.
fn first_discharge(f: &Follower, grid: &PriceGrid, n_cand: usize) -> usize {
    if f.x_min >= 0.0 || f.discharge(grid.price(n_cand - 1)).is_none() {
        return n_cand;
    }
    let (mut lo, mut hi) = (0, n_cand - 1); // answer in [lo, hi]; hi discharges
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if f.discharge(grid.price(mid)).is_some() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A slot's game from EVs given as `(SOC, capacity kWh, beta)` with the default `a`.
    fn game(p_rt: f64, e_limit: f64, evs: &[(f64, f64, f64)], eps: f64) -> SlotGame {
        let evs: Vec<_> = evs.iter().map(|&(s, c, b)| (s, c, b, -0.01)).collect();
        crate::game::testing::game(p_rt, e_limit, &evs, eps)
    }

    #[test]
    fn grid_candidates() {
        let g = PriceGrid::new(-3.36, 0.0, 0.001).unwrap();
        assert_eq!(g.k_max, 3360);
        assert!(!g.extra_min);
        assert_eq!(g.len(), 3361);
        let g = PriceGrid::new(-0.78, 0.0, 0.007).unwrap();
        assert_eq!(g.k_max, 111);
        assert!(g.extra_min);
        assert_eq!(g.price(112), -0.78);
        assert_eq!(g.index_of(-0.78), 112);
        assert_eq!(g.index_of(g.price(40)), 40);
        let g = PriceGrid::new(0.0, 0.0, 0.001).unwrap();
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn ranges_are_proportional_contiguous_and_skip_unavailable() {
        let w = |c: f64, a: bool| Worker {
            capacity: c,
            available: a,
        };
        let r = split_ranges(
            100,
            &[w(1.0, true), w(3.0, true), w(5.0, false), w(1.0, true)],
        );
        assert_eq!(r, vec![Some(0..20), Some(20..80), None, Some(80..100)]);
        let r = split_ranges(3, &[w(1.0, true); 7]);
        let total: usize = r.iter().flatten().map(|r| r.len()).sum();
        assert_eq!(total, 3);
    }

    #[test]
    fn fast_revenue_matches_direct_follower_evaluation() {
        let evs: Vec<(f64, f64, f64)> = (0..60)
            .map(|i| {
                (
                    (i as f64 * 0.37) % 1.0,
                    20.0 + i as f64 * 3.0,
                    0.05 + (i % 7) as f64 * 0.05,
                )
            })
            .collect();
        let g = game(1.12, 40.0, &evs, 0.001);
        for k in (0..g.grid.len()).step_by(37) {
            let p = g.grid.price(k);
            let direct: Vec<Response> = g.followers.iter().map(|f| f.respond(p)).collect();
            assert_eq!(direct, g.responses(k), "k = {k}");
            let want = g.prices.revenue(p, &direct);
            let got = g.revenue(k);
            approx::assert_relative_eq!(
                got.total,
                want.total,
                max_relative = 1e-12,
                epsilon = 1e-12
            );
            assert_eq!(got.n_discharge, want.n_discharge);
            assert_eq!(got.n_idle, want.n_idle);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Branch and bound picks the candidate that evaluating every candidate picks, bit
        /// for bit, on any sub-range, down to small epsilons, with every option of the
        /// follower on (several `a`, positive `U_idle`, a smallest trade, losses).
        #[test]
        fn branch_and_bound_equals_every_candidate(
            evs in proptest::collection::vec(
                (
                    0.0f64..=1.0,
                    1.0f64..300.0,
                    0.01f64..1.0,
                    prop_oneof![Just(-0.01), Just(-0.2), Just(0.0), Just(-90.0)],
                    prop_oneof![Just(0.0), 0.0f64..0.1],
                ),
                0..40),
            // 40 CNY/kWh with a = −90: prices reach −120, where a − η_d·p cancels.
            p_rt in prop_oneof![Just(0.26), Just(0.66), Just(1.12), Just(40.0)],
            e_limit in prop_oneof![Just(0.0), 0.0f64..200.0],
            eps in prop_oneof![Just(0.01), Just(0.001), Just(1e-4), Just(2e-5)],
            min_trade in prop_oneof![Just(0.0), 0.0f64..0.5],
            eta_d in prop_oneof![Just(1.0), 0.51f64..=1.0],
            cut in (0.0f64..1.0, 0.0f64..1.0),
        ) {
            let pr = SlotPrices { eta_d, ..crate::game::testing::prices(p_rt, e_limit) };
            let fs: Vec<Follower> = evs
                .iter()
                .map(|&(soc, cap, beta, a, u_idle)| {
                    let s = crate::game::follower::EvState {
                        min_trade_kwh: min_trade,
                        eta_d,
                        ..crate::game::follower::EvState::new(soc * cap, cap, beta, a, u_idle)
                    };
                    Follower::new(&s, pr.p_c, pr.e0_kwh)
                })
                .collect();
            let g = SlotGame::new(pr, eps, fs).unwrap();
            let n = g.grid.len();
            prop_assume!(n <= 400_000, "the reference evaluates every candidate");
            let (x, y) = ((cut.0 * n as f64) as usize, (cut.1 * n as f64) as usize);
            for r in [0..n, x.min(y)..x.max(y) + 1] {
                let r = r.start..r.end.min(n);
                let fast = g.best_in(r.clone());
                let every = g.best_in_every(r.clone());
                prop_assert_eq!(fast.map(|b| b.k), every.map(|b| b.k), "{:?}", r);
                prop_assert_eq!(
                    fast.map(|b| b.revenue.total.to_bits()),
                    every.map(|b| b.revenue.total.to_bits())
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The split search equals the single-threaded scan, bit for bit, for any number of
        /// workers and any capacities.
        #[test]
        fn split_equals_scan(
            evs in proptest::collection::vec((0.0f64..=1.0, 1.0f64..300.0, 0.01f64..1.0), 0..80),
            p_rt in prop_oneof![Just(0.26), Just(0.66), Just(1.12)],
            e_limit in 0.0f64..200.0,
            caps in proptest::collection::vec((0.01f64..10.0, any::<bool>()), 1..64),
            eps in prop_oneof![Just(0.001), Just(0.01), Just(0.0137)],
        ) {
            let g = game(p_rt, e_limit, &evs, eps);
            let scan = g.scan();
            let mut workers: Vec<Worker> = caps
                .iter()
                .map(|&(capacity, available)| Worker { capacity, available })
                .collect();
            workers[0].available = true;
            for ws in [vec![Worker { capacity: 1.0, available: true }],
                       crate::game::solve::equal_workers(2),
                       crate::game::solve::equal_workers(7),
                       crate::game::solve::equal_workers(64),
                       workers] {
                let s = g.search(&ws).unwrap();
                prop_assert_eq!(s.best.k, scan.k);
                prop_assert_eq!(s.best.revenue.total.to_bits(), scan.revenue.total.to_bits());
                prop_assert_eq!(s.best.p_d.to_bits(), scan.p_d.to_bits());
            }
            // And the scan is the true maximum over the candidates of the direct evaluation.
            for k in 0..g.grid.len() {
                let p = g.grid.price(k);
                let direct: Vec<Response> = g.followers.iter().map(|f| f.respond(p)).collect();
                let r = g.prices.revenue(p, &direct).total;
                prop_assert!(r <= scan.revenue.total + 1e-9 * (1.0 + r.abs()));
            }
        }
    }
}
