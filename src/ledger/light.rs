//! Light clients (step 6): an EV keeps only block headers. From the genesis record it
//! trusts (the validator set), it checks each new header's hash link and its quorum of
//! SCP signatures, and then verifies a Merkle inclusion proof for each of its own
//! transactions against the header's root, and of its meter readings against its SCP's
//! signed attestation ([`LightClient::verify_meter`]).

use ed25519_dalek::VerifyingKey;

use crate::ledger::block::{Genesis, Header};
use crate::ledger::consensus::{quorum, vote_bytes, Vote, VoteKind};
use crate::ledger::keys::{verify_one, verifying_key};
use crate::ledger::merkle::verify_inclusion;
use crate::ledger::meter::MeterAttestation;
use crate::ledger::units::Hash;
use crate::ledger::Fault;

/// An EV's header chain.
#[derive(Debug, Clone)]
pub struct LightClient {
    chain_id: String,
    validators: Vec<VerifyingKey>,
    headers: Vec<Header>,
    tip: Hash,
}

impl LightClient {
    /// Starts from a trusted genesis record.
    pub fn new(genesis: &Genesis) -> Result<Self, Fault> {
        let validators = genesis
            .scps
            .iter()
            .enumerate()
            .map(|(j, k)| verifying_key(k).ok_or_else(|| Fault::WeakKey(format!("SCP {j}"))))
            .collect::<Result<_, _>>()?;
        Ok(LightClient {
            chain_id: genesis.chain_id.clone(),
            validators,
            headers: Vec::new(),
            tip: genesis.hash(),
        })
    }

    /// The headers accepted so far.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// Accepts the next header if it links to the last one and more than two thirds of
    /// the SCPs signed it (each SCP counted once; a second vote is equivocation).
    pub fn accept(&mut self, header: &Header, votes: &[Vote]) -> Result<(), Fault> {
        let expected = self.headers.len() as u64;
        if header.height != expected {
            return Err(Fault::Height {
                expected,
                got: header.height,
            });
        }
        if header.prev_hash != self.tip {
            return Err(Fault::HashLink);
        }
        let hash = header.hash(&self.chain_id);
        let mut seen = vec![false; self.validators.len()];
        for v in votes {
            let key = self
                .validators
                .get(v.scp as usize)
                .ok_or(Fault::UnknownScp(v.scp))?;
            if std::mem::replace(&mut seen[v.scp as usize], true) {
                return Err(Fault::Equivocation(v.scp));
            }
            let msg = vote_bytes(
                VoteKind::Precommit,
                &self.chain_id,
                header.height,
                &hash,
                v.scp,
            );
            if !verify_one(key, &msg, &v.sig) {
                return Err(Fault::Signature(format!("SCP {} (vote)", v.scp)));
            }
        }
        if !quorum(votes.len(), self.validators.len()) {
            return Err(Fault::Quorum {
                votes: votes.len() as u64,
                validators: self.validators.len() as u64,
            });
        }
        self.tip = hash;
        self.headers.push(header.clone());
        Ok(())
    }

    /// Verifies that the transaction with leaf hash `leaf` is number `index` of block
    /// `height`.
    pub fn verify_inclusion(
        &self,
        height: u64,
        index: u64,
        leaf: &Hash,
        proof: &[Hash],
    ) -> Result<(), Fault> {
        let h = self.headers.get(height as usize).ok_or(Fault::Height {
            expected: self.headers.len() as u64,
            got: height,
        })?;
        if verify_inclusion(index, h.tx_count, leaf, proof, &h.tx_root) {
            Ok(())
        } else {
            Err(Fault::Inclusion)
        }
    }

    /// Verifies an EV's meter reading (step 5): `att` is SCP `att.scp`'s attestation in
    /// block `height` (an accepted header), signed by that SCP of the genesis, and the
    /// reading with leaf hash `leaf` is number `index` of its readings, by `proof`.
    pub fn verify_meter(
        &self,
        height: u64,
        att: &MeterAttestation,
        index: u64,
        leaf: &Hash,
        proof: &[Hash],
    ) -> Result<(), Fault> {
        if height >= self.headers.len() as u64 {
            return Err(Fault::Height {
                expected: self.headers.len() as u64,
                got: height,
            });
        }
        let key = self
            .validators
            .get(att.scp as usize)
            .ok_or(Fault::UnknownScp(att.scp))?;
        if !verify_one(key, &att.signed_bytes(&self.chain_id, height), &att.sig) {
            return Err(Fault::Signature(format!("SCP {} (meters)", att.scp)));
        }
        if verify_inclusion(index, att.count, leaf, proof, &att.root) {
            Ok(())
        } else {
            Err(Fault::Inclusion)
        }
    }
}
