//! The MATPOWER case reader (`.m` files, case format version 2).
//!
//! The reader does not run MATLAB: it reads the data statements (`mpc.version = '2';`,
//! `mpc.baseMVA = …;`, `mpc.bus = [ … ];`, `mpc.gen = …`, `mpc.branch = …`), skips any other
//! `mpc.<field> = …;` (`gencost`, `bus_name`, `areas`, …, which MATPOWER's power flow does
//! not use either), and executes exactly the unit conversions that MATPOWER's
//! distribution cases (`case33bw`, `case69`, `case141`, …) carry after their data; see
//! [`CONVERSIONS`]. Any other statement is refused with its position: the reader never
//! returns a network that MATPOWER would have computed differently.
//!
//! A returned [`Case`] is validated (see [`read`] for the rules): bus numbers unique,
//! every branch and generator at a bus of the case, exactly one slack bus with an
//! in-service generator, every bus connected to the slack through in-service branches,
//! impedances non-zero with non-negative resistance, every value finite where it is used.

mod lex;
mod validate;

use crate::network::error::NetworkError;
use lex::{Kind, Token};
use std::collections::BTreeMap;
use std::path::Path;

pub use validate::{Branch, Bus, BusType, Case, Gen};

/// The conversion statements the reader executes, as MATPOWER ships them (compared token
/// by token: white space and comments may differ, spellings may not). `pf = <number>;`
/// (with 0 < pf <= 1) is accepted besides these, as are the two multiple assignments
/// `[PQ, PV, …] = idx_bus;` and `[F_BUS, T_BUS, …] = idx_brch;` (any leading part of
/// MATPOWER's list of names, in its order).
pub const CONVERSIONS: [&str; 6] = [
    "Vbase = mpc.bus(1, BASE_KV) * 1e3;",
    "Sbase = mpc.baseMVA * 1e6;",
    "mpc.branch(:, [BR_R BR_X]) = mpc.branch(:, [BR_R BR_X]) / (Vbase^2 / Sbase);",
    "mpc.bus(:, [PD, QD]) = mpc.bus(:, [PD, QD]) / 1e3;",
    "mpc.bus(:, QD) = mpc.bus(:, PD) * sin(acos(pf));",
    "mpc.bus(:, PD) = mpc.bus(:, PD) * pf;",
];

/// The names `idx_bus` returns, in its output order, with their values (MATPOWER's
/// `lib/idx_bus.m`: the bus type codes, then the column indices).
const IDX_BUS: [(&str, f64); 21] = [
    ("PQ", 1.0),
    ("PV", 2.0),
    ("REF", 3.0),
    ("NONE", 4.0),
    ("BUS_I", 1.0),
    ("BUS_TYPE", 2.0),
    ("PD", 3.0),
    ("QD", 4.0),
    ("GS", 5.0),
    ("BS", 6.0),
    ("BUS_AREA", 7.0),
    ("VM", 8.0),
    ("VA", 9.0),
    ("BASE_KV", 10.0),
    ("ZONE", 11.0),
    ("VMAX", 12.0),
    ("VMIN", 13.0),
    ("LAM_P", 14.0),
    ("LAM_Q", 15.0),
    ("MU_VMAX", 16.0),
    ("MU_VMIN", 17.0),
];

/// The names `idx_brch` returns, in its output order, with their values (MATPOWER's
/// `lib/idx_brch.m`: column indices; note that the output order is not the column order).
const IDX_BRCH: [(&str, f64); 21] = [
    ("F_BUS", 1.0),
    ("T_BUS", 2.0),
    ("BR_R", 3.0),
    ("BR_X", 4.0),
    ("BR_B", 5.0),
    ("RATE_A", 6.0),
    ("RATE_B", 7.0),
    ("RATE_C", 8.0),
    ("TAP", 9.0),
    ("SHIFT", 10.0),
    ("BR_STATUS", 11.0),
    ("PF", 14.0),
    ("QF", 15.0),
    ("PT", 16.0),
    ("QT", 17.0),
    ("MU_SF", 18.0),
    ("MU_ST", 19.0),
    ("ANGMIN", 12.0),
    ("ANGMAX", 13.0),
    ("MU_ANGMIN", 20.0),
    ("MU_ANGMAX", 21.0),
];

/// Reads a MATPOWER case file (see the module documentation and [`parse_str`]).
pub fn read(path: &Path) -> Result<Case, NetworkError> {
    let text = std::fs::read_to_string(path).map_err(|source| NetworkError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_str(&text, path)
}

/// Reads a MATPOWER case from `text`; `file` names it in errors.
///
/// Refused, each with the file, line and column and the rule: a MATLAB construct the
/// reader does not know; any statement besides the data, the skipped `mpc.<field>`
/// assignments and [`CONVERSIONS`]; `mpc.version` other than `'2'`; a missing or
/// repeated `mpc.version`, `mpc.baseMVA`, `mpc.bus`, `mpc.gen` or `mpc.branch`; a cell
/// that is not a plain number (`135/sqrt(3)`); rows of unequal length or fewer columns
/// than the format has (bus 13, gen 10, branch 13) or more than it defines (bus 17, gen
/// 25, branch 21); and every rule of [`Case`]'s validation.
pub fn parse_str(text: &str, file: &Path) -> Result<Case, NetworkError> {
    let tokens = lex::lex(text, file)?;
    let raw = Parser::new(&tokens, file).parse()?;
    validate::validate(raw, file)
}

/// One numeric cell of a matrix and where it was written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell {
    pub v: f64,
    pub line: u64,
    pub col: u64,
}

/// A data matrix as read (after any conversions), with the position of its statement.
#[derive(Debug, Clone)]
pub(crate) struct Matrix {
    pub rows: Vec<Vec<Cell>>,
    pub line: u64,
    pub col: u64,
}

/// The case's data before validation.
#[derive(Debug)]
pub(crate) struct RawCase {
    pub name: String,
    pub base_mva: (f64, u64, u64),
    pub bus: Matrix,
    pub gen: Matrix,
    pub branch: Matrix,
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    file: &'a Path,
    name: String,
    version: Option<u64>,
    base_mva: Option<(f64, u64, u64)>,
    bus: Option<Matrix>,
    gen: Option<Matrix>,
    branch: Option<Matrix>,
    /// Variables the conversions defined: `idx_bus`/`idx_brch` names, `Vbase`, `Sbase`, `pf`.
    vars: BTreeMap<String, f64>,
    /// The conversion patterns, lexed once.
    patterns: Vec<Vec<Token>>,
}

impl<'a> Parser<'a> {
    fn new(toks: &'a [Token], file: &'a Path) -> Self {
        let patterns = CONVERSIONS
            .iter()
            .map(|p| {
                let mut t = lex::lex(p, Path::new("")).unwrap_or_default();
                // Drop the trailing `;` and line end: a statement's end is matched apart.
                while t
                    .last()
                    .is_some_and(|t| t.kind == Kind::Newline || t.is(';'))
                {
                    t.pop();
                }
                t
            })
            .collect();
        Parser {
            toks,
            pos: 0,
            file,
            name: file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            version: None,
            base_mva: None,
            bus: None,
            gen: None,
            branch: None,
            vars: BTreeMap::new(),
            patterns,
        }
    }

    fn err(&self, t: &Token, what: &str, rule: impl Into<String>) -> NetworkError {
        NetworkError::input(self.file, t.line, t.col, what, rule)
    }

    fn peek(&self, k: usize) -> Option<&'a Token> {
        self.toks.get(self.pos + k)
    }

    /// Statement boundaries: `;`, `,` or a line end outside brackets.
    fn at_end_of_statement(&self) -> bool {
        match self.peek(0) {
            None => true,
            Some(t) => t.kind == Kind::Newline || t.is(';') || t.is(','),
        }
    }

    fn parse(mut self) -> Result<RawCase, NetworkError> {
        let mut first = true;
        while let Some(t) = self.peek(0) {
            if t.kind == Kind::Newline || t.is(';') || t.is(',') {
                self.pos += 1;
                continue;
            }
            if let Kind::Ident(id) = &t.kind {
                if id == "function" {
                    if !first {
                        return Err(self.err(
                            t,
                            "function",
                            "a second `function`: a case file holds one function",
                        ));
                    }
                    self.function_line()?;
                    first = false;
                    continue;
                }
            }
            first = false;
            self.statement()?;
        }
        let whole = |what: &str, rule: &str| NetworkError::input(self.file, 0, 0, what, rule);
        if self.version.is_none() {
            return Err(whole(
                "mpc.version",
                "no `mpc.version = '2';`: only MATPOWER case format version 2 is read",
            ));
        }
        let base_mva = self
            .base_mva
            .ok_or_else(|| whole("mpc.baseMVA", "no `mpc.baseMVA = …;`"))?;
        let bus = self
            .bus
            .ok_or_else(|| whole("mpc.bus", "no `mpc.bus = [ … ];`"))?;
        let gen = self
            .gen
            .ok_or_else(|| whole("mpc.gen", "no `mpc.gen = [ … ];`"))?;
        let branch = self
            .branch
            .ok_or_else(|| whole("mpc.branch", "no `mpc.branch = [ … ];`"))?;
        Ok(RawCase {
            name: self.name,
            base_mva,
            bus,
            gen,
            branch,
        })
    }

    /// `function mpc = name` (optionally `()`), to the end of the line.
    fn function_line(&mut self) -> Result<(), NetworkError> {
        let start = &self.toks[self.pos];
        let ok = matches!(self.peek(1).map(|t| &t.kind), Some(Kind::Ident(s)) if s == "mpc")
            && self.peek(2).is_some_and(|t| t.is('='))
            && matches!(self.peek(3).map(|t| &t.kind), Some(Kind::Ident(_)));
        if !ok {
            return Err(self.err(
                start,
                "function",
                "expected `function mpc = <name>`: only MATPOWER case format version 2 \
                 (one struct `mpc`) is read",
            ));
        }
        if let Some(Kind::Ident(n)) = self.peek(3).map(|t| &t.kind) {
            self.name = n.clone();
        }
        self.pos += 4;
        if self.peek(0).is_some_and(|t| t.is('(')) && self.peek(1).is_some_and(|t| t.is(')')) {
            self.pos += 2;
        }
        match self.peek(0) {
            None => Ok(()),
            Some(t) if t.kind == Kind::Newline || t.is(';') || t.is(',') => Ok(()),
            Some(t) => Err(self.err(
                t,
                "function",
                format!(
                    "unexpected {} after `function mpc = {}`",
                    t.describe(),
                    self.name
                ),
            )),
        }
    }

    fn statement(&mut self) -> Result<(), NetworkError> {
        let t = &self.toks[self.pos];
        // mpc.<field> = …
        let is_mpc = matches!(&t.kind, Kind::Ident(s) if s == "mpc");
        if is_mpc
            && self.peek(1).is_some_and(|t| t.is('.'))
            && self.peek(3).is_some_and(|t| t.is('='))
        {
            if let Some(Kind::Ident(field)) = self.peek(2).map(|t| &t.kind) {
                let field = field.clone();
                self.pos += 4;
                return self.data_statement(t, &field);
            }
        }
        if let Kind::Ident(id) = &t.kind {
            if id == "end" {
                // `end` of the function: only at the end of the file.
                self.pos += 1;
                if self.rest_is_blank() {
                    return Ok(());
                }
                return Err(self.err(t, "end", "`end` before the end of the file"));
            }
        }
        if t.is('[') {
            return self.idx_statement();
        }
        if matches!(&t.kind, Kind::Ident(s) if s == "pf") && self.peek(1).is_some_and(|t| t.is('='))
        {
            return self.pf_statement();
        }
        for k in 0..self.patterns.len() {
            if self.matches_pattern(k) {
                self.pos += self.patterns[k].len();
                return self.conversion(k, t);
            }
        }
        Err(self.err(
            t,
            "",
            format!(
                "statement not understood: {}; a case file may hold only its data \
                 (`mpc.<field> = …;`) and MATPOWER's unit conversions ({}), nothing else \
                 is executed",
                self.statement_text(),
                CONVERSIONS.join(" ")
            ),
        ))
    }

    fn rest_is_blank(&self) -> bool {
        self.toks[self.pos..]
            .iter()
            .all(|t| t.kind == Kind::Newline || t.is(';'))
    }

    /// The statement starting at `pos`, for messages (at most 80 characters).
    fn statement_text(&self) -> String {
        let mut s = String::new();
        for t in &self.toks[self.pos..] {
            if t.kind == Kind::Newline || t.is(';') {
                break;
            }
            if t.space_before && !s.is_empty() {
                s.push(' ');
            }
            match &t.kind {
                Kind::Ident(x) | Kind::Num(_, x) => s.push_str(x),
                Kind::Str(x) => {
                    s.push('\'');
                    s.push_str(x);
                    s.push('\'');
                }
                Kind::Punct(c) => s.push(*c),
                Kind::Newline => {}
            }
            if s.chars().count() > 80 {
                s = s.chars().take(77).collect::<String>() + "...";
                break;
            }
        }
        format!("`{s}`")
    }

    fn matches_pattern(&self, k: usize) -> bool {
        let p = &self.patterns[k];
        if self.toks.len() < self.pos + p.len() {
            return false;
        }
        let same = p
            .iter()
            .zip(&self.toks[self.pos..])
            .all(|(a, b)| a.kind == b.kind);
        if !same {
            return false;
        }
        match self.toks.get(self.pos + p.len()) {
            None => true,
            Some(t) => t.kind == Kind::Newline || t.is(';') || t.is(','),
        }
    }

    fn need_var(&self, at: &Token, name: &str, defined_by: &str) -> Result<f64, NetworkError> {
        self.vars.get(name).copied().ok_or_else(|| {
            self.err(
                at,
                "",
                format!("`{name}` is used before it is defined (by {defined_by})"),
            )
        })
    }

    /// Executes conversion `k` (an index into [`CONVERSIONS`]), whose tokens are consumed.
    fn conversion(&mut self, k: usize, at: &'a Token) -> Result<(), NetworkError> {
        let idx_bus = "`[PQ, PV, …] = idx_bus;`";
        let idx_brch = "`[F_BUS, T_BUS, …] = idx_brch;`";
        match k {
            0 => {
                let base_kv = self.need_var(at, "BASE_KV", idx_bus)? as usize;
                let bus = self.need_matrix(at, "bus")?;
                let cell = bus
                    .rows
                    .first()
                    .and_then(|r| r.get(base_kv - 1))
                    .copied()
                    .ok_or_else(|| {
                        self.err(
                            at,
                            "Vbase",
                            "mpc.bus has no first row with a BASE_KV column",
                        )
                    })?;
                let vbase = cell.v * 1e3;
                if !(vbase.is_finite() && vbase > 0.0) {
                    return Err(NetworkError::input(
                        self.file,
                        cell.line,
                        cell.col,
                        "mpc.bus BASE_KV",
                        format!(
                            "the first bus's baseKV ({}) must be positive: `Vbase = \
                             mpc.bus(1, BASE_KV) * 1e3;` at line {} divides by it",
                            cell.v, at.line
                        ),
                    ));
                }
                self.vars.insert("Vbase".into(), vbase);
            }
            1 => {
                let (mva, _, _) = self.base_mva.ok_or_else(|| {
                    self.err(at, "Sbase", "`mpc.baseMVA` is used before it is defined")
                })?;
                self.vars.insert("Sbase".into(), mva * 1e6);
            }
            2 => {
                let r = self.need_var(at, "BR_R", idx_brch)? as usize;
                let x = self.need_var(at, "BR_X", idx_brch)? as usize;
                let vbase = self.need_var(at, "Vbase", "`Vbase = …`")?;
                let sbase = self.need_var(at, "Sbase", "`Sbase = …`")?;
                let zbase = vbase * vbase / sbase;
                self.scale_columns(at, "branch", &[r, x], |v, _| v / zbase)?;
            }
            3 => {
                let pd = self.need_var(at, "PD", idx_bus)? as usize;
                let qd = self.need_var(at, "QD", idx_bus)? as usize;
                self.scale_columns(at, "bus", &[pd, qd], |v, _| v / 1e3)?;
            }
            4 => {
                let pd = self.need_var(at, "PD", idx_bus)? as usize;
                let qd = self.need_var(at, "QD", idx_bus)? as usize;
                let pf = self.need_var(at, "pf", "`pf = …`")?;
                let s = pf.acos().sin();
                self.assign_column(at, "bus", qd, pd, |p| p * s)?;
            }
            _ => {
                let pd = self.need_var(at, "PD", idx_bus)? as usize;
                let pf = self.need_var(at, "pf", "`pf = …`")?;
                self.assign_column(at, "bus", pd, pd, |p| p * pf)?;
            }
        }
        self.end_statement(at)
    }

    fn need_matrix(&self, at: &Token, which: &str) -> Result<&Matrix, NetworkError> {
        let m = match which {
            "bus" => self.bus.as_ref(),
            _ => self.branch.as_ref(),
        };
        m.ok_or_else(|| {
            self.err(
                at,
                "",
                format!("`mpc.{which}` is used before it is defined"),
            )
        })
    }

    fn matrix_mut(&mut self, at: &Token, which: &str) -> Result<&mut Matrix, NetworkError> {
        let file = self.file;
        let m = match which {
            "bus" => self.bus.as_mut(),
            _ => self.branch.as_mut(),
        };
        m.ok_or_else(|| {
            NetworkError::input(
                file,
                at.line,
                at.col,
                "",
                format!("`mpc.{which}` is used before it is defined"),
            )
        })
    }

    fn scale_columns(
        &mut self,
        at: &Token,
        which: &str,
        cols: &[usize],
        f: impl Fn(f64, usize) -> f64,
    ) -> Result<(), NetworkError> {
        let file = self.file;
        let m = self.matrix_mut(at, which)?;
        for row in &mut m.rows {
            for &c in cols {
                let cell = row.get_mut(c - 1).ok_or_else(|| {
                    NetworkError::input(
                        file,
                        at.line,
                        at.col,
                        "",
                        format!("mpc.{which} has no column {c}"),
                    )
                })?;
                cell.v = f(cell.v, c);
            }
        }
        Ok(())
    }

    /// `mpc.<which>(:, dst) = f(mpc.<which>(:, src))`.
    fn assign_column(
        &mut self,
        at: &Token,
        which: &str,
        dst: usize,
        src: usize,
        f: impl Fn(f64) -> f64,
    ) -> Result<(), NetworkError> {
        let file = self.file;
        let m = self.matrix_mut(at, which)?;
        for row in &mut m.rows {
            if row.len() < dst.max(src) {
                return Err(NetworkError::input(
                    file,
                    at.line,
                    at.col,
                    "",
                    format!("mpc.{which} has no column {}", dst.max(src)),
                ));
            }
            row[dst - 1].v = f(row[src - 1].v);
        }
        Ok(())
    }

    /// After a statement: `;`, `,`, a line end or the end of the file.
    fn end_statement(&mut self, start: &Token) -> Result<(), NetworkError> {
        if self.at_end_of_statement() {
            if self.peek(0).is_some() {
                self.pos += 1;
            }
            return Ok(());
        }
        let t = &self.toks[self.pos];
        Err(self.err(
            t,
            "",
            format!(
                "unexpected {} in the statement that starts at line {}, column {}",
                t.describe(),
                start.line,
                start.col
            ),
        ))
    }

    /// `pf = <number>;` with 0 < pf <= 1.
    fn pf_statement(&mut self) -> Result<(), NetworkError> {
        let start = &self.toks[self.pos];
        self.pos += 2;
        let (v, t) = self.scalar("pf")?;
        if !(v > 0.0 && v <= 1.0) {
            return Err(self.err(t, "pf", "the power factor `pf` must be in (0, 1]"));
        }
        self.vars.insert("pf".into(), v);
        self.end_statement(start)
    }

    /// A plain number, optionally signed; returns it and its first token.
    fn scalar(&mut self, what: &str) -> Result<(f64, &'a Token), NetworkError> {
        let first = self.peek(0).ok_or_else(|| {
            NetworkError::input(self.file, 0, 0, what, "the file ends inside a statement")
        })?;
        let mut sign = 1.0;
        if first.is('-') || first.is('+') {
            if first.is('-') {
                sign = -1.0;
            }
            self.pos += 1;
        }
        match self.peek(0) {
            Some(t) => match &t.kind {
                Kind::Num(v, _) => {
                    self.pos += 1;
                    if !self.at_end_of_statement() {
                        return Err(self.err(
                            first,
                            what,
                            "not a plain number (expressions are not evaluated)",
                        ));
                    }
                    Ok((sign * v, first))
                }
                _ => Err(self.err(
                    t,
                    what,
                    format!("expected a number, found {}", t.describe()),
                )),
            },
            None => Err(self.err(first, what, "the file ends inside a statement")),
        }
    }

    /// `[A, B, …] = idx_bus;` or `… = idx_brch;`.
    fn idx_statement(&mut self) -> Result<(), NetworkError> {
        let start = &self.toks[self.pos];
        let mut names = Vec::new();
        let mut j = self.pos + 1;
        loop {
            let t = self
                .toks
                .get(j)
                .ok_or_else(|| self.err(start, "", "the file ends inside `[ … ]`"))?;
            match &t.kind {
                Kind::Ident(s) => names.push((s.clone(), t)),
                Kind::Punct(',') => {}
                Kind::Punct(']') => break,
                _ => {
                    return Err(self.err(
                        start,
                        "",
                        format!(
                            "statement not understood: {}; the only multiple assignments \
                             read are `[PQ, PV, …] = idx_bus;` and `[F_BUS, T_BUS, …] = \
                             idx_brch;`",
                            self.statement_text()
                        ),
                    ))
                }
            }
            j += 1;
        }
        let eq = self.toks.get(j + 1);
        let func = self.toks.get(j + 2);
        let list: &[(&str, f64)] = match (eq, func.map(|t| &t.kind)) {
            (Some(e), Some(Kind::Ident(f))) if e.is('=') && f == "idx_bus" => &IDX_BUS,
            (Some(e), Some(Kind::Ident(f))) if e.is('=') && f == "idx_brch" => &IDX_BRCH,
            _ => {
                return Err(self.err(
                    start,
                    "",
                    format!(
                        "statement not understood: {}; the only multiple assignments read \
                         are `[PQ, PV, …] = idx_bus;` and `[F_BUS, T_BUS, …] = idx_brch;`",
                        self.statement_text()
                    ),
                ))
            }
        };
        if names.len() > list.len() {
            return Err(self.err(start, "", "more names than the function returns"));
        }
        for (k, (name, t)) in names.iter().enumerate() {
            if name != list[k].0 {
                return Err(self.err(
                    t,
                    "",
                    format!(
                        "name {} of this list must be `{}` (MATPOWER's order), found `{name}`",
                        k + 1,
                        list[k].0
                    ),
                ));
            }
        }
        for (k, (name, _)) in names.iter().enumerate() {
            self.vars.insert(name.clone(), list[k].1);
        }
        self.pos = j + 3;
        if self.peek(0).is_some_and(|t| t.is('(')) && self.peek(1).is_some_and(|t| t.is(')')) {
            self.pos += 2;
        }
        self.end_statement(start)
    }

    /// After `mpc.<field> =`.
    fn data_statement(&mut self, start: &'a Token, field: &str) -> Result<(), NetworkError> {
        let what = format!("mpc.{field}");
        match field {
            "version" => {
                if self.version.is_some() {
                    return Err(self.err(start, &what, "`mpc.version` is set twice"));
                }
                let t = self
                    .peek(0)
                    .ok_or_else(|| self.err(start, &what, "the file ends inside a statement"))?;
                match &t.kind {
                    Kind::Str(s) if s == "2" => {}
                    _ => {
                        return Err(self.err(
                            t,
                            &what,
                            format!(
                                "`mpc.version` must be '2' (MATPOWER case format version \
                                 2), found {}",
                                t.describe()
                            ),
                        ))
                    }
                }
                self.pos += 1;
                self.version = Some(t.line);
                self.end_statement(start)
            }
            "baseMVA" => {
                if self.base_mva.is_some() {
                    return Err(self.err(start, &what, "`mpc.baseMVA` is set twice"));
                }
                let (v, t) = self.scalar(&what)?;
                if !(v.is_finite() && v > 0.0) {
                    return Err(self.err(t, &what, "`mpc.baseMVA` must be positive"));
                }
                self.base_mva = Some((v, t.line, t.col));
                self.end_statement(start)
            }
            "bus" | "gen" | "branch" => {
                let taken = match field {
                    "bus" => self.bus.is_some(),
                    "gen" => self.gen.is_some(),
                    _ => self.branch.is_some(),
                };
                if taken {
                    return Err(self.err(start, &what, format!("`{what}` is set twice")));
                }
                let m = self.matrix(start, &what)?;
                match field {
                    "bus" => self.bus = Some(m),
                    "gen" => self.gen = Some(m),
                    _ => self.branch = Some(m),
                }
                self.end_statement(start)
            }
            _ => self.skip_value(start),
        }
    }

    /// Skips the value of an `mpc.<field>` the power flow does not use, brackets balanced.
    fn skip_value(&mut self, start: &Token) -> Result<(), NetworkError> {
        let mut stack: Vec<&Token> = Vec::new();
        while let Some(t) = self.peek(0) {
            match &t.kind {
                Kind::Punct('[') | Kind::Punct('{') | Kind::Punct('(') => stack.push(t),
                Kind::Punct(c @ (']' | '}' | ')')) => {
                    let open = stack.pop().ok_or_else(|| {
                        self.err(t, "", format!("`{c}` without its opening bracket"))
                    })?;
                    let want = match open.kind {
                        Kind::Punct('[') => ']',
                        Kind::Punct('{') => '}',
                        _ => ')',
                    };
                    if *c != want {
                        return Err(self.err(
                            t,
                            "",
                            format!(
                                "`{c}` closes the bracket opened at line {}, column {}",
                                open.line, open.col
                            ),
                        ));
                    }
                }
                Kind::Newline | Kind::Punct(';') | Kind::Punct(',') if stack.is_empty() => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {}
            }
            self.pos += 1;
        }
        match stack.last() {
            Some(open) => Err(self.err(
                open,
                "",
                format!(
                    "this bracket (in the statement at line {}) is never closed",
                    start.line
                ),
            )),
            None => Ok(()),
        }
    }

    /// `[ rows ]`: numbers only, rows separated by `;` or line ends.
    fn matrix(&mut self, start: &Token, what: &str) -> Result<Matrix, NetworkError> {
        let open = self
            .peek(0)
            .ok_or_else(|| self.err(start, what, "the file ends inside a statement"))?;
        if !open.is('[') {
            return Err(self.err(
                open,
                what,
                format!("expected `[` and a matrix, found {}", open.describe()),
            ));
        }
        self.pos += 1;
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        let mut row: Vec<Cell> = Vec::new();
        loop {
            let t = self.peek(0).ok_or_else(|| {
                self.err(
                    open,
                    what,
                    "this `[` is never closed by `]` before the end of the file",
                )
            })?;
            match &t.kind {
                Kind::Punct(']') => {
                    self.pos += 1;
                    if !row.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                    break;
                }
                Kind::Newline | Kind::Punct(';') => {
                    self.pos += 1;
                    if !row.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                }
                Kind::Punct(',') => {
                    if row.is_empty() {
                        return Err(self.err(t, what, "`,` without a cell before it"));
                    }
                    self.pos += 1;
                }
                _ => {
                    let cell = self.cell(t, what)?;
                    row.push(cell);
                }
            }
        }
        if let Some(first) = rows.first() {
            let n = first.len();
            for r in &rows {
                if r.len() != n {
                    let c = r[0];
                    return Err(NetworkError::input(
                        self.file,
                        c.line,
                        c.col,
                        what,
                        format!(
                            "this row has {} columns, the first row (line {}) has {n}",
                            r.len(),
                            first[0].line
                        ),
                    ));
                }
            }
        }
        Ok(Matrix {
            rows,
            line: start.line,
            col: start.col,
        })
    }

    /// One cell: a number with an optional sign right before it, or `Inf`/`NaN`.
    fn cell(&mut self, first: &'a Token, what: &str) -> Result<Cell, NetworkError> {
        let not_plain = |p: &Self| {
            p.err(
                first,
                what,
                format!(
                    "cell {} is not a plain number (expressions are not evaluated)",
                    p.cell_text(first)
                ),
            )
        };
        let mut sign = 1.0;
        let mut t = first;
        if first.is('-') || first.is('+') {
            sign = if first.is('-') { -1.0 } else { 1.0 };
            let next = self.peek(1).ok_or_else(|| not_plain(self))?;
            if next.space_before {
                return Err(not_plain(self));
            }
            self.pos += 1;
            t = next;
        }
        let v = match &t.kind {
            Kind::Num(v, _) => *v,
            Kind::Ident(s) if s == "Inf" || s == "inf" => f64::INFINITY,
            Kind::Ident(s) if s == "NaN" || s == "nan" => f64::NAN,
            _ => return Err(not_plain(self)),
        };
        self.pos += 1;
        // What follows must end the cell: a separator, or a new cell after white space.
        if let Some(n) = self.peek(0) {
            let ends = match &n.kind {
                Kind::Newline | Kind::Punct(';') | Kind::Punct(',') | Kind::Punct(']') => true,
                // After white space these start the next element (refused in turn).
                Kind::Num(..)
                | Kind::Ident(_)
                | Kind::Str(_)
                | Kind::Punct('(')
                | Kind::Punct('[')
                | Kind::Punct('{') => n.space_before,
                Kind::Punct('-') | Kind::Punct('+') => {
                    n.space_before
                        && self
                            .peek(1)
                            .is_some_and(|m| !m.space_before && m.kind != Kind::Newline)
                }
                _ => false,
            };
            if !ends {
                return Err(not_plain(self));
            }
        }
        Ok(Cell {
            v: sign * v,
            line: first.line,
            col: first.col,
        })
    }

    /// The text of the cell starting at `first` (up to the next white space), for messages.
    fn cell_text(&self, first: &Token) -> String {
        let i = self
            .toks
            .iter()
            .position(|t| std::ptr::eq(t, first))
            .unwrap_or(self.pos);
        let mut s = String::new();
        for (k, t) in self.toks[i..].iter().enumerate() {
            if k > 0 && (t.space_before || t.kind == Kind::Newline || t.is(';')) {
                break;
            }
            match &t.kind {
                Kind::Ident(x) | Kind::Num(_, x) => s.push_str(x),
                Kind::Str(x) => {
                    s.push('\'');
                    s.push_str(x);
                    s.push('\'');
                }
                Kind::Punct(c) => s.push(*c),
                Kind::Newline => {}
            }
            if s.len() > 40 {
                break;
            }
        }
        format!("`{s}`")
    }
}

#[cfg(test)]
mod tests;
