"""v2g.simulate against the CLI on the case study, and inputs as DataFrames."""

from __future__ import annotations

import datetime as dt
import json
import math

import pyarrow as pa
import pyarrow.csv as pacsv
import pandas as pd
import polars as pl
import pytest

import v2g
from conftest import DATA, ROOT, read_csv_rows, run_cli

FLEET = "data/sustech.csv"


def cells_equal(table: pa.Table, rows: list) -> None:
    """Every cell of a CSV written by the CLI equals the table's value: floats exactly
    (Python's float() reads the shortest round-trip text back to the same double)."""
    header, body = rows[0], rows[1:]
    assert header == table.column_names
    assert len(body) == table.num_rows
    cols = {n: table.column(n).to_pylist() for n in header}
    for i, row in enumerate(body):
        for name, cell in zip(header, row):
            v = cols[name][i]
            if v is None:
                assert cell == "", (i, name, cell, v)
            elif isinstance(v, bool):
                assert cell == ("true" if v else "false"), (i, name, cell, v)
            elif isinstance(v, float):
                assert float(cell) == v or (math.isnan(v) and cell.lower() == "nan"), (i, name, cell, v)
            elif isinstance(v, int):
                assert int(cell) == v, (i, name, cell, v)
            elif isinstance(v, dt.datetime):
                assert v.strftime("%Y-%m-%dT%H:%M") == cell, (i, name, cell, v)
            else:
                assert cell == v, (i, name, cell, v)


def without_command_line(summary: dict) -> dict:
    s = json.loads(json.dumps(summary))
    s["run"].pop("command_line")
    return s


@pytest.mark.parametrize("solver", ["grid", "exact"])
def test_the_case_study_equals_the_cli_cell_by_cell(tmp_path, solver):
    cli_out = tmp_path / "cli"
    run_cli("simulate", "--fleet", FLEET, "--ledger", "off", "--solver", solver, "--out", str(cli_out), "-q")
    r = v2g.simulate(FLEET, solver=solver)
    assert r.slots.num_rows == 96
    cells_equal(r.slots, read_csv_rows(cli_out / "slots.csv"))
    cells_equal(r.evs, read_csv_rows(cli_out / "evs.csv"))
    cli_summary = json.loads((cli_out / "summary.json").read_text())
    # Every number, the inputs' hashes and the resolved scenario's digest; only the
    # command line differs (the CLI's argv against the Python call).
    assert without_command_line(r.summary) == without_command_line(cli_summary)
    assert r.summary["run"]["command_line"][0] == "v2g.simulate"
    # The output folder written from Python is the CLI's, byte for byte but summary.json's
    # command line.
    py_out = tmp_path / "py"
    written = r.write(py_out)
    assert sorted(p.rsplit("/", 1)[1] for p in written) == sorted(p.name for p in cli_out.iterdir())
    for f in cli_out.iterdir():
        if f.name != "summary.json":
            assert (py_out / f.name).read_bytes() == f.read_bytes(), f.name
    assert without_command_line(json.loads((py_out / "summary.json").read_text())) == without_command_line(cli_summary)


def test_out_writes_the_folder_as_the_run_goes(tmp_path):
    r = v2g.simulate(FLEET, slots=4, out=tmp_path / "o")
    assert sorted(p.rsplit("/", 1)[1] for p in r.written) == sorted(
        ["slots.csv", "evs.csv", "summary.json", "fig3_load_and_aux_demand.svg",
         "fig4_power_and_prices.svg", "fig5_revenue_and_costs.svg"]
    )
    rows = read_csv_rows(tmp_path / "o" / "slots.csv")
    cells_equal(r.slots, rows)


def _same_run(a: v2g.Result, b: v2g.Result) -> None:
    assert a.slots.equals(b.slots)
    assert a.evs.equals(b.evs)
    sa, sb = a.summary, b.summary
    assert sa["run"]["scenario_sha256"] == sb["run"]["scenario_sha256"]
    for s in (sa, sb):
        s.pop("run")
    assert sa == sb


@pytest.mark.parametrize(
    "load",
    [
        ("pandas", pd.read_csv, pd.read_csv),
        ("polars", pl.read_csv, pl.read_csv),
        ("pyarrow", pacsv.read_csv, pacsv.read_csv),
        ("v2g.read_fleet", v2g.read_fleet, v2g.read_grid),
    ],
    ids=lambda x: x[0],
)
def test_dataframe_input_equals_file_input(load):
    _, read_fleet, read_grid = load
    by_file = v2g.simulate(FLEET, solver="exact")
    by_table = v2g.simulate(read_fleet(DATA / "sustech.csv"), read_grid(DATA / "sustech_grid.csv"), solver="exact")
    assert by_table.summary["run"]["inputs"]["fleet"]["path"] == "<memory: fleet table>"
    _same_run(by_file, by_table)


def test_the_shipped_case_study_is_the_repository_s():
    fleet, grid = v2g.case_study()
    _same_run(v2g.simulate(FLEET), v2g.simulate(fleet, grid))


def test_params_scenario_dicts_and_scenario_files_resolve_alike(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('ledger = "off"\n[horizon]\nslots = 12\n[params]\nw_grid = 1.2\nbeta = 0.2\n')
    cli_out = tmp_path / "cli"
    run_cli("simulate", "--fleet", FLEET, "--scenario", str(toml), "--out", str(cli_out), "-q")
    cli = json.loads((cli_out / "summary.json").read_text())
    by_file = v2g.simulate(FLEET, scenario=toml)
    assert without_command_line(by_file.summary) == without_command_line(cli)
    by_kw = v2g.simulate(FLEET, w_grid=1.2, beta=0.2, slots=12)
    by_dict = v2g.simulate(FLEET, scenario={"params": {"w_grid": 1.2, "beta": 0.2}, "horizon.slots": 12})
    for r in (by_kw, by_dict):
        assert r.summary["run"]["scenario_sha256"] == cli["run"]["scenario_sha256"]
        cells_equal(r.slots, read_csv_rows(cli_out / "slots.csv"))
    # NumPy scalars are ints and floats.
    import numpy as np

    by_numpy = v2g.simulate(FLEET, w_grid=np.float64(1.2), beta=np.float32(0.25), slots=np.int64(12), seed=np.int32(7))
    assert by_numpy.summary["run"]["scenario"]["seed"] == 7
    assert by_numpy.summary["run"]["scenario"]["horizon"]["slots"] == 12
    assert by_numpy.summary["run"]["scenario"]["params"]["beta"] == float(np.float32(0.25))
    # A file and keys on top of it.
    on_top = v2g.simulate(FLEET, scenario=toml, w_grid=0.5)
    assert on_top.summary["run"]["scenario"]["params"]["w_grid"] == 0.5
    assert on_top.summary["run"]["scenario"]["params"]["beta"] == 0.2


def test_progress_sees_every_slot_and_an_exception_stops_the_run(tmp_path):
    seen = []
    v2g.simulate(FLEET, slots=5, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]

    class Enough(Exception):
        pass

    def stop(done, total):
        if done == 2:
            raise Enough("stop here")

    with pytest.raises(Enough, match="stop here"):
        v2g.simulate(FLEET, slots=5, progress=stop, out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_the_ledger_in_memory_is_written_on_request_and_verifies(tmp_path):
    r = v2g.simulate(FLEET, ledger=True, slots=3)
    assert r.genesis is not None
    names = [p.rsplit("/", 1)[1] for p in r.write(tmp_path / "o")]
    assert "ledger.jsonl" in names and "genesis.json" in names
    v = v2g.verify(tmp_path / "o" / "ledger.jsonl", tmp_path / "o" / "genesis.json")
    assert v["ok"] and v["pinned"] and v["blocks"] == 3


def test_plot_draws_figs_3_to_5():
    import matplotlib

    matplotlib.use("Agg")
    figs = v2g.simulate("data/example.csv").plot()
    assert len(figs) == 3
    titles = [f.axes[0].get_title() for f in figs]
    assert titles[0].startswith("Fig. 3") and titles[1].startswith("Fig. 4") and titles[2].startswith("Fig. 5")
    # Fig. 4 draws p_d* from the slots table.
    lines = {l.get_label(): l for ax in figs[1].axes for l in ax.get_lines()}
    assert list(lines["p_d*"].get_ydata()) == v2g.simulate("data/example.csv").slots.column("p_d").to_pylist()


def test_results_convert_to_pandas_and_polars_and_numeric_columns_are_not_copied():
    r = v2g.simulate("data/example.csv")
    df = r.slots.to_pandas()
    assert list(df.columns) == r.slots.column_names
    assert pl.from_arrow(r.evs).height == 6
    # Each numeric column arrives as one bytes object; the pyarrow array's data buffer is
    # that object's memory (numpy view, pyarrow wrap: no copy).
    import numpy as np
    from v2g._tables import to_arrow

    cols = r._core.slots_columns()
    t = to_arrow(cols)
    for name, kind, values in cols:
        if kind != "str":
            assert t.column(name).chunk(0).buffers()[1].address == np.frombuffer(values, dtype=np.uint8).ctypes.data, name
    assert t.equals(r.slots)


SESSIONS = """\
ev_id,kind,capacity_kwh,initial_kwh,arrival,departure,session_id
car,private,60,20,2021-05-27T06:00,2021-05-27T09:00,car-am
van,private,50,25,2021-05-27T06:00,2021-05-27T12:00,
car,private,60,35,2021-05-27T10:00,2021-05-27T13:00,car-noon
car,private,60,12,2021-05-27T13:00,2021-05-27T17:30,car-pm
van,private,50,40,2021-05-27T14:00,2021-05-27T18:00,
"""


@pytest.mark.parametrize("load", ["path", "read_fleet", "pandas", "polars"])
def test_an_ev_that_plugs_in_again_equals_the_cli(tmp_path, load):
    """Repeated ev_id with session names (docs/model.md §6.1): one evs row per session,
    its session_id a null where the fleet leaves it empty, the summary counting EVs and
    sessions, and every cell the CLI's, from a file or a table."""
    f = tmp_path / "sessions.csv"
    f.write_text(SESSIONS)
    window = ["--start", "2021-05-27T06:00", "--slots", "48"]
    cli_out = tmp_path / "cli"
    run_cli("simulate", "--fleet", str(f), *window, "--ledger", "off", "--out", str(cli_out), "-q")
    fleet = {
        "path": lambda: f,
        "read_fleet": lambda: v2g.read_fleet(f),
        "pandas": lambda: pd.read_csv(f),
        "polars": lambda: pl.read_csv(f),
    }[load]()
    r = v2g.simulate(fleet, start="2021-05-27T06:00", slots=48)
    cells_equal(r.slots, read_csv_rows(cli_out / "slots.csv"))
    cells_equal(r.evs, read_csv_rows(cli_out / "evs.csv"))
    assert r.evs.column("session_id").to_pylist() == ["car-am", None, "car-noon", "car-pm", None]
    assert r.evs.column("ev_id").to_pylist() == ["car", "van", "car", "car", "van"]
    assert (r.summary["evs"]["n_evs"], r.summary["evs"]["n_sessions"]) == (2, 5)
    if load == "read_fleet":
        assert fleet["session_id"].isna().tolist() == [False, True, False, False, True]
        assert fleet["session_id"][0] == "car-am" and fleet.columns[1] == "session_id"


def test_overlapping_sessions_of_one_ev_are_an_input_error(tmp_path):
    f = tmp_path / "overlap.csv"
    f.write_text(SESSIONS.replace("2021-05-27T10:00,2021-05-27T13:00", "2021-05-27T08:00,2021-05-27T13:00"))
    with pytest.raises(v2g.InputError, match=r"overlap.csv:4:5 \(arrival\): sessions of EV \"car\" overlap"):
        v2g.simulate(f, start="2021-05-27T06:00", slots=48)
