//! Time: 15-minute slots over a horizon (docs/model.md §1).
//!
//! Times are naive local wall-clock times (China, no daylight saving), written
//! `YYYY-MM-DDTHH:MM` with optional seconds.

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

/// Length of one slot in minutes.
pub const SLOT_MINUTES: i64 = 15;

/// The earliest time a data file may hold: 1970-01-01T00:00.
pub const MIN_TIME: NaiveDateTime = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d.and_time(chrono::NaiveTime::MIN),
    None => panic!("1970-01-01 is a date"),
};

/// The latest time a data file may hold: 2100-12-31T23:59 (seconds 0).
pub const MAX_TIME: NaiveDateTime = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => match d.and_hms_opt(23, 59, 0) {
        Some(t) => t,
        None => panic!("23:59 is a time"),
    },
    None => panic!("2100-12-31 is a date"),
};

/// The rule a time from a data file (or the horizon's start) breaks, if any: it must lie
/// in `[MIN_TIME, MAX_TIME]` and, when `whole_minute`, on a whole minute (seconds and
/// fractions of a second 0; slot starts are whole minutes, so a grid row at 07:00:30 could
/// never match a slot). The rule is worded to follow the column's name
/// (`"arrival {rule}"`) and shows the time.
pub fn time_rule(t: NaiveDateTime, whole_minute: bool) -> Option<String> {
    if !(MIN_TIME..=MAX_TIME).contains(&t) {
        return Some(format!(
            "must lie between {} and {}, not {}",
            format_time(MIN_TIME),
            format_time(MAX_TIME),
            format_time_exact(t)
        ));
    }
    if whole_minute && (t.second() != 0 || t.nanosecond() != 0) {
        return Some(format!(
            "must lie on a whole minute (seconds 0), not {}",
            format_time_exact(t)
        ));
    }
    None
}

/// Formats a time with its seconds (and fraction) when it has any, else as
/// [`format_time`]: for errors, where the seconds may be the problem.
fn format_time_exact(t: NaiveDateTime) -> String {
    if t.second() == 0 && t.nanosecond() == 0 {
        format_time(t)
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
    }
}

/// Parses `YYYY-MM-DDTHH:MM[:SS]` (a space instead of `T` is accepted too).
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Some(t) = parse_minute(s) {
        return Some(t);
    }
    parse_time_chrono(s)
}

/// `YYYY-MM-DDTHH:MM` or `YYYY-MM-DD HH:MM` exactly, read without parsing a format string
/// for every time (a million-session fleet has two million); `None` for anything else,
/// which [`parse_time_chrono`] then reads (or refuses) as before.
fn parse_minute(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() != 16
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let day = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    day.and_hms_opt(num(11..13)?, num(14..16)?, 0)
}

/// [`parse_time`]'s formats, by chrono.
fn parse_time_chrono(s: &str) -> Option<NaiveDateTime> {
    for fmt in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    None
}

/// Formats a time as `YYYY-MM-DDTHH:MM` (the format of every output file).
pub fn format_time(t: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return t.format("%Y-%m-%dT%H:%M").to_string();
    }
    // What `format("%Y-%m-%dT%H:%M")` writes for years 0 to 9999, without parsing the
    // format string for every time (a million-EV run writes two million).
    let digits = |n: u32, w: usize, out: &mut [u8]| {
        let mut n = n;
        for k in (0..w).rev() {
            out[k] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    let mut b = *b"0000-00-00T00:00";
    digits(year as u32, 4, &mut b[0..4]);
    digits(t.month(), 2, &mut b[5..7]);
    digits(t.day(), 2, &mut b[8..10]);
    digits(t.hour(), 2, &mut b[11..13]);
    digits(t.minute(), 2, &mut b[14..16]);
    String::from_utf8(b.to_vec()).expect("ASCII digits")
}

/// `t` without its seconds: the time [`format_time`] writes.
pub fn whole_minute(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("second 0 and nanosecond 0 are valid")
}

/// Serde for a time written `YYYY-MM-DDTHH:MM` ([`format_time`], read back with
/// [`parse_time`]): `#[serde(with = "crate::data::time::minute")]`.
pub mod minute {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the time as [`format_time`](super::format_time) does.
    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(*t))
    }

    /// Reads a time as [`parse_time`](super::parse_time) does.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        super::parse_time(&s).ok_or_else(|| serde::de::Error::custom(format!("not a time: {s:?}")))
    }
}

/// The simulated horizon: `slots` slots of 15 minutes from `start`.
///
/// Slot `t` covers `[start + 15t min, start + 15(t+1) min)`. In files the start is written
/// `YYYY-MM-DDTHH:MM`; a missing key takes the paper's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Horizon {
    /// Start of slot 0.
    #[serde(with = "minute_format")]
    pub start: NaiveDateTime,
    /// Number of slots.
    pub slots: usize,
}

impl Default for Horizon {
    /// The paper's horizon.
    fn default() -> Self {
        Horizon::paper()
    }
}

/// serde for a time written `YYYY-MM-DDTHH:MM` (read with [`parse_time`]). In TOML the
/// time may also be a local date-time value, unquoted (`start = 2021-05-27T07:00:00`).
mod minute_format {
    use chrono::NaiveDateTime;
    use serde::de::{value::MapAccessDeserializer, Error, MapAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        d.deserialize_any(Time)
    }

    struct Time;

    fn parse<E: Error>(s: &str) -> Result<NaiveDateTime, E> {
        super::parse_time(s).ok_or_else(|| {
            E::custom(format!(
                "{} is not YYYY-MM-DDTHH:MM",
                crate::error::excerpt(s)
            ))
        })
    }

    impl<'de> Visitor<'de> for Time {
        type Value = NaiveDateTime;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a time YYYY-MM-DDTHH:MM")
        }

        fn visit_str<E: Error>(self, s: &str) -> Result<NaiveDateTime, E> {
            parse(s)
        }

        /// A TOML date-time, which the `toml` crate hands over as a map: read through
        /// its own type, then as text. A date alone or a time with an offset is refused
        /// by [`super::parse_time`] like any other text.
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NaiveDateTime, A::Error> {
            let t = toml::value::Datetime::deserialize(MapAccessDeserializer::new(map))
                .map_err(|_| A::Error::custom("a table is not a time YYYY-MM-DDTHH:MM"))?;
            parse(&t.to_string())
        }
    }
}

impl Horizon {
    /// The paper's horizon: 2021-05-27 07:00, 96 slots (to 2021-05-28 07:00).
    pub fn paper() -> Self {
        Horizon {
            start: parse_time("2021-05-27T07:00").expect("constant time parses"),
            slots: 96,
        }
    }

    /// Start of slot `t`.
    pub fn slot_start(&self, t: usize) -> NaiveDateTime {
        self.start + Duration::minutes(SLOT_MINUTES * t as i64)
    }

    /// End of slot `t` (exclusive).
    pub fn slot_end(&self, t: usize) -> NaiveDateTime {
        self.slot_start(t + 1)
    }

    /// End of the horizon.
    pub fn end(&self) -> NaiveDateTime {
        self.slot_start(self.slots)
    }

    /// The slot whose `[start, end)` holds `t`, or `None` outside the horizon.
    pub fn slot_containing(&self, t: NaiveDateTime) -> Option<usize> {
        let from_start = (t - self.start).num_seconds();
        let slot = usize::try_from(from_start / (SLOT_MINUTES * 60)).ok()?;
        (from_start >= 0 && slot < self.slots).then_some(slot)
    }

    /// The slots in which a session `[arrival, departure]` is plugged in for the whole slot
    /// (`arrival <= slot start` and `departure >= slot end`), clipped to the horizon, as a
    /// half-open range of slot indices (empty when there is none).
    pub fn plugged_slots(
        &self,
        arrival: NaiveDateTime,
        departure: NaiveDateTime,
    ) -> std::ops::Range<usize> {
        let step = SLOT_MINUTES * 60;
        // First slot whose start is >= arrival.
        let from_start = (arrival - self.start).num_seconds();
        let first = if from_start <= 0 {
            0
        } else {
            ((from_start + step - 1) / step) as usize
        };
        // Last slot whose end is <= departure: end(t) = start + step (t+1) <= departure.
        let to_dep = (departure - self.start).num_seconds();
        if to_dep < step {
            return 0..0;
        }
        let last_excl = ((to_dep / step) as usize).min(self.slots);
        let first = first.min(last_excl);
        first..last_excl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        parse_time(s).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn format_time_writes_what_chrono_writes(secs in -70_000_000_000i64..260_000_000_000i64) {
            let time = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
            proptest::prop_assert_eq!(
                format_time(time),
                time.format("%Y-%m-%dT%H:%M").to_string()
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_time_reads_what_chrono_reads(
            s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}|[0-9 T:+-]{14,18}"
        ) {
            proptest::prop_assert_eq!(parse_time(&s), parse_time_chrono(s.trim()));
        }
    }

    #[test]
    fn parse_time_fast_path_agrees_at_the_edges() {
        for s in [
            "2021-05-27T07:05",
            "2021-05-27 07:05",
            "0000-01-01T00:00",
            "9999-12-31T23:59",
            "2020-02-29T12:00",
            "2021-02-29T12:00",
            "2021-13-01T00:00",
            "2021-05-27T24:00",
            "2021-05-27T23:60",
            "2021-05-27X07:05",
            "+2021-05-27T07:05",
            "2021-5-27T07:05",
        ] {
            assert_eq!(parse_time(s), parse_time_chrono(s), "{s}");
        }
    }

    #[test]
    fn whole_minute_is_the_time_format_time_writes() {
        let t = t("2021-05-27T07:05:59");
        assert_eq!(
            whole_minute(t),
            super::parse_time("2021-05-27T07:05").unwrap()
        );
        assert_eq!(format_time(whole_minute(t)), format_time(t));
    }

    #[test]
    fn format_time_at_the_ends_of_the_fast_years() {
        for s in ["0000-01-01T00:00", "9999-12-31T23:59", "2021-05-27T07:05"] {
            assert_eq!(format_time(t(s)), s);
        }
        let far = chrono::NaiveDate::from_ymd_opt(10000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(format_time(far), "+10000-01-01T00:00");
        let before = chrono::NaiveDate::from_ymd_opt(-1, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 0)
            .unwrap();
        assert_eq!(
            format_time(before),
            before.format("%Y-%m-%dT%H:%M").to_string()
        );
    }

    #[test]
    fn a_time_lies_in_the_slot_whose_start_and_end_hold_it() {
        let h = Horizon {
            start: t("2021-05-27T07:00"),
            slots: 2,
        };
        for (time, slot) in [
            ("2021-05-27T06:59:59", None),
            ("2021-05-27T07:00", Some(0)),
            ("2021-05-27T07:14:59", Some(0)),
            ("2021-05-27T07:15", Some(1)),
            ("2021-05-27T07:29:59", Some(1)),
            ("2021-05-27T07:30", None),
            ("1970-01-01T00:00", None),
        ] {
            assert_eq!(h.slot_containing(t(time)), slot, "{time}");
        }
    }

    #[test]
    fn arrival_mid_slot_acts_from_next_slot() {
        let h = Horizon::paper();
        // 16:05 arrival first acts in the 16:15 slot (docs/model.md §1).
        let r = h.plugged_slots(t("2021-05-27T16:05"), t("2021-05-27T17:00"));
        assert_eq!(h.slot_start(r.start), t("2021-05-27T16:15"));
        assert_eq!(h.slot_end(r.end - 1), t("2021-05-27T17:00"));
    }

    #[test]
    fn session_partly_outside_horizon_is_clipped() {
        let h = Horizon::paper();
        let r = h.plugged_slots(t("2021-05-27T00:00"), t("2021-05-27T07:40"));
        assert_eq!(r, 0..2);
        let r = h.plugged_slots(t("2021-05-28T06:00"), t("2021-05-29T00:00"));
        assert_eq!(r, 92..96);
        let r = h.plugged_slots(t("2021-05-26T00:00"), t("2021-05-27T07:10"));
        assert!(r.is_empty());
        let r = h.plugged_slots(t("2021-05-28T07:00"), t("2021-05-28T09:00"));
        assert!(r.is_empty());
    }

    #[test]
    fn the_paper_horizon_ends_a_day_later() {
        assert_eq!(Horizon::paper().end(), t("2021-05-28T07:00"));
    }

    #[test]
    fn time_rule_bounds_are_inclusive_and_named() {
        let ok = [
            "1970-01-01T00:00",
            "2100-12-31T23:59",
            "2021-05-27T07:00",
            "2100-12-31T23:59:00",
        ];
        for s in ok {
            assert_eq!(time_rule(t(s), true), None, "{s}");
            assert_eq!(time_rule(t(s), false), None, "{s}");
        }
        assert_eq!(MIN_TIME, t("1970-01-01T00:00"));
        assert_eq!(MAX_TIME, t("2100-12-31T23:59"));
        let bounds = "must lie between 1970-01-01T00:00 and 2100-12-31T23:59";
        for (s, shown) in [
            ("1969-12-31T23:59", "1969-12-31T23:59"),
            ("1969-12-31T23:59:59", "1969-12-31T23:59:59"),
            ("2101-01-01T00:00", "2101-01-01T00:00"),
            ("2100-12-31T23:59:01", "2100-12-31T23:59:01"),
            ("0001-01-01T00:00", "0001-01-01T00:00"),
        ] {
            for whole in [true, false] {
                let rule = time_rule(t(s), whole).unwrap();
                assert_eq!(rule, format!("{bounds}, not {shown}"), "{s}");
            }
        }
    }

    #[test]
    fn time_rule_whole_minute_only_when_asked() {
        let half = t("2021-05-27T07:00:30");
        assert_eq!(time_rule(half, false), None);
        assert_eq!(
            time_rule(half, true).unwrap(),
            "must lie on a whole minute (seconds 0), not 2021-05-27T07:00:30"
        );
        // A fraction of a second (only possible from code) is not a whole minute either.
        let frac = t("2021-05-27T07:00") + Duration::milliseconds(1);
        assert_eq!(time_rule(frac, false), None);
        assert_eq!(
            time_rule(frac, true).unwrap(),
            "must lie on a whole minute (seconds 0), not 2021-05-27T07:00:00.001"
        );
        assert_eq!(time_rule(t("2021-05-27T07:01:00"), true), None);
    }

    #[test]
    fn seconds_are_optional() {
        assert_eq!(t("2021-05-27T07:00:00"), t("2021-05-27T07:00"));
        assert!(parse_time("2021-05-27").is_none());
    }
}
