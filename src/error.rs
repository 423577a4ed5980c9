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
    /// 1-based line number (the header is line 1).
    pub line: u64,
    /// 1-based column number (field index for CSV), 0 when the whole line is at fault.
    pub column: u64,
    /// The column's name where it has one (CSV header, TOML key).
    pub column_name: String,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)?;
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
    /// A user file broke one of MODEL.md section 6's rules (or its format).
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
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Drawing a figure failed.
    #[error("drawing a figure failed: {0}")]
    Plot(String),
    /// The caller's observer or progress callback stopped the run (e.g. on Ctrl-C).
    #[error("stopped before the end of the run")]
    Stopped,
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

/// A short, escaped excerpt of a value from a user's file, for error messages: at most 40
/// characters, control characters escaped, with the total length when cut.
pub fn excerpt(s: &str) -> String {
    const MAX: usize = 40;
    let n = s.chars().count();
    let head: String = s
        .chars()
        .take(MAX)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if n > MAX {
        format!("{head}… ({n} characters)")
    } else {
        head
    }
}
