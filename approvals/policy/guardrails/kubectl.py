"""kubectl intent analysis: namespace and volume deletion, prod scale-to-zero, exec, secret reads.

Pure and total. Takes kubectl's arguments (without the `kubectl` word); `shell` calls it and
analyses the command run inside a pod (`exec … -- CMD`) itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from approvals.policy.decision import Risk
from approvals.policy.guardrails.findings import GuardrailFinding

F = GuardrailFinding
DELETE_NAMESPACE = F(
    "kubectl.delete_namespace", Risk.CRITICAL, "Deletes a namespace and everything in it."
)
DELETE_PVC = F(
    "kubectl.delete_pvc", Risk.HIGH, "Deletes a persistent volume (claim): its data may be lost."
)
DELETE_ALL = F("kubectl.delete_all", Risk.HIGH, "Deletes every object of a kind (--all).")
DELETE_PROD = F("kubectl.delete_in_prod", Risk.MEDIUM, "Deletes objects in a production cluster.")
SCALE_ZERO = F(
    "kubectl.scale_to_zero_prod", Risk.HIGH, "Scales a production workload to zero replicas."
)
EXEC_PROD = F(
    "kubectl.exec_prod", Risk.HIGH, "Opens a shell or runs a command in a production pod."
)
COPY_FROM_POD = F("kubectl.copy_from_prod_pod", Risk.HIGH, "Copies files out of a production pod.")
READ_SECRET = F("kubectl.read_secret", Risk.HIGH, "Reads the values of Kubernetes secrets.")

# Flags that take a value when not written as --flag=value.
_VALUE_FLAGS = frozenset(
    [
        "-n",
        "--namespace",
        "--context",
        "--cluster",
        "--kubeconfig",
        "-l",
        "--selector",
        "-o",
        "--output",
        "-c",
        "--container",
        "--replicas",
        "--user",
        "-f",
        "--filename",
        "--field-selector",
        "--timeout",
        "--grace-period",
        "-s",
        "--server",
        "--token",
        "--as",
        "--type",
        "--template",
        "-p",
        "--patch",
        "--image",
        "--current-replicas",
    ]
)
_PROD = re.compile(r"(^|[-_.:/@])(prod|production|prd|live)([-_.:/@]|$|\d)", re.I)
_SECRET_OUTPUTS = re.compile(r"^(yaml|json|jsonpath|go-template|custom-columns|template)", re.I)
_NAMESPACE_KINDS = {"ns", "namespace", "namespaces"}
_VOLUME_KINDS = {
    "pvc",
    "pvcs",
    "persistentvolumeclaim",
    "persistentvolumeclaims",
    "pv",
    "pvs",
    "persistentvolume",
    "persistentvolumes",
}
_SECRET_KINDS = {"secret", "secrets"}


@dataclass
class _Parsed:
    positionals: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    switches: set[str] = field(default_factory=set)
    tail: list[str] | None = None


def _parse(args: list[str]) -> _Parsed:
    parsed = _Parsed()
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            parsed.tail = args[index + 1 :]
            break
        if arg.startswith("-") and "=" in arg:
            name, value = arg.split("=", 1)
            parsed.values[name] = value
        elif arg in _VALUE_FLAGS and index + 1 < len(args):
            parsed.values[arg] = args[index + 1]
            index += 1
        elif arg.startswith("-") and len(arg) > 1:
            parsed.switches.add(arg)
        else:
            parsed.positionals.append(arg)
        index += 1
    return parsed


def _value(parsed: _Parsed, *names: str) -> str | None:
    return next((parsed.values[n] for n in names if n in parsed.values), None)


def _kinds(positionals: list[str]) -> set[str]:
    """Resource kinds named as `pvc`, `pvc,pod`, `ns/prod` or `namespace/prod`."""
    kinds: set[str] = set()
    for word in positionals[:1]:
        for item in word.split(","):
            kinds.add(item.split("/", 1)[0].split(".", 1)[0].lower())
    for word in positionals[1:]:
        if "/" in word:
            kinds.add(word.split("/", 1)[0].split(".", 1)[0].lower())
    return kinds


def _in_prod(parsed: _Parsed) -> bool:
    where = [_value(parsed, "-n", "--namespace"), _value(parsed, "--context", "--cluster")]
    return any(value and _PROD.search(value) for value in where)


def analyze_kubectl(args: list[str]) -> tuple[list[GuardrailFinding], list[str] | None]:
    """Findings for one kubectl invocation, and the in-pod command of `exec … -- CMD`, if any."""
    parsed = _parse(args)
    if not parsed.positionals:
        return [], None
    verb, rest = parsed.positionals[0].lower(), parsed.positionals[1:]
    prod = _in_prod(parsed)
    found: list[F] = []
    if verb == "delete":
        kinds = _kinds(rest)
        if kinds & _NAMESPACE_KINDS:
            found.append(DELETE_NAMESPACE)
        if kinds & _VOLUME_KINDS:
            found.append(DELETE_PVC)
        if parsed.switches & {"--all", "-A", "--all-namespaces"}:
            found.append(DELETE_ALL)
        if prod and not found:
            found.append(DELETE_PROD)
    elif verb == "scale":
        replicas = _value(parsed, "--replicas")
        if replicas is not None and replicas.strip() == "0" and prod:
            found.append(SCALE_ZERO)
    elif verb in {"exec", "attach", "debug"} and prod:
        found.append(EXEC_PROD)
    elif verb == "cp" and prod and rest and ":" in rest[0]:
        found.append(COPY_FROM_POD)
    elif verb in {"get", "edit"} and _kinds(rest) & _SECRET_KINDS:
        output = _value(parsed, "-o", "--output", "--template") or ""
        if verb == "edit" or _SECRET_OUTPUTS.match(output) or "--template" in parsed.values:
            found.append(READ_SECRET)
    elif verb == "view-secret":
        found.append(READ_SECRET)
    tail = parsed.tail if verb == "exec" and parsed.tail else None
    return found, tail
