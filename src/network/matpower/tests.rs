//! The reader's tests: MATPOWER's own case33bw, and one broken file per rule, each error
//! located at its line and column.

use super::*;
use crate::network::error::{NetworkError, Position};

const GOOD: &str = "function mpc = t3
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
\t1\t3\t0\t0\t0\t0\t1\t1\t0\t12.66\t1\t1.1\t0.9;
\t2\t1\t1\t0.5\t0\t0\t1\t1\t0\t12.66\t1\t1.1\t0.9;
\t3\t1\t1\t0.5\t0\t0\t1\t1\t0\t12.66\t1\t1.1\t0.9;
];
mpc.gen = [
\t1\t0\t0\t10\t-10\t1\t100\t1\t10\t0;
];
mpc.branch = [
\t1\t2\t0.01\t0.02\t0\t0\t0\t0\t0\t0\t1\t-360\t360;
\t2\t3\t0.01\t0.02\t0\t0\t0\t0\t0\t0\t1\t-360\t360;
];
";

fn parse(text: &str) -> Result<Case, NetworkError> {
    parse_str(text, Path::new("t3.m"))
}

/// Replaces field `field` (0-based, split on tabs) of line `line` (1-based) of [`GOOD`].
fn with_cell(line: usize, field: usize, value: &str) -> String {
    let mut lines: Vec<String> = GOOD.lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[line - 1].split('\t').map(String::from).collect();
    cells[field + 1] = value.to_string(); // field 0 is the empty text before the first tab
    lines[line - 1] = cells.join("\t");
    lines.join("\n") + "\n"
}

/// The 1-based column where field `field` of line `line` starts in `text`.
fn col_of(text: &str, line: usize, field: usize) -> u64 {
    let l = text.lines().nth(line - 1).unwrap_or_default();
    let mut col = 1;
    for (k, cell) in l.split('\t').enumerate() {
        if k == field + 1 {
            return col;
        }
        col += cell.chars().count() as u64 + 1;
    }
    0
}

/// Asserts an input error at `line:col` whose rule contains `words`.
#[track_caller]
fn assert_err(r: Result<Case, NetworkError>, line: u64, col: u64, words: &str) {
    match r {
        Err(NetworkError::Input {
            pos: Position {
                line: l, column: c, ..
            },
            rule,
        }) => {
            assert_eq!((l, c), (line, col), "rule: {rule}");
            assert!(rule.contains(words), "{rule:?} lacks {words:?}");
        }
        Err(e) => panic!("expected an input error, got {e}"),
        Ok(_) => panic!("expected an error containing {words:?}, the case was accepted"),
    }
}

#[test]
fn reads_the_small_case() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.name(), "t3");
    assert_eq!(c.buses().len(), 3);
    assert_eq!(c.branches()[1].to_index, 2);
    assert_eq!(c.slack(), 0);
    assert_eq!(c.branches()[0].tap, 1.0);
    assert_eq!(c.branches()[0].rate_a_mva, None);
    assert_eq!(c.buses()[2].line, 7);
}

#[test]
fn case33bw_as_matpower_ships_it() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/networks/case33bw.m");
    let c = read(&path).unwrap();
    assert_eq!(c.name(), "case33bw");
    assert_eq!((c.buses().len(), c.branches().len()), (33, 37));
    // Branch 1: 0.0922 ohm on Zbase = 12.66 kV² / 10 MVA.
    let zbase = 12.66f64 * 12.66 / 10.0;
    let b1 = &c.branches()[0];
    assert!((b1.r - 0.0922 / zbase).abs() < 1e-15);
    assert!((b1.r - 0.005753).abs() < 1e-6, "{}", b1.r);
    assert!((b1.x - 0.0470 / zbase).abs() < 1e-15);
    // Bus 2's load: 100 kW, 60 kVAr -> MW, MVAr.
    assert!((c.buses()[1].pd_mw - 0.1).abs() < 1e-15);
    assert!((c.buses()[1].qd_mvar - 0.06).abs() < 1e-15);
    let total: f64 = c.buses().iter().map(|b| b.pd_mw).sum();
    assert!((total - 3.715).abs() < 1e-12, "{total}");
    // The five tie lines are out of service.
    let open: Vec<(u32, u32)> = c
        .branches()
        .iter()
        .filter(|b| !b.in_service)
        .map(|b| (b.from, b.to))
        .collect();
    assert_eq!(open, vec![(21, 8), (9, 15), (12, 22), (18, 33), (25, 29)]);
}

#[test]
fn case141_power_factor_conversion() {
    // case141's conversion: loads in kVA at pf 0.85, then P = S pf, Q = S sin(acos pf).
    let text = GOOD.to_string()
        + "[PQ, PV, REF, NONE, BUS_I, BUS_TYPE, PD, QD] = idx_bus;\n\
           mpc.bus(:, [PD, QD]) = mpc.bus(:, [PD, QD]) / 1e3;\n\
           pf = 0.85;\n\
           mpc.bus(:, QD) = mpc.bus(:, PD) * sin(acos(pf));\n\
           mpc.bus(:, PD) = mpc.bus(:, PD) * pf;\n";
    let c = parse(&text).unwrap();
    let s = 1.0 / 1e3;
    assert!((c.buses()[1].pd_mw - s * 0.85).abs() < 1e-15);
    assert!((c.buses()[1].qd_mvar - s * (1.0f64 - 0.85 * 0.85).sqrt()).abs() < 1e-15);
}

#[test]
fn skips_fields_the_flow_does_not_use() {
    let text = GOOD.to_string()
        + "mpc.gencost = [\n\t2\t0\t0\t3\t0\t20\t0;\n];\n\
           mpc.bus_name = {\n\t'A 1';\n\t'B [2]';\n\t'C';\n};\n";
    assert!(parse(&text).is_ok());
}

#[test]
fn wrong_version() {
    let text = GOOD.replace("mpc.version = '2';", "mpc.version = '1';");
    assert_err(parse(&text), 2, 15, "must be '2'");
}

#[test]
fn missing_version_or_gen() {
    let text = GOOD.replace("mpc.version = '2';", "");
    assert_err(parse(&text), 0, 0, "mpc.version");
    let text = GOOD.replace("mpc.gen = [", "mpc.gencost = [");
    assert_err(parse(&text), 0, 0, "no `mpc.gen");
}

#[test]
fn non_numeric_cells() {
    for bad in ["1/2", "abc", "sqrt(3)", "1-2", "'x'"] {
        let text = with_cell(6, 2, bad);
        assert_err(parse(&text), 6, col_of(&text, 6, 2), "not a plain number");
    }
    // `1 - 0.5` is an expression in MATLAB (refused where it starts), `1 -0.5` two cells.
    let text = with_cell(6, 3, "- 0.5");
    assert_err(parse(&text), 6, col_of(&text, 6, 2), "not a plain number");
    assert!(parse(&with_cell(6, 3, "-0.5")).is_ok());
}

#[test]
fn wrong_column_counts() {
    // A bus row one cell short (the others have 13).
    let mut lines: Vec<&str> = GOOD.lines().collect();
    let short = "\t2\t1\t1\t0.5\t0\t0\t1\t1\t0\t12.66\t1\t1.1;";
    lines[5] = short;
    let text = lines.join("\n");
    assert_err(parse(&text), 6, 2, "this row has 12 columns");
    // Every branch row with 12 columns: fewer than the format's 13.
    let text = GOOD.replace("\t-360\t360;", "\t-360;");
    assert_err(parse(&text), 13, 2, "mpc.branch has 12 columns");
}

#[test]
fn unknown_and_duplicate_bus_numbers() {
    let text = with_cell(14, 1, "9");
    assert_err(
        parse(&text),
        14,
        col_of(&text, 14, 1),
        "bus 9 is not in mpc.bus",
    );
    let text = with_cell(10, 0, "7");
    assert_err(
        parse(&text),
        10,
        col_of(&text, 10, 0),
        "bus 7 is not in mpc.bus",
    );
    let text = with_cell(7, 0, "2");
    assert_err(parse(&text), 7, 2, "bus 2 is already defined at line 6");
    let text = with_cell(7, 0, "2.5");
    assert_err(parse(&text), 7, 2, "positive integer");
}

#[test]
fn islanded_bus() {
    let text = with_cell(14, 10, "0");
    assert_err(
        parse(&text),
        7,
        2,
        "bus 3 is not connected to the slack bus 1",
    );
}

#[test]
fn zero_and_negative_impedance() {
    let text = with_cell(13, 3, "0");
    let text = {
        let mut l: Vec<String> = text.lines().map(String::from).collect();
        let mut cells: Vec<String> = l[12].split('\t').map(String::from).collect();
        cells[3] = "0".into();
        l[12] = cells.join("\t");
        l.join("\n")
    };
    assert_err(parse(&text), 13, col_of(&text, 13, 2), "zero impedance");
    let text = with_cell(13, 2, "-0.01");
    assert_err(
        parse(&text),
        13,
        col_of(&text, 13, 2),
        "negative resistance",
    );
    // Negative reactance alone is legal (series capacitors).
    assert!(parse(&with_cell(13, 3, "-0.02")).is_ok());
}

#[test]
fn slack_count() {
    let text = with_cell(5, 1, "1");
    assert_err(parse(&text), 4, 1, "no slack (type 3) bus");
    let text = with_cell(7, 1, "3");
    assert_err(parse(&text), 7, 4, "a second slack (type 3) bus");
    let text = with_cell(6, 1, "5");
    assert_err(parse(&text), 6, 4, "BUS_TYPE must be");
}

#[test]
fn slack_without_generator_and_status() {
    let text = with_cell(10, 7, "0");
    assert_err(parse(&text), 5, 2, "has no in-service generator");
    let text = with_cell(13, 10, "2");
    assert_err(
        parse(&text),
        13,
        col_of(&text, 13, 10),
        "BR_STATUS must be 0 or 1",
    );
}

#[test]
fn statements_after_the_data() {
    let text = GOOD.to_string() + "mpc.bus(:, VMAX) = 1.1;\n";
    assert_err(parse(&text), 16, 1, "statement not understood");
    let text = GOOD.to_string() + "x = 1;\n";
    assert_err(parse(&text), 16, 1, "statement not understood");
    let text = GOOD.to_string() + "mpc.bus(:, [PD, QD]) = mpc.bus(:, [PD, QD]) / 1e3;\n";
    assert_err(parse(&text), 16, 1, "`PD` is used before it is defined");
    let text = GOOD.to_string() + "[PQ, PV, REF, NONE, BUS_I, BUS_TYPE, PD, QX] = idx_bus;\n";
    assert_err(parse(&text), 16, 42, "must be `QD`");
    // A conversion spelled differently from MATPOWER's is refused too.
    let text = GOOD.to_string()
        + "[PQ, PV, REF, NONE, BUS_I, BUS_TYPE, PD, QD] = idx_bus;\n\
           mpc.bus(:, [PD, QD]) = mpc.bus(:, [PD, QD]) / 1000;\n";
    assert_err(parse(&text), 17, 1, "statement not understood");
}

#[test]
fn vbase_needs_a_positive_base_kv() {
    let text = with_cell(5, 9, "0")
        + "[PQ, PV, REF, NONE, BUS_I, BUS_TYPE, PD, QD, GS, BS, BUS_AREA, VM, ...\n\
           \x20   VA, BASE_KV] = idx_bus;\n\
           Vbase = mpc.bus(1, BASE_KV) * 1e3;\n";
    assert_err(parse(&text), 5, 20, "must be positive");
}

#[test]
fn unterminated_things() {
    let text = GOOD.replace("];\nmpc.gen", "mpc.gen");
    // The bus matrix now swallows `mpc.gen = [`: the first non-number is refused.
    assert_err(parse(&text), 8, 1, "not a plain number");
    let cut = &GOOD[..GOOD.len() - 3];
    assert_err(parse(cut), 12, 14, "never closed");
    let text = GOOD.replace("mpc.version = '2';", "mpc.version = '2;");
    assert_err(parse(&text), 2, 15, "unterminated string");
}

#[test]
fn never_panics_on_truncations() {
    // Every prefix of a real case is either read or refused, never a panic.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/networks/case33bw.m");
    let text = std::fs::read_to_string(path).unwrap();
    let chars: Vec<char> = text.chars().collect();
    for n in (0..chars.len()).step_by(7) {
        let s: String = chars[..n].iter().collect();
        let _ = parse(&s);
    }
}
