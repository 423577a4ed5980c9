//! The synthetic SUSTech-like fleet: electric campus buses and private EVs plugged in over
//! one day, with Table II's six sample sessions verbatim.
//!
//! Every session is drawn from one of five archetypes (times of day are clock times of the
//! day the horizon starts, "next day" the day after; times are rounded to 5 minutes,
//! energies to 0.1 kWh, capacities to 1 kWh):
//!
//! | archetype | share | capacity | arrival | stay / departure | energy at arrival |
//! |---|---|---|---|---|---|
//! | bus, depot overnight | 55 % of buses | U(150, 300) kWh | N(21:00, 75 min) in [18:00, 23:55] | next day N(06:15, 30 min) in [05:00, 07:30] | U(15 %, 45 %) |
//! | bus, between runs | 45 % of buses | U(150, 300) kWh | U(08:30, 15:30) | N(2.5 h, 45 min) in [1 h, 5 h] | U(30 %, 70 %) |
//! | private, commuter (staff, students) | 55 % of cars | U{30..80} kWh | N(08:45, 50 min) in [07:00, 12:00] | N(9 h, 1.5 h) in [3 h, 13 h] | U(35 %, 85 %) |
//! | private, resident overnight | 30 % of cars | U{30..80} kWh | N(19:30, 100 min) in [16:00, 23:55] | next day N(08:00, 60 min) in [06:00, 12:00] | U(15 %, 60 %) |
//! | private, short visit | 15 % of cars | U{30..80} kWh | U(07:30, 21:00) | U(1 h, 4 h) | U(20 %, 80 %) |
//!
//! Buses are [`FleetSpec::bus_share`] of the sessions (10 % by default, rounded to a whole
//! number, Table II's bus included), placed at shuffled ids. Table II's rows
//! keep their ids (1, 71, 74, 215, 217, 486); the other ids are the remaining integers
//! from 1 upwards, and the file is sorted by id.

use chrono::{Duration, NaiveDateTime, NaiveTime};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::data::fleet::{Ev, Fleet, Kind};
use crate::data::time::{format_time, MAX_TIME, MIN_TIME};
use crate::error::{Error, Result};
use crate::generate::{case_study_day, SUSTECH_SEED};

/// One of Table II's sample sessions: id, kind, capacity (kWh), energy at arrival (kWh),
/// arrival and departure in minutes after midnight of the first day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSession {
    /// The paper's sample id.
    pub id: u32,
    /// Bus or private car.
    pub kind: Kind,
    /// Battery volume, kWh.
    pub capacity_kwh: f64,
    /// Initial battery, kWh.
    pub initial_kwh: f64,
    /// Arrival, minutes after midnight of the first day.
    pub arrival_min: i64,
    /// Departure, minutes after midnight of the first day ("next day" adds 1,440).
    pub departure_min: i64,
}

const DAY: i64 = 24 * 60;

/// Table II of the paper, "driving patterns sample of EVs".
pub const TABLE_II: [SampleSession; 6] = [
    SampleSession {
        id: 1,
        kind: Kind::Bus,
        capacity_kwh: 160.0,
        initial_kwh: 57.2,
        arrival_min: 16 * 60,
        departure_min: DAY + 6 * 60 + 30,
    },
    SampleSession {
        id: 71,
        kind: Kind::Private,
        capacity_kwh: 64.0,
        initial_kwh: 19.9,
        arrival_min: 17 * 60 + 45,
        departure_min: DAY + 16 * 60 + 30,
    },
    SampleSession {
        id: 74,
        kind: Kind::Private,
        capacity_kwh: 65.0,
        initial_kwh: 17.7,
        arrival_min: 14 * 60 + 30,
        departure_min: DAY + 4 * 60 + 30,
    },
    SampleSession {
        id: 215,
        kind: Kind::Private,
        capacity_kwh: 40.0,
        initial_kwh: 26.2,
        arrival_min: 5 * 60 + 45,
        departure_min: 10 * 60 + 15,
    },
    SampleSession {
        id: 217,
        kind: Kind::Private,
        capacity_kwh: 65.0,
        initial_kwh: 37.1,
        arrival_min: 0,
        departure_min: 12 * 60,
    },
    SampleSession {
        id: 486,
        kind: Kind::Private,
        capacity_kwh: 32.0,
        initial_kwh: 20.2,
        arrival_min: 21 * 60 + 30,
        departure_min: DAY + 12 * 60,
    },
];

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    /// Number of sessions, Table II's six included (at least 6).
    pub n: usize,
    /// Seed of the random stream.
    pub seed: u64,
    /// Midnight of the first day (clock times are relative to it).
    pub day: NaiveDateTime,
    /// Share of buses among the generated sessions, in `[0, 1]`.
    pub bus_share: f64,
}

impl Default for FleetSpec {
    /// The shipped `data/sustech.csv`: 2,000 sessions from 2021-05-27, seed
    /// [`SUSTECH_SEED`], 10 % buses.
    fn default() -> Self {
        FleetSpec {
            n: 2000,
            seed: SUSTECH_SEED,
            day: case_study_day(),
            bus_share: 0.1,
        }
    }
}

/// A normal draw clipped to `[lo, hi]`.
fn clipped(rng: &mut ChaCha8Rng, mean: f64, sd: f64, lo: f64, hi: f64) -> f64 {
    let d = Normal::new(mean, sd).expect("constant, positive standard deviation");
    d.sample(rng).clamp(lo, hi)
}

/// `x` rounded to `dp` decimal places, as the nearest `f64` to the decimal (so it prints
/// with at most `dp` decimals).
fn round_dp(x: f64, dp: i32) -> f64 {
    let f = 10f64.powi(dp);
    (x * f).round() / f
}

fn h(hours: f64) -> f64 {
    hours * 60.0
}

/// Draws one session: (kind, capacity, initial energy, arrival and departure in minutes
/// after midnight of the first day).
fn draw(rng: &mut ChaCha8Rng, is_bus: bool) -> (Kind, f64, f64, i64, i64) {
    let archetype = rng.gen::<f64>();
    let (kind, cap, soc, arr, dep);
    if is_bus {
        kind = Kind::Bus;
        cap = rng.gen_range(150.0..=300.0_f64).round();
        if archetype < 0.55 {
            arr = clipped(rng, h(21.0), 75.0, h(18.0), h(23.0) + 55.0);
            dep = DAY as f64 + clipped(rng, h(6.25), 30.0, h(5.0), h(7.5));
            soc = rng.gen_range(0.15..0.45);
        } else {
            arr = rng.gen_range(h(8.5)..h(15.5));
            dep = arr + clipped(rng, h(2.5), 45.0, h(1.0), h(5.0));
            soc = rng.gen_range(0.30..0.70);
        }
    } else {
        kind = Kind::Private;
        cap = rng.gen_range(30..=80) as f64;
        if archetype < 0.55 {
            arr = clipped(rng, h(8.75), 50.0, h(7.0), h(12.0));
            dep = arr + clipped(rng, h(9.0), 90.0, h(3.0), h(13.0));
            soc = rng.gen_range(0.35..0.85);
        } else if archetype < 0.85 {
            arr = clipped(rng, h(19.5), 100.0, h(16.0), h(23.0) + 55.0);
            dep = DAY as f64 + clipped(rng, h(8.0), 60.0, h(6.0), h(12.0));
            soc = rng.gen_range(0.15..0.60);
        } else {
            arr = rng.gen_range(h(7.5)..h(21.0));
            dep = arr + rng.gen_range(h(1.0)..h(4.0));
            soc = rng.gen_range(0.20..0.80);
        }
    }
    let arr = (arr / 5.0).round() as i64 * 5;
    // At least 5 minutes plugged, whatever the rounding did.
    let dep = ((dep / 5.0).round() as i64 * 5).max(arr + 5);
    let initial = round_dp(soc * cap, 1).min(cap);
    (kind, cap, initial, arr, dep)
}

fn at(day: NaiveDateTime, minutes: i64) -> NaiveDateTime {
    day + Duration::minutes(minutes)
}

/// The most sessions a generated fleet may hold (ten times the largest day measured
/// in `docs/benchmarks.md`): a larger `--n` is refused before anything is allocated.
pub const MAX_SESSIONS: usize = 10_000_000;

/// The first day, checked before anything is drawn: it is a midnight, and every session
/// lies within it and the next day (the latest departures are next-day clock times), so
/// both days must hold times a fleet file may hold (`data::time::time_rule`).
fn check_day(day: NaiveDateTime) -> Result<()> {
    let next_day = day.date().succ_opt();
    if day.time() != NaiveTime::MIN
        || day < MIN_TIME
        || next_day.is_none_or(|d| d > MAX_TIME.date())
    {
        let shown = if day.time() == NaiveTime::MIN {
            day.date().to_string()
        } else {
            format_time(day)
        };
        return Err(Error::param(
            "--day",
            format!(
                "must be a day from {} to {} (sessions run into the next day), not {}",
                MIN_TIME.date(),
                MAX_TIME.date() - Duration::days(1),
                shown
            ),
        ));
    }
    Ok(())
}

/// Generates the fleet described in the module documentation. The same spec gives the
/// same fleet, bit for bit.
pub fn generate_fleet(spec: &FleetSpec) -> Result<Fleet> {
    if spec.n < TABLE_II.len() {
        return Err(Error::param(
            "--n",
            format!(
                "must be at least {}: the fleet holds Table II's sample sessions",
                TABLE_II.len()
            ),
        ));
    }
    if spec.n > MAX_SESSIONS {
        return Err(Error::param(
            "--n",
            format!("{}: at most {MAX_SESSIONS} sessions", spec.n),
        ));
    }
    if !(0.0..=1.0).contains(&spec.bus_share) {
        return Err(Error::param("--bus-share", "must lie in [0, 1]"));
    }
    check_day(spec.day)?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    // Exactly round(bus_share · n) buses, Table II's one included, in shuffled positions.
    let samples_bus = TABLE_II.iter().filter(|s| s.kind == Kind::Bus).count();
    let n_gen = spec.n - TABLE_II.len();
    let n_bus = ((spec.bus_share * spec.n as f64).round() as usize)
        .saturating_sub(samples_bus)
        .min(n_gen);
    let mut is_bus: Vec<bool> = (0..n_gen).map(|i| i < n_bus).collect();
    is_bus.shuffle(&mut rng);
    let mut is_bus = is_bus.into_iter();
    let mut evs = Vec::with_capacity(spec.n);
    let mut samples = TABLE_II.iter().peekable();
    let mut id: u64 = 0;
    while evs.len() < spec.n {
        id += 1;
        if let Some(s) = samples.next_if(|s| u64::from(s.id) == id) {
            evs.push(Ev {
                site: None,
                session_id: None,
                id: id.to_string(),
                kind: s.kind,
                capacity_kwh: s.capacity_kwh,
                initial_kwh: s.initial_kwh,
                arrival: at(spec.day, s.arrival_min),
                departure: at(spec.day, s.departure_min),
                beta: None,
                a: None,
                u_idle: None,
                limits: Default::default(),
            });
            continue;
        }
        // Keep room for the samples with larger ids still to come.
        if evs.len() + samples.len() >= spec.n {
            // Only samples remain to be placed: jump to the next one.
            if let Some(s) = samples.peek() {
                id = u64::from(s.id) - 1;
            }
            continue;
        }
        let bus = is_bus.next().expect("one kind per generated session");
        let (kind, capacity_kwh, initial_kwh, arr, dep) = draw(&mut rng, bus);
        evs.push(Ev {
            site: None,
            session_id: None,
            id: id.to_string(),
            kind,
            capacity_kwh,
            initial_kwh,
            arrival: at(spec.day, arr),
            departure: at(spec.day, dep),
            beta: None,
            a: None,
            u_idle: None,
            limits: Default::default(),
        });
    }
    Fleet::new(evs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::time::format_time;

    #[test]
    fn the_day_is_checked_before_drawing_with_both_days_in_range() {
        let spec = |day: &str, time: (u32, u32)| FleetSpec {
            n: TABLE_II.len(),
            day: chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(time.0, time.1, 0)
                .unwrap(),
            ..FleetSpec::default()
        };
        // The first and last days whose sessions (into the next day) fit the time range.
        for day in ["1970-01-01", "2100-12-30"] {
            let fleet = generate_fleet(&spec(day, (0, 0))).unwrap();
            assert_eq!(fleet.len(), TABLE_II.len(), "{day}");
        }
        for (day, time, shown) in [
            ("1969-12-31", (0, 0), "not 1969-12-31"),
            ("2100-12-31", (0, 0), "not 2100-12-31"),
            ("2021-05-27", (7, 0), "not 2021-05-27T07:00"),
            ("2021-05-27", (0, 1), "not 2021-05-27T00:01"),
        ] {
            let e = generate_fleet(&spec(day, time)).unwrap_err().to_string();
            assert!(
                e.contains("--day")
                    && e.contains("from 1970-01-01 to 2100-12-30")
                    && e.contains(shown),
                "{day} {time:?}: {e}"
            );
        }
        let e = generate_fleet(&FleetSpec {
            bus_share: 1.5,
            ..FleetSpec::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("--bus-share"), "{e}");
    }

    #[test]
    fn table_ii_rows_appear_verbatim_under_their_ids() {
        let fleet = generate_fleet(&FleetSpec::default()).unwrap();
        assert_eq!(fleet.len(), 2000);
        let csv = fleet.to_csv();
        for row in [
            "1,bus,160,57.2,2021-05-27T16:00,2021-05-28T06:30",
            "71,private,64,19.9,2021-05-27T17:45,2021-05-28T16:30",
            "74,private,65,17.7,2021-05-27T14:30,2021-05-28T04:30",
            "215,private,40,26.2,2021-05-27T05:45,2021-05-27T10:15",
            "217,private,65,37.1,2021-05-27T00:00,2021-05-27T12:00",
            "486,private,32,20.2,2021-05-27T21:30,2021-05-28T12:00",
        ] {
            assert!(csv.lines().any(|l| l == row), "missing {row}");
        }
    }

    #[test]
    fn ids_are_one_to_n_and_sorted() {
        let fleet = generate_fleet(&FleetSpec {
            n: 500,
            ..FleetSpec::default()
        })
        .unwrap();
        let ids: Vec<u64> = fleet.evs().iter().map(|e| e.id.parse().unwrap()).collect();
        assert_eq!(ids, (1..=500).collect::<Vec<_>>());
    }

    #[test]
    fn small_fleets_keep_every_sample() {
        let fleet = generate_fleet(&FleetSpec {
            n: 8,
            ..FleetSpec::default()
        })
        .unwrap();
        let ids: Vec<&str> = fleet.evs().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "71", "74", "215", "217", "486"]);
        assert!(generate_fleet(&FleetSpec {
            n: 5,
            ..FleetSpec::default()
        })
        .is_err());
        // Too many sessions are refused before anything is allocated.
        for n in [MAX_SESSIONS + 1, usize::MAX] {
            let e = generate_fleet(&FleetSpec {
                n,
                ..FleetSpec::default()
            })
            .unwrap_err()
            .to_string();
            assert!(e.contains("--n") && e.contains("at most 10000000"), "{e}");
        }
    }

    #[test]
    fn same_seed_same_fleet_other_seed_other_fleet() {
        let spec = FleetSpec {
            n: 300,
            ..FleetSpec::default()
        };
        let a = generate_fleet(&spec).unwrap().to_csv();
        assert_eq!(a, generate_fleet(&spec).unwrap().to_csv());
        let b = generate_fleet(&FleetSpec { seed: 7, ..spec })
            .unwrap()
            .to_csv();
        assert_ne!(a, b);
    }

    #[test]
    fn sessions_follow_the_stated_distributions() {
        let fleet = generate_fleet(&FleetSpec::default()).unwrap();
        let evs = fleet.evs();
        let buses = evs.iter().filter(|e| e.kind == Kind::Bus).count();
        assert_eq!(buses, 200);
        for e in evs {
            let (lo, hi) = match e.kind {
                Kind::Bus => (150.0, 300.0),
                Kind::Private => (30.0, 80.0),
            };
            let sample = TABLE_II.iter().any(|s| s.id.to_string() == e.id);
            if !sample {
                assert!((lo..=hi).contains(&e.capacity_kwh), "{e:?}");
                assert_eq!(e.arrival.and_utc().timestamp() % 300, 0, "{e:?}");
            }
            assert!(e.initial_kwh <= e.capacity_kwh && e.departure > e.arrival);
        }
        // Commuters: a morning arrival peak; most cars plugged at 11:00.
        let at11 = crate::data::time::parse_time("2021-05-27T11:00").unwrap();
        let plugged = evs
            .iter()
            .filter(|e| e.arrival <= at11 && e.departure > at11)
            .count();
        assert!(plugged > 800, "{plugged} plugged at 11:00");
        let night = crate::data::time::parse_time("2021-05-28T03:00").unwrap();
        let plugged_night = evs
            .iter()
            .filter(|e| e.arrival <= night && e.departure > night)
            .count();
        assert!(
            (300..plugged).contains(&plugged_night),
            "{plugged_night} plugged at 03:00 ({})",
            format_time(night)
        );
    }
}
