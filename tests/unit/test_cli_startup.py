"""`approvals --help` (and every command's parsing) must not load the service: the web
framework, the database layer, the job queue and the chat SDKs cost seconds to import, and a
person typing `approvals --help` should get an answer at once."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "approvals.runtime",
    "approvals.app",
    "fastapi",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "rq",
    "slack_bolt",
    "botbuilder.core",
    "boto3",
)


def test_importing_the_cli_loads_none_of_the_service() -> None:
    probe = (
        "import json, sys, approvals.cli; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_help_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "approvals", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for command in ("serve", "worker", "migrate", "clients", "policy", "audit", "report"):
        assert command in result.stdout
