"""Each error class: the CLI's located message, the package's exception, no panic."""

from __future__ import annotations

import pandas as pd
import pytest

import v2g
from conftest import DATA, cli_error


def test_a_bad_fleet_file_is_an_input_error_with_the_cli_s_message(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ev_id,kind,capacity_kwh,initial_kwh,arrival,departure\n"
        "1,bus,160,57.2,2021-05-27T16:00,2021-05-28T06:30\n"
        "2,private,-68,33.7,2021-05-27T20:50,2021-05-28T07:30\n"
    )
    want = cli_error("simulate", "--fleet", str(bad), "--ledger", "off", "--out", str(tmp_path / "o"))
    assert ":3:3 (capacity_kwh)" in want
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate(bad)
    assert str(e.value) == want
    assert isinstance(e.value, ValueError) and isinstance(e.value, v2g.V2gError)


def test_a_bad_cell_in_a_dataframe_is_located_by_row_and_column():
    df = pd.read_csv(DATA / "example.csv")
    df.loc[1, "initial_kwh"] = 1e6
    with pytest.raises(v2g.InputError, match=r"^<fleet table>:3:4 \(initial_kwh\): initial_kwh must be <= capacity_kwh$"):
        v2g.simulate(df)
    df = pd.read_csv(DATA / "example.csv").drop(columns=["kind"])
    with pytest.raises(v2g.InputError, match=r"^<fleet table>:1:.*kind"):
        v2g.simulate(df)


def test_a_bad_grid_file_is_an_input_error_with_the_cli_s_message(tmp_path):
    grid = tmp_path / "g.csv"
    grid.write_text("time,base_load_kw,e_limit_kwh\n2021-05-27T07:00,5329.5,-1\n")
    want = cli_error("simulate", "--fleet", "data/example.csv", "--grid", str(grid), "--ledger", "off", "--out", str(tmp_path / "o"))
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate("data/example.csv", grid)
    assert str(e.value) == want


def test_a_scenario_file_error_is_located(tmp_path):
    s = tmp_path / "s.toml"
    s.write_text("[params]\nw_grid = \"lots\"\n")
    want = cli_error("simulate", "--fleet", "data/example.csv", "--scenario", str(s), "--out", str(tmp_path / "o"))
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate("data/example.csv", scenario=s)
    assert str(e.value) == want
    assert ":2:" in want


def test_parameters_out_of_range_or_unknown_are_input_errors(tmp_path):
    want = cli_error("simulate", "--fleet", "data/example.csv", "--epsilon", "-1", "--out", str(tmp_path / "o"))
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate("data/example.csv", epsilon=-1)
    assert str(e.value) == want
    want = cli_error("simulate", "--fleet", "data/example.csv", "--workers", "0", "--out", str(tmp_path / "o"))
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate("data/example.csv", workers=0)
    assert str(e.value) == want
    with pytest.raises(v2g.InputError, match="params.w_grd: no such scenario key"):
        v2g.simulate("data/example.csv", w_grd=1.0)
    with pytest.raises(v2g.InputError, match="params.w_grid"):
        v2g.simulate("data/example.csv", w_grid="high")
    with pytest.raises(v2g.InputError, match="solver: \"fast\" is not 'grid' or 'exact'"):
        v2g.simulate("data/example.csv", solver="fast")
    with pytest.raises(v2g.InputError, match="byzantine"):
        v2g.simulate("data/example.csv", byzantine=1)


def test_an_output_folder_holding_other_files_is_refused_before_simulating(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    want = cli_error("simulate", "--fleet", "data/example.csv", "--ledger", "off", "--out", str(out))
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate("data/example.csv", out=out)
    assert str(e.value) == want
    assert (out / "mine.txt").read_text() == "keep"


def test_a_missing_file_is_file_not_found_with_the_cli_s_message(tmp_path):
    missing = str(tmp_path / "nope.csv")
    want = cli_error("simulate", "--fleet", missing, "--out", str(tmp_path / "o"))
    with pytest.raises(FileNotFoundError) as e:
        v2g.simulate(missing)
    assert str(e.value) == want
    with pytest.raises(FileNotFoundError):
        v2g.verify(tmp_path / "ledger.jsonl")


def test_wrong_types_are_type_errors_not_crashes():
    with pytest.raises(TypeError):
        v2g.simulate(42)
    with pytest.raises(TypeError):
        v2g.simulate("data/example.csv", scenario=3.5)
    with pytest.raises(v2g.InputError, match="a scenario value is"):
        v2g.simulate("data/example.csv", w_grid=object())


def test_generators_refuse_bad_arguments_as_the_cli_does(tmp_path):
    want = cli_error("fleet", "generate", "--n", "3", "--out", str(tmp_path / "f.csv"))
    with pytest.raises(v2g.InputError) as e:
        v2g.generate_fleet(3)
    assert str(e.value) == want
    with pytest.raises(v2g.InputError, match="day"):
        v2g.generate_fleet(10, day="yesterday")
    want = cli_error("grid", "generate", "--threshold", "2", "--out", str(tmp_path / "g.csv"))
    with pytest.raises(v2g.InputError) as e:
        v2g.generate_grid(threshold=2.0)
    assert str(e.value) == want
