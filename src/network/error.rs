//! The network's typed errors.
//!
//! Like the rest of `v2g`, an error that comes from a user's file carries its position
//! (file, line, column) and the rule it broke, so that one printed line lets the user fix
//! the file. Kept local to the network module so that it can be moved as a whole; it
//! converts into the library's error where it is used.

use std::path::PathBuf;

/// Where in a case file a problem was found: the library's [`crate::error::Position`]
/// (`column` counts characters where the offending token starts; `column_name` says what
/// is there, e.g. `mpc.branch BR_R`).
pub use crate::error::Position;

/// Every error of the network module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// A case file broke the format or one of the network's rules.
    #[error("{pos}: {rule}")]
    Input {
        /// Where.
        pos: Position,
        /// The rule that was broken, in words.
        rule: String,
    },
    /// Reading the case file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The caller's injections do not fit the network (wrong length, not finite).
    #[error("invalid injections: {0}")]
    Injections(String),
    /// Newton-Raphson did not reach the tolerance within the iteration limit (or the
    /// iterates left the numbers); the caller names the slot.
    #[error(
        "the power flow did not converge: largest mismatch {mismatch:.3e} p.u. after \
         {iterations} iterations ({reason})"
    )]
    NotConverged {
        /// Newton iterations done.
        iterations: usize,
        /// The largest absolute power mismatch at the last iterate (p.u.), NaN if unknown.
        mismatch: f64,
        /// Why it stopped: iteration limit, singular Jacobian, non-finite iterate.
        reason: String,
    },
}

impl NetworkError {
    /// An [`NetworkError::Input`] at `file:line:column` about `what`.
    pub(crate) fn input(
        file: &std::path::Path,
        line: u64,
        column: u64,
        what: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        NetworkError::Input {
            pos: Position {
                file: file.to_path_buf(),
                line,
                column,
                column_name: what.into(),
            },
            rule: rule.into(),
        }
    }
}
