//! Fixtures shared by the benches.

#![allow(dead_code)]

use std::path::PathBuf;

use v2g::generate::fleet::{generate_fleet, FleetSpec};
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

/// The cached fleet of `n` generated sessions (`v2g fleet generate --n N`), written once,
/// atomically, outside the repository: in `$V2G_CITY_CACHE`, or else `v2g-city` in the
/// system's temporary folder.
pub fn fleet(n: usize) -> PathBuf {
    let dir = std::env::var_os("V2G_CITY_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("v2g-city"));
    std::fs::create_dir_all(&dir).expect("cache folder");
    let path = dir.join(format!("ev{n}.csv"));
    if !path.exists() {
        let csv = generate_fleet(&FleetSpec {
            n,
            ..Default::default()
        })
        .expect("fleet")
        .to_csv();
        let tmp = dir.join(format!(".ev{n}.csv.tmp"));
        std::fs::write(&tmp, csv).expect("write fleet");
        std::fs::rename(&tmp, &path).expect("rename fleet");
    }
    path
}
