"""Database files and permissions: deletes of database data directories, and permission or
ownership widening on system paths. Pure; `shell` calls these with one command's arguments."""

from __future__ import annotations

import posixpath
import re

from approvals.policy.decision import Risk
from approvals.policy.guardrails.findings import GuardrailFinding

F = GuardrailFinding
RM_DATABASE_FILES = F(
    "shell.rm_database_files",
    Risk.CRITICAL,
    "Deletes a database's data directory or files in it: the database is destroyed.",
)
PERMISSION_WIDENING = F(
    "shell.permission_widening",
    Risk.HIGH,
    "Makes a system path writable by everyone, setuid, or hands it to another owner.",
)

# Where PostgreSQL, MySQL/MariaDB, MongoDB, Redis and friends keep their data by default
# (Debian, RHEL, Homebrew and the official container images).
DATA_DIRS = (
    "/var/lib/postgresql", "/var/lib/pgsql", "/var/lib/postgres", "/usr/local/var/postgres",
    "/usr/local/pgsql/data", "/opt/homebrew/var/postgresql", "/var/lib/mysql", "/var/lib/mariadb",
    "/usr/local/var/mysql", "/var/lib/mongodb", "/var/lib/mongo", "/data/db", "/var/lib/redis",
    "/var/lib/cassandra", "/var/lib/elasticsearch", "/var/lib/etcd", "/var/lib/clickhouse",
    "/var/lib/influxdb", "/var/lib/neo4j", "/var/lib/couchdb", "/var/lib/rabbitmq",
)  # fmt: skip
# $PGDATA, ${MYSQL_DATADIR}, "$DB_DATA_DIR"/base, $DATADIR…
_DATA_VARIABLE = re.compile(
    r"^\"?\$\{?(PGDATA|[A-Z_]*(PG|POSTGRES|MYSQL|MARIADB|MONGO|REDIS|DB|SQL)[A-Z_]*DATA[A-Z_]*"
    r"|DATA_?DIR)\b",
    re.I,
)
# Logs kept under a data directory may be cleaned up.
_LOG_PART = re.compile(r"(^|/)(pg_log|log|logs)(/|$)|\.log(\.\d+)?$")
SYSTEM_PATHS = (
    "/etc", "/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/boot", "/root", "/var",
    "/opt", "/srv", "/home", "/dev", "/proc", "/sys", "/run", "/data", "/mnt",
)  # fmt: skip
_SYSTEM_TOPS = {"/", *SYSTEM_PATHS, "/var/lib", "/usr/local", "/usr/lib", "/usr/bin", "/var/log"}
_VALUE_FLAGS = {"--reference", "--from"}


def _normal(path: str) -> str:
    path = path.strip("\"'")
    return posixpath.normpath(path) if path.startswith("/") else path


def _under(path: str, roots: tuple[str, ...] | set[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def database_files(paths: list[str]) -> list[F]:
    """rm (recursive or not) of a database data directory or anything in it, logs aside."""
    for raw in paths:
        path = _normal(raw)
        if _DATA_VARIABLE.match(raw) or (_under(path, DATA_DIRS) and not _LOG_PART.search(path)):
            return [RM_DATABASE_FILES]
    return []


def find_deletes(args: list[str]) -> list[F]:
    """`find DIR … -delete` or `-exec rm …` under a database data directory."""
    if "-delete" not in args and not ("-exec" in args and "rm" in args):
        return []
    end = next((i for i, a in enumerate(args) if a.startswith(("-", "(", "!"))), len(args))
    return database_files(args[:end])


def _widening_mode(mode: str) -> bool:
    """World-writable, or setuid/setgid: `777`, `0666`, `4755`, `o+w`, `a+rwx`, `+s`, `o=rwx`."""
    if re.fullmatch(r"[0-7]{3,4}", mode):
        digits = mode.zfill(4)
        return int(digits[-1]) & 2 != 0 or int(digits[0]) & 6 != 0
    for clause in mode.split(","):
        match = re.fullmatch(r"([ugoa]*)([-+=])([rwxXstugo]*)", clause)
        if match is None or match.group(2) == "-":
            continue
        who, perms = match.group(1) or "a", match.group(3)
        if ("w" in perms and ("o" in who or "a" in who)) or "s" in perms:
            return True
    return False


def permissions(prog: str, args: list[str]) -> list[F]:
    """chmod widening on a system path; recursive chown/chgrp of / or a top-level system dir."""
    words, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUE_FLAGS:
            skip = True
        elif arg.startswith("-") and not re.fullmatch(r"-[rwxXst]+", arg):
            continue
        else:
            words.append(arg)
    if len(words) < 2:
        return []
    spec, paths = words[0], [_normal(p) for p in words[1:]]
    if prog == "chmod":
        system = any(p == "/" or _under(p, SYSTEM_PATHS) for p in paths)
        return [PERMISSION_WIDENING] if system and _widening_mode(spec) else []
    recursive = any(a == "--recursive" or re.fullmatch(r"-[a-zA-Z]*R[a-zA-Z]*", a) for a in args)
    return [PERMISSION_WIDENING] if recursive and any(p in _SYSTEM_TOPS for p in paths) else []
