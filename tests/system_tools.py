"""Programs some tests need from the operating system (a browser, poppler, a C compiler).

Missing on a developer's machine, such a test is skipped with the command that installs it; with
CI set (`.ci/run` installs them), it fails instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def require_tool(tool: str, apt: str) -> None:
    """`tool` is a program name or an absolute path; `apt` the Debian packages that provide it."""
    if not Path(tool).exists() and shutil.which(Path(tool).name) is None:
        message = f"{tool} is missing: apt-get install -y {apt}"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
