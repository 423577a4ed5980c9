//! Identities (step 1): every EV has a wallet key pair, every SCP a node key pair, the grid
//! operator an oracle key pair and the EVA a key pair.
//!
//! Keys come from the operating system's randomness ([`fresh_key`]) and live only as long
//! as the run, unless a [`Keystore`] file is given: then its keys are used, and a missing
//! keystore is created with fresh keys (readable by its owner only). Nothing secret is
//! derived from public data, so holding a ledger and its genesis gives no key.
//!
//! Every signature is checked with `verify_strict` ([`verify_one`], in parallel by
//! [`verify_all`]): one rule, no weak keys, no malleable or small-order signatures, and a
//! verdict that never depends on which other signatures are checked with it.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{excerpt, json_message, Error, Result};
use crate::ledger::units::{Bytes, PublicKey, Sig};

/// Which kind of entity a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// A fresh signing key from the operating system's randomness.
pub fn fresh_key() -> Result<SigningKey> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| {
        Error::io(
            "<operating system randomness>",
            std::io::Error::other(e.to_string()),
        )
    })?;
    Ok(SigningKey::from_bytes(&secret))
}

/// Signs a message.
pub fn sign(key: &SigningKey, msg: &[u8]) -> Sig {
    Bytes(key.sign(msg).to_bytes())
}

/// The public half of a key, as stored in the ledger.
pub fn public(key: &SigningKey) -> PublicKey {
    Bytes(key.verifying_key().to_bytes())
}

/// The genesis rule that every wallet, SCP, the oracle and the EVA hold their own key:
/// the first two parties (in the order given) that share a public key, or `None` when
/// all differ. The sessions of one EV are one wallet: list its key once.
pub fn shared_key<'a, P: Copy>(
    keys: impl IntoIterator<Item = (P, &'a [u8; 32])>,
) -> Option<(P, P)> {
    let mut all: Vec<(&[u8; 32], usize, P)> = keys
        .into_iter()
        .enumerate()
        .map(|(i, (p, k))| (k, i, p))
        .collect();
    all.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    all.windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .min_by_key(|w| w[1].1)
        .map(|w| (w[0].2, w[1].2))
}

/// What [`shared_key`] found, in words: the two parties (`(role, index)`: an EV by its
/// session's id, `ev_id(index)`, an SCP by its worker index) and the rule.
pub fn shared_key_message<'a>(
    (a, b): ((Role, usize), (Role, usize)),
    ev_id: impl Fn(usize) -> &'a str,
) -> String {
    let name = |(role, i): (Role, usize)| match role {
        Role::Ev => format!("EV {}", excerpt(ev_id(i))),
        Role::Scp => format!("SCP {i}"),
        Role::Oracle => "the oracle".to_string(),
        Role::Eva => "the EVA".to_string(),
    };
    format!(
        "{} and {} share a key: every wallet, SCP, the oracle and the EVA need their own",
        name(a),
        name(b)
    )
}

/// The parties the genesis lists, each with its key, for [`shared_key`]: every wallet
/// once (by its first session: `wallet` maps each session to it), every SCP, the oracle
/// and the EVA, as `(role, index)`, the index a session's, an SCP's or 0. The keyring
/// (public keys of its signing keys) and the auditor (the genesis's keys) both list them
/// here, so both apply one rule.
pub fn parties<'a, K: 'a>(
    wallet: &'a [usize],
    evs: impl IntoIterator<Item = K> + 'a,
    scps: impl IntoIterator<Item = K> + 'a,
    oracle: K,
    eva: K,
) -> impl Iterator<Item = ((Role, usize), K)> + 'a {
    let evs = evs
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| wallet[i] == i)
        .map(|(i, k)| ((Role::Ev, i), k));
    let scps = scps
        .into_iter()
        .enumerate()
        .map(|(j, k)| ((Role::Scp, j), k));
    evs.chain(scps)
        .chain([((Role::Oracle, 0), oracle), ((Role::Eva, 0), eva)])
}

/// Parses a stored public key, accepting only a point of the prime-order subgroup in its
/// canonical encoding: a non-point, a non-canonical encoding (another spelling of a
/// point, which byte comparison would take for another key), a weak (small-order) key and
/// a key with a torsion component (another party's key plus a small-order point, which one
/// secret could sign for) are refused. So two accepted keys are the same point exactly
/// when their bytes are equal, which is what "distinct" means for [`shared_key`].
pub fn verifying_key(pk: &PublicKey) -> Option<VerifyingKey> {
    let vk = VerifyingKey::from_bytes(&pk.0).ok()?;
    let point = vk.to_edwards();
    let ok = !vk.is_weak() && point.is_torsion_free() && point.compress().to_bytes() == pk.0;
    ok.then_some(vk)
}

/// One strict check (`verify_strict`: rejects weak keys and malleable signatures).
pub fn verify_one(key: &VerifyingKey, msg: &[u8], sig: &Sig) -> bool {
    key.verify_strict(msg, &Signature::from_bytes(&sig.0))
        .is_ok()
}

/// Checks many signatures with [`verify_one`] (strict), in parallel. Returns the index of
/// the first bad signature, if any.
pub fn verify_all(items: &[(&VerifyingKey, &[u8], &Sig)]) -> std::result::Result<(), usize> {
    match items
        .par_iter()
        .position_first(|(k, m, s)| !verify_one(k, m, s))
    {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

fn wallet_of(ev_ids: &[String]) -> Vec<usize> {
    crate::data::fleet::wallet_index(ev_ids.iter().map(String::as_str))
}

/// One key per session, given each session's wallet: an EV's first session `i` takes
/// `first(i)`, its later sessions share that key.
fn per_session(
    wallet: &[usize],
    mut first: impl FnMut(usize) -> Result<SigningKey>,
) -> Result<Vec<SigningKey>> {
    let mut evs: Vec<SigningKey> = Vec::with_capacity(wallet.len());
    for (i, &w) in wallet.iter().enumerate() {
        let key = if w == i { first(i)? } else { evs[w].clone() };
        evs.push(key);
    }
    Ok(evs)
}

/// All key pairs of a run: EV wallets in fleet order, SCPs in worker order, the oracle
/// and the EVA.
#[derive(Debug, Clone)]
pub struct Keyring {
    /// EV ids, one per session in fleet order (an EV that plugs in twice is listed twice).
    pub ev_ids: Vec<String>,
    /// Wallet keys, one per session in fleet order: the sessions of one EV share its key.
    pub evs: Vec<SigningKey>,
    /// SCP keys, in worker order.
    pub scps: Vec<SigningKey>,
    /// The grid operator's oracle key.
    pub oracle: SigningKey,
    /// The EVA's key.
    pub eva: SigningKey,
}

impl Keyring {
    /// Fresh keys for every EV of `ev_ids` (one per session; one key per distinct id),
    /// `n_scps` SCPs, the oracle and the EVA.
    pub fn generate(ev_ids: &[String], n_scps: usize) -> Result<Self> {
        let wallet = wallet_of(ev_ids);
        let distinct = crate::data::fleet::wallet_count(&wallet);
        // Each key's public half is a scalar multiplication: in parallel.
        let mut fresh = (0..distinct)
            .into_par_iter()
            .map(|_| fresh_key())
            .collect::<Result<Vec<_>>>()?
            .into_iter();
        Ok(Keyring {
            ev_ids: ev_ids.to_vec(),
            evs: per_session(&wallet, |_| {
                Ok(fresh.next().expect("one fresh key per distinct EV"))
            })?,
            scps: (0..n_scps).map(|_| fresh_key()).collect::<Result<_>>()?,
            oracle: fresh_key()?,
            eva: fresh_key()?,
        })
    }

    /// The keys of a keystore for exactly these EVs and this many SCPs; `path` names the
    /// keystore in errors. Refuses a keystore that lacks a key the run needs or holds one
    /// it does not.
    pub fn from_keystore(
        ks: &Keystore,
        ev_ids: &[String],
        n_scps: usize,
        path: &Path,
    ) -> Result<Self> {
        let wrong = |what: String| {
            Error::input(
                path,
                0,
                0,
                "",
                format!("{what}: the keystore does not fit this run (a fleet of {} EVs and {n_scps} SCPs)", ev_ids.len()),
            )
        };
        let mut by: std::collections::HashMap<(Role, String), SigningKey> =
            std::collections::HashMap::new();
        for k in &ks.keys {
            if by
                .insert((k.role, k.id.clone()), SigningKey::from_bytes(&k.secret.0))
                .is_some()
            {
                return Err(wrong(format!(
                    "two keys for {:?} {}",
                    k.role,
                    excerpt(&k.id)
                )));
            }
        }
        let mut take = |role: Role, id: &str| {
            by.remove(&(role, id.to_string()))
                .ok_or_else(|| wrong(format!("no key for {role:?} {}", excerpt(id))))
        };
        let evs = per_session(&wallet_of(ev_ids), |i| take(Role::Ev, &ev_ids[i]))?;
        let scps = (0..n_scps)
            .map(|j| take(Role::Scp, &j.to_string()))
            .collect::<Result<Vec<_>>>()?;
        let oracle = take(Role::Oracle, "operator")?;
        let eva = take(Role::Eva, "eva")?;
        if let Some(((role, id), _)) = by.iter().next() {
            return Err(wrong(format!("an extra key for {role:?} {}", excerpt(id))));
        }
        let ring = Keyring {
            ev_ids: ev_ids.to_vec(),
            evs,
            scps,
            oracle,
            eva,
        };
        ring.check_distinct()
            .map_err(|why| Error::input(path, 0, 0, "", why))?;
        Ok(ring)
    }

    /// Refuses a keyring in which two parties share a key ([`shared_key`]), naming them.
    pub fn check_distinct(&self) -> std::result::Result<(), String> {
        let wallet = wallet_of(&self.ev_ids);
        let public = |k: &SigningKey| k.verifying_key().to_bytes();
        let keys: Vec<((Role, usize), [u8; 32])> = parties(
            &wallet,
            self.evs.iter().map(public),
            self.scps.iter().map(public),
            public(&self.oracle),
            public(&self.eva),
        )
        .collect();
        match shared_key(keys.iter().map(|(p, k)| (*p, k))) {
            None => Ok(()),
            Some(pair) => Err(shared_key_message(pair, |i| &self.ev_ids[i])),
        }
    }

    /// The keys of the keystore at `path` when it exists, else fresh keys saved there
    /// (`rw-------`): the `--keystore FILE` rule.
    pub fn load_or_create(path: &Path, ev_ids: &[String], n_scps: usize) -> Result<Self> {
        if path.exists() {
            let ks = Keystore::load(path)?;
            Keyring::from_keystore(&ks, ev_ids, n_scps, path)
        } else {
            let ring = Keyring::generate(ev_ids, n_scps)?;
            ring.to_keystore().save(path)?;
            Ok(ring)
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
        let wallet = wallet_of(&self.ev_ids);
        let mut keys: Vec<KeyEntry> = self
            .ev_ids
            .iter()
            .zip(&self.evs)
            .enumerate()
            .filter(|&(i, _)| wallet[i] == i)
            .map(|(_, (id, k))| entry(Role::Ev, id.clone(), k))
            .collect();
        keys.extend(
            self.scps
                .iter()
                .enumerate()
                .map(|(j, k)| entry(Role::Scp, j.to_string(), k)),
        );
        keys.push(entry(Role::Oracle, "operator".into(), &self.oracle));
        keys.push(entry(Role::Eva, "eva".into(), &self.eva));
        Keystore { keys }
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

/// A keystore file: every key of a run, as JSON. Secret: written `rw-------`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keystore {
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
    fn shared_key_names_the_first_two_parties_that_share_one() {
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        assert_eq!(shared_key([('x', &a), ('y', &b), ('z', &c)]), None);
        assert_eq!(shared_key::<char>([]), None);
        assert_eq!(
            shared_key([('x', &b), ('y', &a), ('z', &b)]),
            Some(('x', 'z'))
        );
        // The pair whose second party comes first, whatever the keys' order.
        let keys = [('p', &c), ('q', &a), ('r', &c), ('s', &a)];
        assert_eq!(shared_key(keys), Some(('p', 'r')));
        let keys = [('p', &c), ('q', &a), ('r', &a), ('s', &c)];
        assert_eq!(shared_key(keys), Some(('q', 'r')));
        let ids = ["car".to_string()];
        let m = shared_key_message(((Role::Ev, 0), (Role::Scp, 2)), |i| &ids[i]);
        assert!(m.starts_with(r#"EV "car" and SCP 2 share a key"#), "{m}");
        let m = shared_key_message(((Role::Oracle, 0), (Role::Eva, 0)), |i| &ids[i]);
        assert!(m.starts_with("the oracle and the EVA share a key"), "{m}");
    }

    #[test]
    fn a_keyring_in_which_two_parties_share_a_key_is_refused() {
        // EV "a" plugs in twice: its sessions share one wallet key, as they must.
        let ids: Vec<String> = ["a", "b", "a"].map(String::from).to_vec();
        let ring = Keyring::generate(&ids, 3).unwrap();
        ring.check_distinct().unwrap();
        let ks = ring.to_keystore();
        let path = Path::new("ks.json");
        Keyring::from_keystore(&ks, &ids, 3, path).unwrap();
        let shared = |edit: &dyn Fn(&mut Keyring), want: &str| {
            let mut r = ring.clone();
            edit(&mut r);
            let e = r.check_distinct().unwrap_err();
            assert!(e.starts_with(want), "{e}");
            // Read from a keystore, the same rule, naming the file.
            let e = Keyring::from_keystore(&r.to_keystore(), &ids, 3, path)
                .unwrap_err()
                .to_string();
            assert!(e.contains("ks.json") && e.contains(want), "{e}");
        };
        shared(
            &|r| r.evs[1] = r.evs[0].clone(),
            r#"EV "a" and EV "b" share a key"#,
        );
        shared(
            &|r| r.scps[2] = r.evs[1].clone(),
            r#"EV "b" and SCP 2 share a key"#,
        );
        shared(
            &|r| r.scps[0] = r.scps[1].clone(),
            "SCP 0 and SCP 1 share a key",
        );
        shared(
            &|r| r.oracle = r.scps[1].clone(),
            "SCP 1 and the oracle share a key",
        );
        shared(
            &|r| r.eva = r.evs[0].clone(),
            r#"EV "a" and the EVA share a key"#,
        );
    }

    #[test]
    fn fresh_keys_differ() {
        let a = fresh_key().unwrap();
        let b = fresh_key().unwrap();
        assert_ne!(a.to_bytes(), b.to_bytes());
        let ring = Keyring::generate(&["a".into(), "b".into()], 3).unwrap();
        let mut all: Vec<[u8; 32]> = ring
            .evs
            .iter()
            .chain(&ring.scps)
            .map(|k| k.to_bytes())
            .collect();
        all.push(ring.oracle.to_bytes());
        all.push(ring.eva.to_bytes());
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn an_evs_sessions_share_one_key_and_one_keystore_entry() {
        let ids: Vec<String> = ["car", "van", "car", "bus", "car"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let ring = Keyring::generate(&ids, 2).unwrap();
        let b = |i: usize| ring.evs[i].to_bytes();
        assert!(b(0) == b(2) && b(0) == b(4));
        assert!(b(0) != b(1) && b(0) != b(3) && b(1) != b(3));
        let ks = ring.to_keystore();
        let evs: Vec<&str> = ks
            .keys
            .iter()
            .filter(|k| k.role == Role::Ev)
            .map(|k| k.id.as_str())
            .collect();
        assert_eq!(evs, ["car", "van", "bus"]);
        let back = Keyring::from_keystore(&ks, &ids, 2, Path::new("k.json")).unwrap();
        let all = |r: &Keyring| r.evs.iter().map(|k| k.to_bytes()).collect::<Vec<_>>();
        assert_eq!(all(&back), all(&ring));
        // A keystore of distinct EVs does not fit a fleet that names one EV twice.
        let other: Vec<String> = ["car", "van", "bus", "car"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(Keyring::from_keystore(&ks, &other, 2, Path::new("k.json")).is_ok());
        let fewer: Vec<String> = ["car", "van"].iter().map(|s| s.to_string()).collect();
        let e = Keyring::from_keystore(&ks, &fewer, 2, Path::new("k.json")).unwrap_err();
        assert!(e.to_string().contains("an extra key"), "{e}");
    }

    #[test]
    fn keystore_round_trip_and_fit() {
        let ids: Vec<String> = vec!["a".into(), "b".into()];
        let ring = Keyring::generate(&ids, 4).unwrap();
        let ks = ring.to_keystore();
        assert_eq!(ks.keys.len(), 2 + 4 + 2);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.json");
        ks.save(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(Keystore::load(&p).unwrap(), ks);
        let back = Keyring::load_or_create(&p, &ids, 4).unwrap();
        assert_eq!(back.eva.to_bytes(), ring.eva.to_bytes());
        assert_eq!(back.evs[1].to_bytes(), ring.evs[1].to_bytes());
        // A keystore for other EVs or another number of SCPs does not fit.
        assert!(Keyring::from_keystore(&ks, &["a".into()], 4, &p).is_err());
        assert!(Keyring::from_keystore(&ks, &ids, 3, &p).is_err());
        assert!(Keyring::from_keystore(&ks, &["a".into(), "c".into()], 4, &p).is_err());
        // A missing keystore is created with fresh keys.
        let q = dir.path().join("new.json");
        let made = Keyring::load_or_create(&q, &ids, 2).unwrap();
        assert_eq!(
            Keystore::load(&q).unwrap().keys.len(),
            made.to_keystore().keys.len()
        );
        // A secret that does not match its public key is refused.
        let mut bad = ks.clone();
        bad.keys[0].secret = bad.keys[1].secret;
        bad.save(&p).unwrap();
        assert!(Keystore::load(&p).is_err());
    }

    #[test]
    fn one_strict_rule_whatever_the_batch() {
        let k = fresh_key().unwrap();
        let vk = k.verifying_key();
        let good = sign(&k, b"m");
        let mut bad = good;
        bad.0[0] ^= 1;
        assert!(verify_one(&vk, b"m", &good));
        assert!(!verify_one(&vk, b"m", &bad));
        let items = [
            (&vk, &b"m"[..], &good),
            (&vk, &b"m"[..], &bad),
            (&vk, &b"m"[..], &good),
        ];
        assert_eq!(verify_all(&items), Err(1));
        assert_eq!(verify_all(&items[..1]), Ok(()));
        assert_eq!(verify_all(&items[1..2]), Err(0));
    }
}
