"""Load a policy file (or the built-in demo policy) into a LoadedPolicy, and keep it fresh.

Pure apart from reading the file. `PolicyStore` reloads on change; a broken edit never replaces
the last good policy (the service keeps judging requests while someone fixes the file).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import structlog

from approvals.policy.check import Problem, check_text
from approvals.policy.engine import LoadedPolicy

log = structlog.get_logger(__name__)


class PolicyError(ValueError):
    """The policy file is unreadable or invalid; the message says where and what to fix."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


def demo_policy_text() -> str:
    return resources.files("approvals.policy").joinpath("demo_policy.yaml").read_text("utf-8")


def policy_version(text: str) -> str:
    """The content hash each request records as the policy it was judged under."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def parse_policy(text: str, source: str = "<policy>") -> LoadedPolicy:
    document, problems = check_text(text)
    if document is None:
        errors = tuple(p for p in problems if p.severity == "error")
        raise PolicyError("\n".join(p.render(source) for p in errors), errors)
    return LoadedPolicy(document, policy_version(text), source)


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise PolicyError(f"{path}: cannot read the policy file ({reason})") from None


def load_policy(path: Path | None) -> LoadedPolicy:
    """The file at `path`, or the demo policy when no file is configured."""
    if path is None:
        return parse_policy(demo_policy_text(), "demo policy")
    return parse_policy(_read(path), str(path))


Stamp = tuple[int, int]


class PolicyStore:
    """The current policy, reloaded when the file's mtime or size changes (checked ≤ once a second).

    The first load raises PolicyError (fail fast at start); later broken versions are refused,
    kept out of service and described in `last_error` until a good version replaces them.
    Replace policy files by rename (`mv new.yaml policy.yaml`): a half-written file is never seen.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.last_error: str | None = None
        self.failed_reloads = 0  # exported as a metric: a broken edit must page someone
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._policy = load_policy(path)
        self._checked = clock()

    def _stat(self) -> Stamp | None:
        if self.path is None:
            return None
        try:
            found = self.path.stat()
        except OSError:
            return None
        return found.st_mtime_ns, found.st_size

    def current(self) -> LoadedPolicy:
        if self.path is None or self._clock() - self._checked < self._interval:
            return self._policy
        with self._lock:
            now = self._clock()
            if now - self._checked >= self._interval:
                self._checked = now
                self._reload_if_changed()
        return self._policy

    def _reload_if_changed(self) -> None:
        assert self.path is not None  # noqa: S101  (current() returns early without a path)
        stamp = self._stat()
        if stamp == self._stamp:
            return
        try:
            text = _read(self.path)
            if self._stat() != stamp:  # changed while we read it: try again next second
                return
            policy = parse_policy(text, str(self.path))
        except PolicyError as exc:
            self._stamp = stamp
            self.last_error = str(exc)
            self.failed_reloads += 1
            log.error("policy.reload_failed", path=str(self.path), problems=self.last_error)
            return
        self._stamp = stamp
        self.last_error = None
        if policy.version != self._policy.version:
            log.info("policy.reloaded", path=str(self.path), version=policy.version)
        self._policy = policy
