"""Validate policy text into positioned problems: YAML syntax, unknown keys, bad values, unknown
groups, rules shadowed by an earlier broader rule, and a missing default. Pure.

`loader` refuses any text with an error here, so what `policy check` accepts is exactly what the
service will load.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from approvals.policy import schema
from approvals.policy.matching import GROUP_PREFIX
from approvals.policy.schema import PolicyDocument
from approvals.policy.shadowing import covers, risk_range

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    column: int
    message: str
    severity: str = "error"  # "error" makes the policy invalid; "warning" is advice

    def render(self, source: str) -> str:
        return f"{source}:{self.line}:{self.column}: {self.severity}: {self.message}"


def _known_keys() -> set[str]:
    keys: set[str] = set()
    for model in vars(schema).values():
        if isinstance(model, type) and issubclass(model, BaseModel):
            for name, info in model.model_fields.items():
                keys.add(info.alias or name)
    return keys


def _positions(
    node: yaml.Node, path: Path_, into: dict[Path_, tuple[int, int]]
) -> Iterator[Problem]:
    """Record where each key and item starts; yield duplicate keys (PyYAML keeps the last one)."""
    into.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            where = (key.start_mark.line + 1, key.start_mark.column + 1)
            if name in seen:
                yield Problem(*where, f"duplicate key {name!r}: only the last one would count")
            seen.add(name)
            into[(*path, name)] = where
            yield from _positions(value, (*path, name), into)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _positions(item, (*path, index), into)


def _where(positions: dict[Path_, tuple[int, int]], path: Path_) -> tuple[int, int]:
    for end in range(len(path), -1, -1):
        if path[:end] in positions:
            return positions[path[:end]]
    return 1, 1


def _dotted(path: Path_) -> str:
    return (
        "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "policy"
    )


def _validation(exc: ValidationError, positions: dict[Path_, tuple[int, int]]) -> list[Problem]:
    known = _known_keys()
    problems: list[Problem] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc: Path_ = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = f"unknown key {key!r} in {_dotted(loc[:-1])}{hint}"
        elif kind == "missing" and loc == ("defaults",):
            message = "missing defaults: every policy needs an explicit default decision"
        elif kind == "missing":
            message = f"{_dotted(loc)} is required"
        else:
            text = str(error["msg"]).removeprefix("Value error, ")
            message = f"{_dotted(loc)}: {text}"
        problems.append(Problem(*_where(positions, loc), message))
    return problems


def _group_refs(document: PolicyDocument) -> Iterator[tuple[Path_, str]]:
    default = document.defaults.decision.require
    for index, group in enumerate(default.from_groups if default else ()):
        yield ("defaults", "decision", "require", "from", index), group
    for r, rule in enumerate(document.rules):
        require = rule.decision.require
        for index, group in enumerate(require.from_groups if require else ()):
            yield ("rules", r, "decision", "require", "from", index), group
        for field in ("requester", "on_behalf_of"):
            for index, pattern in enumerate(getattr(rule.match, field) or ()):
                if pattern.startswith(GROUP_PREFIX):
                    yield ("rules", r, "match", field, index), pattern[len(GROUP_PREFIX) :]


def _cross_checks(
    document: PolicyDocument, positions: dict[Path_, tuple[int, int]]
) -> list[Problem]:
    problems: list[Problem] = []
    for path, group in _group_refs(document):
        if group not in document.groups:
            known = ", ".join(sorted(document.groups)) or "none defined"
            problems.append(Problem(*_where(positions, path), f"unknown group {group!r} ({known})"))
    seen: dict[str, int] = {}
    for index, rule in enumerate(document.rules):
        where = _where(positions, ("rules", index))
        if rule.id in seen:
            problems.append(Problem(*where, f"duplicate rule id {rule.id!r}"))
        seen.setdefault(rule.id, index)
        low, high = risk_range(rule.match)
        if low > high:
            problems.append(
                Problem(*where, f"rule {rule.id!r} can never match: risk_at_least > risk_at_most")
            )
            continue
        for earlier in document.rules[:index]:
            if covers(earlier.match, rule.match):
                line = _where(positions, ("rules", document.rules.index(earlier)))[0]
                problems.append(
                    Problem(
                        *where,
                        f"rule {rule.id!r} is unreachable: the earlier rule {earlier.id!r} "
                        f"(line {line}) matches every request it would",
                    )
                )
                break
        problems += _advice(document, index, where)
    return problems


def _advice(document: PolicyDocument, index: int, where: tuple[int, int]) -> list[Problem]:
    rule, defaults = document.rules[index], document.defaults
    require = rule.decision.require
    if require is None:
        return []
    advice: list[Problem] = []
    if require.ttl and require.ttl > defaults.max_ttl:
        advice.append(Problem(*where, f"rule {rule.id!r}: ttl is capped by max_ttl", "warning"))
    groups = [document.groups[g] for g in require.from_groups if g in document.groups]
    people = {m for g in groups for m in g.members}
    # Only `members` can vote: slack_usergroup / teams_group are labels, never resolved.
    if groups and len(people) < require.approvals:
        message = (
            f"rule {rule.id!r} needs {require.approvals} approvals but its groups list only "
            f"{len(people)} people: requests will expire"
        )
        advice.append(Problem(*where, message, "warning"))
    return advice


def check_text(text: str) -> tuple[PolicyDocument | None, list[Problem]]:
    """The document (None when invalid) and every problem found, in file order."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw: Any = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(line, column, f"invalid YAML: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return None, [Problem(1, 1, f"invalid YAML: {exc}")]
    positions: dict[Path_, tuple[int, int]] = {}
    problems = list(_positions(root, (), positions)) if root is not None else []
    if not isinstance(raw, dict):
        problems.append(
            Problem(1, 1, "a policy is a mapping with version, groups, defaults, rules")
        )
        return None, problems
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        problems += _validation(exc, positions)
        return None, sorted(problems, key=lambda p: (p.line, p.column))
    problems += _cross_checks(document, positions)
    problems.sort(key=lambda p: (p.line, p.column))
    valid = not any(p.severity == "error" for p in problems)
    return (document if valid else None), problems
