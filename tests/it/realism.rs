//! Departure targets, charger power and the smallest trade through the real CLI
//! (docs/model.md §3 and §3.1): what `evs.csv` and `summary.json` report, and a ledger
//! of such a run verifies against its pinned genesis, which carries each session's limits.

use crate::common::*;

const HEAD: &str =
    "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure,target_kwh,max_kw,max_discharge_kw";

/// Four sessions over the 10:00 peak, 16 slots: a reachable target on a 7.2 kW charger
/// (30 + 16·1.8 = 58.8 >= 45), an unreachable one (5 + 16·1.8 = 33.8 < 60), a charger
/// without V2G, and the paper's EV.
fn fleet() -> String {
    let t = "2021-05-27T10:00,2021-05-27T14:00";
    format!(
        "{HEAD}\n\
         t1,private,60,30,{t},45,7.2,\n\
         t2,private,60,5,{t},60,7.2,\n\
         slow,private,60,40,{t},,3.6,0\n\
         plain,private,60,40,{t},,,\n"
    )
}

fn col<'a>(h: &[String], r: &'a [String], name: &str) -> &'a str {
    &r[h.iter().position(|c| c == name).unwrap()]
}

#[test]
fn targets_and_power_are_reported_and_the_ledger_verifies() {
    let dir = tmp();
    let f = write(dir.path(), "fleet.csv", &fleet());
    let out = dir.path().join("out");
    let text = ok(&simulate(
        &[
            "--fleet",
            f.to_str().unwrap(),
            "--start",
            "2021-05-27T10:00",
            "--slots",
            "16",
        ],
        &out,
    ));
    assert!(
        text.contains("departure targets      1 of 2 met (1 unreachable)"),
        "{text}"
    );
    let (h, rows) = read_csv(&out.join("evs.csv"));
    let (t1, t2, slow, plain) = (&rows[0], &rows[1], &rows[2], &rows[3]);
    assert_eq!(col(&h, t1, "target_reachable"), "true");
    assert_eq!(col(&h, t1, "target_met"), "true");
    assert!(num(col(&h, t1, "final_kwh")) >= 45.0 - 1e-6);
    // Met up to the rounding of E + E0·x (docs/model.md §3.1: within 1e-6 kWh).
    assert!(num(col(&h, t1, "shortfall_kwh")) < 1e-6);
    assert_eq!(col(&h, t2, "target_reachable"), "false");
    assert_eq!(col(&h, t2, "target_met"), "false");
    // Unreachable: charged flat out at 7.2 kW for all 16 slots.
    assert!((num(col(&h, t2, "final_kwh")) - 33.8).abs() < 1e-9);
    assert!((num(col(&h, t2, "shortfall_kwh")) - 26.2).abs() < 1e-9);
    assert!(num(col(&h, t2, "cost_per_kwh_delivered")) > 0.0);
    // No V2G on the slow charger: it never leaves with less than it came with.
    assert!(num(col(&h, slow, "final_kwh")) >= 40.0);
    assert_eq!(col(&h, slow, "target_kwh"), "");
    // The paper's EV discharges in the peak.
    assert!(num(col(&h, plain, "final_kwh")) < 40.0);
    assert_eq!(col(&h, plain, "target_met"), "");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let t = &s["evs"]["targets"];
    assert_eq!(
        (t["n_targets"].as_u64(), t["n_met"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(t["n_unreachable"].as_u64(), Some(1));
    assert!((t["shortfall_kwh"].as_f64().unwrap() - 26.2).abs() < 1e-9);
    assert!(s["energy"]["trades_below_1wh"].as_u64().is_some());

    // The ledger replays the limits from the genesis and verifies.
    let genesis = out.join("genesis.json");
    let g = std::fs::read_to_string(&genesis).unwrap();
    assert!(
        g.contains("\"target_kwh\":45.0") || g.contains("\"target_kwh\": 45.0"),
        "{g}"
    );
    let o = v2g([
        "verify".as_ref(),
        out.join("ledger.jsonl").as_os_str(),
        "--genesis".as_ref(),
        genesis.as_os_str(),
    ]);
    let text = ok(&o);
    assert!(text.contains("OK"), "{text}");
    // A genesis whose target was changed is refused (its terms are signed).
    let forged = write(dir.path(), "forged.json", &g.replacen("45.0", "44.0", 1));
    let o = v2g([
        "verify".as_ref(),
        out.join("ledger.jsonl").as_os_str(),
        "--genesis".as_ref(),
        forged.as_os_str(),
    ]);
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// Losses (docs/model.md §3.2): the battery gains 90 % of what is charged, every
/// reachable target is still met, and the ledger of the lossy run verifies.
#[test]
fn losses_keep_targets_and_the_ledger() {
    let dir = tmp();
    let f = write(dir.path(), "fleet.csv", &fleet());
    let sc = write(
        dir.path(),
        "s.toml",
        "[params]\ncharge_efficiency = 0.9\ndischarge_efficiency = 0.9\n",
    );
    let out = dir.path().join("out");
    ok(&simulate(
        &[
            "--fleet",
            f.to_str().unwrap(),
            "--scenario",
            sc.to_str().unwrap(),
            "--start",
            "2021-05-27T10:00",
            "--slots",
            "16",
        ],
        &out,
    ));
    let (h, rows) = read_csv(&out.join("evs.csv"));
    assert_eq!(col(&h, &rows[0], "target_met"), "true");
    // Unreachable: 16 slots at 7.2 kW store 0.9 · 28.8 kWh.
    assert!((num(col(&h, &rows[1], "final_kwh")) - (5.0 + 0.9 * 28.8)).abs() < 1e-9);
    // It paid for the meter's 28.8 kWh.
    assert!(num(col(&h, &rows[1], "paid_cny")) > 0.0);
    let genesis = out.join("genesis.json");
    let o = v2g([
        "verify".as_ref(),
        out.join("ledger.jsonl").as_os_str(),
        "--genesis".as_ref(),
        genesis.as_os_str(),
    ]);
    assert!(ok(&o).contains("OK"));
}

/// `min_departure_soc` gives every EV without `target_kwh` a target, and
/// `min_trade_kwh` removes the trades below it.
#[test]
fn scenario_defaults_for_targets_and_the_smallest_trade() {
    let dir = tmp();
    let out = dir.path().join("out");
    let sc = write(
        dir.path(),
        "s.toml",
        "ledger = \"off\"\n[params]\nmin_departure_soc = 0.8\nmin_trade_kwh = 0.01\n",
    );
    ok(&simulate(
        &[
            "--fleet",
            "data/example.csv",
            "--scenario",
            sc.to_str().unwrap(),
        ],
        &out,
    ));
    let (h, rows) = read_csv(&out.join("evs.csv"));
    for r in &rows {
        let cap: f64 = num(col(&h, r, "final_kwh")).max(0.0);
        assert!(cap >= 0.0);
        assert!(!col(&h, r, "target_kwh").is_empty());
        if col(&h, r, "target_reachable") == "true" {
            assert_eq!(col(&h, r, "target_met"), "true", "{r:?}");
        }
    }
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["energy"]["trades_below_1wh"].as_u64(), Some(0));
    assert_eq!(
        s["evs"]["targets"]["n_targets"].as_u64(),
        Some(rows.len() as u64)
    );
}
