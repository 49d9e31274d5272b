"""Builds the Teams app package: manifest.json with its placeholders filled, plus the icons.

    TEAMS_APP_ID=<new GUID> MicrosoftAppId=<bot app id> \
    APPROVALS_PUBLIC_URL=https://approvals.example.org python deploy/teams-app/build_package.py

writes deploy/teams-app/approvals-teams.zip (`make teams-app` runs this). Each `${{NAME}}` in
the manifest is taken from the environment; APPROVALS_PUBLIC_HOST defaults to the host of
APPROVALS_PUBLIC_URL. A missing value stops the build: Teams rejects a package whose ids are
not GUIDs, and an upload that fails in the admin center is harder to read than this error.
Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "approvals-teams.zip"
ICONS = ("color.png", "outline.png")
PLACEHOLDER = re.compile(r"\$\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class PackageError(Exception):
    pass


def values_from(env: Mapping[str, str]) -> dict[str, str]:
    values = {k: v for k, v in env.items() if v}
    public_url = values.get("APPROVALS_PUBLIC_URL", "").rstrip("/")
    if public_url:
        values["APPROVALS_PUBLIC_URL"] = public_url
        values.setdefault("APPROVALS_PUBLIC_HOST", urlsplit(public_url).hostname or "")
    return values


def fill(template: str, values: Mapping[str, str]) -> str:
    missing = sorted({name for name in PLACEHOLDER.findall(template) if not values.get(name)})
    if missing:
        raise PackageError("set " + ", ".join(missing) + " (see docs/teams.md)")
    manifest = PLACEHOLDER.sub(lambda m: values[m[1]], template)
    parsed = json.loads(manifest)  # a value must not break the JSON
    for field in ("id", "bots"):
        ids = [parsed["id"]] if field == "id" else [b["botId"] for b in parsed["bots"]]
        bad = [i for i in ids if not GUID.fullmatch(i)]
        if bad:
            raise PackageError(f"{field}: not a GUID: {', '.join(bad)}")
    if not str(parsed["developer"]["websiteUrl"]).startswith("https://"):
        raise PackageError("APPROVALS_PUBLIC_URL must be https:// (Teams requires it)")
    return manifest


def build(env: Mapping[str, str], source: Path = HERE, output: Path = OUTPUT) -> Path:
    manifest = fill((source / "manifest.json").read_text(encoding="utf-8"), values_from(env))
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", manifest)  # at the root: Teams looks nowhere else
        for icon in ICONS:
            package.write(source / icon, icon)
    return output


def main() -> int:
    try:
        path = build(os.environ)
    except PackageError as exc:
        print(f"teams-app: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    print(f"teams-app: wrote {path}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
