"""Strings that hold structure: each part is redacted as what it is, not as prose. Pure.

- JSON held in a string is parsed and walked like the document itself (keys and all);
- HL7 v2 messages are read segment by segment and field by field (HL7 v2.5 chapters 2, 3, 6
  and 7): a field the standard defines as a person's name, address, phone, birth date or
  identifier is replaced component by component (`DOE^JANE^Q` → `[NAME-1]^[NAME-2]^[NAME-3]`),
  coding components (`HOSP`, `MR`, `IL`) are kept, other fields are scanned as text;
- CSV (RFC 4180) is read by column: with a header row each cell is judged by its column's name,
  as result sets are; without one each cell is scanned on its own;
- URL query strings and form bodies are read pair by pair after percent-decoding
  (`name=Jane+Doe` is `name` = `Jane Doe`), and percent-encoded text is decoded and scanned;
- base64 that decodes to text is decoded and scanned, and the whole blob is replaced when it
  holds PHI (a part of it would still decode).
The walker does the redacting (`Host`); this module only takes strings apart and puts them back.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
import string
import urllib.parse
from typing import Any, Protocol

from approvals.redaction.placeholders import PLACEHOLDER
from approvals.redaction.search import byte_classes, classes_of


class Host(Protocol):
    def scan_text(self, text: str, path: str, call: Any) -> str: ...

    def scan_pair(self, key: str, value: str, path: str, call: Any) -> tuple[str, str]: ...

    def scan_column(self, value: str, path: str, column: str, call: Any) -> str: ...

    def replace_as(self, text: str, path: str, type_: str, call: Any) -> str: ...

    def placeholder(self, type_: str, text: str, call: Any) -> str: ...

    def walk_json(self, node: Any, path: str, call: Any) -> Any: ...


# HL7 v2 data types: which components are PHI (1-based), and of which type.
_COMPONENTS: dict[str, dict[int, str]] = {
    "XPN": {1: "NAME", 2: "NAME", 3: "NAME", 4: "NAME"},  # family^given^middle^suffix^prefix
    "XAD": {1: "ADDRESS", 2: "ADDRESS", 3: "ADDRESS", 5: "ZIP", 9: "ADDRESS"},
    "XTN": {1: "PHONE", 4: "EMAIL", 6: "PHONE", 7: "PHONE", 12: "PHONE"},
    "XCN": {1: "ID", 2: "NAME", 3: "NAME", 4: "NAME"},  # id^family^given^middle
}
_NAME, _ADDR, _PHONE, _PROVIDER = ("XPN", ""), ("XAD", ""), ("XTN", ""), ("XCN", "")
_TS = ("TS", "DATE")  # a time stamp: its first component
# (segment, field) → (data type, PHI type): HL7 v2.5 field definitions.
_FIELDS: dict[str, dict[int, tuple[str, str]]] = {
    "MSH": {7: _TS},
    "EVN": {2: _TS, 6: _TS},
    "PID": {2: ("CX", "MRN"), 3: ("CX", "MRN"), 4: ("CX", "MRN"), 5: _NAME, 6: _NAME, 7: _TS,
            9: _NAME, 11: _ADDR, 12: ("ST", "ADDRESS"), 13: _PHONE, 14: _PHONE,
            18: ("CX", "ACCOUNT"), 19: ("ST", "SSN"), 20: ("CX", "LICENSE"), 21: ("CX", "MRN"),
            23: ("ST", "ADDRESS"), 29: _TS},
    "PD1": {4: _PROVIDER},
    "NK1": {2: _NAME, 4: _ADDR, 5: _PHONE, 6: _PHONE, 8: _TS, 9: _TS, 16: _TS, 30: _NAME,
            31: _PHONE, 32: _ADDR, 33: ("CX", "MRN"), 37: ("ST", "SSN")},
    "PV1": {7: _PROVIDER, 8: _PROVIDER, 9: _PROVIDER, 17: _PROVIDER, 19: ("CX", "ID"),
            44: _TS, 45: _TS},
    "PV2": {8: _TS, 9: _TS},
    "IN1": {16: _NAME, 18: _TS, 19: _ADDR, 36: ("ST", "HEALTHPLAN"), 49: ("CX", "HEALTHPLAN")},
    "IN2": {1: ("CX", "HEALTHPLAN"), 2: ("ST", "SSN"), 8: ("ST", "HEALTHPLAN"),
            6: ("ST", "HEALTHPLAN")},
    "GT1": {2: ("CX", "ID"), 3: _NAME, 5: _ADDR, 6: _PHONE, 7: _PHONE, 8: _TS, 12: ("ST", "SSN")},
    "MRG": {1: ("CX", "MRN"), 2: ("CX", "MRN"), 3: ("CX", "ACCOUNT"), 4: ("CX", "MRN"),
            7: _NAME},
    "OBR": {7: _TS, 8: _TS, 14: _TS, 16: _PROVIDER, 22: _TS, 28: _PROVIDER},
    "ORC": {9: _TS, 10: _PROVIDER, 11: _PROVIDER, 12: _PROVIDER, 15: _TS},
    "OBX": {14: _TS, 16: _PROVIDER, 19: _TS},
    "RXA": {3: _TS, 4: _TS, 10: _PROVIDER},
    "DG1": {5: _TS, 16: _PROVIDER},
    "PR1": {5: _TS, 11: _PROVIDER},
    "AL1": {6: _TS},
    "SCH": {11: _TS},
    "TXA": {4: _TS, 5: _PROVIDER, 9: _PROVIDER, 22: _PROVIDER},
}  # fmt: skip
# Fields kept as they are: MSH is the message's plumbing (applications, ids, versions) except
# its time; IN1 2–15 describe the insurer and the group plan, not the person.
_KEEP_SEGMENTS = frozenset(("MSH",))
_KEEP_FIELDS = frozenset(("IN1", n) for n in range(2, 16)) | frozenset(
    # Coded elements (tables, LOINC, locations by unit/room/bed): codes, never a person.
    [("EVN", 1), ("PID", 8), ("PID", 10), ("PID", 15), ("PID", 16), ("PID", 17), ("PID", 22),
     ("PID", 24), ("NK1", 3), ("NK1", 7), ("PV1", 2), ("PV1", 3), ("PV1", 4), ("PV1", 10),
     ("PV1", 18), ("OBX", 2), ("OBX", 3), ("OBX", 6), ("OBX", 7), ("OBX", 8), ("OBX", 11),
     ("OBR", 4), ("ORC", 1), ("ORC", 5), ("DG1", 3), ("AL1", 2), ("AL1", 3)]
)  # fmt: skip
_SEGMENT = re.compile(r"[A-Z][A-Z0-9]{2}\|")
_HL7 = re.compile(r"(?:^|[\r\n])(?:" + "|".join(sorted(_FIELDS)) + r"|NTE|ZPI)\|")
_LINES = re.compile(r"(\r\n|\r|\n)")

_QUERY_WHOLE = re.compile(r"[^\s=&?#]+=[^\s&]*(?:&[^\s=&]+=[^\s&]*)+")
_QUERY = re.compile(r"\?(?P<q>[^\s#\"'<>?]*=[^\s#\"'<>?]*)")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
# A form body once its percent escapes are decoded: `name=Jane Doe&phone=(617) 555-0142`.
_DECODED_PAIRS = re.compile(r"[^\s=&?#]+=[^=&]*(?:&[^\s=&?#]+=[^=&]*)+")
_PERCENT_TOKEN = re.compile(r"(?<![^\s\"'<>])[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")
_B64_WHOLE = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{20,}={0,2}(?![A-Za-z0-9+/=_-])")
# `_B64`'s run characters as "b", every other byte (of UTF-8: other characters too) as a blank:
# a blob needs twenty "b" in a row, found by a substring search. `_B64` itself has no prefix
# `re` can skip to, so it tries every position of every string of twenty characters or more.
_B64_BYTES = byte_classes({"b": string.ascii_letters + string.digits + "+/_-"})
_B64_RUN = b"b" * 20
_URL_SAFE = "[]:-._~"
_URL_DELIMITERS = "[]:-._~/?#@!$&'()*+,;=%"
_CSV_DELIMITERS = (",", "\t", ";")
_HEADER_CELL = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]{0,40}")
_MIN_CSV_COLUMNS = 3
_MIN_CSV_COLUMNS_ONE_ROW = 4
_PRINTABLE = 0.95
_NUMBER_CELL = re.compile(r"[+(]?\d[\d ()./-]*(?:[ ][A-Z]{2})?")
_DECIMAL = re.compile(r"-?\d+\.\d+")
_PHONE_DIGITS = 7


def whole(text: str, path: str, host: Host, call: Any) -> str | None:
    """The redacted string when all of it is one structure, else None (scan it as text)."""
    stripped = text.strip()
    first, last = stripped[:1], stripped[-1:]
    if (first, last) in (("{", "}"), ("[", "]")):
        parsed = _json(stripped)
        if parsed is not None:
            result = host.walk_json(parsed, path, call)
            return text if result == parsed else json.dumps(result, ensure_ascii=False)
    if len(stripped) >= 16 and _B64_WHOLE.fullmatch(stripped):
        found = _blob(stripped, path, host, call)
        if found is not None:
            return found
    if "|" in text and _HL7.search(text):
        return _hl7(text, path, host, call)
    if "," in text or "\t" in text or ";" in text:
        table = _csv(text)
        if table is not None:
            return _redact_csv(text, table[0], table[1], path, host, call)
    if "=" in text and "&" in text and _QUERY_WHOLE.fullmatch(stripped):
        return _query(text, path, host, call)
    return None


def embedded(text: str, path: str, host: Host, call: Any) -> str:
    """Text with its percent-encoded runs, URL query strings and base64 blobs redacted."""
    if "%" in text and _PERCENT.search(text):
        text = _PERCENT_TOKEN.sub(lambda m: _percent(m.group(), path, host, call), text)
    if "?" in text and "=" in text:
        text = _QUERY.sub(lambda m: "?" + _query(m["q"], path, host, call), text)
    if len(text) >= 20 and _B64_RUN in classes_of(text, _B64_BYTES):
        text = _B64.sub(lambda m: _blob(m.group(), path, host, call) or m.group(), text)
    return text


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _blob(blob: str, path: str, host: Host, call: Any) -> str | None:
    """A base64 blob's placeholder when it decodes to text holding PHI; None otherwise."""
    decoded = _decode64(blob)
    if decoded is None:
        return None
    redacted = host.scan_text(decoded, path, call)
    if redacted == decoded:
        return None
    first = PLACEHOLDER.search(redacted)
    type_ = first.group()[1:].split("-", 1)[0] if first is not None else "ID"
    return host.placeholder(type_, blob, call)


def _decode64(blob: str) -> str | None:
    body = blob.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    try:
        raw = (
            base64.urlsafe_b64decode(padded)
            if "-" in body or "_" in body
            else base64.b64decode(padded, validate=True)
        )
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if len(text) < 6 or not any(c.isalpha() for c in text):
        return None
    printable = sum(c.isprintable() or c in "\r\n\t" for c in text)
    return text if printable >= _PRINTABLE * len(text) else None


def _percent(token: str, path: str, host: Host, call: Any) -> str:
    decoded = urllib.parse.unquote(token)
    if decoded == token:
        return token
    if "&" in decoded and _DECODED_PAIRS.fullmatch(decoded):
        redacted = _pairs(decoded, path, host, call)  # each value judged by its key
    else:
        redacted = host.scan_text(decoded, path, call)
    if redacted == decoded:
        return token
    # Encoded delimiters (`%3D`, `%26`, `%2F`) mean the whole token is one encoded value: encode
    # it the same way again; otherwise it is a URL with some escapes: keep its delimiters.
    strict = any(code in token.upper() for code in ("%3D", "%26", "%2F", "%3F", "%3A"))
    return urllib.parse.quote(redacted, safe=_URL_SAFE if strict else _URL_DELIMITERS)


def _pairs(decoded: str, path: str, host: Host, call: Any) -> str:
    """`key=value&…` already decoded: each pair through the walker, put back as it was."""
    pairs = decoded.split("&")
    for i, pair in enumerate(pairs):
        key, _, value = pair.partition("=")
        if value:
            new_key, new_value = host.scan_pair(key, value, path, call)
            pairs[i] = f"{new_key}={new_value}"
    return "&".join(pairs)


def _query(query: str, path: str, host: Host, call: Any) -> str:
    pairs = query.split("&")
    for i, pair in enumerate(pairs):
        key, sep, value = pair.partition("=")
        if not sep or not value:
            continue
        plain_key, plain_value = urllib.parse.unquote_plus(key), urllib.parse.unquote_plus(value)
        new_key, new_value = host.scan_pair(plain_key, plain_value, path, call)
        if (new_key, new_value) != (plain_key, plain_value):
            pairs[i] = (
                urllib.parse.quote_plus(new_key, safe=_URL_SAFE)
                + "="
                + urllib.parse.quote_plus(new_value, safe=_URL_SAFE)
            )
    return "&".join(pairs)


def _hl7(text: str, path: str, host: Host, call: Any) -> str:
    out: list[str] = []
    for part in _LINES.split(text):
        if not part or part in ("\r", "\n", "\r\n"):
            out.append(part)
        elif _SEGMENT.match(part):
            out.append(_segment(part, path, host, call))
        else:
            out.append(host.scan_text(part, path, call))
    return "".join(out)


def _segment(line: str, path: str, host: Host, call: Any) -> str:
    fields = line.split("|")
    name = fields[0]
    table = _FIELDS.get(name)
    offset = 1 if name == "MSH" else 0  # MSH-1 is the field separator itself
    for i in range(1, len(fields)):
        field = fields[i]
        if not field:
            continue
        number = i + offset
        where = f"{path}.{name}-{number}"
        spec = table.get(number) if table is not None else None
        if spec is not None:
            fields[i] = "~".join(_typed(rep, spec, where, host, call) for rep in field.split("~"))
        elif name not in _KEEP_SEGMENTS and (name, number) not in _KEEP_FIELDS:
            fields[i] = host.scan_text(field, where, call)
    return "|".join(fields)


def _typed(rep: str, spec: tuple[str, str], where: str, host: Host, call: Any) -> str:
    datatype, type_ = spec
    if not rep:
        return rep
    if datatype == "ST":
        return host.replace_as(rep, where, type_, call)
    components = rep.split("^")
    types = {1: type_} if datatype in ("CX", "TS") else _COMPONENTS[datatype]
    for index, component in enumerate(components, 1):
        wanted = types.get(index)
        if component and wanted is not None:
            components[index - 1] = host.replace_as(component, where, wanted, call)
    return "^".join(components)


def _csv(text: str) -> tuple[list[list[str]], str] | None:
    """Rows and delimiter when the text reads as CSV: one row of four cells or more, or rows
    of one width of three or more; prose (a space after the delimiter) is not CSV."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    unquoted = '"' not in text
    for delimiter in _CSV_DELIMITERS:
        if delimiter not in lines[0]:
            continue
        if unquoted and delimiter != "\t" and delimiter + " " in text:
            # Without a quote a row is its line split at the delimiter, so a cell starts with
            # the blank: prose, refused below whatever the parse gives (most text with commas).
            continue
        try:
            rows = list(csv.reader(lines, delimiter=delimiter, strict=True))
        except csv.Error:
            continue
        width = len(rows[0])
        minimum = _MIN_CSV_COLUMNS if len(rows) > 1 else _MIN_CSV_COLUMNS_ONE_ROW
        if width < minimum or any(len(row) != width for row in rows):
            continue
        if delimiter != "\t" and any(c[:1] == " " for row in rows for c in row):
            continue
        return rows, delimiter
    return None


def _redact_csv(text: str, rows: list[list[str]], delimiter: str, path: str, host: Host,
                call: Any) -> str:  # fmt: skip
    header: list[str] | None = None
    if len(rows) > 1 and all(_HEADER_CELL.fullmatch(c) for c in rows[0]):
        header = rows[0]
    out: list[list[str]] = [rows[0]] if header is not None else []
    for r, row in enumerate(rows[1:] if header is not None else rows):
        cells: list[str] = []
        for c, cell in enumerate(row):
            where = f"{path}[{r}][{c}]"
            if not cell:
                cells.append(cell)
            elif header is not None:
                cells.append(host.scan_column(cell, where, header[c], call))
            elif _NUMBER_CELL.fullmatch(cell) and not _DECIMAL.fullmatch(cell):
                # Fail closed: no header says what this number is, and a bare number of four
                # digits or more in a row of people is a postal code, a phone or an id.
                digits = sum(ch.isdigit() for ch in cell)
                type_ = "PHONE" if digits >= _PHONE_DIGITS else "ID"
                cells.append(host.replace_as(cell, where, type_, call) if digits >= 4 else cell)
            else:
                cells.append(host.scan_text(cell, where, call))
        out.append(cells)
    if out == rows:
        return text
    buffer = io.StringIO()
    newline = "\r\n" if "\r\n" in text else "\n"
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(out)
    result = buffer.getvalue()
    return result if text.endswith(("\n", "\r")) else result[: -len(newline)]
