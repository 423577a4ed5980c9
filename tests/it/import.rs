//! `v2g fleet import`: real sessions to a fleet in one command, simulated in a second.

use crate::common::*;

#[test]
fn import_acn_then_simulate() {
    let dir = tmp();
    let fleet = dir.path().join("fleet.csv");
    let input = test_data("import/acn.json");
    let o = v2g([
        "fleet".as_ref(),
        "import".as_ref(),
        "--format".as_ref(),
        "acn".as_ref(),
        input.as_os_str(),
        "--out".as_ref(),
        fleet.as_os_str(),
        "--day".as_ref(),
        "2019-11-02".as_ref(),
        "--seed".as_ref(),
        "7".as_ref(),
    ]);
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

    let out = dir.path().join("run");
    ok(&simulate(&["--fleet", fleet.to_str().unwrap()], &out));
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
    let out = dir.path().join("f.csv");
    let o = v2g([
        "fleet".as_ref(),
        "import".as_ref(),
        "--format".as_ref(),
        "sustaingym".as_ref(),
        bad.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("s.csv") && err.contains("departure"), "{err}");
    assert!(!out.exists());
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
    let out = dir.path().join("f.csv");
    let o = v2g([
        "fleet".as_ref(),
        "import".as_ref(),
        "--format".as_ref(),
        "acn".as_ref(),
        bad.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    // Record 2 starts on line 5; its kWhDelivered value is at column 58.
    assert!(
        err.contains(
            "s.json:5:58 (kWhDelivered): record 2 of _items: kWhDelivered must be a number >= 0"
        ),
        "{err}"
    );
    assert!(!out.exists());
}
