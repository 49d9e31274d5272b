"""Schemathesis drives every documented route with generated input: never a 500."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

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
_RUNTIME = Runtime(make_settings(_URL, _DIR), engine=create_engine(_URL, pool=False))


async def _admin_key() -> str:
    created = await clients_service.create(
        _RUNTIME.db, name="fuzz", scopes=[Scope.ADMIN], identity="fuzz@example.org"
    )
    return created.api_key


_HEADERS = {"Authorization": f"Bearer {asyncio.run(_admin_key())}"}
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(_RUNTIME.settings, runtime=_RUNTIME)
)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_never_get_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=_HEADERS, checks=[not_a_server_error])
