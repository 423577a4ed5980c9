//! AC power flow: Newton-Raphson in polar coordinates (MATPOWER's `newtonpf`).
//!
//! Unknowns: the angle of every PV and PQ bus and the magnitude of every PQ bus; the slack
//! holds its generator's `VG` and the file's angle, a PV bus its generator's `VG` and net
//! `PG - PD`. Reactive limits (`QMAX`, `QMIN`) are **not** enforced (MATPOWER's default,
//! `pf.enforce_q_lims = 0`). Loads are constant power.
//!
//! The iteration stops when the largest absolute power mismatch is at most
//! [`Options::tolerance`] (default 1e-8 p.u. on the case's MVA base, as MATPOWER's
//! `pf.tol`); more than [`Options::max_iterations`] (default 20) Newton steps, a singular
//! Jacobian or a non-finite iterate is [`NetworkError::NotConverged`].
//!
//! The Jacobian's sparsity pattern depends only on the network, so [`PowerFlow`] builds
//! it and faer's symbolic LU (column ordering, elimination structure) once, and every
//! iteration of every flow only refactors numerically. A flow can start from a previous
//! solution ([`Start::From`]); the caller chooses, so that results depend on the inputs
//! alone, never on the order of earlier calls.

use crate::network::error::NetworkError;
use crate::network::matpower::{BusType, Case};
use crate::network::ybus::{Model, C64};
use faer::linalg::solvers::Solve;
use faer::sparse::linalg::solvers::{Lu, SymbolicLu};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMat};

/// Convergence settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Largest accepted absolute mismatch of any bus's P or Q equation (p.u.).
    pub tolerance: f64,
    /// Most Newton steps before giving up.
    pub max_iterations: usize,
}

impl Default for Options {
    /// 1e-8 p.u. and 20 steps.
    fn default() -> Self {
        Options {
            tolerance: 1e-8,
            max_iterations: 20,
        }
    }
}

/// The loads of one flow, on top of the case.
#[derive(Debug, Clone, PartialEq)]
pub struct Injections {
    /// Multiplies the case's own loads `PD`, `QD` (1: as in the file; 0: the caller
    /// supplies all load through `p_kw`, `q_kvar`).
    pub base_scale: f64,
    /// Extra active load per bus (kW, positive = consumption), in [`Case::buses`] order.
    pub p_kw: Vec<f64>,
    /// Extra reactive load per bus (kvar, positive = consumption), in [`Case::buses`] order.
    pub q_kvar: Vec<f64>,
}

impl Injections {
    /// The case's own loads, nothing added, for a case of `n_buses` buses.
    pub fn none(n_buses: usize) -> Self {
        Injections {
            base_scale: 1.0,
            p_kw: vec![0.0; n_buses],
            q_kvar: vec![0.0; n_buses],
        }
    }
}

/// Where the Newton iteration starts.
#[derive(Debug, Clone, Copy)]
pub enum Start<'a> {
    /// Magnitudes 1 p.u. (set-points at PV and slack buses), every angle the slack's.
    Flat,
    /// A previous solution of the same network (warm start).
    From(&'a Solution),
}

/// The flow through one branch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BranchFlow {
    /// Complex power entering the branch at its from end (MW + j MVAr).
    pub s_from: C64,
    /// Complex power entering the branch at its to end (MW + j MVAr).
    pub s_to: C64,
    /// `max(|s_from|, |s_to|) / RATE_A` in percent; `None` when unrated (`RATE_A = 0`) or
    /// out of service.
    pub loading_pct: Option<f64>,
    /// Whether the branch is in service (an out-of-service branch carries nothing).
    pub in_service: bool,
}

/// A converged power flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Voltage magnitude per bus (p.u.), in [`Case::buses`] order; 0 at isolated buses.
    pub vm: Vec<f64>,
    /// Voltage angle per bus (degrees); 0 at isolated buses.
    pub va_deg: Vec<f64>,
    /// Flow per branch, in [`Case::branches`] order.
    pub branches: Vec<BranchFlow>,
    /// Series losses of all in-service branches, `Σ Re(s_from + s_to)` (kW).
    pub losses_kw: f64,
    /// Power the slack bus injects into the network, net of its own load (MW + j MVAr).
    pub slack_injection: C64,
    /// Newton steps taken.
    pub iterations: usize,
    /// The largest absolute mismatch at the solution (p.u.).
    pub max_mismatch: f64,
}

const NONE: usize = usize::MAX;

/// A power-flow solver for one network: the model, the Jacobian's pattern and its
/// symbolic LU, built once and reused by every [`PowerFlow::solve`].
#[derive(Debug, Clone)]
pub struct PowerFlow {
    model: Model,
    options: Options,
    /// Angle variable of each bus (PV and PQ), or NONE.
    th: Vec<usize>,
    /// Magnitude variable of each bus (PQ), or NONE.
    vv: Vec<usize>,
    /// Number of unknowns.
    dim: usize,
    /// The Jacobian's pattern (compressed columns) and its values.
    symbolic: Option<(SymbolicSparseColMat<usize>, SymbolicLu<usize>)>,
    values: Vec<f64>,
    /// For each Y-bus entry (i, k): positions of dPi/dθk, dPi/dVk, dQi/dθk, dQi/dVk.
    pos: Vec<[usize; 4]>,
}

impl PowerFlow {
    /// A solver for `case` with the default [`Options`].
    pub fn new(case: &Case) -> Result<Self, NetworkError> {
        Self::with_options(case, Options::default())
    }

    /// A solver for `case` with `options`.
    pub fn with_options(case: &Case, options: Options) -> Result<Self, NetworkError> {
        let model = Model::new(case);
        let nb = model.kind.len();
        let mut th = vec![NONE; nb];
        let mut vv = vec![NONE; nb];
        let mut dim = 0;
        for (t, kind) in th.iter_mut().zip(&model.kind) {
            if matches!(kind, BusType::Pv | BusType::Pq) {
                *t = dim;
                dim += 1;
            }
        }
        for (v, kind) in vv.iter_mut().zip(&model.kind) {
            if *kind == BusType::Pq {
                *v = dim;
                dim += 1;
            }
        }
        // Rows use the same numbering: P equations like θ, Q equations like V.
        let y = &model.ybus;
        let mut entries: Vec<(usize, usize, usize, usize)> = Vec::new(); // (col, row, y entry, slot)
        for i in 0..nb {
            for e in y.row_ptr[i]..y.row_ptr[i + 1] {
                let k = y.col[e];
                let cand = [
                    (th[i], th[k]),
                    (th[i], vv[k]),
                    (vv[i], th[k]),
                    (vv[i], vv[k]),
                ];
                for (slot, &(r, c)) in cand.iter().enumerate() {
                    if r != NONE && c != NONE {
                        entries.push((c, r, e, slot));
                    }
                }
            }
        }
        entries.sort_unstable();
        let mut col_ptr = vec![0usize; dim + 1];
        let mut row_idx = Vec::with_capacity(entries.len());
        let mut pos = vec![[NONE; 4]; y.val.len()];
        for (p, &(c, r, e, slot)) in entries.iter().enumerate() {
            col_ptr[c + 1] += 1;
            row_idx.push(r);
            pos[e][slot] = p;
        }
        for c in 0..dim {
            col_ptr[c + 1] += col_ptr[c];
        }
        let symbolic = if dim == 0 {
            None
        } else {
            let sym = SymbolicSparseColMat::new_checked(dim, dim, col_ptr, None, row_idx);
            let lu = SymbolicLu::try_new(sym.as_ref()).map_err(|e| NetworkError::NotConverged {
                iterations: 0,
                mismatch: f64::NAN,
                reason: format!("the Jacobian's symbolic factorisation failed: {e:?}"),
            })?;
            Some((sym, lu))
        };
        let nnz = entries.len();
        Ok(PowerFlow {
            model,
            options,
            th,
            vv,
            dim,
            symbolic,
            values: vec![0.0; nnz],
            pos,
        })
    }

    /// The per-unit model being solved.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The convergence settings.
    pub fn options(&self) -> Options {
        self.options
    }

    /// Solves the flow for the case's loads scaled by `inj.base_scale` plus `inj`'s extra
    /// loads, starting from `start`.
    pub fn solve(&mut self, inj: &Injections, start: Start<'_>) -> Result<Solution, NetworkError> {
        let m = &self.model;
        let nb = m.kind.len();
        if inj.p_kw.len() != nb || inj.q_kvar.len() != nb {
            return Err(NetworkError::Injections(format!(
                "{} active and {} reactive values for {nb} buses",
                inj.p_kw.len(),
                inj.q_kvar.len()
            )));
        }
        if !inj.base_scale.is_finite() {
            return Err(NetworkError::Injections(format!(
                "base_scale must be finite, found {}",
                inj.base_scale
            )));
        }
        for i in 0..nb {
            let (p, q) = (inj.p_kw[i], inj.q_kvar[i]);
            if !(p.is_finite() && q.is_finite()) {
                return Err(NetworkError::Injections(format!(
                    "bus index {i}: extra load {p} kW, {q} kvar is not finite"
                )));
            }
            if m.kind[i] == BusType::Isolated && (p != 0.0 || q != 0.0) {
                return Err(NetworkError::Injections(format!(
                    "bus index {i} is isolated (type 4) and cannot take {p} kW, {q} kvar"
                )));
            }
        }
        // Specified net injections (p.u.).
        let kw = 1e-3 / m.base_mva;
        let spec: Vec<C64> = (0..nb)
            .map(|i| {
                m.gen[i]
                    - m.load[i] * inj.base_scale
                    - C64::new(inj.p_kw[i] * kw, inj.q_kvar[i] * kw)
            })
            .collect();

        // Starting point.
        let (mut vm, mut va) = match start {
            Start::Flat => {
                let va = vec![m.slack_angle; nb];
                (m.vm_set.clone(), va)
            }
            Start::From(s) => {
                if s.vm.len() != nb || s.va_deg.len() != nb {
                    return Err(NetworkError::Injections(format!(
                        "the warm start has {} buses, the network {nb}",
                        s.vm.len()
                    )));
                }
                let mut vm = s.vm.clone();
                let va: Vec<f64> = s.va_deg.iter().map(|a| a.to_radians()).collect();
                for ((v, kind), set) in vm.iter_mut().zip(&m.kind).zip(&m.vm_set) {
                    if *kind != BusType::Pq {
                        *v = *set;
                    }
                }
                (vm, va)
            }
        };
        va[m.slack] = m.slack_angle;
        for i in 0..nb {
            if m.kind[i] == BusType::Isolated {
                vm[i] = 0.0;
                va[i] = 0.0;
            }
        }

        let mut e = vec![0.0; nb];
        let mut f = vec![0.0; nb];
        let mut calc = vec![C64::default(); nb];
        let mut rhs = vec![0.0; self.dim];
        let mut iterations = 0;
        loop {
            for i in 0..nb {
                e[i] = vm[i] * va[i].cos();
                f[i] = vm[i] * va[i].sin();
            }
            self.injections(&e, &f, &mut calc);
            let mut worst: f64 = 0.0;
            for i in 0..nb {
                if self.th[i] != NONE {
                    let d = spec[i].re - calc[i].re;
                    rhs[self.th[i]] = d;
                    worst = worst.max(d.abs());
                }
                if self.vv[i] != NONE {
                    let d = spec[i].im - calc[i].im;
                    rhs[self.vv[i]] = d;
                    worst = worst.max(d.abs());
                }
            }
            if worst.is_nan() || rhs.iter().any(|v| !v.is_finite()) {
                return Err(not_converged(
                    iterations,
                    worst,
                    "the iterate is not finite",
                ));
            }
            if worst <= self.options.tolerance {
                return Ok(self.solution(&vm, &va, &e, &f, iterations, worst));
            }
            if iterations >= self.options.max_iterations {
                return Err(not_converged(iterations, worst, "iteration limit reached"));
            }
            self.jacobian(&e, &f, &vm, &calc);
            let Some((sym, lu_sym)) = &self.symbolic else {
                return Err(not_converged(iterations, worst, "no unknowns to solve for"));
            };
            let mat = SparseColMatRef::new(sym.as_ref(), &self.values);
            let lu = Lu::try_new_with_symbolic(lu_sym.clone(), mat)
                .map_err(|_| not_converged(iterations, worst, "singular Jacobian"))?;
            lu.solve_in_place(faer::ColMut::from_slice_mut(&mut rhs));
            if rhs.iter().any(|v| !v.is_finite()) {
                return Err(not_converged(iterations, worst, "singular Jacobian"));
            }
            for i in 0..nb {
                if self.th[i] != NONE {
                    va[i] += rhs[self.th[i]];
                }
                if self.vv[i] != NONE {
                    vm[i] += rhs[self.vv[i]];
                }
            }
            iterations += 1;
        }
    }

    /// `calc[i] = V_i · conj(Σ_k Y_ik V_k)` (p.u.), V = e + jf.
    fn injections(&self, e: &[f64], f: &[f64], calc: &mut [C64]) {
        let y = &self.model.ybus;
        for (i, c) in calc.iter_mut().enumerate() {
            let (mut ir, mut ii) = (0.0, 0.0);
            for p in y.row_ptr[i]..y.row_ptr[i + 1] {
                let k = y.col[p];
                let (g, b) = (y.val[p].re, y.val[p].im);
                ir += g * e[k] - b * f[k];
                ii += g * f[k] + b * e[k];
            }
            // S = V conj(I) = (e + jf)(ir - j ii)
            *c = C64::new(e[i] * ir + f[i] * ii, f[i] * ir - e[i] * ii);
        }
    }

    /// Fills the Jacobian's values at the current iterate.
    fn jacobian(&mut self, e: &[f64], f: &[f64], vm: &[f64], calc: &[C64]) {
        let y = &self.model.ybus;
        let nb = vm.len();
        for i in 0..nb {
            if self.th[i] == NONE {
                continue;
            }
            for p in y.row_ptr[i]..y.row_ptr[i + 1] {
                let k = y.col[p];
                let (g, b) = (y.val[p].re, y.val[p].im);
                let pos = self.pos[p];
                let (dpt, dpv, dqt, dqv) = if k == i {
                    let v2 = vm[i] * vm[i];
                    let (pi, qi) = (calc[i].re, calc[i].im);
                    (
                        -qi - b * v2,
                        pi / vm[i] + g * vm[i],
                        pi - g * v2,
                        qi / vm[i] - b * vm[i],
                    )
                } else {
                    let c = e[i] * e[k] + f[i] * f[k]; // Vi Vk cos θik
                    let s = f[i] * e[k] - e[i] * f[k]; // Vi Vk sin θik
                    let a = g * c + b * s;
                    let bb = g * s - b * c;
                    (bb, a / vm[k], -a, bb / vm[k])
                };
                for (slot, v) in [dpt, dpv, dqt, dqv].into_iter().enumerate() {
                    if pos[slot] != NONE {
                        self.values[pos[slot]] = v;
                    }
                }
            }
        }
    }

    fn solution(
        &self,
        vm: &[f64],
        va: &[f64],
        e: &[f64],
        f: &[f64],
        iterations: usize,
        worst: f64,
    ) -> Solution {
        let m = &self.model;
        let base = m.base_mva;
        let mut losses = 0.0;
        let branches = m
            .branch
            .iter()
            .zip(&m.ends)
            .zip(&m.rate_a)
            .map(|((y, &(fi, ti)), rate)| match y {
                None => BranchFlow {
                    s_from: C64::default(),
                    s_to: C64::default(),
                    loading_pct: None,
                    in_service: false,
                },
                Some(y) => {
                    let vf = C64::new(e[fi], f[fi]);
                    let vt = C64::new(e[ti], f[ti]);
                    let s_from = vf * (y.yff * vf + y.yft * vt).conj() * base;
                    let s_to = vt * (y.ytf * vf + y.ytt * vt).conj() * base;
                    losses += s_from.re + s_to.re;
                    BranchFlow {
                        s_from,
                        s_to,
                        loading_pct: rate.map(|r| s_from.abs().max(s_to.abs()) / r * 100.0),
                        in_service: true,
                    }
                }
            })
            .collect();
        // The slack's injection into the network: V conj(Y V) at the slack bus.
        let mut calc = vec![C64::default(); vm.len()];
        self.injections(e, f, &mut calc);
        let s = m.slack;
        let mut va_deg: Vec<f64> = va.iter().map(|a| a.to_degrees()).collect();
        va_deg[s] = m.slack_angle_deg;
        Solution {
            vm: vm.to_vec(),
            va_deg,
            branches,
            losses_kw: losses * 1e3,
            slack_injection: calc[s] * base,
            iterations,
            max_mismatch: worst,
        }
    }
}

fn not_converged(iterations: usize, mismatch: f64, reason: &str) -> NetworkError {
    NetworkError::NotConverged {
        iterations,
        mismatch,
        reason: reason.to_string(),
    }
}

/// One flow from a flat start with the default options (builds a [`PowerFlow`]; to solve
/// the same network many times, keep one).
pub fn run(case: &Case, inj: &Injections) -> Result<Solution, NetworkError> {
    PowerFlow::new(case)?.solve(inj, Start::Flat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::matpower::parse_str;
    use std::path::Path;

    /// Slack at 1∠0 feeding a load S = P + jQ (p.u.) through z = r + jx: with V1 = 1,
    /// V1·conj(V2) = |V2|² + z·conj(S), so u = |V2|² solves u² + (2a - 1)u + |z|²|S|² = 0
    /// (a = rP + xQ) and V2 = u + conj(z)·S.
    #[test]
    fn two_bus_closed_form() {
        let (r, x, p, q): (f64, f64, f64, f64) = (0.01, 0.05, 0.5, 0.2);
        let text = "mpc.version = '2';\nmpc.baseMVA = 100;\nmpc.bus = [\n\
                    1 3 0 0 0 0 1 1 0 10 1 1.1 0.9;\n2 1 50 20 0 0 1 1 0 10 1 1.1 0.9;\n];\n\
                    mpc.gen = [1 0 0 0 0 1 100 1 0 0];\n\
                    mpc.branch = [1 2 0.01 0.05 0 0 0 0 0 0 1 -360 360];\n";
        let case = parse_str(text, Path::new("two.m")).unwrap();
        let sol = run(&case, &Injections::none(2)).unwrap();
        let a = r * p + x * q;
        let zs2 = (r * r + x * x) * (p * p + q * q);
        let u = ((1.0 - 2.0 * a) + ((1.0 - 2.0 * a).powi(2) - 4.0 * zs2).sqrt()) / 2.0;
        let v2 = C64::new(u, 0.0) + C64::new(r, -x) * C64::new(p, q);
        assert!((v2.abs() - u.sqrt()).abs() < 1e-14);
        assert!(
            (sol.vm[1] - u.sqrt()).abs() < 1e-9,
            "{} {}",
            sol.vm[1],
            u.sqrt()
        );
        let va = v2.im.atan2(v2.re).to_degrees();
        assert!((sol.va_deg[1] - va).abs() < 1e-7, "{} {va}", sol.va_deg[1]);
        // Losses r·|I|² = r·|S|²/|V2|² (p.u.) -> kW.
        let loss_kw = r * (p * p + q * q) / u * 100.0 * 1e3;
        assert!(
            (sol.losses_kw - loss_kw).abs() < 1e-5,
            "{} {loss_kw}",
            sol.losses_kw
        );
        // The slack supplies load plus losses.
        assert!((sol.slack_injection.re - (50.0 + loss_kw / 1e3)).abs() < 1e-6);
        // Extra load through the injections instead of the file: the same answer.
        let text0 = text.replace("2 1 50 20", "2 1 0 0");
        let case0 = parse_str(&text0, Path::new("two.m")).unwrap();
        let mut inj = Injections::none(2);
        inj.p_kw[1] = 50_000.0;
        inj.q_kvar[1] = 20_000.0;
        let sol0 = run(&case0, &inj).unwrap();
        assert!((sol0.vm[1] - sol.vm[1]).abs() < 1e-12);
        assert!((sol0.va_deg[1] - sol.va_deg[1]).abs() < 1e-10);
    }

    fn case33() -> Case {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/networks/case33bw.m");
        crate::network::matpower::read(&path).unwrap()
    }

    #[test]
    fn case33bw_known_answer() {
        // The published figures for Baran & Wu's feeder: 202.7 kW losses, 0.9131 p.u. at bus 18.
        let case = case33();
        let sol = run(&case, &Injections::none(33)).unwrap();
        assert!((sol.losses_kw - 202.677).abs() < 0.01, "{}", sol.losses_kw);
        let (i, vmin) = sol
            .vm
            .iter()
            .enumerate()
            .fold((0, 2.0), |m, (i, &v)| if v < m.1 { (i, v) } else { m });
        assert_eq!(case.buses()[i].id, 18);
        assert!((vmin - 0.91309).abs() < 1e-5, "{vmin}");
        assert!(sol.max_mismatch <= 1e-8);
        // Tie lines carry nothing, rating 0 reports no loading.
        assert!(sol
            .branches
            .iter()
            .filter(|b| !b.in_service)
            .all(|b| b.s_from == C64::default()));
        assert!(sol.branches.iter().all(|b| b.loading_pct.is_none()));
        // Losses are the branches' series losses: Σ Re(Sf + St).
        let sum: f64 = sol.branches.iter().map(|b| b.s_from.re + b.s_to.re).sum();
        assert!((sum * 1e3 - sol.losses_kw).abs() < 1e-9);
    }

    #[test]
    fn warm_start_and_determinism() {
        let case = case33();
        let mut pf = PowerFlow::new(&case).unwrap();
        let inj = Injections::none(33);
        let a = pf.solve(&inj, Start::Flat).unwrap();
        let b = pf.solve(&inj, Start::Flat).unwrap();
        assert_eq!(a, b, "same inputs, same bits");
        let mut more = inj.clone();
        more.base_scale = 1.2;
        let cold = pf.solve(&more, Start::Flat).unwrap();
        let warm = pf.solve(&more, Start::From(&a)).unwrap();
        assert!(warm.iterations <= cold.iterations);
        for i in 0..33 {
            assert!((warm.vm[i] - cold.vm[i]).abs() < 1e-7);
        }
        // Starting at the solution: no step needed.
        assert_eq!(pf.solve(&inj, Start::From(&a)).unwrap().iterations, 0);
    }

    #[test]
    fn rated_branch_loading() {
        let text = "mpc.version = '2';\nmpc.baseMVA = 100;\nmpc.bus = [\n\
                    1 3 0 0 0 0 1 1 0 10 1 1.1 0.9;\n2 1 30 40 0 0 1 1 0 10 1 1.1 0.9;\n];\n\
                    mpc.gen = [1 0 0 0 0 1 100 1 0 0];\n\
                    mpc.branch = [1 2 0.01 0.05 0 100 0 0 0 0 1 -360 360];\n";
        let case = parse_str(text, Path::new("two.m")).unwrap();
        let sol = run(&case, &Injections::none(2)).unwrap();
        let b = sol.branches[0];
        let expect = b.s_from.abs().max(b.s_to.abs());
        assert!((b.loading_pct.unwrap() - expect).abs() < 1e-12); // RATE_A = 100 MVA
        assert!(expect > 50.0); // |S_load| = 50 MVA plus losses at the from end
    }

    #[test]
    fn errors_not_panics() {
        let case = case33();
        let mut pf = PowerFlow::new(&case).unwrap();
        let mut inj = Injections::none(33);
        inj.base_scale = 40.0;
        match pf.solve(&inj, Start::Flat) {
            Err(NetworkError::NotConverged { .. }) => {}
            other => panic!("expected non-convergence, got {other:?}"),
        }
        assert!(matches!(
            pf.solve(&Injections::none(32), Start::Flat),
            Err(NetworkError::Injections(_))
        ));
        let mut nan = Injections::none(33);
        nan.p_kw[3] = f64::NAN;
        assert!(matches!(
            pf.solve(&nan, Start::Flat),
            Err(NetworkError::Injections(_))
        ));
    }

    #[test]
    fn pv_bus_holds_its_voltage() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/networks/case118.m");
        let case = crate::network::matpower::read(&path).unwrap();
        let sol = run(&case, &Injections::none(118)).unwrap();
        for g in case.gens().iter().filter(|g| g.in_service) {
            assert!((sol.vm[g.bus_index] - g.vg).abs() < 1e-12);
        }
        // The slack's angle is the file's (30 degrees at bus 69).
        assert_eq!(sol.va_deg[case.slack()], 30.0);
    }

    #[test]
    fn feeder_flows() {
        let spec = crate::network::feeder::FeederSpec::default();
        let a = crate::network::feeder::feeder_case_text(&spec);
        assert_eq!(a, crate::network::feeder::feeder_case_text(&spec));
        let other = crate::network::feeder::FeederSpec {
            seed: 2,
            ..spec.clone()
        };
        assert_ne!(a, crate::network::feeder::feeder_case_text(&other));
        let case = crate::network::feeder::radial_feeder(&spec).unwrap();
        assert_eq!((case.buses().len(), case.branches().len()), (1000, 999));
        let sol = run(&case, &Injections::none(1000)).unwrap();
        let vmin = sol.vm.iter().copied().fold(2.0, f64::min);
        assert!(vmin > 0.9 && vmin < 0.99, "{vmin}");
    }

    #[test]
    fn mutated_files_never_panic() {
        // Deterministic single-character mutations of case33bw: each is read or refused,
        // and whatever is read is solved or refused, never a panic.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/networks/case33bw.m");
        let text = std::fs::read_to_string(path).unwrap();
        let chars: Vec<char> = text.chars().collect();
        let subs = [
            '[', ']', ';', '\'', '%', '.', '-', 'e', '\n', '(', '0', '3', ' ', '9',
        ];
        let mut state = 12345u64;
        let (mut read, mut solved) = (0, 0);
        for _ in 0..1500 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (state >> 33) as usize % chars.len();
            let c = subs[(state >> 20) as usize % subs.len()];
            let mut m = chars.clone();
            m[at] = c;
            let s: String = m.into_iter().collect();
            if let Ok(case) = parse_str(&s, Path::new("m.m")) {
                read += 1;
                let n = case.buses().len();
                if run(&case, &Injections::none(n)).is_ok() {
                    solved += 1;
                }
            }
        }
        assert!(read > 100 && solved > 100, "{read} {solved}");
    }
}
