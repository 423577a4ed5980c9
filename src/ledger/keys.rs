//! Identities (step 1): every EV has a wallet key pair, every SCP a node key pair, the grid
//! operator an oracle key pair and the EVA a key pair.
//!
//! Keys derive deterministically from the scenario seed and the entity id, so runs are
//! reproducible: the 32-byte ed25519 secret is
//! `SHA-256("v2g/key/1" ‖ chain id ‖ seed ‖ role ‖ id)` (each part length-prefixed or of
//! fixed width, see [`Enc`]), handed to `SigningKey::from_bytes`. A simulation's keys
//! protect nothing beyond the seed; the point is that every signature is real and every
//! check is the one a deployment would make. A [`Keystore`] file can be written and read.
//!
//! Signatures are checked with `verify_strict` (no weak keys, no malleable signatures);
//! [`verify_all`] serves bulk checks with ed25519 batch verification, in parallel chunks,
//! and falls back to single strict checks to name the culprit when a batch fails.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{excerpt, json_message, Error, Result};
use crate::ledger::units::{Bytes, Enc, PublicKey, Sig};

/// Which kind of entity a key belongs to (part of the key derivation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An EV's wallet.
    Ev,
    /// A smart charging point (full node, validator, price-search worker).
    Scp,
    /// The grid operator's oracle.
    Oracle,
    /// The EV aggregator.
    Eva,
}

impl Role {
    fn tag(self) -> &'static str {
        match self {
            Role::Ev => "ev",
            Role::Scp => "scp",
            Role::Oracle => "oracle",
            Role::Eva => "eva",
        }
    }
}

/// Derives an entity's signing key from the chain id, the seed, its role and its id.
pub fn derive(chain_id: &str, seed: u64, role: Role, id: &str) -> SigningKey {
    let bytes = Enc::new("key", chain_id)
        .u64(seed)
        .str(role.tag())
        .str(id)
        .finish();
    let secret = crate::ledger::units::sha256(&bytes).0;
    SigningKey::from_bytes(&secret)
}

/// The chain id of a run with this seed.
pub fn chain_id(seed: u64) -> String {
    format!("v2g-sim-{seed}")
}

/// Signs a message.
pub fn sign(key: &SigningKey, msg: &[u8]) -> Sig {
    Bytes(key.sign(msg).to_bytes())
}

/// The public half of a key, as stored in the ledger.
pub fn public(key: &SigningKey) -> PublicKey {
    Bytes(key.verifying_key().to_bytes())
}

/// Parses a stored public key, refusing non-points and weak (small-order) keys.
pub fn verifying_key(pk: &PublicKey) -> Option<VerifyingKey> {
    let vk = VerifyingKey::from_bytes(&pk.0).ok()?;
    (!vk.is_weak()).then_some(vk)
}

/// One strict check (`verify_strict`: rejects weak keys and malleable signatures).
pub fn verify_one(key: &VerifyingKey, msg: &[u8], sig: &Sig) -> bool {
    key.verify_strict(msg, &Signature::from_bytes(&sig.0))
        .is_ok()
}

/// Signatures per batch (and per parallel task) in [`verify_all`].
pub const BATCH: usize = 512;

/// Checks many signatures: ed25519 batch verification over chunks of [`BATCH`] in
/// parallel; when a chunk fails, single `verify_strict` checks name the first culprit.
/// Returns the index of the first bad signature, if any.
///
/// The keys must have been checked not to be weak ([`verifying_key`]). The batch
/// equation is cofactorless like `verify_strict` and refuses non-canonical `s`; it accepts
/// a signature that `verify_strict` refuses only when its `R` is of small order or
/// encoded non-canonically, which only the key's owner can produce: nobody can forge or
/// malleate another party's signature past it.
pub fn verify_all(items: &[(&VerifyingKey, &[u8], &Sig)]) -> std::result::Result<(), usize> {
    let bad: Vec<usize> = items
        .par_chunks(BATCH)
        .enumerate()
        .filter_map(|(c, chunk)| {
            let msgs: Vec<&[u8]> = chunk.iter().map(|i| i.1).collect();
            let sigs: Vec<Signature> = chunk
                .iter()
                .map(|i| Signature::from_bytes(&i.2 .0))
                .collect();
            let keys: Vec<VerifyingKey> = chunk.iter().map(|i| *i.0).collect();
            if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
                return None;
            }
            let first = chunk
                .iter()
                .position(|(k, m, s)| !verify_one(k, m, s))
                // A failed batch always has a culprit; report the chunk's start otherwise.
                .unwrap_or(0);
            Some(c * BATCH + first)
        })
        .collect();
    match bad.into_iter().min() {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

/// All key pairs of a run: EV wallets in fleet order, SCPs in worker order, the oracle
/// and the EVA.
#[derive(Debug, Clone)]
pub struct Keyring {
    /// The chain id the keys belong to.
    pub chain_id: String,
    /// The seed they derive from.
    pub seed: u64,
    /// EV ids, in fleet order.
    pub ev_ids: Vec<String>,
    /// Wallet keys, in fleet order.
    pub evs: Vec<SigningKey>,
    /// SCP keys, in worker order.
    pub scps: Vec<SigningKey>,
    /// The grid operator's oracle key.
    pub oracle: SigningKey,
    /// The EVA's key.
    pub eva: SigningKey,
}

impl Keyring {
    /// Derives every key of a run (in parallel: a large fleet has thousands of wallets).
    pub fn derive(seed: u64, ev_ids: &[String], n_scps: usize) -> Self {
        let chain = chain_id(seed);
        let evs = ev_ids
            .par_iter()
            .map(|id| derive(&chain, seed, Role::Ev, id))
            .collect();
        let scps = (0..n_scps)
            .map(|j| derive(&chain, seed, Role::Scp, &j.to_string()))
            .collect();
        Keyring {
            oracle: derive(&chain, seed, Role::Oracle, "operator"),
            eva: derive(&chain, seed, Role::Eva, "eva"),
            chain_id: chain,
            seed,
            ev_ids: ev_ids.to_vec(),
            evs,
            scps,
        }
    }

    /// The keyring as a keystore (secrets included).
    pub fn to_keystore(&self) -> Keystore {
        let entry = |role, id: String, k: &SigningKey| KeyEntry {
            role,
            id,
            public: public(k),
            secret: Bytes(k.to_bytes()),
        };
        let mut keys: Vec<KeyEntry> = self
            .ev_ids
            .iter()
            .zip(&self.evs)
            .map(|(id, k)| entry(Role::Ev, id.clone(), k))
            .collect();
        keys.extend(
            self.scps
                .iter()
                .enumerate()
                .map(|(j, k)| entry(Role::Scp, j.to_string(), k)),
        );
        keys.push(entry(Role::Oracle, "operator".into(), &self.oracle));
        keys.push(entry(Role::Eva, "eva".into(), &self.eva));
        Keystore {
            chain_id: self.chain_id.clone(),
            seed: self.seed,
            keys,
        }
    }
}

/// One key of a keystore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// The entity's role.
    pub role: Role,
    /// The entity's id (EV id, SCP index, `operator`, `eva`).
    pub id: String,
    /// Public key (hex).
    pub public: PublicKey,
    /// Secret key (hex).
    pub secret: Bytes<32>,
}

/// A keystore file: every key of a run, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keystore {
    /// The chain id.
    pub chain_id: String,
    /// The seed the keys derive from.
    pub seed: u64,
    /// The keys.
    pub keys: Vec<KeyEntry>,
}

impl Keystore {
    /// The keystore as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("keystore serialises");
        v.push(b'\n');
        v
    }

    /// Writes the keystore atomically (a temporary file beside it, then renamed), readable
    /// by its owner only (`rw-------`).
    pub fn save(&self, path: &Path) -> Result<()> {
        if path.file_name().is_none() {
            return Err(Error::param("keystore", "needs a file name"));
        }
        crate::report::output::write_atomic_private(path, &self.to_json())
    }

    /// Reads a keystore and checks that every secret matches its public key.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let ks: Keystore = serde_json::from_str(&text).map_err(|e| {
            Error::input(
                path,
                e.line() as u64,
                e.column() as u64,
                "",
                format!("not a v2g keystore: {}", json_message(&e)),
            )
        })?;
        for (i, k) in ks.keys.iter().enumerate() {
            let sk = SigningKey::from_bytes(&k.secret.0);
            if public(&sk) != k.public {
                return Err(Error::input(
                    path,
                    0,
                    0,
                    "",
                    format!(
                        "key {i} ({:?} {}): secret does not match public",
                        k.role,
                        excerpt(&k.id)
                    ),
                ));
            }
        }
        Ok(ks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_deterministic_and_separated() {
        let c = chain_id(7);
        let a = derive(&c, 7, Role::Ev, "1");
        assert_eq!(a.to_bytes(), derive(&c, 7, Role::Ev, "1").to_bytes());
        assert_ne!(a.to_bytes(), derive(&c, 8, Role::Ev, "1").to_bytes());
        assert_ne!(a.to_bytes(), derive(&c, 7, Role::Scp, "1").to_bytes());
        assert_ne!(a.to_bytes(), derive(&c, 7, Role::Ev, "2").to_bytes());
        assert_ne!(a.to_bytes(), derive("other", 7, Role::Ev, "1").to_bytes());
    }

    #[test]
    fn keystore_round_trip() {
        let ring = Keyring::derive(3, &["a".into(), "b".into()], 4);
        let ks = ring.to_keystore();
        assert_eq!(ks.keys.len(), 2 + 4 + 2);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.json");
        ks.save(&p).unwrap();
        assert_eq!(Keystore::load(&p).unwrap(), ks);
        // A secret that does not match its public key is refused.
        let mut bad = ks.clone();
        bad.keys[0].secret = bad.keys[1].secret;
        std::fs::write(&p, bad.to_json()).unwrap();
        assert!(Keystore::load(&p).is_err());
    }

    #[test]
    fn batch_names_the_culprit() {
        let ring = Keyring::derive(1, &[], 3);
        let vks: Vec<VerifyingKey> = ring.scps.iter().map(|k| k.verifying_key()).collect();
        let msgs: Vec<Vec<u8>> = (0..1200u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut sigs: Vec<Sig> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| sign(&ring.scps[i % 3], m))
            .collect();
        let items = |sigs: &[Sig]| -> std::result::Result<(), usize> {
            let v: Vec<(&VerifyingKey, &[u8], &Sig)> = msgs
                .iter()
                .enumerate()
                .map(|(i, m)| (&vks[i % 3], m.as_slice(), &sigs[i]))
                .collect();
            verify_all(&v)
        };
        assert_eq!(items(&sigs), Ok(()));
        sigs[700].0[5] ^= 1;
        sigs[1100] = sign(&ring.scps[0], &msgs[1100]); // wrong key (1100 % 3 = 2)
        assert_eq!(items(&sigs), Err(700));
        sigs[700] = sign(&ring.scps[1], &msgs[700]);
        assert_eq!(items(&sigs), Err(1100));
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (small order) encodes as 1 followed by zeros.
        let mut id = [0u8; 32];
        id[0] = 1;
        assert!(verifying_key(&Bytes(id)).is_none());
        let ring = Keyring::derive(1, &[], 1);
        assert!(verifying_key(&public(&ring.scps[0])).is_some());
    }
}
