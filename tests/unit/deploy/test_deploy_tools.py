"""The real tools an operator's CI would run, on every file in deploy/: the Kubernetes schemas
(each manifest, and the kustomization as kubectl renders it), hadolint on the Dockerfile, and
checkov on the whole folder. Any finding fails; the few skipped rules are in deploy/.hadolint.yaml
and deploy/.checkov.yaml, each with its reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
BIN = Path(sys.executable).parent  # the tools come with the dev extra, next to this Python
# checkov has a virtualenv of its own inside ours (Makefile, requirements/checkov.lock).
CHECKOV = BIN.parent / "checkov" / "bin" / "checkov"
KUBERNETES = "1.30.0"  # the oldest Kubernetes these manifests promise to work on


def _run(*args: str | Path, cwd: Path = DEPLOY.parent) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def _validate(*files: Path) -> subprocess.CompletedProcess[str]:
    return _run(BIN / "kubernetes-validate", "--strict", "--quiet", "-k", KUBERNETES, *files)


def test_every_manifest_matches_the_kubernetes_schemas() -> None:
    manifests = sorted(p for p in (DEPLOY / "k8s").glob("*.yaml") if p.name != "kustomization.yaml")
    assert len(manifests) >= 7
    result = _validate(*manifests)
    assert result.returncode == 0, result.stdout + result.stderr


KUSTOMIZATIONS = sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml"))


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_each_kustomization_renders_and_what_it_renders_is_valid(
    folder: Path, tmp_path: Path
) -> None:
    render = _run(BIN / "kubectl", "kustomize", folder)
    assert render.returncode == 0, render.stderr
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(render.stdout)
    kinds = {
        line.split(": ", 1)[1] for line in render.stdout.splitlines() if line.startswith("kind: ")
    }
    assert {
        "Namespace",
        "Deployment",
        "Service",
        "Ingress",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    } <= kinds
    assert "kind: Secret" not in render.stdout  # secrets are made by hand, never applied from git
    result = _validate(rendered)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_overlay_example_pins_the_image_by_digest() -> None:
    assert [p.relative_to(DEPLOY).as_posix() for p in KUSTOMIZATIONS] == [
        "k8s",
        "overlays/managed-services",
    ]
    render = _run(BIN / "kubectl", "kustomize", DEPLOY / "overlays" / "managed-services")
    images = {
        line.split("image: ", 1)[1] for line in render.stdout.splitlines() if "image: " in line
    }
    assert len(images) == 1  # init containers follow the same image
    assert "@sha256:" in images.pop()


def test_the_validator_rejects_a_misspelt_field(tmp_path: Path) -> None:
    """The check above has teeth: a typo that kubectl would silently drop fails it."""
    web = (DEPLOY / "k8s" / "web.yaml").read_text()
    broken = tmp_path / "web.yaml"
    broken.write_text(web.replace("readinessProbe:", "readinesProbe:", 1))
    result = _validate(broken)
    assert result.returncode != 0
    assert "readinesProbe" in result.stdout + result.stderr


def test_the_dockerfile_passes_hadolint() -> None:
    result = _run(BIN / "hadolint", "--config", DEPLOY / ".hadolint.yaml", DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_nothing_in_the_deploy_folder() -> None:
    assert CHECKOV.exists(), f"no {CHECKOV}: `make test` installs it from requirements/checkov.lock"
    result = _run(CHECKOV, "--config-file", DEPLOY / ".checkov.yaml")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Passed checks" in result.stdout  # it scanned something
