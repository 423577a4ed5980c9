//! Transactions (steps 2 and 5): one per plugged EV per slot (charge, discharge or idle).
//!
//! The EV's wallet signs the terms (its consent): slot, wallet, SCP, regime, `x`, energy,
//! unit price, amount, the wallet's balance afterwards, its nonce and its state entering
//! the slot. The Merkle leaf is the terms, the SCP's meter reading and the EV's signature;
//! the SCP attests its readings once per block over the Merkle root of its leaves
//! ([`crate::ledger::meter`]).
//!
//! Money follows docs/model.md §5 from the EV's side: `amount` is what the EV pays
//! (µCNY; negative when it receives): `+p_c·E` when charging, `−|p_d*|·|E|` when
//! discharging, `−p_delay` when idle. Wallets open at 0 and may go negative (a credit
//! account settled off-chain); `balance = previous balance − amount`. A wallet's nonce
//! is exactly one more than its last (the first is 1).

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::game::follower::Regime;
use crate::ledger::keys::sign;
use crate::ledger::units::{micro, to_int, wh, Bytes, Enc, Hash, Sig, MICRO};
use crate::ledger::Fault;
use crate::settlement::Trade;

/// One EV's trade in one slot, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tx {
    /// Slot index (= block height).
    pub slot: u64,
    /// The EV's wallet: its index in the genesis wallet list (fleet order).
    pub ev: u32,
    /// The SCP the EV is plugged into (meter owner).
    pub scp: u32,
    /// Charge, idle or discharge.
    pub regime: Regime,
    /// `x` in parts per million.
    pub x_ppm: i64,
    /// Energy into the battery `E0·x`, Wh (negative when discharging).
    pub energy_wh: i64,
    /// Unit price, µCNY/kWh: `p_c` charging, `p_d*` discharging, 0 idle.
    pub unit_price: i64,
    /// What the EV pays, µCNY (negative: receives).
    pub amount: i64,
    /// The wallet's balance after this transaction, µCNY.
    pub balance: i64,
    /// The wallet's nonce.
    pub nonce: u64,
    /// The EV's state entering the slot: its energy, kWh (the simulation's value, exact),
    /// from which a verifier replays its best response.
    pub energy_before_kwh: f64,
    /// The SCP's meter reading of the energy, Wh.
    pub meter_wh: i64,
    /// The EV wallet's signature over the terms (consent).
    pub ev_sig: Sig,
}

fn regime_tag(r: Regime) -> u8 {
    match r {
        Regime::Charge => 1,
        Regime::Idle => 2,
        Regime::Discharge => 3,
    }
}

impl Tx {
    /// The bytes the EV signs.
    pub fn consent_bytes(&self, chain_id: &str) -> Vec<u8> {
        Enc::new("tx", chain_id)
            .u64(self.slot)
            .u32(self.ev)
            .u32(self.scp)
            .u8(regime_tag(self.regime))
            .i64(self.x_ppm)
            .i64(self.energy_wh)
            .i64(self.unit_price)
            .i64(self.amount)
            .i64(self.balance)
            .u64(self.nonce)
            .u64(self.energy_before_kwh.to_bits())
            .finish()
    }

    /// The Merkle leaf, given the EV's consent bytes: the terms, the SCP's meter reading
    /// and the EV's signature. It is both the leaf of the block's transaction tree and
    /// the SCP's meter reading that its per-block attestation covers.
    pub fn leaf_bytes(&self, chain_id: &str, consent: &[u8]) -> Vec<u8> {
        Enc::new("meter", chain_id)
            .bytes(consent)
            .i64(self.meter_wh)
            .fixed(&self.ev_sig.0)
            .finish()
    }

    /// The leaf hash (RFC 6962) of this transaction.
    pub fn leaf_hash(&self, chain_id: &str) -> Hash {
        let leaf = self.leaf_bytes(chain_id, &self.consent_bytes(chain_id));
        crate::ledger::merkle::leaf_hash(&leaf)
    }

    /// The unsigned terms of a settled trade: the one rounding rule of
    /// [`crate::ledger::units`] applied to each float. The charging price is the oracle's
    /// `p_rt + W_service` in integers, the discharging price the block's `p_d*`.
    pub fn terms(
        trade: &Trade,
        ev: u32,
        scp: u32,
        p_c: i64,
        p_d: i64,
        balance_before: i64,
        nonce: u64,
    ) -> Tx {
        // Saturating: a sum out of range is refused by the rules ([`check_tx`]), not
        // wrapped into a plausible number.
        let amount = micro(trade.paid_cny).saturating_sub(micro(trade.received_cny));
        let unit_price = match trade.regime {
            Regime::Charge => p_c,
            Regime::Discharge => p_d,
            Regime::Idle => 0,
        };
        let energy_wh = wh(trade.energy_kwh);
        Tx {
            slot: trade.slot as u64,
            ev,
            scp,
            regime: trade.regime,
            x_ppm: to_int(trade.x, MICRO),
            energy_wh,
            unit_price,
            amount,
            balance: balance_before.saturating_sub(amount),
            nonce,
            energy_before_kwh: trade.energy_before_kwh,
            meter_wh: energy_wh,
            ev_sig: Bytes([0; 64]),
        }
    }

    /// The EV signs the terms (its consent).
    pub fn sign(&mut self, chain_id: &str, ev_key: &SigningKey) {
        self.ev_sig = sign(ev_key, &self.consent_bytes(chain_id));
    }

    /// Checks the terms against each other, the oracle's prices, the block's `p_d*` and
    /// `p_delay` (Table I), and the meter:
    ///
    /// * the meter reads what the EV signed;
    /// * idle: `x = 0`, no energy, price 0, the EV receives exactly `p_delay`;
    /// * charge: `x >= 0`, energy >= 0, price `p_c`, amount `≈ p_c·E`;
    /// * discharge: `x <= 0`, energy <= 0, price `p_d*`, amount `≈ −|p_d*|·|E|`
    ///   (`x` of a trade is never 0, but a tiny one rounds to 0 ppm);
    ///
    /// where `≈` allows only the rounding of the conversion (half a Wh of energy at the
    /// price, 1 µCNY/kWh of price over the energy, and 2 µCNY).
    pub fn check_terms(&self, p_c: i64, p_d: i64, p_delay: i64) -> Result<(), Fault> {
        if self.meter_wh != self.energy_wh {
            return Err(Fault::Meter {
                ev_wh: self.energy_wh,
                meter_wh: self.meter_wh,
            });
        }
        let bad = |what: String| Err(Fault::Terms(what));
        match self.regime {
            Regime::Idle => {
                if self.x_ppm != 0 || self.energy_wh != 0 || self.unit_price != 0 {
                    return bad("an idle trade moves energy or has a price".into());
                }
                if Some(self.amount) != p_delay.checked_neg() {
                    return bad(format!(
                        "idle amount {} µCNY, expected -p_delay = {}",
                        self.amount,
                        p_delay.saturating_neg()
                    ));
                }
                return Ok(());
            }
            Regime::Charge => {
                if self.x_ppm < 0 || self.energy_wh < 0 {
                    return bad("a charging trade with x < 0".into());
                }
                if self.unit_price != p_c {
                    return bad(format!(
                        "charging price {} µCNY/kWh, oracle p_c = {p_c}",
                        self.unit_price
                    ));
                }
            }
            Regime::Discharge => {
                if self.x_ppm > 0 || self.energy_wh > 0 {
                    return bad("a discharging trade with x > 0".into());
                }
                if self.unit_price != p_d {
                    return bad(format!(
                        "discharging price {} µCNY/kWh, block p_d* = {p_d}",
                        self.unit_price
                    ));
                }
            }
        }
        let price = i128::from(self.unit_price).abs();
        let e = i128::from(self.energy_wh).abs();
        let magnitude = (price * e + 500) / 1000;
        let expected = if self.regime == Regime::Charge {
            magnitude
        } else {
            -magnitude
        };
        let tol = (price + 1000) / 2000 + e / 1000 + 2;
        if (i128::from(self.amount) - expected).abs() > tol {
            return bad(format!(
                "amount {} µCNY, price × energy gives {expected}",
                self.amount
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::keys::{verify_one, Keyring};

    fn trade(regime: Regime, x: f64, price: f64) -> Trade {
        let e = 3.75 * x;
        let (paid, received) = match regime {
            Regime::Charge => (price * e, 0.0),
            Regime::Discharge => (0.0, price.abs() * -e),
            Regime::Idle => (0.0, 0.1),
        };
        Trade {
            slot: 4,
            ev: 1,
            regime,
            x,
            energy_kwh: e,
            unit_price: price,
            paid_cny: paid,
            received_cny: received,
            energy_before_kwh: 10.0,
            energy_after_kwh: 10.0 + e,
        }
    }

    #[test]
    fn terms_convert_and_check() {
        let c = Tx::terms(
            &trade(Regime::Charge, 0.98992, 1.16),
            1,
            0,
            1_160_000,
            0,
            0,
            1,
        );
        assert_eq!(c.energy_wh, 3712);
        assert_eq!(c.amount, 4_306_152); // 1.16 × 3.7122 kWh
        assert_eq!(c.balance, -4_306_152);
        assert_eq!(c.check_terms(1_160_000, 0, 100_000), Ok(()));
        let d = Tx::terms(
            &trade(Regime::Discharge, -0.8, -0.5),
            1,
            0,
            0,
            -500_000,
            7,
            2,
        );
        assert_eq!(
            (d.energy_wh, d.amount, d.balance),
            (-3000, -1_500_000, 1_500_007)
        );
        assert_eq!(d.check_terms(1_160_000, -500_000, 100_000), Ok(()));
        let i = Tx::terms(&trade(Regime::Idle, 0.0, 0.0), 1, 0, 0, 0, 0, 3);
        assert_eq!(i.amount, -100_000);
        assert_eq!(i.check_terms(1, 2, 100_000), Ok(()));
        // Inconsistent terms are named.
        let mut t = c.clone();
        t.amount += 5_000;
        assert!(matches!(
            t.check_terms(1_160_000, 0, 100_000),
            Err(Fault::Terms(_))
        ));
        let mut t = c.clone();
        t.meter_wh -= 10;
        assert!(matches!(
            t.check_terms(1_160_000, 0, 100_000),
            Err(Fault::Meter { .. })
        ));
        assert!(d.check_terms(1_160_000, -400_000, 100_000).is_err());
        assert!(i.check_terms(1, 2, 90_000).is_err());
    }

    #[test]
    fn the_signature_and_the_leaf_cover_what_they_should() {
        let ring = Keyring::generate(&["a".into()], 2).unwrap();
        let chain = "v2g-test";
        let mut t = Tx::terms(&trade(Regime::Charge, 0.5, 1.16), 0, 1, 1_160_000, 0, 0, 1);
        t.sign(chain, &ring.evs[0]);
        let consent = t.consent_bytes(chain);
        assert!(verify_one(
            &ring.evs[0].verifying_key(),
            &consent,
            &t.ev_sig
        ));
        // The meter reading is not in the EV's signature but is in the leaf (which the
        // SCP's attestation covers), and so is the EV's signature.
        let mut m = t.clone();
        m.meter_wh += 1;
        assert!(verify_one(
            &ring.evs[0].verifying_key(),
            &m.consent_bytes(chain),
            &m.ev_sig
        ));
        assert_ne!(m.leaf_hash(chain), t.leaf_hash(chain));
        let mut s = t.clone();
        s.ev_sig.0[0] ^= 1;
        assert_ne!(s.leaf_hash(chain), t.leaf_hash(chain));
        let mut e = t.clone();
        e.energy_before_kwh += 1e-9;
        assert_ne!(e.consent_bytes(chain), consent);
        assert_ne!(t.leaf_hash("v2g-other"), t.leaf_hash(chain));
    }
}
