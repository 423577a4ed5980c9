//! A run's network (docs/model.md §9): the case, its charging sites with their
//! transformers, the base load spread over the case's load buses, and one AC power flow
//! per slot and policy.
//!
//! * **Base load.** Slot `t`'s base load `L(t)` (the grid file's `base_load_kw` times the
//!   scenario's `network_load_scale`) is spread over the case's buses in proportion to
//!   their own loads: bus `b` draws `L(t)·PD_b/ΣPD` kW and `L(t)·QD_b/ΣPD` kvar, so the
//!   buses' active loads sum to `L(t)` and each bus keeps its power factor. Without a
//!   grid file, every slot has the case's own loads, times `network_load_scale`.
//! * **Sites.** A site's EVs draw their net power `P` (charging positive, discharging
//!   negative, kW, the slot's energy over its 0.25 h) at the site's bus, with
//!   `Q = P·tan(acos(pf))` at the site's power factor (unity by default). Its transformer
//!   carries `|S| = |P|/pf`; its loading is `|S|` over `transformer_kva`.
//! * **Limits reported.** A bus's voltage outside the case's `[VMIN, VMAX]`, a branch
//!   above its `RATE_A` (branches without a rating are not loaded), a site above its
//!   transformer's rating.

use serde::{Deserialize, Serialize};

use crate::network::matpower::Case;
use crate::network::pf::{Injections, PowerFlow, Solution, Start};
use crate::network::NetworkError;

/// Hours in a slot: a slot's energy (kWh) over it is its mean power (kW).
pub const SLOT_HOURS: f64 = 0.25;

/// A voltage or loading this far past its limit counts as a violation (p.u., or a share
/// of the rating): below it is the flow's tolerance.
const VIOLATION_TOL: f64 = 1e-9;

/// A charging site (scenario `[[sites]]`): where its EVs connect and its transformer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The site's name: 1 to 64 printable ASCII characters, unique in the scenario; the
    /// fleet's `site` column names it.
    pub name: String,
    /// The case's bus number (`BUS_I`) the site connects at.
    pub bus: u32,
    /// The site transformer's rating, kVA, in `(0, 1e7]`: the limit of `|S|` that binds
    /// the price game (docs/model.md §9.3). Absent: no limit, no loading reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformer_kva: Option<f64>,
    /// The site's power factor, in `[0.1, 1]` (1, unity, by default): its EVs draw
    /// `Q = P·tan(acos(pf))`.
    #[serde(default = "unity", skip_serializing_if = "is_unity")]
    pub power_factor: f64,
}

fn unity() -> f64 {
    1.0
}

fn is_unity(v: &f64) -> bool {
    *v == 1.0
}

/// Largest `transformer_kva`.
pub const MAX_TRANSFORMER_KVA: f64 = 1e7;

impl Site {
    /// The most net power `|P|` the site may draw or feed back, kW: `transformer_kva·pf`.
    pub fn limit_kw(&self) -> Option<f64> {
        self.transformer_kva.map(|s| s * self.power_factor)
    }

    /// The rule the site breaks on its own, as (key, rule), if any.
    pub fn rule(&self) -> Option<(&'static str, String)> {
        let n = &self.name;
        if n.is_empty() || n.len() > 64 || !n.chars().all(|c| ('\x21'..='\x7e').contains(&c)) {
            return Some((
                "name",
                format!(
                    "{}: a site's name is 1 to 64 printable ASCII characters without spaces",
                    crate::error::excerpt(n)
                ),
            ));
        }
        if let Some(s) = self.transformer_kva {
            if !(s > 0.0 && s <= MAX_TRANSFORMER_KVA) {
                return Some((
                    "transformer_kva",
                    format!("{s}: must be in (0, {MAX_TRANSFORMER_KVA}]"),
                ));
            }
        }
        if !(self.power_factor >= 0.1 && self.power_factor <= 1.0) {
            return Some((
                "power_factor",
                format!("{}: must be in [0.1, 1]", self.power_factor),
            ));
        }
        None
    }
}

/// A site resolved against its case.
#[derive(Debug, Clone)]
struct Placed {
    name: String,
    bus: usize,
    tan_phi: f64,
    kva: Option<f64>,
    pf: f64,
}

/// The network of a run: the case, its sites and the spread of the base load.
#[derive(Debug)]
pub struct Study {
    case: Case,
    flow: PowerFlow,
    sites: Vec<Placed>,
    /// Per bus: `PD_b/ΣPD` and `QD_b/ΣPD` (0 when the case has no load).
    share_p: Vec<f64>,
    share_q: Vec<f64>,
    /// `ΣPD`, kW.
    case_load_kw: f64,
}

/// One slot's flow under one policy: the row of `network.csv` (docs/model.md §9.4)
/// without its slot and policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowSummary {
    /// Lowest bus voltage, p.u.
    pub vm_min_pu: f64,
    /// Its bus number.
    pub vm_min_bus: u32,
    /// Highest bus voltage, p.u.
    pub vm_max_pu: f64,
    /// Its bus number.
    pub vm_max_bus: u32,
    /// Highest branch loading, % of `RATE_A` (`None` when no branch has a rating).
    pub branch_loading_max_pct: Option<f64>,
    /// Its branch: the 1-based row of `mpc.branch`.
    pub branch_loading_max: Option<usize>,
    /// Highest site-transformer loading, % (`None` when no site has a rating).
    pub transformer_loading_max_pct: Option<f64>,
    /// Its site's name.
    pub transformer_loading_max_site: Option<String>,
    /// Losses in the lines and transformers of the case, kW.
    pub losses_kw: f64,
    /// Buses outside their `[VMIN, VMAX]`.
    pub voltage_violations: usize,
    /// Branches above their rating plus site transformers above theirs.
    pub loading_violations: usize,
}

/// One slot's flow under one policy, in full.
#[derive(Debug, Clone)]
pub struct SlotFlow {
    /// Per bus (in the case's order): active and reactive demand, kW and kvar.
    pub p_kw: Vec<f64>,
    /// See `p_kw`.
    pub q_kvar: Vec<f64>,
    /// The solution.
    pub solution: Solution,
    /// The summary.
    pub summary: FlowSummary,
    /// Per site: transformer loading, % (`None` without a rating).
    pub site_loading_pct: Vec<Option<f64>>,
}

impl Study {
    /// The study of `case` with `sites`; refuses a site at a bus the case lacks, two sites
    /// of one name, and a site that breaks its own rules ([`Site::rule`]). Errors name the
    /// scenario key (`sites.N.KEY`).
    pub fn new(case: Case, sites: &[Site]) -> crate::error::Result<Self> {
        let key = |i: usize, k: &str| format!("sites.{i}.{k}");
        let mut placed = Vec::with_capacity(sites.len());
        for (i, s) in sites.iter().enumerate() {
            if let Some((k, rule)) = s.rule() {
                return Err(crate::error::Error::param(key(i, k), rule));
            }
            if let Some(j) = sites[..i].iter().position(|o| o.name == s.name) {
                return Err(crate::error::Error::param(
                    key(i, "name"),
                    format!(
                        "{} is also the name of site {j}: names must be unique",
                        crate::error::excerpt(&s.name)
                    ),
                ));
            }
            let Some(bus) = case.bus_index(s.bus) else {
                return Err(crate::error::Error::param(
                    key(i, "bus"),
                    format!(
                        "{}: the network {} has no such bus",
                        s.bus,
                        case.file().display()
                    ),
                ));
            };
            if matches!(
                case.buses()[bus].kind,
                crate::network::matpower::BusType::Isolated
            ) {
                return Err(crate::error::Error::param(
                    key(i, "bus"),
                    format!("{}: the bus is isolated (type 4) in the network", s.bus),
                ));
            }
            let pf = s.power_factor;
            placed.push(Placed {
                name: s.name.clone(),
                bus,
                tan_phi: (1.0 - pf * pf).max(0.0).sqrt() / pf,
                kva: s.transformer_kva,
                pf,
            });
        }
        let total_mw: f64 = case.buses().iter().map(|b| b.pd_mw).sum();
        let (share_p, share_q) = if total_mw > 0.0 {
            (
                case.buses().iter().map(|b| b.pd_mw / total_mw).collect(),
                case.buses().iter().map(|b| b.qd_mvar / total_mw).collect(),
            )
        } else {
            (vec![0.0; case.buses().len()], vec![0.0; case.buses().len()])
        };
        let flow = PowerFlow::new(&case)?;
        Ok(Study {
            case,
            flow,
            sites: placed,
            share_p,
            share_q,
            case_load_kw: total_mw * 1e3,
        })
    }

    /// The case.
    pub fn case(&self) -> &Case {
        &self.case
    }

    /// The case's own active load, kW (`ΣPD`).
    pub fn case_load_kw(&self) -> f64 {
        self.case_load_kw
    }

    /// The bus demands of a slot: the base load `base_kw` spread by the case's shares
    /// (`None`: the case's own loads times `scale`), plus each site's EV net power
    /// `site_kw` (kW) at its power factor.
    pub fn demands(
        &self,
        base_kw: Option<f64>,
        scale: f64,
        site_kw: &[f64],
    ) -> (Vec<f64>, Vec<f64>) {
        let total = base_kw.map_or(self.case_load_kw * scale, |l| l * scale);
        let mut p: Vec<f64> = self.share_p.iter().map(|s| s * total).collect();
        let mut q: Vec<f64> = self.share_q.iter().map(|s| s * total).collect();
        for (site, &kw) in self.sites.iter().zip(site_kw) {
            p[site.bus] += kw;
            q[site.bus] += kw * site.tan_phi;
        }
        (p, q)
    }

    /// One slot's AC flow with demands `p_kw`, `q_kvar` per bus (the case's own loads
    /// replaced), from `start`; `site_kw` gives the sites' loadings.
    pub fn flow(
        &mut self,
        p_kw: Vec<f64>,
        q_kvar: Vec<f64>,
        site_kw: &[f64],
        start: Start<'_>,
    ) -> Result<SlotFlow, NetworkError> {
        let inj = Injections {
            base_scale: 0.0,
            p_kw,
            q_kvar,
        };
        let solution = self.flow.solve(&inj, start)?;
        let buses = self.case.buses();
        let (mut lo, mut hi) = (0usize, 0usize);
        for (b, &v) in solution.vm.iter().enumerate() {
            if v < solution.vm[lo] {
                lo = b;
            }
            if v > solution.vm[hi] {
                hi = b;
            }
        }
        let voltage_violations = buses
            .iter()
            .zip(&solution.vm)
            .filter(|(b, &v)| v < b.vmin - VIOLATION_TOL || v > b.vmax + VIOLATION_TOL)
            .count();
        let mut branch_max: Option<(usize, f64)> = None;
        let mut over = 0usize;
        for (i, f) in solution.branches.iter().enumerate() {
            if let Some(pct) = f.loading_pct.filter(|_| f.in_service) {
                if branch_max.is_none_or(|(_, m)| pct > m) {
                    branch_max = Some((i, pct));
                }
                if pct > 100.0 * (1.0 + VIOLATION_TOL) {
                    over += 1;
                }
            }
        }
        let site_loading_pct: Vec<Option<f64>> = self
            .sites
            .iter()
            .zip(site_kw)
            .map(|(s, &kw)| s.kva.map(|kva| 100.0 * kw.abs() / s.pf / kva))
            .collect();
        let mut site_max: Option<(usize, f64)> = None;
        for (i, l) in site_loading_pct.iter().enumerate() {
            if let Some(pct) = *l {
                if site_max.is_none_or(|(_, m)| pct > m) {
                    site_max = Some((i, pct));
                }
                if pct > 100.0 * (1.0 + VIOLATION_TOL) {
                    over += 1;
                }
            }
        }
        let summary = FlowSummary {
            vm_min_pu: solution.vm[lo],
            vm_min_bus: buses[lo].id,
            vm_max_pu: solution.vm[hi],
            vm_max_bus: buses[hi].id,
            branch_loading_max_pct: branch_max.map(|(_, p)| p),
            branch_loading_max: branch_max.map(|(i, _)| i + 1),
            transformer_loading_max_pct: site_max.map(|(_, p)| p),
            transformer_loading_max_site: site_max.map(|(i, _)| self.sites[i].name.clone()),
            losses_kw: solution.losses_kw,
            voltage_violations,
            loading_violations: over,
        };
        Ok(SlotFlow {
            p_kw: inj.p_kw,
            q_kvar: inj.q_kvar,
            solution,
            summary,
            site_loading_pct,
        })
    }
}
