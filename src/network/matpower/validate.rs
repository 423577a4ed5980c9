//! A case's typed rows and the rules a case must keep.

use super::{Cell, Matrix, RawCase};
use crate::network::error::NetworkError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// MATPOWER's bus types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusType {
    /// 1: load bus, P and Q given.
    Pq,
    /// 2: generator bus, P and |V| given (a PV bus without an in-service generator is
    /// solved as a PQ bus, as MATPOWER does).
    Pv,
    /// 3: the slack (reference) bus, |V| and angle given.
    Slack,
    /// 4: isolated, left out of the power flow.
    Isolated,
}

/// One row of `mpc.bus`, in MW, MVAr, p.u. and degrees (after the file's conversions).
#[derive(Debug, Clone, PartialEq)]
pub struct Bus {
    /// Bus number (`BUS_I`), as the file names it.
    pub id: u32,
    /// `BUS_TYPE`.
    pub kind: BusType,
    /// Active load `PD` (MW).
    pub pd_mw: f64,
    /// Reactive load `QD` (MVAr).
    pub qd_mvar: f64,
    /// Shunt conductance `GS` (MW consumed at 1 p.u. voltage).
    pub gs_mw: f64,
    /// Shunt susceptance `BS` (MVAr injected at 1 p.u. voltage).
    pub bs_mvar: f64,
    /// Voltage magnitude `VM` in the file (p.u.; not used by the flow).
    pub vm: f64,
    /// Voltage angle `VA` (degrees); the slack bus's is the flow's reference angle.
    pub va_deg: f64,
    /// Base voltage `BASE_KV` (kV).
    pub base_kv: f64,
    /// Upper voltage limit `VMAX` (p.u.).
    pub vmax: f64,
    /// Lower voltage limit `VMIN` (p.u.).
    pub vmin: f64,
    /// The line of the file where the row starts.
    pub line: u64,
}

/// One row of `mpc.gen` (MW, MVAr, p.u.).
#[derive(Debug, Clone, PartialEq)]
pub struct Gen {
    /// The bus number (`GEN_BUS`).
    pub bus: u32,
    /// Index of that bus in [`Case::buses`].
    pub bus_index: usize,
    /// Active output `PG` (MW).
    pub pg_mw: f64,
    /// Reactive output `QG` (MVAr); used only at PQ buses.
    pub qg_mvar: f64,
    /// Reactive limits `QMAX`, `QMIN` (MVAr); not enforced by the flow.
    pub qmax_mvar: f64,
    /// See `qmax_mvar`.
    pub qmin_mvar: f64,
    /// Voltage set-point `VG` (p.u.).
    pub vg: f64,
    /// `GEN_STATUS > 0`.
    pub in_service: bool,
    /// The line of the file where the row starts.
    pub line: u64,
}

/// One row of `mpc.branch`, in p.u. on the case's MVA base (after the file's conversions).
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// From bus number (`F_BUS`).
    pub from: u32,
    /// To bus number (`T_BUS`).
    pub to: u32,
    /// Index of the from bus in [`Case::buses`].
    pub from_index: usize,
    /// Index of the to bus in [`Case::buses`].
    pub to_index: usize,
    /// Series resistance `BR_R` (p.u.), >= 0.
    pub r: f64,
    /// Series reactance `BR_X` (p.u.); |r + jx| > 0.
    pub x: f64,
    /// Total line charging susceptance `BR_B` (p.u.).
    pub b: f64,
    /// Long-term rating `RATE_A` (MVA); `None` when the file has 0 (no rating).
    pub rate_a_mva: Option<f64>,
    /// Off-nominal turns ratio (`TAP`, with the file's 0 read as 1).
    pub tap: f64,
    /// Phase shift angle `SHIFT` (degrees).
    pub shift_deg: f64,
    /// `BR_STATUS` is 1 (0: out of service, left out of the flow).
    pub in_service: bool,
    /// The line of the file where the row starts.
    pub line: u64,
}

/// A validated MATPOWER case: every bus number unique, every branch and generator at a
/// bus of the case, exactly one slack bus with an in-service generator, every bus that is
/// not isolated (type 4) connected to the slack through in-service branches, every
/// branch with |z| > 0 and r >= 0.
#[derive(Debug, Clone)]
pub struct Case {
    name: String,
    file: PathBuf,
    base_mva: f64,
    buses: Vec<Bus>,
    gens: Vec<Gen>,
    branches: Vec<Branch>,
    slack: usize,
}

impl Case {
    /// The case's name (`function mpc = <name>`, else the file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The file it was read from (as the caller named it).
    pub fn file(&self) -> &Path {
        &self.file
    }
    /// `mpc.baseMVA`.
    pub fn base_mva(&self) -> f64 {
        self.base_mva
    }
    /// The buses in the file's order; every per-bus vector of this module uses it.
    pub fn buses(&self) -> &[Bus] {
        &self.buses
    }
    /// The generators in the file's order.
    pub fn gens(&self) -> &[Gen] {
        &self.gens
    }
    /// The branches in the file's order; every per-branch vector of this module uses it.
    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }
    /// Index of the slack bus in [`Case::buses`].
    pub fn slack(&self) -> usize {
        self.slack
    }
    /// Index in [`Case::buses`] of the bus numbered `id`.
    pub fn bus_index(&self, id: u32) -> Option<usize> {
        self.buses.iter().position(|b| b.id == id)
    }
}

const BUS_COLS: (usize, usize) = (13, 17);
const GEN_COLS: (usize, usize) = (10, 25);
const BRANCH_COLS: (usize, usize) = (13, 21);

const BUS_NAMES: [&str; 13] = [
    "BUS_I", "BUS_TYPE", "PD", "QD", "GS", "BS", "BUS_AREA", "VM", "VA", "BASE_KV", "ZONE", "VMAX",
    "VMIN",
];
const GEN_NAMES: [&str; 10] = [
    "GEN_BUS",
    "PG",
    "QG",
    "QMAX",
    "QMIN",
    "VG",
    "MBASE",
    "GEN_STATUS",
    "PMAX",
    "PMIN",
];
const BRANCH_NAMES: [&str; 13] = [
    "F_BUS",
    "T_BUS",
    "BR_R",
    "BR_X",
    "BR_B",
    "RATE_A",
    "RATE_B",
    "RATE_C",
    "TAP",
    "SHIFT",
    "BR_STATUS",
    "ANGMIN",
    "ANGMAX",
];

struct Ctx<'a> {
    file: &'a Path,
}

impl Ctx<'_> {
    fn at(&self, c: &Cell, what: String, rule: impl Into<String>) -> NetworkError {
        NetworkError::input(self.file, c.line, c.col, what, rule)
    }

    /// Checks the column count of `m`.
    fn columns(
        &self,
        m: &Matrix,
        name: &str,
        (lo, hi): (usize, usize),
    ) -> Result<(), NetworkError> {
        if let Some(r) = m.rows.first() {
            if r.len() < lo || r.len() > hi {
                return Err(self.at(
                    &r[0],
                    format!("mpc.{name}"),
                    format!(
                        "mpc.{name} has {} columns; MATPOWER case format version 2 has {lo} \
                         to {hi}",
                        r.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A finite value.
    fn finite(
        &self,
        row: &[Cell],
        col: usize,
        m: &str,
        names: &[&str],
    ) -> Result<f64, NetworkError> {
        let c = &row[col];
        if !c.v.is_finite() {
            return Err(self.at(
                c,
                format!("mpc.{m} {}", names[col]),
                format!("{} must be a finite number, found {}", names[col], c.v),
            ));
        }
        Ok(c.v)
    }

    /// A bus number: a positive integer.
    fn bus_number(
        &self,
        row: &[Cell],
        col: usize,
        m: &str,
        names: &[&str],
    ) -> Result<u32, NetworkError> {
        let c = &row[col];
        if !(c.v.is_finite() && c.v >= 1.0 && c.v.fract() == 0.0 && c.v <= u32::MAX as f64) {
            return Err(self.at(
                c,
                format!("mpc.{m} {}", names[col]),
                format!("a bus number must be a positive integer, found {}", c.v),
            ));
        }
        Ok(c.v as u32)
    }

    /// A status: 0 or 1.
    fn status(
        &self,
        row: &[Cell],
        col: usize,
        m: &str,
        names: &[&str],
    ) -> Result<bool, NetworkError> {
        let c = &row[col];
        if c.v == 0.0 {
            Ok(false)
        } else if c.v == 1.0 {
            Ok(true)
        } else {
            Err(self.at(
                c,
                format!("mpc.{m} {}", names[col]),
                format!("{} must be 0 or 1, found {}", names[col], c.v),
            ))
        }
    }

    /// Index of bus `id`, or an error naming the bus.
    fn lookup(
        &self,
        index: &HashMap<u32, usize>,
        row: &[Cell],
        col: usize,
        m: &str,
        names: &[&str],
    ) -> Result<(u32, usize), NetworkError> {
        let id = self.bus_number(row, col, m, names)?;
        match index.get(&id) {
            Some(&i) => Ok((id, i)),
            None => Err(self.at(
                &row[col],
                format!("mpc.{m} {}", names[col]),
                format!("bus {id} is not in mpc.bus"),
            )),
        }
    }
}

pub(crate) fn validate(raw: RawCase, file: &Path) -> Result<Case, NetworkError> {
    let cx = Ctx { file };
    cx.columns(&raw.bus, "bus", BUS_COLS)?;
    cx.columns(&raw.gen, "gen", GEN_COLS)?;
    cx.columns(&raw.branch, "branch", BRANCH_COLS)?;
    let whole =
        |what: &str, m: &Matrix, rule: String| NetworkError::input(file, m.line, m.col, what, rule);
    if raw.bus.rows.is_empty() {
        return Err(whole("mpc.bus", &raw.bus, "mpc.bus has no rows".into()));
    }

    // Buses.
    let mut buses = Vec::with_capacity(raw.bus.rows.len());
    let mut index: HashMap<u32, usize> = HashMap::new();
    let mut slack: Option<usize> = None;
    let n = &BUS_NAMES;
    for row in &raw.bus.rows {
        let id = cx.bus_number(row, 0, "bus", n)?;
        if let Some(&first) = index.get(&id) {
            let first_line: u64 = buses.get(first).map(|b: &Bus| b.line).unwrap_or(0);
            return Err(cx.at(
                &row[0],
                "mpc.bus BUS_I".into(),
                format!("bus {id} is already defined at line {first_line}"),
            ));
        }
        let kind = match row[1].v {
            1.0 => BusType::Pq,
            2.0 => BusType::Pv,
            3.0 => BusType::Slack,
            4.0 => BusType::Isolated,
            v => {
                return Err(cx.at(
                    &row[1],
                    "mpc.bus BUS_TYPE".into(),
                    format!(
                        "BUS_TYPE must be 1 (PQ), 2 (PV), 3 (slack) or 4 (isolated), found {v}"
                    ),
                ))
            }
        };
        if kind == BusType::Slack {
            if let Some(s) = slack {
                return Err(cx.at(
                    &row[1],
                    "mpc.bus BUS_TYPE".into(),
                    format!(
                        "a second slack (type 3) bus: bus {} (line {}) is one already",
                        buses.get(s).map(|b: &Bus| b.id).unwrap_or(0),
                        buses.get(s).map(|b: &Bus| b.line).unwrap_or(0)
                    ),
                ));
            }
            slack = Some(buses.len());
        }
        let bus = Bus {
            id,
            kind,
            pd_mw: cx.finite(row, 2, "bus", n)?,
            qd_mvar: cx.finite(row, 3, "bus", n)?,
            gs_mw: cx.finite(row, 4, "bus", n)?,
            bs_mvar: cx.finite(row, 5, "bus", n)?,
            vm: cx.finite(row, 7, "bus", n)?,
            va_deg: cx.finite(row, 8, "bus", n)?,
            base_kv: cx.finite(row, 9, "bus", n)?,
            vmax: row[11].v,
            vmin: row[12].v,
            line: row[0].line,
        };
        index.insert(id, buses.len());
        buses.push(bus);
    }
    let slack = slack.ok_or_else(|| {
        whole(
            "mpc.bus BUS_TYPE",
            &raw.bus,
            "no slack (type 3) bus: exactly one is needed".into(),
        )
    })?;

    // Generators.
    let g = &GEN_NAMES;
    let mut gens = Vec::with_capacity(raw.gen.rows.len());
    let mut setpoint: HashMap<usize, (f64, u64)> = HashMap::new();
    for row in &raw.gen.rows {
        let (bus, bus_index) = cx.lookup(&index, row, 0, "gen", g)?;
        let in_service = match row[7].v {
            v if v > 0.0 && v.is_finite() => true,
            v if v <= 0.0 => false,
            _ => {
                return Err(cx.at(
                    &row[7],
                    "mpc.gen GEN_STATUS".into(),
                    "GEN_STATUS must be a number".to_string(),
                ))
            }
        };
        let gen = Gen {
            bus,
            bus_index,
            pg_mw: cx.finite(row, 1, "gen", g)?,
            qg_mvar: cx.finite(row, 2, "gen", g)?,
            qmax_mvar: row[3].v,
            qmin_mvar: row[4].v,
            vg: cx.finite(row, 5, "gen", g)?,
            in_service,
            line: row[0].line,
        };
        let kind = buses[bus_index].kind;
        if in_service && matches!(kind, BusType::Pv | BusType::Slack) {
            if gen.vg <= 0.0 {
                return Err(cx.at(
                    &row[5],
                    "mpc.gen VG".into(),
                    format!(
                        "the voltage set-point VG must be positive, found {}",
                        gen.vg
                    ),
                ));
            }
            match setpoint.get(&bus_index) {
                Some(&(vg, line)) if vg != gen.vg => {
                    return Err(cx.at(
                        &row[5],
                        "mpc.gen VG".into(),
                        format!(
                            "bus {bus} already has the voltage set-point {vg} from the \
                             generator at line {line}; in-service generators at one bus \
                             must agree"
                        ),
                    ))
                }
                Some(_) => {}
                None => {
                    setpoint.insert(bus_index, (gen.vg, gen.line));
                }
            }
        }
        gens.push(gen);
    }
    if !setpoint.contains_key(&slack) {
        let b = &buses[slack];
        return Err(NetworkError::input(
            file,
            b.line,
            raw.bus.rows[slack][0].col,
            "mpc.bus BUS_I",
            format!(
                "the slack bus {} has no in-service generator (its voltage set-point VG \
                 would be unknown)",
                b.id
            ),
        ));
    }

    // Branches.
    let r_ = &BRANCH_NAMES;
    let mut branches = Vec::with_capacity(raw.branch.rows.len());
    for row in &raw.branch.rows {
        let (from, from_index) = cx.lookup(&index, row, 0, "branch", r_)?;
        let (to, to_index) = cx.lookup(&index, row, 1, "branch", r_)?;
        if from_index == to_index {
            return Err(cx.at(
                &row[1],
                "mpc.branch T_BUS".into(),
                format!("the branch connects bus {from} to itself"),
            ));
        }
        let r = cx.finite(row, 2, "branch", r_)?;
        let x = cx.finite(row, 3, "branch", r_)?;
        if r < 0.0 {
            return Err(cx.at(
                &row[2],
                "mpc.branch BR_R".into(),
                format!("negative resistance BR_R = {r}"),
            ));
        }
        if r == 0.0 && x == 0.0 {
            return Err(cx.at(
                &row[2],
                "mpc.branch BR_R".into(),
                "zero impedance (BR_R = BR_X = 0): MATPOWER's branch model needs |r + jx| > 0",
            ));
        }
        let b = cx.finite(row, 4, "branch", r_)?;
        let rate = cx.finite(row, 5, "branch", r_)?;
        if rate < 0.0 {
            return Err(cx.at(
                &row[5],
                "mpc.branch RATE_A".into(),
                format!("RATE_A must be >= 0 (0: no rating), found {rate}"),
            ));
        }
        let tap = cx.finite(row, 8, "branch", r_)?;
        if tap < 0.0 {
            return Err(cx.at(
                &row[8],
                "mpc.branch TAP".into(),
                format!("TAP must be >= 0 (0: no transformer, ratio 1), found {tap}"),
            ));
        }
        let shift = cx.finite(row, 9, "branch", r_)?;
        let in_service = cx.status(row, 10, "branch", r_)?;
        if in_service {
            for (i, col) in [(from_index, 0), (to_index, 1)] {
                if buses[i].kind == BusType::Isolated {
                    return Err(cx.at(
                        &row[col],
                        format!("mpc.branch {}", r_[col]),
                        format!(
                            "an in-service branch ends at bus {}, which is isolated (type 4)",
                            buses[i].id
                        ),
                    ));
                }
            }
        }
        branches.push(Branch {
            from,
            to,
            from_index,
            to_index,
            r,
            x,
            b,
            rate_a_mva: if rate > 0.0 { Some(rate) } else { None },
            tap: if tap == 0.0 { 1.0 } else { tap },
            shift_deg: shift,
            in_service,
            line: row[0].line,
        });
    }

    // Every bus that is not isolated reaches the slack through in-service branches.
    let nb = buses.len();
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); nb];
    for br in branches.iter().filter(|b| b.in_service) {
        adj[br.from_index].push(br.to_index);
        adj[br.to_index].push(br.from_index);
    }
    let mut seen = vec![false; nb];
    let mut stack = vec![slack];
    seen[slack] = true;
    while let Some(i) = stack.pop() {
        for &k in &adj[i] {
            if !seen[k] {
                seen[k] = true;
                stack.push(k);
            }
        }
    }
    for (i, b) in buses.iter().enumerate() {
        if !seen[i] && b.kind != BusType::Isolated {
            return Err(NetworkError::input(
                file,
                b.line,
                raw.bus.rows[i][0].col,
                "mpc.bus BUS_I",
                format!(
                    "bus {} is not connected to the slack bus {} through in-service \
                     branches (an island; mark it type 4 if it is meant to be isolated)",
                    b.id, buses[slack].id
                ),
            ));
        }
    }

    Ok(Case {
        name: raw.name,
        file: file.to_path_buf(),
        base_mva: raw.base_mva.0,
        buses,
        gens,
        branches,
        slack,
    })
}
