//! What each holder of keys can and cannot rewrite: one test per row of the table in
//! `docs/guide/ledger.md` ("What `OK` proves, and what it does not"). Each attack is made with exactly the keys of its
//! row, on the example run's ledger (6 SCP workers; SCP 5 byzantine in the byzantine
//! run), and checked with `verify` against the pinned genesis.

use ed25519_dalek::SigningKey;
use v2g::ledger::block::{signed_vote, vote};
use v2g::ledger::consensus::{evidence_root, vote_bytes, Evidence, VoteKind};
use v2g::ledger::keys::{sign, Keyring};
use v2g::ledger::units::{Bytes, Sig};
use v2g::ledger::{store, Fault, Ledger, LedgerError};

use crate::common::*;
use crate::ledger::{
    fixture, honest, keyring, parse, refused, refused_pinned, rewrite, write_bytes, QUORUM, WORKERS,
};

/// A block in the middle of the day, with trades.
const H: usize = 40;
/// The last block of the example run.
const LAST: usize = 95;

/// The byzantine run's ledger (SCP 5 byzantine).
fn byzantine() -> Ledger {
    parse(fixture(true))
}

/// `verify` of `l` against its own genesis, pinned.
fn verify_pinned(l: &Ledger) -> Result<v2g::ledger::AuditReport, LedgerError> {
    let pin = l.genesis.hash();
    v2g::ledger::verify(
        &store::write(l),
        &store::write_genesis(&l.genesis),
        Some(&pin),
    )
}

/// Asserts that `l` is refused at its seal (the last line) for a fault `fault` accepts,
/// by the library and by `v2g verify --genesis`.
fn refused_at_seal(l: &Ledger, fault: impl Fn(&Fault) -> bool) {
    let err = verify_pinned(l).expect_err("must be refused");
    assert!(fault(&err.fault), "{err}");
    let seal_line = l.blocks.len() as u64 + 2;
    assert_eq!(err.location.line, Some(seal_line), "{err}");
    let dir = tmp();
    let path = write_bytes(dir.path(), "ledger.jsonl", &store::write(l));
    let trusted = write_bytes(
        dir.path(),
        "trusted.json",
        &store::write_genesis(&l.genesis),
    );
    let o = v2g([
        "verify",
        path.to_str().unwrap(),
        "--genesis",
        trusted.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("line {seal_line}")),
        "{}",
        stderr(&o)
    );
}

/// Another valid signature of `msg` by `key`: the same statement, other bytes. ed25519
/// signing is deterministic, but whoever holds a key can sign with any nonce, and
/// `verify_strict` accepts every such signature.
fn other_signature(key: &SigningKey, msg: &[u8]) -> Sig {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let a = key.to_scalar();
    let r = Scalar::hash_from_bytes::<Sha512>(&[b"another nonce".as_slice(), msg].concat());
    let big_r = (r * B).compress();
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(key.verifying_key().to_bytes())
            .chain_update(msg),
    );
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    let sig = Bytes(sig);
    assert_ne!(
        sig,
        sign(key, msg),
        "a signature other than the deterministic one"
    );
    let check = ed25519_dalek::Signature::from_bytes(&sig.0);
    assert!(key.verifying_key().verify_strict(msg, &check).is_ok());
    sig
}

/// Commits block `h`'s evidence as it now stands (its root in the header, the honest
/// quorum's precommits on that header) and rewrites every later block: what the byzantine
/// SCP with an honest quorum could do after changing its evidence.
fn commit_evidence(l: &mut Ledger, h: usize, ring: &Keyring) {
    let chain = l.genesis.chain_id.clone();
    let b = &mut l.blocks[h];
    b.header.evidence_root = evidence_root(&chain, h as u64, &b.evidence);
    let hash = b.header.hash(&chain);
    b.votes = QUORUM
        .iter()
        .map(|&j| vote(&chain, h as u64, &hash, j as u32, &ring.scps[j]))
        .collect();
    rewrite(l, h + 1, ring, &QUORUM, &[5]);
}

/// The keys of SCPs `js` only (the rest of the ring is there but unused).
fn all_scps() -> Vec<usize> {
    (0..WORKERS).collect()
}

#[test]
fn rewrite_with_every_key_held_reproduces_the_ledger() {
    // The helper itself: rewriting with exactly the run's signers changes nothing.
    let l0 = honest();
    let ring = keyring(&l0);
    let mut l = l0.clone();
    rewrite(&mut l, 0, &ring, &all_scps(), &[]);
    assert_eq!(l, l0);
    let b0 = byzantine();
    let mut b = b0.clone();
    rewrite(&mut b, 0, &ring, &QUORUM, &[5]);
    assert_eq!(b, b0);
}

/// Row "none": with no key, the precommits and the seal's votes can be neither deleted
/// nor reordered, in any block or the last. (Before the last-commit and seal rules,
/// deleting votes down to the quorum and reordering them passed.)
#[test]
fn no_key_cannot_delete_or_reorder_votes() {
    for h in [H, LAST] {
        let mut l = honest();
        l.blocks[h].votes.swap(1, 2);
        refused(&l, h, None, |f| matches!(f, Fault::LastCommit(_)));
        let mut l = honest();
        l.blocks[h].votes.remove(3); // 6 → 5 of 6: still a quorum
        refused(
            &l,
            h,
            None,
            |f| matches!(f, Fault::Replay(m) if m.contains("precommits")),
        );
        let mut l = honest();
        l.blocks[h].meters.swap(0, 1);
        refused(&l, h, None, |f| matches!(f, Fault::Meters(_)));
    }
    let mut l = honest();
    l.seal.votes.swap(0, 4);
    refused_at_seal(
        &l,
        |f| matches!(f, Fault::Seal(m) if m.contains("SCP order")),
    );
    let mut l = honest();
    l.seal.votes.remove(2);
    refused_at_seal(&l, |f| matches!(f, Fault::Seal(m) if m.contains("exactly")));
    // Without its seal, the last block's votes would be committed by nothing.
    let bytes = store::write(&honest());
    let cut = &bytes[..bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&c| c == b'\n')
        .unwrap()
        + 1];
    let pin = honest().genesis.hash();
    let genesis = store::write_genesis(&honest().genesis);
    let e = v2g::ledger::verify(cut, &genesis, Some(&pin)).unwrap_err();
    assert!(matches!(e.fault, Fault::Seal(_)), "{e}");
    assert_eq!(e.location.line, Some(98), "{e}");
}

/// Row "one SCP": with its own key an SCP can sign the same statement again with other
/// bytes, but a committed signature cannot be exchanged: its precommit or meter
/// attestation in a block is committed by the next header, the last block's by the seal.
/// What it can still exchange is its own seal vote (the one-record window
/// `docs/guide/ledger.md` states): the statement stays the same.
#[test]
fn one_scp_cannot_exchange_its_committed_signatures() {
    let l0 = honest();
    let ring = keyring(&l0);
    let chain = l0.genesis.chain_id.clone();
    let j = 2usize;
    for h in [H, LAST] {
        let hash = l0.blocks[h].header.hash(&chain);
        let msg = vote_bytes(VoteKind::Precommit, &chain, h as u64, &hash, j as u32);
        let mut l = l0.clone();
        l.blocks[h].votes[j].sig = other_signature(&ring.scps[j], &msg);
        let mut m = l0.clone();
        let att = &m.blocks[h].meters[j];
        let msg = att.signed_bytes(&chain, h as u64);
        m.blocks[h].meters[j].sig = other_signature(&ring.scps[j], &msg);
        for l in [l, m] {
            // The block itself still checks: the signature is valid.
            if h == LAST {
                refused_at_seal(
                    &l,
                    |f| matches!(f, Fault::Seal(m) if m.contains("last block")),
                );
            } else {
                refused(&l, h + 1, None, |f| matches!(f, Fault::LastCommit(_)));
            }
        }
    }
    // The seal vote: another signature of the same statement passes.
    let mut l = l0.clone();
    let hash = l.seal.hash(&chain);
    let msg = vote_bytes(VoteKind::Seal, &chain, l.seal.height, &hash, j as u32);
    l.seal.votes[j].sig = other_signature(&ring.scps[j], &msg);
    assert_ne!(l, l0);
    verify_pinned(&l).expect("the seal's own votes are the window: same statement, new bytes");
}

/// Row "a quorum of SCPs": five of six cannot re-seal a block with only their own votes
/// (the honest sixth's precommit is required), even re-signing every later block.
#[test]
fn a_quorum_cannot_reseal_a_block_with_only_its_own_votes() {
    let l0 = honest();
    let ring = keyring(&l0);
    let mut l = l0.clone();
    rewrite(&mut l, H, &ring, &QUORUM, &[]);
    refused_pinned(
        &l,
        H,
        |f| matches!(f, Fault::Replay(m) if m.contains("precommits")),
    );
}

/// Row "a byzantine SCP with an honest quorum": its false proposal can be neither
/// relabelled honest nor replaced by another false claim, and its evidence cannot be
/// made of other hashes or of a precommit's signature. (Before the replay of false
/// claims, both rewrites passed and the verdict line said 0 false proposals.)
#[test]
fn a_byzantine_scp_and_a_quorum_cannot_rewrite_its_record() {
    let b0 = byzantine();
    let ring = keyring(&b0);
    let chain = b0.genesis.chain_id.clone();
    let honest_claims = honest();
    let p = b0.blocks[H].proposals[5].clone();
    assert!(p.faulty, "the byzantine SCP's proposal is marked false");
    let resign = |p: &mut v2g::ledger::consensus::Proposal| {
        p.sig = sign(&ring.scps[5], &p.signed_bytes(&chain, H as u64));
    };
    // Relabelled honest: its sub-range's true best, signed by it, marked true.
    let mut l = b0.clone();
    let q = &mut l.blocks[H].proposals[5];
    q.best = honest_claims.blocks[H].proposals[5].best;
    q.faulty = false;
    resign(q);
    rewrite(&mut l, H, &ring, &QUORUM, &[5]);
    refused_pinned(
        &l,
        H,
        |f| matches!(f, Fault::Replay(m) if m.contains("SCP 5's proposal is not the claim it made")),
    );
    // Another false claim, still marked false.
    let mut l = b0.clone();
    let q = &mut l.blocks[H].proposals[5];
    let mut c = q.best.unwrap();
    c.revenue += 1_000_000;
    q.best = Some(c);
    resign(q);
    rewrite(&mut l, H, &ring, &QUORUM, &[5]);
    refused_pinned(
        &l,
        H,
        |f| matches!(f, Fault::Replay(m) if m.contains("SCP 5's proposal is not the claim it made")),
    );
    // Evidence on an arbitrary second hash, signed as a prevote.
    let forged = |change: &dyn Fn(&mut Evidence)| {
        let mut l = b0.clone();
        change(&mut l.blocks[H].evidence[0]);
        commit_evidence(&mut l, H, &ring);
        l
    };
    let prevote = |h: &v2g::ledger::units::Hash| {
        sign(
            &ring.scps[5],
            &vote_bytes(VoteKind::Prevote, &chain, H as u64, h, 5),
        )
    };
    let l = forged(&|e| {
        e.second = Bytes([7; 32]);
        e.second_sig = prevote(&e.second);
    });
    refused_pinned(
        &l,
        H,
        |f| matches!(f, Fault::Replay(m) if m.contains("not its prevote for the header")),
    );
    // Evidence whose first hash is not the block's header.
    let l = forged(&|e| {
        e.first = Bytes([8; 32]);
        e.first_sig = prevote(&e.first);
    });
    refused_pinned(
        &l,
        H,
        |f| matches!(f, Fault::Evidence(m) if m.contains("first prevote")),
    );
    // Evidence signed with the precommit tag instead of the prevote tag: not a prevote.
    let l = forged(&|e| {
        e.second_sig = sign(
            &ring.scps[5],
            &vote_bytes(VoteKind::Precommit, &chain, H as u64, &e.second, 5),
        );
    });
    refused_pinned(
        &l,
        H,
        |f| matches!(f, Fault::Signature(m) if m.contains("evidence")),
    );
    assert!(verify_pinned(&b0).is_ok());
}

/// Row "the oracle": alone it cannot change its message (the header commits to it).
#[test]
fn the_oracle_alone_cannot_change_its_message() {
    let l0 = honest();
    let ring = keyring(&l0);
    let chain = l0.genesis.chain_id.clone();
    let mut l = l0.clone();
    let o = &mut l.blocks[H].oracle;
    o.e_limit_kwh = 0.1;
    o.e_limit_wh = 100;
    o.sig = sign(&ring.oracle, &o.signed_bytes(&chain));
    refused(&l, H, None, |f| *f == Fault::OracleHash);
}

/// The example fleet run without a grid file (copied where no `example_grid.csv` lies
/// beside it), with the committed keystore and the fixture's settings.
fn no_grid() -> &'static Ledger {
    static RUN: std::sync::OnceLock<Ledger> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tmp();
        let fleet = dir.path().join("example.csv");
        std::fs::copy(root().join("data/example.csv"), &fleet).unwrap();
        let out = dir.path().join("out");
        let keystore = crate::ledger::keystore_path();
        ok(&v2g([
            "simulate",
            "--fleet",
            fleet.to_str().unwrap(),
            "--epsilon",
            "0.01",
            "--workers",
            &WORKERS.to_string(),
            "--keystore",
            keystore.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]));
        let read = |name: &str| std::fs::read(out.join(name)).unwrap();
        store::parse(
            &read("ledger.jsonl"),
            store::parse_genesis(&read("genesis.json")).unwrap(),
        )
        .unwrap()
    })
}

/// Row "the oracle and every SCP", a run without a grid file: the genesis alone fixes
/// every oracle message (the committed tariff's `p_rt`, `E_limit = 0`), so a task of
/// 0.1 kWh or `p_rt` one ulp off is refused, even by holders of every key. (Before,
/// the replay took the oracle's word and both passed.)
#[test]
fn without_a_grid_file_the_oracle_is_bound_to_the_committed_tariff() {
    let l0 = no_grid().clone();
    assert!(l0.genesis.commitment.grid_sha256.is_none());
    verify_pinned(&l0).expect("the honest run verifies");
    let ring = keyring(&l0);
    let chain = l0.genesis.chain_id.clone();
    let task = |o: &mut v2g::ledger::oracle::OracleMsg| {
        o.e_limit_kwh = 0.1;
        o.e_limit_wh = 100;
    };
    let ulp = |o: &mut v2g::ledger::oracle::OracleMsg| {
        o.p_rt_exact = f64::from_bits(o.p_rt_exact.to_bits() + 1);
    };
    for change in [&task as &dyn Fn(&mut _), &ulp] {
        let mut l = l0.clone();
        let o = &mut l.blocks[H].oracle;
        change(o);
        o.sig = sign(&ring.oracle, &o.signed_bytes(&chain));
        rewrite(&mut l, H, &ring, &all_scps(), &[]);
        refused_pinned(
            &l,
            H,
            |f| matches!(f, Fault::Replay(m) if m.contains("committed tariff")),
        );
    }
    // Every key: the run rebuilt under a grid that asks that task, its blocks recorded
    // under the committed genesis, is refused too.
    let g = &l0.genesis;
    let h = g.commitment.scenario.horizon;
    let rows = (0..h.slots)
        .map(|t| v2g::data::grid::GridRow {
            time: h.slot_start(t),
            base_load_kw: 0.0,
            e_limit_kwh: if t == H { 0.1 } else { 0.0 },
            p_rt: None,
        })
        .collect();
    let forged = forge(&l0, &ring, v2g::data::grid::GridSignals::new(rows).unwrap());
    refused_pinned(
        &forged,
        H,
        |f| matches!(f, Fault::Replay(m) if m.contains("committed tariff")),
    );
}

/// The run of `l`'s genesis replayed with every key in `ring` under `grid`, recorded
/// under `l`'s genesis (the same commitment, keys and so chain id).
fn forge(l: &Ledger, ring: &Keyring, grid: v2g::data::grid::GridSignals) -> Ledger {
    let g = &l.genesis;
    let fleet = v2g::data::fleet::Fleet::new(g.evs.iter().map(|w| w.ev()).collect()).unwrap();
    let run = v2g::sim::Run::new(fleet, Some(&grid), g.commitment.scenario.clone()).unwrap();
    let builder =
        v2g::ledger::LedgerBuilder::new(&run, ring.clone(), g.commitment.clone()).unwrap();
    assert_eq!(builder.genesis().hash(), g.hash(), "the same genesis");
    let (_, forged) = v2g::ledger::record::simulate_with_ledger(&run, builder, |_| Ok(())).unwrap();
    forged
}

/// Rows "the oracle and every SCP" and "every key", a run with a grid file: with the
/// oracle's and every SCP's keys (no EV's: every trade stays byte for byte as signed)
/// the task of a slot can be rewritten, moving money between the EVA and the operator;
/// `verify` without the grid file accepts it (the operator's word), `verify --grid` with
/// the committed file refuses it.
#[test]
fn with_a_grid_file_the_oracle_is_bound_only_when_the_auditor_gives_it() {
    let l0 = honest();
    let ring = keyring(&l0);
    let grid = root().join("data/example_grid.csv");
    // A slot with a task whose task, doubled, changes no trade: every transaction stays
    // the one its EV signed, so no EV key is needed (the header's R and accounts, the
    // proposals and the votes are re-signed by the SCPs, the message by the oracle).
    let signals = v2g::data::grid::GridSignals::load(&grid).unwrap();
    let h = l0.genesis.commitment.scenario.horizon;
    let (t, forged) = (0..l0.blocks.len())
        .filter(|&t| l0.blocks[t].oracle.e_limit_kwh > 0.0)
        .find_map(|t| {
            let mut rows = signals.rows().to_vec();
            let row = rows.iter_mut().find(|r| r.time == h.slot_start(t)).unwrap();
            row.e_limit_kwh *= 2.0;
            let forged = forge(&l0, &ring, v2g::data::grid::GridSignals::new(rows).unwrap());
            let same = forged
                .blocks
                .iter()
                .zip(&l0.blocks)
                .all(|(a, b)| a.txs == b.txs);
            same.then_some((t, forged))
        })
        .expect("a slot whose task changes no trade");
    assert_ne!(forged.blocks[t].oracle, l0.blocks[t].oracle);
    assert_ne!(
        forged.blocks[t].header.operator_balance, l0.blocks[t].header.operator_balance,
        "money moved between the EVA and the operator"
    );
    let dir = tmp();
    let path = write_bytes(dir.path(), "ledger.jsonl", &store::write(&forged));
    let trusted = write_bytes(
        dir.path(),
        "trusted.json",
        &store::write_genesis(&l0.genesis),
    );
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            path.to_str().unwrap(),
            "--genesis",
            trusted.to_str().unwrap(),
        ];
        args.extend(extra);
        v2g(args)
    };
    let o = verify(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("taken as the operator signed it"),
        "{}",
        stdout(&o)
    );
    let o = verify(&["--grid", grid.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("block {t}")) && e.contains("not the committed grid file's"),
        "{e}"
    );
    // The honest ledger passes with its grid file, which the report names; another file
    // is refused as not the committed one (exit 2, the flag named).
    let f = fixture(false);
    let honest_path = f.ledger_in(dir.path());
    let o = v2g([
        "verify",
        honest_path.to_str().unwrap(),
        "--grid",
        grid.to_str().unwrap(),
    ]);
    let report = ok(&o);
    assert!(
        report.contains("checked against the committed grid file"),
        "{report}"
    );
    let other = write_bytes(
        dir.path(),
        "other.csv",
        &[std::fs::read(&grid).unwrap(), b"\n".to_vec()].concat(),
    );
    let o = v2g([
        "verify",
        honest_path.to_str().unwrap(),
        "--grid",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--grid"), "{}", stderr(&o));
}

/// Row "the EVA" (with the keys of the parties it would impersonate): a genesis in which
/// one party's key is another's plus a small-order point — one secret signing for two
/// roles — is refused even unpinned, as is a key in a non-canonical encoding.
#[test]
fn keys_equal_up_to_torsion_are_refused() {
    use curve25519_dalek::constants::EIGHT_TORSION;
    let l0 = honest();
    let ring = keyring(&l0);
    for torsion in &EIGHT_TORSION[1..] {
        let mut g = l0.genesis.clone();
        let base = ring.scps[0].verifying_key().to_edwards();
        let twin = (base + torsion).compress().to_bytes();
        assert_ne!(twin, g.scps[0].0);
        g.scps[1] = Bytes(twin);
        let g = crate::ledger::resign_genesis(g, &ring.eva);
        crate::ledger::genesis_refused(g, &l0, "torsioned");
    }
    // An EV's key likewise.
    let mut g = l0.genesis.clone();
    let twin = (ring.evs[0].verifying_key().to_edwards() + EIGHT_TORSION[4])
        .compress()
        .to_bytes();
    g.evs[0].key = Bytes(twin);
    let g = crate::ledger::resign_genesis(g, &ring.eva);
    crate::ledger::genesis_refused(g, &l0, "torsioned");
}

#[test]
fn signatures_of_one_kind_are_not_votes_of_another() {
    // A precommit's bytes are not a prevote's nor a seal vote's for the same hash.
    let h = Bytes([9; 32]);
    let kinds = [VoteKind::Prevote, VoteKind::Precommit, VoteKind::Seal];
    for (i, a) in kinds.iter().enumerate() {
        for b in &kinds[i + 1..] {
            assert_ne!(vote_bytes(*a, "c", 1, &h, 0), vote_bytes(*b, "c", 1, &h, 0));
        }
    }
    let key = SigningKey::from_bytes(&[3; 32]);
    let v = signed_vote(VoteKind::Precommit, "c", 1, &h, 0, &key);
    let as_prevote = vote_bytes(VoteKind::Prevote, "c", 1, &h, 0);
    let sig = ed25519_dalek::Signature::from_bytes(&v.sig.0);
    assert!(key
        .verifying_key()
        .verify_strict(&as_prevote, &sig)
        .is_err());
}

/// Row "every key": with every key and the oracle's data bound (this run has no grid
/// file), the only rewrite that passes is the same history signed again: here an EV's
/// consent exchanged for another signature of the same terms, every later record
/// re-signed. Every decision, trade and account stays as it was.
#[test]
fn every_key_can_only_sign_the_same_history_again() {
    let l0 = no_grid().clone();
    let ring = keyring(&l0);
    let chain = l0.genesis.chain_id.clone();
    let mut l = l0.clone();
    let tx = &mut l.blocks[H].txs[0];
    let key = &ring.evs[tx.ev as usize];
    tx.ev_sig = other_signature(key, &tx.consent_bytes(&chain));
    rewrite(&mut l, H, &ring, &all_scps(), &[]);
    assert_ne!(l, l0);
    let report = verify_pinned(&l).expect("the same history, signed again");
    assert_eq!(report, verify_pinned(&l0).unwrap());
    type Decisions = Vec<(i64, i64, i64, Vec<(u64, i64)>)>;
    let unsigned = |l: &Ledger| -> Decisions {
        l.blocks
            .iter()
            .map(|b| {
                let h = &b.header;
                let txs = b.txs.iter().map(|t| (t.nonce, t.balance)).collect();
                (h.p_d, h.revenue, h.eva_balance, txs)
            })
            .collect()
    };
    assert_eq!(unsigned(&l), unsigned(&l0));
}

/// The report counts every signature it checked: the genesis, each block's oracle
/// message, proposals, transactions, meter attestations, precommits and both prevotes of
/// each evidence, and the seal's votes.
#[test]
fn the_report_counts_every_signature_checked() {
    for l in [honest(), byzantine()] {
        let blocks: u64 = l
            .blocks
            .iter()
            .map(|b| {
                (1 + b.proposals.len()
                    + b.txs.len()
                    + b.meters.len()
                    + b.votes.len()
                    + 2 * b.evidence.len()) as u64
            })
            .sum();
        let want = 1 + blocks + l.seal.votes.len() as u64;
        assert_eq!(verify_pinned(&l).unwrap().signatures, want);
    }
}
