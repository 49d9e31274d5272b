"""The GitHub Actions action and the GitLab CI template, run as a runner would run them: their
shell steps, read from the YAML, executed by bash with the inputs as environment variables,
against a live service. A pipeline passes only when a human approved; deny and timeout fail it
with the exit codes `approvals request --help` documents."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from approvals.client import ApprovalsClient
from approvals.clients.schemas import Scope
from tests.live_service import serving

ROOT = Path(__file__).resolve().parents[3]
ACTION = ROOT / "deploy" / "ci" / "github" / "action.yml"
TEMPLATE = ROOT / "deploy" / "ci" / "gitlab" / "approvals.gitlab-ci.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# Where a runner would have installed the CLI: this checkout's own `approvals`, first on PATH.
PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    people = [("ci", [Scope.SUBMIT], "svc:ci"), ("bob", [Scope.REVIEW], "bob@example.org")]
    with serving(tmp_path_factory.mktemp("ci"), people) as running:
        yield running.url, running.keys


def _fresh_resource() -> str:
    """A resource no other test uses, that redaction keeps as it is: a short git-SHA shape
    (lower-case hex with a letter). Eight random hex digits are all digits one time in 44,
    and an eight-digit run is redacted as an identifier (fail closed, docs/redaction.md), so
    Bob, looking for the resource in his queue, would never find it."""
    return f"db.staging.a{uuid.uuid4().hex[:11]}"


def _decide_when_asked(base: str, key: str, resource: str, verdict: str) -> threading.Thread:
    """Bob, watching his queue: he decides the request for `resource` once it shows up."""

    def run() -> None:
        deadline = time.monotonic() + 30
        with ApprovalsClient(base, key) as bob:
            while time.monotonic() < deadline:
                for action in bob.pending():
                    if action.resource == resource:
                        bob.decide(action.id, verdict, "not in a change window")
                        return
                time.sleep(0.2)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _github_steps(inputs: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Each `run` step with its `env`, `${{ inputs.* }}` filled in as Actions would (defaults
    for inputs not given); any other expression fails, so nothing is left untranslated."""
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    values: dict[str, str] = {n: str(s.get("default", "")) for n, s in action["inputs"].items()}
    values.update(inputs)
    for name, spec in action["inputs"].items():
        assert not spec.get("required") or name in inputs, f"required input {name} not given"

    def fill(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            expression = match.group(1)
            assert expression.startswith("inputs."), expression
            return values[expression.removeprefix("inputs.")]

        return EXPRESSION.sub(one, text)

    steps = []
    for step in action["runs"]["steps"]:
        assert step["shell"] == "bash"
        env = {name: fill(str(value)) for name, value in step.get("env", {}).items()}
        steps.append((fill(step["run"]), env))
    return steps


def _run_github(inputs: dict[str, str], folder: Path) -> tuple[int, dict[str, str]]:
    output = folder / "github_output"
    output.write_text("")
    code = 0
    for script, env in _github_steps(inputs):
        path = folder / "step.sh"
        path.write_text(script)
        # What `shell: bash` runs: bash --noprofile --norc -eo pipefail {0}
        run = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            env={**os.environ, "PATH": PATH, **env, "GITHUB_OUTPUT": str(output)},
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
        )
        code = run.returncode
        if code:
            break
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return code, outputs


def _run_gitlab(variables: dict[str, str], folder: Path) -> tuple[int, dict[str, str]]:
    job: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text())[".approvals-gate"]
    script = "\n".join(job["script"])
    env = {**os.environ, "PATH": PATH, **job["variables"], **variables}
    run = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    dotenv = folder / job["artifacts"]["reports"]["dotenv"]
    report = dict(line.split("=", 1) for line in dotenv.read_text().splitlines())
    return run.returncode, report


def _run(runner: str, live: tuple[str, dict[str, str]], folder: Path, **extra: str) -> Any:
    base, keys = live
    resource = extra.pop("resource")
    if runner == "github":
        inputs = {
            "server": base,
            "key": keys["ci"],
            "action": "sql.execute",
            "resource": resource,
            "environment": "staging",
            "justification": "nightly clean-up",
            "params": "sql=DELETE FROM t WHERE id = 4\nlimit=1\n",
            **extra,
        }
        return _run_github(inputs, folder)
    variables = {
        "APPROVALS_URL": base,
        "APPROVALS_KEY": keys["ci"],
        "GATE_ACTION": "sql.execute",
        "GATE_RESOURCE": resource,
        "GATE_ENVIRONMENT": "staging",
        "GATE_PARAMS": "sql=DELETE FROM t WHERE id = 4\nlimit=1",
        **{f"GATE_{k.upper()}": v for k, v in extra.items()},
    }
    return _run_gitlab(variables, folder)


OUTCOME = {
    "github": ("outcome", "request-id"),
    "gitlab": ("APPROVALS_OUTCOME", "APPROVALS_REQUEST_ID"),
}


@pytest.mark.parametrize("runner", ["github", "gitlab"])
@pytest.mark.parametrize(
    ("verdict", "exit_code", "outcome"), [("approve", 0, "approved"), ("deny", 2, "denied")]
)
def test_the_pipeline_step_exits_by_the_verdict(
    live: tuple[str, dict[str, str]],
    tmp_path: Path,
    runner: str,
    verdict: str,
    exit_code: int,
    outcome: str,
) -> None:
    resource = _fresh_resource()
    bob = _decide_when_asked(live[0], live[1]["bob"], resource, verdict)
    code, outputs = _run(runner, live, tmp_path, resource=resource, timeout="30")
    bob.join(timeout=5)
    assert code == exit_code, outputs
    outcome_key, id_key = OUTCOME[runner]
    assert outputs[outcome_key] == outcome
    with ApprovalsClient(live[0], live[1]["ci"]) as ci:
        asked = ci.get(outputs[id_key])
    assert (asked.action, asked.resource, asked.environment) == ("sql.execute", resource, "staging")
    # Exit 0 also means the release token verified for exactly the two params the step sent.
    if runner == "github":
        assert outputs["exit-code"] == str(exit_code)


@pytest.mark.parametrize("runner", ["github", "gitlab"])
def test_nobody_deciding_in_time_fails_the_step_with_4(
    live: tuple[str, dict[str, str]], tmp_path: Path, runner: str
) -> None:
    resource = _fresh_resource()
    code, outputs = _run(runner, live, tmp_path, resource=resource, timeout="1")
    assert code == 4
    # `request --wait` cancels what nobody decided in time: it leaves reviewers' queues.
    assert outputs[OUTCOME[runner][0]] == "cancelled"


@pytest.mark.parametrize("runner", ["github", "gitlab"])
def test_a_wrong_key_fails_the_step_with_1(
    live: tuple[str, dict[str, str]], tmp_path: Path, runner: str
) -> None:
    resource = _fresh_resource()
    wrong = (live[0], {**live[1], "ci": "apk_not-a-real-key"})
    code, outputs = _run(runner, wrong, tmp_path, resource=resource, timeout="5")
    assert code == 1
    assert outputs[OUTCOME[runner][0]] == "-"  # no request was made
