//! Blocks: one per slot, hash-chained from a genesis record.
//!
//! * [`Genesis`] (step 1): the chain id, the seed, `E0`, `p_delay`, the number of slots, and every public key
//!   (EV wallets with their ids, SCPs, the oracle, the EVA), signed by the EVA. Its hash is
//!   the previous-header hash of block 0: the trust anchor of every light client.
//! * [`Header`]: chain id (in the hashed bytes), height, previous header hash, Merkle root
//!   and count of the slot's transactions, oracle message hash, hash of the SCP workers'
//!   proposals and the validators' verdicts on them, the chosen candidate `k`, `p_d*` and
//!   revenue `R`, and the proposer (the SCP worker whose sub-range held `p_d*`).
//! * [`Block`]: the header and the body: the oracle message, the proposals, the
//!   transactions, the SCPs' votes on the header and any equivocation evidence.

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::ledger::consensus::{Evidence, Proposal, Vote};
use crate::ledger::keys::{public, sign, Keyring};
use crate::ledger::oracle::OracleMsg;
use crate::ledger::tx::Tx;
use crate::ledger::units::{sha256, Bytes, Enc, Hash, PublicKey, Sig};

/// An EV wallet in the genesis record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wallet {
    /// The EV's id in the fleet file.
    pub id: String,
    /// The wallet's public key.
    pub key: PublicKey,
}

/// The first record of a ledger: the identities and constants everything else is checked
/// against (step 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The chain id every signed message carries.
    pub chain_id: String,
    /// The seed the keys derive from.
    pub seed: u64,
    /// `E0`, Wh.
    pub e0_wh: i64,
    /// `p_delay`, µCNY paid to each idle EV per slot.
    pub p_delay: i64,
    /// Number of slots of the horizon: the ledger has exactly one block per slot, so a
    /// truncated ledger is caught.
    pub slots: u64,
    /// EV wallets, in fleet order (a transaction's `ev` indexes this list).
    pub evs: Vec<Wallet>,
    /// SCP node keys, in worker order (validators and price-search workers).
    pub scps: Vec<PublicKey>,
    /// The grid operator's oracle key.
    pub oracle: PublicKey,
    /// The EVA's key.
    pub eva: PublicKey,
    /// The EVA's signature over all of the above.
    pub eva_sig: Sig,
}

impl Genesis {
    /// The genesis record of a keyring, signed by the EVA.
    pub fn new(ring: &Keyring, e0_wh: i64, p_delay: i64, slots: u64) -> Self {
        let mut g = Genesis {
            chain_id: ring.chain_id.clone(),
            seed: ring.seed,
            e0_wh,
            p_delay,
            slots,
            evs: ring
                .ev_ids
                .iter()
                .zip(&ring.evs)
                .map(|(id, k)| Wallet {
                    id: id.clone(),
                    key: public(k),
                })
                .collect(),
            scps: ring.scps.iter().map(public).collect(),
            oracle: public(&ring.oracle),
            eva: public(&ring.eva),
            eva_sig: Bytes([0; 64]),
        };
        g.eva_sig = sign(&ring.eva, &g.signed_bytes());
        g
    }

    /// The bytes the EVA signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut e = Enc::new("genesis", &self.chain_id);
        e.u64(self.seed)
            .i64(self.e0_wh)
            .i64(self.p_delay)
            .u64(self.slots)
            .u64(self.evs.len() as u64);
        for w in &self.evs {
            e.str(&w.id).fixed(&w.key.0);
        }
        e.u64(self.scps.len() as u64);
        for k in &self.scps {
            e.fixed(&k.0);
        }
        e.fixed(&self.oracle.0).fixed(&self.eva.0);
        e.finish()
    }

    /// The genesis hash: block 0's previous-header hash.
    pub fn hash(&self) -> Hash {
        let mut b = self.signed_bytes();
        b.extend_from_slice(&self.eva_sig.0);
        sha256(&b)
    }
}

/// A block header: what the SCPs vote on and light clients keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Height = slot index.
    pub height: u64,
    /// Hash of the previous header (of the genesis record for block 0).
    pub prev_hash: Hash,
    /// RFC 6962 Merkle root of the transactions.
    pub tx_root: Hash,
    /// Number of transactions.
    pub tx_count: u64,
    /// Hash of the slot's oracle message.
    pub oracle_hash: Hash,
    /// Hash of the proposals and the validators' verdicts.
    pub proposals_hash: Hash,
    /// Index `k` of the chosen candidate on the epsilon grid.
    pub k: u64,
    /// `p_d*`, µCNY/kWh.
    pub p_d: i64,
    /// `R(p_d*)`, µCNY.
    pub revenue: i64,
    /// The SCP worker whose sub-range held `p_d*`.
    pub proposer: u32,
}

impl Header {
    /// The canonical bytes.
    pub fn bytes(&self, chain_id: &str) -> Vec<u8> {
        Enc::new("header", chain_id)
            .u64(self.height)
            .fixed(&self.prev_hash.0)
            .fixed(&self.tx_root.0)
            .u64(self.tx_count)
            .fixed(&self.oracle_hash.0)
            .fixed(&self.proposals_hash.0)
            .u64(self.k)
            .i64(self.p_d)
            .i64(self.revenue)
            .u32(self.proposer)
            .finish()
    }

    /// The header hash (what votes sign and the next header links to).
    pub fn hash(&self, chain_id: &str) -> Hash {
        sha256(&self.bytes(chain_id))
    }
}

/// One slot's block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The operator's signed data for the slot (step 3).
    pub oracle: OracleMsg,
    /// Each SCP worker's signed proposal and the validators' verdict (step 4).
    pub proposals: Vec<Proposal>,
    /// One transaction per plugged EV, in fleet order (steps 2, 5).
    pub txs: Vec<Tx>,
    /// The SCPs' signatures on the header (step 5).
    pub votes: Vec<Vote>,
    /// Equivocation evidence gathered while voting.
    pub evidence: Vec<Evidence>,
}

/// Signs a vote on a header hash (used by the validators and by tests that forge votes).
pub fn vote(chain_id: &str, height: u64, header_hash: &Hash, scp: u32, key: &SigningKey) -> Vote {
    Vote {
        scp,
        sig: sign(
            key,
            &crate::ledger::consensus::vote_bytes(chain_id, height, header_hash, scp),
        ),
    }
}
