//! Fixtures shared by the benches.

#![allow(dead_code)]

use v2g::{EvState, SlotPrices};

/// A deterministic stream of uniform numbers in `[0, 1)` (a 64-bit LCG: benches need
/// repeatable inputs, not statistical quality).
pub fn uniform(mut seed: u64) -> impl FnMut() -> f64 {
    move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A deterministic spread of EV states (SOC 0–100 %, 30–300 kWh, varied beta, default a).
pub fn states(n: usize) -> Vec<EvState> {
    let mut next = uniform(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|_| {
            let cap = 30.0 + 270.0 * next();
            EvState::new(cap * next(), cap, 0.05 + 0.3 * next(), -0.01, 0.0)
        })
        .collect()
}

/// A peak slot (p_rt = 1.12: 3,361 candidates at epsilon 0.001).
pub fn peak(e_limit_kwh: f64) -> SlotPrices {
    SlotPrices {
        p_rt: 1.12,
        p_c: 1.62,
        p_d_max: 0.0,
        p_d_min: -3.36,
        delta: 2.24,
        e_limit_kwh,
        e0_kwh: 3.75,
        w_service: 0.5,
        w_grid: 0.792,
        p_delay: 0.1,
        eta_c: 1.0,
        eta_d: 1.0,
    }
}
