//! A lexer for the small subset of MATLAB that MATPOWER case files use.
//!
//! Comments (`%` to the end of the line, `%{ … %}` blocks) vanish, `...` joins a line to
//! the next, every other line end is a [`Kind::Newline`] token. Every token knows its
//! line, its column and whether white space came before it: in a matrix `[1 -2]` is two
//! cells but `[1 - 2]` and `[1-2]` are expressions, which the reader refuses.

use crate::network::error::NetworkError;
use std::path::Path;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A name: letters, digits and `_`, starting with a letter.
    Ident(String),
    /// A number literal; the text is kept so that patterns can match its spelling.
    Num(f64, String),
    /// A quoted string (`'…'` or `"…"`), quotes removed, doubled quotes undone.
    Str(String),
    /// One punctuation or operator character: `= [ ] { } ( ) ; , : . * / ^ + - ' \ < > & | ~ !`.
    Punct(char),
    /// The end of a line (not after `...`).
    Newline,
}

/// A token and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// What it is.
    pub kind: Kind,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub col: u64,
    /// White space (or a line start, or a comment) came right before it.
    pub space_before: bool,
}

impl Token {
    /// Is this the punctuation character `c`?
    pub fn is(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }

    /// The token as the user wrote it (approximately), for messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Ident(s) => format!("`{s}`"),
            Kind::Num(_, s) => format!("`{s}`"),
            Kind::Str(s) => format!("the string '{s}'"),
            Kind::Punct(c) => format!("`{c}`"),
            Kind::Newline => "the end of the line".to_string(),
        }
    }
}

/// Splits `text` into tokens; an unterminated string or block comment, or a character
/// that MATLAB does not know, is a located error.
pub(crate) fn lex(text: &str, file: &Path) -> Result<Vec<Token>, NetworkError> {
    let mut out = Vec::new();
    let mut in_block_comment: Option<u64> = None;
    for (li, raw_line) in text.lines().enumerate() {
        let line = li as u64 + 1;
        let trimmed = raw_line.trim();
        if let Some(start) = in_block_comment {
            if trimmed == "%}" {
                in_block_comment = None;
            }
            let _ = start;
            continue;
        }
        if trimmed == "%{" {
            in_block_comment = Some(line);
            continue;
        }
        let chars: Vec<char> = raw_line.chars().collect();
        let mut i = 0;
        let mut space_before = true;
        let mut continued = false;
        while i < chars.len() {
            let c = chars[i];
            let col = i as u64 + 1;
            if c == ' ' || c == '\t' || c == '\r' || c == '\u{feff}' {
                space_before = true;
                i += 1;
                continue;
            }
            if c == '%' || c == '#' {
                break;
            }
            if c == '.' && chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
                // Continuation: the rest of the line is a comment, no line end.
                continued = true;
                break;
            }
            let push = |out: &mut Vec<Token>, kind: Kind, sb: bool| {
                out.push(Token {
                    kind,
                    line,
                    col,
                    space_before: sb,
                })
            };
            if c.is_ascii_alphabetic() {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                push(&mut out, Kind::Ident(s), space_before);
                space_before = false;
                continue;
            }
            let starts_number = c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()));
            if starts_number {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                if i < chars.len() && chars[i] == '.' {
                    // `1.` is a number, but `1.*x` and `1./x` are operators after `1`.
                    let next = chars.get(i + 1);
                    if !matches!(next, Some('*') | Some('/') | Some('^') | Some('\'')) {
                        i += 1;
                        while i < chars.len() && chars[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                    let mut j = i + 1;
                    if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                        j += 1;
                    }
                    if j < chars.len() && chars[j].is_ascii_digit() {
                        while j < chars.len() && chars[j].is_ascii_digit() {
                            j += 1;
                        }
                        i = j;
                    }
                }
                let s: String = chars[start..i].iter().collect();
                let v: f64 = s.parse().map_err(|_| {
                    NetworkError::input(file, line, col, "", format!("`{s}` is not a number"))
                })?;
                push(&mut out, Kind::Num(v, s), space_before);
                space_before = false;
                continue;
            }
            if c == '"' || (c == '\'' && quote_starts_string(out.last(), space_before, line)) {
                let quote = c;
                let mut s = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < chars.len() {
                    if chars[j] == quote {
                        if chars.get(j + 1) == Some(&quote) {
                            s.push(quote);
                            j += 2;
                            continue;
                        }
                        closed = true;
                        break;
                    }
                    s.push(chars[j]);
                    j += 1;
                }
                if !closed {
                    return Err(NetworkError::input(
                        file,
                        line,
                        col,
                        "",
                        "unterminated string (a quote opens here and the line ends)",
                    ));
                }
                push(&mut out, Kind::Str(s), space_before);
                space_before = false;
                i = j + 1;
                continue;
            }
            if "=[]{}();,:.*/^+-'\\<>&|~!@".contains(c) {
                push(&mut out, Kind::Punct(c), space_before);
                space_before = false;
                i += 1;
                continue;
            }
            return Err(NetworkError::input(
                file,
                line,
                col,
                "",
                format!("unexpected character {c:?}"),
            ));
        }
        if !continued {
            out.push(Token {
                kind: Kind::Newline,
                line,
                col: chars.len() as u64 + 1,
                space_before: true,
            });
        }
    }
    if let Some(start) = in_block_comment {
        return Err(NetworkError::input(
            file,
            start,
            1,
            "",
            "block comment `%{` is never closed by `%}`",
        ));
    }
    Ok(out)
}

/// In MATLAB a `'` right after a name, a number or a closing bracket (no space between)
/// is the transpose operator; anywhere else it opens a string.
fn quote_starts_string(prev: Option<&Token>, space_before: bool, line: u64) -> bool {
    match prev {
        None => true,
        Some(t) if t.line != line || space_before => true,
        Some(t) => !matches!(
            t.kind,
            Kind::Ident(_)
                | Kind::Num(..)
                | Kind::Punct(')')
                | Kind::Punct(']')
                | Kind::Punct('}')
                | Kind::Punct('\'')
                | Kind::Punct('.')
        ),
    }
}
