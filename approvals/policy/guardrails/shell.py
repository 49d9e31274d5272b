"""Shell intent analysis: rm on roots, curl|sh, exfiltration outside an allowlist, database dumps.

Pure and total. Command lines are tokenised with shlex; pipelines, `sh -c`, `ssh host CMD`,
`sudo`/`env` wrappers and `$(…)` substitutions are unwrapped; kubectl goes to `kubectl`,
`psql -c` / `mysql -e` SQL goes to `sql`. A line that cannot be tokenised is a finding.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable

from approvals.policy.decision import Risk
from approvals.policy.guardrails import network
from approvals.policy.guardrails.files import (
    RM_DATABASE_FILES,
    database_files,
    find_deletes,
    permissions,
)
from approvals.policy.guardrails.findings import GuardrailFinding
from approvals.policy.guardrails.kubectl import analyze_kubectl
from approvals.policy.guardrails.network import DEV_TCP, pipe_to_network
from approvals.policy.guardrails.sql import analyze_sql

F = GuardrailFinding
UNPARSEABLE = F(
    "shell.unparseable",
    Risk.HIGH,
    "The command line could not be parsed, so its intent is unknown.",
)
RM_ROOT = F("shell.rm_root", Risk.CRITICAL, "Recursively deletes a root, home or system directory.")
RM_VARIABLE = F(
    "shell.rm_variable_path",
    Risk.HIGH,
    "Recursively deletes a path built from a variable: if it is empty, this deletes from /.",
)
PIPE_TO_SHELL = F(
    "shell.pipe_to_shell", Risk.CRITICAL, "Downloads a script and runs it unseen (curl | sh)."
)
BUCKET_DELETE = F(
    "shell.bucket_delete", Risk.HIGH, "Deletes a storage bucket or all objects in it."
)
PG_DUMP = F("shell.pg_dump", Risk.HIGH, "Dumps a whole PostgreSQL database (bulk export).")
DB_DUMP = F("shell.db_dump", Risk.HIGH, "Dumps or exports a whole database (bulk export).")
DISK_WIPE = F("shell.disk_wipe", Risk.CRITICAL, "Overwrites or formats a disk device.")
TOO_DEEP = F(
    "shell.nesting_too_deep",
    Risk.HIGH,
    "Commands are nested too deeply to analyse; intent unknown.",
)

_MAX_DEPTH = 6
_SEPARATORS = {"|", "|&", "||", "&&", ";", "&", ";;", "(", ")"}
_REDIRECTS = {">", ">>", "<", "<<", "<<<", ">|", "&>", "<>", ">&"}
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "ash", "fish"}
_INTERPRETERS = _SHELLS | {"python", "python3", "perl", "ruby", "node", "php", "sudo"}
_DOWNLOADERS = {"curl", "wget"}
_WRAPPERS = {"sudo", "doas", "env", "nohup", "time", "nice", "timeout", "exec", "command", "xargs"}
_WRAPPER_VALUE_FLAGS = {"-u", "-g", "-n", "-s", "-k", "-C", "-I", "-P", "-L", "-d"}
_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)|`([^`]*)`|<\(([^()]*)\)")
_SHELL_OF_DOWNLOAD = re.compile(
    r"\b(ba|z|da|k)?sh\b[^|;&]*(<|\$)\(\s*(curl|wget)\b|\b(curl|wget)\b[^;&]*\|\s*(sudo\s+)?"
    r"(ba|z|da|k)?sh\b",
)
_CRITICAL_DIRS = {
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc", "/root", "/sbin",
    "/srv", "/sys", "/usr", "/var", "/data", "/mnt", "/var/lib", "/var/lib/postgresql",
    "/var/lib/mysql", "/var/lib/docker", "/usr/local", "/usr/lib", "/var/log",
}  # fmt: skip
_DUMPERS = {"mysqldump": DB_DUMP, "mongodump": DB_DUMP, "mongoexport": DB_DUMP}


def _rm(args: list[str]) -> list[F]:
    recursive = any(
        a in {"--recursive", "-R"} or (re.match(r"^-[a-zA-Z]+$", a) and "r" in a.lower())
        for a in args
    )
    found: list[F] = database_files(network.positionals(args))
    if not recursive:
        return found
    if "--no-preserve-root" in args:
        return [*found, RM_ROOT]
    for path in network.positionals(args):
        clean = path.rstrip("/") or "/"
        clean = clean[:-2] if clean.endswith("/*") else clean
        home = clean in {"~", "$HOME", "${HOME}", ".", "..", "*", "/*", "/"} or clean == ""
        top = bool(re.match(r"^/[^/]+$", clean)) or posixpath.normpath(clean) in _CRITICAL_DIRS
        if home or top or (clean.startswith("~/") and clean.count("/") <= 1):
            found.append(RM_ROOT)
        elif re.match(r"^\"?\$\{?[A-Za-z_]", path) and "/" in path and not found:
            found.append(RM_VARIABLE)
    return found


def _copy_tool(prog: str, args: list[str], allowed: tuple[str, ...]) -> list[F]:
    if prog == "aws":
        words = network.positionals(args, {"--profile", "--region", "--endpoint-url", "--exclude",
                                    "--include", "--storage-class", "--sse", "--acl"})  # fmt: skip
        if words[:1] != ["s3"] or len(words) < 2:
            return []
        if words[1] in {"rb"} or (words[1] == "rm" and "--recursive" in args):
            return [BUCKET_DELETE]
        if words[1] in {"cp", "sync", "mv"} and len(words) >= 4:
            return network.exfil(words[-1], allowed)
        return []
    if prog == "gsutil":
        words = network.positionals(args, {"-o", "-h"})
        if (words and words[0] == "rb") or (words[:1] == ["rm"] and ("-r" in args or "-R" in args)):
            return [BUCKET_DELETE]
        if words and words[0] in {"cp", "rsync", "mv"} and len(words) >= 3:
            return network.exfil(words[-1], allowed)
        return []
    words = network.positionals(args, {"-i", "-P", "-p", "-o", "-F", "-e", "-J", "-l", "--rsh"})
    if len(words) >= 2:
        return network.exfil(words[-1], allowed)
    return []


def _upload(args: list[str], allowed: tuple[str, ...]) -> list[F]:
    """curl/wget sending a local file (`-T`, `-d @file`, `-F x=@file`, `--post-file`)."""
    sends = False
    for index, arg in enumerate(args):
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg in {"-T", "--upload-file"} or arg.startswith("--post-file"):
            sends = True
        elif arg in {"-d", "--data", "--data-binary", "--data-raw", "-F", "--form"}:
            sends = sends or "@" in following
        elif re.match(r"^--(data|data-binary|form)=.*@", arg):
            sends = True
    if not sends:
        return []
    urls = [a for a in args if re.match(r"^(https?|ftp)://", a)]
    return (
        [network.EXFILTRATION]
        if any(not network.allowed(network.remote_target(u) or u, allowed) for u in urls)
        else []
    )


def _unwrap(argv: list[str]) -> list[str]:
    """Drop variable assignments and wrappers (sudo, env, timeout…) in front of a command."""
    while argv:
        head = argv[0]
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", head):
            argv = argv[1:]
            continue
        if posixpath.basename(head) not in _WRAPPERS:
            return argv
        argv = argv[1:]
        while argv and (
            argv[0].startswith("-") or re.match(r"^[A-Za-z_]\w*=|^\d+[smhd]?$", argv[0])
        ):
            argv = argv[2:] if argv[0] in _WRAPPER_VALUE_FLAGS else argv[1:]
    return argv


def _simple(argv: list[str], allowed: tuple[str, ...], phi: tuple[str, ...], depth: int) -> list[F]:
    argv = _unwrap(argv)
    if not argv:
        return []
    prog, args = posixpath.basename(argv[0]), argv[1:]
    if prog in _SHELLS:
        for index, arg in enumerate(args):
            if re.match(r"^-[a-z]*c[a-z]*$", arg) and index + 1 < len(args):
                return _text(args[index + 1], allowed, phi, depth + 1)
        return []
    if prog == "ssh":
        words = network.positionals(
            args, {"-i", "-p", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-W"}
        )
        return _text(" ".join(words[1:]), allowed, phi, depth + 1) if len(words) > 1 else []
    if prog == "kubectl":
        found, tail = analyze_kubectl(args)
        return found + (_simple(tail, allowed, phi, depth + 1) if tail else [])
    if prog == "rm":
        return _rm(args)
    if prog in {"chmod", "chown", "chgrp"}:
        return permissions(prog, args)
    if prog == "find":
        return find_deletes(args)
    if prog == "pg_dropcluster":
        return [RM_DATABASE_FILES]
    if prog in {"aws", "gsutil", "scp", "rsync"}:
        return _copy_tool(prog, args, allowed)
    if prog in _DOWNLOADERS:
        return _upload(args, allowed)
    if prog in {"pg_dump", "pg_dumpall"}:
        return [PG_DUMP]
    if prog in _DUMPERS:
        return [_DUMPERS[prog]]
    if prog == "dd" and any(re.match(r"^of=/dev/(sd|nvme|xvd|hd|vd|disk|mapper)", a) for a in args):
        return [DISK_WIPE]
    if prog.startswith("mkfs") or (prog in {"wipefs", "shred"} and any("/dev/" in a for a in args)):
        return [DISK_WIPE]
    if prog in {"psql", "mysql"}:
        return _embedded_sql(prog, args, phi)
    return []


def _embedded_sql(prog: str, args: list[str], phi: tuple[str, ...]) -> list[F]:
    flag = {"psql": ("-c", "--command"), "mysql": ("-e", "--execute")}[prog]
    dialect = "postgres" if prog == "psql" else "mysql"
    found: list[F] = []
    for index, arg in enumerate(args):
        sql = None
        if arg in flag and index + 1 < len(args):
            sql = args[index + 1]
        elif arg.startswith(flag[1] + "="):
            sql = arg.split("=", 1)[1]
        if sql is not None:
            found += analyze_sql(sql, dialect=dialect, phi_tables=phi)
    return found


def _segments(text: str) -> list[tuple[list[str], str]]:
    """Simple commands with the operator that joined each to the previous one."""
    lexer = shlex.shlex(text.replace("\n", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    segments: list[tuple[list[str], str]] = []
    current: list[str] = []
    joined, redirect = ";", False
    for token in lexer:
        if token in _SEPARATORS:
            if current:
                segments.append((current, joined))
            current, joined, redirect = [], token, False
        elif token in _REDIRECTS or (token.endswith((">", "<")) and set(token) <= set("<>&|")):
            redirect = True
        elif redirect:
            network = re.match(r"^/dev/(tcp|udp)/([^/]+)", token)
            if network and current:  # `> /dev/tcp/HOST/PORT`: bash sends the output there
                segments.append((current, joined))
                current, joined = [DEV_TCP, network.group(2)], "|"
            elif re.match(r"^/dev/(sd|nvme|xvd|hd|vd|disk)", token):
                current.append("of=" + token)
                current.insert(0, "dd") if current[:1] != ["dd"] else None
            redirect = False
        else:
            current.append(token)
    if current:
        segments.append((current, joined))
    return segments


def _text(text: str, allowed: tuple[str, ...], phi: tuple[str, ...], depth: int) -> list[F]:
    if depth > _MAX_DEPTH:
        return [TOO_DEEP]
    found: list[F] = [PIPE_TO_SHELL] if _SHELL_OF_DOWNLOAD.search(text) else []
    for match in _SUBSTITUTION.finditer(text):
        inner = next(group for group in match.groups() if group is not None)
        found += _text(inner, allowed, phi, depth + 1)
    try:
        segments = _segments(_SUBSTITUTION.sub(" SUBSTITUTION ", text))
    except ValueError:  # shlex: unbalanced quotes or a dangling escape
        return [*found, UNPARSEABLE]
    previous: list[str] = []
    pipeline: list[list[str]] = []
    for argv, joined in segments:
        unwrapped = _unwrap(argv)
        pipeline = [*pipeline, unwrapped] if joined in {"|", "|&"} else [unwrapped]
        found += pipe_to_network(pipeline, allowed)
        if (
            joined in {"|", "|&"}
            and previous[:1]
            and posixpath.basename(previous[0]) in _DOWNLOADERS
            and unwrapped[:1]
            and posixpath.basename(unwrapped[0]) in _INTERPRETERS
        ):
            found.append(PIPE_TO_SHELL)
        found += _simple(argv, allowed, phi, depth)
        previous = unwrapped
    return found


def analyze_command(
    command: object,
    *,
    allowed_destinations: Iterable[str] = (),
    phi_tables: Iterable[str] = (),
    strict: bool = True,
) -> list[GuardrailFinding]:
    """Findings for a command line (str) or an argv list; anything else is unparseable.

    `strict=False` is for command-shaped text found in other params (it may be prose such as
    "ssh isn't working"): a line that cannot be tokenised is read again with its open quote
    closed and with its quotes ignored, so `sh -c 'rm -rf /etc` and `rm -rf / '` are still
    seen, and is never reported as unparseable."""
    allowed, phi = tuple(allowed_destinations), tuple(phi_tables)
    if isinstance(command, str):
        found = _text(command, allowed, phi, 0)
        if not strict and UNPARSEABLE in found:
            readings = [command + "'", command + '"', re.sub(r"[\"'\\]", " ", command)]
            found = [f for text in readings for f in _text(text, allowed, phi, 0)]
            found = [f for f in found if f is not UNPARSEABLE]
    elif isinstance(command, list) and all(isinstance(a, str) for a in command):
        found = _simple(list(command), allowed, phi, 0)
    else:
        found = [UNPARSEABLE]
    return list(dict.fromkeys(found))
