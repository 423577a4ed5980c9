//! The ledger's speed against this machine's raw ed25519 rate, in the same run.
//!
//! * `ledger/raw ed25519`: the signatures the ledger makes, on its own messages, and
//!   nothing else: per trade the EV's consent; per block the oracle message, every
//!   worker's proposal, every SCP's meter attestation and prevote, signed and checked
//!   with `verify_strict`, and the precommits, signed; in parallel with rayon, every
//!   signature first and then every check. The ceiling.
//! * `ledger/raw ed25519, block by block`: the same signatures scheduled as the recorder
//!   schedules them: a block's signatures made beside the checks of the block before.
//!   Which of the two is faster on this machine depends on the build (in some builds two
//!   cores checking at once slow each other down more than a core signing beside a core
//!   checking), so the ceiling is the faster one.
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
//! * `case study/raw signatures` and `case study/raw signatures, block by block`: the
//!   signatures that ledger makes, made and checked as in `ledger/raw ed25519` and
//!   `ledger/raw ed25519, block by block`.
//!
//! and the whole run as `v2g simulate --fleet data/sustech.csv` makes it
//! (`v2g::pipeline::run` with an output folder: inputs read and hashed, keys, the run,
//! the summary, the figures and every output file written and swapped in):
//!
//! * `case study run/ledger off` and `case study run/ledger on`.
//!
//! The goal: ledger on within 2 × ledger off + raw signatures. On a shared machine the
//! three separate benches drift apart between their measurements, so each group ends
//! with `goal, interleaved`: rounds of ledger off, both raw schedules and ledger on, one
//! after another; criterion times the ledger-on runs and the bench prints the median,
//! least and greatest ratio on / (2 × off + raw) of the rounds, raw being the faster
//! schedule of each round (at most 1 meets the goal). `cargo bench --bench ledger`

mod common;

use std::hint::black_box;
use std::time::Instant;

use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rayon::prelude::*;
use v2g::game::solve::equal_workers;
use v2g::ledger::consensus::{vote_bytes, VoteKind};
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
                site: None,
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

/// The messages a ledger signs, block by block: those the validators check (signed, then
/// verified strictly, as the validators do before they vote), and the precommits (signed,
/// checked by the next reader). Message `i` of the whole ledger is signed by key `i % 64`
/// in both schedules below, so both make the same signatures.
struct Messages {
    blocks: Vec<BlockMessages>,
    checked: Vec<Vec<u8>>,
    signed: Vec<Vec<u8>>,
}

/// One block's messages: checked, and signed only (the precommits).
struct BlockMessages {
    checked: Vec<Vec<u8>>,
    signed: Vec<Vec<u8>>,
}

/// A block's checked messages with their signatures and the index of its first message.
type Signed<'a> = (&'a [Vec<u8>], Vec<Signature>, usize);

type Keys = [(SigningKey, VerifyingKey)];

fn sign_all(keys: &Keys, msgs: &[Vec<u8>], first: usize) -> Vec<Signature> {
    msgs.par_iter()
        .enumerate()
        .map(|(i, m)| keys[(first + i) % keys.len()].0.sign(m))
        .collect()
}

fn check_all(keys: &Keys, msgs: &[Vec<u8>], sigs: &[Signature], first: usize) -> usize {
    msgs.par_iter()
        .zip(sigs.par_iter())
        .enumerate()
        .filter(|(i, (m, s))| keys[(first + i) % keys.len()].1.verify_strict(m, s).is_ok())
        .count()
}

/// Signatures per call of `verify_batch`: enough that a batch costs little more per
/// signature than a larger one (docs/benchmarks.md), and one batch per rayon task.
const BATCH: usize = 256;

/// Batch verification (`ed25519_dalek::verify_batch`) of message `i` under key `i % 64`,
/// in batches of [`BATCH`] on both cores, with nothing checked first. Its equation is
/// the cofactored one, so it accepts a signature whose `R` carries a small-order
/// component, which `verify_strict` refuses: the ledger cannot use it as it is.
fn bare_batch(keys: &Keys, msgs: &[Vec<u8>], sigs: &[Signature]) -> bool {
    (0..msgs.len().div_ceil(BATCH)).into_par_iter().all(|c| {
        let r = c * BATCH..((c + 1) * BATCH).min(msgs.len());
        let m: Vec<&[u8]> = msgs[r.clone()].iter().map(Vec::as_slice).collect();
        let k: Vec<VerifyingKey> = r.clone().map(|i| keys[i % keys.len()].1).collect();
        ed25519_dalek::verify_batch(&m, &sigs[r], &k).is_ok()
    })
}

/// [`bare_batch`] after the checks that make it accept only what `verify_strict`
/// accepts, given keys of the prime-order subgroup (the ledger's genesis admits no other,
/// `keys::verifying_key`): each `R` decodes to a point, is that point's canonical
/// encoding, is not of small order and is torsion-free. Then `R` and `[s]B − [k]A` both
/// lie in the prime-order subgroup, where the cofactored batch equation holds (but with
/// probability about 2^-128) only if every `R = [s]B − [k]A`, which is `verify_strict`'s
/// condition; a failed batch is then located by `verify_strict` on its members.
fn strict_batch(keys: &Keys, msgs: &[Vec<u8>], sigs: &[Signature]) -> bool {
    let r_ok = sigs.par_iter().all(|s| {
        let r = curve25519_dalek::edwards::CompressedEdwardsY(*s.r_bytes());
        r.decompress()
            .is_some_and(|p| p.compress() == r && !p.is_small_order() && p.is_torsion_free())
    });
    r_ok && bare_batch(keys, msgs, sigs)
}

impl Messages {
    fn of(ledger: &v2g::ledger::Ledger) -> Self {
        let chain = &ledger.genesis.chain_id;
        let blocks: Vec<BlockMessages> = ledger
            .blocks
            .iter()
            .map(|b| {
                let h = b.header.height;
                let mut checked = vec![b.oracle.signed_bytes(chain)];
                checked.extend(b.proposals.iter().map(|p| p.signed_bytes(chain, h)));
                checked.extend(b.txs.iter().map(|t| t.consent_bytes(chain)));
                checked.extend(b.meters.iter().map(|m| m.signed_bytes(chain, h)));
                let prevote = b.header.prevote_hash(chain);
                checked.extend(
                    b.votes
                        .iter()
                        .map(|v| vote_bytes(VoteKind::Prevote, chain, h, &prevote, v.scp)),
                );
                let hash = b.header.hash(chain);
                let signed = b
                    .votes
                    .iter()
                    .map(|v| vote_bytes(VoteKind::Precommit, chain, h, &hash, v.scp))
                    .collect();
                BlockMessages { checked, signed }
            })
            .collect();
        let checked = blocks.iter().flat_map(|b| b.checked.clone()).collect();
        let signed = blocks.iter().flat_map(|b| b.signed.clone()).collect();
        Messages {
            blocks,
            checked,
            signed,
        }
    }

    /// All at once: every message signed (rayon), then every check, then the precommits.
    fn all_at_once(&self, keys: &Keys) -> usize {
        let sigs = sign_all(keys, black_box(&self.checked), 0);
        let ok = check_all(keys, &self.checked, &sigs, 0);
        assert_eq!(ok, self.checked.len());
        ok + sign_all(keys, black_box(&self.signed), 0).len()
    }

    /// Block by block, as the recorder schedules them: block `b`'s messages and
    /// precommits signed beside the checks of block `b − 1`'s signatures (`rayon::join`),
    /// so that signing and checking share the cores. On this machine which of the two
    /// schedules is faster depends on the build (`docs/benchmarks.md`, "The ledger"), so the
    /// goal takes the faster of them as the raw cost.
    fn block_by_block(&self, keys: &Keys) -> usize {
        let mut before: Option<Signed<'_>> = None;
        let (mut ok, mut signed, mut first, mut first_signed) = (0, 0, 0, 0);
        for BlockMessages {
            checked,
            signed: only_signed,
        } in black_box(&self.blocks)
        {
            let ((sigs, precommits), checks) = rayon::join(
                || {
                    rayon::join(
                        || sign_all(keys, checked, first),
                        || sign_all(keys, only_signed, first_signed),
                    )
                },
                || {
                    before
                        .as_ref()
                        .map_or(0, |(m, s, f)| check_all(keys, m, s, *f))
                },
            );
            ok += checks;
            signed += precommits.len();
            before = Some((checked, sigs, first));
            first += checked.len();
            first_signed += only_signed.len();
        }
        ok += before.map_or(0, |(m, s, f)| check_all(keys, m, &s, f));
        assert_eq!(ok, self.checked.len());
        ok + signed
    }
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
    let msgs = Messages::of(&ledger);
    assert!(msgs.checked.len() > trades);

    let mut g = c.benchmark_group("ledger");
    g.sample_size(10);
    g.throughput(Throughput::Elements(trades as u64));
    g.bench_function(format!("raw ed25519/{trades} trades"), |b| {
        b.iter(|| msgs.all_at_once(&keys))
    });
    g.bench_function(
        format!("raw ed25519, block by block/{trades} trades"),
        |b| b.iter(|| msgs.block_by_block(&keys)),
    );
    // Point 4 of issue 30: whether batch verification could make the validators' checks
    // cheaper without accepting anything `verify_strict` refuses.
    let sigs = sign_all(&keys, &msgs.checked, 0);
    let n = msgs.checked.len();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("checks, verify_strict/{n} signatures"), |b| {
        b.iter(|| assert_eq!(check_all(&keys, black_box(&msgs.checked), &sigs, 0), n))
    });
    g.bench_function(format!("checks, strict batch/{n} signatures"), |b| {
        b.iter(|| assert!(strict_batch(&keys, black_box(&msgs.checked), &sigs)))
    });
    g.bench_function(format!("checks, bare batch/{n} signatures"), |b| {
        b.iter(|| assert!(bare_batch(&keys, black_box(&msgs.checked), &sigs)))
    });
    g.throughput(Throughput::Elements(trades as u64));
    g.bench_function(format!("record/{trades} trades"), |b| {
        b.iter(|| record(&builder, black_box(&slots)).blocks.len())
    });
    g.bench_function(format!("audit/{trades} trades"), |b| {
        b.iter(|| v2g::ledger::verify(black_box(&bytes), &genesis, None).expect("verifies"))
    });
    g.finish();
}

/// The case study's run, a ledger builder for it, and the messages its ledger signs
/// block by block: made once, on first use, for both case-study groups.
type CaseStudy = (Run, LedgerBuilder, Messages);

fn case_study_setup() -> &'static CaseStudy {
    static SETUP: std::sync::OnceLock<CaseStudy> = std::sync::OnceLock::new();
    SETUP.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let fleet = Fleet::load(&root.join("data/sustech.csv")).expect("data/sustech.csv");
        let grid = v2g::GridSignals::load(&root.join("data/sustech_grid.csv")).expect("grid");
        let run = Run::new(fleet, Some(&grid), Scenario::default()).expect("valid case study");
        let builder = LedgerBuilder::fresh(&run).expect("ledger");
        let (_, ledger) =
            v2g::ledger::record::simulate_with_ledger(&run, builder.clone(), |_| Ok(()))
                .expect("the case study records");
        (run, builder, Messages::of(&ledger))
    })
}

/// Rounds of `off`, the two raw schedules and `on` run one after another, so that the
/// drifts of a shared machine fall on all of them alike: criterion times the ledger-on
/// runs, and the goal's ratio of each round, on / (2 × off + raw), with raw the faster of
/// the two schedules in that round, is printed when the bench ends (the goal is a ratio
/// of at most 1).
fn goal(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut off: impl FnMut(),
    mut raw_at_once: impl FnMut(),
    mut raw_by_block: impl FnMut(),
    mut on: impl FnMut(),
) {
    let mut ratios: Vec<f64> = Vec::new();
    let mut by_block_faster = 0;
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let time = |f: &mut dyn FnMut()| {
                let t = Instant::now();
                f();
                t.elapsed()
            };
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let t_off = time(&mut off);
                let (t_at_once, t_by_block) = (time(&mut raw_at_once), time(&mut raw_by_block));
                let t_on = time(&mut on);
                by_block_faster += usize::from(t_by_block < t_at_once);
                let t_raw = t_at_once.min(t_by_block);
                ratios.push(t_on.as_secs_f64() / (2.0 * t_off.as_secs_f64() + t_raw.as_secs_f64()));
                total += t_on;
            }
            total
        })
    });
    if !ratios.is_empty() {
        ratios.sort_by(f64::total_cmp);
        let over = ratios.iter().filter(|&&r| r > 1.0).count();
        println!(
            "{name}: on / (2 × off + raw) over {} rounds: median {:.4}, min {:.4}, max {:.4}; {over} over 1 (raw block by block faster in {by_block_faster})",
            ratios.len(),
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
        );
    }
}

fn case_study(c: &mut Criterion) {
    let (run, builder, msgs) = case_study_setup();
    let keys = keys();

    let mut g = c.benchmark_group("case study");
    g.sample_size(10);
    g.bench_function("ledger off", |b| {
        b.iter(|| run.simulate(|_| Ok(())).expect("runs").slots.len())
    });
    let on = || {
        let mut sink = std::io::sink();
        v2g::ledger::record::simulate_streaming(
            run,
            builder.clone(),
            &mut sink,
            std::path::Path::new("sink"),
            |_| Ok(()),
        )
        .expect("runs")
        .0
        .slots
        .len()
    };
    g.bench_function("ledger on", |b| b.iter(on));
    g.bench_function(
        format!(
            "raw signatures/{} checked + {} signed",
            msgs.checked.len(),
            msgs.signed.len()
        ),
        |b| b.iter(|| msgs.all_at_once(&keys)),
    );
    g.bench_function("raw signatures, block by block", |b| {
        b.iter(|| msgs.block_by_block(&keys))
    });
    goal(
        &mut g,
        "goal, interleaved",
        || {
            black_box(run.simulate(|_| Ok(())).expect("runs").slots.len());
        },
        || {
            black_box(msgs.all_at_once(&keys));
        },
        || {
            black_box(msgs.block_by_block(&keys));
        },
        || {
            black_box(on());
        },
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
    let whole = |spec: &v2g::pipeline::RunSpec| {
        v2g::pipeline::run(spec, &mut |_| Ok(()))
            .expect("the case study runs")
            .result
            .slots
            .len()
    };
    let (spec_off, spec_on) = (spec(false), spec(true));
    let mut g = c.benchmark_group("case study run");
    g.sample_size(10);
    g.bench_function("ledger off", |b| b.iter(|| whole(&spec_off)));
    g.bench_function("ledger on", |b| b.iter(|| whole(&spec_on)));
    let (_, _, msgs) = case_study_setup();
    let keys = keys();
    goal(
        &mut g,
        "goal, interleaved",
        || {
            black_box(whole(&spec_off));
        },
        || {
            black_box(msgs.all_at_once(&keys));
        },
        || {
            black_box(msgs.block_by_block(&keys));
        },
        || {
            black_box(whole(&spec_on));
        },
    );
    g.finish();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, bench, case_study, case_study_run);
criterion_main!(benches);
