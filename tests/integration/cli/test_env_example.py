"""`cp .env.example .env` (as the file says) and `approvals serve`: a working service.

A real `approvals serve` process in a fresh folder, reading the copied file, its empty values
included; nothing else configured.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[3]
PLATFORM_NAMES = ("SLACK_", "Microsoft")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def copied_env_service(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("APPROVALS_", *PLATFORM_NAMES))
    }
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "approvals", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    errors: list[str] = []
    readers = [
        threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True),
        threading.Thread(target=lambda: errors.extend(process.stderr or []), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "serve exited:\n" + "".join(errors)[-3000:]
            assert time.monotonic() < deadline, "serve did not become ready"
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        key = next(line.split(":", 1)[1].strip() for line in lines if "api key:" in line)
        assert f"data directory: {tmp_path.resolve() / '.approvals'}\n" in errors
        yield base, key, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_copied_env_example_serves_and_accepts_a_submit(copied_env_service) -> None:
    base, key, folder = copied_env_service
    response = httpx.post(
        f"{base}/v1/actions",
        json={"action": "sql.execute", "resource": "db.staging.t", "environment": "staging"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    assert (folder / ".approvals" / "approvals.db").is_file()  # the embedded default, migrated


def test_empty_values_mean_unset() -> None:
    from approvals.config import Settings

    settings = Settings(_env_file=str(ROOT / ".env.example"))  # type: ignore[call-arg]
    assert settings.database_url is None and settings.is_embedded
    assert settings.policy_file is None
    assert settings.secret_key is None
    assert settings.slack_bot_token is None
