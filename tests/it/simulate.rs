//! `v2g simulate`: outputs, a hand-computed case, and every bad-input rule.

use crate::common::*;

#[test]
fn example_fleet_writes_the_three_outputs() {
    let dir = tmp();
    let out = dir.path().join("out");
    let o = v2g(["simulate", "--fleet", "data/example.csv", "--out"]
        .map(Into::into)
        .into_iter()
        .chain([out.clone().into_os_string()]));
    let text = ok(&o);
    assert!(text.contains("EVA revenue"), "{text}");
    for f in ["slots.csv", "evs.csv", "summary.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}
