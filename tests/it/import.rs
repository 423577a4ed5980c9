//! `v2g fleet import`: real sessions to a fleet in one command, simulated in a second.

use std::path::Path;
use std::process::Output;

use crate::common::*;

/// `v2g fleet import --format FORMAT INPUT --out OUT` with further arguments.
fn import(format: &str, input: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<std::ffi::OsString> = vec![
        "fleet".into(),
        "import".into(),
        "--format".into(),
        format.into(),
        input.into(),
        "--out".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    v2g(args)
}

/// Stderr of an import refused with exit code 2 that wrote nothing.
fn refused(format: &str, input: &Path, out: &Path) -> String {
    let o = import(format, input, out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!out.exists());
    stderr(&o)
}

#[test]
fn an_import_never_writes_over_its_input() {
    let dir = tmp();
    let input = dir.path().join("sessions.json");
    let bytes = std::fs::read(test_data("import/acn.json")).unwrap();
    std::fs::write(&input, &bytes).unwrap();
    let same = dir.path().join(".").join("sessions.json");
    let o = import("acn", &input, &same, &["--day", "2019-11-02"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("destroy the input"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&input).unwrap(), bytes);
}

#[test]
fn import_acn_then_simulate() {
    let dir = tmp();
    let fleet = dir.path().join("fleet.csv");
    let input = test_data("import/acn.json");
    let o = import(
        "acn",
        &input,
        &fleet,
        &["--day", "2019-11-02", "--seed", "7"],
    );
    ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains("imported 2 sessions, 2 skipped (2 outside --day), assumptions:"),
        "{err}"
    );
    let (header, rows) = read_csv(&fleet);
    assert!(header.iter().any(|h| h == "target_kwh"), "{header:?}");
    assert_eq!(rows.len(), 2);
    // The session past midnight keeps its local (PST) departure the next day.
    assert_eq!(rows[0][4], "2019-11-02T16:00");
    assert_eq!(rows[0][5], "2019-11-03T10:00");

    // The default horizon (2021) holds none of these sessions: refused, with the start
    // to give; with it the day runs.
    let out = dir.path().join("run");
    let o = simulate(&["--fleet", fleet.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("give --start 2019-11-02T"),
        "{}",
        stderr(&o)
    );
    ok(&simulate(
        &[
            "--fleet",
            fleet.to_str().unwrap(),
            "--start",
            "2019-11-02T07:00",
        ],
        &out,
    ));
    let (_, evs) = read_csv(&out.join("evs.csv"));
    assert_eq!(evs.len(), 2);
}

#[test]
fn import_bad_row_exits_2_located() {
    let dir = tmp();
    let bad = write(
        dir.path(),
        "s.csv",
        "arrival,departure,requested_energy (kWh),delivered_energy (kWh),station_id,session_id,estimated_departure,claimed\n\
         2019-11-02 08:00:00,soon,5,5,CA-1,s1,,False\n",
    );
    let err = refused("sustaingym", &bad, &dir.path().join("f.csv"));
    assert!(err.contains("s.csv") && err.contains("departure"), "{err}");
}

#[test]
fn import_bad_acn_record_exits_2_at_its_line_and_column() {
    let dir = tmp();
    let good = r#"{"sessionID": "s1", "timezone": "UTC", "kWhDelivered": 5,
     "connectionTime": "Sat, 02 Nov 2019 08:00:00 GMT",
     "disconnectTime": "Sat, 02 Nov 2019 10:00:00 GMT"}"#;
    let bad = good
        .replace("\"s1\"", "\"s2\"")
        .replace("\"kWhDelivered\": 5", "\"kWhDelivered\": \"lots\"");
    let bad = write(
        dir.path(),
        "s.json",
        &format!("{{\"_items\": [\n  {good},\n  {bad}\n]}}\n"),
    );
    let err = refused("acn", &bad, &dir.path().join("f.csv"));
    // Record 2 starts on line 5; its kWhDelivered value is at column 58.
    assert!(
        err.contains(
            "s.json:5:58 (kWhDelivered): record 2 of _items: kWhDelivered must be a number >= 0"
        ),
        "{err}"
    );
}
