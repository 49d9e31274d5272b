"""Per-job Runtimes of a worker share one policy store and redactor, and still see edits."""

from __future__ import annotations

from pathlib import Path

from policy_texts import BASE
from test_policy_store import Clock, write

from approvals.policy.loader import PolicyStore, demo_policy_text, load_policy
from approvals.runtime import Policies, Runtime
from tests.conftest import make_settings


async def test_job_runtimes_reuse_the_process_policy_and_pick_up_a_changed_file(
    tmp_path: Path, sqlite_url: str
) -> None:
    path, clock = tmp_path / "policy.yaml", Clock()
    write(path, BASE, 0)
    shared = Policies(PolicyStore(path, clock=clock))
    settings = make_settings(sqlite_url, tmp_path, policy_file=path)

    first = Runtime(settings, policies=shared)
    policy = first.policies.current()
    redactor = first.redactor_for(policy)
    await first.close()

    second = Runtime(settings, policies=shared)  # the next job: nothing parsed or compiled again
    assert second.policies.current() is policy
    assert second.redactor_for(policy) is redactor

    write(path, demo_policy_text(), 5)  # an operator edits the policy while the worker runs
    clock.now += 2
    changed = second.policies.current()
    assert changed.version == load_policy(path).version != policy.version
    assert second.redactor_for(changed) is not redactor
    await second.close()
