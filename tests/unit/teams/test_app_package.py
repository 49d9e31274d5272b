"""The Teams app package: placeholders filled from the environment, icons the right size."""

from __future__ import annotations

import importlib.util
import json
import struct
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

APP_DIR = Path(__file__).resolve().parents[3] / "deploy" / "teams-app"
ENV = {
    "TEAMS_APP_ID": "0f6b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
    "MicrosoftAppId": "11111111-2222-3333-4444-555555555555",
    "APPROVALS_PUBLIC_URL": "https://approvals.example.org/",
}


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_package", APP_DIR / "build_package.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_package_holds_a_filled_manifest_and_both_icons(builder, tmp_path: Path) -> None:
    path = builder.build(ENV, output=tmp_path / "app.zip")
    with zipfile.ZipFile(path) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert png_size(package.read("color.png")) == (192, 192)
        outline = package.read("outline.png")
    assert png_size(outline) == (32, 32)
    assert outline[25] == 6  # colour type RGBA: the outline icon is transparent
    assert "${{" not in json.dumps(manifest)
    assert manifest["id"] == ENV["TEAMS_APP_ID"]
    assert manifest["bots"][0]["botId"] == ENV["MicrosoftAppId"]
    assert manifest["bots"][0]["scopes"] == ["team", "groupChat", "personal"]
    assert manifest["developer"]["privacyUrl"] == "https://approvals.example.org/privacy"
    assert manifest["validDomains"] == ["approvals.example.org"]


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({k: v for k, v in ENV.items() if k != "MicrosoftAppId"}, "set MicrosoftAppId"),
        ({**ENV, "TEAMS_APP_ID": "not-a-guid"}, "not a GUID"),
        ({**ENV, "APPROVALS_PUBLIC_URL": "http://approvals.example.org"}, "https://"),
    ],
)
def test_an_unusable_package_is_not_built(builder, tmp_path: Path, env, why: str) -> None:
    with pytest.raises(builder.PackageError, match=why):
        builder.build(env, output=tmp_path / "app.zip")
    assert not (tmp_path / "app.zip").exists()
