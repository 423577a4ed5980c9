//! The per-unit branch model and the bus admittance matrix (MATPOWER's `makeYbus`).
//!
//! A branch from bus f to bus t is a pi model: series admittance `ys = 1 / (r + jx)`,
//! total charging `b` split half at each end, and an ideal transformer at the from end
//! with complex ratio `N = tap · e^{j·shift}`:
//!
//! ```text
//! Yff = (ys + jb/2) / tap²     Yft = -ys / conj(N)
//! Ytf = -ys / N                Ytt =  ys + jb/2
//! ```
//!
//! A bus shunt adds `(Gs + jBs) / baseMVA` to the diagonal. Out-of-service branches and
//! isolated (type 4) buses are left out.

use crate::network::matpower::{BusType, Case};

/// A complex number (just what the network needs).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct C64 {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl C64 {
    /// `re + j·im`.
    pub const fn new(re: f64, im: f64) -> Self {
        C64 { re, im }
    }
    /// `m·e^{j·a}` (a in radians).
    pub fn from_polar(m: f64, a: f64) -> Self {
        C64::new(m * a.cos(), m * a.sin())
    }
    /// The complex conjugate.
    pub fn conj(self) -> Self {
        C64::new(self.re, -self.im)
    }
    /// The modulus.
    pub fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }
    /// `1 / self`.
    pub fn inv(self) -> Self {
        let d = self.re * self.re + self.im * self.im;
        C64::new(self.re / d, -self.im / d)
    }
}

impl std::ops::Add for C64 {
    type Output = C64;
    fn add(self, o: C64) -> C64 {
        C64::new(self.re + o.re, self.im + o.im)
    }
}
impl std::ops::AddAssign for C64 {
    fn add_assign(&mut self, o: C64) {
        self.re += o.re;
        self.im += o.im;
    }
}
impl std::ops::Sub for C64 {
    type Output = C64;
    fn sub(self, o: C64) -> C64 {
        C64::new(self.re - o.re, self.im - o.im)
    }
}
impl std::ops::Neg for C64 {
    type Output = C64;
    fn neg(self) -> C64 {
        C64::new(-self.re, -self.im)
    }
}
impl std::ops::Mul for C64 {
    type Output = C64;
    fn mul(self, o: C64) -> C64 {
        C64::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}
impl std::ops::Mul<f64> for C64 {
    type Output = C64;
    fn mul(self, o: f64) -> C64 {
        C64::new(self.re * o, self.im * o)
    }
}
impl std::ops::Div for C64 {
    type Output = C64;
    fn div(self, o: C64) -> C64 {
        let d = o.re * o.re + o.im * o.im;
        C64::new(
            (self.re * o.re + self.im * o.im) / d,
            (self.im * o.re - self.re * o.im) / d,
        )
    }
}

/// The four admittances of one branch's two-port (p.u.): `[If; It] = [Yff Yft; Ytf Ytt] [Vf; Vt]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BranchAdmittance {
    /// From-end self admittance.
    pub yff: C64,
    /// From-end transfer admittance.
    pub yft: C64,
    /// To-end transfer admittance.
    pub ytf: C64,
    /// To-end self admittance.
    pub ytt: C64,
}

/// The two-port of a branch with series `r + jx`, total charging `b` (p.u.), turns ratio
/// `tap` (1 for a line) and phase shift `shift_deg`.
pub fn branch_admittance(r: f64, x: f64, b: f64, tap: f64, shift_deg: f64) -> BranchAdmittance {
    let ys = C64::new(r, x).inv();
    let ytt = ys + C64::new(0.0, b / 2.0);
    let n = C64::from_polar(tap, shift_deg.to_radians());
    BranchAdmittance {
        yff: ytt * (1.0 / (tap * tap)),
        yft: -(ys / n.conj()),
        ytf: -(ys / n),
        ytt,
    }
}

/// The bus admittance matrix in compressed rows, diagonal included, columns sorted.
#[derive(Debug, Clone)]
pub struct Ybus {
    /// Row `i`'s entries are `row_ptr[i]..row_ptr[i + 1]`.
    pub row_ptr: Vec<usize>,
    /// Column (bus index) of each entry.
    pub col: Vec<usize>,
    /// Value of each entry (p.u.).
    pub val: Vec<C64>,
}

impl Ybus {
    /// The entry at `(i, k)`, zero when there is none.
    pub fn get(&self, i: usize, k: usize) -> C64 {
        let r = self.row_ptr[i]..self.row_ptr[i + 1];
        match self.col[r.clone()].binary_search(&k) {
            Ok(p) => self.val[r.start + p],
            Err(_) => C64::default(),
        }
    }

    /// Number of rows (buses).
    pub fn n(&self) -> usize {
        self.row_ptr.len() - 1
    }
}

/// The per-unit model of a case: the Y-bus, the branch two-ports, and the buses' roles.
#[derive(Debug, Clone)]
pub struct Model {
    /// `mpc.baseMVA`.
    pub base_mva: f64,
    /// Each bus's role in the flow, by bus index: a PV bus without an in-service
    /// generator is [`BusType::Pq`] here (MATPOWER's `bustypes`).
    pub kind: Vec<BusType>,
    /// Voltage magnitude set-point (p.u.) of the slack and PV buses (their in-service
    /// generators' `VG`); 1.0 elsewhere.
    pub vm_set: Vec<f64>,
    /// Index of the slack bus.
    pub slack: usize,
    /// The slack's angle (radians), the file's `VA` of the slack bus.
    pub slack_angle: f64,
    /// The same in degrees, exactly as the file has it.
    pub slack_angle_deg: f64,
    /// In-service generation at each bus (p.u.): `PG`, and `QG` (used at PQ buses only).
    pub gen: Vec<C64>,
    /// The case's load at each bus (p.u.): `PD + j·QD`.
    pub load: Vec<C64>,
    /// The bus admittance matrix (rows and columns of isolated buses hold nothing).
    pub ybus: Ybus,
    /// Each branch's two-port, `None` when it is out of service; in the case's order.
    pub branch: Vec<Option<BranchAdmittance>>,
    /// Each branch's (from, to) bus indices.
    pub ends: Vec<(usize, usize)>,
    /// Each branch's `RATE_A` (MVA), `None` when unrated.
    pub rate_a: Vec<Option<f64>>,
}

impl Model {
    /// Builds the per-unit model of a (validated) case.
    pub fn new(case: &Case) -> Model {
        let nb = case.buses().len();
        let base = case.base_mva();
        let mut kind: Vec<BusType> = case.buses().iter().map(|b| b.kind).collect();
        let mut vm_set = vec![1.0; nb];
        let mut has_gen = vec![false; nb];
        let mut gen = vec![C64::default(); nb];
        for g in case.gens().iter().filter(|g| g.in_service) {
            let i = g.bus_index;
            if kind[i] == BusType::Isolated {
                continue;
            }
            has_gen[i] = true;
            gen[i] += C64::new(g.pg_mw / base, g.qg_mvar / base);
            if matches!(kind[i], BusType::Pv | BusType::Slack) {
                vm_set[i] = g.vg;
            }
        }
        for i in 0..nb {
            if kind[i] == BusType::Pv && !has_gen[i] {
                kind[i] = BusType::Pq;
            }
        }
        let load = case
            .buses()
            .iter()
            .map(|b| C64::new(b.pd_mw / base, b.qd_mvar / base))
            .collect();

        // Y-bus: accumulate per row, then sort.
        let mut rows: Vec<Vec<(usize, C64)>> = vec![Vec::new(); nb];
        for (i, b) in case.buses().iter().enumerate() {
            if b.kind != BusType::Isolated {
                rows[i].push((i, C64::new(b.gs_mw / base, b.bs_mvar / base)));
            }
        }
        let mut branch = Vec::with_capacity(case.branches().len());
        let mut ends = Vec::with_capacity(case.branches().len());
        let mut rate_a = Vec::with_capacity(case.branches().len());
        for br in case.branches() {
            let (f, t) = (br.from_index, br.to_index);
            ends.push((f, t));
            rate_a.push(br.rate_a_mva);
            if !br.in_service {
                branch.push(None);
                continue;
            }
            let y = branch_admittance(br.r, br.x, br.b, br.tap, br.shift_deg);
            rows[f].push((f, y.yff));
            rows[f].push((t, y.yft));
            rows[t].push((f, y.ytf));
            rows[t].push((t, y.ytt));
            branch.push(Some(y));
        }
        let mut row_ptr = Vec::with_capacity(nb + 1);
        let mut col = Vec::new();
        let mut val = Vec::new();
        row_ptr.push(0);
        for mut r in rows {
            r.sort_by_key(|e| e.0);
            for (k, y) in r {
                if col.len() > *row_ptr.last().unwrap_or(&0) && col.last() == Some(&k) {
                    if let Some(last) = val.last_mut() {
                        *last += y;
                    }
                } else {
                    col.push(k);
                    val.push(y);
                }
            }
            row_ptr.push(col.len());
        }
        Model {
            base_mva: base,
            kind,
            vm_set,
            slack: case.slack(),
            slack_angle: case.buses()[case.slack()].va_deg.to_radians(),
            slack_angle_deg: case.buses()[case.slack()].va_deg,
            gen,
            load,
            ybus: Ybus { row_ptr, col, val },
            branch,
            ends,
            rate_a,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::network::matpower::parse_str;
    use std::path::Path;

    fn close(a: C64, b: C64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// A 2-bus case with one branch (`r x b tap shift`) and bus 2's shunt (`gs bs`).
    pub(crate) fn two_bus(branch: &str, shunt: &str) -> Case {
        let f: Vec<&str> = branch.split(' ').collect();
        let text = format!(
            "mpc.version = '2';\nmpc.baseMVA = 100;\nmpc.bus = [\n\
             1 3 0 0 0 0 1 1 0 10 1 1.1 0.9;\n2 1 0 0 {shunt} 1 1 0 10 1 1.1 0.9;\n];\n\
             mpc.gen = [1 0 0 0 0 1 100 1 0 0];\n\
             mpc.branch = [1 2 {} {} {} 0 0 0 {} {} 1 -360 360];\n",
            f[0], f[1], f[2], f[3], f[4]
        );
        parse_str(&text, Path::new("two.m")).unwrap()
    }

    #[test]
    fn line_by_hand() {
        // r = 0.01, x = 0.1, b = 0.02: ys = (0.01 - j0.1) / 0.0101.
        let case = two_bus("0.01 0.1 0.02 0 0", "0 0");
        let y = Model::new(&case).ybus;
        let ys = C64::new(0.01 / 0.0101, -0.1 / 0.0101);
        assert!(close(y.get(0, 0), ys + C64::new(0.0, 0.01)));
        assert!(close(y.get(1, 1), ys + C64::new(0.0, 0.01)));
        assert!(close(y.get(0, 1), -ys));
        assert!(close(y.get(1, 0), -ys));
        assert_eq!(y.col.len(), 4);
    }

    #[test]
    fn transformer_and_shunt_by_hand() {
        // tap 1.05, shift 30 degrees at the from end; bus 2 shunt Gs = 5 MW, Bs = 10 MVAr.
        let case = two_bus("0.01 0.1 0.02 1.05 30", "5 10");
        let y = Model::new(&case).ybus;
        let ys = C64::new(0.01, 0.1).inv();
        let n = C64::from_polar(1.05, 30f64.to_radians());
        let half_b = C64::new(0.0, 0.01);
        assert!(close(y.get(0, 0), (ys + half_b) * (1.0 / (1.05 * 1.05))));
        assert!(close(y.get(0, 1), -(ys / n.conj())));
        assert!(close(y.get(1, 0), -(ys / n)));
        assert!(close(y.get(1, 1), ys + half_b + C64::new(0.05, 0.1)));
    }

    #[test]
    fn out_of_service_branches_are_left_out() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/networks/case33bw.m");
        let case = crate::network::matpower::read(&path).unwrap();
        let m = Model::new(&case);
        // 32 in-service branches: 33 diagonal + 2·32 off-diagonal entries.
        assert_eq!(m.ybus.col.len(), 33 + 64);
        assert_eq!(m.branch.iter().filter(|b| b.is_none()).count(), 5);
    }
}
