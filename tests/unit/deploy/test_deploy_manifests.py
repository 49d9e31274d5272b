"""The container, compose and Kubernetes files name only settings, commands, paths and
endpoints that exist: a renamed setting or a moved key file fails here, not in production."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from approvals.audit.signing import KEY_FILE_NAME
from approvals.cli import app as cli
from approvals.config import Settings
from approvals.policy.check import check_text

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
ROOT = DEPLOY.parent


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def _k8s() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for file in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in _docs(f"k8s/{file.name}"):
            found[(doc["kind"], doc["metadata"]["name"] if "metadata" in doc else file.stem)] = doc
    return found


def _setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"APPROVALS_{name.upper()}")
        alias = field.validation_alias
        names.update(getattr(alias, "choices", []) or [])
    return names


def _commands() -> set[str]:
    return {c.name for c in cli.registered_commands} | {g.name for g in cli.registered_groups}


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def test_every_variable_set_anywhere_is_a_real_setting() -> None:
    known = _setting_names()
    compose = _docs("compose.yaml")[0]
    named = set(compose["x-approvals-env"])
    k8s = _k8s()
    named |= set(k8s[("ConfigMap", "approvals-config")]["data"])
    named |= set(k8s[("Secret", "approvals-env")]["stringData"])
    secret_text = (DEPLOY / "k8s" / "secret.example.yaml").read_text()
    named |= set(re.findall(r"#\s+(\w+):", secret_text))  # the commented platform settings
    named |= set(re.findall(r"(APPROVALS_\w+)=", (DEPLOY / "Dockerfile").read_text()))
    # Build-time switches are read by the wheel build hook, not by Settings.
    build_switches = set(re.findall(r'"(APPROVALS_\w+)"', (ROOT / "hatch_build.py").read_text()))
    assert named - known - build_switches == set()
    assert {"APPROVALS_DATABASE_URL", "APPROVALS_REDIS_URL"} <= named


def test_every_process_runs_a_real_command() -> None:
    compose = _docs("compose.yaml")[0]["services"]
    used = {s["command"][0] for name, s in compose.items() if name in ("migrate", "web", "worker")}
    for doc in _k8s().values():
        if doc["kind"] in ("Deployment", "Job"):
            used |= {c["args"][0] for c in _containers(doc)}
    assert used == {"migrate", "serve", "worker"}
    assert used <= _commands()
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["approvals"]' in dockerfile
    assert 'CMD ["serve"]' in dockerfile


def test_the_image_copies_what_the_wheel_build_needs() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    lines = re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.M)
    copied = [source for line in lines for source in line.split()[:-1]]  # the last is the target
    for path in copied:
        assert (ROOT / path).exists(), path
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    hook = wheel["targets"]["wheel"]["hooks"]["custom"]["path"]
    assert {"approvals", "migrations", "pyproject.toml", "README.md", hook} <= set(copied)
    assert "APPROVALS_COMPILE=1" in dockerfile, "the image ships the compiled redaction engine"


@pytest.mark.parametrize("component", ["web", "worker"])
def test_keys_and_policy_are_mounted_where_the_settings_look(component: str) -> None:
    k8s = _k8s()
    config = k8s[("ConfigMap", "approvals-config")]["data"]
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        release_keys_dir=config["APPROVALS_RELEASE_KEYS_DIR"],
        data_dir=config["APPROVALS_DATA_DIR"],
        policy_file=config["APPROVALS_POLICY_FILE"],
    )
    (container,) = _containers(k8s[("Deployment", f"approvals-{component}")])
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert str(settings.keys_dir) in mounts  # every replica signs and verifies with one key
    assert str(settings.data_dir / KEY_FILE_NAME) in mounts  # one audit checkpoint key
    assert settings.policy_file is not None
    assert str(settings.policy_file.parent) in mounts
    assert mounts["/tmp"]["name"] == "tmp"  # noqa: S108 (the root filesystem is read-only)


def test_probes_hit_real_endpoints_and_the_shipped_policy_is_valid() -> None:
    from approvals.app import create_app

    paths = {getattr(r, "path", None) for r in create_app(Settings(_env_file=None)).routes}  # type: ignore[call-arg]
    (web,) = _containers(_k8s()[("Deployment", "approvals-web")])
    assert {
        web["readinessProbe"]["httpGet"]["path"],
        web["livenessProbe"]["httpGet"]["path"],
    } <= paths
    policy = _k8s()[("ConfigMap", "approvals-policy")]["data"]["policy.yaml"]
    document, problems = check_text(policy)
    assert problems == []
    assert document is not None
