//! The time-of-use tariff `p_rt` (docs/model.md §2, the paper's Table III).

use chrono::{NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The highest price a tariff band may have, CNY/kWh (docs/model.md §7).
pub const MAX_PRICE: f64 = 100.0;

/// A tariff period (docs/model.md §2): what the per-period totals of a run are keyed by.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// The cheapest band(s).
    Valley,
    /// Between valley and peak.
    #[default]
    Flat,
    /// The dearest band(s).
    Peak,
}

impl Period {
    /// The name used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Valley => "valley",
            Period::Flat => "flat",
            Period::Peak => "peak",
        }
    }
}

/// One band of the tariff: from `from` (time of day) until the next band's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TariffBand {
    /// Start of the band, `HH:MM`.
    pub from: String,
    /// Real-time price in the band, CNY/kWh.
    pub price: f64,
    /// The band's period; when absent it comes from the tariff's own prices (its lowest
    /// price is the valley, its highest the peak, any other flat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

/// A daily time-of-use tariff: the real-time price `p_rt(t)` is the tariff at the
/// slot's start time (docs/model.md §1), and each band belongs to a period.
///
/// In scenario files a tariff is its list of bands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<TariffBand>", into = "Vec<TariffBand>")]
pub struct Tariff {
    /// (minute of day, price, period) sorted by minute, the first at minute 0.
    bands: Vec<(u32, f64, Period)>,
}

impl TryFrom<Vec<TariffBand>> for Tariff {
    type Error = Error;
    fn try_from(bands: Vec<TariffBand>) -> Result<Self> {
        Tariff::from_bands(&bands)
    }
}

impl From<Tariff> for Vec<TariffBand> {
    fn from(t: Tariff) -> Self {
        t.bands()
    }
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
                (0, 0.26, Period::Valley),
                (8 * 60, 0.66, Period::Flat),
                (10 * 60, 1.12, Period::Peak),
                (12 * 60, 0.66, Period::Flat),
                (14 * 60, 1.12, Period::Peak),
                (19 * 60, 0.66, Period::Flat),
            ],
        }
    }

    /// Builds a tariff from bands; the first must start at 00:00, starts must increase and
    /// prices be finite and in `[0, MAX_PRICE]`. Bands without a period get one from the
    /// tariff's own prices.
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
            if let Some(&(prev, _, _)) = out.last() {
                if minute <= prev {
                    return Err(Error::param(
                        format!("tariff[{i}].from"),
                        "band starts must increase",
                    ));
                }
            }
            if !(b.price.is_finite() && (0.0..=MAX_PRICE).contains(&b.price)) {
                return Err(Error::param(
                    format!("tariff[{i}].price"),
                    format!("{}: must be in [0, {MAX_PRICE}] CNY/kWh", b.price),
                ));
            }
            out.push((minute, b.price, b.period));
        }
        if out.is_empty() {
            return Err(Error::param("tariff", "needs at least one band"));
        }
        let lo = out.iter().map(|b| b.1).fold(f64::INFINITY, f64::min);
        let hi = out.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
        let bands = out
            .into_iter()
            .map(|(m, price, period)| {
                let derived = if hi > lo && price == lo {
                    Period::Valley
                } else if hi > lo && price == hi {
                    Period::Peak
                } else {
                    Period::Flat
                };
                (m, price, period.unwrap_or(derived))
            })
            .collect();
        Ok(Tariff { bands })
    }

    /// The bands, for writing the tariff back out.
    pub fn bands(&self) -> Vec<TariffBand> {
        self.bands
            .iter()
            .map(|&(m, price, period)| TariffBand {
                from: format!("{:02}:{:02}", m / 60, m % 60),
                price,
                period: Some(period),
            })
            .collect()
    }

    /// The band in force at a time of day.
    fn band_at(&self, t: NaiveDateTime) -> &(u32, f64, Period) {
        let minute = t.hour() * 60 + t.minute();
        let i = self.bands.partition_point(|&(m, _, _)| m <= minute);
        &self.bands[i.saturating_sub(1)]
    }

    /// The real-time price at a time, CNY/kWh.
    pub fn price_at(&self, t: NaiveDateTime) -> f64 {
        self.band_at(t).1
    }

    /// The tariff period at a time (the period of the band in force).
    pub fn period_at(&self, t: NaiveDateTime) -> Period {
        self.band_at(t).2
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
        let band = |from: &str, price: f64| TariffBand {
            from: from.into(),
            price,
            period: None,
        };
        assert!(Tariff::from_bands(&[band("01:00", 0.3)]).is_err());
        assert!(Tariff::from_bands(&[band("00:00", -0.01)]).is_err());
        assert!(Tariff::from_bands(&[band("00:00", MAX_PRICE + 0.01)]).is_err());
        Tariff::from_bands(&[band("00:00", MAX_PRICE)]).unwrap();
        Tariff::from_bands(&[band("00:00", 0.0)]).unwrap();
        assert!(Tariff::from_bands(&[band("00:00", 0.2), band("00:00", 0.3)]).is_err());
        assert!(Tariff::from_bands(&[]).is_err());
    }

    #[test]
    fn a_tariff_reads_from_a_scenario_file_as_its_bands() {
        #[derive(Debug, serde::Deserialize)]
        struct P {
            tariff: Tariff,
        }
        let p: P = toml::from_str(
            "tariff = [{ from = \"00:00\", price = 0.3 }, { from = \"12:00\", price = 0.9, period = \"peak\" }]",
        )
        .unwrap();
        let at = |s: &str| {
            p.tariff
                .price_at(parse_time(&format!("2021-05-27T{s}")).unwrap())
        };
        assert_eq!((at("06:00"), at("13:00")), (0.3, 0.9));
        // Band starts count minutes too: 08:30 is not 07:30.
        let band = |from: &str, price: f64| TariffBand {
            from: from.into(),
            price,
            period: None,
        };
        let half = Tariff::from_bands(&[band("00:00", 0.1), band("08:30", 0.2)]).unwrap();
        let at = |s: &str| half.price_at(parse_time(&format!("2021-05-27T{s}")).unwrap());
        assert_eq!((at("08:15"), at("08:30")), (0.1, 0.2));
        let bad: Result<P, _> = toml::from_str("tariff = [{ from = \"01:00\", price = 0.3 }]");
        assert!(bad.unwrap_err().to_string().contains("00:00"));
        assert_eq!(
            [Period::Valley, Period::Flat, Period::Peak].map(Period::as_str),
            ["valley", "flat", "peak"]
        );
    }

    #[test]
    fn periods_are_the_tariffs_own() {
        let t = Tariff::shenzhen();
        let at = |s: &str| t.period_at(parse_time(&format!("2021-05-27T{s}")).unwrap());
        assert_eq!(at("07:45"), Period::Valley);
        assert_eq!(at("08:00"), Period::Flat);
        assert_eq!(at("10:30"), Period::Peak);
        assert_eq!(at("13:00"), Period::Flat);
        assert_eq!(at("16:00"), Period::Peak);
        assert_eq!(at("18:45"), Period::Peak);
        assert_eq!(at("19:00"), Period::Flat);
        // Unlabelled bands take their period from the tariff's own prices; a label wins.
        let band = |from: &str, price: f64, period| TariffBand {
            from: from.into(),
            price,
            period,
        };
        let t = Tariff::from_bands(&[
            band("00:00", 0.3, None),
            band("06:00", 0.5, None),
            band("12:00", 0.9, None),
            band("18:00", 0.5, Some(Period::Peak)),
        ])
        .unwrap();
        let at = |s: &str| t.period_at(parse_time(&format!("2021-05-27T{s}")).unwrap());
        assert_eq!(
            [at("01:00"), at("07:00"), at("13:00"), at("19:00")],
            [Period::Valley, Period::Flat, Period::Peak, Period::Peak]
        );
        // One price only: flat.
        let flat = Tariff::from_bands(&[band("00:00", 0.5, None)]).unwrap();
        assert_eq!(
            flat.period_at(parse_time("2021-05-27T03:00").unwrap()),
            Period::Flat
        );
        // Labels survive the round trip through bands.
        assert_eq!(Tariff::from_bands(&t.bands()).unwrap(), t);
    }
}
