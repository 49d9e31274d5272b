"""`approvals policy check|explain|test`: owners validate, explain and test a policy like code.

Thin shell over the pure `approvals.policy` modules; exit 0 means good, 1 means invalid or failing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from approvals.actions.facts import InvalidBody, request_facts, validate_body
from approvals.cli.common import with_runtime
from approvals.kit.clock import utc_now
from approvals.policy.cases import case_files, run_file
from approvals.policy.check import check_text
from approvals.policy.decision import RequestFacts
from approvals.policy.engine import LoadedPolicy
from approvals.policy.explain import explain as explain_request
from approvals.policy.explain import render
from approvals.policy.guardrails import GuardrailFinding
from approvals.policy.loader import PolicyError, load_policy, policy_version
from approvals.policy.suggest import Suggestion, suggest

if TYPE_CHECKING:
    from approvals.runtime import Runtime

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Validate, explain and test a policy file.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _emit(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def read_request(body: object, policy: LoadedPolicy) -> tuple[RequestFacts, list[GuardrailFinding]]:
    """Intake's schema and intake's facts (a missing environment is `prod`, as in the service).

    No API client stands behind a file, so a request without `requester` has none.
    """
    return request_facts(policy, validate_body(body))


def _policy(path: Path | None) -> LoadedPolicy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The policy YAML file.")],
    as_json: JsonFlag = False,
) -> None:
    """Check a policy file: errors with line and column; exit 1 when invalid."""
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: cannot read the policy file ({exc})", err=True)
        raise typer.Exit(1) from None
    document, problems = check_text(text)
    valid = document is not None
    if as_json:
        _emit(
            {
                "file": str(file),
                "valid": valid,
                "version": policy_version(text) if valid else None,
                "problems": [
                    {
                        "line": p.line,
                        "column": p.column,
                        "severity": p.severity,
                        "message": p.message,
                    }
                    for p in problems
                ],
            }
        )
    else:
        for problem in problems:
            typer.echo(problem.render(str(file)))
        if valid:
            assert document is not None  # noqa: S101  (narrowing for the type checker)
            typer.echo(
                f"{file}: ok ({len(document.rules)} rules, {len(document.groups)} groups, "
                f"version {policy_version(text)})"
            )
    raise typer.Exit(0 if valid else 1)


@app.command()
def explain(
    request: Annotated[Path, typer.Option("--request", help="A request body (JSON).")],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy file; default: the demo policy.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show which rule a request matches, why each earlier rule did not, and the decision.

    The request is read as POST /v1/actions reads it: the same schema (exit 1, naming the
    fields, when the service would refuse it) and the same defaults (no `environment` is prod).
    """
    loaded = _policy(policy)
    try:
        body = json.loads(request.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"{request}: cannot read the request ({exc})", err=True)
        raise typer.Exit(1) from None
    try:
        facts, findings = read_request(body, loaded)
    except InvalidBody as exc:
        typer.echo(f"{request}: the service would refuse this request: {exc}", err=True)
        raise typer.Exit(1) from None
    result = explain_request(loaded, facts, findings)
    if as_json:
        _emit(result.to_dict())
    else:
        typer.echo(render(result))


@app.command("test")
def run_tests(
    directory: Annotated[Path, typer.Argument(help="A case file or a folder of them (YAML).")],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Use this policy instead of each file's own.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run table-driven policy tests (request + expected decision); exit 1 on any failure.

    Each case's request is read as POST /v1/actions reads it (no `environment` is prod); a
    request the service would refuse fails its case.
    """
    loaded = _policy(policy) if policy is not None else None
    files = case_files(directory)
    results = [result for file in files for result in run_file(file, read_request, loaded)]
    failed = [r for r in results if not r.passed]
    if as_json:
        _emit(
            {
                "passed": len(results) - len(failed),
                "failed": len(failed),
                "results": [
                    {"file": r.file, "case": r.name, "passed": r.passed, "failures": r.failures}
                    for r in results
                ],
            }
        )
    else:
        for result in results:
            typer.echo(f"{'PASS' if result.passed else 'FAIL'} {result.file}::{result.name}")
            for failure in result.failures:
                typer.echo(f"    {failure}")
        typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if not results:
        typer.echo(f"{directory}: no policy test cases found", err=True)
    raise typer.Exit(1 if failed or not results else 0)


@app.command("suggest")
def suggest_rules(
    days: Annotated[int, typer.Option(help="How far back to read decisions.")] = 90,
    min_approvals: Annotated[int, typer.Option(help="Approved at least this often.")] = 5,
    min_approvers: Annotated[int, typer.Option(help="By at least this many people.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Propose narrow auto_approve rules for patterns people always approved.

    Reads the decision history; prints YAML snippets with their evidence. Nothing changes
    until a person commits a snippet to the policy file.
    """

    async def work(runtime: Runtime) -> list[Suggestion]:
        from approvals.actions.history import decided_since

        records = await decided_since(runtime.db, utc_now() - timedelta(days=days))
        return suggest(
            records,
            min_approvals=min_approvals,
            min_approvers=min_approvers,
            policy=runtime.policies.current(),
        )

    found = with_runtime(work)
    if as_json:
        _emit(
            {
                "suggestions": [
                    {
                        "rule_id": s.rule_id,
                        "action": s.action,
                        "resource": s.resource,
                        "environment": s.environment,
                        "approvals": s.approvals,
                        "approvers": list(s.approvers),
                        "first_at": s.first_at.isoformat(),
                        "last_at": s.last_at.isoformat(),
                        "would_auto_approve": list(s.would_auto_approve),
                        "snippet": s.snippet,
                    }
                    for s in found
                ]
            }
        )
        return
    if not found:
        typer.echo(
            f"No pattern was approved {min_approvals}+ times by {min_approvers}+ people "
            f"without a denial, guardrail finding or raised risk in the last {days} days."
        )
        return
    for item in found:
        typer.echo(item.snippet)
