//! The time-of-use tariff `p_rt` (MODEL.md section 2, the paper's Table III).

use chrono::{NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One band of the tariff: from `from` (time of day) until the next band's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TariffBand {
    /// Start of the band, `HH:MM`.
    pub from: String,
    /// Real-time price in the band, CNY/kWh.
    pub price: f64,
}

/// A daily time-of-use tariff: the real-time price `p_rt(t)` is the tariff at the
/// slot's start time (MODEL.md section 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Tariff {
    /// (minute of day, price) sorted by minute, the first at minute 0.
    bands: Vec<(u32, f64)>,
}

impl Default for Tariff {
    /// Shenzhen's valley-peak tariff (Table III).
    fn default() -> Self {
        Tariff::shenzhen()
    }
}

impl Tariff {
    /// Shenzhen's valley-peak tariff (Table III): valley 0.26 from 00:00, flat 0.66 from
    /// 08:00, peak 1.12 from 10:00, flat 0.66 from 12:00, peak 1.12 from 14:00, flat 0.66
    /// from 19:00.
    pub fn shenzhen() -> Self {
        Tariff {
            bands: vec![
                (0, 0.26),
                (8 * 60, 0.66),
                (10 * 60, 1.12),
                (12 * 60, 0.66),
                (14 * 60, 1.12),
                (19 * 60, 0.66),
            ],
        }
    }

    /// Builds a tariff from bands; the first must start at 00:00, starts must increase and
    /// prices be finite and non-negative.
    pub fn from_bands(bands: &[TariffBand]) -> Result<Self> {
        let mut out = Vec::with_capacity(bands.len());
        for (i, b) in bands.iter().enumerate() {
            let t = NaiveTime::parse_from_str(b.from.trim(), "%H:%M").map_err(|_| {
                Error::param(
                    format!("tariff[{i}].from"),
                    format!("'{}' is not a time of day HH:MM", b.from),
                )
            })?;
            let minute = t.hour() * 60 + t.minute();
            if i == 0 && minute != 0 {
                return Err(Error::param(
                    "tariff[0].from",
                    "the first band must start at 00:00",
                ));
            }
            if let Some(&(prev, _)) = out.last() {
                if minute <= prev {
                    return Err(Error::param(
                        format!("tariff[{i}].from"),
                        "band starts must increase",
                    ));
                }
            }
            if !(b.price.is_finite() && b.price >= 0.0) {
                return Err(Error::param(
                    format!("tariff[{i}].price"),
                    "must be finite and >= 0",
                ));
            }
            out.push((minute, b.price));
        }
        if out.is_empty() {
            return Err(Error::param("tariff", "needs at least one band"));
        }
        Ok(Tariff { bands: out })
    }

    /// The bands, for writing the tariff back out.
    pub fn bands(&self) -> Vec<TariffBand> {
        self.bands
            .iter()
            .map(|&(m, price)| TariffBand {
                from: format!("{:02}:{:02}", m / 60, m % 60),
                price,
            })
            .collect()
    }

    /// The real-time price at a time, CNY/kWh.
    pub fn price_at(&self, t: NaiveDateTime) -> f64 {
        let minute = t.hour() * 60 + t.minute();
        let i = self.bands.partition_point(|&(m, _)| m <= minute);
        self.bands[i.saturating_sub(1)].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::time::parse_time;

    #[test]
    fn table_iii() {
        let t = Tariff::shenzhen();
        let at = |s: &str| t.price_at(parse_time(&format!("2021-05-27T{s}")).unwrap());
        assert_eq!(at("00:00"), 0.26);
        assert_eq!(at("07:45"), 0.26);
        assert_eq!(at("08:00"), 0.66);
        assert_eq!(at("10:00"), 1.12);
        assert_eq!(at("11:45"), 1.12);
        assert_eq!(at("12:00"), 0.66);
        assert_eq!(at("14:00"), 1.12);
        assert_eq!(at("18:45"), 1.12);
        assert_eq!(at("19:00"), 0.66);
        assert_eq!(at("23:45"), 0.66);
    }

    #[test]
    fn bands_round_trip_and_are_checked() {
        let t = Tariff::shenzhen();
        assert_eq!(Tariff::from_bands(&t.bands()).unwrap(), t);
        let bad = vec![TariffBand {
            from: "01:00".into(),
            price: 0.3,
        }];
        assert!(Tariff::from_bands(&bad).is_err());
    }
}
