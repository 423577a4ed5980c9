//! `v2g simulate`: outputs, a hand-computed case, and every bad-input rule.

use approx::assert_relative_eq;

use crate::common::*;

#[test]
fn example_fleet_writes_the_three_outputs_with_model_columns() {
    let dir = tmp();
    let out = dir.path().join("out");
    let o = simulate(&["--fleet", "data/example.csv"], &out);
    let text = ok(&o);
    assert!(text.contains("EVA revenue"), "{text}");
    assert!(stderr(&o).contains("example_grid.csv"), "{}", stderr(&o));
    let (h, rows) = read_csv(&out.join("slots.csv"));
    assert_eq!(
        h.join(","),
        "slot,time,p_rt,p_c,p_d,e_limit_kwh,n_plugged,n_charge,n_discharge,n_idle,charge_kwh,discharge_kwh,r_service,r_grid,c_v2g,c_limit,revenue,base_load_kw,wear_cny"
    );
    assert_eq!(rows.len(), 96);
    let (h, rows) = read_csv(&out.join("evs.csv"));
    assert_eq!(
        h.join(","),
        "ev_id,kind,arrival,departure,initial_kwh,final_kwh,paid_cny,received_cny,net_cost_cny,baseline_final_kwh,baseline_cost_cny,target_kwh,target_reachable,target_met,shortfall_kwh,cost_per_kwh_delivered,session_id,wear_cny"
    );
    assert_eq!(rows.len(), 6);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for key in ["eva", "energy", "evs", "periods"] {
        assert!(summary.get(key).is_some(), "summary lacks {key}");
    }
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

/// Two EVs, two slots from 12:00 (flat tariff: p_rt = 0.66, p_c = 1.16, p_d,min = -1.98),
/// epsilon 0.5: candidates 0, -0.5, -1.0, -1.5 and p_d,min = -1.98 itself.
///
/// EV A (40 kWh, 4 kWh, SOC 0.1): w = 0.16/0.1 = 1.6; x_c = 1.6/(1.16 ln 2) - 1 = 0.98992...
/// with u_c = 0.44003 > 0, so it charges; at any candidate its discharge utility is below
/// that (at -1.98: x_d = -0.828, u_d = 0.397). In slot 1 its SOC is 7.7122/40, w = 0.82985,
/// x_c = 0.032089 (u_c = 0.00059 > 0): it charges a little.
///
/// EV B (37.5 kWh, 30 kWh, SOC 0.8): w = 0.2, no charging regime (x_c < 0), so it idles
/// unless paid; at p_d <= -0.5 its x_d clamps to -1 with u_d = -0.21 - p_d > 0: it
/// discharges 3.75 kWh. With E_limit = 3.75 the penalty vanishes at every discharging
/// candidate, so the EVA picks the cheapest: p_d* = -0.5.
///
/// R(slot 0) = 0.5·3.75·0.98992 + 0.792·3.75 - 0.5·3.75 = 2.95111,
/// R(slot 1) = 0.5·3.75·0.032089 + 1.095 = 1.15517.
#[test]
fn hand_computed_two_ev_two_slot_case() {
    let dir = tmp();
    let out = dir.path().join("out");
    ok(&simulate(
        &[
            "--fleet",
            "tests/data/two_ev.csv",
            "--start",
            "2021-05-27T12:00",
            "--slots",
            "2",
            "--epsilon",
            "0.5",
        ],
        &out,
    ));
    let (h, rows) = read_csv(&out.join("slots.csv"));
    let col = |r: &Vec<String>, name: &str| {
        let i = h.iter().position(|c| c == name).unwrap();
        r[i].clone()
    };
    let expect = [
        (2.9511078643680086, 1.8561078643680087, 3.7122157287360174),
        (1.155167788663253, 0.06016778866325262, 0.12033557732650524),
    ];
    for (r, (rev, r_service, charge)) in rows.iter().zip(expect) {
        assert_eq!(col(r, "p_rt"), "0.66");
        assert_eq!(col(r, "p_d"), "-0.5");
        assert_eq!(col(r, "n_plugged"), "2");
        assert_eq!(col(r, "n_charge"), "1");
        assert_eq!(col(r, "n_discharge"), "1");
        assert_eq!(col(r, "n_idle"), "0");
        assert_relative_eq!(num(&col(r, "discharge_kwh")), 3.75, max_relative = 1e-12);
        assert_relative_eq!(num(&col(r, "r_grid")), 2.97, max_relative = 1e-12);
        assert_relative_eq!(num(&col(r, "c_v2g")), 1.875, max_relative = 1e-12);
        assert!(num(&col(r, "c_limit")).abs() < 1e-12);
        assert_relative_eq!(num(&col(r, "revenue")), rev, max_relative = 1e-9);
        assert_relative_eq!(num(&col(r, "r_service")), r_service, max_relative = 1e-9);
        assert_relative_eq!(num(&col(r, "charge_kwh")), charge, max_relative = 1e-9);
    }
    let (h, rows) = read_csv(&out.join("evs.csv"));
    let col = |r: &Vec<String>, name: &str| num(&r[h.iter().position(|c| c == name).unwrap()]);
    let (a, b) = (&rows[0], &rows[1]);
    assert_relative_eq!(col(a, "final_kwh"), 7.832551306062523, max_relative = 1e-9);
    assert_relative_eq!(col(a, "paid_cny"), 4.445759515032526, max_relative = 1e-9);
    assert_eq!(col(a, "received_cny"), 0.0);
    // Baseline: x_max = 1 in both slots, 7.5 kWh at 1.16.
    assert_relative_eq!(col(a, "baseline_final_kwh"), 11.5, max_relative = 1e-12);
    assert_relative_eq!(col(a, "baseline_cost_cny"), 8.7, max_relative = 1e-12);
    assert_relative_eq!(col(b, "final_kwh"), 22.5, max_relative = 1e-12);
    assert_relative_eq!(col(b, "received_cny"), 3.75, max_relative = 1e-12);
    assert_relative_eq!(col(b, "net_cost_cny"), -3.75, max_relative = 1e-12);
    assert_relative_eq!(col(b, "baseline_final_kwh"), 37.5, max_relative = 1e-12);
}

#[test]
fn same_inputs_give_byte_identical_outputs_for_any_worker_count() {
    let dir = tmp();
    let mut previous: Option<(Vec<u8>, Vec<u8>)> = None;
    for workers in ["1", "3", "64"] {
        let out = dir.path().join(workers);
        ok(&simulate(
            &["--fleet", "data/example.csv", "--workers", workers],
            &out,
        ));
        let now = (
            std::fs::read(out.join("slots.csv")).unwrap(),
            std::fs::read(out.join("evs.csv")).unwrap(),
        );
        if let Some(p) = &previous {
            assert!(p == &now, "outputs differ with {workers} workers");
        }
        previous = Some(now);
    }
}

#[test]
fn without_a_grid_file_there_is_no_auxiliary_task() {
    let dir = tmp();
    let fleet = write(
        dir.path(),
        "lonely.csv",
        "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure\n1,bus,200,20,2021-05-27T07:00,2021-05-27T09:00\n",
    );
    let out = dir.path().join("out");
    let o = v2g([
        "simulate".as_ref(),
        "--fleet".as_ref(),
        fleet.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    ok(&o);
    assert!(stderr(&o).contains("no auxiliary task"), "{}", stderr(&o));
    let (_, rows) = read_csv(&out.join("slots.csv"));
    assert!(
        rows.iter().all(|r| num(&r[5]) == 0.0),
        "e_limit_kwh must be 0"
    );
}

const HEAD: &str = "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure";
const ROW: &str = "1,bus,200,20,2021-05-27T07:00,2021-05-27T09:00";

/// Runs simulate on a fleet (and optional grid / scenario text) and checks: exit code 2,
/// one error line naming `where_` (file:line:column) and containing `rule`, nothing written.
fn rejected(
    fleet: &str,
    grid: Option<&str>,
    scenario: Option<&str>,
    flags: &[&str],
    where_: &str,
    rule: &str,
) {
    let dir = tmp();
    let f = write(dir.path(), "fleet.csv", fleet);
    let out = dir.path().join("out");
    let mut args: Vec<std::ffi::OsString> = vec![
        "simulate".into(),
        "--fleet".into(),
        f.into(),
        "--out".into(),
        out.clone().into(),
    ];
    if let Some(g) = grid {
        args.push("--grid".into());
        args.push(write(dir.path(), "grid.csv", g).into());
    }
    if let Some(s) = scenario {
        args.push("--scenario".into());
        args.push(write(dir.path(), "s.toml", s).into());
    }
    args.extend(flags.iter().map(Into::into));
    let o = v2g(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{where_} {rule}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "one error line expected: {err}");
    assert!(lines[0].contains(where_), "'{where_}' not in: {err}");
    assert!(lines[0].contains(rule), "'{rule}' not in: {err}");
    assert!(!out.exists(), "nothing may be written on bad input");
    assert!(stdout(&o).is_empty());
}

#[test]
fn each_fleet_rule_is_reported_with_file_line_column_and_exit_2() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "1,bus,0,0,2021-05-27T07:00,2021-05-27T09:00",
            "fleet.csv:2:3",
            "capacity_kwh must be a finite number > 0",
        ),
        (
            "1,bus,-5,0,2021-05-27T07:00,2021-05-27T09:00",
            "fleet.csv:2:3",
            "capacity_kwh",
        ),
        (
            "1,bus,10,11,2021-05-27T07:00,2021-05-27T09:00",
            "fleet.csv:2:4",
            "initial_kwh must be <= capacity_kwh",
        ),
        (
            "1,bus,10,-1,2021-05-27T07:00,2021-05-27T09:00",
            "fleet.csv:2:4",
            "initial_kwh must be a finite number >= 0",
        ),
        (
            "1,bus,10,1,2021-05-27T09:00,2021-05-27T09:00",
            "fleet.csv:2:6",
            "departure must be after arrival",
        ),
        (
            "1,bus,10,1,2021-05-27T10:00,2021-05-27T09:00",
            "fleet.csv:2:6",
            "departure must be after arrival",
        ),
        (
            "1,truck,10,1,2021-05-27T07:00,2021-05-27T09:00",
            "fleet.csv:2:2",
            "kind must be 'bus' or 'private'",
        ),
        (
            "1,bus,inf,1,2021-05-27T07:00,2021-05-27T09:00",
            "fleet.csv:2:3",
            "finite",
        ),
        (
            "1,bus,ten,1,2021-05-27T07:00,2021-05-27T09:00",
            "fleet.csv:2:3",
            "must be a number",
        ),
        (
            "1,bus,10,1,27/05/2021,2021-05-27T09:00",
            "fleet.csv:2:5",
            "arrival must be a time",
        ),
        ("1,bus,10,1,2021-05-27T07:00", "fleet.csv:2:0", "fields"),
        (
            ",bus,10,1,2021-05-27T07:00,2021-05-27T09:00",
            "fleet.csv:2:1",
            "ev_id must not be empty",
        ),
    ];
    for (row, at, rule) in cases {
        rejected(&format!("{HEAD}\n{row}\n"), None, None, &[], at, rule);
    }
    rejected(
        &format!("{HEAD}\n{ROW}\n{ROW}\n"),
        None,
        None,
        &[],
        "fleet.csv:3:5",
        "sessions of EV \"1\" overlap",
    );
    // Repeated ev_id (issue 12, point 2): sessions of one car that do not overlap.
    let again = "1,bus,200,20,2021-05-27T12:00,2021-05-27T14:00";
    for (rows, at, rule) in [
        (
            format!("{ROW}\n1,bus,200,20,2021-05-27T08:45,2021-05-27T10:00"),
            "fleet.csv:3:5",
            "sessions of EV \"1\" overlap: 2021-05-27T08:45 to 2021-05-27T10:00 here, 2021-05-27T07:00 to 2021-05-27T09:00 on line 2",
        ),
        (
            format!("{ROW}\n1,private,200,20,2021-05-27T12:00,2021-05-27T14:00"),
            "fleet.csv:3:2",
            "kind must be the same on every session of EV \"1\"",
        ),
        (
            format!("{ROW}\n1,bus,250,20,2021-05-27T12:00,2021-05-27T14:00"),
            "fleet.csv:3:3",
            "capacity_kwh must be the same on every session of EV \"1\"",
        ),
    ] {
        rejected(&format!("{HEAD}\n{rows}\n"), None, None, &[], at, rule);
    }
    for (rows, at, rule) in [
        (
            format!("{ROW},a\n{again},a"),
            "fleet.csv:3:7",
            "session_id must be unique: \"a\" is also on line 2",
        ),
        (
            format!("{ROW},a b\n{again},c"),
            "fleet.csv:2:7",
            "session_id must be printable ASCII without spaces",
        ),
        (
            format!("{ROW},{}\n", "s".repeat(65)),
            "fleet.csv:2:7",
            "session_id must be at most 64 characters",
        ),
    ] {
        rejected(
            &format!("{HEAD},session_id\n{rows}\n"),
            None,
            None,
            &[],
            at,
            rule,
        );
    }
    for (col, v, rule) in [
        ("beta", "0", "beta must be a finite number > 0"),
        ("a", "0.01", "a must be a finite number <= 0"),
        ("u_idle", "-0.1", "u_idle must be a finite number >= 0"),
    ] {
        rejected(
            &format!("{HEAD},{col}\n{ROW},{v}\n"),
            None,
            None,
            &[],
            "fleet.csv:2:7",
            rule,
        );
    }
    rejected(
        "ev_id,kind\n",
        None,
        None,
        &[],
        "fleet.csv:1:0",
        "lacks the required column 'capacity_kwh'",
    );
    for empty in ["", "\n"] {
        rejected(
            empty,
            None,
            None,
            &[],
            "fleet.csv:1:0",
            "no header: the first line must name the columns",
        );
    }
    rejected(
        &format!("{HEAD},colour\n"),
        None,
        None,
        &[],
        "fleet.csv:1:7",
        "unknown column \"colour\"",
    );
    rejected(
        &format!("{HEAD}\n"),
        None,
        None,
        &[],
        "fleet.csv: ",
        "the fleet has no sessions",
    );
}

#[test]
fn each_grid_rule_is_reported_with_file_line_column_and_exit_2() {
    let fleet = format!("{HEAD}\n{ROW}\n");
    let head = "time,base_load_kw,e_limit_kwh,p_rt";
    let one = |row: &str| format!("{head}\n{row}\n");
    let flags = ["--slots", "1"];
    for (grid, at, rule) in [
        (
            one("2021-05-27T07:00,100,-1,"),
            "grid.csv:2:3",
            "e_limit_kwh must be a finite number >= 0",
        ),
        (
            one("2021-05-27T07:00,100,1,-0.2"),
            "grid.csv:2:4",
            "p_rt must be a finite number >= 0",
        ),
        (one("2021-05-27T07:00,NaN,1,"), "grid.csv:2:2", "finite"),
        (one("7am,100,1,"), "grid.csv:2:1", "time must be a time"),
        (
            one("2021-05-27T07:15,100,1,"),
            "grid.csv (time): ",
            "no row for slot 0 (2021-05-27T07:00)",
        ),
        (
            format!("{head}\n2021-05-27T07:00,1,1,\n2021-05-27T07:00,1,1,\n"),
            "grid.csv:3:1",
            "time must be unique",
        ),
    ] {
        rejected(&fleet, Some(&grid), None, &flags, at, rule);
    }
}

#[test]
fn bad_scenarios_and_flags_are_rejected_with_exit_2() {
    let fleet = format!("{HEAD}\n{ROW}\n");
    rejected(
        &fleet,
        None,
        Some("[params]\nbeta = 0.2\nbetta = 1\n"),
        &[],
        "s.toml:3:1",
        "betta",
    );
    rejected(
        &fleet,
        None,
        Some("[params]\nbeta = \"high\"\n"),
        &[],
        "s.toml:2:8",
        "invalid type",
    );
    rejected(
        &fleet,
        None,
        Some("[params]\na = 0.5\n"),
        &[],
        "invalid parameter params.a",
        "must be in [-100, 0]",
    );
    rejected(
        &fleet,
        None,
        Some("[[workers]]\ncapacity = 1\navailable = false\n"),
        &[],
        "invalid parameter workers",
        "at least one worker must be available",
    );
    rejected(
        &fleet,
        None,
        Some("[params]\nmin_trade_kwh = 4\n"),
        &[],
        "invalid parameter params.min_trade_kwh",
        "must be in [0, 3.75]",
    );
    rejected(
        &fleet,
        None,
        Some("[params]\ncharge_efficiency = 0.5\n"),
        &[],
        "invalid parameter params.charge_efficiency",
        "must be in (0.5, 1]",
    );
    rejected(
        &fleet,
        None,
        Some("[params]\ndischarge_efficiency = 1.01\n"),
        &[],
        "invalid parameter params.discharge_efficiency",
        "must be in (0.5, 1]",
    );
    rejected(
        &fleet,
        None,
        Some("[params]\nmin_departure_soc = -0.1\n"),
        &[],
        "invalid parameter params.min_departure_soc",
        "must be in [0, 1]",
    );
    rejected(
        &fleet,
        None,
        None,
        &["--epsilon", "0"],
        "invalid parameter params.epsilon",
        "must be in [0.000000001, 100]",
    );
    rejected(
        &fleet,
        None,
        None,
        &["--epsilon", "1e-12"],
        "invalid parameter params.epsilon",
        "must be in [0.000000001, 100]",
    );
    rejected(
        &fleet,
        None,
        None,
        &["--epsilon", "1e-8"],
        "invalid parameter epsilon",
        "candidates",
    );
    rejected(
        &fleet,
        None,
        None,
        &["--workers", "0"],
        "invalid parameter --workers",
        "between 1 and 1024",
    );
    rejected(
        &fleet,
        None,
        None,
        &["--start", "noon"],
        "invalid parameter --start",
        "not YYYY-MM-DDTHH:MM",
    );
    rejected(
        &fleet,
        None,
        None,
        &["--slots", "0"],
        "invalid parameter horizon.slots",
        "at least one slot",
    );
}

#[test]
fn a_missing_fleet_file_is_one_line_and_exit_2() {
    let dir = tmp();
    let out = dir.path().join("out");
    let o = simulate(&["--fleet", "no/such/fleet.csv"], &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/fleet.csv"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn help_and_version() {
    let o = v2g(["--version"]);
    assert!(ok(&o).starts_with("v2g "), "{}", stdout(&o));
    let help = ok(&v2g(["simulate", "--help"]));
    for flag in [
        "--fleet",
        "--grid",
        "--scenario",
        "--out",
        "--epsilon",
        "--workers",
        "--start",
        "--slots",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    // Unknown flags are usage errors: exit 2.
    assert_eq!(v2g(["simulate", "--fleat", "x"]).status.code(), Some(2));
}

#[test]
fn a_toml_local_date_time_starts_the_horizon_like_its_text() {
    let dir = tmp();
    let fleet = test_data("two_ev.csv");
    // Simulates with a scenario of that start into a folder of that name.
    let sim = |name: &str, start: &str| {
        let s = write(
            dir.path(),
            &format!("{name}.toml"),
            &format!("ledger = \"off\"\n[horizon]\nstart = {start}\nslots = 2\n"),
        );
        let out = dir.path().join(name);
        let args = ["--fleet", fleet.to_str().unwrap(), "--scenario"];
        let o = simulate(
            &[&args[..], &[s.to_str().unwrap(), "--quiet"]].concat(),
            &out,
        );
        (o, out)
    };
    let run = |name: &str, start: &str| {
        let (o, out) = sim(name, start);
        assert!(o.status.success(), "{start}: {}", stderr(&o));
        std::fs::read_to_string(out.join("slots.csv")).unwrap()
    };
    let quoted = run("quoted", "\"2021-05-27T12:00\"");
    assert_eq!(run("local", "2021-05-27T12:00:00"), quoted);
    assert!(quoted.lines().nth(1).unwrap().contains("2021-05-27T12:00"));
    // A date-time with an offset is not a local time: exit 2, located, nothing written.
    let (o, out) = sim("offset", "2021-05-27T16:00:00+08:00");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("offset.toml:3:9: \"2021-05-27T16:00:00+08:00\" is not YYYY-MM-DDTHH:MM"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Every scenario file shipped in `data/scenarios/` loads and passes every range check:
/// each runs the small example fleet through the real CLI, ledger off.
#[test]
fn every_shipped_scenario_file_runs() {
    let dir = tmp();
    let mut n = 0;
    let mut files: Vec<_> = std::fs::read_dir(root().join("data/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let out = dir.path().join(path.file_stem().unwrap());
        let o = simulate(
            &[
                "--fleet",
                "data/example.csv",
                "--scenario",
                path.to_str().unwrap(),
                "--ledger",
                "off",
            ],
            &out,
        );
        let text = ok(&o);
        assert!(
            text.contains("net cost (USD)"),
            "{}: {text}",
            path.display()
        );
        n += 1;
    }
    assert_eq!(n, 4, "four SCE TOU-EV-4 scenario files");
}

/// A scenario in another currency names it in the printed summary, `summary.json`, the
/// figures, `v2g report` and `v2g verify`; nothing says CNY.
#[test]
fn a_scenarios_currency_labels_every_table_figure_and_report() {
    let dir = tmp();
    let out = dir.path().join("out");
    let o = simulate(
        &[
            "--fleet",
            "data/example.csv",
            "--scenario",
            "data/scenarios/sce_tou_ev_4_winter_weekday.toml",
        ],
        &out,
    );
    let text = ok(&o);
    for want in [
        "epsilon 0.0001 USD/kWh",
        "net cost (USD)",
        "USD/kWh",
        " USD  = R_service",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    assert!(!text.contains("CNY"), "{text}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["currency"], "USD");
    assert_eq!(summary["run"]["scenario"]["currency"], "USD");
    let fig4 = std::fs::read_to_string(out.join("fig4_power_and_prices.svg")).unwrap();
    assert!(fig4.contains("price (USD/kWh)"));
    let fig5 = std::fs::read_to_string(out.join("fig5_revenue_and_costs.svg")).unwrap();
    assert!(fig5.contains("USD per 15-min slot"));
    let report = ok(&v2g(["report", out.to_str().unwrap()]));
    assert!(
        report.contains("net cost (USD)") && !report.contains("CNY"),
        "{report}"
    );
    let verify = ok(&v2g([
        "verify",
        out.join("ledger.jsonl").to_str().unwrap(),
        "--genesis",
        out.join("genesis.json").to_str().unwrap(),
    ]));
    assert!(
        verify.contains("µUSD") && !verify.contains("CNY"),
        "{verify}"
    );
}
