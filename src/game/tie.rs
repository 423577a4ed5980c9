//! A follower's discharge decision in exact arithmetic (docs/model.md §4.3, "Ties").
//!
//! [`Follower::discharge`] decides in doubles. Away from the EV's threshold that is the
//! model's answer; within a few units in the last place of it the rounding of
//! `w/((a − η_d·p) ln 2) − 2`, of the smallest-trade comparison or of the two utilities
//! can decide the other way. The exact solver prices right at thresholds, so it checks
//! its proposed price with [`discharges`], which decides what exact arithmetic decides.
//!
//! **What is exact.** The inputs are the follower's own numbers (`w`, `a`, `x_min`,
//! `η_d`, `min_x`, `U_idle`, its fallback's regime and `x`) and the slot's `p_c` and
//! `η_c`, each taken as the rational number its double is (every finite double is a
//! dyadic rational), and the price `p_d` likewise. On those, the decision of
//! docs/model.md §3 is evaluated in real arithmetic, with the real `ln 2` and `log2`:
//! rational operations are exact (`num_rational::BigRational`); `ln 2` and the logarithms are
//! enclosed between rational bounds (the series of `atanh`, truncated with its tail
//! bounded), at 64 bits, then 256, then 1,024 if the comparison is still undecided. A
//! comparison still undecided at 1,024 bits is an exact tie for all practical purposes,
//! and is decided as docs/model.md §3 decides ties: not discharging (discharge only when
//! strictly better; the regime exists only when `x_d < 0`), except that a trade of
//! exactly the smallest size trades (`E0·|x| >= min_trade_kwh`).
//!
//! **Cost.** A float filter answers first when every margin the decision depends on is
//! far (1e-9 relative) from zero, where doubles cannot err; the rational path runs only
//! for the EVs really at a tie, a few hundred microseconds each.

use num_bigint::BigInt;
use num_rational::BigRational as Q;

use crate::game::follower::{Follower, Regime};
use crate::game::leader::SlotPrices;

/// Relative margin beyond which the doubles' decision is the exact one (their errors are
/// around 1e-15 relative).
const FILTER: f64 = 1e-9;

/// Working precisions, in bits, of the enclosures of `ln 2` and the logarithms.
const PRECISIONS: [u64; 3] = [64, 256, 1024];

/// Whether follower `f` discharges at `p_d` in exact arithmetic (module docs). `prices`
/// gives the slot's `p_c` and `η_c`, from which a charging fallback's utility is
/// recomputed exactly.
pub fn discharges(f: &Follower, prices: &SlotPrices, p_d: f64) -> bool {
    if f.x_min >= 0.0 || f.w <= 0.0 {
        return false;
    }
    if let Some(d) = float_decision(f, prices, p_d) {
        return d;
    }
    let qq = q(f.a) - q(f.eta_d) * q(p_d);
    if qq <= zero() {
        return false;
    }
    for bits in PRECISIONS {
        if let Some(d) = decide(f, prices, &qq, bits) {
            return d;
        }
    }
    // Undecided at 1,024 bits: a tie, decided as the model decides ties. Only the
    // smallest-trade comparison counts equality as trading; the other comparisons are
    // strict, and a tie there means no discharge.
    false
}

/// The doubles' own decision when every margin it rests on is clearly away from zero;
/// `None` near a tie.
fn float_decision(f: &Follower, prices: &SlotPrices, p_d: f64) -> Option<bool> {
    let ln2 = std::f64::consts::LN_2;
    let pb = f.eta_d * p_d;
    let qf = f.a - pb;
    if qf <= FILTER * (f.a.abs() + pb.abs()) {
        // At or near `a − η_d·p <= 0`: far from the threshold `a − w/(2 ln 2)` on its
        // idle side, but let the exact path say so.
        return None;
    }
    let v = f.w / (qf * ln2);
    let y = v - 2.0;
    if y.abs() <= FILTER * v {
        return None;
    }
    if y >= 0.0 {
        return Some(false);
    }
    let y_d = y.max(f.x_min);
    let x = f.eta_d * y_d;
    if f.min_x > 0.0 && (-x - f.min_x).abs() <= FILTER * (f.min_x + x.abs()) {
        return None;
    }
    let decided = f.discharge(p_d).is_some();
    if f.fallback.regime == Regime::Idle && f.u_idle == 0.0 {
        return Some(decided);
    }
    if -x < f.min_x {
        return Some(decided);
    }
    let u_d = f.w * ((2.0 + y_d).log2() - 1.0) - qf * y_d;
    let u_fb = match f.fallback.regime {
        Regime::Charge => {
            let z = prices.eta_c * f.fallback.x;
            f.w * (1.0 + z).log2() - prices.p_c * f.fallback.x
        }
        _ => f.u_idle,
    };
    let scale = f.w * (1.0 + (2.0 + y_d).log2().abs()) + (qf * y_d).abs() + u_fb.abs();
    // The stored fallback utility and this one differ by rounding only.
    ((u_d - u_fb).abs() > FILTER * scale && (u_d - f.u_fallback).abs() > FILTER * scale)
        .then_some(decided)
}

/// The exact decision at `bits` of precision, `None` when the enclosures do not separate.
fn decide(f: &Follower, prices: &SlotPrices, qq: &Q, bits: u64) -> Option<bool> {
    let l2 = ln2(bits);
    let w = q(f.w);
    // 2 + y* = w/(q ln 2), decreasing in ln 2.
    let v = Iv {
        lo: &w / (qq * &l2.hi),
        hi: &w / (qq * &l2.lo),
    };
    let two = Q::from_integer(BigInt::from(2));
    // The regime exists only where y* < 0 (x_d = 0 is idle).
    if v.lo >= two {
        return Some(false);
    }
    if v.hi >= two {
        return None;
    }
    // y_d = max(y*, x_min) (y* < 0 here).
    let xm = q(f.x_min);
    let y = if v.hi.clone() - &two <= xm {
        Iv::point(xm.clone())
    } else if v.lo.clone() - &two >= xm {
        Iv {
            lo: &v.lo - &two,
            hi: &v.hi - &two,
        }
    } else {
        Iv {
            lo: xm.clone(),
            hi: &v.hi - &two,
        }
    };
    // The smallest trade: |x_d| = −η_d·y_d >= min_x at the meter.
    if f.min_x > 0.0 {
        let eta = q(f.eta_d);
        let (small, large) = (-(&eta * &y.hi), -(&eta * &y.lo));
        let min_x = q(f.min_x);
        if large < min_x {
            return Some(false);
        }
        if small < min_x {
            return None;
        }
    }
    if f.fallback.regime == Regime::Idle && f.u_idle == 0.0 {
        return Some(true);
    }
    // u_d = w·(log2(2 + y) − 1) − (a − η_d·p)·y, increasing in y's log and decreasing in
    // y's linear term: bound each from its own end.
    let one = Q::from_integer(BigInt::from(1));
    let lg = Iv {
        lo: log2(&(&y.lo + &two), bits, l2).lo,
        hi: log2(&(&y.hi + &two), bits, l2).hi,
    };
    let u_d = Iv {
        lo: &w * (&lg.lo - &one) - qq * &y.hi,
        hi: &w * (&lg.hi - &one) - qq * &y.lo,
    };
    let u_fb = match f.fallback.regime {
        Regime::Charge => {
            let x = q(f.fallback.x);
            let lg = log2(&(&one + q(prices.eta_c) * &x), bits, l2);
            let cost = q(prices.p_c) * &x;
            Iv {
                lo: &w * &lg.lo - &cost,
                hi: &w * &lg.hi - &cost,
            }
        }
        _ => Iv::point(q(f.u_idle)),
    };
    if u_d.lo > u_fb.hi {
        Some(true)
    } else if u_d.hi <= u_fb.lo {
        Some(false)
    } else {
        None
    }
}

/// Rational bounds `lo <= v <= hi`.
#[derive(Debug, Clone)]
struct Iv {
    lo: Q,
    hi: Q,
}

impl Iv {
    fn point(x: Q) -> Self {
        Iv {
            lo: x.clone(),
            hi: x,
        }
    }
}

/// The double `x` as the rational number it is.
fn q(x: f64) -> Q {
    Q::from_float(x).expect("finite follower inputs")
}

fn zero() -> Q {
    Q::from_integer(BigInt::from(0))
}

/// `atanh(t)` for `0 <= t <= 1/3`, enclosed: `Σ t^(2j+1)/(2j+1)` at `b` bits of fixed
/// point, every term rounded down for the lower bound, up for the upper one, whose tail
/// `Σ_{i>=j} t^(2i+1)/(2i+1) <= t^(2j+1)/(1 − t²) <= (9/8)·t^(2j+1)` is added.
fn atanh(t: &Q, b: u64) -> Iv {
    let scale = BigInt::from(1) << b;
    let scaled = t * Q::from_integer(scale.clone());
    let (t_lo, t_hi) = (scaled.floor().to_integer(), scaled.ceil().to_integer());
    let one = BigInt::from(1);
    let round_up = (&one << (2 * b)) - &one;
    // Lower bound.
    let (mut s, mut pw, mut j) = (BigInt::from(0), t_lo.clone(), 0u64);
    let t2 = &t_lo * &t_lo;
    while pw > BigInt::from(0) {
        s += &pw / BigInt::from(2 * j + 1);
        pw = (&pw * &t2) >> (2 * b);
        j += 1;
    }
    let lo = Q::new(s, scale.clone());
    // Upper bound.
    let (mut s, mut pw, mut j) = (BigInt::from(0), t_hi.clone(), 0u64);
    let t2 = &t_hi * &t_hi;
    let limit = BigInt::from(1);
    while pw > limit {
        let d = BigInt::from(2 * j + 1);
        s += (&pw + &d - &one) / &d;
        pw = (&pw * &t2 + &round_up) >> (2 * b);
        j += 1;
    }
    // Tail: the remaining terms sum to at most (9/8)·pw <= 2·pw units.
    s += BigInt::from(2) * &pw;
    Iv {
        lo,
        hi: Q::new(s, scale),
    }
}

/// `ln 2` enclosed at `b` bits, one of [`PRECISIONS`]: computed once per precision
/// (the series is the same every time; each check used to sum it anew).
fn ln2(b: u64) -> &'static Iv {
    static CACHE: [std::sync::OnceLock<Iv>; PRECISIONS.len()] =
        [const { std::sync::OnceLock::new() }; PRECISIONS.len()];
    let i = PRECISIONS
        .iter()
        .position(|&p| p == b)
        .expect("one of the working precisions");
    CACHE[i].get_or_init(|| ln2_series(b))
}

/// `ln 2 = 2·atanh(1/3)`, enclosed at `b` bits.
fn ln2_series(b: u64) -> Iv {
    let a = atanh(&Q::new(BigInt::from(1), BigInt::from(3)), b);
    let two = Q::from_integer(BigInt::from(2));
    Iv {
        lo: &a.lo * &two,
        hi: &a.hi * &two,
    }
}

/// `log2(x)` for rational `x > 0`, enclosed: `x = 2^k·m` with `m` in `[1, 2)`, and
/// `log2 x = k + 2·atanh((m − 1)/(m + 1))/ln 2` (exactly `k` when `m = 1`).
fn log2(x: &Q, b: u64, l2: &Iv) -> Iv {
    let (n, d) = (x.numer(), x.denom());
    let mut k = n.bits() as i64 - d.bits() as i64;
    let pow = |k: i64| {
        if k >= 0 {
            Q::from_integer(BigInt::from(1) << k as u64)
        } else {
            Q::new(BigInt::from(1), BigInt::from(1) << (-k) as u64)
        }
    };
    let one = Q::from_integer(BigInt::from(1));
    let two = Q::from_integer(BigInt::from(2));
    let mut m = x / pow(k);
    while m < one {
        m *= &two;
        k -= 1;
    }
    while m >= two {
        m /= &two;
        k += 1;
    }
    let kq = Q::from_integer(BigInt::from(k));
    if m == one {
        return Iv::point(kq);
    }
    let t = (&m - &one) / (&m + &one);
    let a = atanh(&t, b);
    Iv {
        lo: &kq + &two * &a.lo / &l2.hi,
        hi: &kq + &two * &a.hi / &l2.lo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::follower::EvState;
    use crate::game::testing::prices;

    #[test]
    fn enclosures_hold_the_true_values() {
        for b in PRECISIONS {
            let l2 = ln2(b);
            // To a double through 2^60 fixed point (the denominators exceed a double's
            // range at 1,024 bits).
            let f = |x: &Q| {
                let scaled = (x * Q::from_integer(BigInt::from(1) << 60u32)).floor();
                scaled.to_integer().to_string().parse::<f64>().unwrap() / 2f64.powi(60)
            };
            assert!(l2.lo < l2.hi);
            assert!((f(&l2.lo) - std::f64::consts::LN_2).abs() < 1e-15);
            // The width shrinks with the precision.
            let width = &l2.hi - &l2.lo;
            assert!(
                width < Q::new(BigInt::from(1024), BigInt::from(1) << b),
                "{b}"
            );
            for x in [1.5f64, 0.3, 1.0, 2.0, 7.25, 1e-9] {
                let e = log2(&q(x), b, l2);
                assert!(e.lo <= e.hi);
                assert!((f(&e.lo) - x.log2()).abs() < 1e-14, "{x}");
                assert!((f(&e.hi) - x.log2()).abs() < 1e-14, "{x}");
            }
            // Powers of two are exact.
            let e = log2(&q(0.25), b, l2);
            assert_eq!(e.lo, e.hi);
        }
    }

    /// Away from the threshold the exact decision is the doubles' one; at it, the exact
    /// one follows `w < 2·(a − p)·ln 2` with the real `ln 2`.
    #[test]
    fn exact_decisions_agree_with_doubles_away_from_ties() {
        let pr = prices(1.12, 0.0);
        for i in 0..200 {
            let s = EvState::new(
                (i as f64 * 0.37) % 1.0 * 60.0,
                60.0,
                0.05 + (i % 7) as f64 * 0.1,
                -0.01,
                if i % 3 == 0 { 0.05 } else { 0.0 },
            );
            let f = Follower::new(&s, pr.p_c, pr.e0_kwh);
            for k in 0..60 {
                let p = -3.36 * k as f64 / 59.0;
                let rational = (0..3).find_map(|j| {
                    let qq = q(f.a) - q(f.eta_d) * q(p);
                    if qq <= zero() {
                        return Some(false);
                    }
                    decide(&f, &pr, &qq, PRECISIONS[j])
                });
                let d = discharges(&f, &pr, p);
                assert_eq!(d, f.discharge(p).is_some(), "{i} {p}");
                if let Some(r) = rational {
                    assert_eq!(r, d, "{i} {p}");
                }
            }
        }
    }
}
