"""Render an EvidenceReport as JSON, CSV (one row per privileged action), HTML or PDF.

The HTML is one self-contained, printable page: inline CSS, inline SVG charts, no script.
Its only <style> block is hashed for the Content-Security-Policy it is served with.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import io
import logging
import shutil
import subprocess
import tempfile
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from approvals.audit import charts
from approvals.audit.schemas import EvidenceReport

_TEMPLATES = Path(__file__).parent / "templates"
# Autoescape every template: the file names end in .j2, which select_autoescape would miss.
_env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined)
STYLE = (_TEMPLATES / "evidence.css").read_text(encoding="utf-8")
STYLE_CSP_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
HTML_CSP = (
    f"default-src 'none'; style-src '{STYLE_CSP_HASH}'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"


MEDIA_TYPES = {
    Format.JSON: "application/json",
    Format.CSV: "text/csv; charset=utf-8",
    Format.HTML: "text/html; charset=utf-8",
    Format.PDF: "application/pdf",
}

CSV_COLUMNS = [
    "id",
    "created_at",
    "action",
    "environment",
    "resource",
    "requester",
    "on_behalf_of",
    "submitted_by",
    "outcome",
    "execution",
    "status",
    "risk",
    "policy_rule",
    "policy_version",
    "approvers",
    "platforms",
    "decided_at",
    "time_to_decision_seconds",
    "reason",
    "self_approval",
    "step_up",
]


def to_json(report: EvidenceReport) -> bytes:
    return report.model_dump_json(indent=2).encode()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ makes spreadsheets evaluate the cell: neutralise formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(report: EvidenceReport) -> str:
    reasons = {d.id: d.reason for d in report.denials}
    reasons.update({b.id: b.reason for b in report.blocked})
    offending = {v.action_id for v in report.self_approval.violations}
    # How each approval that needed step-up (or was of a high-risk request) was confirmed:
    # approver:auth:step-up, `none` where no step-up happened.
    stepped: dict[str, list[str]] = {}
    for approval in report.step_up.approvals:
        stepped.setdefault(approval.action_id, []).append(
            f"{approval.approver}:{approval.auth or 'unknown'}:{approval.step_up or 'none'}"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.actions:
        writer.writerow(
            _cell(value)
            for value in (
                row.id,
                row.created_at.isoformat(),
                row.action,
                row.environment,
                row.resource,
                row.requester,
                row.on_behalf_of,
                row.submitted_by,
                row.outcome,
                row.execution,
                row.status,
                row.risk,
                row.policy_rule,
                row.policy_version,
                ";".join(row.approvers),
                ";".join(row.platforms),
                row.decided_at.isoformat() if row.decided_at else None,
                row.time_to_decision_seconds,
                reasons.get(row.id),
                "yes" if row.id in offending else "no",
                ";".join(stepped.get(row.id, [])),
            )
        )
    return out.getvalue()


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


_env.filters["duration"] = duration


def to_html(report: EvidenceReport) -> str:
    per_day = charts.decisions_per_day(
        [(d.day.isoformat(), d.counts) for d in report.decisions_per_day]
    )
    waits = charts.histogram([(b.label, b.count) for b in report.time_to_decision.histogram])
    return _env.get_template("evidence.html.j2").render(
        report=report,
        style=Markup(STYLE),  # noqa: S704 (our own static file, hashed for the CSP)
        per_day_svg=Markup(per_day),  # noqa: S704 (built by charts.py, every value escaped)
        waits_svg=Markup(waits),  # noqa: S704 (same)
    )


class PdfUnavailable(RuntimeError):
    """Neither WeasyPrint nor a headless Chromium is available on this machine."""


def to_pdf(html: str) -> bytes:
    """WeasyPrint when installed; otherwise headless Chromium's print-to-PDF."""
    # WeasyPrint logs each step ("Step 4 - Creating formatting structure") and fontTools each
    # subset table at INFO: noise in a server's log and on the CLI's terminal. Quieted before
    # the import, which parses WeasyPrint's own stylesheets and logs those steps too.
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]  # optional, heavy
    except (ImportError, OSError):  # OSError: WeasyPrint installed but pango libs missing
        return _chromium_pdf(html)
    with _RENDERING:  # one shared font configuration (Pango's font map is not thread-safe)
        pdf: bytes = HTML(string=html).render(font_config=_font_config()).write_pdf()
    return pdf


_CHATTY_LOGGERS = ("weasyprint", "weasyprint.progress", "fontTools")
_RENDERING = threading.Lock()


@functools.cache
def _font_config() -> Any:
    """Built once per process: reading the system's font configuration costs every render."""
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

    return FontConfiguration()


def _chromium_pdf(html: str) -> bytes:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise PdfUnavailable(
            "PDF needs the [pdf] extra (pip install 'approvals[pdf]') or chromium on PATH; "
            "use --format html and print to PDF from a browser"
        )
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "report.html", Path(folder) / "report.pdf"
        source.write_text(html, encoding="utf-8")
        subprocess.run(  # noqa: S603 (fixed argv, our own temp files)
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                f"--print-to-pdf={target}",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return target.read_bytes()
