//! Battery wear (docs/model.md §10.3): a cycle-ageing cost per kWh of throughput on the
//! battery's side, from the battery's price per kWh of capacity and its cycle life.
//!
//! One equivalent full cycle moves `Cap` into the battery and `Cap` out of it, `2·Cap`
//! of throughput; a battery that lasts `cycle_life` such cycles and costs
//! `battery_price_per_kwh·Cap` therefore wears by
//!
//! `ω = battery_price_per_kwh / (2·cycle_life)` per kWh in or out of the battery.
//!
//! Every policy reports it (`wear_cny` in `evs.csv`, `slots.csv` and the summary); only
//! `optimal` minimises it (its objective holds it); the scheme's EVs do not weigh it
//! (their utility is the paper's Eq. 1, whose own degradation term `a·x` stays).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The default battery price per kWh of capacity, in CNY: BloombergNEF's 2023 battery
/// price survey ("Lithium-ion battery pack prices hit record low of $139/kWh",
/// 27 November 2023) gives China's average pack price as US$126/kWh; at 7.1 CNY per US
/// dollar (2023's average rate, rounded) that is 894.6 CNY/kWh.
pub const DEFAULT_BATTERY_PRICE_PER_KWH: f64 = 894.6;

/// The default cycle life, equivalent full cycles to end of life (80 % capacity): 3,000,
/// the order reported for LFP cells cycled at moderate rates and 25 °C (Preger et al.,
/// "Degradation of commercial lithium-ion cells as a function of chemistry and cycling
/// conditions", J. Electrochem. Soc. 167 (2020) 120532), the chemistry of China's buses
/// and most of its cars.
pub const DEFAULT_CYCLE_LIFE: f64 = 3000.0;

/// The scenario's `[wear]` table (docs/model.md §10.3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Wear {
    /// What a battery costs per kWh of capacity, in the run's currency, `[0, 1e5]`;
    /// 0 switches wear off.
    pub battery_price_per_kwh: f64,
    /// Equivalent full cycles to end of life, `[1, 1e6]`.
    pub cycle_life: f64,
}

impl Default for Wear {
    fn default() -> Self {
        Wear {
            battery_price_per_kwh: DEFAULT_BATTERY_PRICE_PER_KWH,
            cycle_life: DEFAULT_CYCLE_LIFE,
        }
    }
}

impl Wear {
    /// `ω`, the wear per kWh of throughput on the battery's side (in or out):
    /// `battery_price_per_kwh / (2·cycle_life)`.
    pub fn per_kwh(&self) -> f64 {
        self.battery_price_per_kwh / (2.0 * self.cycle_life)
    }

    /// Whether this is the default (left out of the scenario's canonical encoding).
    pub fn is_default(&self) -> bool {
        *self == Wear::default()
    }

    /// The ranges of docs/model.md §7.
    pub fn validate(&self) -> Result<()> {
        let p = self.battery_price_per_kwh;
        if !(0.0..=1e5).contains(&p) {
            return Err(Error::param(
                "wear.battery_price_per_kwh",
                format!("{p}: must be in [0, 100000] (0 switches wear off)"),
            ));
        }
        let c = self.cycle_life;
        if !(1.0..=1e6).contains(&c) {
            return Err(Error::param(
                "wear.cycle_life",
                format!("{c}: must be in [1, 1000000] equivalent full cycles"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cycle_costs_the_battery_over_its_life() {
        let w = Wear {
            battery_price_per_kwh: 600.0,
            cycle_life: 1500.0,
        };
        // 0.2 per kWh in or out: one full cycle of a 60 kWh battery (120 kWh) costs
        // 24, and 1,500 of them the battery's 36,000.
        assert_eq!(w.per_kwh(), 0.2);
        assert!((w.per_kwh() * 120.0 * 1500.0 - 600.0 * 60.0).abs() < 1e-6);
        assert!((Wear::default().per_kwh() - 894.6 / 6000.0).abs() < 1e-15);
        let off = Wear {
            battery_price_per_kwh: 0.0,
            ..Wear::default()
        };
        assert_eq!(off.per_kwh(), 0.0);
        off.validate().unwrap();
    }

    #[test]
    fn ranges_are_enforced_at_both_ends() {
        for (p, c, ok) in [
            (0.0, 1.0, true),
            (1e5, 1e6, true),
            (-1e-9, 3000.0, false),
            (1e5 + 1.0, 3000.0, false),
            (f64::NAN, 3000.0, false),
            (900.0, 0.999, false),
            (900.0, 1e6 + 1.0, false),
            (900.0, f64::INFINITY, false),
        ] {
            let w = Wear {
                battery_price_per_kwh: p,
                cycle_life: c,
            };
            assert_eq!(w.validate().is_ok(), ok, "{p} {c}");
            if !ok {
                let e = w.validate().unwrap_err().to_string();
                assert!(e.contains("wear."), "{e}");
            }
        }
    }
}
