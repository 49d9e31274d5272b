"""Owner-only data files: the data directory 0700; the SQLite database (its -wal and -shm follow
its mode), key files and the generated secret 0600.

Modes are given to mkdir(2)/open(2) themselves, so no umask can widen them and no file exists
for a moment with a wider mode. Files and directories from older versions are tightened when we
own them; a mounted volume we do not own is left as the platform made it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from pathlib import Path


def _tighten(path: Path, mode: int) -> None:
    with contextlib.suppress(OSError):  # gone, read-only mount, not ours: nothing to do
        info = path.stat()
        if info.st_uid == os.geteuid() and info.st_mode & 0o777 != mode:
            path.chmod(mode)


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents 0700, or tighten `path` to 0700 if we own it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
    _tighten(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create an empty `path` 0600 unless it exists; tighten an existing one we own to 0600."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        _tighten(path, 0o600)
    return path


def write_private_file(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write owner-only (0600) via a temporary file, so readers never see a partial file.

    `exclusive` publishes with link(), which fails if the target exists (first writer wins).
    `release.keys._write_secret_file` is its twin: the SDK borrows that module, and the SDK may
    not import `approvals.kit` (import-linter "SDK is standalone").
    """
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".tmp")
    try:
        # mkstemp already creates 0600; fchmod guards against an unusual platform.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_or_create_secret(path: Path) -> str:
    """The service secret kept at `path` (development without APPROVALS_SECRET_KEY), generated
    on first use; when two processes start at once, the first writer wins and both read it."""
    if not path.exists():
        secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=")
        with contextlib.suppress(FileExistsError):
            write_private_file(path, secret, exclusive=True)
    _tighten(path, 0o600)
    return path.read_text("ascii").strip()
