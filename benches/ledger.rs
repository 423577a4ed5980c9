//! The ledger's speed against this machine's raw ed25519 rate, in the same run.
//!
//! * `ledger/raw ed25519`: per trade, two messages of a transaction's size signed (the EV's
//!   consent, the SCP's meter attestation) and both batch-verified: signing in parallel
//!   with rayon, ed25519 batch verification over parallel chunks. The ceiling.
//! * `ledger/record`: the ledger's own work for the same number of trades: a block per slot
//!   with oracle message, signed proposals, signed and countersigned transactions, the
//!   validators' batch check of every signature, terms, nonces, Merkle root, and the SCPs'
//!   votes. The ledger must reach at least 70 % of the raw rate.
//! * `ledger/audit`: `v2g verify` of the same ledger from its bytes (parse, canonical
//!   form, every signature, every rule, light-client inclusion proofs).
//!
//! Throughput is in trades per second. `cargo bench --bench ledger`

mod common;

use std::hint::black_box;

use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rayon::prelude::*;
use v2g::game::search::SearchResult;
use v2g::game::solve::equal_workers;
use v2g::ledger::LedgerBuilder;
use v2g::settlement::{Cash, Trade};
use v2g::{Ev, Fleet, Kind, Run, Scenario, SlotGame, SlotOutcome, SlotPrices, SlotRecord};

const EVS: usize = 1000;
const SLOTS: usize = 8;

/// A slot's outcome, owned, so the simulation runs once and only the ledger is timed.
struct Captured {
    record: SlotRecord,
    prices: SlotPrices,
    game: SlotGame,
    search: SearchResult,
    trades: Vec<Trade>,
    cash: Cash,
}

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

fn capture(run: &Run) -> Vec<Captured> {
    let mut out = Vec::new();
    run.simulate(|o| {
        out.push(Captured {
            record: o.record.clone(),
            prices: *o.prices,
            game: o.game.clone(),
            search: o.search.clone(),
            trades: o.trades.to_vec(),
            cash: *o.cash,
        });
        Ok(())
    })
    .expect("the run completes");
    out
}

/// Records the slots with a fresh copy of `builder` (keys derived once, outside the timing).
fn record(builder: &LedgerBuilder, slots: &[Captured]) -> v2g::ledger::Ledger {
    let mut b = builder.clone();
    for s in slots {
        b.record(&SlotOutcome {
            record: &s.record,
            prices: &s.prices,
            game: &s.game,
            search: &s.search,
            trades: &s.trades,
            cash: &s.cash,
        })
        .expect("honest slot records");
    }
    b.finish()
}

/// Two signatures made and strictly verified per trade (the ledger's one signature rule),
/// in parallel, on messages of a transaction's size.
fn raw(keys: &[(SigningKey, VerifyingKey)], msgs: &[Vec<u8>]) -> usize {
    let sigs: Vec<Signature> = msgs
        .par_iter()
        .enumerate()
        .map(|(i, m)| keys[i % keys.len()].0.sign(m))
        .collect();
    let ok = msgs
        .par_iter()
        .zip(sigs.par_iter())
        .enumerate()
        .filter(|(i, (m, s))| keys[i % keys.len()].1.verify_strict(m, s).is_ok())
        .count();
    assert_eq!(ok, msgs.len());
    ok
}

fn bench(c: &mut Criterion) {
    let run = run();
    let slots = capture(&run);
    let trades: usize = slots.iter().map(|s| s.trades.len()).sum();
    let builder = LedgerBuilder::fresh(&run).expect("ledger");
    let ledger = record(&builder, &slots);
    let bytes = ledger.to_jsonl();
    let genesis = ledger.genesis_json();

    // The raw workload: 2 signatures per trade, messages as long as the ledger's.
    let keys: Vec<(SigningKey, VerifyingKey)> = (0..64u8)
        .map(|i| {
            let k = SigningKey::from_bytes(&[i; 32]);
            let v = k.verifying_key();
            (k, v)
        })
        .collect();
    let chain = &ledger.genesis.chain_id;
    let msgs: Vec<Vec<u8>> = ledger
        .blocks
        .iter()
        .flat_map(|b| &b.txs)
        .flat_map(|t| {
            let consent = t.consent_bytes(chain);
            let meter = t.meter_bytes(chain, &consent);
            [consent, meter]
        })
        .collect();
    assert_eq!(msgs.len(), 2 * trades);

    let mut g = c.benchmark_group("ledger");
    g.sample_size(10);
    g.throughput(Throughput::Elements(trades as u64));
    g.bench_function(format!("raw ed25519/{trades} trades"), |b| {
        b.iter(|| raw(&keys, black_box(&msgs)))
    });
    g.bench_function(format!("record/{trades} trades"), |b| {
        b.iter(|| record(&builder, black_box(&slots)).blocks.len())
    });
    g.bench_function(format!("audit/{trades} trades"), |b| {
        b.iter(|| v2g::ledger::verify(black_box(&bytes), &genesis, None).expect("verifies"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
