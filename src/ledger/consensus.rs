//! Consensus on the price (steps 4 and 5).
//!
//! * Each SCP worker of the price search reports its sub-range's best candidate as a
//!   signed [`Proposal`].
//! * The SCPs, as validators, check every proposal against their own evaluation of that
//!   sub-range; a proposal that disagrees is marked faulty (its signed false claim stays in
//!   the block as evidence against its worker). `p_d*` is the best of the checked results.
//! * Each validator signs the header ([`Vote`]); a block is final only with votes from
//!   more than two thirds of the SCPs ([`quorum`]: `3·votes > 2·n`, so exactly two thirds
//!   is too few, as in CometBFT).
//! * An SCP that signs two different headers at one height equivocates: [`Tally`] records
//!   the two signed votes as [`Evidence`] and counts neither.
//! * Prevotes, precommits and seal votes are distinct signed messages ([`VoteKind`]).
//!   The next header commits to a block's precommits and meter attestations
//!   ([`commit_hash`]); the [`Seal`] after the last block commits to the last ones.
//!
//! The validators are all SCPs of the scenario's worker list, an unavailable worker
//! included (availability concerns only the price search's split); an EV is plugged into
//! SCP `ev mod n`.
//!
//! Byzantine SCPs (`--byzantine F`, allowed only when `n > 3F`) are the last `F` workers.
//! Each reports a false best (another candidate of its sub-range, its revenue inflated by
//! 1 CNY, so that it would win if believed) and signs a wrong header besides the right one.
//! With `n > 3F` the `n − F` honest votes make a quorum on their own and the `F` byzantine
//! ones cannot make one for anything else: the honest result stands.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ledger::units::{sha256, Enc, Hash, Sig};

/// A worker's claim: the best candidate of its sub-range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Candidate index on the epsilon grid.
    pub k: u64,
    /// Its price, µCNY/kWh.
    pub p_d: i64,
    /// Its revenue `R`, µCNY.
    pub revenue: i64,
}

/// An SCP worker's signed report of its sub-range (step 4), with the validators' verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// The worker (SCP index).
    pub worker: u32,
    /// First candidate index of its sub-range.
    pub lo: u64,
    /// One past the last.
    pub hi: u64,
    /// Its claimed best (`None` for an empty sub-range).
    pub best: Option<Claim>,
    /// The worker's signature over the above.
    pub sig: Sig,
    /// The validators' verdict: the claim disagrees with their own evaluation.
    pub faulty: bool,
}

impl Proposal {
    /// The bytes the worker signs.
    pub fn signed_bytes(&self, chain_id: &str, height: u64) -> Vec<u8> {
        let mut e = Enc::new("proposal", chain_id);
        e.u64(height).u32(self.worker).u64(self.lo).u64(self.hi);
        match self.best {
            None => e.u8(0),
            Some(c) => e.u8(1).u64(c.k).i64(c.p_d).i64(c.revenue),
        };
        e.finish()
    }
}

/// The RFC 6962 Merkle root of a block's proposals with their verdicts, committed to by
/// the header: one leaf per proposal (its signed bytes, its signature, the verdict).
pub fn proposals_root(chain_id: &str, height: u64, proposals: &[Proposal]) -> Hash {
    crate::ledger::merkle::root(
        proposals
            .iter()
            .map(|p| {
                let mut e = Enc::new("proposal-leaf", chain_id);
                e.bytes(&p.signed_bytes(chain_id, height))
                    .fixed(&p.sig.0)
                    .u8(u8::from(p.faulty));
                crate::ledger::merkle::leaf_hash(&e.finish())
            })
            .collect(),
    )
}

/// The RFC 6962 Merkle root of a block's equivocation evidence, committed to by the
/// header: one leaf per record (height, SCP, both prevote hashes and both signatures).
pub fn evidence_root(chain_id: &str, height: u64, evidence: &[Evidence]) -> Hash {
    crate::ledger::merkle::root(
        evidence
            .iter()
            .map(|ev| {
                let mut e = Enc::new("evidence-leaf", chain_id);
                e.u64(height)
                    .u32(ev.scp)
                    .fixed(&ev.first.0)
                    .fixed(&ev.first_sig.0)
                    .fixed(&ev.second.0)
                    .fixed(&ev.second_sig.0);
                crate::ledger::merkle::leaf_hash(&e.finish())
            })
            .collect(),
    )
}

/// An SCP's signature on a header (a precommit, in a block's `votes`) or on the chain's
/// last commit (in the [`Seal`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vote {
    /// The SCP.
    pub scp: u32,
    /// Its signature over [`vote_bytes`] of its kind.
    pub sig: Sig,
}

/// What a vote is: each kind is its own signed message type (its own tag in the encoding),
/// so a signature of one kind is never a valid signature of another. The protocol has one
/// round per height, so kind and height identify a ballot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteKind {
    /// Step 5, first round: on a header without its evidence root
    /// ([`crate::ledger::block::Header::prevote_hash`]).
    Prevote,
    /// Step 5, second round: on the full header ([`crate::ledger::block::Header::hash`]).
    Precommit,
    /// The seal after the last block: on the last block's commit ([`Seal`]).
    Seal,
}

impl VoteKind {
    fn tag(self) -> &'static str {
        match self {
            VoteKind::Prevote => "vote/prevote",
            VoteKind::Precommit => "vote/precommit",
            VoteKind::Seal => "vote/seal",
        }
    }
}

/// The bytes of a vote: its kind (the message type), chain, height, the hash voted on and
/// the voter.
pub fn vote_bytes(kind: VoteKind, chain_id: &str, height: u64, hash: &Hash, scp: u32) -> Vec<u8> {
    Enc::new(kind.tag(), chain_id)
        .u64(height)
        .fixed(&hash.0)
        .u32(scp)
        .finish()
}

/// The hash of a block's commit: its precommits and its meter attestations, every
/// signature included, in the order recorded. The next header carries it
/// ([`crate::ledger::block::Header::last_commit`]) and the [`Seal`] carries the last
/// block's, so that no signature of a block can be deleted, reordered or exchanged for
/// another signature of the same message once the next block is made (CometBFT's
/// `LastCommit`). `height` is the block's.
pub fn commit_hash(
    chain_id: &str,
    height: u64,
    votes: &[Vote],
    meters: &[crate::ledger::meter::MeterAttestation],
) -> Hash {
    let mut e = Enc::new("commit", chain_id);
    e.u64(height).u64(votes.len() as u64);
    for v in votes {
        e.u32(v.scp).fixed(&v.sig.0);
    }
    e.u64(meters.len() as u64);
    for m in meters {
        e.u32(m.scp).u64(m.count).fixed(&m.root.0).fixed(&m.sig.0);
    }
    sha256(&e.finish())
}

/// The last record of a ledger: the SCPs' signatures on the last block's commit, which no
/// later header can carry. With it every precommit and meter attestation of every block
/// is committed to by something signed after it; what the seal's own signatures prove
/// is what a tip proves (`docs/guide/ledger.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// The number of blocks (the last block's height + 1).
    pub height: u64,
    /// The last block's header hash.
    pub last_header: Hash,
    /// [`commit_hash`] of the last block.
    pub last_commit: Hash,
    /// The SCPs' seal votes ([`VoteKind::Seal`] on [`Seal::hash`]), in SCP order.
    pub votes: Vec<Vote>,
}

impl Seal {
    /// What the seal votes sign: the chain, the block count, the last header and its
    /// commit.
    pub fn hash(&self, chain_id: &str) -> Hash {
        sha256(
            &Enc::new("seal", chain_id)
                .u64(self.height)
                .fixed(&self.last_header.0)
                .fixed(&self.last_commit.0)
                .finish(),
        )
    }
}

/// Proof that an SCP prevoted for two different headers at one height: two
/// [`VoteKind::Prevote`] signatures. The first is on the block's own header (its
/// [`crate::ledger::block::Header::prevote_hash`]), the second on another header of the
/// same height; an auditor recomputes both (the second by the byzantine rule,
/// [`crate::ledger::rules::equivocation_header`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The equivocating SCP.
    pub scp: u32,
    /// The first prevote hash ([`crate::ledger::block::Header::prevote_hash`]) it signed
    /// at this height.
    pub first: Hash,
    /// Its signature on the first.
    pub first_sig: Sig,
    /// The second, different prevote hash it signed at the same height.
    pub second: Hash,
    /// Its signature on the second.
    pub second_sig: Sig,
}

/// Whether `votes` distinct SCP votes out of `n` SCPs are more than two thirds.
pub fn quorum(votes: usize, n: usize) -> bool {
    3 * votes > 2 * n
}

/// Checks the byzantine bound: `n > 3F`.
pub fn check_byzantine(n: usize, f: usize) -> Result<()> {
    // 3F computed without wrapping: an F too large for it can have no such n.
    match f.checked_mul(3) {
        Some(three_f) if n > three_f => Ok(()),
        three_f => Err(Error::param(
            "--byzantine",
            format!(
                "{f} byzantine SCP(s) need more than {} SCP workers (n > 3F), have {n}",
                three_f.map_or_else(|| format!("3 × {f}"), |t| t.to_string())
            ),
        )),
    }
}

/// Which SCPs are byzantine: the last `f` of `n`.
pub fn byzantine_set(n: usize, f: usize) -> Vec<bool> {
    (0..n).map(|j| j >= n.saturating_sub(f)).collect()
}

/// Votes gathered at one height: at most one counted vote per SCP; a second vote for a
/// different header is equivocation, recorded as evidence, and neither counts.
#[derive(Debug, Default)]
pub struct Tally {
    votes: BTreeMap<u32, (Hash, Sig)>,
    equivocators: BTreeMap<u32, Evidence>,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a (signature-checked) vote of `scp` for `hash`.
    pub fn add(&mut self, scp: u32, hash: Hash, sig: Sig) {
        if self.equivocators.contains_key(&scp) {
            return;
        }
        match self.votes.get(&scp) {
            None => {
                self.votes.insert(scp, (hash, sig));
            }
            Some((h, _)) if *h == hash => {} // the same vote again: counted once
            Some(&(first, first_sig)) => {
                self.votes.remove(&scp);
                self.equivocators.insert(
                    scp,
                    Evidence {
                        scp,
                        first,
                        first_sig,
                        second: hash,
                        second_sig: sig,
                    },
                );
            }
        }
    }

    /// The counted votes for `hash`, by SCP index.
    pub fn votes_for(&self, hash: &Hash) -> Vec<Vote> {
        self.votes
            .iter()
            .filter(|(_, (h, _))| h == hash)
            .map(|(&scp, &(_, sig))| Vote { scp, sig })
            .collect()
    }

    /// The equivocation evidence, by SCP index.
    pub fn evidence(&self) -> Vec<Evidence> {
        self.equivocators.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::units::Bytes;

    /// A vote's bytes bind its kind, chain, height, hash and voter: change any one and
    /// the message changes, so a signature of one is never a signature of another
    /// (protocol step 5; docs/guide/ledger.md). The three kinds have distinct tags.
    #[test]
    fn vote_bytes_bind_kind_chain_height_hash_and_voter() {
        let h = crate::ledger::units::sha256(b"header");
        let other = crate::ledger::units::sha256(b"other");
        let base = vote_bytes(VoteKind::Precommit, "v2g-chain", 7, &h, 3);
        assert!(base.len() > 32 + 8 + 4, "{} bytes", base.len());
        let variants = [
            vote_bytes(VoteKind::Prevote, "v2g-chain", 7, &h, 3),
            vote_bytes(VoteKind::Seal, "v2g-chain", 7, &h, 3),
            vote_bytes(VoteKind::Precommit, "v2g-other", 7, &h, 3),
            vote_bytes(VoteKind::Precommit, "v2g-chain", 8, &h, 3),
            vote_bytes(VoteKind::Precommit, "v2g-chain", 7, &other, 3),
            vote_bytes(VoteKind::Precommit, "v2g-chain", 7, &h, 4),
        ];
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(*v, base, "variant {i}");
        }
        assert_eq!(base, vote_bytes(VoteKind::Precommit, "v2g-chain", 7, &h, 3));
        let tags = [VoteKind::Prevote, VoteKind::Precommit, VoteKind::Seal].map(VoteKind::tag);
        assert_eq!(tags, ["vote/prevote", "vote/precommit", "vote/seal"]);
    }

    /// What the seal's votes sign changes with the block count, the last header and the
    /// last commit.
    #[test]
    fn the_seal_hash_binds_height_header_and_commit() {
        let seal = Seal {
            height: 96,
            last_header: crate::ledger::units::sha256(b"header"),
            last_commit: crate::ledger::units::sha256(b"commit"),
            votes: vec![],
        };
        let h = seal.hash("v2g-chain");
        assert_ne!(h, Hash::default());
        assert_eq!(h, seal.clone().hash("v2g-chain"));
        assert_ne!(h, seal.hash("v2g-other"));
        for changed in [
            Seal {
                height: 95,
                ..seal.clone()
            },
            Seal {
                last_header: Hash::default(),
                ..seal.clone()
            },
            Seal {
                last_commit: Hash::default(),
                ..seal.clone()
            },
        ] {
            assert_ne!(changed.hash("v2g-chain"), h);
        }
    }

    #[test]
    fn quorum_is_strictly_more_than_two_thirds() {
        assert!(!quorum(2, 3));
        assert!(quorum(3, 3));
        assert!(!quorum(4, 6));
        assert!(quorum(5, 6));
        assert!(quorum(6, 8));
        assert!(!quorum(5, 8));
        assert!(quorum(1, 1));
        assert!(!quorum(0, 1));
    }

    #[test]
    fn byzantine_bound() {
        assert!(check_byzantine(4, 1).is_ok());
        let e = check_byzantine(3, 1).unwrap_err().to_string();
        assert!(e.contains("n > 3F"), "{e}");
        assert!(check_byzantine(6, 2).is_err());
        assert!(check_byzantine(7, 2).is_ok());
        assert!(check_byzantine(1, 0).is_ok());
        assert!(check_byzantine(0, 0).is_err());
        // An F whose 3F wraps around is refused, and the message does not wrap.
        let e = check_byzantine(8, 6_148_914_691_236_517_206)
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than 3 × 6148914691236517206 SCP"), "{e}");
        let e = check_byzantine(8, usize::MAX).unwrap_err().to_string();
        assert!(
            e.contains(&format!("more than 3 × {} SCP", usize::MAX)),
            "{e}"
        );
        let big = usize::MAX / 3;
        assert!(check_byzantine(usize::MAX, big - 1).is_ok());
        assert!(check_byzantine(usize::MAX, big).is_err());
        assert_eq!(byzantine_set(4, 1), vec![false, false, false, true]);
        assert_eq!(byzantine_set(3, 0), vec![false; 3]);
        assert_eq!(byzantine_set(2, usize::MAX), vec![true; 2]);
        // With n > 3F the honest votes alone are a quorum, the byzantine ones never are.
        for n in 1..40 {
            for f in 0..n {
                if 3 * f < n {
                    assert!(quorum(n - f, n) && !quorum(f, n), "n {n} f {f}");
                }
            }
        }
    }

    #[test]
    fn equivocation_is_evidence_not_a_vote() {
        let (a, b) = (Bytes([1; 32]), Bytes([2; 32]));
        let s = |x: u8| Bytes([x; 64]);
        let mut t = Tally::new();
        t.add(0, a, s(0));
        t.add(1, a, s(1));
        t.add(1, a, s(1)); // a repeat is one vote
        t.add(2, a, s(2));
        t.add(2, b, s(3)); // equivocation
        t.add(2, a, s(2)); // ignored from now on
        assert_eq!(
            t.votes_for(&a).iter().map(|v| v.scp).collect::<Vec<_>>(),
            [0, 1]
        );
        let ev = t.evidence();
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].scp, ev[0].first, ev[0].second), (2, a, b));
    }
}
