"""The wheel built with APPROVALS_COMPILE=1 (hatch_build.py) ships `approvals.redaction` as
mypyc extensions that redact byte for byte like the interpreted source.

This builds the real wheel (mypyc and a C compiler, about a minute), unpacks it, and runs the
golden-digest check of tests/unit/redaction/test_equivalence.py in a fresh interpreter that
imports the compiled modules: a construct mypyc compiles differently (an int turned float, a
class alias) changes a digest and fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.system_tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
REDACTION_TESTS = ROOT / "tests" / "unit" / "redaction"

_CHECK = """
import json, sys
site, tests = sys.argv[1], sys.argv[2]
sys.path[:0] = [site, tests]
import approvals.redaction as package
from approvals.redaction import walker
import test_equivalence as golden_check
assert walker.__file__.startswith(site) and not walker.__file__.endswith(".py"), walker.__file__
assert package.COMPILED, "approvals.redaction.COMPILED is False in the compiled build"
golden = golden_check.load_golden()
got = golden_check.compute()
changed = {g: golden_check.differing(got[g], golden[g])[:10] for g in golden}
changed = {g: i for g, i in changed.items() if i}
print(json.dumps({"changed": changed, "groups": {g: len(v) for g, v in got.items()}}))
"""


def test_compiled_wheel_redacts_exactly_like_the_interpreted_package(tmp_path: Path) -> None:
    require_tool("cc", "gcc python3-dev")  # mypyc compiles C
    dist = tmp_path / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                 "--no-build-isolation", "--wheel-dir", str(dist), str(ROOT)]  # fmt: skip
    build = subprocess.run(
        pip_wheel,
        env={**os.environ, "APPROVALS_COMPILE": "1"},
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("approvals-*.whl")
    assert not wheel.name.endswith("-py3-none-any.whl"), "a compiled wheel is platform-specific"

    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(site)
    sources = {p.stem for p in (ROOT / "approvals" / "redaction").glob("*.py")}
    compiled = {
        Path(n).name.split(".")[0] for n in names
        if n.startswith("approvals/redaction/") and n.endswith(".so")
    }  # fmt: skip
    assert compiled == sources, f"not compiled: {sorted(sources - compiled)}"
    assert {f"approvals/redaction/{s}.py" for s in sources} <= names, "sources stay as fallback"
    assert not list((ROOT / "approvals" / "redaction").glob("*.so")), "build wrote into source"

    check = subprocess.run(
        [sys.executable, "-c", _CHECK, str(site), str(REDACTION_TESTS)],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert check.returncode == 0, check.stderr[-3000:]
    report = check.stdout.strip().splitlines()[-1]
    assert '"changed": {}' in report, f"compiled output differs from the golden digests: {report}"
    assert '"corpus-11": 200' in report
