//! Integers, hex and the canonical byte encoding of signed messages.
//!
//! * [`to_int`]: the one rule that turns the simulation's floats into the ledger's
//!   integers (round half away from zero of `value × scale`).
//! * [`Bytes`]: fixed-size byte strings (hashes, keys, signatures) written as lowercase
//!   hex in the ledger file; upper case or any other spelling is refused, so every value
//!   has exactly one spelling.
//! * [`Enc`]: the canonical, fixed-layout binary encoding that is signed and hashed. Every
//!   message starts with its own type tag and the chain id, so no signature can be
//!   replayed in another role or on another chain. Integers are big-endian of fixed width,
//!   strings are length-prefixed; no float is ever formatted.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Micro-units per unit: money in µCNY, prices in µCNY/kWh, `x` in parts per million.
pub const MICRO: f64 = 1e6;
/// Wh per kWh.
pub const WH_PER_KWH: f64 = 1e3;

/// The ledger's rounding rule: `value × scale` rounded half away from zero (Rust's
/// `f64::round`), saturating at the `i64` range (`NaN` gives 0; the simulation's values
/// are finite and far inside the range).
pub fn to_int(value: f64, scale: f64) -> i64 {
    (value * scale).round() as i64
}

/// Money or a price in µCNY (or µCNY/kWh).
pub fn micro(value: f64) -> i64 {
    to_int(value, MICRO)
}

/// Energy in Wh from kWh.
pub fn wh(kwh: f64) -> i64 {
    to_int(kwh, WH_PER_KWH)
}

/// A fixed-size byte string, written as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes<const N: usize>(pub [u8; N]);

impl<const N: usize> Default for Bytes<N> {
    /// All zero bytes.
    fn default() -> Self {
        Bytes([0; N])
    }
}

/// A SHA-256 hash.
pub type Hash = Bytes<32>;
/// An ed25519 signature.
pub type Sig = Bytes<64>;
/// An ed25519 public key.
pub type PublicKey = Bytes<32>;

impl<const N: usize> Bytes<N> {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        let mut s = vec![0u8; 2 * N];
        hex_into(&self.0, &mut s);
        String::from_utf8(s).expect("hex digits are ASCII")
    }

    /// Parses exactly `2N` lowercase hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 2 * N {
            return None;
        }
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut out = [0u8; N];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (digit(b[2 * i])? << 4) | digit(b[2 * i + 1])?;
        }
        Some(Bytes(out))
    }
}

impl<const N: usize> std::fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl<const N: usize> std::fmt::Display for Bytes<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Writes `bytes` as lowercase hex into `out`, two digits per byte.
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, o) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        o[0] = DIGITS[(b >> 4) as usize];
        o[1] = DIGITS[(b & 15) as usize];
    }
}

impl<const N: usize> Serialize for Bytes<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The ledger's hashes, keys and signatures are written from the stack: a streamed
        // ledger serialises a few hundred thousand of them.
        let mut stack = [0u8; 128];
        if 2 * N > stack.len() {
            return s.serialize_str(&self.to_hex());
        }
        let digits = &mut stack[..2 * N];
        hex_into(&self.0, digits);
        s.serialize_str(std::str::from_utf8(digits).expect("hex digits are ASCII"))
    }
}

impl<'de, const N: usize> Deserialize<'de> for Bytes<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Bytes::from_hex(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("expected {} lowercase hex digits", 2 * N))
        })
    }
}

/// SHA-256 of bytes.
pub fn sha256(bytes: &[u8]) -> Hash {
    Bytes(Sha256::digest(bytes).into())
}

/// The canonical encoding of a signed or hashed message.
#[derive(Debug, Clone)]
pub struct Enc(Vec<u8>);

impl Enc {
    /// Starts a message of type `tag` on chain `chain_id`.
    pub fn new(tag: &str, chain_id: &str) -> Self {
        let mut e = Enc(Vec::with_capacity(192));
        e.str("v2g/1");
        e.str(tag);
        e.str(chain_id);
        e
    }

    /// A length-prefixed string.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(&(b.len() as u32).to_be_bytes());
        self.0.extend_from_slice(b);
        self
    }

    /// Fixed-size bytes (no prefix).
    pub fn fixed(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }

    /// A byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    /// A `u32`, big-endian.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `u64`, big-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// An `i64`, big-endian two's complement.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// The encoded bytes.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_rule_is_half_away_from_zero() {
        assert_eq!(micro(0.0000005), 1);
        assert_eq!(micro(-0.0000005), -1);
        assert_eq!(micro(0.66), 660_000);
        assert_eq!(micro(1.16), 1_160_000);
        assert_eq!(wh(3.75), 3750);
        assert_eq!(wh(-0.0005), -1);
        assert_eq!(wh(0.0004), 0);
    }

    #[test]
    fn hex_round_trip_and_only_lowercase() {
        let h = sha256(b"abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Hash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()), None);
        assert_eq!(Hash::from_hex(&h.to_hex()[1..]), None);
        assert_eq!(Hash::from_hex(&format!("{}0", h.to_hex())), None);
    }

    #[test]
    fn json_is_the_hex_string_for_every_size() {
        // Signatures (64 bytes) fill the stack buffer exactly; a larger array takes the
        // allocating path; both read back.
        let sig = Bytes::<64>(std::array::from_fn(|i| (i * 37 + 5) as u8));
        let big = Bytes::<65>(std::array::from_fn(|i| (255 - i) as u8));
        let h = sha256(b"abc");
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            format!("\"{}\"", h.to_hex())
        );
        assert_eq!(
            serde_json::to_string(&sig).unwrap(),
            format!("\"{}\"", sig.to_hex())
        );
        assert_eq!(
            serde_json::to_string(&big).unwrap(),
            format!("\"{}\"", big.to_hex())
        );
        assert_eq!(sig.to_hex().len(), 128);
        assert!(sig.to_hex().starts_with("052a4f"));
        let back: Bytes<64> = serde_json::from_str(&serde_json::to_string(&sig).unwrap()).unwrap();
        assert_eq!(back, sig);
        let back: Bytes<65> = serde_json::from_str(&serde_json::to_string(&big).unwrap()).unwrap();
        assert_eq!(back, big);
    }

    #[test]
    fn encoding_separates_types_and_chains() {
        let a = Enc::new("vote", "c").u64(1).finish();
        let b = Enc::new("tx", "c").u64(1).finish();
        let c = Enc::new("vote", "d").u64(1).finish();
        assert_ne!(a, b);
        assert_ne!(a, c);
        // Length prefixes: ("ab","c") and ("a","bc") differ.
        assert_ne!(
            Enc::new("t", "ab").str("c").finish(),
            Enc::new("t", "a").str("bc").finish()
        );
    }
}
