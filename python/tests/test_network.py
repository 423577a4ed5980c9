"""v2g.simulate with a distribution network (docs/model.md §9): ``Result.network`` and
``Result.network_buses`` against the CLI's network.csv and network_buses.csv, the ways a
network and its sites reach the scenario, and the errors."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import v2g
from conftest import DATA, ROOT, cli_error, read_csv_rows, run_cli
from test_simulate import cells_equal, without_command_line

FLEET = "data/sustech.csv"
CASE_STUDY = "data/networks/sustech_case33bw.toml"
CASE33 = "data/networks/case33bw.m"
SITES = [
    {"name": "gate", "bus": 6, "transformer_kva": 1000},
    {"name": "library", "bus": 14, "transformer_kva": 1000},
    {"name": "dorms", "bus": 25, "transformer_kva": 1000},
    {"name": "depot", "bus": 31, "transformer_kva": 1000},
]
NETWORK_FILES = ("network.csv", "network_buses.csv", "fig6_network.svg")


def sites_toml(sites=SITES) -> str:
    out = []
    for s in sites:
        out.append("[[sites]]")
        out += [f"{k} = {json.dumps(v)}" for k, v in s.items()]
    return "\n".join(out) + "\n"


def test_the_case_study_s_network_equals_the_cli_cell_by_cell(tmp_path):
    cli_out = tmp_path / "cli"
    run_cli("simulate", "--fleet", FLEET, "--scenario", CASE_STUDY, "--ledger", "off", "--out", str(cli_out), "-q")
    r = v2g.simulate(FLEET, scenario=CASE_STUDY)
    assert r.network.num_rows == 2 * 96
    assert r.network_buses.num_rows == 2 * 96 * 33
    assert r.network.column("policy").to_pylist() == ["scheme"] * 96 + ["baseline"] * 96
    cells_equal(r.network, read_csv_rows(cli_out / "network.csv"))
    cells_equal(r.network_buses, read_csv_rows(cli_out / "network_buses.csv"))
    cells_equal(r.slots, read_csv_rows(cli_out / "slots.csv"))
    # Columns typed as the CSV's: optional numbers are nulls where the CSV is empty (no
    # branch of case33bw has a rating).
    schema = r.network.schema
    assert schema.field("time").type == pa.timestamp("s")
    assert schema.field("vm_min_bus").type == pa.int64()
    assert schema.field("branch_loading_max").type == pa.int64()
    assert r.network.column("branch_loading_max").null_count == 2 * 96
    assert r.network.column("transformer_loading_max_pct").null_count == 0
    assert r.network_buses.schema.field("bus").type == pa.int64()
    cli_summary = json.loads((cli_out / "summary.json").read_text())
    assert r.summary["network"] == cli_summary["network"]
    assert without_command_line(r.summary) == without_command_line(cli_summary)
    # The folder written from Python has the network's files, byte for byte the CLI's.
    py_out = tmp_path / "py"
    names = {p.rsplit("/", 1)[1] for p in r.write(py_out)}
    assert names >= set(NETWORK_FILES)
    for f in NETWORK_FILES:
        assert (py_out / f).read_bytes() == (cli_out / f).read_bytes(), f


def test_network_argument_and_sites_in_a_dict_or_as_keywords_equal_the_cli_s_flag(tmp_path):
    """`network=` is `--network`; the sites and the load scale reach the scenario from a
    file, a dict (`sites` a list of dicts) or keywords alike."""
    toml = tmp_path / "sites.toml"
    toml.write_text("network_load_scale = 0.29\n[horizon]\nslots = 24\n" + sites_toml())
    cli_out = tmp_path / "cli"
    run_cli("simulate", "--fleet", FLEET, "--scenario", str(toml), "--network", CASE33,
            "--ledger", "off", "--out", str(cli_out), "-q")
    cli_summary = json.loads((cli_out / "summary.json").read_text())
    runs = {
        "file": v2g.simulate(FLEET, scenario=toml, network=CASE33),
        "dict": v2g.simulate(
            FLEET, network=CASE33,
            scenario={"horizon": {"slots": 24}, "network_load_scale": 0.29, "sites": SITES},
        ),
        "keywords": v2g.simulate(FLEET, network=CASE33, slots=24, network_load_scale=0.29, sites=SITES),
        # The network as a scenario key (a dict's path is the working directory's).
        "network key": v2g.simulate(
            FLEET, slots=24,
            scenario={"network": CASE33, "network_load_scale": 0.29, "sites": SITES},
        ),
    }
    for how, r in runs.items():
        assert r.network.num_rows == 48, how
        cells_equal(r.network, read_csv_rows(cli_out / "network.csv"))
        cells_equal(r.network_buses, read_csv_rows(cli_out / "network_buses.csv"))
        assert r.summary["network"] == cli_summary["network"], how
        assert r.summary["run"]["scenario_sha256"] == cli_summary["run"]["scenario_sha256"], how
        assert r.summary["run"]["inputs"]["network"] == cli_summary["run"]["inputs"]["network"], how
    assert "network=" + CASE33 in runs["file"].summary["run"]["command_line"]


def test_a_scenario_file_s_network_stays_relative_to_its_folder_with_keys_on_top(tmp_path):
    """The case study's file names `case33bw.m` beside it; keys set on top of the file
    (which makes the scenario a value) keep that path the file's, as the CLI reads it."""
    cli_out = tmp_path / "cli"
    run_cli("simulate", "--fleet", FLEET, "--scenario", CASE_STUDY, "--slots", "8", "--ledger", "off",
            "--out", str(cli_out), "-q")
    r = v2g.simulate(FLEET, scenario=CASE_STUDY, slots=8)
    cells_equal(r.network, read_csv_rows(cli_out / "network.csv"))
    cli_summary = json.loads((cli_out / "summary.json").read_text())
    assert r.summary["run"]["inputs"]["network"] == cli_summary["run"]["inputs"]["network"]
    assert r.summary["run"]["inputs"]["network"]["path"] == CASE33
    assert r.summary["run"]["scenario"]["network"] == "case33bw.m"
    # Another key on top: the same file's network, at another load scale.
    lighter = v2g.simulate(FLEET, scenario=CASE_STUDY, slots=8, network_load_scale=0.2)
    assert lighter.summary["run"]["inputs"]["network"]["path"] == CASE33
    assert lighter.summary["run"]["scenario"]["network_load_scale"] == 0.2
    assert min(lighter.network.column("vm_min_pu").to_pylist()[:8]) > min(r.network.column("vm_min_pu").to_pylist()[:8])
    # `network=` replaces the file's (as --network does).
    elsewhere = tmp_path / "copy.m"
    elsewhere.write_bytes((ROOT / CASE33).read_bytes())
    moved = v2g.simulate(FLEET, scenario=CASE_STUDY, slots=8, network=elsewhere)
    assert moved.summary["run"]["inputs"]["network"]["path"] == str(elsewhere)
    assert moved.network.equals(r.network)


def test_without_a_network_there_are_no_network_tables(tmp_path):
    r = v2g.simulate(FLEET, slots=4, network=None)
    assert r.network is None and r.network_buses is None
    assert "network" not in r.summary
    names = {p.rsplit("/", 1)[1] for p in r.write(tmp_path / "o")}
    assert not names & set(NETWORK_FILES)


def test_a_missing_network_file_is_file_not_found_with_its_path(tmp_path):
    missing = tmp_path / "no_such_case.m"
    with pytest.raises(FileNotFoundError, match="no_such_case.m") as e:
        v2g.simulate(FLEET, scenario=CASE_STUDY, network=missing)
    assert str(missing) in str(e.value)
    # The CLI says the same.
    assert cli_error("simulate", "--fleet", FLEET, "--scenario", CASE_STUDY, "--network", str(missing),
                     "--ledger", "off", "-q") == str(e.value)


def test_a_file_that_is_not_a_case_is_an_input_error_with_its_path_and_line(tmp_path):
    bad = tmp_path / "not_a_case.m"
    bad.write_text("function mpc = broken\nmpc.version = '2';\nmpc.baseMVA = 100;\nmpc.bus = [\n\t1\t3\t0;\n];\n")
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate(FLEET, scenario=CASE_STUDY, network=bad)
    assert str(bad) in str(e.value)
    assert cli_error("simulate", "--fleet", FLEET, "--scenario", CASE_STUDY, "--network", str(bad),
                     "--ledger", "off", "-q") == str(e.value)
    # The fleet CSV given as a network: located at its first line.
    with pytest.raises(v2g.InputError, match=r"data/sustech.csv:1:1: statement not understood"):
        v2g.simulate(FLEET, scenario=CASE_STUDY, network=DATA.relative_to(ROOT) / "sustech.csv")


def test_a_network_without_sites_or_with_a_site_off_the_case_is_an_input_error():
    with pytest.raises(v2g.InputError, match=r"invalid parameter sites: the network .*case33bw.m needs charging sites"):
        v2g.simulate(FLEET, network=CASE33, slots=4)
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate(FLEET, network=CASE33, slots=4, sites=[{"name": "far", "bus": 99}])
    assert "99" in str(e.value)


def test_a_fleet_s_site_column_from_a_dataframe_equals_the_file(tmp_path):
    """The fleet's optional `site` column (docs/model.md §9.2): sessions that name a site
    plug in there, the others (an empty cell, None or NaN in a table) at site i mod n."""
    import pandas as pd

    df = v2g.read_fleet(FLEET)
    assert "site" not in df.columns
    names = [None, "gate", None, "gate", "library"] * (len(df) // 5)
    df["site"] = names + [None] * (len(df) - len(names))
    f = tmp_path / "fleet.csv"
    df.to_csv(f, index=False, date_format="%Y-%m-%dT%H:%M")
    cli_out = tmp_path / "cli"
    run_cli("simulate", "--fleet", str(f), "--grid", "data/sustech_grid.csv", "--scenario", CASE_STUDY,
            "--slots", "24", "--ledger", "off", "--out", str(cli_out), "-q")
    back = v2g.read_fleet(f)
    assert back["site"].tolist() == df["site"].tolist()
    for fleet in (f, df, back, pd.read_csv(f)):
        r = v2g.simulate(fleet, "data/sustech_grid.csv", scenario=CASE_STUDY, slots=24)
        cells_equal(r.network, read_csv_rows(cli_out / "network.csv"))
        cells_equal(r.network_buses, read_csv_rows(cli_out / "network_buses.csv"))
        cells_equal(r.evs, read_csv_rows(cli_out / "evs.csv"))
    # Not the run without the column: the sites' loads differ.
    plain = v2g.simulate(FLEET, scenario=CASE_STUDY, slots=24)
    assert not plain.network_buses.equals(r.network_buses)
    with pytest.raises(v2g.InputError, match=r"names the site \"nowhere\""):
        v2g.simulate(df.assign(site="nowhere"), "data/sustech_grid.csv", scenario=CASE_STUDY, slots=4)
