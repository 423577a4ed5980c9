//! Oracle messages (step 3): per slot, the grid operator signs the real-time price, the
//! discharging-price range, the auxiliary-service task `E_limit` and `W_service`. SCPs
//! accept only a correctly signed message for the right slot ([`OracleMsg::accept`]).

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::game::leader::SlotPrices;
use crate::ledger::keys::{sign, verify_one};
use crate::ledger::units::{micro, sha256, wh, Bytes, Enc, Hash, Sig};
use crate::ledger::Fault;

/// The operator's signed data for one slot (integers: µCNY/kWh and Wh; and the exact
/// real-time price and task, from which a verifier replays the slot bit for bit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleMsg {
    /// Slot index.
    pub slot: u64,
    /// `p_rt(t)`, µCNY/kWh.
    pub p_rt: i64,
    /// `p_d,min(t)`, µCNY/kWh.
    pub p_d_min: i64,
    /// `p_d,max(t)`, µCNY/kWh.
    pub p_d_max: i64,
    /// `E_limit(t)`, Wh.
    pub e_limit_wh: i64,
    /// `W_service`, µCNY/kWh.
    pub w_service: i64,
    /// `p_rt(t)` exactly, CNY/kWh.
    pub p_rt_exact: f64,
    /// `E_limit(t)` exactly, kWh.
    pub e_limit_kwh: f64,
    /// The operator's signature.
    pub sig: Sig,
}

impl OracleMsg {
    /// The signed bytes.
    pub fn signed_bytes(&self, chain_id: &str) -> Vec<u8> {
        Enc::new("oracle", chain_id)
            .u64(self.slot)
            .i64(self.p_rt)
            .i64(self.p_d_min)
            .i64(self.p_d_max)
            .i64(self.e_limit_wh)
            .i64(self.w_service)
            .u64(self.p_rt_exact.to_bits())
            .u64(self.e_limit_kwh.to_bits())
            .finish()
    }

    /// The operator's message for slot `slot` with `prices`, signed.
    pub fn issue(chain_id: &str, slot: u64, prices: &SlotPrices, key: &SigningKey) -> Self {
        let mut m = OracleMsg::issue_unsigned(slot, prices);
        m.sig = sign(key, &m.signed_bytes(chain_id));
        m
    }

    /// The message's content for slot `slot` with `prices`, unsigned: the one rule of
    /// [`crate::ledger::units`] for its integers, and the exact `p_rt` and `E_limit`.
    pub fn issue_unsigned(slot: u64, prices: &SlotPrices) -> Self {
        OracleMsg {
            slot,
            p_rt: micro(prices.p_rt),
            p_d_min: micro(prices.p_d_min),
            p_d_max: micro(prices.p_d_max),
            e_limit_wh: wh(prices.e_limit_kwh),
            w_service: micro(prices.w_service),
            p_rt_exact: prices.p_rt,
            e_limit_kwh: prices.e_limit_kwh,
            sig: Bytes([0; 64]),
        }
    }

    /// The message's hash (over the signed bytes and the signature), committed to by the
    /// block header.
    pub fn hash(&self, chain_id: &str) -> Hash {
        let mut b = self.signed_bytes(chain_id);
        b.extend_from_slice(&self.sig.0);
        sha256(&b)
    }

    /// The charging price `p_c = p_rt + W_service`, µCNY/kWh.
    pub fn p_c(&self) -> i64 {
        self.p_rt.saturating_add(self.w_service)
    }

    /// What an SCP checks before using the message: it is for `slot` and signed by the
    /// operator (`verify_strict`).
    pub fn accept(&self, chain_id: &str, slot: u64, operator: &VerifyingKey) -> Result<(), Fault> {
        if self.slot != slot {
            return Err(Fault::OracleSlot {
                expected: slot,
                got: self.slot,
            });
        }
        if !verify_one(operator, &self.signed_bytes(chain_id), &self.sig) {
            return Err(Fault::Signature("the oracle".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::keys::Keyring;

    fn prices() -> SlotPrices {
        SlotPrices {
            p_rt: 1.12,
            p_c: 1.62,
            p_d_max: 0.0,
            p_d_min: -3.36,
            delta: 2.24,
            e_limit_kwh: 40.5,
            e0_kwh: 3.75,
            w_service: 0.5,
            w_grid: 0.792,
            p_delay: 0.1,
            eta_c: 1.0,
            eta_d: 1.0,
        }
    }

    #[test]
    fn accepted_only_signed_for_the_right_slot() {
        let ring = Keyring::generate(&[], 1).unwrap();
        let op = ring.oracle.verifying_key();
        let m = OracleMsg::issue("v2g-test", 5, &prices(), &ring.oracle);
        assert_eq!(m.p_rt, 1_120_000);
        assert_eq!(m.e_limit_wh, 40_500);
        assert_eq!(m.p_c(), 1_620_000);
        assert_eq!(m.accept("v2g-test", 5, &op), Ok(()));
        assert!(matches!(
            m.accept("v2g-test", 6, &op),
            Err(Fault::OracleSlot { .. })
        ));
        // A tampered price, another chain, or a message signed by someone else.
        let mut t = m.clone();
        t.p_rt += 1;
        assert!(matches!(
            t.accept("v2g-test", 5, &op),
            Err(Fault::Signature(_))
        ));
        assert!(m.accept("another-chain", 5, &op).is_err());
        let forged = OracleMsg::issue("v2g-test", 5, &prices(), &ring.eva);
        assert!(forged.accept("v2g-test", 5, &op).is_err());
    }
}
