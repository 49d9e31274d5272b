"""PolicyStore: reloads on change at most once per interval; a broken file keeps the last good."""

from __future__ import annotations

import os
from pathlib import Path

from policy_texts import BASE

from approvals.policy.loader import PolicyStore, demo_policy_text, load_policy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str, bump: int) -> None:
    path.write_text(text, "utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))


class TestPolicyStore:
    def test_without_a_path_serves_the_demo_policy(self) -> None:
        store = PolicyStore(None)
        assert store.current().version == load_policy(None).version

    def test_reloads_after_a_change_but_not_within_the_interval(self, tmp_path: Path) -> None:
        path, clock = tmp_path / "policy.yaml", Clock()
        write(path, BASE, 0)
        store = PolicyStore(path, clock=clock)
        first = store.current()
        write(path, demo_policy_text(), 5)
        clock.now += 0.5
        assert store.current() is first
        clock.now += 1
        assert store.current().version == load_policy(path).version != first.version
        assert store.last_error is None

    def test_broken_file_keeps_the_last_good_policy_and_records_why(self, tmp_path: Path) -> None:
        path, clock = tmp_path / "policy.yaml", Clock()
        write(path, BASE, 0)
        store = PolicyStore(path, clock=clock)
        good = store.current()
        write(path, BASE.replace("from: [dba-oncall]}", "from: [ghosts]}"), 5)
        clock.now += 2
        assert store.current() is good
        assert store.last_error is not None
        assert "unknown group 'ghosts'" in store.last_error
        write(path, demo_policy_text(), 10)
        clock.now += 2
        assert store.current().version == load_policy(None).version
        assert store.last_error is None

    def test_a_deleted_file_keeps_the_last_good_policy(self, tmp_path: Path) -> None:
        path, clock = tmp_path / "policy.yaml", Clock()
        write(path, BASE, 0)
        store = PolicyStore(path, clock=clock)
        good = store.current()
        path.unlink()
        clock.now += 2
        assert store.current() is good
        assert store.last_error is not None
