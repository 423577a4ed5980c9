"""verify and the generators against the CLI."""

from __future__ import annotations

import pandas as pd

import v2g
from conftest import run_cli


def test_verify_gives_the_cli_s_verdict_and_counts(tmp_path):
    out = tmp_path / "o"
    run_cli("simulate", "--fleet", "data/example.csv", "--slots", "6", "--out", str(out), "-q")
    ledger, genesis = out / "ledger.jsonl", out / "genesis.json"
    for pin in ([], ["--genesis", str(genesis)]):
        cli = run_cli("verify", str(ledger), *pin).stdout.strip()
        got = v2g.verify(ledger, genesis if pin else None)
        assert got["ok"] is True
        assert cli == f"{ledger}: {got['message']}"
        assert got["pinned"] is bool(pin)
        assert f"{got['blocks']} blocks, {got['transactions']} transactions" in cli
    # A tampered ledger: the CLI's failure line, verdict not OK.
    lines = ledger.read_text().splitlines()
    lines[2] = lines[2].replace('"height":1', '"height":7', 1) if '"height":1' in lines[2] else lines[2][:-2] + " }"
    ledger.write_text("\n".join(lines) + "\n")
    cli = run_cli("verify", str(ledger), "--genesis", str(genesis), check=False)
    assert cli.returncode == 1
    got = v2g.verify(ledger, genesis)
    assert got["ok"] is False
    assert cli.stderr.strip() == f"v2g: {ledger}: {got['error']}"


def test_verify_with_a_genesis_hash(tmp_path):
    r = v2g.simulate("data/example.csv", ledger=True, slots=2, out=tmp_path / "o")
    import hashlib  # noqa: F401  (the hash is the record's own, not the file's)

    good = v2g.verify(tmp_path / "o" / "ledger.jsonl")
    assert good["ok"] and not good["pinned"]
    pinned = v2g.verify(tmp_path / "o" / "ledger.jsonl", genesis_hash=good["genesis"])
    assert pinned["ok"] and pinned["pinned"]
    wrong = v2g.verify(tmp_path / "o" / "ledger.jsonl", genesis_hash="0" * 64)
    assert wrong["ok"] is False and wrong["error"]
    assert r.genesis is not None


def test_generated_tables_equal_the_cli_s_files(tmp_path):
    run_cli("fleet", "generate", "--n", "300", "--seed", "7", "--bus-share", "0.2", "--out", str(tmp_path / "f.csv"))
    run_cli("grid", "generate", "--seed", "7", "--slots", "48", "--out", str(tmp_path / "g.csv"))
    fleet = v2g.generate_fleet(300, 7, bus_share=0.2)
    grid = v2g.generate_grid(7, slots=48)
    pd.testing.assert_frame_equal(fleet, v2g.read_fleet(tmp_path / "f.csv"))
    pd.testing.assert_frame_equal(grid, v2g.read_grid(tmp_path / "g.csv"))
    assert list(fleet.columns) == ["ev_id", "kind", "capacity_kwh", "initial_kwh", "arrival", "departure"]
    # The DataFrames run as the files do.
    a = v2g.simulate(fleet, grid, slots=48)
    b = v2g.simulate(tmp_path / "f.csv", tmp_path / "g.csv", slots=48)
    assert a.slots.equals(b.slots) and a.evs.equals(b.evs)


IMPORT = "tests/data/import"


def test_import_fleet_equals_the_cli_s_import(tmp_path):
    # Each format as `v2g fleet import` writes it, read back as the library reads it.
    cases = [
        ("acn.json", "acn", {"day": "2019-11-02", "seed": 7}, ["--day", "2019-11-02", "--seed", "7"]),
        ("sustaingym.csv", "sustaingym", {"tz": "America/Los_Angeles", "seed": 3}, ["--tz", "America/Los_Angeles", "--seed", "3"]),
    ]
    for name, fmt, kw, flags in cases:
        out = tmp_path / f"{fmt}.csv"
        p = run_cli("fleet", "import", "--format", fmt, f"{IMPORT}/{name}", "--out", str(out), *flags)
        df = v2g.import_fleet(f"{v2g_root()}/{IMPORT}/{name}", fmt, **kw)
        pd.testing.assert_frame_equal(df, v2g.read_fleet(out))
        assert df.attrs["summary"] in p.stderr
        assert "target_kwh" in df.columns and len(df) > 0


def test_import_fleet_errors_are_input_errors():
    import pytest

    root = v2g_root()
    with pytest.raises(v2g.InputError, match="tz: \"Mars/Olympus\" is not an IANA time zone"):
        v2g.import_fleet(f"{root}/{IMPORT}/acn.json", "acn", tz="Mars/Olympus")
    with pytest.raises(v2g.InputError, match="arrival: is required"):
        v2g.import_fleet(f"{root}/{IMPORT}/elaad_like.csv", "csv", departure="x", energy="y")
    with pytest.raises(v2g.InputError, match="delimiter: must be one ASCII character"):
        v2g.import_fleet(
            f"{root}/{IMPORT}/elaad_like.csv", "csv", arrival="a", departure="x", energy="y",
            delimiter=";;",
        )
    with pytest.raises(v2g.InputError, match="format: must be"):
        v2g.import_fleet(f"{root}/{IMPORT}/acn.json", "json")


def v2g_root() -> str:
    from conftest import ROOT

    return str(ROOT)


def test_verify_names_a_missing_or_folder_ledger_as_the_cli_does(tmp_path):
    from conftest import cli_error
    import pytest

    out = tmp_path / "o"
    v2g.simulate("data/example.csv", ledger=True, slots=2, out=out)
    missing = tmp_path / "MISSING.jsonl"
    for pin in ([], ["--genesis", str(out / "genesis.json")]):
        genesis = out / "genesis.json" if pin else None
        want = cli_error("verify", str(missing), *pin)
        assert want.startswith(f"{missing}: no such file: the ledger to verify"), want
        with pytest.raises(FileNotFoundError) as e:
            v2g.verify(missing, genesis)
        assert str(e.value) == want
        want = cli_error("verify", str(out), *pin)
        assert want == f"{out}: is a directory, not a ledger file (the run's ledger is {out / 'ledger.jsonl'})"
        with pytest.raises(OSError) as e:
            v2g.verify(out, genesis)
        assert str(e.value) == want
