"""CPU of the pure pieces of an auto-approved submit, each in isolation (µs per call).

What it is for: telling the submit's own computation (parse, digest, guardrails + policy,
redaction, the release token, the response) from the request path around it (framework,
authentication, ORM, driver, queue), which bench/intake.py measures as a whole. Same body as
bench/intake.py, `environment: dev` (the demo policy auto-approves it). No database, no I/O.

    PYTHONPATH=. .venv/bin/python bench/submit_pieces.py
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from approvals.actions.facts import request_facts
from approvals.actions.schemas import AUTO_APPROVED_EXAMPLE, ActionCreate, ActionRead
from approvals.config import Settings
from approvals.kit.canonical import digest
from approvals.policy.loader import PolicyStore
from approvals.release.keys import Keyring
from approvals.release.tokens import mint_release_token
from approvals.runtime import Policies
from bench._common import machine
from bench.intake import BODY


def pieces() -> dict[str, Callable[[], Any]]:
    policies = Policies(PolicyStore(Settings(_env_file=None).policy_file))  # type: ignore[call-arg]
    policy = policies.store.current()
    raw = json.dumps({**BODY, "environment": "dev"})
    body = ActionCreate.model_validate_json(raw)
    redactor = policies.redactor_for(policy)
    document = {
        "resource": body.resource,
        "justification": body.justification,
        "params": body.params,
        "context": body.context,
        "tags": list(body.tags),
    }
    keyring = Keyring.load_or_create(Path(tempfile.mkdtemp()) / "keys")
    read = ActionRead.model_validate(AUTO_APPROVED_EXAMPLE)
    now = datetime.now(UTC)
    return {
        "parse + validate body": lambda: ActionCreate.model_validate_json(raw),
        "body digest": lambda: digest(body.model_dump(mode="json")),
        "guardrails + policy": lambda: policy.evaluate(
            request_facts(policy, body, "svc:bench@example.org")[0]
        ),
        "redaction": lambda: redactor.redact(document),
        "release token mint": lambda: mint_release_token(
            keyring,
            issuer="http://approvals.test",
            action_id=AUTO_APPROVED_EXAMPLE["id"],
            audience_client_id="client-bench",
            action=body.action,
            resource=body.resource,
            payload_digest="sha256:" + "0" * 64,
            approvers=["policy:dev-auto"],
            ttl_seconds=900,
            now=now,
        ),
        "response JSON": lambda: read.model_dump_json(),
    }


def main() -> None:
    print(f"submit pieces · {machine()}")
    total = 0.0
    for name, call in pieces().items():
        for _ in range(50):  # warm caches (compiled patterns, parsed policy)
            call()
        count, started = 500, time.process_time()
        for _ in range(count):
            call()
        cost = (time.process_time() - started) / count * 1e6
        total += cost
        print(f"  {name:<24} {cost:8.0f} µs")
    print(f"  {'together':<24} {total:8.0f} µs")


if __name__ == "__main__":
    main()
