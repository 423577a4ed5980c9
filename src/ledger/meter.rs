//! Meter attestations (step 5): each SCP signs, once per block, the RFC 6962 Merkle root
//! of the meter readings at its charging points in that slot.
//!
//! A reading is a transaction's Merkle leaf ([`crate::ledger::tx::Tx::leaf_bytes`]): the
//! EV's signed terms, the SCP's meter reading of the energy and the EV's signature. The
//! SCP's readings of a block are the leaves of the block's transactions at that SCP, in
//! block order; the SCP signs `(chain, height, scp, count, root)`.
//!
//! This replaces a countersignature per transaction and is at least as strong: the SCP's
//! one signature binds every reading it attests (changing, adding, removing or reordering
//! one changes the root, short of a SHA-256 collision), and it also binds the set: the
//! SCP states that these, and no others, are the slot's trades at its points. An EV
//! checks its own reading with the SCP's attestation and a Merkle inclusion proof of its
//! leaf in the SCP's tree ([`crate::ledger::light::LightClient::verify_meter`]). The cost
//! falls from one signature and one verification per trade to one per SCP and block.
//!
//! Every SCP of the validator set attests in every block, in SCP order, also when none of
//! its points had a trade (an empty root: it attests that no energy moved there).

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::ledger::keys::sign;
use crate::ledger::merkle;
use crate::ledger::rules::scp_of;
use crate::ledger::units::{Bytes, Enc, Hash, Sig};

/// An SCP's signed statement of its meter readings in one block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterAttestation {
    /// The SCP.
    pub scp: u32,
    /// How many readings (transactions at its points).
    pub count: u64,
    /// The RFC 6962 Merkle root of the readings, in block order.
    pub root: Hash,
    /// The SCP's signature over the above, the chain id and the height.
    pub sig: Sig,
}

impl MeterAttestation {
    /// The bytes the SCP signs.
    pub fn signed_bytes(&self, chain_id: &str, height: u64) -> Vec<u8> {
        Enc::new("meters", chain_id)
            .u64(height)
            .u32(self.scp)
            .u64(self.count)
            .fixed(&self.root.0)
            .finish()
    }

    /// SCP `scp` attests `readings` (its transactions' leaf hashes, in block order).
    pub fn sign(
        chain_id: &str,
        height: u64,
        scp: u32,
        readings: Vec<Hash>,
        key: &SigningKey,
    ) -> Self {
        let mut a = MeterAttestation {
            scp,
            count: readings.len() as u64,
            root: merkle::root(readings),
            sig: Bytes([0; 64]),
        };
        a.sig = sign(key, &a.signed_bytes(chain_id, height));
        a
    }
}

/// The readings of each of `n_scps` SCPs: the leaf hashes of the transactions plugged
/// into it (EV `i` at SCP `i mod n`), in block order. `evs[k]` is transaction `k`'s wallet.
pub fn readings(evs: &[u32], leaves: &[Hash], n_scps: usize) -> Vec<Vec<Hash>> {
    let mut out = vec![Vec::with_capacity(leaves.len() / n_scps.max(1) + 1); n_scps];
    for (ev, leaf) in evs.iter().zip(leaves) {
        out[scp_of(*ev as usize, n_scps)].push(*leaf);
    }
    out
}

/// The position of each transaction among its SCP's readings (for inclusion proofs).
pub fn positions(evs: &[u32], n_scps: usize) -> Vec<u64> {
    let mut next = vec![0u64; n_scps];
    evs.iter()
        .map(|ev| {
            let j = scp_of(*ev as usize, n_scps);
            next[j] += 1;
            next[j] - 1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::keys::{verify_one, Keyring};

    fn h(b: u8) -> Hash {
        Bytes([b; 32])
    }

    #[test]
    fn readings_are_grouped_by_scp_in_block_order() {
        let evs = [0, 1, 2, 3, 4, 7];
        let leaves: Vec<Hash> = (0..6).map(h).collect();
        let r = readings(&evs, &leaves, 3);
        assert_eq!(
            r,
            vec![vec![h(0), h(3)], vec![h(1), h(4), h(5)], vec![h(2)]]
        );
        assert_eq!(positions(&evs, 3), vec![0, 0, 0, 1, 1, 2]);
        assert_eq!(readings(&[], &[], 2), vec![Vec::<Hash>::new(), Vec::new()]);
    }

    #[test]
    fn the_signature_binds_height_scp_count_and_root() {
        let ring = Keyring::generate(&["a".into()], 2).unwrap();
        let a = MeterAttestation::sign("c", 5, 1, vec![h(1), h(2)], &ring.scps[1]);
        assert_eq!(a.count, 2);
        assert_eq!(a.root, merkle::root(vec![h(1), h(2)]));
        let key = ring.scps[1].verifying_key();
        assert!(verify_one(&key, &a.signed_bytes("c", 5), &a.sig));
        assert!(!verify_one(&key, &a.signed_bytes("c", 6), &a.sig));
        assert!(!verify_one(&key, &a.signed_bytes("d", 5), &a.sig));
        for change in 0..3 {
            let mut b = a.clone();
            match change {
                0 => b.scp = 0,
                1 => b.count = 1,
                _ => b.root = merkle::root(vec![h(2), h(1)]),
            }
            assert!(!verify_one(&key, &b.signed_bytes("c", 5), &b.sig));
        }
    }
}
