//! The audit behind `v2g verify LEDGER [--genesis FILE | --genesis-hash HEX]`:
//! re-checks everything in a ledger against its genesis and reports either counts or the
//! first failure with its location (line, block height, transaction index) and reason.
//!
//! 0. The genesis: protocol, derived chain id, the committed scenario
//!    (its digest, every range), the sessions (a valid fleet), the constants, one distinct
//!    strong key per party, the EVA's signature; when pinned, its hash.
//!
//! Then, in this order per block (so the first failure is the earliest one):
//!
//! 1. height, the previous-header hash link (block 0 links to the genesis hash) and the
//!    previous block's commit (its precommits and meter attestations, hashed:
//!    [`commit_hash`]), and one block per slot of the genesis record's horizon (a
//!    truncated ledger is refused);
//! 2. the oracle message: its slot, the operator's signature, the header's oracle hash;
//! 3. the proposals: known workers, signatures, the header's proposals root, and the
//!    decision ([`crate::ledger::rules::check_decision`], the builder's check too):
//!    contiguous sub-ranges from 0, each accepted claim inside its sub-range, `p_d*` in the
//!    proposer's sub-range and its accepted claim (or, its claim refuted, not that claim),
//!    no accepted claim of higher revenue, and `p_d*` within the oracle's range;
//! 4. each transaction: known wallet and SCP, its slot (a transaction replayed from
//!    another slot is refused), the EV's signature, then the ledger's rules
//!    ([`crate::ledger::rules::check_tx`], the check the validators make before voting):
//!    the EV's SCP is `ev mod n`, the nonce is exactly one more than the wallet's last,
//!    the balance is the previous one − amount, the SCP's meter reads the EV's signed
//!    energy, and the terms fit the oracle's prices, `p_d*` and `p_delay`;
//! 5. the transaction count and the RFC 6962 Merkle root; every SCP's meter attestation
//!    (one each, in SCP order, signed, and exactly the count and Merkle root of its
//!    readings in this block: [`crate::ledger::meter`]);
//! 6. the precommit votes: known SCPs, one vote each (a second is equivocation) in SCP
//!    order, signatures ([`VoteKind::Precommit`]), and more than two thirds of the SCPs;
//!    equivocation evidence must prove two signed prevotes ([`VoteKind::Prevote`]) at
//!    this height of this chain, the first for this block's header, the second for
//!    another; its SCP must not be among the counted votes, and it must be what the
//!    header's evidence root commits.
//!
//! Every signature is checked with `verify_strict`, in parallel. A light client
//! ([`crate::ledger::light`]) then follows the header chain and every EV's transactions
//! are checked by inclusion proof against it. Finally:
//!
//! 7. the run is replayed from the genesis (sessions, scenario) and the operator's signed
//!    exact prices and tasks with the simulation's own code, and every block is compared
//!    with what the ledger's rules ([`crate::ledger::rules`]) give: the oracle's integers,
//!    every worker's sub-range and verdict, `p_d*`, `R` and the proposer (the scheme's
//!    search, grid or exact as committed), exactly one transaction per session plugged
//!    for the whole slot, each the EV's best response at `p_d*` from its replayed state,
//!    the EVA's and the operator's accounts (wallets, EVA and operator sum to zero), and
//!    exactly the byzantine SCPs accused of equivocation. The replay also fixes what the
//!    signatures say: each oracle message (from the committed tariff when the run had
//!    no grid file, from the grid file in [`Trust::grid`] when given), each proposal's
//!    claim (a byzantine SCP's by [`false_claim`]), the precommits by exactly the SCPs
//!    that did not equivocate ([`honest_voters`]) and each evidence's second header
//!    ([`equivocation_header`]).
//! 8. the seal, the last line: on the last header and its commit, by
//!    exactly the SCPs that did not equivocate ([`VoteKind::Seal`]), and nothing after
//!    it.
//!
//! Reading is bounded by the genesis ([`store::Limits`]): a ledger longer in bytes than
//! its genesis allows is refused unread, a line past the seal where it starts, a line
//! longer than its block can need after reading that much.

use ed25519_dalek::VerifyingKey;

use crate::data::fleet::{wallet_index, Fleet};
use crate::data::grid::{GridRow, GridSignals};
use crate::error::excerpt;
use crate::ledger::block::{Block, Genesis, PROTOCOL};
use crate::ledger::chain::Ledger;
use crate::ledger::consensus::{
    byzantine_set, commit_hash, evidence_root, proposals_root, vote_bytes, Seal, VoteKind,
};
use crate::ledger::keys::{
    parties, shared_key, shared_key_message, verify_all, verify_one, verifying_key,
};
use crate::ledger::light::LightClient;
use crate::ledger::merkle::{self, Tree};
use crate::ledger::meter::readings;
use crate::ledger::oracle::OracleMsg;
use crate::ledger::rules::{
    accounts_overflow, check_decision, check_tx, claim_of, equivocation_header, false_claim,
    honest_voters, slot_accounts, unsigned, unsigned_txs, TxContext,
};
use crate::ledger::store;
use crate::ledger::units::{micro, wh, Hash, Sig};
use crate::ledger::{Fault, LedgerError};
use crate::sim::Run;

/// What a successful audit checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditReport {
    /// The genesis hash the chain starts from.
    pub genesis: Hash,
    /// Whether that genesis was pinned by the auditor (`--genesis` or `--genesis-hash`):
    /// without a pin, the audit proves only that the files are consistent with
    /// themselves, not that they are the run the auditor trusts.
    pub pinned: bool,
    /// Blocks.
    pub blocks: u64,
    /// Transactions.
    pub transactions: u64,
    /// Signatures verified (genesis, oracle, proposals, transactions, votes, evidence).
    pub signatures: u64,
    /// Counted votes.
    pub votes: u64,
    /// Proposals the validators marked false.
    pub faulty_proposals: u64,
    /// Equivocation evidence records.
    pub evidence: u64,
    /// EV wallets in the genesis record: one per EV, however many sessions it has.
    pub wallets: u64,
    /// EVs whose light client checked at least one transaction.
    pub light_clients: u64,
    /// Inclusion proofs verified.
    pub inclusion_proofs: u64,
    /// Sum of all wallet balances at the end, in millionths of the currency (µCNY).
    pub total_balance: i64,
    /// The EVA's account at the end, µCNY (millionths of the currency; replayed).
    pub eva_balance: i64,
    /// The grid operator's account at the end, µCNY (replayed): wallets, EVA and
    /// operator sum to zero.
    pub operator_balance: i64,
    /// What the oracle's messages were replayed from.
    pub oracle: OracleData,
    /// The committed scenario's currency (docs/model.md §2.3), in which the balances are
    /// counted (in millionths).
    pub currency: String,
}

/// What the auditor replayed the oracle's messages (step 3) from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OracleData {
    /// The run had no grid file: every message must carry the committed tariff's `p_rt`
    /// and `E_limit = 0`, which the genesis alone determines.
    #[default]
    Tariff,
    /// The run's grid file (`--grid`, its SHA-256 the committed one): every message must
    /// carry its values.
    GridFile,
    /// The run had a grid file the auditor did not give: the messages are the operator's
    /// word (signed, committed in the headers, replayed, but not compared with the file).
    Signed,
}

impl std::fmt::Display for AuditReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cur = &self.currency;
        write!(
            f,
            "OK: {} blocks, {} transactions, {} signatures ({} votes), {} wallets, \
             {} light clients with {} inclusion proofs, {} false proposals and {} \
             equivocations on record; every decision replayed; wallets {} µ{cur}, EVA {} µ{cur}, \
             operator {} µ{cur} (sum 0); oracle data {}; ",
            self.blocks,
            self.transactions,
            self.signatures,
            self.votes,
            self.wallets,
            self.light_clients,
            self.inclusion_proofs,
            self.faulty_proposals,
            self.evidence,
            self.total_balance,
            self.eva_balance,
            self.operator_balance,
            match self.oracle {
                OracleData::Tariff => "checked against the committed tariff (no grid file)",
                OracleData::GridFile => "checked against the committed grid file",
                OracleData::Signed => {
                    "taken as the operator signed it (give the run's grid file with --grid to \
                     check it)"
                }
            }
        )?;
        if self.pinned {
            write!(f, "genesis {} pinned", self.genesis)
        } else {
            write!(
                f,
                "integrity only: the genesis ({}) was not pinned, so this does not show the \
                 ledger is the run you trust (give --genesis FILE or --genesis-hash HEX)",
                self.genesis
            )
        }
    }
}

/// What the auditor holds besides the ledger: the genesis it trusts, and the grid file
/// the genesis commits to, when it has one.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// The genesis hash the ledger must start from (`--genesis` or `--genesis-hash`);
    /// `None` checks the files' integrity only.
    pub pin: Option<Hash>,
    /// The run's grid signals (`--grid FILE`), read from a file whose SHA-256 the caller
    /// compared with the genesis's commitment ([`grid_of`]). With it every oracle message
    /// is replayed from the file; without it, a run with a grid file is replayed from the
    /// oracle's signed data (a run without one always from the committed tariff).
    pub grid: Option<GridSignals>,
}

/// Verifies a ledger file's bytes against its genesis record's bytes (`genesis.json`).
/// With `pin`, the genesis must have exactly that hash; without, the audit checks the
/// files' integrity only ([`AuditReport::pinned`] is false).
pub fn verify(
    ledger: &[u8],
    genesis: &[u8],
    pin: Option<&Hash>,
) -> Result<AuditReport, LedgerError> {
    let trust = Trust {
        pin: pin.copied(),
        grid: None,
    };
    verify_with(ledger, genesis, &trust)
}

/// [`verify`] with everything the auditor trusts ([`Trust`]).
pub fn verify_with(
    ledger: &[u8],
    genesis: &[u8],
    trust: &Trust,
) -> Result<AuditReport, LedgerError> {
    let g = store::parse_genesis(genesis)?;
    let len = ledger.len() as u64;
    verify_stream(|| Ok(std::io::Cursor::new(ledger)), len, &g, trust)
}

/// The grid signals of `bytes` (the file at `path`), if their SHA-256 is the one
/// `genesis` commits to: what [`Trust::grid`] takes. Refuses a file of another hash, or
/// any grid file for a run that had none.
pub fn grid_of(
    genesis: &Genesis,
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<GridSignals, crate::error::Error> {
    let wrong = |why: String| crate::error::Error::param("--grid", why);
    let sha = crate::data::sha256_hex(bytes);
    match &genesis.commitment.grid_sha256 {
        None => Err(wrong(
            "the genesis commits to a run without a grid file".into(),
        )),
        Some(want) if *want != sha => Err(wrong(format!(
            "{} has SHA-256 {sha}, the genesis commits to {want}",
            path.display()
        ))),
        Some(_) => GridSignals::from_reader(bytes, path),
    }
}

/// Where the auditor finds the files of `v2g verify`.
#[derive(Debug, Clone)]
pub struct Files {
    /// `ledger.jsonl`.
    pub ledger: std::path::PathBuf,
    /// The genesis: the trusted copy (`--genesis FILE`), or the `genesis.json` beside the
    /// ledger.
    pub genesis: std::path::PathBuf,
    /// Whether [`Files::genesis`] is the trusted copy, which pins its own hash.
    pub genesis_pinned: bool,
    /// The trusted genesis hash (`--genesis-hash`).
    pub pin: Option<Hash>,
    /// The run's grid file (`--grid`).
    pub grid: Option<std::path::PathBuf>,
}

/// `v2g verify`: reads the files of `files`, each a regular file of bounded size
/// ([`store::read_regular`], [`store::open_regular`]), and verifies the ledger as a
/// stream. Errors that concern a file name it; a failed check is
/// [`crate::error::Error::Ledger`].
pub fn verify_files(files: &Files) -> Result<AuditReport, crate::error::Error> {
    use crate::error::Error;
    let in_ledger = |source| Error::LedgerFile {
        path: files.ledger.clone(),
        source,
    };
    // The ledger first: a missing or unreadable ledger is named as such.
    let (_, len) = store::open_regular(&files.ledger)
        .map_err(|e| file_error(&files.ledger, e, Role::Ledger))?;
    let role = if files.genesis_pinned {
        Role::GenesisGiven
    } else {
        Role::GenesisBeside
    };
    let gbytes = store::read_regular(&files.genesis, store::GENESIS_MAX_BYTES)
        .map_err(|e| file_error(&files.genesis, e, role))?;
    let g = store::parse_genesis(&gbytes).map_err(|source| Error::LedgerFile {
        path: files.genesis.clone(),
        source,
    })?;
    drop(gbytes);
    let pin = match (files.pin, files.genesis_pinned) {
        (Some(h), _) => Some(h),
        (None, true) => Some(g.hash()),
        (None, false) => None,
    };
    let grid = match &files.grid {
        None => None,
        Some(path) => {
            let bytes = store::read_regular(path, GRID_MAX_BYTES)
                .map_err(|e| file_error(path, e, Role::Grid))?;
            Some(grid_of(&g, path, &bytes)?)
        }
    };
    let path = files.ledger.as_path();
    let open =
        || store::open_regular(path).map(|(f, _)| std::io::BufReader::with_capacity(1 << 20, f));
    verify_stream(open, len, &g, &Trust { pin, grid }).map_err(in_ledger)
}

/// Which of `verify`'s files a path was meant to be.
#[derive(Debug, Clone, Copy)]
enum Role {
    Ledger,
    GenesisBeside,
    GenesisGiven,
    Grid,
}

/// A file of `verify` that cannot be read, said in words: what is wrong with the path and
/// which file it was meant to be (`no such file`, `is a directory, not a ledger file`).
/// The error keeps its kind (a missing file is `NotFound`).
fn file_error(path: &std::path::Path, e: std::io::Error, role: Role) -> crate::error::Error {
    use std::io::ErrorKind;
    let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
    let text = match (e.kind(), role) {
        (ErrorKind::NotFound, Role::Ledger) => {
            "no such file: the ledger to verify (a run's ledger.jsonl)".to_string()
        }
        (ErrorKind::NotFound, Role::GenesisBeside) => {
            "no such file: the genesis beside the ledger (a run with the ledger on writes \
             it beside ledger.jsonl; give a copy you kept with --genesis FILE)"
                .to_string()
        }
        (ErrorKind::NotFound, Role::GenesisGiven) => {
            "no such file: the trusted genesis given to verify against".to_string()
        }
        (ErrorKind::NotFound, Role::Grid) => "no such file: the run's grid file".to_string(),
        (_, role) if is_dir => {
            let what = match role {
                Role::Ledger => "a ledger file",
                Role::GenesisBeside | Role::GenesisGiven => "a genesis file",
                Role::Grid => "a grid file",
            };
            let mut text = format!("is a directory, not {what}");
            let inside = path.join("ledger.jsonl");
            if matches!(role, Role::Ledger) && inside.is_file() {
                text += &format!(" (the run's ledger is {})", inside.display());
            }
            text
        }
        // `a FIFO, not a regular file` and the like.
        (ErrorKind::InvalidInput, _) => format!("is {e}"),
        _ => return crate::error::Error::io(path, e),
    };
    crate::error::Error::io(path, std::io::Error::new(e.kind(), text))
}

/// [`verify_files`] of a ledger and its genesis bytes (for a caller that holds the
/// genesis in memory): `pin` as in [`verify`].
pub fn verify_file(
    path: &std::path::Path,
    genesis: &[u8],
    pin: Option<&Hash>,
) -> Result<AuditReport, crate::error::Error> {
    let (_, len) = store::open_regular(path).map_err(|e| file_error(path, e, Role::Ledger))?;
    let g = store::parse_genesis(genesis)?;
    let open =
        || store::open_regular(path).map(|(f, _)| std::io::BufReader::with_capacity(1 << 20, f));
    let trust = Trust {
        pin: pin.copied(),
        grid: None,
    };
    Ok(verify_stream(open, len, &g, &trust)?)
}

/// The most bytes a grid file given to `verify --grid` may have.
const GRID_MAX_BYTES: u64 = 1 << 30;

/// Verifies a ledger read as a stream (`open` opens it anew for each pass, `len` is its
/// size in bytes), in two passes (the oracle's data, then every block and the seal):
/// memory holds one block and what the next block needs, whatever the horizon, and the
/// reading is bounded by the genesis ([`store::Limits`]): a file longer in bytes than the
/// genesis allows is refused unread, a line longer than its block can need is refused
/// before it is read whole, and a line past the seal is refused when it is reached.
fn verify_stream<R: std::io::BufRead>(
    open: impl Fn() -> std::io::Result<R>,
    len: u64,
    g: &Genesis,
    trust: &Trust,
) -> Result<AuditReport, LedgerError> {
    let hash = g.hash();
    if let Some(want) = &trust.pin {
        if *want != hash {
            return Err(LedgerError::global(Fault::Genesis(format!(
                "the genesis has hash {hash}, not the pinned {want}"
            ))));
        }
    }
    let mut audit = Audit::new(g)?;
    let limits = store::Limits::of(g);
    if len > limits.bytes() {
        return Err(LedgerError::global(Fault::Format(format!(
            "the file has {len} bytes, more than the {} a ledger of this genesis can need",
            limits.bytes()
        ))));
    }
    let io = |e: std::io::Error| LedgerError::global(Fault::Format(format!("read failed: {e}")));
    // Pass 1: the first line names the genesis; each block's exact oracle data. At most
    // one line past the seal is read, so that pass 2 reports a ledger one block too long
    // in its order.
    let mut lines = store::Lines::new(open().map_err(io)?, limits.line(1));
    match lines.next_line()? {
        Some(first) => store::parse_anchor(first, g)?,
        None => return Err(LedgerError::global(Fault::Format("empty file".into())).on_line(1)),
    }
    let mut rows = Vec::with_capacity(usize::try_from(g.slots).unwrap_or(0).min(1 << 20));
    loop {
        let n = lines.line() + 1;
        lines.set_limit(limits.line(n));
        let Some(line) = lines.next_line()? else {
            break;
        };
        if n > limits.lines() + 1 {
            return Err(LedgerError::global(Fault::Format(format!(
                "a record past the seal: a ledger of this genesis has {} blocks and a seal",
                g.slots
            )))
            .on_line(n));
        }
        if !line.starts_with(b"{\"seal\":") {
            rows.push(store::oracle_of(line).unwrap_or((0.0, 0.0)));
        }
    }
    // The blocks in the file, for a length fault; the oracle data per slot.
    let total = rows.len() as u64;
    rows.truncate(usize::try_from(g.slots).unwrap_or(usize::MAX));
    // Pass 2: every block checked as it is read, and replayed; then the seal.
    let mut lines = store::Lines::new(open().map_err(io)?, limits.line(1));
    lines.next_line()?;
    let sealed: std::cell::RefCell<Option<(u64, Seal)>> = std::cell::RefCell::new(None);
    let mut read = |t: usize, audit: &mut Audit<'_>| -> Result<Option<Block>, LedgerError> {
        if sealed.borrow().is_some() {
            return Ok(None);
        }
        let n = lines.line() + 1;
        lines.set_limit(limits.line(n));
        let Some(line) = lines.next_line()? else {
            return Ok(None);
        };
        match store::parse_body(line, n)? {
            store::Body::Block(b) => {
                audit.block(t, &b, total).map_err(|e| e.on_line(n))?;
                Ok(Some(b))
            }
            store::Body::Seal(seal) => {
                *sealed.borrow_mut() = Some((n, seal));
                Ok(None)
            }
        }
    };
    let mut seen = 0u64;
    let (eva, operator) = replay(g, &rows, trust.grid.as_ref(), |t| {
        let b = read(t, &mut audit)?;
        if b.is_some() {
            seen = t as u64 + 1;
        }
        Ok(b)
    })
    .map_err(|e| {
        let line = e.location.height.map_or(1, store::line_of_block);
        if e.location.line.is_some() {
            e
        } else {
            e.on_line(line)
        }
    })?;
    // A block past the horizon, or the seal.
    read(seen as usize, &mut audit)?;
    let (mut report, tip) = audit.finish(seen).map_err(|e| {
        let line = e.location.height.map_or(1, store::line_of_block);
        e.on_line(line)
    })?;
    let Some((n, seal)) = sealed.into_inner() else {
        return Err(
            LedgerError::global(Fault::Seal("the ledger ends without its seal".into()))
                .on_line(store::line_of_block(seen)),
        );
    };
    check_seal(g, tip, &seal, &mut report).map_err(|e| e.on_line(n))?;
    lines.set_limit(limits.line(n + 1));
    if lines.next_line()?.is_some() {
        return Err(
            LedgerError::global(Fault::Format("a record after the seal".into())).on_line(n + 1),
        );
    }
    report.eva_balance = eva;
    report.operator_balance = operator;
    report.pinned = trust.pin.is_some();
    report.oracle = if g.commitment.grid_sha256.is_none() {
        OracleData::Tariff
    } else if trust.grid.is_some() {
        OracleData::GridFile
    } else {
        OracleData::Signed
    };
    Ok(report)
}

/// The seal (the ledger's last record): it follows the last block (`tip`: its header hash
/// and commit), its height is the block count, and exactly the honest SCPs
/// ([`honest_voters`]) signed it ([`VoteKind::Seal`]), in SCP order.
fn check_seal(
    g: &Genesis,
    tip: Tip,
    seal: &Seal,
    report: &mut AuditReport,
) -> Result<(), LedgerError> {
    let bad = |what: String| Err(LedgerError::global(Fault::Seal(what)));
    let chain = g.chain_id.as_str();
    if seal.height != g.slots {
        return bad(format!(
            "height {}, the ledger has {} blocks",
            seal.height, g.slots
        ));
    }
    if seal.last_header != tip.hash || seal.last_commit != tip.commit {
        return bad("it is not on the last block's header and commit".into());
    }
    let n = g.scps.len();
    let hash = seal.hash(chain);
    let mut last: Option<u32> = None;
    for v in &seal.votes {
        let Some(key) = g.scps.get(v.scp as usize).and_then(verifying_key) else {
            return Err(LedgerError::global(Fault::UnknownScp(v.scp)));
        };
        if last.is_some_and(|l| v.scp <= l) {
            return bad("its votes are not one per SCP in SCP order".into());
        }
        last = Some(v.scp);
        let msg = vote_bytes(VoteKind::Seal, chain, seal.height, &hash, v.scp);
        if !verify_one(&key, &msg, &v.sig) {
            return Err(LedgerError::global(Fault::Signature(format!(
                "SCP {} (seal)",
                v.scp
            ))));
        }
    }
    report.signatures += seal.votes.len() as u64;
    if !crate::ledger::consensus::quorum(seal.votes.len(), n) {
        return Err(LedgerError::global(Fault::Quorum {
            votes: seal.votes.len() as u64,
            validators: n as u64,
        }));
    }
    let byzantine = byzantine_set(n, g.commitment.scenario.byzantine);
    if !seal
        .votes
        .iter()
        .map(|v| v.scp)
        .eq(honest_voters(&byzantine))
    {
        return bad("it is not signed by exactly the SCPs that did not equivocate".into());
    }
    Ok(())
}

/// Where a signature sits in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Site {
    Oracle,
    Proposal(usize),
    TxEv(usize),
    Meter(usize),
    Vote(usize),
    Evidence(usize, bool),
}

struct Keys {
    /// Each session's wallet: the index of its EV's first session ([`wallet_index`]).
    wallet: Vec<usize>,
    evs: Vec<VerifyingKey>,
    scps: Vec<VerifyingKey>,
    oracle: VerifyingKey,
}

/// The signed messages of one block, and its transactions' leaf hashes.
struct Prepared<'a> {
    items: Vec<(&'a VerifyingKey, Vec<u8>, &'a Sig, Site)>,
    leaves: Vec<Hash>,
}

fn prepare<'a>(chain: &str, keys: &'a Keys, b: &'a Block) -> Prepared<'a> {
    let h = b.header.height;
    let mut items =
        Vec::with_capacity(b.txs.len() + b.meters.len() + b.votes.len() + b.proposals.len() + 1);
    items.push((
        &keys.oracle,
        b.oracle.signed_bytes(chain),
        &b.oracle.sig,
        Site::Oracle,
    ));
    for (i, p) in b.proposals.iter().enumerate() {
        if let Some(k) = keys.scps.get(p.worker as usize) {
            items.push((k, p.signed_bytes(chain, h), &p.sig, Site::Proposal(i)));
        }
    }
    let mut leaves = Vec::with_capacity(b.txs.len());
    for (i, tx) in b.txs.iter().enumerate() {
        let consent = tx.consent_bytes(chain);
        leaves.push(merkle::leaf_hash(&tx.leaf_bytes(chain, &consent)));
        if let Some(k) = keys.evs.get(tx.ev as usize) {
            items.push((k, consent, &tx.ev_sig, Site::TxEv(i)));
        }
    }
    for (i, m) in b.meters.iter().enumerate() {
        if let Some(k) = keys.scps.get(m.scp as usize) {
            items.push((k, m.signed_bytes(chain, h), &m.sig, Site::Meter(i)));
        }
    }
    let hash = b.header.hash(chain);
    for (i, v) in b.votes.iter().enumerate() {
        if let Some(k) = keys.scps.get(v.scp as usize) {
            let msg = vote_bytes(VoteKind::Precommit, chain, h, &hash, v.scp);
            items.push((k, msg, &v.sig, Site::Vote(i)));
        }
    }
    for (i, e) in b.evidence.iter().enumerate() {
        if let Some(k) = keys.scps.get(e.scp as usize) {
            items.push((
                k,
                vote_bytes(VoteKind::Prevote, chain, h, &e.first, e.scp),
                &e.first_sig,
                Site::Evidence(i, false),
            ));
            items.push((
                k,
                vote_bytes(VoteKind::Prevote, chain, h, &e.second, e.scp),
                &e.second_sig,
                Site::Evidence(i, true),
            ));
        }
    }
    Prepared { items, leaves }
}

/// Checks the genesis record on its own: the protocol, the chain id, the commitment (the
/// carried scenario has the committed digest and passes every range), the sessions (a
/// valid fleet), the constants against the scenario, the validator set (one SCP per
/// worker; every key of every party distinct, none weak) and the EVA's signature.
fn check_genesis(g: &Genesis) -> Result<Keys, LedgerError> {
    let fail = |f| Err(LedgerError::global(f));
    let bad = |s: String| fail(Fault::Genesis(s));
    if g.protocol != PROTOCOL {
        return bad(format!(
            "protocol {}, this verifier checks {PROTOCOL}",
            excerpt(&g.protocol)
        ));
    }
    if g.chain_id != g.derive_chain_id() {
        return bad("the chain id is not derived from the genesis contents".into());
    }
    let c = &g.commitment;
    if c.scenario.digest() != c.scenario_sha256 {
        return bad("the scenario does not have the committed digest".into());
    }
    if let Err(e) = c.scenario.validate() {
        return bad(format!("the committed scenario is out of range: {e}"));
    }
    if !c.scenario.ledger {
        return bad("the committed scenario has the ledger off".into());
    }
    let p = &c.scenario.params;
    if g.e0_wh != wh(p.e0_kwh)
        || g.p_delay != micro(p.p_delay)
        || g.slots != c.scenario.horizon.slots as u64
    {
        return bad("E0, p_delay or the slot count differ from the committed scenario".into());
    }
    if g.scps.len() != c.scenario.workers.len() {
        return bad(format!(
            "{} SCP keys for {} workers",
            g.scps.len(),
            c.scenario.workers.len()
        ));
    }
    if let Err(e) = Fleet::new(g.evs.iter().map(|w| w.ev()).collect()) {
        return bad(format!("the sessions are not a valid fleet: {e}"));
    }
    // One key per EV: its sessions share it, and no other party holds it.
    let wallet = wallet_index(g.evs.iter().map(|w| w.id.as_str()));
    if let Some((i, w)) = g
        .evs
        .iter()
        .enumerate()
        .find(|&(i, w)| w.key != g.evs[wallet[i]].key)
    {
        return bad(format!(
            "session {i} of EV {} has another key than the EV's first session",
            excerpt(&w.id)
        ));
    }
    let keys = parties(
        &wallet,
        g.evs.iter().map(|w| &w.key.0),
        g.scps.iter().map(|k| &k.0),
        &g.oracle.0,
        &g.eva.0,
    );
    if let Some(pair) = shared_key(keys) {
        return bad(shared_key_message(pair, |i| g.evs[i].id.as_str()));
    }
    let key = |pk, who: String| verifying_key(pk).ok_or(Fault::WeakKey(who));
    let wrap = |r: Result<VerifyingKey, Fault>| r.map_err(LedgerError::global);
    let eva = wrap(key(&g.eva, "the EVA".into()))?;
    if !verify_one(&eva, &g.signed_bytes(), &g.eva_sig) {
        return fail(Fault::Signature("the EVA (genesis)".into()));
    }
    // Each check of a key is a scalar multiplication (torsion): in parallel, the first
    // refused key named.
    let evs: Vec<Option<VerifyingKey>> = {
        use rayon::prelude::*;
        g.evs.par_iter().map(|w| verifying_key(&w.key)).collect()
    };
    let evs = evs
        .into_iter()
        .zip(&g.evs)
        .map(|(k, w)| wrap(k.ok_or_else(|| Fault::WeakKey(format!("EV {}", excerpt(&w.id))))))
        .collect::<Result<_, _>>()?;
    Ok(Keys {
        wallet,
        evs,
        scps: g
            .scps
            .iter()
            .enumerate()
            .map(|(j, k)| wrap(key(k, format!("SCP {j}"))))
            .collect::<Result<_, _>>()?,
        oracle: wrap(key(&g.oracle, "the oracle".into()))?,
    })
}

/// The chain's end so far: the last block's header hash and its commit ([`commit_hash`]);
/// the genesis hash and zeros before block 0.
#[derive(Debug, Clone, Copy)]
struct Tip {
    hash: Hash,
    commit: Hash,
}

/// The auditor's state between blocks: what the next block needs (the previous hash,
/// every wallet's nonce and balance, the light client's tip), and the counts so far. It
/// holds no block: blocks are checked one at a time as they are read.
struct Audit<'g> {
    g: &'g Genesis,
    keys: Keys,
    tip: Tip,
    nonces: Vec<u64>,
    balances: Vec<i64>,
    client: LightClient,
    has_tx: Vec<bool>,
    report: AuditReport,
}

impl<'g> Audit<'g> {
    fn new(g: &'g Genesis) -> Result<Self, LedgerError> {
        let keys = check_genesis(g)?;
        let n = keys.evs.len();
        let wallets = crate::data::fleet::wallet_count(&keys.wallet);
        Ok(Audit {
            tip: Tip {
                hash: g.hash(),
                commit: Hash::default(),
            },
            nonces: vec![0; n],
            balances: vec![0; n],
            client: LightClient::new(g).map_err(LedgerError::global)?,
            has_tx: vec![false; n],
            report: AuditReport {
                genesis: g.hash(),
                signatures: 1,
                wallets: wallets as u64,
                currency: g.commitment.scenario.currency.clone(),
                ..AuditReport::default()
            },
            keys,
            g,
        })
    }

    /// Checks block `bi` (steps 1–6 of the module docs and its light-client inclusion
    /// proofs); `total_blocks` is the ledger's block count, for a length fault.
    fn block(&mut self, bi: usize, b: &Block, total_blocks: u64) -> Result<(), LedgerError> {
        let g = self.g;
        let chain = g.chain_id.as_str();
        let n = self.keys.scps.len();
        let prep = prepare(chain, &self.keys, b);
        let items: Vec<(&VerifyingKey, &[u8], &Sig)> = prep
            .items
            .iter()
            .map(|(k, m, s, _)| (*k, m.as_slice(), *s))
            .collect();
        let bad_sig = verify_all(&items).err().map(|i| prep.items[i].3);
        self.report.signatures += items.len() as u64;
        drop(items);
        let height = bi as u64;
        let at = |tx: Option<usize>, f: Fault| Err(LedgerError::at(height, tx, f));
        let sig_ok = |site: Site| bad_sig != Some(site);
        let h = &b.header;
        let length = Fault::Length {
            expected: self.g.slots,
            got: total_blocks,
        };
        if height >= self.g.slots {
            return at(None, length);
        }
        if h.height != height {
            return at(
                None,
                Fault::Height {
                    expected: height,
                    got: h.height,
                },
            );
        }
        if h.prev_hash != self.tip.hash {
            return at(None, Fault::HashLink);
        }
        if h.last_commit != self.tip.commit {
            return at(
                None,
                Fault::LastCommit(
                    "the header does not commit to the previous block's votes and meter \
                     attestations as recorded"
                        .into(),
                ),
            );
        }
        // Oracle.
        let o: &OracleMsg = &b.oracle;
        if o.slot != height {
            return at(
                None,
                Fault::OracleSlot {
                    expected: height,
                    got: o.slot,
                },
            );
        }
        if !sig_ok(Site::Oracle) {
            return at(None, Fault::Signature("the oracle".into()));
        }
        if o.hash(chain) != h.oracle_hash {
            return at(None, Fault::OracleHash);
        }
        // Proposals and the decision.
        for (i, p) in b.proposals.iter().enumerate() {
            if p.worker as usize >= n {
                return at(None, Fault::UnknownScp(p.worker));
            }
            if !sig_ok(Site::Proposal(i)) {
                return at(
                    None,
                    Fault::Signature(format!("SCP {} (proposal)", p.worker)),
                );
            }
        }
        if proposals_root(chain, height, &b.proposals) != h.proposals_root {
            return at(None, Fault::ProposalsHash);
        }
        if let Err(f) = check_decision(h, &b.proposals, &b.oracle) {
            return at(None, f);
        }
        self.report.faulty_proposals += b.proposals.iter().filter(|p| p.faulty).count() as u64;
        // Transactions: known wallet and SCP, this slot, the EV's signature, then the
        // ledger's rules (the same check the validators make before they vote).
        let cx = TxContext {
            n_scps: n,
            p_c: o.p_c(),
            p_d: h.p_d,
            p_delay: self.g.p_delay,
        };
        for (i, tx) in b.txs.iter().enumerate() {
            let ev = tx.ev as usize;
            if ev >= self.keys.evs.len() {
                return at(Some(i), Fault::UnknownEv(tx.ev));
            }
            if tx.scp as usize >= n {
                return at(Some(i), Fault::UnknownScp(tx.scp));
            }
            if tx.slot != height {
                return at(
                    Some(i),
                    Fault::TxSlot {
                        expected: height,
                        got: tx.slot,
                    },
                );
            }
            if !sig_ok(Site::TxEv(i)) {
                return at(Some(i), Fault::Signature(format!("EV wallet {}", tx.ev)));
            }
            let w = self.keys.wallet[ev];
            if let Err(f) = check_tx(tx, self.nonces[w], self.balances[w], &cx) {
                return at(Some(i), f);
            }
            self.nonces[w] = tx.nonce;
            self.balances[w] = tx.balance;
        }
        if h.tx_count != b.txs.len() as u64 {
            return at(
                None,
                Fault::TxCount {
                    header: h.tx_count,
                    body: b.txs.len() as u64,
                },
            );
        }
        // One tree serves the root check here and the inclusion proofs below.
        let tree = Tree::new(prep.leaves.clone());
        if tree.root() != h.tx_root {
            return at(None, Fault::MerkleRoot);
        }
        // Every SCP's meter attestation: one each, in SCP order, signed, over exactly its
        // readings in this block.
        if b.meters.len() != n {
            return at(
                None,
                Fault::Meters(format!("{} attestations for {n} SCPs", b.meters.len())),
            );
        }
        let evs: Vec<u32> = b.txs.iter().map(|t| t.ev).collect();
        for (j, (m, r)) in b
            .meters
            .iter()
            .zip(readings(&evs, &prep.leaves, n))
            .enumerate()
        {
            if m.scp as usize != j {
                return at(
                    None,
                    Fault::Meters(format!("SCP {} attests in SCP {j}'s place", m.scp)),
                );
            }
            if !sig_ok(Site::Meter(j)) {
                return at(None, Fault::Signature(format!("SCP {j} (meters)")));
            }
            if m.count != r.len() as u64 || m.root != merkle::root(r) {
                return at(
                    None,
                    Fault::Meters(format!(
                        "SCP {j}'s attestation is not of its readings in this block"
                    )),
                );
            }
        }
        // Votes and evidence.
        let mut seen = vec![false; n];
        for (i, v) in b.votes.iter().enumerate() {
            let j = v.scp as usize;
            if j >= n {
                return at(None, Fault::UnknownScp(v.scp));
            }
            if std::mem::replace(&mut seen[j], true) {
                return at(None, Fault::Equivocation(v.scp));
            }
            if i > 0 && b.votes[i - 1].scp > v.scp {
                return at(
                    None,
                    Fault::LastCommit("the precommits are not in SCP order".into()),
                );
            }
            if !sig_ok(Site::Vote(i)) {
                return at(None, Fault::Signature(format!("SCP {} (vote)", v.scp)));
            }
        }
        if !crate::ledger::consensus::quorum(b.votes.len(), n) {
            return at(
                None,
                Fault::Quorum {
                    votes: b.votes.len() as u64,
                    validators: n as u64,
                },
            );
        }
        let prevote = h.prevote_hash(chain);
        let mut accused = vec![false; n];
        for (i, e) in b.evidence.iter().enumerate() {
            let j = e.scp as usize;
            if j >= n {
                return at(None, Fault::UnknownScp(e.scp));
            }
            if std::mem::replace(&mut accused[j], true) {
                return at(
                    None,
                    Fault::Evidence(format!("SCP {} accused twice", e.scp)),
                );
            }
            if e.first == e.second {
                return at(
                    None,
                    Fault::Evidence(format!("SCP {}: the same header twice", e.scp)),
                );
            }
            if e.first != prevote {
                return at(
                    None,
                    Fault::Evidence(format!(
                        "SCP {}: its first prevote is not on this block's header",
                        e.scp
                    )),
                );
            }
            if !sig_ok(Site::Evidence(i, false)) || !sig_ok(Site::Evidence(i, true)) {
                return at(None, Fault::Signature(format!("SCP {} (evidence)", e.scp)));
            }
            if seen[j] {
                return at(None, Fault::Equivocation(e.scp));
            }
        }
        if evidence_root(chain, height, &b.evidence) != h.evidence_root {
            return at(
                None,
                Fault::Evidence("the evidence is not what the header commits".into()),
            );
        }
        self.report.votes += b.votes.len() as u64;
        self.report.evidence += b.evidence.len() as u64;
        self.report.transactions += b.txs.len() as u64;
        self.tip = Tip {
            hash: h.hash(chain),
            commit: commit_hash(chain, height, &b.votes, &b.meters),
        };

        if let Some(site) = bad_sig {
            // Every site is visited above; reaching here means a signature failed without
            // its site being reached, which is reported rather than ignored.
            return Err(LedgerError::at(
                bi as u64,
                None,
                Fault::Signature(format!("{site:?}")),
            ));
        }
        // Step 6: the light client follows the header; the block's EVs check their
        // transactions by inclusion proof.
        self.client
            .accept(&b.header, &b.votes)
            .map_err(|f| LedgerError::at(b.header.height, None, f))?;
        for (i, leaf) in prep.leaves.iter().enumerate() {
            let proof = tree.proof(i).unwrap_or_default();
            self.client
                .verify_inclusion(b.header.height, i as u64, leaf, &proof)
                .map_err(|f| LedgerError::at(b.header.height, Some(i), f))?;
        }
        self.report.inclusion_proofs += prep.leaves.len() as u64;
        for tx in &b.txs {
            self.has_tx[self.keys.wallet[tx.ev as usize]] = true;
        }
        self.report.blocks += 1;
        Ok(())
    }

    /// The report and the chain's tip (what the seal must be on), once `blocks` blocks
    /// were checked.
    fn finish(mut self, blocks: u64) -> Result<(AuditReport, Tip), LedgerError> {
        if blocks < self.g.slots {
            let length = Fault::Length {
                expected: self.g.slots,
                got: blocks,
            };
            return Err(LedgerError::at(blocks, None, length));
        }
        self.report.total_balance = self.balances.iter().sum();
        self.report.light_clients = self.has_tx.iter().filter(|&&x| x).count() as u64;
        Ok((self.report, self.tip))
    }
}

/// Verifies a parsed ledger (in memory): every block, the replay, then the seal.
pub fn verify_ledger(l: &Ledger) -> Result<AuditReport, LedgerError> {
    let total = l.blocks.len() as u64;
    let mut audit = Audit::new(&l.genesis)?;
    let rows: Vec<(f64, f64)> = l
        .blocks
        .iter()
        .map(|b| (b.oracle.p_rt_exact, b.oracle.e_limit_kwh))
        .collect();
    let mut next = 0usize;
    let (eva, operator) = replay(&l.genesis, &rows, None, |t| {
        let b = l.blocks.get(t).cloned();
        if let Some(b) = &b {
            audit.block(t, b, total)?;
            next = t + 1;
        }
        Ok(b)
    })?;
    // Blocks past the horizon.
    if let Some(b) = l.blocks.get(next) {
        audit.block(next, b, total)?;
    }
    let (mut report, tip) = audit.finish(total)?;
    check_seal(&l.genesis, tip, &l.seal, &mut report)?;
    report.eva_balance = eva;
    report.operator_balance = operator;
    report.oracle = if l.genesis.commitment.grid_sha256.is_none() {
        OracleData::Tariff
    } else {
        OracleData::Signed
    };
    Ok(report)
}

/// The replay (module docs, step 7): rebuilds the run from the genesis (sessions, scenario)
/// and the operator's signed data (exact `p_rt` and `E_limit` of each slot), plays every
/// slot with the simulation's own code, and compares each block with what the ledger's
/// rules ([`crate::ledger::rules`]) give for that slot. Returns the EVA's and the
/// operator's final accounts.
fn replay(
    g: &Genesis,
    rows: &[(f64, f64)],
    grid: Option<&GridSignals>,
    mut next_block: impl FnMut(usize) -> Result<Option<Block>, LedgerError>,
) -> Result<(i64, i64), LedgerError> {
    let sc = g.commitment.scenario.clone();
    let h = sc.horizon;
    let global = |what: String| LedgerError::global(Fault::Replay(what));
    let fleet = Fleet::new(g.evs.iter().map(|w| w.ev()).collect())
        .map_err(|e| global(format!("the sessions: {e}")))?;
    // One row per slot from the oracle's exact data; a row missing or out of range (a
    // tampered message, caught by its signature when its block is checked) stands in as
    // an empty slot so that the replay can run.
    let grid_rows: Vec<GridRow> = (0..h.slots)
        .map(|t| {
            let (p_rt, e_limit) = rows.get(t).copied().unwrap_or((0.0, 0.0));
            let row = GridRow {
                time: h.slot_start(t),
                base_load_kw: 0.0,
                e_limit_kwh: e_limit,
                p_rt: Some(p_rt),
            };
            if GridSignals::new(vec![row]).is_ok() {
                row
            } else {
                GridRow {
                    e_limit_kwh: 0.0,
                    p_rt: Some(0.0),
                    ..row
                }
            }
        })
        .collect();
    let signed =
        GridSignals::new(grid_rows).map_err(|e| global(format!("the oracle's data: {e}")))?;
    // Step 3 bound to the commitment: a run without a grid file is replayed from the
    // committed tariff alone (so every message must carry its p_rt and E_limit = 0), a
    // run with one from that file when the auditor has it, else from the signed data.
    let grid_given = grid.is_some();
    let grid = match (&g.commitment.grid_sha256, grid) {
        (None, _) => None,
        (Some(_), Some(file)) => Some(file),
        (Some(_), None) => Some(&signed),
    };
    let n = sc.workers.len();
    let w_grid = micro(sc.params.w_grid);
    let byzantine = byzantine_set(n, sc.byzantine);
    let oracle_source = match (&g.commitment.grid_sha256, grid_given) {
        (None, _) => "the oracle's data is not the committed tariff's (the run has no grid file)",
        (Some(_), true) => "the oracle's data is not the committed grid file's",
        (Some(_), false) => "the oracle's integers do not match its exact prices",
    };
    let run = Run::new(fleet, grid, sc).map_err(|e| global(e.to_string()))?;
    let chain = g.chain_id.as_str();
    let voters = honest_voters(&byzantine);
    let wallet = run.fleet().wallets();
    let mut nonces = vec![0u64; g.evs.len()];
    let mut balances = vec![0i64; g.evs.len()];
    let (mut eva, mut operator) = (0i64, 0i64);
    let result = run.simulate(|o| {
        let t = o.record.slot;
        let Some(b) = next_block(t)? else {
            return Err(crate::error::Error::Ledger(LedgerError::at(
                t as u64,
                None,
                Fault::Length {
                    expected: g.slots,
                    got: t as u64,
                },
            )));
        };
        let b = &b;
        let fail = |tx: Option<usize>, what: String| {
            Err(crate::error::Error::Ledger(LedgerError::at(
                t as u64,
                tx,
                Fault::Replay(what),
            )))
        };
        // Step 3: the integers the operator signed are its exact values, converted.
        let mut want = OracleMsg::issue_unsigned(t as u64, o.prices);
        want.sig = b.oracle.sig;
        if want != b.oracle {
            return fail(
                None,
                oracle_source.into(),
            );
        }
        // Step 4: every worker's sub-range, every verdict, the winner.
        let ps = &o.search.proposals;
        if b.proposals.len() != ps.len() {
            return fail(
                None,
                format!("{} proposals, the replay has {} workers", b.proposals.len(), ps.len()),
            );
        }
        for (got, p) in b.proposals.iter().zip(ps) {
            let honest = p.best.as_ref().map(claim_of);
            if got.worker as usize != p.worker
                || got.lo != p.range.start as u64
                || got.hi != p.range.end as u64
            {
                return fail(None, format!("SCP {}'s sub-range is not its share", got.worker));
            }
            // The claim itself: an honest SCP's is the search's, a byzantine SCP's the
            // false claim it signed by the byzantine rule, never another.
            let claim = if byzantine[p.worker] {
                Some(false_claim(o.game, &p.range, honest))
            } else {
                honest
            };
            if got.best != claim {
                return fail(
                    None,
                    format!(
                        "SCP {}'s proposal is not the claim it made ({})",
                        got.worker,
                        if byzantine[p.worker] {
                            "a byzantine SCP's false claim, re-derived"
                        } else {
                            "its sub-range's best"
                        }
                    ),
                );
            }
            if got.faulty != (got.best != honest) {
                return fail(
                    None,
                    format!(
                        "SCP {}'s proposal is marked {} but is {}",
                        got.worker,
                        if got.faulty { "false" } else { "true" },
                        if got.best != honest { "false" } else { "true" }
                    ),
                );
            }
        }
        let win = claim_of(&o.search.best);
        let proposer = ps
            .iter()
            .find(|p| p.range.contains(&(win.k as usize)))
            .map_or(u32::MAX, |p| p.worker as u32);
        let hd = &b.header;
        if (hd.k, hd.p_d, hd.revenue, hd.proposer) != (win.k, win.p_d, win.revenue, proposer) {
            return fail(
                None,
                format!(
                    "p_d* {} µCNY/kWh and R {} µCNY recorded, the replay finds {} and {}",
                    hd.p_d, hd.revenue, win.p_d, win.revenue
                ),
            );
        }
        // Steps 2 and 5: one transaction per session plugged for the whole slot, each the
        // EV's best response at p_d*.
        let txs = unsigned_txs(
            o.trades,
            n,
            b.oracle.p_c(),
            win.p_d,
            &wallet,
            &nonces,
            &balances,
        );
        if b.txs.len() != txs.len() {
            return fail(
                None,
                format!(
                    "{} transactions, but {} sessions are plugged for the whole slot",
                    b.txs.len(),
                    txs.len()
                ),
            );
        }
        for (i, (got, want)) in b.txs.iter().zip(&txs).enumerate() {
            if unsigned(got) != *want {
                return fail(
                    Some(i),
                    format!(
                        "EV {}'s transaction is not its best response at p_d* from its state",
                        got.ev
                    ),
                );
            }
            let w = wallet[want.ev as usize];
            nonces[w] = want.nonce;
            balances[w] = want.balance;
        }
        // Money: wallets, the EVA and the operator sum to zero.
        let Some(after) =
            slot_accounts((eva, operator), &txs, &b.oracle, w_grid, micro(o.record.c_limit))
        else {
            return Err(crate::error::Error::Ledger(LedgerError::at(
                t as u64,
                None,
                accounts_overflow(),
            )));
        };
        (eva, operator) = after;
        if (hd.eva_balance, hd.operator_balance) != (eva, operator) {
            return fail(
                None,
                format!(
                    "EVA and operator accounts {} and {} µCNY, the replay gives {eva} and {operator}",
                    hd.eva_balance, hd.operator_balance
                ),
            );
        }
        // Votes and evidence: every SCP that did not equivocate precommits, none that did
        // (a deleted vote of an honest SCP is refused as surely as a counted byzantine
        // one); exactly the byzantine SCPs equivocate, each for the header the byzantine
        // rule gives.
        if let Some(v) = b.votes.iter().find(|v| byzantine.get(v.scp as usize) == Some(&true)) {
            return fail(None, format!("SCP {} equivocated, yet its vote is counted", v.scp));
        }
        if !b.votes.iter().map(|v| v.scp).eq(voters.iter().copied()) {
            return fail(
                None,
                "the precommits are not exactly those of the SCPs that did not equivocate".into(),
            );
        }
        let mut accused: Vec<u32> = b.evidence.iter().map(|e| e.scp).collect();
        accused.sort_unstable();
        let byz: Vec<u32> = (0..n as u32).filter(|&j| byzantine[j as usize]).collect();
        if accused != byz {
            return fail(
                None,
                "the equivocation evidence does not name exactly the SCPs that equivocated".into(),
            );
        }
        let wrong = equivocation_header(hd).prevote_hash(chain);
        if let Some(e) = b.evidence.iter().find(|e| e.second != wrong) {
            return fail(
                None,
                format!(
                    "SCP {}'s evidence is not its prevote for the header it equivocated on",
                    e.scp
                ),
            );
        }
        Ok(())
    });
    match result {
        Ok(_) => {
            let wallets: i128 = balances.iter().map(|&b| i128::from(b)).sum();
            if wallets + i128::from(eva) + i128::from(operator) != 0 {
                return Err(global("money is not conserved".into()));
            }
            Ok((eva, operator))
        }
        Err(crate::error::Error::Ledger(e)) => Err(e),
        Err(e) => Err(global(e.to_string())),
    }
}
