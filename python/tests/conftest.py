"""Shared fixtures: the repository root, the CLI binary, CLI runs to compare against."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"


def cli_binary() -> Path:
    """The `v2g` binary (`V2G_BIN`, or target/debug/v2g, built if missing)."""
    env = os.environ.get("V2G_BIN")
    if env:
        return Path(env)
    b = ROOT / "target" / "debug" / "v2g"
    if not b.exists():
        subprocess.run(["cargo", "build", "--bin", "v2g"], cwd=ROOT, check=True)
    return b


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs the CLI from the repository root (so relative paths match the library's)."""
    p = subprocess.run(
        [str(cli_binary()), *args], cwd=ROOT, capture_output=True, text=True
    )
    if check and p.returncode != 0:
        raise AssertionError(f"v2g {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p


def cli_error(*args: str) -> str:
    """The message the CLI prints after `v2g: error: ` for a failing command."""
    p = run_cli(*args, check=False)
    assert p.returncode == 2, (p.returncode, p.stderr)
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("v2g: error: "), line
    return line[len("v2g: error: "):]


def read_csv_rows(path: Path) -> list:
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    """Every test runs from the repository root, as the CLI runs above."""
    monkeypatch.chdir(ROOT)
