"""The core install is lean, extras say their name when missing, and the locks cover pyproject."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _locked(lock: str) -> set[str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {_name(line) for line in text.splitlines() if "==" in line and not line.startswith(" ")}


def test_the_core_install_carries_no_optional_heavyweights() -> None:
    core = {_name(r) for r in PROJECT["dependencies"]}
    assert not core & {"boto3", "mcp", "weasyprint", "faker", "opentelemetry-sdk"}
    extras = PROJECT["optional-dependencies"]
    assert {"s3", "mcp", "pdf", "otel", "all"} <= extras.keys()
    assert extras["all"] == ["approvals[s3,mcp,pdf,otel]"]


def test_the_service_starts_and_redacts_without_faker_installed() -> None:
    """Faker is a dev dependency: the redactor reads the committed lists, never Faker."""
    program = (
        "import sys; sys.modules['faker'] = None\n"
        "from approvals.redaction import Redactor\n"
        "print(Redactor().redact({'note': 'TOUSANT, ANDREW called from 555-867-5309'}).value)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "TOUSANT" not in run.stdout and "[NAME-1]" in run.stdout


def test_the_lock_files_pin_every_declared_dependency() -> None:
    core = {_name(r) for r in PROJECT["dependencies"]}
    every = core | {
        _name(r)
        for extra in PROJECT["optional-dependencies"].values()
        for r in extra
        if not r.startswith("approvals[")
    }
    assert core <= _locked("run.lock"), "run `make lock`"
    assert every <= _locked("dev.lock"), "run `make lock`"


def _cli_without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`approvals ARGS` in a Python where `module` cannot be imported (as in a core install)."""
    program = (
        f"import sys; sys.modules[{module!r}] = None; sys.argv = ['approvals', *{list(args)!r}]; "
        "from approvals.cli import main; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_a_missing_extra_is_one_line_that_names_it() -> None:
    mcp = _cli_without("mcp", "mcp", "--key", "apk_x")
    assert mcp.returncode == 2
    assert mcp.stderr.strip().splitlines() == [
        "error: `approvals mcp` needs the [mcp] extra: pip install 'approvals[mcp]'"
    ]


def test_a_configured_feature_without_its_extra_stops_the_start() -> None:
    program = (
        "import sys; sys.modules['boto3'] = None\n"
        "from approvals.config import Settings\n"
        "try:\n"
        "    Settings(_env_file=None, audit_checkpoint_url='s3://bucket/audit')\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "needs the [s3] extra: pip install 'approvals[s3]'" in run.stdout
