"""Wheel build hook: with APPROVALS_COMPILE=1, ship `approvals.redaction` compiled by mypyc.

Why: redaction is the one CPU-bound package on the intake path and in `approvals redact
--jsonl`; mypyc turns its (strictly typed) modules into C extensions, about 1.4x faster, with
byte-identical output (tests/integration/test_compiled_redaction.py checks the golden digests
against a wheel built this way). The .py sources stay in the wheel and are the fallback.

Off by default and never for editable installs: a compiled module next to its source would
shadow every later edit of that source. Compiling happens in a scratch copy of the package, so
nothing is written into the source tree. Use:

    APPROVALS_COMPILE=1 pip wheel --no-deps -w dist .
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = Path("approvals") / "redaction"
_MYPY_CONFIG = """\
[mypy]
python_version = 3.11
strict = True
ignore_missing_imports = True
"""


def _wanted() -> bool:
    return os.environ.get("APPROVALS_COMPILE", "").strip().lower() in ("1", "true", "yes")


class CompiledRedactionHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        # Only a compiling build needs the compiler (mypyc ships with mypy; it drives setuptools).
        return ["mypy>=1.11", "setuptools>=65"] if _wanted() else []

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version != "standard" or not _wanted():
            return
        self._scratch = Path(tempfile.mkdtemp(prefix="approvals-mypyc-"))
        source = Path(self.root) / PACKAGE
        shutil.copytree(source, self._scratch / PACKAGE, ignore=shutil.ignore_patterns("*.so"))
        shutil.copy(Path(self.root) / "approvals" / "__init__.py", self._scratch / "approvals")
        (self._scratch / "mypy.ini").write_text(_MYPY_CONFIG)
        self.app.display_info(f"compiling {PACKAGE} with mypyc")
        command = [sys.executable, "-m", "mypyc", "--config-file", "mypy.ini", str(PACKAGE)]
        done = subprocess.run(command, cwd=self._scratch, capture_output=True, text=True)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"mypyc failed (exit {done.returncode}):\n{done.stdout[-4000:]}"
                               f"{done.stderr[-4000:]}")  # fmt: skip
        built = sorted((self._scratch / PACKAGE).glob("*.so")) + sorted(self._scratch.glob("*.so"))
        if not built:
            raise RuntimeError("mypyc reported success but produced no extension modules")
        for path in built:
            build_data["force_include"][str(path)] = str(path.relative_to(self._scratch))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:  # noqa: ARG002
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
