//! Typed errors of the library.
//!
//! Every error that comes from a user's file carries its position (file, line, column) and
//! the rule it broke, so the command-line tool can print one line that lets the user fix
//! the file without a debugger (the habit of rust-csv).

use std::path::PathBuf;

/// Where in a user's file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The file, as the user named it.
    pub file: PathBuf,
    /// 1-based line number (the header is line 1); 0 when the problem is with the file as
    /// a whole (e.g. a slot no row covers), so that no line past the file's end is named.
    pub line: u64,
    /// 1-based column number (field index for CSV), 0 when the whole line is at fault.
    pub column: u64,
    /// The column's name where it has one (CSV header, TOML key).
    pub column_name: String,
}

/// `file:line:column (column name)`, or `file (column name)` when `line` is 0.
impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line != 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.column_name.is_empty() {
            write!(f, " ({})", self.column_name)?;
        }
        Ok(())
    }
}

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A user file broke one of docs/model.md §6's rules (or its format).
    #[error("{pos}: {rule}")]
    Input {
        /// Where.
        pos: Position,
        /// The rule that was broken, in words.
        rule: String,
    },
    /// A parameter (scenario file or command line) is out of its domain.
    #[error("invalid parameter {name}: {rule}")]
    Parameter {
        /// The parameter's name as the user spells it.
        name: String,
        /// The rule that was broken.
        rule: String,
    },
    /// The ledger (trust layer) failed a check: where, and why (see `ledger::audit`).
    #[error("{0}")]
    Ledger(#[from] crate::ledger::LedgerError),
    /// A ledger file (`ledger.jsonl`, `genesis.json`) failed a check: the file, then
    /// where in it and why.
    #[error("{}: {source}", path.display())]
    LedgerFile {
        /// The file.
        path: PathBuf,
        /// The failed check.
        #[source]
        source: crate::ledger::LedgerError,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The power flow of a slot did not converge (docs/model.md §9): the slot, the
    /// policy whose flow it was, and why.
    #[error("power flow of slot {slot} ({policy}): {reason}")]
    PowerFlow {
        /// The slot.
        slot: usize,
        /// `scheme` or `baseline`.
        policy: String,
        /// The solver's account of why.
        reason: String,
    },
    /// Another run is writing the output folder `dir`: it holds the folder's lock file
    /// `lock` (docs/model.md §8), so this run is refused before it simulates anything.
    #[error(
        "the output folder '{}' is being written by another run{} (it holds the lock {}): \
         wait for that run to end, or choose another output folder",
        dir.display(),
        holder.map(|p| format!(", process {p}")).unwrap_or_default(),
        lock.display()
    )]
    OutputBusy {
        /// The output folder.
        dir: PathBuf,
        /// Its lock file, `.NAME.v2g-lock` beside it.
        lock: PathBuf,
        /// The process id the holder wrote into the lock file, when it could be read.
        holder: Option<u32>,
    },
    /// The optimum (`--policy optimal`, docs/model.md §10.2) could not be computed: the
    /// linear program's solver failed or found it infeasible; `reason` says which.
    #[error("the optimal schedule (policy optimal): {reason}")]
    Optimum {
        /// What failed, in the solver's terms and the model's.
        reason: String,
    },
    /// Drawing a figure failed.
    #[error("drawing a figure failed: {0}")]
    Plot(String),
    /// The caller's observer or progress callback stopped the run (e.g. on Ctrl-C).
    #[error("stopped before the end of the run")]
    Stopped,
    /// A sweep cannot be merged: some of its points have no complete run, or were run
    /// for another spec (`v2g sweep merge` exits 1).
    #[error("{}", incomplete_message(dir, *total, missing, foreign))]
    SweepIncomplete {
        /// The sweep's folder.
        dir: PathBuf,
        /// Points of the sweep.
        total: usize,
        /// Points without a complete run: `id (key = value, …)`.
        missing: Vec<String>,
        /// Points run for another spec: `id (key = value, …)`.
        foreign: Vec<String>,
    },
}

/// At most this many points are named in a [`Error::SweepIncomplete`] message.
const NAMED_POINTS: usize = 10;

fn incomplete_message(
    dir: &std::path::Path,
    total: usize,
    missing: &[String],
    foreign: &[String],
) -> String {
    let list = |v: &[String]| {
        let mut s = v
            .iter()
            .take(NAMED_POINTS)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("; ");
        if v.len() > NAMED_POINTS {
            s += &format!("; and {} more", v.len() - NAMED_POINTS);
        }
        s
    };
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "{} of {total} points have no complete run (a shard not run, still running, or \
             killed): {}",
            missing.len(),
            list(missing)
        ));
    }
    if !foreign.is_empty() {
        parts.push(format!(
            "{} of {total} points were run for a different spec: {}",
            foreign.len(),
            list(foreign)
        ));
    }
    format!("cannot merge {}: {}", dir.display(), parts.join(". "))
}

impl From<crate::network::NetworkError> for Error {
    /// A case file's located error stays located; an unreadable file stays an I/O error.
    fn from(e: crate::network::NetworkError) -> Self {
        use crate::network::NetworkError as N;
        match e {
            N::Input { pos, rule } => Error::Input { pos, rule },
            N::Io { path, source } => Error::Io { path, source },
            other => Error::param("--network", other.to_string()),
        }
    }
}

impl Error {
    /// An input error at a position.
    pub fn input(
        file: impl Into<PathBuf>,
        line: u64,
        column: u64,
        column_name: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Error::Input {
            pos: Position {
                file: file.into(),
                line,
                column,
                column_name: column_name.into(),
            },
            rule: rule.into(),
        }
    }

    /// An I/O error on a path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A parameter error.
    pub fn param(name: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Parameter {
            name: name.into(),
            rule: rule.into(),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// At most this many characters of a value read from a user's file are shown in an error.
pub const EXCERPT_CHARS: usize = 40;

/// Escapes `s` to printable ASCII, cut to at most `limit` characters of output (never in
/// the middle of an escape). Printable ASCII stays as it is, except `"` and `\`, which
/// are escaped only when `quotes`; everything else is escaped (`\n`, `\u{0}`, `\u{430}`),
/// so neither control characters nor look-alike letters reach the terminal unseen.
/// Returns the text and whether it was cut.
fn escape_cut(s: &str, limit: usize, quotes: bool) -> (String, bool) {
    let mut out = String::new();
    for c in s.chars() {
        let esc: String = match c {
            '"' | '\\' if quotes => c.escape_default().collect(),
            ' '..='~' => c.to_string(),
            '\t' | '\n' | '\r' => c.escape_default().collect(),
            _ => c.escape_unicode().collect(),
        };
        if out.len() + esc.len() > limit {
            return (out, true);
        }
        out.push_str(&esc);
    }
    (out, false)
}

/// A short, escaped excerpt of a value read from a user's file, to quote in an error:
/// the value in double quotes, escaped to printable ASCII like a Rust string literal
/// (non-ASCII as `\u{…}`), and, when its escaped form is longer than [`EXCERPT_CHARS`],
/// cut with `…` and followed by its length, e.g. `"aaaa…" (1048576 chars)`.
///
/// Every value from a user's file that an error message quotes goes through here (or
/// [`excerpt_message`]), so that a megabyte-long or binary field gives a short, readable
/// error line.
pub fn excerpt(s: &str) -> String {
    match escape_cut(s, EXCERPT_CHARS, true) {
        (text, false) => format!("\"{text}\""),
        (text, true) => format!("\"{text}…\" ({} chars)", s.chars().count()),
    }
}

/// `t` (printable ASCII holding Rust-style escapes) without a last escape cut short.
fn without_partial_escape(t: &str) -> &str {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
        } else if i + 1 == b.len() {
            return &t[..i];
        } else if b[i + 1] == b'u' {
            match t[i..].find('}') {
                Some(j) => i += j + 1,
                None => return &t[..i],
            }
        } else {
            i += 2;
        }
    }
    t
}

/// At most this many characters of a third-party message (besides its excerpts) are kept.
const MESSAGE_CHARS: usize = 240;

/// A message from a parser (serde_json, toml, csv) that may quote the bad input, made
/// short and safe like [`excerpt`]: every value it quotes between backticks (`` `…` ``) or
/// double quotes (serde's `string "…"`, already escaped) is cut to [`EXCERPT_CHARS`] with
/// `…` and its length as quoted (for serde's double quotes, the length of its escaped
/// form), and everything else is escaped to printable ASCII and cut to a few hundred
/// characters in all.
pub fn excerpt_message(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(i) = rest.find(['`', '"']) {
        out.push_str(&escape_cut(&rest[..i], MESSAGE_CHARS + 1, false).0);
        let open = rest.as_bytes()[i] as char;
        let body = &rest[i + 1..];
        // The closing delimiter; inside double quotes, skip backslash escapes.
        let close = if open == '`' {
            body.find('`')
        } else {
            let mut escaped = false;
            body.char_indices()
                .find(|&(_, c)| {
                    let end = c == '"' && !escaped;
                    escaped = c == '\\' && !escaped;
                    end
                })
                .map(|(j, _)| j)
        };
        let (value, after) = match close {
            Some(j) => (&body[..j], &body[j + 1..]),
            None => (body, ""),
        };
        // Already-escaped text inside serde's double quotes keeps its backslashes (and is
        // not cut in the middle of one of its escapes).
        let (text, cut) = escape_cut(value, EXCERPT_CHARS, false);
        out.push(open);
        out.push_str(if cut && open == '"' {
            without_partial_escape(&text)
        } else {
            &text
        });
        if cut {
            out.push('…');
        }
        if close.is_some() {
            out.push(open);
        }
        if cut {
            out.push_str(&format!(" ({} chars)", value.chars().count()));
        }
        rest = after;
        if out.chars().count() > MESSAGE_CHARS {
            break;
        }
    }
    out.push_str(&escape_cut(rest, MESSAGE_CHARS + 1, false).0);
    if out.chars().count() > MESSAGE_CHARS {
        out = out.chars().take(MESSAGE_CHARS).collect();
        out.push('…');
    }
    out
}

/// A JSON parser's message without its `at line L column C` (which callers report in
/// their own way), made short and safe by [`excerpt_message`].
pub fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    excerpt_message(full.strip_suffix(&suffix).unwrap_or(&full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incomplete_sweep_names_its_points_up_to_a_limit() {
        let names =
            |n: usize, p: &str| -> Vec<String> { (0..n).map(|i| format!("{p}{i}")).collect() };
        let e = Error::SweepIncomplete {
            dir: "out".into(),
            total: 20,
            missing: names(2, "m"),
            foreign: vec![],
        };
        assert_eq!(
            e.to_string(),
            "cannot merge out: 2 of 20 points have no complete run (a shard not run, still \
             running, or killed): m0; m1"
        );
        let e = Error::SweepIncomplete {
            dir: "out".into(),
            total: 20,
            missing: names(1, "m"),
            foreign: names(NAMED_POINTS + 2, "f"),
        };
        let s = e.to_string();
        assert!(
            s.contains(": m0. 12 of 20 points were run for a different spec: f0; "),
            "{s}"
        );
        assert!(s.ends_with("f9; and 2 more"), "{s}");
        let e = Error::SweepIncomplete {
            dir: "out".into(),
            total: 20,
            missing: vec![],
            foreign: names(NAMED_POINTS, "f"),
        };
        assert!(
            e.to_string()
                .ends_with("spec: f0; f1; f2; f3; f4; f5; f6; f7; f8; f9"),
            "{e}"
        );
    }

    #[test]
    fn position_without_a_line_names_the_file_only() {
        let e = Error::input("g.csv", 0, 1, "time", "no row for slot 3");
        assert_eq!(e.to_string(), "g.csv (time): no row for slot 3");
        let e = Error::input("g.csv", 0, 0, "", "empty");
        assert_eq!(e.to_string(), "g.csv: empty");
        let e = Error::input("g.csv", 4, 2, "base_load_kw", "bad");
        assert_eq!(e.to_string(), "g.csv:4:2 (base_load_kw): bad");
        let e = Error::input("g.csv", 1, 0, "", "bad");
        assert_eq!(e.to_string(), "g.csv:1:0: bad");
    }

    #[test]
    fn excerpts_are_escaped_and_short() {
        assert_eq!(excerpt("bus"), "\"bus\"");
        assert_eq!(excerpt(""), "\"\"");
        assert_eq!(excerpt("a\0b\x1b[31m"), "\"a\\u{0}b\\u{1b}[31m\"");
        assert_eq!(excerpt("tab\there\n"), "\"tab\\there\\n\"");
        assert_eq!(excerpt("say \"hi\" \\"), "\"say \\\"hi\\\" \\\\\"");
        // Cyrillic a looks like the Latin one: shown escaped.
        assert_eq!(excerpt("b\u{430}s"), "\"b\\u{430}s\"");
        // Exactly EXCERPT_CHARS escaped characters: whole; one more: cut, with the length.
        let fits = "x".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&fits), format!("\"{fits}\""));
        let long = "x".repeat(EXCERPT_CHARS + 1);
        assert_eq!(excerpt(&long), format!("\"{fits}…\" (41 chars)"));
        let huge = "y".repeat(1 << 20);
        let e = excerpt(&huge);
        assert!(e.len() < 70 && e.ends_with("(1048576 chars)"), "{e}");
        // An escape is never cut in half.
        let nuls = "\0".repeat(30);
        let e = excerpt(&nuls);
        assert_eq!(e, format!("\"{}…\" (30 chars)", "\\u{0}".repeat(8)));
    }

    #[test]
    fn json_messages_lose_their_position_and_the_bulk_of_values() {
        let e = serde_json::from_str::<u64>(&format!("\"{}\"", "x".repeat(5000))).unwrap_err();
        assert_eq!(
            json_message(&e),
            format!(
                "invalid type: string \"{}…\" (5000 chars), expected u64",
                "x".repeat(EXCERPT_CHARS)
            )
        );
        let e = serde_json::from_str::<Vec<u64>>("[").unwrap_err();
        assert_eq!(json_message(&e), "EOF while parsing a list");
    }

    #[test]
    fn messages_keep_their_words_and_lose_the_bulk_of_quoted_values() {
        let short = "unknown variant `blok`, expected `genesis` or `block`";
        assert_eq!(excerpt_message(short), short);
        let msg = format!(
            "unknown variant `{}`, expected `genesis` or `block`",
            "z".repeat(1 << 20)
        );
        let m = excerpt_message(&msg);
        assert_eq!(
            m,
            format!(
                "unknown variant `{}…` (1048576 chars), expected `genesis` or `block`",
                "z".repeat(EXCERPT_CHARS)
            )
        );
        let msg = format!(
            "invalid type: string {:?}, expected u64",
            format!("q\"{}", "\u{1}".repeat(100_000))
        );
        let m = excerpt_message(&msg);
        assert!(m.starts_with("invalid type: string \"q\\\"\\u{1}"), "{m}");
        assert!(m.ends_with("\\u{1}…\" (500003 chars), expected u64"), "{m}");
        assert_eq!(without_partial_escape("ab\\u{1"), "ab");
        assert_eq!(without_partial_escape("ab\\"), "ab");
        assert_eq!(without_partial_escape("ab\\\\"), "ab\\\\");
        assert_eq!(without_partial_escape("a\\\"b\\u{1}"), "a\\\"b\\u{1}");
        // Raw control characters and non-ASCII outside quotes are escaped too; an
        // unterminated quote and sheer length are bounded.
        assert_eq!(excerpt_message("a\u{1b}b é"), "a\\u{1b}b \\u{e9}");
        let m = excerpt_message(&format!("`{}", "w".repeat(1000)));
        assert!(m.len() < 70 && m.ends_with("… (1000 chars)"), "{m}");
        let m = excerpt_message(&"word ".repeat(100_000));
        assert_eq!(m.chars().count(), MESSAGE_CHARS + 1, "{m}");
        let m = excerpt_message(&"`a` ".repeat(100_000));
        assert!(m.chars().count() <= MESSAGE_CHARS + 1, "{m}");
    }
}
