//! The trust layer: the "blockchain" half of the paper (Section III.C, steps 1–6).
//!
//! Every simulation run (unless `--ledger off`) records each slot as one block of a hash
//! chain, with real cryptography (ed25519-dalek signatures, SHA-256 hashes):
//!
//! | step | what | module |
//! |---|---|---|
//! | 1 initialisation | wallet, SCP, oracle and EVA key pairs from the OS's randomness (or a keystore); the genesis record (`genesis.json`) lists them with every session's terms and commits to the run | [`keys`], [`block::Genesis`] |
//! | 2 information transfer | the EV signs its trade and its state entering the slot (consent) | [`tx`] |
//! | 3 data assimilation | the operator signs the slot's prices, `E_limit`, `W_service` | [`oracle`] |
//! | 4 price calculation | each SCP worker signs its sub-range's best candidate | [`consensus::Proposal`] |
//! | 5 logging and voting | each SCP signs the Merkle root of its meter readings once per block; the SCPs prevote on the header, equivocation becomes evidence committed in the header, and > 2/3 precommits make it final; the next header commits to the block's precommits and meter attestations, and a seal after the last block to the last ones | [`meter`], [`block`], [`consensus`] |
//! | 6 light clients | an EV keeps headers and checks inclusion proofs of its own trades | [`light`], [`merkle`] |
//!
//! [`rules`] holds what a block's content must be, used by the builder ([`record`]) and
//! the auditor alike; [`audit::verify`] re-checks a ledger file against a pinned genesis,
//! replaying every decision (`v2g verify`); [`store`] reads and writes the files.
//!
//! # Integers in the ledger
//!
//! Money, prices, energy and `x` are integers in the ledger so that balances add up
//! exactly and hash identically everywhere. One rule converts the simulation's floats:
//! **round half away from zero of `value × scale`** ([`units::to_int`]), with the scales
//! micro-CNY (`1e6`) for money and prices (µCNY, µCNY/kWh), Wh (`1e3`) for energy, and
//! parts per million (`1e6`) for `x`.

pub mod audit;
pub mod block;
pub mod chain;
pub mod consensus;
pub mod keys;
pub mod light;
pub mod merkle;
pub mod meter;
pub mod oracle;
pub mod record;
pub mod rules;
pub mod store;
pub mod tx;
pub mod units;

pub use audit::{verify, verify_with, AuditReport, Trust};
pub use block::{Block, Genesis, Header};
pub use chain::Ledger;
pub use record::LedgerBuilder;

/// Where a ledger check failed: the line of the file (when read from one), the block
/// height and the transaction index (when the fault is inside a block or transaction).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line of `ledger.jsonl`.
    pub line: Option<u64>,
    /// Block height (= slot index).
    pub height: Option<u64>,
    /// Index of the transaction within its block.
    pub tx: Option<usize>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(h) = self.height {
            parts.push(format!("block {h}"));
        }
        if let Some(t) = self.tx {
            parts.push(format!("tx {t}"));
        }
        if parts.is_empty() {
            parts.push("ledger".into());
        }
        f.write_str(&parts.join(", "))
    }
}

/// Why a ledger check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// The file is not a well-formed, canonical ledger.
    #[error("malformed record: {0}")]
    Format(String),
    /// A signature does not verify (forged, altered message, or the wrong key).
    #[error("bad signature by {0}")]
    Signature(String),
    /// A public key in the genesis record is not a canonically encoded point of the
    /// prime-order subgroup: not a point, weak (small order), or with a torsion component.
    #[error("weak, torsioned or invalid public key of {0}")]
    WeakKey(String),
    /// The genesis record is inconsistent.
    #[error("genesis: {0}")]
    Genesis(String),
    /// Heights must be 0, 1, 2, … in order.
    #[error("height {got} where {expected} was expected")]
    Height {
        /// Expected height.
        expected: u64,
        /// Height found.
        got: u64,
    },
    /// The ledger does not have one block per slot of the horizon (truncated or extended).
    #[error("the ledger has {got} blocks, its genesis says {expected} slots")]
    Length {
        /// Slots in the genesis record.
        expected: u64,
        /// Blocks in the ledger.
        got: u64,
    },
    /// The header's previous-hash link does not match the previous header.
    #[error("broken hash link: prev_hash does not match the previous header")]
    HashLink,
    /// The header's Merkle root does not match its transactions.
    #[error("Merkle root does not match the block's transactions")]
    MerkleRoot,
    /// The header's transaction count does not match the body.
    #[error("header says {header} transactions, body has {body}")]
    TxCount {
        /// Count in the header.
        header: u64,
        /// Count in the body.
        body: u64,
    },
    /// The header's oracle hash does not match the oracle message.
    #[error("oracle message does not match the header's oracle hash")]
    OracleHash,
    /// The oracle message is for another slot.
    #[error("oracle message is for slot {got}, block is {expected}")]
    OracleSlot {
        /// The block's slot.
        expected: u64,
        /// The message's slot.
        got: u64,
    },
    /// The header's proposals hash does not match the proposals in the body.
    #[error("proposals do not match the header's proposals hash")]
    ProposalsHash,
    /// The header's price is not what the accepted proposals support.
    #[error("price decision: {0}")]
    Decision(String),
    /// Fewer than more-than-two-thirds of the SCPs signed the header.
    #[error("too few votes: {votes} of {validators} SCPs (need more than two thirds)")]
    Quorum {
        /// Valid distinct votes.
        votes: u64,
        /// Number of SCPs.
        validators: u64,
    },
    /// An SCP voted twice at one height.
    #[error("equivocation: SCP {0} voted twice at this height")]
    Equivocation(u32),
    /// A vote or proposal names an SCP that does not exist.
    #[error("unknown SCP {0}")]
    UnknownScp(u32),
    /// A transaction names a wallet that does not exist.
    #[error("unknown EV wallet {0}")]
    UnknownEv(u32),
    /// A transaction belongs to another slot (replayed into this block).
    #[error("transaction of slot {got} in block {expected} (replay)")]
    TxSlot {
        /// The block's slot.
        expected: u64,
        /// The transaction's slot.
        got: u64,
    },
    /// A wallet's nonce is not exactly one more than its last (replay or gap).
    #[error("EV {ev}: nonce {got}, expected {expected} (replay or missing transaction)")]
    Nonce {
        /// The wallet.
        ev: u32,
        /// Expected nonce.
        expected: u64,
        /// Nonce found.
        got: u64,
    },
    /// A wallet's balance after the transaction does not add up.
    #[error("EV {ev}: balance {got} µCNY, expected {expected}")]
    Balance {
        /// The wallet.
        ev: u32,
        /// Expected balance.
        expected: i64,
        /// Balance found.
        got: i64,
    },
    /// The SCP's meter reading disagrees with the EV's signed energy.
    #[error("SCP meter reads {meter_wh} Wh, the EV signed {ev_wh} Wh")]
    Meter {
        /// EV-signed energy.
        ev_wh: i64,
        /// Meter reading.
        meter_wh: i64,
    },
    /// An SCP's meter attestation is missing, out of place or not of its readings.
    #[error("meter attestation: {0}")]
    Meters(String),
    /// The transaction's price, energy and amount do not fit together or with the
    /// oracle's prices and the block's `p_d*`.
    #[error("inconsistent transaction: {0}")]
    Terms(String),
    /// An equivocation evidence record does not prove anything.
    #[error("invalid evidence: {0}")]
    Evidence(String),
    /// A Merkle inclusion proof does not lead to the header's root.
    #[error("inclusion proof does not verify")]
    Inclusion,
    /// A sum of money leaves the ledger's integer range (`i64` µCNY, about ±9.2 × 10¹²
    /// CNY): the run cannot be recorded, and a ledger that holds such a sum is refused.
    #[error("out of the ledger's integer range: {0}")]
    Overflow(String),
    /// A header's `last_commit` is not the previous block's votes and meter attestations
    /// as recorded, or the votes are out of order: a signature of a committed block was
    /// deleted, reordered or exchanged.
    #[error("commit: {0}")]
    LastCommit(String),
    /// The seal (the ledger's last record) is missing or does not seal the last block.
    #[error("seal: {0}")]
    Seal(String),
    /// Replaying the run from the genesis and the oracle's data gives another decision
    /// than the one recorded (step 7 of [`audit`]).
    #[error("replay: {0}")]
    Replay(String),
}

/// A ledger check failed: where (when the fault has a line, block or transaction) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ledger check failed{}: {fault}", at(location))]
pub struct LedgerError {
    /// Where.
    pub location: Location,
    /// Why.
    pub fault: Fault,
}

/// " at LOCATION", or nothing for a fault of the whole file (the genesis, its format).
fn at(location: &Location) -> String {
    if *location == Location::default() {
        String::new()
    } else {
        format!(" at {location}")
    }
}

impl LedgerError {
    /// A fault at a block (and optionally a transaction).
    pub fn at(height: u64, tx: Option<usize>, fault: Fault) -> Self {
        LedgerError {
            location: Location {
                line: None,
                height: Some(height),
                tx,
            },
            fault,
        }
    }

    /// A fault without a block (genesis, file level).
    pub fn global(fault: Fault) -> Self {
        LedgerError {
            location: Location::default(),
            fault,
        }
    }

    /// The same error with the file's line number attached.
    pub fn on_line(mut self, line: u64) -> Self {
        self.location.line = Some(line);
        self
    }
}
