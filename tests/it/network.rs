//! The distribution network (docs/model.md §9) through the real CLI: the case study on
//! MATPOWER's 33-bus feeder, its outputs and ledger; the transformer limits binding the
//! price (and curtailing when no price suffices); bad cases and sites refused with a
//! located message before anything runs.

use std::path::{Path, PathBuf};

use crate::common::*;

/// The shipped network scenario of the case study.
fn case33bw_scenario() -> PathBuf {
    root().join("data/networks/sustech_case33bw.toml")
}

/// A scenario on case33bw with `sites` (TOML `[[sites]]` tables) in `dir`.
fn scenario(dir: &Path, extra: &str) -> PathBuf {
    let net = root().join("data/networks/case33bw.m");
    write(
        dir,
        "s.toml",
        &format!(
            "network = \"{}\"\nnetwork_load_scale = 0.29\n{extra}",
            net.display()
        ),
    )
}

fn site(name: &str, bus: u32, kva: Option<f64>) -> String {
    let kva = kva.map_or(String::new(), |k| format!("transformer_kva = {k}\n"));
    format!("[[sites]]\nname = \"{name}\"\nbus = {bus}\n{kva}")
}

/// `network.csv`'s rows of `policy`.
fn rows(out: &Path, policy: &str) -> Vec<std::collections::HashMap<String, String>> {
    let (head, body) = read_csv(&out.join("network.csv"));
    body.into_iter()
        .filter(|r| r[2] == policy)
        .map(|r| head.iter().cloned().zip(r).collect())
        .collect()
}

fn loading(r: &std::collections::HashMap<String, String>) -> f64 {
    r["transformer_loading_max_pct"].parse().unwrap()
}

/// The case study on the 33-bus feeder: every new output written, and the scheme keeps
/// every site within its transformer, which uncoordinated charging overloads 2.5 times.
/// (Its ledger: `a_transformer_no_price_can_respect_curtails_and_the_ledger_replays_it`
/// verifies a network run's ledger with a pinned genesis; this run, 66,754 signatures, is
/// left to the release build's benches to keep the suite quick.)
#[test]
fn the_case_study_on_case33bw_keeps_every_site_within_its_transformer() {
    let dir = tmp();
    let out = dir.path().join("out");
    let s = case33bw_scenario();
    let o = simulate(
        &[
            "--fleet",
            "data/sustech.csv",
            "--scenario",
            s.to_str().unwrap(),
            "--ledger",
            "off",
        ],
        &out,
    );
    let printed = ok(&o);
    assert!(
        printed.contains("Network case33bw (33 buses, 4 sites)"),
        "{printed}"
    );
    for f in ["network.csv", "network_buses.csv", "fig6_network.svg"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let scheme = rows(&out, "scheme");
    let baseline = rows(&out, "baseline");
    assert_eq!((scheme.len(), baseline.len()), (96, 96));
    let worst = scheme.iter().map(loading).fold(0.0, f64::max);
    assert!(
        worst <= 100.0 + 1e-6,
        "the scheme's busiest transformer: {worst} %"
    );
    let uncoordinated = baseline.iter().map(loading).fold(0.0, f64::max);
    assert!(uncoordinated > 200.0, "{uncoordinated}");
    assert!(scheme.iter().all(|r| r["loading_violations"] == "0"));
    let (_, buses) = read_csv(&out.join("network_buses.csv"));
    assert_eq!(buses.len(), 2 * 96 * 33);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let net = &summary["network"];
    assert_eq!(net["case"], "case33bw");
    assert!(net["baseline"]["worst_voltage_pu"].as_f64().unwrap() < 0.9);
    assert!(net["scheme"]["worst_voltage_pu"].as_f64().unwrap() > 0.9);
    assert_eq!(
        summary["run"]["inputs"]["network"]["sha256"],
        "b40831eeb444669ae876e2996f0dda9f05cd83e81b314b8dfca51e4890cca95d"
    );
}

/// Limits never reached change nothing: the run's own files are byte for byte those of
/// the run without sites.
#[test]
fn limits_never_reached_leave_every_decision_as_it_was() {
    let dir = tmp();
    let plain = dir.path().join("plain");
    let limited = dir.path().join("limited");
    ok(&simulate(
        &["--fleet", "data/example.csv", "--ledger", "off"],
        &plain,
    ));
    let s = scenario(
        dir.path(),
        &(site("a", 6, Some(1e6)) + &site("b", 18, Some(1e6))),
    );
    ok(&simulate(
        &[
            "--fleet",
            "data/example.csv",
            "--ledger",
            "off",
            "--scenario",
            s.to_str().unwrap(),
        ],
        &limited,
    ));
    for f in ["slots.csv", "evs.csv"] {
        assert_eq!(
            std::fs::read(plain.join(f)).unwrap(),
            std::fs::read(limited.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// A transformer too small for the fleet's charging: nearly empty EVs charge at any price
/// (none would discharge), so no price keeps the site within its rating, its charging is
/// curtailed to the rating, and the ledger, whose genesis commits to the network, the
/// sites and the sessions' sites, re-derives every curtailment when verified against the
/// pinned genesis and the grid file.
#[test]
fn a_transformer_no_price_can_respect_curtails_and_the_ledger_replays_it() {
    let dir = tmp();
    let fleet = write(
        dir.path(),
        "fleet.csv",
        "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure,site\n\
         a,private,40,0.4,2021-05-27T07:00,2021-05-27T12:00,tiny\n\
         b,private,60,0.6,2021-05-27T08:00,2021-05-27T14:00,tiny\n\
         c,bus,200,100,2021-05-27T07:00,2021-05-27T18:00,big\n",
    );
    let grid = root().join("data/example_grid.csv");
    let s = scenario(
        dir.path(),
        &(site("tiny", 18, Some(5.0)) + &site("big", 25, Some(1000.0))),
    );
    let out = dir.path().join("out");
    let printed = ok(&simulate(
        &[
            "--fleet",
            fleet.to_str().unwrap(),
            "--grid",
            grid.to_str().unwrap(),
            "--scenario",
            s.to_str().unwrap(),
            "--workers",
            "4",
        ],
        &out,
    ));
    assert!(printed.contains("curtailed EV trades"), "{printed}");
    let scheme = rows(&out, "scheme");
    let curtailed: usize = scheme
        .iter()
        .map(|r| r["curtailed_evs"].parse::<usize>().unwrap())
        .sum();
    assert!(curtailed > 0, "the 5 kVA site must curtail");
    let worst = scheme.iter().map(loading).fold(0.0, f64::max);
    assert!(worst <= 100.0 + 1e-6, "{worst}");
    let genesis = std::fs::read_to_string(out.join("genesis.json")).unwrap();
    assert!(
        genesis.contains("\"network_sha256\":\"b40831ee"),
        "{genesis}"
    );
    assert!(genesis.contains("\"site\":\"tiny\""));
    let trusted = write(dir.path(), "trusted.json", &genesis);
    let v = ok(&v2g([
        "verify",
        out.join("ledger.jsonl").to_str().unwrap(),
        "--genesis",
        trusted.to_str().unwrap(),
        "--grid",
        grid.to_str().unwrap(),
    ]));
    assert!(v.contains("OK:") && v.contains("pinned"), "{v}");
}

/// A site the fleet names is where those sessions charge; a name the scenario lacks is
/// refused before the run.
#[test]
fn the_fleet_names_sites_and_an_unknown_site_is_refused() {
    let dir = tmp();
    let text = std::fs::read_to_string(root().join("data/example.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[0] += ",site";
    for (i, l) in lines.iter_mut().enumerate().skip(1) {
        *l += if i % 2 == 0 { ",a" } else { ",b" };
    }
    let fleet = write(dir.path(), "fleet.csv", &(lines.join("\n") + "\n"));
    let s = scenario(dir.path(), &(site("a", 6, None) + &site("b", 18, None)));
    let out = dir.path().join("out");
    ok(&simulate(
        &[
            "--fleet",
            fleet.to_str().unwrap(),
            "--scenario",
            s.to_str().unwrap(),
            "--ledger",
            "off",
        ],
        &out,
    ));
    let s = scenario(dir.path(), &site("a", 6, None));
    let o = simulate(
        &[
            "--fleet",
            fleet.to_str().unwrap(),
            "--scenario",
            s.to_str().unwrap(),
            "--ledger",
            "off",
        ],
        &dir.path().join("refused"),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("names the site \"b\""),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("refused").exists());
}

/// Bad networks and sites: each a located error (file, line, rule), exit 2, nothing
/// written, in well under a second.
#[test]
fn bad_networks_and_sites_are_refused_before_anything_runs() {
    let dir = tmp();
    let case = std::fs::read_to_string(root().join("data/networks/case33bw.m")).unwrap();
    let bad_case = |name: &str, from: &str, to: &str| -> PathBuf {
        assert!(case.contains(from), "{from}");
        write(dir.path(), name, &case.replacen(from, to, 1))
    };
    let cases = [
        (
            bad_case("version.m", "mpc.version = '2';", "mpc.version = '1';"),
            "version.m:13:",
        ),
        (
            bad_case(
                "cell.m",
                "\t3\t1\t90\t40\t0\t0\t1\t1\t0\t12.66\t1\t1.1\t0.9;",
                "\t3\t1\tninety\t40\t0\t0\t1\t1\t0\t12.66\t1\t1.1\t0.9;",
            ),
            "cell.m:",
        ),
        (
            bad_case(
                "duplicate.m",
                "\t3\t1\t90\t40\t0\t0\t1\t1\t0\t12.66\t1\t1.1\t0.9;",
                "\t2\t1\t90\t40\t0\t0\t1\t1\t0\t12.66\t1\t1.1\t0.9;",
            ),
            "duplicate.m:",
        ),
        (
            bad_case(
                "noslack.m",
                "\t1\t3\t0\t0\t0\t0\t1\t1\t0\t12.66\t1\t1\t1;",
                "\t1\t1\t0\t0\t0\t0\t1\t1\t0\t12.66\t1\t1\t1;",
            ),
            "noslack.m",
        ),
    ];
    let sites = site("a", 6, Some(100.0));
    for (file, want) in &cases {
        let s = write(
            dir.path(),
            "s.toml",
            &format!("network = \"{}\"\n{sites}", file.display()),
        );
        refused(dir.path(), &s, &[want]);
    }
    // Sites that do not fit: a bus the case lacks, two sites of one name, a rating out of
    // range; a network with no site.
    for (extra, want) in [
        (site("a", 99, Some(100.0)), "sites.0.bus"),
        (site("a", 6, None) + &site("a", 7, None), "sites.1.name"),
        (site("a", 6, Some(-5.0)), "sites.0.transformer_kva"),
        (String::new(), "needs charging sites"),
    ] {
        let s = scenario(dir.path(), &extra);
        refused(dir.path(), &s, &[want]);
    }
    // A missing network file is named.
    let s = write(
        dir.path(),
        "s.toml",
        &format!("network = \"missing.m\"\n{sites}"),
    );
    refused(dir.path(), &s, &["missing.m"]);
}

/// Asserts that a run of the example fleet under scenario `s` exits 2 with every one of
/// `want` in its message, writes nothing and takes under a second.
fn refused(dir: &Path, s: &Path, want: &[&str]) {
    let out = dir.join("never");
    let start = std::time::Instant::now();
    let o = simulate(
        &[
            "--fleet",
            "data/example.csv",
            "--scenario",
            s.to_str().unwrap(),
        ],
        &out,
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    let last = e.lines().last().unwrap_or_default();
    assert!(last.starts_with("v2g: error: "), "{e}");
    for w in want {
        assert!(e.contains(w), "{w}: {e}");
    }
    assert!(!out.exists(), "{e}");
    assert!(start.elapsed() < std::time::Duration::from_secs(1), "{e}");
}

/// A sweep over a site's transformer rating: the network path is taken from the spec's
/// folder, each point's id holds the network's hash, every point writes the network
/// outputs, and a second run finds every point finished.
#[test]
fn a_sweep_over_a_transformer_rating_runs_and_resumes() {
    let dir = tmp();
    let spec = write(
        dir.path(),
        "spec.toml",
        &format!(
            "fleet = \"{}\"\nnetwork = \"{}\"\nnetwork_load_scale = 0.29\nledger = \"off\"\n\
             {}[sweep]\n\"sites.0.transformer_kva\" = [0.1, 1000]\n",
            root().join("data/example.csv").display(),
            root().join("data/networks/case33bw.m").display(),
            site("a", 18, Some(1000.0))
        ),
    );
    let out = dir.path().join("out");
    let o = v2g([
        "sweep",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&o);
    let (head, rows) = read_csv(&out.join("sweep.csv"));
    assert_eq!(rows.len(), 2, "{head:?}");
    assert_ne!(rows[0][0], rows[1][0]);
    for r in &rows {
        assert!(out.join("runs").join(&r[0]).join("network.csv").is_file());
    }
    let again = ok(&v2g([
        "sweep",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(again.contains("2 points: 0 run, 2 already done"), "{again}");
}

/// A flow that does not converge is an error naming its slot and policy, and nothing is
/// written: every session of the case study at the feeder's far end, charging
/// uncoordinated, draws more than the feeder can carry.
#[test]
fn a_flow_that_does_not_converge_names_its_slot_and_policy() {
    let dir = tmp();
    let s = scenario(dir.path(), &site("end", 18, None));
    let out = dir.path().join("never");
    let o = simulate(
        &[
            "--fleet",
            "data/sustech.csv",
            "--scenario",
            s.to_str().unwrap(),
            "--ledger",
            "off",
        ],
        &out,
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("v2g: error: power flow of slot") && e.contains("(baseline)"),
        "{e}"
    );
    assert!(e.contains("did not converge"), "{e}");
    assert!(!out.exists());
}
