//! The ledger's files: `genesis.json`, the genesis record on one line, and
//! `ledger.jsonl`, one JSON record per line: `{"genesis":"<hash>"}` first (the hash of
//! the genesis record the chain starts from), then `{"block":{…}}` per slot, then
//! `{"seal":{…}}` last, each line ending in a newline.
//!
//! Reading is bounded by the genesis, never by the file: [`read_regular`] and
//! [`open_regular`] take regular files only (a device, a FIFO or a directory is refused
//! before it is opened or read), a `genesis.json` of more than [`GENESIS_MAX_BYTES`] or
//! with a string longer than [`GENESIS_MAX_STRING`] is refused before it is parsed, and a
//! ledger is refused when it is longer than its genesis allows ([`Limits`]): per line,
//! and in lines and bytes in all.
//!
//! Reading is strict: every line must be exactly the canonical serialisation of what it
//! parses to (no extra whitespace, lowercase hex, no other spelling of a number), so any
//! change to the file's bytes is a change to the records, which the audit then catches.

use serde::{Deserialize, Serialize};

use crate::error::json_message;
use crate::ledger::block::{Block, Genesis};
use crate::ledger::chain::Ledger;
use crate::ledger::consensus::Seal;
use crate::ledger::units::Hash;
use crate::ledger::{Fault, LedgerError};

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum RecordRef<'a> {
    Genesis(&'a Hash),
    Block(&'a Block),
    Seal(&'a Seal),
}

#[derive(Deserialize)]
#[allow(clippy::large_enum_variant)] // parsed once per line, moved out at once
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum Record {
    Genesis(Hash),
    Block(Block),
    Seal(Seal),
}

fn line_of<T: Serialize>(r: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec(r).expect("ledger records serialise");
    v.push(b'\n');
    v
}

/// The genesis record as `genesis.json` (one canonical line).
pub fn write_genesis(g: &Genesis) -> Vec<u8> {
    line_of(g)
}

/// The first line of `ledger.jsonl`: the genesis hash.
pub fn genesis_line(g: &Genesis) -> Vec<u8> {
    line_of(&RecordRef::Genesis(&g.hash()))
}

/// One block's line of `ledger.jsonl`.
pub fn block_line(b: &Block) -> Vec<u8> {
    line_of(&RecordRef::Block(b))
}

/// The last line of `ledger.jsonl`: the seal.
pub fn seal_line(seal: &Seal) -> Vec<u8> {
    line_of(&RecordRef::Seal(seal))
}

/// The ledger as JSON lines (`ledger.jsonl`).
pub fn write(ledger: &Ledger) -> Vec<u8> {
    let mut out = genesis_line(&ledger.genesis);
    let lines: Vec<Vec<u8>> = {
        use rayon::prelude::*;
        ledger
            .blocks
            .par_iter()
            .map(|b| line_of(&RecordRef::Block(b)))
            .collect()
    };
    for l in lines {
        out.extend_from_slice(&l);
    }
    out.extend_from_slice(&seal_line(&ledger.seal));
    out
}

/// The most bytes a `genesis.json` may have: room for about 600,000 sessions. A larger
/// file is refused before it is read.
pub const GENESIS_MAX_BYTES: u64 = 256 << 20;

/// The longest JSON string a `genesis.json` may hold, in bytes as written: ids and session
/// names are at most 64 characters, keys and signatures 128 hex digits, so a longer string
/// (a 200 MB chain id) is refused before anything is parsed.
pub const GENESIS_MAX_STRING: usize = 4096;

/// Parses `genesis.json`: one canonical line, at most [`GENESIS_MAX_BYTES`], no string
/// longer than [`GENESIS_MAX_STRING`] (checked before parsing, so that parsing allocates
/// about as much as the file holds).
pub fn parse_genesis(bytes: &[u8]) -> Result<Genesis, LedgerError> {
    let format = |what: String| LedgerError::global(Fault::Format(format!("genesis: {what}")));
    if bytes.len() as u64 > GENESIS_MAX_BYTES {
        return Err(format(format!(
            "{} bytes, more than the {GENESIS_MAX_BYTES} a genesis may have",
            bytes.len()
        )));
    }
    let line = bytes
        .strip_suffix(b"\n")
        .ok_or_else(|| format("the file does not end in a newline".into()))?;
    if let Some(column) = long_string(line, GENESIS_MAX_STRING) {
        return Err(format(format!(
            "a string of more than {GENESIS_MAX_STRING} bytes at column {column}"
        )));
    }
    let g: Genesis = serde_json::from_slice(line)
        .map_err(|e| format(format!("{} at column {}", json_message(&e), e.column())))?;
    if !is_canonical(&g, line) {
        return Err(format("not in canonical form".into()));
    }
    Ok(g)
}

/// The 1-based column where a JSON string longer than `max` bytes starts in `line`, if
/// any. A lexical scan: a string starts at a `"` outside a string and ends at the next `"`
/// not escaped by a backslash.
fn long_string(line: &[u8], max: usize) -> Option<usize> {
    let mut i = 0;
    while i < line.len() {
        if line[i] == b'"' {
            let start = i;
            i += 1;
            while i < line.len() && line[i] != b'"' {
                i += if line[i] == b'\\' { 2 } else { 1 };
            }
            if i.min(line.len()) - start - 1 > max {
                return Some(start + 1);
            }
        }
        i += 1;
    }
    None
}

/// Whether `line` is exactly the canonical serialisation of `value`, compared as it is
/// written, without a second copy of the line.
fn is_canonical<T: Serialize>(value: &T, line: &[u8]) -> bool {
    struct Compare<'a> {
        rest: &'a [u8],
        same: bool,
    }
    impl std::io::Write for Compare<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match self.rest.strip_prefix(buf) {
                Some(rest) if self.same => self.rest = rest,
                _ => {
                    self.same = false;
                    return Err(std::io::Error::other("differs"));
                }
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Compare {
        rest: line,
        same: true,
    };
    serde_json::to_writer(&mut c, value).is_ok() && c.same && c.rest.is_empty()
}

/// Parses a ledger file against its genesis record: the first line must name exactly that
/// genesis; a malformed or non-canonical line is reported with its line number.
pub fn parse(bytes: &[u8], genesis: Genesis) -> Result<Ledger, LedgerError> {
    let format = |line: u64, what: String| LedgerError::global(Fault::Format(what)).on_line(line);
    if bytes.is_empty() {
        return Err(format(1, "empty file".into()));
    }
    if bytes.last() != Some(&b'\n') {
        let line = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        return Err(format(
            line,
            "the last line does not end in a newline".into(),
        ));
    }
    let lines: Vec<&[u8]> = bytes[..bytes.len() - 1].split(|&b| b == b'\n').collect();
    use rayon::prelude::*;
    let parsed: Vec<Result<Record, LedgerError>> = lines
        .par_iter()
        .enumerate()
        .map(|(i, l)| {
            let n = i as u64 + 1;
            let rec: Record = serde_json::from_slice(l).map_err(|e| {
                // The message may quote the bad value (a string of any length): cut it.
                format(n, format!("{} at column {}", json_message(&e), e.column()))
            })?;
            let canonical = match &rec {
                Record::Genesis(g) => is_canonical(&RecordRef::Genesis(g), l),
                Record::Block(b) => is_canonical(&RecordRef::Block(b), l),
                Record::Seal(x) => is_canonical(&RecordRef::Seal(x), l),
            };
            if !canonical {
                return Err(format(n, "not in canonical form".into()));
            }
            Ok(rec)
        })
        .collect();
    let mut records = parsed.into_iter();
    match records.next() {
        Some(Ok(Record::Genesis(h))) => {
            if h != genesis.hash() {
                return Err(LedgerError::global(Fault::Genesis(
                    "the ledger starts from another genesis than the one given".into(),
                ))
                .on_line(1));
            }
        }
        Some(Ok(Record::Block(_) | Record::Seal(_))) => {
            return Err(format(
                1,
                "the first record must be the genesis hash".into(),
            ))
        }
        Some(Err(e)) => return Err(e),
        None => return Err(format(1, "empty file".into())),
    }
    let mut blocks = Vec::with_capacity(lines.len().saturating_sub(1));
    let mut seal = None;
    for (i, r) in records.enumerate() {
        let n = i as u64 + 2;
        if seal.is_some() {
            return Err(format(n, "a record after the seal".into()));
        }
        match r? {
            Record::Block(b) => blocks.push(b),
            Record::Seal(x) => seal = Some(x),
            Record::Genesis(_) => return Err(format(n, "a second genesis record".into())),
        }
    }
    let Some(seal) = seal else {
        return Err(format(
            lines.len() as u64 + 1,
            "the ledger ends without its seal".into(),
        ));
    };
    Ok(Ledger {
        genesis,
        blocks,
        seal,
    })
}

/// Reads a ledger file line by line, refusing a line longer than a limit before reading
/// past it: memory holds one record, whatever the file's size.
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    line: u64,
    limit: usize,
}

impl<R: std::io::BufRead> Lines<R> {
    /// Lines of `reader`, each at most `limit` bytes (newline excluded).
    pub fn new(reader: R, limit: usize) -> Self {
        Lines {
            reader,
            buf: Vec::new(),
            line: 0,
            limit,
        }
    }

    /// Sets the longest line the next calls accept.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// The 1-based number of the line last returned.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next line without its newline, `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, LedgerError> {
        use std::io::{BufRead, Read};
        self.buf.clear();
        self.line += 1;
        let n = (&mut self.reader)
            .take(self.limit as u64 + 2)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| {
                LedgerError::global(Fault::Format(format!("read failed: {e}"))).on_line(self.line)
            })?;
        if n == 0 {
            return Ok(None);
        }
        let format =
            |what: String| Err(LedgerError::global(Fault::Format(what)).on_line(self.line));
        if self.buf.last() != Some(&b'\n') {
            if self.buf.len() > self.limit {
                return format(format!(
                    "a record of more than {} bytes, the most this line can need",
                    self.limit
                ));
            }
            return format("the last line does not end in a newline".into());
        }
        self.buf.pop();
        if self.buf.len() > self.limit {
            return format(format!(
                "a record of more than {} bytes, the most this line can need",
                self.limit
            ));
        }
        Ok(Some(&self.buf))
    }
}

/// How long a ledger of this genesis may be, line by line and in all: what a reader of an
/// untrusted file checks before it reads a byte too many. Generous room per session
/// plugged in the slot, per SCP and for the fixed parts of a block; the anchor line and
/// the seal are short.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Per block: the longest line it may have.
    blocks: Vec<usize>,
    /// The longest seal line.
    seal: usize,
}

/// The longest first line (`{"genesis":"<64 hex digits>"}`), with room.
const ANCHOR_LIMIT: usize = 4096;

impl Limits {
    /// The limits of a ledger of `g`: a block of slot `t` may need up to 2 KiB per session
    /// plugged in at some time during `t` (a transaction of each, as written, is far
    /// shorter), 2 KiB per SCP (proposal, meter attestation, vote, evidence) and 64 KiB.
    pub fn of(g: &Genesis) -> Self {
        let slots = usize::try_from(g.slots).unwrap_or(usize::MAX);
        let h = &g.commitment.scenario.horizon;
        // Sessions present in each slot (a superset of those plugged for the whole slot):
        // +1 at the first slot a session touches, −1 after the last.
        let mut delta = vec![0i64; slots.min(h.slots) + 1];
        let n = delta.len() - 1;
        let step = crate::data::time::SLOT_MINUTES * 60;
        for w in &g.evs {
            let from = (w.arrival - h.start).num_seconds().div_euclid(step).max(0);
            let to = ((w.departure - h.start).num_seconds() + step - 1)
                .div_euclid(step)
                .max(0);
            let (from, to) = (
                usize::try_from(from).unwrap_or(usize::MAX).min(n),
                usize::try_from(to).unwrap_or(usize::MAX).min(n),
            );
            if from < to {
                delta[from] += 1;
                delta[to] -= 1;
            }
        }
        let fixed = 65_536usize.saturating_add(g.scps.len().saturating_mul(2_048));
        let mut present = 0i64;
        let blocks = delta[..n]
            .iter()
            .map(|d| {
                present += d;
                let sessions = usize::try_from(present).unwrap_or(0);
                fixed.saturating_add(sessions.saturating_mul(2_048))
            })
            .collect();
        Limits {
            blocks,
            seal: 4_096usize.saturating_add(g.scps.len().saturating_mul(256)),
        }
    }

    /// The longest line `n` (1-based) may be: the anchor, block `n − 2`, or the seal (and
    /// a line after it, which is refused when read).
    pub fn line(&self, n: u64) -> usize {
        match n {
            0 | 1 => ANCHOR_LIMIT,
            n => usize::try_from(n - 2)
                .ok()
                .and_then(|b| self.blocks.get(b))
                .copied()
                .unwrap_or(self.seal),
        }
    }

    /// The most lines a ledger may have: the anchor, the blocks and the seal.
    pub fn lines(&self) -> u64 {
        self.blocks.len() as u64 + 2
    }

    /// The most bytes a ledger may have: every line at its limit, with its newline.
    pub fn bytes(&self) -> u64 {
        let lines = (1..=self.lines()).map(|n| self.line(n) as u64 + 1);
        lines.fold(0u64, u64::saturating_add)
    }
}

/// The file at `path` opened for reading if it is a regular file (a link to one is
/// followed); a device, a FIFO, a socket or a directory is refused before it is opened,
/// so that nothing blocks or reads without end. The second value is its size.
pub fn open_regular(path: &std::path::Path) -> std::io::Result<(std::fs::File, u64)> {
    let not_regular = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file"),
        )
    };
    let kind = |m: &std::fs::Metadata| {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        }
    };
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(kind(&meta)));
    }
    // Opened without blocking, in case a FIFO took the file's place since; checked again.
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(kind(&meta)));
    }
    Ok((file, meta.len()))
}

/// The bytes of the regular file at `path` ([`open_regular`]), refused unread when it
/// has more than `limit` bytes; a file that grows while it is read is cut at `limit + 1`
/// bytes, and refused.
pub fn read_regular(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let too_big = |n: u64| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{n} bytes or more, more than the {limit} it may have"),
        )
    };
    let (file, len) = open_regular(path)?;
    if len > limit {
        return Err(too_big(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Parses `ledger.jsonl`'s first line: it must name exactly `genesis`.
pub fn parse_anchor(line: &[u8], genesis: &Genesis) -> Result<(), LedgerError> {
    let format = |what: String| LedgerError::global(Fault::Format(what)).on_line(1);
    let rec: Record = serde_json::from_slice(line)
        .map_err(|e| format(format!("{} at column {}", json_message(&e), e.column())))?;
    match rec {
        Record::Genesis(h) => {
            if line_of(&RecordRef::Genesis(&h))[..] != [line, b"\n"].concat()[..] {
                return Err(format("not in canonical form".into()));
            }
            if h != genesis.hash() {
                return Err(LedgerError::global(Fault::Genesis(
                    "the ledger starts from another genesis than the one given".into(),
                ))
                .on_line(1));
            }
            Ok(())
        }
        Record::Block(_) | Record::Seal(_) => {
            Err(format("the first record must be the genesis hash".into()))
        }
    }
}

/// A record after the first line: a block or the seal.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // read once per line, moved out at once
pub enum Body {
    /// A block.
    Block(Block),
    /// The seal, the last record.
    Seal(Seal),
}

/// Parses one line after the first (line `n` of the file), strictly: canonical form only.
pub fn parse_body(line: &[u8], n: u64) -> Result<Body, LedgerError> {
    let format = |what: String| LedgerError::global(Fault::Format(what)).on_line(n);
    let rec: Record = serde_json::from_slice(line)
        .map_err(|e| format(format!("{} at column {}", json_message(&e), e.column())))?;
    let (canonical, body) = match rec {
        Record::Block(b) => (is_canonical(&RecordRef::Block(&b), line), Body::Block(b)),
        Record::Seal(x) => (is_canonical(&RecordRef::Seal(&x), line), Body::Seal(x)),
        Record::Genesis(_) => return Err(format("a second genesis record".into())),
    };
    if !canonical {
        return Err(format("not in canonical form".into()));
    }
    Ok(body)
}

/// A block's oracle data only (the exact `p_rt` and `E_limit`), read in a first pass so
/// that the replay can start; `None` for a line that is not a well-formed block.
pub fn oracle_of(line: &[u8]) -> Option<(f64, f64)> {
    #[derive(Deserialize)]
    struct OracleOnly {
        oracle: crate::ledger::oracle::OracleMsg,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Rec {
        Block(OracleOnly),
        Genesis(serde::de::IgnoredAny),
        Seal(serde::de::IgnoredAny),
    }
    match serde_json::from_slice::<Rec>(line).ok()? {
        Rec::Block(b) => Some((b.oracle.p_rt_exact, b.oracle.e_limit_kwh)),
        Rec::Genesis(_) | Rec::Seal(_) => None,
    }
}

/// The 1-based line of block `height` in a ledger file (the genesis hash is line 1).
pub fn line_of_block(height: u64) -> u64 {
    height + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genesis() -> Genesis {
        let evs = vec![crate::data::fleet::Ev {
            site: None,
            session_id: None,
            id: "a".into(),
            kind: crate::data::fleet::Kind::Bus,
            capacity_kwh: 100.0,
            initial_kwh: 10.0,
            arrival: crate::data::time::parse_time("2021-05-27T07:00").unwrap(),
            departure: crate::data::time::parse_time("2021-05-27T09:00").unwrap(),
            beta: None,
            a: None,
            u_idle: None,
            limits: Default::default(),
        }];
        fleet_genesis(evs, 2)
    }

    /// The genesis of a fresh ledger of `evs` over `slots` slots from 07:00.
    fn fleet_genesis(evs: Vec<crate::data::fleet::Ev>, slots: usize) -> Genesis {
        let mut sc = crate::data::scenario::Scenario::default();
        sc.horizon.slots = slots;
        let run =
            crate::sim::Run::new(crate::data::fleet::Fleet::new(evs).unwrap(), None, sc).unwrap();
        crate::ledger::record::LedgerBuilder::fresh(&run)
            .unwrap()
            .genesis()
            .clone()
    }

    /// A ledger of `g` with no block: the anchor and the seal.
    fn empty_ledger(g: &Genesis) -> Ledger {
        Ledger {
            genesis: g.clone(),
            blocks: vec![],
            seal: Seal {
                height: 0,
                last_header: g.hash(),
                last_commit: Default::default(),
                votes: vec![],
            },
        }
    }

    fn error(bytes: &[u8]) -> String {
        match parse(bytes, genesis()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("parsed"),
        }
    }

    #[test]
    fn the_genesis_round_trips_and_the_ledger_must_name_it() {
        let g = genesis();
        let bytes = write_genesis(&g);
        assert_eq!(parse_genesis(&bytes).unwrap(), g);
        // Not canonical: a space added.
        let not_canonical = |b: &[u8]| {
            let e = parse_genesis(b).unwrap_err().to_string();
            // A fault of the whole file names no line or block.
            assert_eq!(
                e,
                "ledger check failed: malformed record: genesis: not in canonical form"
            );
        };
        let mut spaced = bytes.clone();
        spaced.insert(1, b' ');
        not_canonical(&spaced);
        // Longer than the canonical line by any amount (a space after every comma).
        spaced.insert(1, b' ');
        not_canonical(&spaced);
        let text = String::from_utf8(bytes.clone()).unwrap();
        not_canonical(text.replace(',', ", ").as_bytes());
        // The canonical line and then whitespace (which JSON allows): not canonical either.
        let mut trailing = bytes[..bytes.len() - 1].to_vec();
        trailing.extend_from_slice(b" \n");
        not_canonical(&trailing);
        let ledger = empty_ledger(&g);
        let file = write(&ledger);
        assert_eq!(parse(&file, g.clone()).unwrap(), ledger);
        // Another genesis (fresh keys) is not the one the ledger names.
        let e = parse(&file, genesis()).unwrap_err().to_string();
        assert!(e.contains("another genesis"), "{e}");
    }

    #[test]
    fn malformed_lines_give_short_escaped_errors() {
        let mb = 1 << 20;
        // A megabyte of garbage on one line.
        let mut garbage = vec![b'#'; mb];
        garbage.push(b'\n');
        assert_eq!(
            error(&garbage),
            "ledger check failed at line 1: malformed record: expected value at column 1"
        );
        let huge = "z".repeat(mb);
        let cut = format!("{}…", "z".repeat(crate::error::EXCERPT_CHARS));
        for (line, want) in [
            (
                format!("{{\"{huge}\":{{}}}}\n"),
                format!("unknown variant `{cut}` (1048576 chars), expected one of `genesis`, `block`, `seal`"),
            ),
            (
                format!("{{\"block\":\"{huge}\"}}\n"),
                format!("invalid type: string \"{cut}\" (1048576 chars), expected struct Block"),
            ),
            (
                format!("{{\"block\":{{\"{huge}\":1}}}}\n"),
                format!("unknown field `{cut}` (1048576 chars), expected one of"),
            ),
        ] {
            let e = error(line.as_bytes());
            assert!(e.len() < 400, "{}", &e[..400]);
            assert!(
                e.starts_with(&format!(
                    "ledger check failed at line 1: malformed record: {want}"
                )),
                "{e}"
            );
        }
        // Control characters (JSON escapes turn into the real bytes) come out escaped.
        let e = error(b"{\"\\u001b[2J\\u0000\":{}}\n");
        assert!(
            e.contains("unknown variant `\\u{1b}[2J\\u{0}`, expected"),
            "{e}"
        );
        assert!(!e.contains('\u{1b}') && !e.contains('\0'), "{e}");
    }

    /// A genesis of sessions `(arrival, departure)` over `slots` slots from 07:00.
    fn genesis_of(sessions: &[(&str, &str)], slots: usize) -> Genesis {
        let t = |s: &str| crate::data::time::parse_time(&format!("2021-05-27T{s}")).unwrap();
        let evs = sessions
            .iter()
            .enumerate()
            .map(|(i, (a, d))| crate::data::fleet::Ev {
                site: None,
                session_id: None,
                id: format!("ev{i}"),
                kind: crate::data::fleet::Kind::Private,
                capacity_kwh: 60.0,
                initial_kwh: 30.0,
                arrival: t(a),
                departure: t(d),
                beta: None,
                a: None,
                u_idle: None,
                limits: Default::default(),
            })
            .collect();
        fleet_genesis(evs, slots)
    }

    /// A block's limit is 64 KiB, 2 KiB per SCP and 2 KiB per session present at some
    /// time of its slot (arrivals and departures off the slot grid, before and after the
    /// horizon); the anchor's is 4 KiB and the seal's 4 KiB and 256 bytes per SCP, which
    /// also holds any line after the seal; the file's is every line with its newline.
    #[test]
    fn limits_count_the_sessions_present_in_each_slot() {
        let g = genesis_of(
            &[
                ("07:00", "07:15"), // slot 0
                ("07:10", "07:20"), // slots 0, 1
                ("06:00", "07:31"), // from before the horizon: slots 0, 1, 2
                ("07:45", "09:00"), // past the horizon: slot 3
                ("05:00", "06:30"), // wholly before: none
                ("07:15", "07:30"), // on the grid: slot 1
            ],
            4,
        );
        let scps = g.scps.len();
        assert_eq!(scps, 8);
        let fixed = 65_536 + 2_048 * scps;
        let limits = Limits::of(&g);
        let sessions = [3, 3, 1, 1];
        for (t, n) in sessions.iter().enumerate() {
            assert_eq!(limits.line(t as u64 + 2), fixed + 2_048 * n, "slot {t}");
        }
        let seal = 4_096 + 256 * scps;
        assert_eq!(
            (
                limits.line(0),
                limits.line(1),
                limits.line(6),
                limits.line(7)
            ),
            (4_096, 4_096, seal, seal)
        );
        assert_eq!(limits.line(u64::MAX), seal);
        assert_eq!(limits.lines(), 6);
        let blocks: usize = sessions.iter().map(|n| fixed + 2_048 * n + 1).sum();
        assert_eq!(limits.bytes(), (4_097 + blocks + seal + 1) as u64);
    }

    /// Strings are measured as written, escapes included, from their opening quote to
    /// the next unescaped one (or the end of the line); the column is the opening
    /// quote's, 1-based; text between strings does not count.
    #[test]
    fn long_string_measures_each_string_as_written() {
        let ls = |s: &str, max| long_string(s.as_bytes(), max);
        assert_eq!(ls(r#""abcd""#, 4), None);
        assert_eq!(ls(r#""abcde""#, 4), Some(1));
        assert_eq!(ls(r#"{"k":"abcde"}"#, 4), Some(6));
        assert_eq!(ls(r#"{"k":"abcd"}"#, 4), None);
        // An escaped quote does not end the string: `a\"b` is 4 bytes as written.
        assert_eq!(ls(r#""a\"b""#, 4), None);
        assert_eq!(ls(r#""a\"bc""#, 4), Some(1));
        // A short string then a long one: the long one's column.
        assert_eq!(ls(r#"["ab","abcde"]"#, 4), Some(7));
        // Text between strings is not a string: `"ab" xyzzy "cd"`.
        assert_eq!(ls(r#""ab" xyzzy "cd""#, 2), None);
        // An unterminated string runs to the end of the line, a final backslash too.
        assert_eq!(ls(r#"x"abcd"#, 4), None);
        assert_eq!(ls(r#"x"abcde"#, 4), Some(2));
        assert_eq!(ls("\"abc\\", 4), None);
        assert_eq!(ls("\"abcd\\", 4), Some(1));
        assert_eq!(ls("", 0), None);
        assert_eq!(ls(r#""""#, 0), None);
        assert_eq!(ls(r#""a""#, 0), Some(1));
        // parse_genesis names the rule and the column.
        let g = genesis_of(&[("07:00", "08:00")], 4);
        let text = String::from_utf8(write_genesis(&g)).unwrap();
        let long = text.replacen(
            &format!("\"{}\"", g.chain_id),
            &format!("\"{}\"", "c".repeat(GENESIS_MAX_STRING + 1)),
            1,
        );
        let column = long.find(&"c".repeat(10)).unwrap();
        assert_eq!(
            parse_genesis(long.as_bytes()).unwrap_err().to_string(),
            format!(
                "ledger check failed: malformed record: genesis: a string of more than \
                 {GENESIS_MAX_STRING} bytes at column {column}"
            )
        );
        let exact = text.replacen(
            &format!("\"{}\"", g.chain_id),
            &format!("\"{}\"", "c".repeat(GENESIS_MAX_STRING)),
            1,
        );
        // At the limit the string passes the scan (what comes after is not its business).
        if let Err(e) = parse_genesis(exact.as_bytes()) {
            assert!(!e.to_string().contains("a string of more than"), "{e}");
        }
    }

    /// `read_regular` reads a regular file whole up to its limit and refuses one byte
    /// more unread, a file longer than its size said (as /proc's are) at `limit + 1`
    /// bytes; `open_regular` names a folder, a device and a FIFO and follows a link.
    #[test]
    fn only_regular_files_are_read_and_only_up_to_their_limit() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"0123456789").unwrap();
        assert_eq!(read_regular(&f, 10).unwrap(), b"0123456789");
        assert_eq!(read_regular(&f, 11).unwrap(), b"0123456789");
        let too_big = |p: &std::path::Path, limit| read_regular(p, limit).unwrap_err().to_string();
        assert_eq!(
            too_big(&f, 9),
            "10 bytes or more, more than the 9 it may have"
        );
        assert_eq!(
            too_big(&f, 4),
            "10 bytes or more, more than the 4 it may have"
        );
        assert_eq!(open_regular(&f).unwrap().1, 10);
        #[cfg(target_os = "linux")]
        assert_eq!(
            too_big(std::path::Path::new("/proc/self/status"), 100),
            "101 bytes or more, more than the 100 it may have"
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert_eq!(read_regular(&link, 10).unwrap(), b"0123456789");
        let refused = |p: &std::path::Path| open_regular(p).unwrap_err().to_string();
        assert_eq!(refused(dir.path()), "a directory, not a regular file");
        assert_eq!(
            refused(std::path::Path::new("/dev/null")),
            "a device, not a regular file"
        );
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        assert_eq!(refused(&fifo), "a FIFO, not a regular file");
    }

    /// The chain id is derived from the genesis's body (protocol, commitment, keys): two
    /// runs share one only if they share all of it.
    #[test]
    fn chain_ids_differ_with_the_genesis_body() {
        let a = genesis_of(&[("07:00", "08:00")], 4);
        let b = genesis_of(&[("07:00", "09:00")], 4);
        for g in [&a, &b] {
            assert_eq!(g.chain_id, g.derive_chain_id());
            assert!(
                g.chain_id.starts_with("v2g-") && g.chain_id.len() == 36,
                "{}",
                g.chain_id
            );
        }
        assert_ne!(a.chain_id, b.chain_id);
        let mut c = a.clone();
        c.commitment.fleet_sha256 = "0".repeat(64);
        assert_ne!(c.derive_chain_id(), a.chain_id);
    }

    /// A record out of place is named by its line: one after the seal, a second genesis,
    /// the seal missing after the last line.
    #[test]
    fn records_out_of_place_are_named_by_their_line() {
        let g = genesis();
        let ledger = empty_ledger(&g);
        let file = write(&ledger);
        let lines: Vec<&[u8]> = file
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 2);
        let after = [lines[0], b"\n", lines[1], b"\n", lines[1], b"\n"].concat();
        let e = parse(&after, g.clone()).unwrap_err().to_string();
        assert!(
            e.contains("at line 3: malformed record: a record after the seal"),
            "{e}"
        );
        let twice = [lines[0], b"\n", lines[0], b"\n", lines[1], b"\n"].concat();
        let e = parse(&twice, g.clone()).unwrap_err().to_string();
        assert!(
            e.contains("at line 2: malformed record: a second genesis record"),
            "{e}"
        );
        let anchor_only = [lines[0], b"\n"].concat();
        let e = parse(&anchor_only, g).unwrap_err().to_string();
        assert!(
            e.contains("at line 2: malformed record: the ledger ends without its seal"),
            "{e}"
        );
    }

    /// A genesis file is refused for its size only above the limit: at the limit the
    /// size check passes (and the whitespace fails to parse).
    #[test]
    fn a_genesis_is_refused_for_its_size_only_above_the_limit() {
        let limit = GENESIS_MAX_BYTES as usize;
        let mut bytes = vec![b' '; limit];
        bytes[limit - 1] = b'\n';
        let e = parse_genesis(&bytes).unwrap_err().to_string();
        assert!(!e.contains("a genesis may have"), "{e}");
        bytes.push(b'\n');
        assert_eq!(
            parse_genesis(&bytes).unwrap_err().to_string(),
            format!(
                "ledger check failed: malformed record: genesis: {} bytes, more than the \
                 {limit} a genesis may have",
                limit + 1
            )
        );
    }
}
