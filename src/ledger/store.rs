//! The ledger's files: `genesis.json`, the genesis record on one line, and
//! `ledger.jsonl`, one JSON record per line: `{"genesis":"<hash>"}` first (the hash of
//! the genesis record the chain starts from), then `{"block":{…}}` per slot, each line
//! ending in a newline.
//!
//! Reading is strict: every line must be exactly the canonical serialisation of what it
//! parses to (no extra whitespace, lowercase hex, no other spelling of a number), so any
//! change to the file's bytes is a change to the records, which the audit then catches.

use serde::{Deserialize, Serialize};

use crate::error::json_message;
use crate::ledger::block::{Block, Genesis};
use crate::ledger::chain::Ledger;
use crate::ledger::units::Hash;
use crate::ledger::{Fault, LedgerError};

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum RecordRef<'a> {
    Genesis(&'a Hash),
    Block(&'a Block),
}

#[derive(Deserialize)]
#[allow(clippy::large_enum_variant)] // parsed once per line, moved out at once
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum Record {
    Genesis(Hash),
    Block(Block),
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
    out
}

/// Parses `genesis.json`: one canonical line.
pub fn parse_genesis(bytes: &[u8]) -> Result<Genesis, LedgerError> {
    let format = |what: String| LedgerError::global(Fault::Format(format!("genesis: {what}")));
    let line = bytes
        .strip_suffix(b"\n")
        .ok_or_else(|| format("the file does not end in a newline".into()))?;
    let g: Genesis = serde_json::from_slice(line)
        .map_err(|e| format(format!("{} at column {}", json_message(&e), e.column())))?;
    if line_of(&g).strip_suffix(b"\n") != Some(line) {
        return Err(format("not in canonical form".into()));
    }
    Ok(g)
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
            let canon = match &rec {
                Record::Genesis(g) => line_of(&RecordRef::Genesis(g)),
                Record::Block(b) => line_of(&RecordRef::Block(b)),
            };
            if canon[..canon.len() - 1] != **l {
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
        Some(Ok(Record::Block(_))) => {
            return Err(format(
                1,
                "the first record must be the genesis hash".into(),
            ))
        }
        Some(Err(e)) => return Err(e),
        None => return Err(format(1, "empty file".into())),
    }
    let mut blocks = Vec::with_capacity(lines.len().saturating_sub(1));
    for (i, r) in records.enumerate() {
        match r? {
            Record::Block(b) => blocks.push(b),
            Record::Genesis(_) => {
                return Err(format(i as u64 + 2, "a second genesis record".into()))
            }
        }
    }
    Ok(Ledger { genesis, blocks })
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
                    "a record of more than {} bytes, the most this ledger's blocks can need",
                    self.limit
                ));
            }
            return format("the last line does not end in a newline".into());
        }
        self.buf.pop();
        if self.buf.len() > self.limit {
            return format(format!(
                "a record of more than {} bytes, the most this ledger's blocks can need",
                self.limit
            ));
        }
        Ok(Some(&self.buf))
    }
}

/// The longest line a block of this genesis can need: generous room per session, per SCP
/// and for the fixed parts. A longer line is refused before it is read whole.
pub fn line_limit(g: &Genesis) -> usize {
    65_536usize
        .saturating_add(g.scps.len().saturating_mul(2_048))
        .saturating_add(g.evs.len().saturating_mul(2_048))
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
        Record::Block(_) => Err(format("the first record must be the genesis hash".into())),
    }
}

/// Parses one block line (line `n` of the file), strictly: canonical form only.
pub fn parse_block(line: &[u8], n: u64) -> Result<Block, LedgerError> {
    let format = |what: String| LedgerError::global(Fault::Format(what)).on_line(n);
    let rec: Record = serde_json::from_slice(line)
        .map_err(|e| format(format!("{} at column {}", json_message(&e), e.column())))?;
    match rec {
        Record::Block(b) => {
            let canon = line_of(&RecordRef::Block(&b));
            if canon[..canon.len() - 1] != *line {
                return Err(format("not in canonical form".into()));
            }
            Ok(b)
        }
        Record::Genesis(_) => Err(format("a second genesis record".into())),
    }
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
    }
    match serde_json::from_slice::<Rec>(line).ok()? {
        Rec::Block(b) => Some((b.oracle.p_rt_exact, b.oracle.e_limit_kwh)),
        Rec::Genesis(_) => None,
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
        let mut sc = crate::data::scenario::Scenario::default();
        sc.horizon.slots = 2;
        let run =
            crate::sim::Run::new(crate::data::fleet::Fleet::new(evs).unwrap(), None, sc).unwrap();
        crate::ledger::record::LedgerBuilder::fresh(&run)
            .unwrap()
            .genesis()
            .clone()
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
        let ledger = Ledger {
            genesis: g.clone(),
            blocks: vec![],
        };
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
                format!("unknown variant `{cut}` (1048576 chars), expected `genesis` or `block`"),
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
}
