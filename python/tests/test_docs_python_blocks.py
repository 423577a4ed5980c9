"""The Python blocks of the README and the user's guide run as written (issue 29: docs that
cannot rot). Each ```python block runs in a fresh interpreter, in a scratch folder that
holds the repository's `data/` and `examples/`, as a reader would run it from a clone; a
block that fails fails the test with its page and line. (The shell blocks are run by
`tests/it/docs.rs`.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


def python_blocks(page: Path):
    """(line, code) of every fenced block whose info string is `python`."""
    out, open_, lines, start = [], None, [], 0
    for i, line in enumerate(page.read_text().splitlines(), 1):
        m = FENCE.match(line)
        if open_ is None:
            if m:
                open_ = (m.group(2), m.group(3).strip())
                lines, start = [], i
        elif m and m.group(2).startswith(open_[0]) and not m.group(3).strip():
            if open_[1] == "python":
                out.append((start, "\n".join(lines) + "\n"))
            open_ = None
        else:
            lines.append(line)
    return out


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCKS = [(p, line, code) for p in PAGES for line, code in python_blocks(p)]


def test_the_docs_have_python_blocks():
    pages = {p.name for p, _, _ in BLOCKS}
    assert "README.md" in pages and "python.md" in pages, pages


@pytest.mark.parametrize(
    "page,line,code",
    BLOCKS,
    ids=[f"{p.relative_to(ROOT)}:{line}" for p, line, _ in BLOCKS],
)
def test_every_python_block_runs(tmp_path, page, line, code):
    for name in ("data", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    p = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert p.returncode == 0, f"{page.relative_to(ROOT)}:{line}: the block failed:\n{code}\n{p.stderr}"
