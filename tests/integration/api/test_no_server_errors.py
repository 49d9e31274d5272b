"""Schemathesis drives every documented operation with generated input, one call at a time and
then as stateful sequences (submit → read → wait → decide → cancel → report, following the
links it infers from the schema): never a 5xx, never a status the operation does not document."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from approvals import migrate
from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.kit.db import create_engine
from approvals.runtime import Runtime
from tests.conftest import make_settings

_DIR = Path(tempfile.mkdtemp(prefix="approvals-fuzz-"))
_URL = f"sqlite:///{_DIR / 'fuzz.db'}"
migrate.upgrade(_URL)
# NullPool: Starlette's test client runs each call on its own event loop.
_RUNTIME = Runtime(
    # No rate limit, and /wait answers within a second: the fuzzer's timeouts reach 900 s.
    make_settings(
        _URL, _DIR, submit_rate_per_minute=100_000, submit_burst=100_000, max_wait_seconds=1
    ),
    engine=create_engine(_URL, pool=False),
)


async def _admin_key() -> str:
    created = await clients_service.create(
        _RUNTIME.db, name="fuzz", scopes=[Scope.ADMIN], identity="fuzz@example.org"
    )
    return created.api_key


_HEADERS = {"Authorization": f"Bearer {asyncio.run(_admin_key())}"}
# The database as each stateful scenario starts: Hypothesis replays a scenario's choices to
# explore and shrink, and expects the same answers (a submit replayed with its idempotency key
# answered 200 where it first answered 201, the links it follows changed, and the run failed
# with FlakyStrategyDefinition, once in about ten).
_PRISTINE = _DIR / "pristine.db"
shutil.copyfile(_DIR / "fuzz.db", _PRISTINE)
_CHECKS = [not_a_server_error, status_code_conformance]
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(_RUNTIME.settings, runtime=_RUNTIME)
)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_never_get_a_server_error_or_an_undocumented_status(
    case: schemathesis.Case,
) -> None:
    case.call_and_validate(headers=_HEADERS, checks=_CHECKS)


class Workflows(schema.as_state_machine()):  # type: ignore[misc]
    def setup(self) -> None:
        # SQLite's backup API, under its locks: a job still running from the last scenario
        # sees the old database or the pristine one, never a file half copied.
        with (
            closing(sqlite3.connect(_PRISTINE)) as source,
            closing(sqlite3.connect(_DIR / "fuzz.db", timeout=30)) as target,
        ):
            source.backup(target)

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
        return {"headers": _HEADERS}

    def validate_response(self, response, case, additional_checks=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        case.validate_response(response, checks=_CHECKS, headers=_HEADERS)


TestStatefulWorkflows = Workflows.TestCase
TestStatefulWorkflows.settings = settings(
    max_examples=25,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_the_stateful_phase_follows_links_from_a_submit() -> None:
    """The workflows are only as deep as the links schemathesis infers: a created request's id
    must feed its read, wait, decision, cancel and execution report."""
    steps = [name for name in dir(Workflows) if name.startswith("POST_v1_actions___201_")]
    targets = {step.rsplit("__", 1)[1] for step in steps}
    assert {
        "GET_v1_actions_action_id_",
        "GET_v1_actions_action_id_wait",
        "POST_v1_actions_action_id_decisions",
        "POST_v1_actions_action_id_cancel",
        "POST_v1_actions_action_id_executed",
    } <= targets, targets
