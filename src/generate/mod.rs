//! Seeded synthetic data standing in for the paper's SUSTech records, which are not
//! public (docs/model.md §6): a fleet of plug-in sessions ([`fleet`]) and the campus
//! grid day ([`grid`]).
//!
//! Both generators draw from one ChaCha8 stream seeded by the caller (`rand_chacha`, whose
//! output is fixed by its specification and independent of platform and thread count), and
//! round every number they write, so the same seed reproduces the shipped files byte for
//! byte. The distributions, and why they were chosen, are stated on each generator and in
//! `data/README.md`.

pub mod fleet;
pub mod grid;

use chrono::{NaiveDate, NaiveDateTime};

/// The seed of the shipped case-study files `data/sustech.csv` and `data/sustech_grid.csv`.
pub const SUSTECH_SEED: u64 = 2021;

/// Midnight of 2021-05-27, the day the paper's case study starts.
pub(crate) fn case_study_day() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2021, 5, 27)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date")
}
