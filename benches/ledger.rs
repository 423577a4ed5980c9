//! The ledger's speed against this machine's raw ed25519 rate, in the same run.
//!
//! * `ledger/raw ed25519`: the signatures the ledger makes, on its own messages, and
//!   nothing else: per trade the EV's consent; per block the oracle message, every
//!   worker's proposal, every SCP's meter attestation and prevote, signed and checked
//!   with `verify_strict`, and the precommits, signed; in parallel with rayon. The
//!   ceiling.
//! * `ledger/record`: the ledger's own work for the same trades: a block per slot with
//!   oracle message, signed proposals, signed transactions, one meter attestation per SCP
//!   over the Merkle root of its readings, the validators' check of every signature and
//!   every rule, the Merkle root, and the SCPs' two rounds of votes. The goal is at least
//!   85 % of the raw rate.
//! * `ledger/audit`: `v2g verify` of the same ledger from its bytes (parse, canonical
//!   form, every signature, every rule, light-client inclusion proofs).
//!
//!
//! Throughput is in trades per second. A second group times the case study itself
//! (`data/sustech.csv` with its grid, 96 slots, 2,000 EVs) in the same run:
//!
//! * `case study/ledger off`: the simulation alone;
//! * `case study/ledger on`: the simulation with every block recorded and written (to a
//!   sink) as it goes, as `v2g simulate` does;
//! * `case study/raw signatures`: the signatures that ledger makes, made and checked as
//!   in `ledger/raw ed25519`.
//!
//! and the whole run as `v2g simulate --fleet data/sustech.csv` makes it
//! (`v2g::pipeline::run` with an output folder: inputs read and hashed, keys, the run,
//! the summary, the figures and every output file written and swapped in):
//!
//! * `case study run/ledger off` and `case study run/ledger on`.
//!
//! The goal: ledger on within 2 × ledger off + raw signatures. `cargo bench --bench ledger`

mod common;

use std::hint::black_box;

use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rayon::prelude::*;
use v2g::game::solve::equal_workers;
use v2g::ledger::consensus::vote_bytes;
use v2g::ledger::LedgerBuilder;
use v2g::{Ev, Fleet, Kind, OwnedOutcome, Run, Scenario};

const EVS: usize = 1000;
const SLOTS: usize = 8;

fn run() -> Run {
    let mut next = common::uniform(0x2545_F491_4F6C_DD1D);
    let mut sc = Scenario::default();
    sc.horizon.slots = SLOTS;
    sc.params.epsilon = 0.01;
    sc.workers = equal_workers(8);
    let start = sc.horizon.start;
    let evs = (0..EVS)
        .map(|i| {
            let cap = 30.0 + 270.0 * next();
            Ev {
                session_id: None,
                id: format!("ev{i}"),
                kind: if cap > 150.0 {
                    Kind::Bus
                } else {
                    Kind::Private
                },
                capacity_kwh: cap,
                initial_kwh: cap * next(),
                arrival: start - Duration::hours(1),
                departure: start + Duration::hours(24),
                beta: Some(0.05 + 0.3 * next()),
                a: None,
                u_idle: None,
                limits: Default::default(),
            }
        })
        .collect();
    Run::new(Fleet::new(evs).expect("valid fleet"), None, sc).expect("valid run")
}

/// Each slot's outcome, owned, so the simulation runs once and only the ledger is timed.
fn capture(run: &Run) -> Vec<OwnedOutcome> {
    let mut out = Vec::new();
    run.simulate(|o| {
        out.push(o.to_owned_outcome());
        Ok(())
    })
    .expect("the run completes");
    out
}

/// Records the slots with a fresh copy of `builder` (keys derived once, outside the timing).
fn record(builder: &LedgerBuilder, slots: &[OwnedOutcome]) -> v2g::ledger::Ledger {
    let mut b = builder.clone();
    for s in slots {
        b.record(&s.outcome()).expect("honest slot records");
    }
    b.finish()
}

/// Every message signed (in parallel); those in `checked` also verified strictly, as the
/// validators do before they vote.
fn raw(keys: &[(SigningKey, VerifyingKey)], checked: &[Vec<u8>], signed: &[Vec<u8>]) -> usize {
    let sigs: Vec<Signature> = checked
        .par_iter()
        .enumerate()
        .map(|(i, m)| keys[i % keys.len()].0.sign(m))
        .collect();
    let ok = checked
        .par_iter()
        .zip(sigs.par_iter())
        .enumerate()
        .filter(|(i, (m, s))| keys[i % keys.len()].1.verify_strict(m, s).is_ok())
        .count();
    assert_eq!(ok, checked.len());
    let only_signed: Vec<Signature> = signed
        .par_iter()
        .enumerate()
        .map(|(i, m)| keys[i % keys.len()].0.sign(m))
        .collect();
    ok + only_signed.len()
}

fn bench(c: &mut Criterion) {
    let run = run();
    let slots = capture(&run);
    let trades: usize = slots.iter().map(|s| s.trades.len()).sum();
    let builder = LedgerBuilder::fresh(&run).expect("ledger");
    let ledger = record(&builder, &slots);
    let bytes = ledger.to_jsonl();
    let genesis = ledger.genesis_json();

    // The raw workload: the signatures the ledger makes, on its own messages.
    let keys = keys();
    let (checked, signed) = messages(&ledger);
    assert!(checked.len() > trades);

    let mut g = c.benchmark_group("ledger");
    g.sample_size(10);
    g.throughput(Throughput::Elements(trades as u64));
    g.bench_function(format!("raw ed25519/{trades} trades"), |b| {
        b.iter(|| raw(&keys, black_box(&checked), black_box(&signed)))
    });
    g.bench_function(format!("record/{trades} trades"), |b| {
        b.iter(|| record(&builder, black_box(&slots)).blocks.len())
    });
    g.bench_function(format!("audit/{trades} trades"), |b| {
        b.iter(|| v2g::ledger::verify(black_box(&bytes), &genesis, None).expect("verifies"))
    });
    g.finish();
}

/// The signed messages of a ledger: those the validators check, and the precommits
/// (signed, checked by the next reader).
fn messages(ledger: &v2g::ledger::Ledger) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let chain = &ledger.genesis.chain_id;
    let mut checked: Vec<Vec<u8>> = Vec::new();
    let mut signed: Vec<Vec<u8>> = Vec::new();
    for b in &ledger.blocks {
        let h = b.header.height;
        checked.push(b.oracle.signed_bytes(chain));
        checked.extend(b.proposals.iter().map(|p| p.signed_bytes(chain, h)));
        checked.extend(b.txs.iter().map(|t| t.consent_bytes(chain)));
        checked.extend(b.meters.iter().map(|m| m.signed_bytes(chain, h)));
        let prevote = b.header.prevote_hash(chain);
        checked.extend(
            b.votes
                .iter()
                .map(|v| vote_bytes(chain, h, &prevote, v.scp)),
        );
        let hash = b.header.hash(chain);
        signed.extend(b.votes.iter().map(|v| vote_bytes(chain, h, &hash, v.scp)));
    }
    (checked, signed)
}

fn case_study(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let fleet = Fleet::load(&root.join("data/sustech.csv")).expect("data/sustech.csv");
    let grid = v2g::GridSignals::load(&root.join("data/sustech_grid.csv")).expect("grid");
    let run = Run::new(fleet, Some(&grid), Scenario::default()).expect("valid case study");
    let builder = LedgerBuilder::fresh(&run).expect("ledger");
    let (_, ledger) = v2g::ledger::record::simulate_with_ledger(&run, builder.clone(), |_| Ok(()))
        .expect("the case study records");
    let (checked, signed) = messages(&ledger);
    let keys = keys();

    let mut g = c.benchmark_group("case study");
    g.sample_size(10);
    g.bench_function("ledger off", |b| {
        b.iter(|| run.simulate(|_| Ok(())).expect("runs").slots.len())
    });
    g.bench_function("ledger on", |b| {
        b.iter(|| {
            let mut sink = std::io::sink();
            v2g::ledger::record::simulate_streaming(
                &run,
                builder.clone(),
                &mut sink,
                std::path::Path::new("sink"),
                |_| Ok(()),
            )
            .expect("runs")
            .0
            .slots
            .len()
        })
    });
    g.bench_function(
        format!(
            "raw signatures/{} checked + {} signed",
            checked.len(),
            signed.len()
        ),
        |b| b.iter(|| raw(&keys, black_box(&checked), black_box(&signed))),
    );
    g.finish();
}

fn keys() -> Vec<(SigningKey, VerifyingKey)> {
    (0..64u8)
        .map(|i| {
            let k = SigningKey::from_bytes(&[i; 32]);
            let v = k.verifying_key();
            (k, v)
        })
        .collect()
}

fn case_study_run(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("v2g-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let spec = |ledger: bool| {
        let mut s = v2g::pipeline::RunSpec::new(root.join("data/sustech.csv"));
        s.overrides.ledger = Some(ledger);
        s.out = Some(dir.join(if ledger { "on" } else { "off" }));
        s
    };
    let mut g = c.benchmark_group("case study run");
    g.sample_size(10);
    for (name, ledger) in [("ledger off", false), ("ledger on", true)] {
        let spec = spec(ledger);
        g.bench_function(name, |b| {
            b.iter(|| {
                v2g::pipeline::run(&spec, &mut |_| Ok(()))
                    .expect("the case study runs")
                    .result
                    .slots
                    .len()
            })
        });
    }
    g.finish();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, bench, case_study, case_study_run);
criterion_main!(benches);
