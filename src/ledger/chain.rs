//! A finished ledger in memory: its genesis record, its blocks and its seal. The builder
//! ([`crate::ledger::record`]) produces one, the store ([`crate::ledger::store`]) reads
//! and writes one; neither depends on the other.

use crate::ledger::block::{Block, Genesis};
use crate::ledger::consensus::Seal;
use crate::ledger::merkle;
use crate::ledger::meter::{self, MeterAttestation};

/// A finished ledger: the genesis record, one block per slot and the seal.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    /// The genesis record.
    pub genesis: Genesis,
    /// The blocks, by height.
    pub blocks: Vec<Block>,
    /// The last record: the SCPs' seal on the last block's commit.
    pub seal: Seal,
}

impl Ledger {
    /// The ledger as JSON lines (`ledger.jsonl`): the genesis hash, then one block a line,
    /// then the seal.
    pub fn to_jsonl(&self) -> Vec<u8> {
        crate::ledger::store::write(self)
    }

    /// The genesis record as `genesis.json`.
    pub fn genesis_json(&self) -> Vec<u8> {
        crate::ledger::store::write_genesis(&self.genesis)
    }

    /// The inclusion proof of transaction `tx` of block `height` (what an SCP hands to
    /// the EV's light client), or `None` when there is no such transaction.
    pub fn inclusion_proof(
        &self,
        height: usize,
        tx: usize,
    ) -> Option<Vec<crate::ledger::units::Hash>> {
        let b = self.blocks.get(height)?;
        let chain = &self.genesis.chain_id;
        merkle::Tree::new(b.txs.iter().map(|t| t.leaf_hash(chain)).collect()).proof(tx)
    }

    /// The meter proof of transaction `tx` of block `height` (what its SCP hands to the
    /// EV): the SCP's attestation, the reading's position among the SCP's readings and
    /// its inclusion proof under the attested root; `None` when there is no such
    /// transaction or attestation.
    pub fn meter_proof(
        &self,
        height: usize,
        tx: usize,
    ) -> Option<(&MeterAttestation, u64, Vec<crate::ledger::units::Hash>)> {
        let b = self.blocks.get(height)?;
        let t = b.txs.get(tx)?;
        let chain = &self.genesis.chain_id;
        let att = b.meters.get(t.scp as usize)?;
        let n = b.meters.len();
        let evs: Vec<u32> = b.txs.iter().map(|t| t.ev).collect();
        let index = meter::positions(&evs, n)[tx];
        let leaves: Vec<_> = b.txs.iter().map(|t| t.leaf_hash(chain)).collect();
        let mine = meter::readings(&evs, &leaves, n).swap_remove(t.scp as usize);
        let proof = merkle::Tree::new(mine).proof(index as usize)?;
        Some((att, index, proof))
    }
}
