//! An EV that plugs in more than once (issue 12, point 2; docs/model.md §6.1) through the
//! real CLI: one `evs.csv` row per session, the summary counts EVs and sessions, and in
//! the ledger the EV's sessions share one wallet key whose nonce and balance carry over,
//! which `verify --genesis` holds even against an attacker with every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use v2g::ledger::keys::{Keyring, Keystore};
use v2g::ledger::{store, Fault, Ledger};

use crate::common::*;
use crate::ledger::{genesis_refused, reseal_with, resign_genesis, WORKERS};

/// Three EVs, six sessions over 06:00–18:00: `car` three times (back to back at 13:00,
/// named sessions), `van` twice (unnamed), `bus` once. Rows interleave, as a day's
/// export would.
const FLEET: &str = "\
ev_id,kind,capacity_kwh,initial_kwh,arrival,departure,session_id
car,private,60,20,2021-05-27T06:00,2021-05-27T09:00,car-am
van,private,50,25,2021-05-27T06:00,2021-05-27T12:00,
car,private,60,35,2021-05-27T10:00,2021-05-27T13:00,car-noon
bus,bus,200,80,2021-05-27T06:00,2021-05-27T18:00,
car,private,60,12,2021-05-27T13:00,2021-05-27T17:30,car-pm
van,private,50,40,2021-05-27T14:00,2021-05-27T18:00,
";

struct Run {
    _dir: tempfile::TempDir,
    out: PathBuf,
    keystore: PathBuf,
    stdout: String,
}

/// A run of [`FLEET`] with a fresh keystore created in its folder.
fn run() -> Run {
    run_with(None)
}

/// A run of [`FLEET`] with the keystore at `keystore`, or a fresh one in its folder.
fn run_with(keystore: Option<&Path>) -> Run {
    let dir = tmp();
    let fleet = write(dir.path(), "fleet.csv", FLEET);
    let keystore = keystore.map_or_else(|| dir.path().join("keys.json"), Path::to_path_buf);
    let out = dir.path().join("out");
    let stdout = ok(&simulate(
        &[
            "--fleet",
            fleet.to_str().unwrap(),
            "--start",
            "2021-05-27T06:00",
            "--slots",
            "48",
            "--workers",
            &WORKERS.to_string(),
            "--keystore",
            keystore.to_str().unwrap(),
        ],
        &out,
    ));
    Run {
        _dir: dir,
        out,
        keystore,
        stdout,
    }
}

fn ledger(out: &Path) -> Ledger {
    let g = store::parse_genesis(&std::fs::read(out.join("genesis.json")).unwrap()).unwrap();
    store::parse(&std::fs::read(out.join("ledger.jsonl")).unwrap(), g).unwrap()
}

fn ring(r: &Run, l: &Ledger) -> Keyring {
    let ids: Vec<String> = l.genesis.evs.iter().map(|w| w.id.clone()).collect();
    let ks = Keystore::load(&r.keystore).unwrap();
    Keyring::from_keystore(&ks, &ids, WORKERS, &r.keystore).unwrap()
}

fn col<'a>(h: &[String], r: &'a [String], name: &str) -> &'a str {
    &r[h.iter().position(|c| c == name).unwrap()]
}

/// Every transaction of EV `id` in block order: (height, tx index, session index).
fn txs_of(l: &Ledger, id: &str) -> Vec<(usize, usize, usize)> {
    let mut v = Vec::new();
    for (h, b) in l.blocks.iter().enumerate() {
        for (i, t) in b.txs.iter().enumerate() {
            if l.genesis.evs[t.ev as usize].id == id {
                v.push((h, i, t.ev as usize));
            }
        }
    }
    v
}

#[test]
fn an_ev_plugged_in_three_times_keeps_one_wallet_and_the_ledger_verifies() {
    let r = run();
    assert!(
        r.stdout.starts_with("3 EVs (6 sessions), 48 slots"),
        "{}",
        r.stdout
    );

    // evs.csv: one row per session, in fleet order, each from its own row's energy.
    let (h, rows) = read_csv(&r.out.join("evs.csv"));
    assert_eq!(h[h.len() - 2], "session_id");
    let ids: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|e| {
            (
                col(&h, e, "ev_id"),
                col(&h, e, "session_id"),
                col(&h, e, "initial_kwh"),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("car", "car-am", "20.0"),
            ("van", "", "25.0"),
            ("car", "car-noon", "35.0"),
            ("bus", "", "80.0"),
            ("car", "car-pm", "12.0"),
            ("van", "", "40.0"),
        ]
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.out.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["evs"]["n_evs"], 3);
    assert_eq!(summary["evs"]["n_sessions"], 6);

    // The genesis: six sessions, one key per EV, named sessions named.
    let l = ledger(&r.out);
    let g = &l.genesis;
    assert_eq!(g.evs.len(), 6);
    let key = |i: usize| g.evs[i].key;
    assert!(
        key(0) == key(2) && key(2) == key(4),
        "car's sessions share a key"
    );
    assert!(key(1) == key(5), "van's sessions share a key");
    assert!(key(0) != key(1) && key(0) != key(3) && key(1) != key(3));
    assert_eq!(g.evs[2].session_id.as_deref(), Some("car-noon"));
    assert_eq!(g.evs[1].session_id, None);
    // The keystore holds one key per EV, not per session.
    let ks = Keystore::load(&r.keystore).unwrap();
    let ev_keys: Vec<&str> = ks
        .keys
        .iter()
        .filter(|k| k.role == v2g::ledger::keys::Role::Ev)
        .map(|k| k.id.as_str())
        .collect();
    assert_eq!(ev_keys, ["car", "van", "bus"]);

    // The car's nonces run 1, 2, 3, … across its three sessions, and each transaction's
    // balance is the previous one minus its amount: nothing restarts at a new session.
    for id in ["car", "van", "bus"] {
        let txs = txs_of(&l, id);
        assert!(!txs.is_empty());
        let mut balance = 0i64;
        for (n, &(h, i, _)) in txs.iter().enumerate() {
            let t = &l.blocks[h].txs[i];
            assert_eq!(t.nonce, n as u64 + 1, "{id} at block {h}");
            balance -= t.amount;
            assert_eq!(t.balance, balance, "{id} at block {h}");
        }
    }
    let sessions: Vec<usize> = txs_of(&l, "car").iter().map(|t| t.2).collect();
    for s in [0, 2, 4] {
        assert!(sessions.contains(&s), "car's session {s} traded");
    }
    // The wallet's final balance is minus the net cost of all its sessions (µCNY, each
    // trade rounded once).
    let mut cost: BTreeMap<&str, f64> = BTreeMap::new();
    for e in &rows {
        *cost.entry(col(&h, e, "ev_id")).or_default() += num(col(&h, e, "net_cost_cny"));
    }
    for (id, c) in cost {
        let txs = txs_of(&l, id);
        let &(hh, i, _) = txs.last().unwrap();
        let end = l.blocks[hh].txs[i].balance as f64 / 1e6;
        assert!(
            (end + c).abs() <= 1e-6 * txs.len() as f64,
            "{id}: {end} {c}"
        );
    }

    // verify against the pinned genesis: three wallets.
    let o = v2g([
        "verify".as_ref(),
        r.out.join("ledger.jsonl").as_os_str(),
        "--genesis".as_ref(),
        r.out.join("genesis.json").as_os_str(),
    ]);
    let text = ok(&o);
    assert!(text.contains(" 3 wallets, 3 light clients with "), "{text}");
}

#[test]
fn a_wallet_cannot_restart_its_nonce_or_balance_at_a_new_session() {
    let r = run();
    let l0 = ledger(&r.out);
    let ring = ring(&r, &l0);
    let chain = l0.genesis.chain_id.clone();
    let pin = l0.genesis.hash();
    // The first transaction of the car's second session.
    let &(h, i, _) = txs_of(&l0, "car")
        .iter()
        .find(|t| t.2 == 2)
        .expect("the car trades in its second session");
    let all: Vec<usize> = (0..WORKERS).collect();
    let refused = |l: &Ledger, what: &dyn Fn(&Fault) -> bool| {
        let e = v2g::ledger::verify(
            &store::write(l),
            &store::write_genesis(&l.genesis),
            Some(&pin),
        )
        .unwrap_err();
        assert!(what(&e.fault), "{e}");
        assert_eq!(
            (e.location.height, e.location.tx),
            (Some(h as u64), Some(i)),
            "{e}"
        );
    };
    // As if the session were a fresh wallet: nonce 1 (so that the first session's
    // signed transactions could be replayed), re-signed with the EV's key, resealed by
    // every SCP.
    let mut l = l0.clone();
    {
        let t = &mut l.blocks[h].txs[i];
        t.nonce = 1;
        t.sign(&chain, &ring.evs[t.ev as usize]);
    }
    reseal_with(&mut l, h, &all, &ring);
    refused(
        &l,
        &|f| matches!(f, Fault::Nonce { expected, got: 1, .. } if *expected > 1),
    );
    // Its balance reset to what a fresh wallet would hold.
    let mut l = l0.clone();
    {
        let t = &mut l.blocks[h].txs[i];
        t.balance = -t.amount;
        t.sign(&chain, &ring.evs[t.ev as usize]);
    }
    reseal_with(&mut l, h, &all, &ring);
    refused(&l, &|f| matches!(f, Fault::Balance { .. }));
    // The honest ledger still verifies.
    assert!(v2g::ledger::verify(
        &store::write(&l0),
        &store::write_genesis(&l0.genesis),
        Some(&pin)
    )
    .is_ok());
}

#[test]
fn a_genesis_with_a_second_key_or_overlapping_sessions_is_refused() {
    let r = run();
    let l = ledger(&r.out);
    let ring = ring(&r, &l);
    let resign = |g| resign_genesis(g, &ring.eva);
    let check = |g, want: &str| genesis_refused(g, &l, want);
    // The car's third session under a key of its own: a second wallet for one EV.
    let mut two_keys = l.genesis.clone();
    two_keys.evs[4].key = v2g::ledger::keys::public(&v2g::ledger::keys::fresh_key().unwrap());
    check(
        resign(two_keys),
        "session 4 of EV \"car\" has another key than the EV's first session",
    );
    // The van's key given to the car's second session: one key for two EVs.
    let mut shared = l.genesis.clone();
    shared.evs[2].key = shared.evs[1].key;
    check(resign(shared), "another key");
    // The car's second session moved to overlap its first.
    let mut overlap = l.genesis.clone();
    overlap.evs[2].arrival = overlap.evs[0].arrival;
    check(resign(overlap), "must not overlap");
    // A session renamed: the genesis is another, and the pin refuses it.
    let mut renamed = l.genesis.clone();
    renamed.evs[0].session_id = Some("other".into());
    let renamed = resign(renamed);
    assert_ne!(renamed.hash(), l.genesis.hash());
    let e = v2g::ledger::verify(
        &store::write(&l),
        &store::write_genesis(&renamed),
        Some(&l.genesis.hash()),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not the pinned"), "{e}");
}

#[test]
fn repeated_sessions_give_byte_identical_runs_with_one_keystore() {
    // Two runs with one keystore give byte-identical outputs.
    let a = run();
    let b = run_with(Some(&a.keystore));
    // (summary.json carries the command line, which names other paths.)
    for name in ["slots.csv", "evs.csv", "genesis.json", "ledger.jsonl"] {
        assert_eq!(
            std::fs::read(a.out.join(name)).unwrap(),
            std::fs::read(b.out.join(name)).unwrap(),
            "{name}"
        );
    }
}
