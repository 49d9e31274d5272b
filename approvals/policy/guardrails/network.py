"""Where data leaves: destination allow-lists, copies to remote hosts, and pipes into network
tools (`tar czf - /data | nc host 9000`, `pg_dump db | curl -T - …`, `… | ssh host`). Pure.

`shell` calls these; they judge one simple command (or one pipeline of them) already tokenised.
"""

from __future__ import annotations

import posixpath
import re
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from approvals.policy.decision import Risk
from approvals.policy.guardrails.findings import GuardrailFinding

F = GuardrailFinding
EXFILTRATION = F(
    "shell.exfiltration",
    Risk.HIGH,
    "Copies data to a host or bucket outside the policy's allowed destinations.",
)
PIPE_TO_NETWORK = F(
    "shell.pipe_to_network",
    Risk.HIGH,
    "Pipes an archive or dump into a network tool (nc, curl, ssh…) bound for a host or bucket "
    "outside the policy's allowed destinations.",
)
# A synthetic program name standing for a `> /dev/tcp/HOST/PORT` redirect.
DEV_TCP = "/dev/tcp"

# Commands whose standard output is bulk data (archives, dumps, raw files, encodings of them).
PRODUCERS = frozenset(
    {
        "tar", "gtar", "bsdtar", "zip", "gzip", "pigz", "bzip2", "xz", "zstd", "lz4", "cpio",
        "dd", "cat", "pg_dump", "pg_dumpall", "pg_basebackup", "mysqldump", "mariadb-dump",
        "mongodump", "mongoexport", "sqlite3", "base64", "gpg", "openssl", "psql", "mysql",
        "redis-cli", "etcdctl",
    }
)  # fmt: skip
_NC = {"nc", "ncat", "netcat"}
_NC_VALUE_FLAGS = {"-p", "-w", "-q", "-s", "-i", "-x", "-X", "-e", "-c", "-I", "-O", "-T", "-V"}
_SSH_VALUE_FLAGS = {"-i", "-p", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-W", "-c", "-m", "-b"}


def allowed(target: str, destinations: tuple[str, ...]) -> bool:
    target = target.lower()
    for entry in (e.lower() for e in destinations):
        stem = entry.rstrip("/*")
        if fnmatchcase(target, entry) or target == stem or target.startswith(stem + "/"):
            return True
    return False


def remote_target(word: str) -> str | None:
    """The host or bucket of a copy destination; None for a local path."""
    if "://" in word:
        parts = urlsplit(word)
        if parts.scheme in {"s3", "gs", "gcs", "az", "abfs", "abfss", "wasbs"}:
            return f"{parts.scheme}://{parts.netloc}{parts.path}"
        return parts.hostname or word
    match = re.match(r"^(?:[^@/:]+@)?([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):", word)
    if match and not re.match(r"^[A-Za-z]:\\", word):
        return match.group(1)
    return None


def positionals(args: list[str], value_flags: frozenset[str] | set[str] = frozenset()) -> list[str]:
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-") and arg != "-":
            skip = arg in value_flags
        else:
            words.append(arg)
    return words


def exfil(destination: str | None, destinations: tuple[str, ...]) -> list[F]:
    if destination is None:
        return []
    target = remote_target(destination)
    return [EXFILTRATION] if target is not None and not allowed(target, destinations) else []


def _host(word: str) -> str:
    """`user@host`, `host:port`, `TCP:host:port` → host."""
    word = word.rsplit("@", 1)[-1]
    if re.match(r"^(tcp|udp|ssl|openssl)[46]?(-connect)?:", word, re.I):
        word = word.split(":", 1)[1]
    return word.rsplit(":", 1)[0] if word.count(":") == 1 else word


def _stdin_upload(args: list[str]) -> bool:
    """curl/wget sending standard input: `-T -`, `--data-binary @-`, `-F f=@-`, `--post-file`."""
    for index, arg in enumerate(args):
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg in {"-T", "--upload-file"} and following in {"-", "."}:
            return True
        if arg in {"-d", "--data", "--data-binary", "--data-raw", "-F", "--form"} and (
            following.endswith(("@-", "<-"))
        ):
            return True
        if re.match(r"^--(data|data-binary|form|upload-file)=.*-$", arg):
            return True
        if arg.startswith("--post-file") and "/dev/stdin" in arg + following:
            return True
    return False


def sink_destination(argv: list[str]) -> str | None:
    """Where a command reading standard input sends it over the network; None if nowhere."""
    if not argv:
        return None
    prog, args = posixpath.basename(argv[0]), argv[1:]
    if argv[0] == DEV_TCP:
        return args[0] if args else ""
    if prog in _NC:
        if "-l" in args or any(re.match(r"^-[a-zA-Z]*l", a) for a in args):
            return None  # listening: data arrives, it does not leave
        words = positionals(args, _NC_VALUE_FLAGS)
        return words[0] if words else ""
    if prog == "socat":
        remote = [a for a in positionals(args) if re.match(r"^(tcp|udp|ssl|openssl)", a, re.I)]
        return _host(remote[-1]) if remote else None
    if prog == "telnet":
        words = positionals(args)
        return words[0] if words else ""
    if prog == "ssh":
        words = positionals(args, _SSH_VALUE_FLAGS)
        return _host(words[0]) if words else ""
    if prog in {"curl", "wget"} and _stdin_upload(args):
        urls = [a for a in args if re.match(r"^(https?|ftps?)://", a)]
        return (remote_target(urls[-1]) or urls[-1]) if urls else ""
    if prog in {"aws", "gsutil"}:
        words = positionals(args, {"--profile", "--region", "--endpoint-url", "-o", "-h"})
        words = words[1:] if prog == "aws" and words[:1] == ["s3"] else words
        if words[:1] == ["cp"] and "-" in words[1:-1] and len(words) >= 3:
            return remote_target(words[-1]) or words[-1]
    if prog == "openssl" and args[:1] == ["s_client"] and "-connect" in args:
        index = args.index("-connect")
        return _host(args[index + 1]) if index + 1 < len(args) else ""
    return None


def pipe_to_network(
    pipeline: list[list[str]], destinations: tuple[str, ...]
) -> list[GuardrailFinding]:
    """A producer earlier in the pipeline and a network sink later, bound outside the list."""
    produced = False
    for argv in pipeline:
        destination = sink_destination(argv) if produced else None
        if destination is not None and not (destination and allowed(destination, destinations)):
            return [PIPE_TO_NETWORK]
        if argv and posixpath.basename(argv[0]) in PRODUCERS:
            produced = True
    return []
