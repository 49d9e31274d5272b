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


def _every_container(doc: dict[str, Any]) -> list[dict[str, Any]]:
    pod = doc["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def _deployments() -> dict[str, dict[str, Any]]:
    return {name: doc for (kind, name), doc in _k8s().items() if kind == "Deployment"}


def test_every_variable_set_anywhere_is_a_real_setting() -> None:
    known = _setting_names()
    compose = _docs("compose.yaml")[0]
    named = set(compose["x-approvals-env"])
    for service in compose["services"].values():
        named |= {n for n in service.get("environment", {}) if n.startswith("APPROVALS_")}
    k8s = _k8s()
    for doc in _deployments().values():
        named |= {e["name"] for c in _every_container(doc) for e in c.get("env", [])}
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
    for doc in _deployments().values():
        used |= {c["args"][0] for c in _every_container(doc)}
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


@pytest.mark.parametrize("component", ["web", "worker"])
def test_no_pod_of_a_new_version_starts_before_its_migration(component: str) -> None:
    """The migration is an init container of every web and worker pod, from the same image:
    plain manifests have no hook that holds a rollout until a Job is done (deploy/README.md)."""
    pod = _k8s()[("Deployment", f"approvals-{component}")]["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    (main,) = pod["containers"]
    assert init["args"] == ["migrate"]
    assert init["image"] == main["image"]
    assert init["envFrom"] == main["envFrom"]  # the same database URL


def test_every_pod_runs_locked_down_with_resources() -> None:
    deployments = _deployments()
    assert set(deployments) == {"approvals-web", "approvals-worker"}
    for doc in deployments.values():
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in _every_container(doc):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys()


def test_worker_probes_and_scrapes_hit_its_health_port() -> None:
    from typing import cast

    from approvals.health import Probed
    from approvals.jobs.health_server import health_app

    paths = {getattr(r, "path", None) for r in health_app(cast(Probed, None)).routes}
    doc = _k8s()[("Deployment", "approvals-worker")]
    (worker,) = _containers(doc)
    env = {e["name"]: e["value"] for e in worker["env"]}
    port = int(env["APPROVALS_WORKER_HEALTH_PORT"])
    assert env["APPROVALS_HOST"] == "0.0.0.0"  # noqa: S104 (the kubelet and Prometheus reach the pod IP)
    Settings(_env_file=None, worker_health_port=port, host=env["APPROVALS_HOST"])  # type: ignore[call-arg]
    (named,) = worker["ports"]
    assert named["containerPort"] == port
    for probe in ("readinessProbe", "livenessProbe"):
        assert worker[probe]["httpGet"]["port"] == named["name"]
    assert worker["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"
    annotations = doc["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    assert {"/healthz", "/readyz", annotations["prometheus.io/path"]} <= paths


def test_the_web_pods_are_scraped_where_metrics_are_served() -> None:
    doc = _k8s()[("Deployment", "approvals-web")]
    (web,) = _containers(doc)
    annotations = doc["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(web["ports"][0]["containerPort"])
    assert annotations["prometheus.io/path"] == "/metrics"


def test_the_network_policy_lets_through_what_the_pods_use() -> None:
    k8s = _k8s()
    egress = k8s[("NetworkPolicy", "approvals-egress")]["spec"]["egress"]
    ports = {p["port"] for rule in egress for p in rule["ports"]}
    assert ports == {53, 5432, 6379, 443}
    (public,) = [r for r in egress if any(p["port"] == 443 for p in r["ports"])]
    (block,) = public["to"]
    assert "169.254.0.0/16" in block["ipBlock"]["except"]  # never the cloud metadata service
    web_in = k8s[("NetworkPolicy", "approvals-web")]["spec"]["ingress"]
    worker_in = k8s[("NetworkPolicy", "approvals-worker")]["spec"]["ingress"]
    assert {p["port"] for r in web_in for p in r["ports"]} == {8000}
    assert {p["port"] for r in worker_in for p in r["ports"]} == {9102}


def test_the_ingress_serves_the_public_url_over_tls() -> None:
    k8s = _k8s()
    public = k8s[("ConfigMap", "approvals-config")]["data"]["APPROVALS_PUBLIC_URL"]
    assert public.startswith("https://")
    host = public.removeprefix("https://").rstrip("/")
    ingress = k8s[("Ingress", "approvals")]["spec"]
    assert ingress["tls"][0]["hosts"] == [host]
    assert ingress["rules"][0]["host"] == host
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert k8s[("Service", backend["name"])]["spec"]["ports"][0]["name"] == backend["port"]["name"]


def test_the_image_is_pinned_by_digest_and_installs_through_the_lock() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert len(bases) == 2
    assert len(set(bases)) == 1  # both stages on one base
    assert re.fullmatch(r"python:3\.11[\w.-]*@sha256:[0-9a-f]{64}", bases[0])
    install = re.search(
        r'pip install -c /tmp/run\.lock "\$\(ls [^)]+\)\[([a-z0-9,]+)\]"', dockerfile
    )
    assert install, "the image installs with requirements/run.lock as constraints"
    assert "COPY requirements/run.lock /tmp/run.lock" in dockerfile
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    lock = (ROOT / "requirements" / "run.lock").read_text().lower()
    for extra in install.group(1).split(","):
        for requirement in extras[extra]:
            name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()
            assert f"\n{name}==" in lock, f"{name} ([{extra}]) is not pinned in run.lock"
