//! The trust layer against a real ledger: the CLI writes `ledger.jsonl`, `v2g verify`
//! accepts it, and every attack of the issue is caught, located and named, while the
//! honest ledger still verifies.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use v2g::ledger::block::{signed_vote, vote};
use v2g::ledger::consensus::{
    commit_hash, evidence_root, proposals_root, vote_bytes, Seal, VoteKind,
};
use v2g::ledger::keys::{sign, verify_all, verify_one, Keyring, Keystore};
use v2g::ledger::light::LightClient;
use v2g::ledger::merkle;
use v2g::ledger::meter::{self, MeterAttestation};
use v2g::ledger::{store, AuditReport, Fault, Ledger, LedgerError};
use v2g::Regime;

use crate::common::*;

pub(crate) const WORKERS: usize = 6;

/// A run of the example fleet (6 EVs, 96 slots) with 6 SCP workers, held in memory: a
/// static is never dropped, so the run's folder is removed as soon as it has been read.
pub(crate) struct Fixture {
    pub(crate) bytes: Vec<u8>,
    pub(crate) genesis: Vec<u8>,
    slots: Vec<u8>,
    evs: Vec<u8>,
}

impl Fixture {
    /// The run's `ledger.jsonl` and `genesis.json`, written into `dir` as the run wrote
    /// them, for a test that needs files: the ledger's path.
    pub(crate) fn ledger_in(&self, dir: &Path) -> PathBuf {
        write_bytes(dir, "genesis.json", &self.genesis);
        write_bytes(dir, "ledger.jsonl", &self.bytes)
    }
}

/// The committed test keystore (keys for data/example.csv's EVs and 6 SCPs), so that
/// runs are byte-for-byte reproducible. A real run uses fresh keys.
pub(crate) fn keystore_path() -> PathBuf {
    test_data("keystore_example.json")
}

/// `v2g::ledger::verify` of ledger bytes against genesis bytes, unpinned.
pub(crate) fn verify(bytes: &[u8]) -> Result<AuditReport, LedgerError> {
    let genesis = genesis_of(bytes);
    v2g::ledger::verify(bytes, &genesis, None)
}

/// The genesis file of the fixture whose ledger starts like `bytes` (honest or byzantine):
/// attacks on a ledger keep its genesis.
fn genesis_of(bytes: &[u8]) -> Vec<u8> {
    let first = |b: &[u8]| b.split(|&c| c == b'\n').next().map(|l| l.to_vec());
    for byz in [false, true] {
        let f = fixture(byz);
        if first(&f.bytes) == first(bytes) {
            return f.genesis.clone();
        }
    }
    fixture(false).genesis.clone()
}

pub(crate) fn run_cli(out: &Path, extra: &[&str]) {
    let mut args: Vec<String> = [
        "simulate",
        "--fleet",
        "data/example.csv",
        "--epsilon",
        "0.01",
        "--workers",
        &WORKERS.to_string(),
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(out.display().to_string());
    let ledger_off = extra.windows(2).any(|w| w == ["--ledger", "off"]);
    if !extra.contains(&"--keystore") && !ledger_off {
        args.push("--keystore".into());
        args.push(keystore_path().display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    ok(&v2g(&args));
}

pub(crate) fn fixture(byzantine: bool) -> &'static Fixture {
    static HONEST: OnceLock<Fixture> = OnceLock::new();
    static BYZANTINE: OnceLock<Fixture> = OnceLock::new();
    let cell = if byzantine { &BYZANTINE } else { &HONEST };
    cell.get_or_init(|| {
        let dir = tmp();
        let out = dir.path().join("out");
        let extra: &[&str] = if byzantine {
            &["--byzantine", "1"]
        } else {
            &[]
        };
        run_cli(&out, extra);
        let read = |name: &str| std::fs::read(out.join(name)).unwrap();
        Fixture {
            bytes: read("ledger.jsonl"),
            genesis: read("genesis.json"),
            slots: read("slots.csv"),
            evs: read("evs.csv"),
        }
    })
}

pub(crate) fn parse(f: &Fixture) -> Ledger {
    store::parse(&f.bytes, store::parse_genesis(&f.genesis).unwrap()).unwrap()
}

pub(crate) fn honest() -> Ledger {
    parse(fixture(false))
}

/// The keys an attacker holding every key would have.
pub(crate) fn keyring(l: &Ledger) -> Keyring {
    let ids: Vec<String> = l.genesis.evs.iter().map(|w| w.id.clone()).collect();
    let ks = Keystore::load(&keystore_path()).unwrap();
    Keyring::from_keystore(&ks, &ids, l.genesis.scps.len(), &keystore_path()).unwrap()
}

/// The first block with a transaction of `regime` and the transaction's index.
fn find(l: &Ledger, regime: Regime) -> (usize, usize) {
    l.blocks
        .iter()
        .enumerate()
        .find_map(|(h, b)| {
            b.txs
                .iter()
                .position(|t| t.regime == regime)
                .map(|i| (h, i))
        })
        .expect("the example run has such a transaction")
}

/// The first block with at least two transactions.
pub(crate) fn busy_block(l: &Ledger) -> usize {
    l.blocks.iter().position(|b| b.txs.len() >= 2).unwrap()
}

/// Asserts that the tampered ledger is refused, by the library with `fault` at
/// `(height, tx)` and by `v2g verify` with exit code 1 and the location in its message;
/// and that the honest ledger still verifies.
pub(crate) fn refused(
    l: &Ledger,
    height: usize,
    tx: Option<usize>,
    fault: impl Fn(&Fault) -> bool,
) {
    let bytes = store::write(l);
    let err: LedgerError = verify(&bytes).expect_err("a tampered ledger must be refused");
    assert!(fault(&err.fault), "unexpected fault: {err}");
    assert_eq!(err.location.height, Some(height as u64), "{err}");
    assert_eq!(err.location.tx, tx, "{err}");
    assert_eq!(err.location.line, Some(height as u64 + 2), "{err}");

    let dir = tmp();
    let path = write_bytes(dir.path(), "ledger.jsonl", &bytes);
    write_bytes(
        dir.path(),
        "genesis.json",
        &store::write_genesis(&l.genesis),
    );
    let o = v2g(["verify".as_ref(), path.as_os_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let msg = stderr(&o);
    assert!(msg.contains(&format!("block {height}")), "{msg}");
    if let Some(i) = tx {
        assert!(msg.contains(&format!("tx {i}")), "{msg}");
    }
    assert!(verify(&fixture(false).bytes).is_ok());
}

pub(crate) fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Has the SCPs in `signers` attest their meter readings in block `h` anew, as they now
/// stand (the other SCPs' attestations are left as they were).
fn attest(l: &mut Ledger, h: usize, signers: &[usize]) {
    let ring = keyring(l);
    let chain = l.genesis.chain_id.clone();
    attest_with(l, h, signers, &ring, &chain);
}

pub(crate) fn attest_with(
    l: &mut Ledger,
    h: usize,
    signers: &[usize],
    ring: &Keyring,
    chain: &str,
) {
    let b = &mut l.blocks[h];
    let evs: Vec<u32> = b.txs.iter().map(|t| t.ev).collect();
    let leaves: Vec<_> = b.txs.iter().map(|t| t.leaf_hash(chain)).collect();
    for (j, r) in meter::readings(&evs, &leaves, WORKERS)
        .into_iter()
        .enumerate()
    {
        if signers.contains(&j) {
            b.meters[j] = MeterAttestation::sign(chain, h as u64, j as u32, r, &ring.scps[j]);
        }
    }
}

/// Recomputes every header from `from` on (roots, counts, hashes, links) and has the SCPs
/// in `signers` attest their meter readings anew and sign the headers: what an attacker
/// holding those keys could do.
fn reseal(l: &mut Ledger, from: usize, signers: &[usize]) {
    let ring = keyring(l);
    reseal_with(l, from, signers, &ring);
}

/// [`reseal`] with the keys of `ring` (a ledger not made with the committed keystore).
pub(crate) fn reseal_with(l: &mut Ledger, from: usize, signers: &[usize], ring: &Keyring) {
    rewrite(l, from, ring, signers, &[]);
}

/// Rewrites every block from `from` on as holders of the keys of `voters` and
/// `equivocators` could: roots, links and commits recomputed, their meter attestations
/// made anew, the equivocators' evidence (their prevotes for the header and for the
/// byzantine rule's other header), the voters' precommits, and the seal by the voters.
pub(crate) fn rewrite(
    l: &mut Ledger,
    from: usize,
    ring: &Keyring,
    voters: &[usize],
    equivocators: &[usize],
) {
    let chain = l.genesis.chain_id.clone();
    for h in from..l.blocks.len() {
        let (prev, last_commit) = if h == 0 {
            (l.genesis.hash(), Default::default())
        } else {
            let b = &l.blocks[h - 1];
            (
                b.header.hash(&chain),
                commit_hash(&chain, h as u64 - 1, &b.votes, &b.meters),
            )
        };
        let b = &mut l.blocks[h];
        let evs: Vec<u32> = b.txs.iter().map(|t| t.ev).collect();
        let leaves: Vec<_> = b.txs.iter().map(|t| t.leaf_hash(&chain)).collect();
        for (j, r) in meter::readings(&evs, &leaves, WORKERS)
            .into_iter()
            .enumerate()
        {
            if voters.contains(&j) || equivocators.contains(&j) {
                b.meters[j] = MeterAttestation::sign(&chain, h as u64, j as u32, r, &ring.scps[j]);
            }
        }
        let hd = &mut b.header;
        hd.prev_hash = prev;
        hd.last_commit = last_commit;
        hd.tx_count = b.txs.len() as u64;
        hd.tx_root = merkle::root(leaves);
        hd.oracle_hash = b.oracle.hash(&chain);
        hd.proposals_root = proposals_root(&chain, h as u64, &b.proposals);
        b.evidence = equivocators
            .iter()
            .map(|&j| evidence_for(&chain, hd, j, &ring.scps[j]))
            .collect();
        hd.evidence_root = evidence_root(&chain, h as u64, &b.evidence);
        let hash = hd.hash(&chain);
        b.votes = voters
            .iter()
            .map(|&j| vote(&chain, h as u64, &hash, j as u32, &ring.scps[j]))
            .collect();
    }
    reseal_tip(l, voters, ring);
}

/// SCP `j`'s equivocation at header `hd`'s height: its prevotes for `hd` and for the
/// byzantine rule's other header.
fn evidence_for(
    chain: &str,
    hd: &v2g::ledger::block::Header,
    j: usize,
    key: &ed25519_dalek::SigningKey,
) -> v2g::ledger::consensus::Evidence {
    let first = hd.prevote_hash(chain);
    let second = v2g::ledger::rules::equivocation_header(hd).prevote_hash(chain);
    let prevote = |h| {
        sign(
            key,
            &vote_bytes(VoteKind::Prevote, chain, hd.height, &h, j as u32),
        )
    };
    v2g::ledger::consensus::Evidence {
        scp: j as u32,
        first,
        first_sig: prevote(first),
        second,
        second_sig: prevote(second),
    }
}

/// Has the SCPs in `signers` sign the seal anew on the ledger's last block as it now
/// stands (its header and its commit).
pub(crate) fn reseal_tip(l: &mut Ledger, signers: &[usize], ring: &Keyring) {
    let chain = l.genesis.chain_id.clone();
    let last = l.blocks.last().expect("a ledger with blocks");
    let height = l.blocks.len() as u64;
    l.seal = Seal {
        height,
        last_header: last.header.hash(&chain),
        last_commit: commit_hash(&chain, height - 1, &last.votes, &last.meters),
        votes: Vec::new(),
    };
    let hash = l.seal.hash(&chain);
    l.seal.votes = signers
        .iter()
        .map(|&j| {
            signed_vote(
                VoteKind::Seal,
                &chain,
                height,
                &hash,
                j as u32,
                &ring.scps[j],
            )
        })
        .collect();
}

#[test]
fn cli_writes_a_ledger_that_verifies() {
    let f = fixture(false);
    let l = honest();
    assert_eq!(l.blocks.len(), 96);
    let dir = tmp();
    let o = v2g(["verify".as_ref(), f.ledger_in(dir.path()).as_os_str()]);
    let text = ok(&o);
    let txs: usize = l.blocks.iter().map(|b| b.txs.len()).sum();
    assert!(
        text.contains(&format!("OK: 96 blocks, {txs} transactions")),
        "{text}"
    );
    assert!(text.contains("6 light clients"), "{text}");
    // Reproducible: the same run gives the same bytes.
    run_cli(&dir.path().join("again"), &[]);
    assert!(std::fs::read(dir.path().join("again/ledger.jsonl")).unwrap() == f.bytes);
    // The same bytes on one thread.
    let one = dir.path().join("one");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_v2g"))
        .current_dir(root())
        .env("RAYON_NUM_THREADS", "1")
        .args([
            "simulate",
            "--fleet",
            "data/example.csv",
            "--epsilon",
            "0.01",
        ])
        .args(["--workers", &WORKERS.to_string(), "--keystore"])
        .arg(keystore_path())
        .arg("--out")
        .arg(&one)
        .output()
        .unwrap();
    ok(&o);
    assert!(std::fs::read(one.join("ledger.jsonl")).unwrap() == f.bytes);
    // Off: no ledger.
    run_cli(&dir.path().join("off"), &["--ledger", "off"]);
    assert!(!dir.path().join("off/ledger.jsonl").exists());
    assert_eq!(
        std::fs::read(dir.path().join("off/slots.csv")).unwrap(),
        f.slots
    );
}

#[test]
fn ledger_amounts_follow_the_simulation() {
    // Each wallet's final balance is minus its net cost in evs.csv, to the rounding rule
    // (half a µCNY per conversion).
    let f = fixture(false);
    let l = honest();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(f.evs.as_slice())
        .records()
        .map(Result::unwrap)
        .collect();
    for (i, w) in l.genesis.evs.iter().enumerate() {
        let row = rows.iter().find(|r| r[0] == w.id).unwrap();
        let net: f64 = row[8].parse().unwrap();
        let txs: Vec<_> = l
            .blocks
            .iter()
            .flat_map(|b| &b.txs)
            .filter(|t| t.ev as usize == i)
            .collect();
        let balance = txs.last().map_or(0, |t| t.balance);
        let tol = txs.len() as f64 * 1.0 + 1.0;
        assert!(
            ((-net * 1e6) - balance as f64).abs() <= tol,
            "EV {}: {net} vs {balance}",
            w.id
        );
    }
}

#[test]
fn changed_amount_energy_or_price_is_caught() {
    let (h, i) = find(&honest(), Regime::Charge);
    for change in 0..3 {
        let mut l = honest();
        let t = &mut l.blocks[h].txs[i];
        match change {
            0 => t.amount += 1,
            1 => t.energy_wh += 1,
            _ => t.unit_price -= 1,
        }
        refused(
            &l,
            h,
            Some(i),
            |f| matches!(f, Fault::Signature(s) if s.starts_with("EV wallet")),
        );
    }
}

#[test]
fn removed_reordered_or_inserted_transaction_is_caught() {
    let l0 = honest();
    let h = busy_block(&l0);
    let mut l = l0.clone();
    l.blocks[h].txs.remove(0);
    refused(&l, h, None, |f| matches!(f, Fault::TxCount { .. }));

    let mut l = l0.clone();
    l.blocks[h].txs.swap(0, 1);
    refused(&l, h, None, |f| *f == Fault::MerkleRoot);

    // A validly signed extra transaction by the EV itself (its next nonce).
    let mut l = l0.clone();
    let ring = keyring(&l);
    let mut extra = l.blocks[h].txs[0].clone();
    let ev = extra.ev as usize;
    extra.nonce += 1;
    extra.balance -= extra.amount;
    extra.sign(&l.genesis.chain_id, &ring.evs[ev]);
    l.blocks[h].txs.push(extra);
    refused(&l, h, None, |f| matches!(f, Fault::TxCount { .. }));
}

#[test]
fn replayed_transactions_are_caught() {
    let l0 = honest();
    let h = busy_block(&l0);
    // The same transaction twice (old nonce).
    let mut l = l0.clone();
    let t = l.blocks[h].txs[0].clone();
    l.blocks[h].txs.insert(1, t.clone());
    refused(
        &l,
        h,
        Some(1),
        |f| matches!(f, Fault::Nonce { got, .. } if *got == t.nonce),
    );
    // Replayed into a later slot as it is, and with its slot rewritten.
    let later = (h + 1..l0.blocks.len())
        .find(|&g| !l0.blocks[g].txs.is_empty())
        .unwrap();
    let mut l = l0.clone();
    l.blocks[later].txs.insert(0, t.clone());
    refused(&l, later, Some(0), |f| matches!(f, Fault::TxSlot { .. }));
    let mut l = l0.clone();
    let mut moved = t.clone();
    moved.slot = later as u64;
    l.blocks[later].txs.insert(0, moved);
    refused(&l, later, Some(0), |f| matches!(f, Fault::Signature(_)));
}

/// A signature by `key` on `msg` whose `R` carries a small-order (torsion) component:
/// it satisfies the cofactored equation `[8]sB = [8]R + [8]kA`, which a cofactored batch
/// verifier accepts, but not `sB = R + kA`, which `verify_strict` requires.
fn torsion_signature(key: &ed25519_dalek::SigningKey, msg: &[u8]) -> v2g::ledger::units::Sig {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let a = key.to_scalar();
    let pk = key.verifying_key().to_bytes();
    // Any nonce works; derived from the secret, it stays unpredictable to others.
    let r = Scalar::hash_from_bytes::<Sha512>(&[&a.to_bytes()[..], msg].concat());
    let big_r = r * B + EIGHT_TORSION[1];
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(big_r.compress().as_bytes())
            .chain_update(pk)
            .chain_update(msg),
    );
    let s = r + k * a;
    // The cofactored equation holds, the plain one does not.
    let lhs = s * B;
    let rhs = big_r + k * key.verifying_key().to_edwards();
    assert_eq!(lhs.mul_by_cofactor(), rhs.mul_by_cofactor());
    assert_ne!(lhs, rhs);
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.compress().as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    v2g::ledger::units::Bytes(sig)
}

#[test]
fn a_torsion_signature_is_refused_whatever_signatures_surround_it() {
    let l0 = honest();
    let ring = keyring(&l0);
    let chain = l0.genesis.chain_id.clone();
    let h = busy_block(&l0);
    // The EV's own key signs its own terms with a torsion component in R: a cofactored
    // batch would accept it; the one strict rule refuses it, alone or among valid ones.
    for i in 0..l0.blocks[h].txs.len() {
        let mut l = l0.clone();
        let t = &mut l.blocks[h].txs[i];
        let ev = t.ev as usize;
        t.ev_sig = torsion_signature(&ring.evs[ev], &t.consent_bytes(&chain));
        let scp = t.scp as usize;
        attest(&mut l, h, &[scp]);
        refused(
            &l,
            h,
            Some(i),
            |f| matches!(f, Fault::Signature(s) if *s == format!("EV wallet {ev}")),
        );
    }
    let k = &ring.evs[0];
    let vk = k.verifying_key();
    let bad = torsion_signature(k, b"m");
    let good = sign(k, b"m");
    assert!(!verify_one(&vk, b"m", &bad));
    for items in [
        vec![(&vk, &b"m"[..], &bad)],
        vec![(&vk, &b"m"[..], &good), (&vk, &b"m"[..], &bad)],
        vec![
            (&vk, &b"m"[..], &good),
            (&vk, &b"m"[..], &good),
            (&vk, &b"m"[..], &bad),
            (&vk, &b"m"[..], &good),
        ],
    ] {
        let at = items.len() - 1 - usize::from(items.len() == 4);
        assert_eq!(verify_all(&items), Err(at));
    }
}

#[test]
fn forged_and_wrong_key_signatures_are_caught() {
    let l0 = honest();
    let (h, i) = find(&l0, Regime::Charge);
    let mut l = l0.clone();
    l.blocks[h].txs[i].ev_sig.0[10] ^= 0x40;
    refused(
        &l,
        h,
        Some(i),
        |f| matches!(f, Fault::Signature(s) if s.starts_with("EV wallet")),
    );
    // Signed by another wallet's key.
    let mut l = l0.clone();
    let ring = keyring(&l);
    let chain = l.genesis.chain_id.clone();
    let t = &mut l.blocks[h].txs[i];
    let other = (t.ev as usize + 1) % ring.evs.len();
    let consent = t.consent_bytes(&chain);
    t.ev_sig = sign(&ring.evs[other], &consent);
    let scp = t.scp as usize;
    attest(&mut l, h, &[scp]);
    refused(
        &l,
        h,
        Some(i),
        |f| matches!(f, Fault::Signature(s) if s.starts_with("EV wallet")),
    );
    // The SCP's meter attestation forged, or signed by another SCP.
    let scp = l0.blocks[h].txs[i].scp as usize;
    let mut l = l0.clone();
    l.blocks[h].meters[scp].sig.0[3] ^= 1;
    refused(
        &l,
        h,
        None,
        |f| matches!(f, Fault::Signature(s) if *s == format!("SCP {scp} (meters)")),
    );
    let mut l = l0.clone();
    let m = &mut l.blocks[h].meters[scp];
    m.sig = sign(
        &ring.scps[(scp + 1) % WORKERS],
        &m.signed_bytes(&chain, h as u64),
    );
    refused(
        &l,
        h,
        None,
        |f| matches!(f, Fault::Signature(s) if *s == format!("SCP {scp} (meters)")),
    );
    // A vote signed by the wrong SCP key.
    let mut l = l0.clone();
    let hash = l.blocks[h].header.hash(&chain);
    l.blocks[h].votes[0] = vote(&chain, h as u64, &hash, 0, &ring.scps[1]);
    refused(
        &l,
        h,
        None,
        |f| matches!(f, Fault::Signature(s) if s.contains("vote")),
    );
}

#[test]
fn tampered_oracle_price_is_caught() {
    // Exact data no grid file could hold (a negative task, a price out of range): the
    // replay stands in an empty slot, and the block is refused where it is, by the
    // operator's signature, not the ledger as a whole.
    for (e_limit, p_rt) in [
        (Some(-1.0), None),
        (None, Some(1e9)),
        (Some(-1.0), Some(-1e9)),
    ] {
        let mut l = honest();
        let o = &mut l.blocks[7].oracle;
        if let Some(e) = e_limit {
            o.e_limit_kwh = e;
        }
        if let Some(p) = p_rt {
            o.p_rt_exact = p;
        }
        refused(
            &l,
            7,
            None,
            |f| matches!(f, Fault::Signature(s) if s == "the oracle"),
        );
    }
    let mut l = honest();
    l.blocks[7].oracle.p_rt += 10_000;
    refused(
        &l,
        7,
        None,
        |f| matches!(f, Fault::Signature(s) if s == "the oracle"),
    );
    // Re-signed by someone other than the operator (the EVA).
    let mut l = honest();
    let ring = keyring(&l);
    let chain = l.genesis.chain_id.clone();
    let o = &mut l.blocks[7].oracle;
    o.p_rt += 10_000;
    o.sig = sign(&ring.eva, &o.signed_bytes(&chain));
    refused(
        &l,
        7,
        None,
        |f| matches!(f, Fault::Signature(s) if s == "the oracle"),
    );
}

#[test]
fn broken_link_too_few_votes_and_double_votes_are_caught() {
    let mut l = honest();
    l.blocks[20].header.prev_hash.0[0] ^= 1;
    refused(&l, 20, None, |f| *f == Fault::HashLink);
    // A whole block removed breaks the chain (height and link).
    let mut l = honest();
    l.blocks.remove(30);
    refused(&l, 30, None, |f| matches!(f, Fault::Height { .. }));
    // The last block cut off, or a copy of it appended.
    let mut l = honest();
    l.blocks.pop();
    refused(&l, 95, None, |f| {
        *f == Fault::Length {
            expected: 96,
            got: 95,
        }
    });
    let mut l = honest();
    let last = l.blocks[95].clone();
    l.blocks.push(last);
    refused(&l, 96, None, |f| {
        *f == Fault::Length {
            expected: 96,
            got: 97,
        }
    });
    // Exactly two thirds (4 of 6) is too few. 5 of 6 would be a quorum, but every SCP
    // that did not equivocate precommits: a deleted honest vote is refused by the replay
    // (and the next header commits to all six).
    let mut l = honest();
    l.blocks[12].votes.truncate(5);
    refused(
        &l,
        12,
        None,
        |f| matches!(f, Fault::Replay(m) if m.contains("precommits")),
    );
    l.blocks[12].votes.truncate(4);
    refused(&l, 12, None, |f| {
        *f == Fault::Quorum {
            votes: 4,
            validators: 6,
        }
    });
    // The same SCP voting twice is equivocation, not two votes.
    let mut l = honest();
    l.blocks[12].votes.truncate(4);
    let again = l.blocks[12].votes[2].clone();
    l.blocks[12].votes.push(again);
    refused(&l, 12, None, |f| *f == Fault::Equivocation(2));
}

#[test]
fn meter_disagreeing_with_the_ev_is_caught() {
    // The SCP signs a meter reading other than the energy the EV signed.
    let mut l = honest();
    let (h, i) = find(&l, Regime::Discharge);
    let ring = keyring(&l);
    let chain = l.genesis.chain_id.clone();
    let t = &mut l.blocks[h].txs[i];
    t.meter_wh -= 500;
    let scp = t.scp as usize;
    attest_with(&mut l, h, &[scp], &ring, &chain);
    refused(&l, h, Some(i), |f| matches!(f, Fault::Meter { .. }));
}

#[test]
fn meter_attestations_missing_out_of_place_or_stale_are_caught() {
    let l0 = honest();
    let h = busy_block(&l0);
    let mut l = l0.clone();
    l.blocks[h].meters.pop();
    refused(&l, h, None, |f| {
        *f == Fault::Meters("5 attestations for 6 SCPs".into())
    });
    let mut l = l0.clone();
    l.blocks[h].meters.swap(0, 1);
    refused(&l, h, None, |f| {
        *f == Fault::Meters("SCP 1 attests in SCP 0's place".into())
    });
    // An SCP's attestation from another block (validly signed, for other readings).
    let other = (0..l0.blocks.len())
        .find(|&g| g != h && l0.blocks[g].meters[0].root != l0.blocks[h].meters[0].root)
        .unwrap();
    let mut l = l0.clone();
    l.blocks[h].meters[0] = l0.blocks[other].meters[0].clone();
    refused(
        &l,
        h,
        None,
        |f| matches!(f, Fault::Signature(s) if s == "SCP 0 (meters)"),
    );
    // Re-signed by its SCP for this height but over other readings.
    let mut l = l0.clone();
    let ring = keyring(&l);
    let chain = l.genesis.chain_id.clone();
    l.blocks[h].meters[0] = MeterAttestation::sign(
        &chain,
        h as u64,
        0,
        vec![merkle::leaf_hash(b"not a reading")],
        &ring.scps[0],
    );
    refused(&l, h, None, |f| {
        *f == Fault::Meters("SCP 0's attestation is not of its readings in this block".into())
    });
}

#[test]
fn byzantine_scp_is_outvoted_recorded_and_changes_nothing() {
    let f = fixture(true);
    let h = fixture(false);
    // The honest result stands: byte-identical slots.csv and evs.csv.
    assert_eq!(f.slots, h.slots, "slots.csv");
    assert_eq!(f.evs, h.evs, "evs.csv");
    let report = verify(&f.bytes).unwrap();
    assert_eq!(report.evidence, 96, "one equivocation per block");
    assert!(report.faulty_proposals >= 90, "{report:?}");
    let l = parse(f);
    let hl = honest();
    for (b, hb) in l.blocks.iter().zip(&hl.blocks) {
        assert_eq!(b.header.p_d, hb.header.p_d);
        assert_eq!(b.votes.len(), WORKERS - 1);
        assert!(b.votes.iter().all(|v| v.scp != 5));
        assert_eq!(b.evidence[0].scp, 5);
        assert!(b.proposals.iter().all(|p| p.faulty == (p.worker == 5)));
    }
    // Too many byzantine SCPs are refused with a clear error.
    let dir = tmp();
    let out = dir.path().join("x").display().to_string();
    let o = v2g([
        "simulate",
        "--fleet",
        "data/example.csv",
        "--workers",
        "6",
        "--byzantine",
        "2",
        "--out",
        out.as_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("n > 3F"), "{}", stderr(&o));
}

#[test]
fn a_run_whose_best_price_lies_in_a_byzantine_sub_range_verifies() {
    // 40 generated EVs on the case study's grid at 90 % charging efficiency, on 7 SCPs,
    // the last 2 byzantine: in
    // some slots the best price lies in a byzantine SCP's sub-range, so the proposer's
    // claim is refuted and the validators' own claim for that sub-range is recorded.
    // Such a run must verify, and change nothing against the honest run.
    let dir = tmp();
    let d = dir.path();
    let fleet = d.join("fleet.csv").display().to_string();
    ok(&v2g([
        "fleet", "generate", "--out", &fleet, "--n", "40", "--seed", "7",
    ]));
    let scenario = write(d, "s.toml", "[params]\ncharge_efficiency = 0.9\n");
    let scenario = scenario.display().to_string();
    let grid = root().join("data/sustech_grid.csv").display().to_string();
    let run = |byzantine: &str, out: &str| {
        let out = d.join(out);
        let args = [
            "--fleet",
            &fleet,
            "--grid",
            &grid,
            "--scenario",
            &scenario,
            "--workers",
            "7",
        ];
        ok(&simulate(
            &[&args[..], &["--byzantine", byzantine]].concat(),
            &out,
        ));
        out
    };
    let (byz, hon) = (run("2", "byz"), run("0", "hon"));
    let ledger = byz.join("ledger.jsonl");
    let genesis = byz.join("genesis.json");
    let out = ok(&v2g([
        "verify".as_ref(),
        ledger.as_os_str(),
        "--genesis".as_ref(),
        genesis.as_os_str(),
    ]));
    assert!(out.contains("OK"), "{out}");
    let read = |p: &Path| std::fs::read(p).unwrap();
    assert_eq!(read(&byz.join("slots.csv")), read(&hon.join("slots.csv")));
    let l = store::parse(
        &read(&ledger),
        store::parse_genesis(&read(&genesis)).unwrap(),
    )
    .unwrap();
    let refuted = l
        .blocks
        .iter()
        .filter(|b| {
            let p = b
                .proposals
                .iter()
                .find(|p| p.worker == b.header.proposer)
                .unwrap();
            assert!((p.lo..p.hi).contains(&b.header.k));
            p.faulty
        })
        .count();
    assert!(
        refuted > 0,
        "no block's best price lies in a byzantine sub-range"
    );
}

#[test]
fn money_past_the_ledgers_integer_range_is_refused_not_saturated() {
    // Inputs at the top of their ranges (docs/model.md 7): a 10 GWh task every slot at
    // 100 CNY/kWh with a hundredfold penalty that one EV cannot meet. The operator's
    // account passes i64::MAX µCNY at block 92: the run is refused there, with nothing
    // written, instead of recording a saturated account that verify would refuse.
    let dir = tmp();
    let d = dir.path();
    let mut grid = String::from("time,base_load_kw,e_limit_kwh,p_rt\n");
    let start = v2g::data::time::parse_time("2021-05-27T07:00").unwrap();
    for t in 0..96 {
        let time = start + chrono::Duration::minutes(15 * t);
        grid.push_str(&format!(
            "{},1e7,1e7,100\n",
            v2g::data::time::format_time(time)
        ));
    }
    let grid = write(d, "grid.csv", &grid);
    let fleet = write(
        d,
        "fleet.csv",
        "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure\nx,private,60,30,2021-05-27T07:00,2021-05-28T07:00\n",
    );
    let scenario = write(d, "s.toml", "[params]\ndelta_factor = 100\n");
    let out = d.join("out");
    let o = simulate(
        &[
            "--fleet",
            fleet.to_str().unwrap(),
            "--grid",
            grid.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(
            "block 92: out of the ledger's integer range: the EVA's or the grid operator's account"
        ),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn a_byzantine_price_cannot_be_adopted() {
    let l0 = parse(fixture(true));
    let h = l0
        .blocks
        .iter()
        .position(|b| b.proposals.iter().any(|p| p.faulty && p.best.is_some()))
        .unwrap();
    let bad = l0.blocks[h]
        .proposals
        .iter()
        .find(|p| p.faulty)
        .unwrap()
        .clone();
    let claim = bad.best.unwrap();
    // Take the byzantine claim as the price; only the byzantine SCP signs: no quorum.
    let mut l = l0.clone();
    {
        let b = &mut l.blocks[h];
        b.header.k = claim.k;
        b.header.p_d = claim.p_d;
        b.header.revenue = claim.revenue;
        b.header.proposer = bad.worker;
        for p in &mut b.proposals {
            p.faulty = false;
        }
    }
    reseal(&mut l, h, &[bad.worker as usize]);
    // Refused either because an honest proposal beats the claim or for want of votes.
    refused_any(&l, h, |f| {
        matches!(f, Fault::Decision(_) | Fault::Quorum { votes: 1, .. })
    });
    // Even signed by every SCP, a header whose price is a refuted claim is refused.
    let mut l = l0.clone();
    {
        let b = &mut l.blocks[h];
        b.header.k = claim.k;
        b.header.p_d = claim.p_d;
        b.header.revenue = claim.revenue;
        b.header.proposer = bad.worker;
    }
    reseal(&mut l, h, &(0..WORKERS).collect::<Vec<_>>());
    refused_any(&l, h, |f| matches!(f, Fault::Decision(_)));
}

/// Like [`refused`] for a ledger that is not the honest fixture's.
fn refused_any(l: &Ledger, height: usize, fault: impl Fn(&Fault) -> bool) {
    let err = verify(&store::write(l)).expect_err("must be refused");
    assert!(fault(&err.fault), "unexpected fault: {err}");
    assert_eq!(err.location.height, Some(height as u64), "{err}");
    assert!(verify(&fixture(true).bytes).is_ok());
}

#[test]
fn a_colluding_majority_still_cannot_break_nonces_or_balances() {
    // With every key (far beyond F), the chain can be resealed, but the wallet rules
    // still hold: a balance that does not add up is caught where it happens.
    let mut l = honest();
    let ring = keyring(&l);
    let (h, i) = find(&l, Regime::Charge);
    let chain = l.genesis.chain_id.clone();
    {
        let t = &mut l.blocks[h].txs[i];
        t.balance += 1_000_000;
        let ev = t.ev as usize;
        t.sign(&chain, &ring.evs[ev]);
    }
    reseal(&mut l, h, &(0..WORKERS).collect::<Vec<_>>());
    refused(&l, h, Some(i), |f| matches!(f, Fault::Balance { .. }));
}

#[test]
fn light_client_checks_headers_quorums_and_inclusion() {
    let l = honest();
    let chain = l.genesis.chain_id.clone();
    let ev = 0u32;
    let mut client = LightClient::new(&l.genesis).unwrap();
    for b in &l.blocks {
        client.accept(&b.header, &b.votes).unwrap();
    }
    let mut checked = 0;
    for (h, b) in l.blocks.iter().enumerate() {
        for (i, t) in b.txs.iter().enumerate().filter(|(_, t)| t.ev == ev) {
            let proof = l.inclusion_proof(h, i).unwrap();
            let leaf = t.leaf_hash(&chain);
            client
                .verify_inclusion(h as u64, i as u64, &leaf, &proof)
                .unwrap();
            // A changed transaction, another index or a changed proof is refused.
            let mut forged = t.clone();
            forged.amount -= 1;
            assert_eq!(
                client.verify_inclusion(h as u64, i as u64, &forged.leaf_hash(&chain), &proof),
                Err(Fault::Inclusion)
            );
            if b.txs.len() > 1 {
                let j = (i + 1) % b.txs.len();
                assert!(client
                    .verify_inclusion(h as u64, j as u64, &leaf, &proof)
                    .is_err());
                let mut p = proof.clone();
                p[0].0[0] ^= 1;
                assert!(client
                    .verify_inclusion(h as u64, i as u64, &leaf, &p)
                    .is_err());
            }
            // Its meter reading, against its SCP's one attestation of the block.
            let (att, index, mproof) = l.meter_proof(h, i).unwrap();
            assert_eq!(att.scp, t.scp);
            client
                .verify_meter(h as u64, att, index, &leaf, &mproof)
                .unwrap();
            let mut misread = t.clone();
            misread.meter_wh += 1;
            assert_eq!(
                client.verify_meter(h as u64, att, index, &misread.leaf_hash(&chain), &mproof),
                Err(Fault::Inclusion)
            );
            let other = &b.meters[(t.scp as usize + 1) % WORKERS];
            assert_eq!(
                client.verify_meter(h as u64, other, index, &leaf, &mproof),
                Err(Fault::Inclusion)
            );
            let mut lying = att.clone();
            lying.count += 1;
            assert!(matches!(
                client.verify_meter(h as u64, &lying, index, &leaf, &mproof),
                Err(Fault::Signature(_))
            ));
            let mut lying = att.clone();
            lying.scp = (lying.scp + 1) % WORKERS as u32;
            assert!(matches!(
                client.verify_meter(h as u64, &lying, index, &leaf, &mproof),
                Err(Fault::Signature(_))
            ));
            checked += 1;
        }
    }
    assert!(checked > 10, "EV 0 has {checked} transactions");
    // A meter proof for a block the client has not accepted yet.
    let fresh = LightClient::new(&l.genesis).unwrap();
    let (h, i) = find(&l, Regime::Charge);
    let (att, index, mproof) = l.meter_proof(h, i).unwrap();
    assert_eq!(
        fresh.verify_meter(
            h as u64,
            att,
            index,
            &l.blocks[h].txs[i].leaf_hash(&chain),
            &mproof
        ),
        Err(Fault::Height {
            expected: 0,
            got: h as u64
        })
    );
    // Headers: a broken link, too few votes, a double vote, a vote by the wrong key.
    let mut c = LightClient::new(&l.genesis).unwrap();
    c.accept(&l.blocks[0].header, &l.blocks[0].votes).unwrap();
    assert_eq!(
        c.accept(&l.blocks[2].header, &l.blocks[2].votes),
        Err(Fault::Height {
            expected: 1,
            got: 2
        })
    );
    let mut hdr = l.blocks[1].header.clone();
    hdr.prev_hash = l.blocks[1].header.tx_root;
    assert_eq!(c.accept(&hdr, &l.blocks[1].votes), Err(Fault::HashLink));
    let v = &l.blocks[1].votes;
    assert_eq!(
        c.accept(&l.blocks[1].header, &v[..4]),
        Err(Fault::Quorum {
            votes: 4,
            validators: 6
        })
    );
    let mut dup = v[..4].to_vec();
    dup.push(v[0].clone());
    assert_eq!(
        c.accept(&l.blocks[1].header, &dup),
        Err(Fault::Equivocation(v[0].scp))
    );
    let mut changed = l.blocks[1].header.clone();
    changed.p_d -= 1;
    assert!(matches!(c.accept(&changed, v), Err(Fault::Signature(_))));
    c.accept(&l.blocks[1].header, v).unwrap();
}

#[test]
fn verify_reports_malformed_files_with_their_line() {
    let f = fixture(false);
    let dir = tmp();
    let text = String::from_utf8(f.bytes.clone()).unwrap();
    // Extra whitespace (not canonical), a truncated file, a missing file.
    let spaced = text.replacen("\"height\":3,", "\"height\": 3,", 1);
    write_bytes(dir.path(), "genesis.json", &f.genesis);
    let p = write_bytes(dir.path(), "a.jsonl", spaced.as_bytes());
    let o = v2g(["verify".as_ref(), p.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 5"), "{}", stderr(&o));
    let p = write_bytes(dir.path(), "b.jsonl", &f.bytes[..f.bytes.len() - 1]);
    assert_eq!(
        v2g(["verify".as_ref(), p.as_os_str()]).status.code(),
        Some(1)
    );
    let o = v2g(["verify", "no/such/file.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("v2g: error:"), "{}", stderr(&o));
}

/// `v2g verify` on a ledger with a megabyte of garbage on a line, or a megabyte-long
/// string (with control characters) where a number or a record name belongs: exit 1 and
/// one short error line naming the line, whatever the size of the bad value.
#[test]
fn verify_never_echoes_more_than_an_excerpt_of_a_bad_value() {
    let f = fixture(false);
    let dir = tmp();
    let text = String::from_utf8(f.bytes.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    write_bytes(dir.path(), "genesis.json", &f.genesis);
    let mb = 1 << 20;
    let garbage = "\u{1b}[2J#".repeat(mb / 5);
    let huge = format!("\\u001b[31m{}", "z".repeat(mb));
    let cases = [
        (4, garbage.clone()),
        (
            4,
            lines[3].replacen("\"height\":2", &format!("\"height\":\"{huge}\""), 1),
        ),
        (1, format!("{{\"{huge}\":{{}}}}")),
        (6, format!("{{\"block\":{{\"{huge}\":0}}}}")),
    ];
    for (line, bad) in cases {
        assert_ne!(lines[line - 1], bad, "line {line} was changed");
        let mut l = lines.clone();
        l[line - 1] = &bad;
        let p = write_bytes(dir.path(), "bad.jsonl", (l.join("\n") + "\n").as_bytes());
        let o = v2g(["verify".as_ref(), p.as_os_str()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{}", &err[..err.len().min(300)]);
        assert_eq!(err.lines().count(), 1, "{}", &err[..err.len().min(300)]);
        assert!(
            err.len() < 400,
            "line {line}: {} bytes: {}",
            err.len(),
            &err[..400]
        );
        assert!(
            err.contains(&format!(
                "ledger check failed at line {line}: malformed record"
            )),
            "{err}"
        );
        assert!(!err.contains('\u{1b}'), "{err}");
    }
}

mod fuzz {
    use proptest::prelude::*;

    use super::*;

    /// A small ledger (two EVs, 12 slots, no grid file: the tariff applies) so that each
    /// case is quick.
    fn small() -> &'static (Vec<u8>, Vec<u8>) {
        static BYTES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
        BYTES.get_or_init(|| {
            let dir = tmp();
            let out = dir.path().join("out");
            let fleet = dir.path().join("two_ev.csv");
            std::fs::copy(test_data("two_ev.csv"), &fleet).unwrap();
            let fleet = fleet.display().to_string();
            let out_s = out.display().to_string();
            ok(&v2g([
                "simulate",
                "--fleet",
                fleet.as_str(),
                "--start",
                "2021-05-27T11:00",
                "--slots",
                "12",
                "--epsilon",
                "0.05",
                "--workers",
                "4",
                "--byzantine",
                "1",
                "--out",
                out_s.as_str(),
            ]));
            (
                std::fs::read(out.join("ledger.jsonl")).unwrap(),
                std::fs::read(out.join("genesis.json")).unwrap(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Any single-byte corruption of a ledger file is refused, without a panic.
        #[test]
        fn single_byte_corruption_is_never_accepted(
            pos in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            in_genesis in any::<bool>(),
        ) {
            let (mut ledger, mut genesis) = small().clone();
            let pinned = v2g::ledger::store::parse_genesis(&genesis).unwrap().hash();
            let target = if in_genesis { &mut genesis } else { &mut ledger };
            let i = pos.index(target.len());
            prop_assume!(target[i] != byte);
            target[i] = byte;
            prop_assert!(v2g::ledger::verify(&ledger, &genesis, Some(&pinned)).is_err());
        }
    }

    #[test]
    fn the_small_ledger_itself_verifies() {
        let (ledger, genesis) = small();
        assert!(v2g::ledger::verify(ledger, genesis, None).is_ok());
    }
}

#[test]
fn keys_are_fresh_unless_a_keystore_is_given_and_a_new_keystore_is_private() {
    let dir = tmp();
    let ks_path = dir.path().join("keys.json");
    let ks_arg = ks_path.to_str().unwrap();
    let read = |out: &Path| {
        store::parse(
            &std::fs::read(out.join("ledger.jsonl")).unwrap(),
            store::parse_genesis(&std::fs::read(out.join("genesis.json")).unwrap()).unwrap(),
        )
        .unwrap()
    };
    // A missing keystore is created with fresh keys, readable by its owner only.
    let a = dir.path().join("a");
    run_cli(&a, &["--keystore", ks_arg, "--slots", "4"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&ks_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let ks = Keystore::load(&ks_path).unwrap();
    let la = read(&a);
    for w in &la.genesis.evs {
        assert!(
            ks.keys.iter().any(|k| k.id == w.id && k.public == w.key),
            "{}",
            w.id
        );
    }
    // The same keystore again: the same keys, the same bytes.
    let b = dir.path().join("b");
    run_cli(&b, &["--keystore", ks_arg, "--slots", "4"]);
    assert_eq!(
        std::fs::read(a.join("ledger.jsonl")).unwrap(),
        std::fs::read(b.join("ledger.jsonl")).unwrap()
    );
    // No keystore: fresh keys every run, never the seed's (the seed is public).
    let c = dir.path().join("c");
    let d = dir.path().join("d");
    for out in [&c, &d] {
        let o = v2g([
            "simulate",
            "--fleet",
            "data/example.csv",
            "--workers",
            "6",
            "--slots",
            "4",
            "--seed",
            "7",
            "--out",
            out.to_str().unwrap(),
        ]);
        ok(&o);
    }
    let (lc, ld) = (read(&c), read(&d));
    assert_ne!(lc.genesis.evs[0].key, ld.genesis.evs[0].key);
    assert_ne!(lc.genesis.eva, ld.genesis.eva);
    assert_ne!(lc.genesis.hash(), ld.genesis.hash());
    assert_ne!(lc.genesis.evs[0].key, la.genesis.evs[0].key);
}

#[test]
fn a_keystore_in_which_two_parties_share_a_key_is_refused_before_the_run() {
    // The genesis rule (every wallet, SCP, the oracle and the EVA hold their own key)
    // is checked when the keystore is read, so no run is made that verify would refuse.
    let dir = tmp();
    let ks = std::fs::read_to_string(keystore_path()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&ks).unwrap();
    let key = |role: &str, id: &str| {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .position(|k| k["role"] == role && k["id"] == id)
            .unwrap()
    };
    let cases = [
        (
            ("ev", "71"),
            ("ev", "1"),
            r#"EV "1" and EV "71" share a key"#,
        ),
        (
            ("scp", "3"),
            ("ev", "74"),
            r#"EV "74" and SCP 3 share a key"#,
        ),
        (
            ("eva", "eva"),
            ("oracle", "operator"),
            "the oracle and the EVA share a key",
        ),
    ];
    for (i, (to, from, want)) in cases.into_iter().enumerate() {
        let mut w = v.clone();
        let (t, f) = (key(to.0, to.1), key(from.0, from.1));
        for field in ["public", "secret"] {
            w["keys"][t][field] = v["keys"][f][field].clone();
        }
        let path = write(dir.path(), &format!("ks{i}.json"), &w.to_string());
        let out = dir.path().join(format!("out{i}"));
        let o = simulate(
            &[
                "--fleet",
                "data/example.csv",
                "--workers",
                &WORKERS.to_string(),
                "--keystore",
                path.to_str().unwrap(),
            ],
            &out,
        );
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains(&format!("ks{i}.json")) && e.contains(want),
            "{e}"
        );
        assert!(!out.exists());
    }
}

/// `v2g verify` of `dir/ledger.jsonl` with extra flags.
pub(crate) fn verify_cli(ledger: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["verify".to_string(), ledger.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    v2g(&args)
}

#[test]
fn the_genesis_pins_the_run_and_verify_says_what_it_checked() {
    let f = fixture(false);
    let run_dir = tmp();
    let ledger = f.ledger_in(run_dir.path());
    let g = store::parse_genesis(&f.genesis).unwrap();
    // Unpinned: integrity only, and it says so.
    let text = ok(&verify_cli(&ledger, &[]));
    assert!(text.contains("integrity only"), "{text}");
    // Pinned by a trusted copy or by its hash.
    let dir = tmp();
    let trusted = write_bytes(dir.path(), "trusted.json", &f.genesis);
    let text = ok(&verify_cli(
        &ledger,
        &["--genesis", trusted.to_str().unwrap()],
    ));
    assert!(
        text.contains(&format!("genesis {} pinned", g.hash())),
        "{text}"
    );
    let hex = g.hash().to_hex();
    ok(&verify_cli(&ledger, &["--genesis-hash", &hex]));
    let mut wrong = hex.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let o = verify_cli(
        &ledger,
        &["--genesis-hash", std::str::from_utf8(&wrong).unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not the pinned"), "{}", stderr(&o));
    // The same run with fresh keys (what anyone can make from the public files) is a
    // valid ledger on its own, and refused against the trusted genesis.
    let forged = dir.path().join("forged");
    ok(&v2g([
        "simulate",
        "--fleet",
        "data/example.csv",
        "--epsilon",
        "0.01",
        "--workers",
        "6",
        "--out",
        forged.to_str().unwrap(),
    ]));
    let forged_ledger = forged.join("ledger.jsonl");
    ok(&verify_cli(&forged_ledger, &[]));
    let o = verify_cli(&forged_ledger, &["--genesis", trusted.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("another genesis"), "{}", stderr(&o));
    // The forged genesis copied over the trusted one's place does not pass the pin.
    let o = verify_cli(&forged_ledger, &["--genesis-hash", &hex]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn runs_that_differ_in_any_input_or_setting_have_different_genesis_hashes() {
    let dir = tmp();
    let ks = keystore_path();
    let hash = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "simulate",
            "--fleet",
            "data/example.csv",
            "--workers",
            "6",
            "--slots",
            "4",
            "--keystore",
            ks.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ok(&v2g(&args));
        store::parse_genesis(&std::fs::read(out.join("genesis.json")).unwrap())
            .unwrap()
            .hash()
    };
    // The same rows for the horizon plus one after it: another file, another genesis.
    let grid = write(dir.path(), "other_grid.csv", &{
        let text = std::fs::read_to_string(root().join("data/example_grid.csv")).unwrap();
        text + "2021-06-01T00:00,100,0\n"
    });
    let base = hash("base", &[]);
    assert_eq!(
        base,
        hash("again", &[]),
        "same inputs, same keys: same genesis"
    );
    for (name, extra) in [
        ("grid", vec!["--grid", grid.to_str().unwrap()]),
        ("epsilon", vec!["--epsilon", "0.02"]),
        ("solver", vec!["--solver", "exact"]),
        ("start", vec!["--start", "2021-05-27T07:15"]),
    ] {
        assert_ne!(base, hash(name, &extra), "{name}");
    }
}

/// `g` changed and re-signed by the EVA, its chain id derived anew: what an attacker
/// holding the EVA key can make.
pub(crate) fn resign_genesis(
    mut g: v2g::ledger::Genesis,
    eva: &ed25519_dalek::SigningKey,
) -> v2g::ledger::Genesis {
    g.chain_id = g.derive_chain_id();
    g.eva_sig = sign(eva, &g.signed_bytes());
    g
}

/// Asserts that `verify` refuses `l`'s blocks under genesis `g` (not pinned: the genesis
/// rules alone) with a message containing `want`.
pub(crate) fn genesis_refused(g: v2g::ledger::Genesis, l: &Ledger, want: &str) {
    let genesis = store::write_genesis(&g);
    let ledger = store::write(&Ledger {
        genesis: g,
        blocks: l.blocks.clone(),
        seal: l.seal.clone(),
    });
    let e = v2g::ledger::verify(&ledger, &genesis, None).unwrap_err();
    assert!(e.to_string().contains(want), "{want}: {e}");
}

#[test]
fn a_genesis_whose_parties_share_a_key_or_whose_terms_are_absurd_is_refused() {
    let f = fixture(false);
    let l = honest();
    let ring = keyring(&l);
    // Re-sign (the EVA key is held) after each change: the genesis rules still refuse it.
    let resign = |g| resign_genesis(g, &ring.eva);
    let check = |g, want: &str| genesis_refused(g, &l, want);
    let mut one_key = l.genesis.clone();
    one_key.oracle = one_key.eva;
    check(resign(one_key), "share a key");
    let mut scp_twice = l.genesis.clone();
    scp_twice.scps[1] = scp_twice.scps[0];
    check(resign(scp_twice), "share a key");
    let mut absurd = l.genesis.clone();
    absurd.evs[0].capacity_kwh = 1e300;
    check(resign(absurd), "not a valid fleet");
    let mut params = l.genesis.clone();
    params.commitment.scenario.params.w_grid = 1e9;
    params.commitment.scenario_sha256 = params.commitment.scenario.digest();
    check(resign(params), "out of range");
    let mut digest = l.genesis.clone();
    digest.commitment.scenario.params.epsilon = 0.02;
    check(resign(digest), "committed digest");
    // E0, p_delay or the slot count, each alone, against the committed scenario.
    let mut e0 = l.genesis.clone();
    e0.e0_wh += 1;
    check(resign(e0), "E0, p_delay or the slot count differ");
    let mut delay = l.genesis.clone();
    delay.p_delay += 1;
    check(resign(delay), "E0, p_delay or the slot count differ");
    let mut slots = l.genesis.clone();
    slots.slots += 1;
    check(resign(slots), "E0, p_delay or the slot count differ");
    let mut chain = l.genesis.clone();
    chain.chain_id = "v2g-other".into();
    chain.eva_sig = sign(&ring.eva, &chain.signed_bytes());
    check(chain, "chain id");
    assert!(verify(&f.bytes).is_ok());
}

/// The SCPs of a quorum (5 of 6): what colluding SCPs can sign without any EV, oracle or
/// EVA key.
pub(crate) const QUORUM: [usize; 5] = [0, 1, 2, 3, 4];

/// Asserts that `verify --genesis` (pinned to the fixture's own genesis) refuses `l` at
/// block `height` with a replay fault: the rewritten history is not what the run gives.
pub(crate) fn refused_by_replay(l: &Ledger, height: usize) {
    refused_pinned(l, height, |f| matches!(f, Fault::Replay(_)));
}

/// As [`refused_by_replay`], for any fault `fault` accepts.
pub(crate) fn refused_pinned(l: &Ledger, height: usize, fault: impl Fn(&Fault) -> bool) {
    let bytes = store::write(l);
    let genesis = store::write_genesis(&l.genesis);
    let pin = l.genesis.hash();
    let err = v2g::ledger::verify(&bytes, &genesis, Some(&pin)).expect_err("must be refused");
    assert_eq!(err.location.height, Some(height as u64), "{err}");
    assert!(fault(&err.fault), "{err}");
    let dir = tmp();
    let path = write_bytes(dir.path(), "ledger.jsonl", &bytes);
    let trusted = write_bytes(dir.path(), "trusted.json", &genesis);
    let o = verify_cli(&path, &["--genesis", trusted.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("block {height}")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_quorum_of_scps_cannot_delete_or_reorder_an_evs_trades() {
    // An EV's last transaction deleted, the EV plugged into a colluding SCP (which attests
    // its readings anew): the replay finds the missing trade.
    let last = |l: &Ledger, honest_scp: bool| {
        (0..l.blocks.len())
            .rev()
            .find_map(|h| {
                let i = l.blocks[h]
                    .txs
                    .iter()
                    .rposition(|t| QUORUM.contains(&(t.scp as usize)) != honest_scp)?;
                Some((h, i))
            })
            .unwrap()
    };
    let mut l = honest();
    let (h, i) = last(&l, false);
    l.blocks[h].txs.remove(i);
    reseal(&mut l, h, &QUORUM);
    refused_by_replay(&l, h);
    // The same at the honest SCP's point: its own meter attestation already refuses it.
    let mut l = honest();
    let (h, i) = last(&l, true);
    assert_eq!(l.blocks[h].txs[i].scp, 5);
    l.blocks[h].txs.remove(i);
    reseal(&mut l, h, &QUORUM);
    refused_pinned(&l, h, |f| {
        *f == Fault::Meters("SCP 5's attestation is not of its readings in this block".into())
    });
    // All of one EV's transactions deleted.
    let mut l = honest();
    let ev = l
        .blocks
        .iter()
        .flat_map(|b| &b.txs)
        .map(|t| t.ev)
        .find(|ev| QUORUM.contains(&(*ev as usize % WORKERS)))
        .unwrap();
    let first = l
        .blocks
        .iter()
        .position(|b| b.txs.iter().any(|t| t.ev == ev))
        .unwrap();
    for b in &mut l.blocks {
        b.txs.retain(|t| t.ev != ev);
    }
    reseal(&mut l, 0, &QUORUM);
    refused_by_replay(&l, first);
    // A block's transactions reordered.
    let mut l = honest();
    let h = busy_block(&l);
    l.blocks[h].txs.swap(0, 1);
    reseal(&mut l, h, &QUORUM);
    let err = verify(&store::write(&l)).expect_err("reordered");
    assert_eq!(err.location.height, Some(h as u64), "{err}");
}

#[test]
fn a_quorum_of_scps_cannot_move_the_price_or_rewrite_the_proposals() {
    let l0 = honest();
    let ring = keyring(&l0);
    let chain = l0.genesis.chain_id.clone();
    let h = busy_block(&l0);
    let resign = |l: &mut Ledger| {
        for p in &mut l.blocks[h].proposals {
            p.sig = sign(
                &ring.scps[p.worker as usize],
                &p.signed_bytes(&chain, h as u64),
            );
        }
    };
    // p_d* and R set to other values, the proposer's claim re-signed to match.
    let mut l = l0.clone();
    let proposer = l.blocks[h].header.proposer as usize;
    let b = &mut l.blocks[h];
    b.header.p_d -= 10_000;
    b.header.revenue += 5_000_000;
    let p = b
        .proposals
        .iter_mut()
        .find(|p| p.worker as usize == proposer)
        .unwrap();
    let c = p.best.as_mut().unwrap();
    c.p_d = b.header.p_d;
    c.revenue = b.header.revenue;
    resign(&mut l);
    reseal(&mut l, h, &QUORUM);
    // The EVs signed their trades at the true p_d*: caught by the terms already.
    refused_pinned(&l, h, |f| matches!(f, Fault::Terms(_) | Fault::Replay(_)));
    // R alone inflated (no EV signed it): the replay finds the true R.
    let quiet = h;
    let mut l = l0.clone();
    let b = &mut l.blocks[quiet];
    let proposer = b.header.proposer as usize;
    b.header.revenue += 1_000_000;
    let p = b
        .proposals
        .iter_mut()
        .find(|p| p.worker as usize == proposer)
        .unwrap();
    p.best.as_mut().unwrap().revenue = b.header.revenue;
    p.sig = sign(&ring.scps[proposer], &p.signed_bytes(&chain, quiet as u64));
    reseal(&mut l, quiet, &QUORUM);
    refused_by_replay(&l, quiet);
    // An honest proposal marked false.
    let mut l = l0.clone();
    let victim = l.blocks[h]
        .proposals
        .iter_mut()
        .find(|p| p.worker as usize != proposer)
        .unwrap();
    victim.faulty = true;
    reseal(&mut l, h, &QUORUM);
    refused_by_replay(&l, h);
    // Two SCPs' proposals dropped and a third's range widened over theirs.
    let mut l = l0.clone();
    let ps = &mut l.blocks[h].proposals;
    let hi = ps[2].hi;
    ps.remove(2);
    ps.remove(1);
    ps[0].hi = hi;
    resign(&mut l);
    reseal(&mut l, h, &QUORUM);
    let err = verify(&store::write(&l)).expect_err("dropped proposals");
    assert_eq!(err.location.height, Some(h as u64), "{err}");
}

#[test]
fn evidence_cannot_be_deleted_laundered_or_fabricated() {
    let f = fixture(true);
    let l0 = parse(f);
    let ring = keyring(&l0);
    let chain = l0.genesis.chain_id.clone();
    let pin = l0.genesis.hash();
    let g = store::write_genesis(&l0.genesis);
    let check = |l: &Ledger, h: usize| {
        let err = v2g::ledger::verify(&store::write(l), &g, Some(&pin)).expect_err("refused");
        assert_eq!(err.location.height, Some(h as u64), "{err}");
    };
    // Deleted: the byzantine SCP's double vote removed from block 7.
    let mut l = l0.clone();
    l.blocks[7].evidence.clear();
    check(&l, 7);
    // Laundered into an honest vote: its vote on the real header counted instead.
    let mut l = l0.clone();
    let e = l.blocks[7].evidence.remove(0);
    let hash = l.blocks[7].header.hash(&chain);
    l.blocks[7]
        .votes
        .push(vote(&chain, 7, &hash, e.scp, &ring.scps[e.scp as usize]));
    l.blocks[7].votes.sort_by_key(|v| v.scp);
    check(&l, 7);
    // Fabricated against an honest SCP (with its key: two conflicting signed votes).
    let mut l = l0.clone();
    let other = {
        let mut hd = l.blocks[7].header.clone();
        hd.revenue += 1;
        hd.hash(&chain)
    };
    let honest_scp = 0u32;
    let v1 = vote(&chain, 7, &hash, honest_scp, &ring.scps[0]);
    let v2 = vote(&chain, 7, &other, honest_scp, &ring.scps[0]);
    l.blocks[7].votes.retain(|v| v.scp != honest_scp);
    l.blocks[7].evidence.push(v2g::ledger::consensus::Evidence {
        scp: honest_scp,
        first: hash,
        first_sig: v1.sig,
        second: other,
        second_sig: v2.sig,
    });
    l.blocks[7].evidence.sort_by_key(|e| e.scp);
    check(&l, 7);
    // Evidence from another height proves nothing at this one.
    let mut l = l0.clone();
    l.blocks[8].evidence = l0.blocks[7].evidence.clone();
    check(&l, 8);
    assert!(v2g::ledger::verify(&f.bytes, &f.genesis, Some(&pin)).is_ok());
}

#[test]
fn with_the_eva_key_a_truncated_horizon_or_a_phantom_wallet_is_refused_by_the_pin() {
    let l0 = honest();
    let ring = keyring(&l0);
    let pin = l0.genesis.hash();
    let resign = |g| resign_genesis(g, &ring.eva);
    // The horizon truncated to 90 slots, the genesis re-signed by the EVA.
    let mut g = l0.genesis.clone();
    g.slots = 90;
    g.commitment.scenario.horizon.slots = 90;
    g.commitment.scenario_sha256 = g.commitment.scenario.digest();
    let g = resign(g);
    let mut l = l0.clone();
    l.blocks.truncate(90);
    l.genesis = g.clone();
    let e =
        v2g::ledger::verify(&store::write(&l), &store::write_genesis(&g), Some(&pin)).unwrap_err();
    assert!(e.to_string().contains("not the pinned"), "{e}");
    // A phantom wallet added to the genesis.
    let mut g = l0.genesis.clone();
    let mut w = g.evs[0].clone();
    w.id = "phantom".into();
    w.key = v2g::ledger::keys::public(&v2g::ledger::keys::fresh_key().unwrap());
    g.evs.push(w);
    let g = resign(g);
    let e =
        v2g::ledger::verify(&store::write(&l0), &store::write_genesis(&g), Some(&pin)).unwrap_err();
    assert!(e.to_string().contains("not the pinned"), "{e}");
}

/// A hostile record far longer than any block of the genesis can need is refused after
/// reading no more than that limit: `verify` neither reads it whole nor parses it.
#[test]
fn an_oversized_record_is_refused_before_it_is_read_whole() {
    let f = fixture(false);
    let dir = tmp();
    write_bytes(dir.path(), "genesis.json", &f.genesis);
    let text = String::from_utf8(f.bytes.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let limit = store::Limits::of(&store::parse_genesis(&f.genesis).unwrap()).line(4);
    assert!(limit < 1 << 20, "{limit}");
    let huge = format!("{{\"block\":\"{}\"}}", "x".repeat(2 * limit));
    let mut l = lines.clone();
    l[3] = &huge;
    let path = write_bytes(dir.path(), "ledger.jsonl", (l.join("\n") + "\n").as_bytes());
    let start = std::time::Instant::now();
    let o = verify_cli(&path, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "line 4: malformed record: a record of more than {limit} bytes"
        )),
        "{err}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}
