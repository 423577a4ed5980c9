"""Checks what `maturin build --sdist` wrote (.ci/run): one sdist and one abi3 wheel of
v2g, each with both licence files, the wheel with the extension and the Python package."""

import sys
import tarfile
import zipfile
from pathlib import Path

dist = Path(sys.argv[1])
sdists = sorted(dist.glob("v2g-*.tar.gz"))
wheels = sorted(dist.glob("v2g-*-abi3-*.whl"))
assert len(sdists) == 1 and len(wheels) == 1, f"expected one sdist and one abi3 wheel: {sorted(dist.iterdir())}"

with tarfile.open(sdists[0]) as t:
    names = t.getnames()
for lic in ("LICENSE-MIT", "LICENSE-APACHE"):
    assert any(n.endswith(lic) for n in names), f"{sdists[0].name} lacks {lic}"
assert any(n.endswith("src/lib.rs") for n in names), f"{sdists[0].name} lacks the core crate"

with zipfile.ZipFile(wheels[0]) as z:
    names = z.namelist()
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    metadata = z.read(meta).decode()
for lic in ("LICENSE-MIT", "LICENSE-APACHE"):
    assert any(n.endswith(lic) for n in names), f"{wheels[0].name} lacks {lic}"
assert any(n.startswith("v2g/_v2g") for n in names), f"{wheels[0].name} lacks the extension"
assert "v2g/__init__.py" in names, f"{wheels[0].name} lacks the package"
assert "MIT OR Apache-2.0" in metadata, "the wheel's metadata lacks the licence"
print(f"dist: {sdists[0].name} ({len(tarfile.open(sdists[0]).getnames())} files), {wheels[0].name}")
