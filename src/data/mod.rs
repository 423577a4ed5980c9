//! Data in: the fleet, the grid signals, the tariff, the scenario and time slots.

pub mod fleet;
pub mod grid;
pub mod import;
pub mod scenario;
pub mod tariff;
pub mod time;

/// SHA-256 of bytes as lowercase hex: how input files and the scenario are named in
/// provenance.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
