//! Bad input through the real CLI: every value out of its range, every unsafe `ev_id`,
//! every grid row that cannot match a slot, and a slot with no row gets one located error
//! line and exit 2, fast, and a previous run's outputs in the same `--out` stay as they
//! were (docs/model.md §6: a file that breaks a rule is rejected whole).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

const HEAD: &str = "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure";
const TIMES: &str = "2021-05-27T07:00,2021-05-27T09:00";
const GRID_HEAD: &str = "time,base_load_kw,e_limit_kwh,p_rt";

/// A bad run must end within this (it takes milliseconds; a hang or a quadratic blow-up
/// does not).
const FAST: Duration = Duration::from_secs(1);

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                files.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

/// What one bad input must produce.
struct Case<'a> {
    /// The fleet file's text.
    fleet: String,
    /// The grid file's text, passed with `--grid` (none: no grid file).
    grid: Option<String>,
    /// Further flags.
    flags: &'a [&'a str],
    /// `file:line:column (column name): ` or `file (column name): `, as printed.
    at: &'a str,
    /// Words of the rule.
    rule: &'a str,
}

/// One good fleet row; the grid cases use it.
fn good_fleet() -> String {
    format!("{HEAD}\n1,bus,200,20,{TIMES}\n")
}

/// Makes a good run into `out` (the small shipped fleet, no ledger), runs the bad input
/// with the same `--out`, and checks: exit 2 within [`FAST`], nothing on stdout, exactly
/// one line on stderr, `v2g: error: ` then the position and the rule, and `out`
/// unchanged, byte for byte.
fn refused(case: Case<'_>) {
    let dir = tmp();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    ok(&v2g([
        "simulate",
        "--fleet",
        "data/example.csv",
        "--ledger",
        "off",
        "--out",
        out_s,
    ]));
    let before = snapshot(&out);
    assert!(before.len() >= 3, "the good run wrote its outputs");

    let fleet = write(dir.path(), "fleet.csv", &case.fleet);
    let mut args: Vec<String> = vec![
        "simulate".into(),
        "--fleet".into(),
        fleet.display().to_string(),
        "--out".into(),
        out_s.into(),
    ];
    if let Some(g) = &case.grid {
        args.push("--grid".into());
        args.push(write(dir.path(), "grid.csv", g).display().to_string());
    }
    args.extend(case.flags.iter().map(|s| s.to_string()));
    let started = Instant::now();
    let o = v2g_within(&args, Duration::from_secs(20));
    let took = started.elapsed();

    let err = stderr(&o);
    let shown = &err[..err.len().min(400)];
    assert_eq!(o.status.code(), Some(2), "{}: {shown}", case.rule);
    assert!(took < FAST, "{}: took {took:?}", case.rule);
    assert!(stdout(&o).is_empty(), "{}: {}", case.rule, stdout(&o));
    assert_eq!(err.lines().count(), 1, "one line expected: {shown}");
    assert!(err.len() < 400, "a short line expected: {shown}");
    assert!(err.starts_with("v2g: error: "), "{shown}");
    assert!(
        err.contains(&format!(
            "{}{}",
            dir.path().display(),
            std::path::MAIN_SEPARATOR
        )),
        "the file is named: {err}"
    );
    assert!(err.contains(case.at), "'{}' not in: {err}", case.at);
    assert!(err.contains(case.rule), "'{}' not in: {err}", case.rule);
    assert!(
        err.chars()
            .all(|c| c == '\n' || c == '…' || (' '..='~').contains(&c)),
        "escaped to printable ASCII: {err:?}"
    );
    // A line named is a line of the file.
    for (name, text) in [
        ("fleet.csv", Some(&case.fleet)),
        ("grid.csv", case.grid.as_ref()),
    ] {
        if let Some(i) = err.find(&format!("{name}:")) {
            let digits: String = err[i + name.len() + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(line) = digits.parse::<usize>() {
                let lines = text.unwrap().lines().count();
                assert!((1..=lines).contains(&line), "line {line} of {lines}: {err}");
            }
        }
    }
    assert!(
        snapshot(&out) == before,
        "{}: the previous outputs must stay intact",
        case.rule
    );
}

fn fleet_case<'a>(rows: &str, at: &'a str, rule: &'a str) -> Case<'a> {
    Case {
        fleet: format!("{HEAD}\n{rows}\n"),
        grid: None,
        flags: &[],
        at,
        rule,
    }
}

fn grid_case<'a>(rows: &str, flags: &'a [&'a str], at: &'a str, rule: &'a str) -> Case<'a> {
    Case {
        fleet: good_fleet(),
        grid: Some(format!("{GRID_HEAD}\n{rows}\n")),
        flags,
        at,
        rule,
    }
}

const PRINTABLE: &str = "ev_id must be printable ASCII without spaces (bytes 0x21 to 0x7E)";

#[test]
fn nul_in_ev_id() {
    refused(fleet_case(
        &format!("a\0b,bus,200,20,{TIMES}"),
        "fleet.csv:2:1 (ev_id): ",
        &format!("{PRINTABLE}: \"a\\u{{0}}b\" has \"\\u{{0}}\" at character 2"),
    ));
}

#[test]
fn other_control_characters_in_ev_id() {
    for (id, shown) in [
        (
            "\u{1b}[31mred",
            "\"\\u{1b}[31mred\" has \"\\u{1b}\" at character 1",
        ),
        ("a\tb", "\"a\\tb\" has \"\\t\" at character 2"),
        ("x\u{7f}", "\"x\\u{7f}\" has \"\\u{7f}\" at character 2"),
        ("\u{1}", "\"\\u{1}\" has \"\\u{1}\" at character 1"),
    ] {
        let rule = format!("{PRINTABLE}: {shown}");
        refused(fleet_case(
            &format!("{id},bus,200,20,{TIMES}"),
            "fleet.csv:2:1 (ev_id): ",
            &rule,
        ));
    }
    // A line break inside a quoted field: the record's first line is named.
    refused(fleet_case(
        &format!("1,bus,200,20,{TIMES}\n\"a\nb\",bus,200,20,{TIMES}"),
        "fleet.csv:3:1 (ev_id): ",
        &format!("{PRINTABLE}: \"a\\nb\" has \"\\n\" at character 2"),
    ));
    // A space inside (a space around the field is trimmed, like every field's).
    refused(fleet_case(
        &format!("bus 7,bus,200,20,{TIMES}"),
        "fleet.csv:2:1 (ev_id): ",
        &format!("{PRINTABLE}: \"bus 7\" has \" \" at character 4"),
    ));
}

#[test]
fn non_ascii_ev_id() {
    // Cyrillic 'а' and a full-width digit look like ASCII; they are shown escaped.
    refused(fleet_case(
        &format!("b\u{430}s,bus,200,20,{TIMES}"),
        "fleet.csv:2:1 (ev_id): ",
        &format!("{PRINTABLE}: \"b\\u{{430}}s\" has \"\\u{{430}}\" at character 2"),
    ));
    refused(fleet_case(
        &format!("1,bus,200,20,{TIMES}\n\u{ff11},bus,200,20,{TIMES}"),
        "fleet.csv:3:1 (ev_id): ",
        &format!("{PRINTABLE}: \"\\u{{ff11}}\" has \"\\u{{ff11}}\" at character 1"),
    ));
}

#[test]
fn ev_id_over_64_characters() {
    let id = "x".repeat(65);
    refused(fleet_case(
        &format!("{id},bus,200,20,{TIMES}"),
        "fleet.csv:2:1 (ev_id): ",
        &format!(
            "ev_id must be at most 64 characters, not 65: \"{}…\" (65 chars)",
            "x".repeat(40)
        ),
    ));
    // A megabyte-long id: the line stays short.
    let id = "y".repeat(1 << 20);
    refused(fleet_case(
        &format!("{id},bus,200,20,{TIMES}"),
        "fleet.csv:2:1 (ev_id): ",
        "ev_id must be at most 64 characters, not 1048576",
    ));
}

/// The optional columns of docs/model.md §3.1 (departure target, charger power): each bad
/// value is a located error with exit 2.
#[test]
fn target_and_power_columns_out_of_range() {
    let head = format!("{HEAD},target_kwh,max_kw,max_discharge_kw");
    let cases = [
        (
            "-1,,",
            "fleet.csv:2:7 (target_kwh): ",
            "target_kwh must be a finite number >= 0",
        ),
        (
            "200.5,,",
            "fleet.csv:2:7 (target_kwh): ",
            "target_kwh must be <= capacity_kwh",
        ),
        (
            "abc,,",
            "fleet.csv:2:7 (target_kwh): ",
            "target_kwh must be a number, not \"abc\"",
        ),
        (
            "inf,,",
            "fleet.csv:2:7 (target_kwh): ",
            "target_kwh must be a finite number",
        ),
        (
            ",0,",
            "fleet.csv:2:8 (max_kw): ",
            "max_kw must be a finite number > 0 and <= 10000",
        ),
        (
            ",-7,",
            "fleet.csv:2:8 (max_kw): ",
            "max_kw must be a finite number > 0 and <= 10000",
        ),
        (
            ",10000.5,",
            "fleet.csv:2:8 (max_kw): ",
            "max_kw must be a finite number > 0 and <= 10000",
        ),
        (
            ",NaN,",
            "fleet.csv:2:8 (max_kw): ",
            "max_kw must be a finite number",
        ),
        (
            ",,-0.5",
            "fleet.csv:2:9 (max_discharge_kw): ",
            "max_discharge_kw must be a finite number >= 0 and <= 10000",
        ),
        (
            ",,1e5",
            "fleet.csv:2:9 (max_discharge_kw): ",
            "max_discharge_kw must be a finite number >= 0 and <= 10000",
        ),
    ];
    for (extra, at, rule) in cases {
        refused(Case {
            fleet: format!("{head}\n1,bus,200,20,{TIMES},{extra}\n"),
            grid: None,
            flags: &[],
            at,
            rule,
        });
    }
}

#[test]
fn fleet_values_out_of_range() {
    let cases = [
        (
            "1,bus,1e308,20",
            "fleet.csv:2:3 (capacity_kwh): ",
            "capacity_kwh must be a finite number > 0 and <= 10000",
        ),
        (
            "1,bus,10000.5,20",
            "fleet.csv:2:3 (capacity_kwh): ",
            "capacity_kwh must be a finite number > 0 and <= 10000",
        ),
    ];
    for (row, at, rule) in cases {
        refused(fleet_case(&format!("{row},{TIMES}"), at, rule));
    }
    refused(fleet_case(
        "1,bus,200,20,1900-01-01T00:00,2021-05-27T09:00",
        "fleet.csv:2:5 (arrival): ",
        "arrival must lie between 1970-01-01T00:00 and 2100-12-31T23:59, not 1900-01-01T00:00",
    ));
    refused(fleet_case(
        "1,bus,200,20,2021-05-27T07:00,9999-12-31T23:59",
        "fleet.csv:2:6 (departure): ",
        "departure must lie between 1970-01-01T00:00 and 2100-12-31T23:59, not 9999-12-31T23:59",
    ));
    for (col, v, rule) in [
        (
            "beta",
            "1e300",
            "beta must be a finite number > 0 and <= 100",
        ),
        ("a", "-1e300", "a must be a finite number <= 0 and >= -100"),
        (
            "u_idle",
            "101",
            "u_idle must be a finite number >= 0 and <= 100",
        ),
    ] {
        refused(Case {
            fleet: format!("{HEAD},{col}\n1,bus,200,20,{TIMES},{v}\n"),
            grid: None,
            flags: &[],
            at: &format!("fleet.csv:2:7 ({col}): "),
            rule,
        });
    }
}

#[test]
fn negative_base_load() {
    refused(grid_case(
        "2021-05-27T07:00,-1,0,",
        &["--slots", "1"],
        "grid.csv:2:2 (base_load_kw): ",
        "base_load_kw must be a finite number >= 0 and <= 1e7",
    ));
}

#[test]
fn e_limit_of_1e308() {
    // It used to hang the run at the figures; now it never gets that far.
    refused(grid_case(
        "2021-05-27T07:00,3000,1e308,",
        &["--slots", "1"],
        "grid.csv:2:3 (e_limit_kwh): ",
        "e_limit_kwh must be a finite number >= 0 and <= 1e7",
    ));
}

#[test]
fn p_rt_of_1e300() {
    // It used to pass and fail later as an 'epsilon' error with no file or line.
    refused(grid_case(
        "2021-05-27T07:00,3000,0,0.5\n2021-05-27T07:15,3000,0,1e300",
        &["--slots", "2"],
        "grid.csv:3:4 (p_rt): ",
        "p_rt must be a finite number >= 0 and <= 100",
    ));
}

#[test]
fn grid_time_with_seconds() {
    refused(grid_case(
        "2021-05-27T07:00:30,3000,0,",
        &["--slots", "1"],
        "grid.csv:2:1 (time): ",
        "time must lie on a whole minute (seconds 0), not 2021-05-27T07:00:30",
    ));
}

#[test]
fn grid_time_out_of_years() {
    refused(grid_case(
        "2101-01-01T00:00,3000,0,",
        &["--slots", "1"],
        "grid.csv:2:1 (time): ",
        "time must lie between 1970-01-01T00:00 and 2100-12-31T23:59, not 2101-01-01T00:00",
    ));
}

#[test]
fn missing_grid_row_names_no_line_past_the_end() {
    // Two lines; slot 1 has no row: the file is named without a line.
    refused(grid_case(
        "2021-05-27T07:00,3000,0,",
        &["--slots", "2"],
        "grid.csv (time): ",
        "no row for slot 1 (2021-05-27T07:15) of the horizon",
    ));
    // A grid file with only its header: slot 0 is missing.
    refused(Case {
        fleet: good_fleet(),
        grid: Some(format!("{GRID_HEAD}\n")),
        flags: &["--slots", "1"],
        at: "grid.csv (time): ",
        rule: "no row for slot 0 (2021-05-27T07:00) of the horizon",
    });
}

#[test]
fn a_fleet_with_no_rows_names_no_line_past_the_end() {
    refused(Case {
        fleet: format!("{HEAD}\n"),
        grid: None,
        flags: &[],
        at: "fleet.csv: ",
        rule: "the fleet has no sessions",
    });
}

#[test]
fn megabyte_fields_give_a_short_line() {
    let huge = "\u{1b}".repeat(1 << 20);
    refused(fleet_case(
        &format!("1,{huge},200,20,{TIMES}"),
        "fleet.csv:2:2 (kind): ",
        "kind must be 'bus' or 'private', not \"\\u{1b}",
    ));
    refused(grid_case(
        &format!("2021-05-27T07:00,{huge},0,"),
        &["--slots", "1"],
        "grid.csv:2:2 (base_load_kw): ",
        "base_load_kw must be a number, not \"\\u{1b}",
    ));
}

#[test]
fn shipped_and_test_data_pass_the_rules() {
    for (fleet, grid) in [
        ("data/example.csv", "data/example_grid.csv"),
        ("data/sustech.csv", "data/sustech_grid.csv"),
    ] {
        v2g::Fleet::load(&root().join(fleet)).unwrap();
        v2g::GridSignals::load(&root().join(grid)).unwrap();
    }
    v2g::Fleet::load(&test_data("two_ev.csv")).unwrap();
    v2g::GridSignals::load(&test_data("two_ev_grid.csv")).unwrap();
}

/// A fleet wholly outside the horizon (real sessions of 2019 under the default 2021 day)
/// is refused before anything runs, naming the fleet's dates and the `--start` to give;
/// with that start the same fleet runs.
#[test]
fn a_horizon_without_sessions_names_the_fleets_dates_and_the_start() {
    let dir = tmp();
    let fleet = dir.path().join("fleet.csv");
    std::fs::write(
        &fleet,
        "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure\n\
         a,private,60,20,2019-11-02T08:20,2019-11-02T17:05\n\
         b,private,60,30,2019-11-02T09:00,2019-11-03T07:45\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let simulate = |more: &[&str]| {
        let mut args = vec![
            "simulate".into(),
            "--fleet".into(),
            fleet.clone().into_os_string(),
        ];
        args.extend(["--out".into(), out.clone().into_os_string(), "-q".into()]);
        args.extend(more.iter().map(std::ffi::OsString::from));
        v2g(args)
    };
    let o = simulate(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("v2g: error: invalid parameter --start: no session of the fleet is plugged in during the horizon 2021-05-27T07:00 to 2021-05-28T07:00: the fleet's sessions run from 2019-11-02T08:20 to 2019-11-03T07:45; give --start 2019-11-02T08:00"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
    let o = simulate(&["--start", "2019-11-02T08:00", "--ledger", "off"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("evs.csv").exists());
}

/// One usage error: exit 2, nothing on stdout, one line on stderr starting
/// `v2g: error: ` and holding each of `words`.
fn usage_refused(args: &[&str], words: &[&str]) {
    let o = v2g(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
    assert_eq!(err.lines().count(), 1, "{args:?}: one line expected: {err}");
    assert!(err.starts_with("v2g: error: "), "{args:?}: {err}");
    for w in words {
        assert!(err.contains(w), "{args:?}: '{w}' not in: {err}");
    }
}

#[test]
fn negative_and_fractional_counts_are_usage_errors_with_the_rule() {
    let fleet = ["simulate", "--fleet", "data/example.csv"];
    for (flag, value) in [
        ("--byzantine", "-1"),
        ("--seed", "-5"),
        ("--workers", "-1"),
        ("--workers", "2.5"),
        ("--slots", "-96"),
        ("--slots", "many"),
    ] {
        let args: Vec<&str> = fleet.iter().copied().chain([flag, value]).collect();
        usage_refused(
            &args,
            &[&format!(
                "v2g: error: invalid value '{value}' for {flag}: must be a whole number ≥ 0"
            )],
        );
    }
    usage_refused(
        &[
            "simulate",
            "--fleet",
            "x.csv",
            "--seed",
            "18446744073709551616",
        ],
        &["for --seed: must be a whole number from 0 to 18446744073709551615"],
    );
    usage_refused(
        &["fleet", "generate", "--n", "-3", "--out", "f.csv"],
        &["invalid value '-3' for --n: must be a whole number ≥ 0"],
    );
    usage_refused(
        &["grid", "generate", "--slots", "-1", "--out", "g.csv"],
        &["invalid value '-1' for --slots: must be a whole number ≥ 0"],
    );
    usage_refused(
        &["sweep", "spec.toml", "--out", "s", "--jobs", "-2"],
        &["invalid value '-2' for --jobs: must be a whole number ≥ 0"],
    );
    usage_refused(
        &["sweep", "spec.toml", "--out", "s", "--shard", "-1/2"],
        &[
            "invalid value '-1/2' for --shard: ",
            "I/N with whole numbers",
        ],
    );
    usage_refused(
        &["sweep", "spec.toml", "--out", "s", "--shard", "2/2"],
        &["invalid value '2/2' for --shard: ", "0 <= I < N"],
    );
    usage_refused(
        &["simulate", "--fleet", "x.csv", "--epsilon", "tiny"],
        &["invalid value 'tiny' for --epsilon: must be a number (such as 0.001 or 1e-3)"],
    );
    usage_refused(
        &["fleet", "generate", "--out", "f.csv", "--bus-share", "half"],
        &["invalid value 'half' for --bus-share: must be a number"],
    );
    usage_refused(
        &["simulate", "--fleet", "x.csv", "--solver", "fast"],
        &["invalid value 'fast' for --solver: must be one of grid, exact"],
    );
}

#[test]
fn other_usage_errors_are_one_prefixed_line_naming_the_help() {
    usage_refused(
        &["simulate", "--fleat", "x"],
        &["unexpected argument '--fleat'", "'v2g simulate --help'"],
    );
    usage_refused(
        &["simulate"],
        &["required arguments were not provided: --fleet <FILE>"],
    );
    usage_refused(&["simulat"], &["unrecognized subcommand 'simulat'"]);
    usage_refused(
        &[
            "verify",
            "l.jsonl",
            "--genesis",
            "g.json",
            "--genesis-hash",
            "00",
        ],
        &["--genesis", "cannot be used with", "'v2g verify --help'"],
    );
    // Help and version are what was asked for: clap's text, exit 0.
    let help = ok(&v2g(["simulate", "--help"]));
    assert!(help.starts_with("Replay a fleet"), "{help}");
    assert!(ok(&v2g(["--version"])).starts_with("v2g "));
}
