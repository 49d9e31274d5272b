"""Optional parts installed as extras (`pip install 'approvals[s3]'`): one check, one message.

The core install carries what the mission needs (API, web page, Slack, Teams, the embedded
default); S3 checkpoints, the MCP server, PDF reports and OpenTelemetry are extras. A feature
whose extra is missing says so in one line that names the extra, instead of a traceback.
"""

from __future__ import annotations

import importlib


def missing_extra(module: str, *, extra: str, feature: str) -> str | None:
    """None when `module` imports; else the one-line message telling how to install it."""
    try:
        importlib.import_module(module)
    except ImportError:
        return f"{feature} needs the [{extra}] extra: pip install 'approvals[{extra}]'"
    return None
