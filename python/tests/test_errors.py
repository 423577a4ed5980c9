"""Each error class: the CLI's located message, the package's exception, no panic."""

from __future__ import annotations

import datetime as dt

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


@pytest.mark.parametrize(
    "keyword, value",
    [
        ("workers", -1),
        ("workers", 2.5),
        ("workers", "3"),
        ("seed", -5),
        ("seed", 1.0),
        ("byzantine", -1),
        ("slots", -1),
        ("slots", 2.5),
        ("slots", True),
    ],
)
def test_a_whole_number_keyword_out_of_its_rule_is_an_input_error_naming_it(keyword, value):
    with pytest.raises(
        v2g.InputError, match=rf"^invalid parameter {keyword}: must be a whole number ≥ 0, not "
    ):
        v2g.simulate("data/example.csv", **{keyword: value})


def test_whole_numbers_are_checked_in_scenario_dicts_generators_and_games():
    with pytest.raises(v2g.InputError, match=r"^invalid parameter horizon\.slots: must be a whole number ≥ 0, not -4$"):
        v2g.simulate("data/example.csv", scenario={"horizon": {"slots": -4}})
    with pytest.raises(v2g.InputError, match=r"^invalid parameter seed: must be a whole number from 0 to 9223372036854775807"):
        v2g.simulate("data/example.csv", seed=2**64)
    with pytest.raises(v2g.InputError, match=r"^invalid parameter n: must be a whole number ≥ 0, not -1$"):
        v2g.generate_fleet(-1)
    with pytest.raises(v2g.InputError, match=r"^invalid parameter seed: must be a whole number ≥ 0, not 2\.5"):
        v2g.generate_grid(2.5)
    game = v2g.SlotGame({"energy_kwh": [10.0], "capacity_kwh": [40.0]}, p_rt=0.7)
    with pytest.raises(v2g.InputError, match=r"^invalid parameter workers: must be a whole number ≥ 0, not -2$"):
        game.search(workers=-2)
    # NumPy integers are whole numbers.
    import numpy as np

    r = v2g.simulate("data/example.csv", slots=np.int64(2), workers=np.int32(4), seed=np.uint8(3))
    assert r.summary["slots"] == 2


def test_a_missing_value_in_a_required_column_is_named_missing_with_its_row_and_column(tmp_path):
    missing = "is missing: the cell is empty \\(in a table: NaN, None or NaT\\), and {} is required$"
    df = pd.read_csv(DATA / "example.csv")
    df.loc[1, "capacity_kwh"] = float("nan")
    with pytest.raises(v2g.InputError, match=r"^<fleet table>:3:3 \(capacity_kwh\): capacity_kwh " + missing.format("capacity_kwh")):
        v2g.simulate(df)
    df = pd.read_csv(DATA / "example.csv", parse_dates=["arrival", "departure"])
    df.loc[0, "departure"] = pd.NaT
    with pytest.raises(v2g.InputError, match=r"^<fleet table>:2:6 \(departure\): departure " + missing.format("departure")):
        v2g.simulate(df)
    df = pd.read_csv(DATA / "example.csv")
    df.loc[2, "kind"] = None
    with pytest.raises(v2g.InputError, match=r"^<fleet table>:4:2 \(kind\): kind " + missing.format("kind")):
        v2g.simulate(df)
    grid = pd.read_csv(DATA / "example_grid.csv")
    grid.loc[0, "base_load_kw"] = float("nan")
    with pytest.raises(v2g.InputError, match=r"^<grid table>:2:2 \(base_load_kw\): base_load_kw " + missing.format("base_load_kw")):
        v2g.simulate("data/example.csv", grid)
    # A file's empty cell says the same as the CLI.
    bad = tmp_path / "bad.csv"
    bad.write_text((DATA / "example.csv").read_text().replace(",160,", ",,", 1))
    want = cli_error("simulate", "--fleet", str(bad), "--ledger", "off", "--out", str(tmp_path / "o"))
    assert want.endswith("capacity_kwh is missing: the cell is empty (in a table: NaN, None or NaT), and capacity_kwh is required")
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate(bad)
    assert str(e.value) == want


def test_time_zone_aware_times_are_refused_naming_the_column_and_the_conversion():
    df = pd.read_csv(DATA / "example.csv", parse_dates=["arrival", "departure"])
    aware = df.copy()
    aware["arrival"] = aware["arrival"].dt.tz_localize("Europe/Berlin")
    with pytest.raises(v2g.InputError) as e:
        v2g.simulate(aware)
    msg = str(e.value)
    assert msg.startswith("<fleet table> (arrival): the column holds time-zone-aware times (Europe/Berlin)"), msg
    assert ".dt.tz_localize(None)" in msg and ".dt.tz_convert(" in msg
    # Converted as the message says, it runs, and as the naive times do.
    aware["arrival"] = aware["arrival"].dt.tz_localize(None)
    assert v2g.simulate(aware, slots=4).summary["eva"] == v2g.simulate(df, slots=4).summary["eva"]
    # Aware datetimes in a dict of columns, and a grid's time column.
    rows = df.to_dict("list")
    rows["departure"] = [t.to_pydatetime().replace(tzinfo=dt.timezone.utc) for t in df["departure"]]
    with pytest.raises(v2g.InputError, match=r"^<fleet table> \(departure\): the column holds time-zone-aware times"):
        v2g.simulate(rows)
    grid = pd.read_csv(DATA / "example_grid.csv", parse_dates=["time"])
    grid["time"] = grid["time"].dt.tz_localize("UTC")
    with pytest.raises(v2g.InputError, match=r"^<grid table> \(time\): the column holds time-zone-aware times \(UTC\)"):
        v2g.simulate("data/example.csv", grid)


def test_an_output_folder_another_run_is_writing_is_a_blocking_io_error(tmp_path):
    import fcntl

    out = tmp_path / "o"
    # Another run holds the folder's lock (an OS lock on .o.v2g-lock beside it).
    with open(tmp_path / ".o.v2g-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BlockingIOError, match=r"the output folder '.*o' is being written by another run"):
            v2g.simulate("data/example.csv", out=out)
        assert not out.exists()
    v2g.simulate("data/example.csv", slots=2, out=out)
    assert (out / "summary.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]
