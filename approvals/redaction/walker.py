"""Key-aware JSON walking: the `Redactor` intake calls on one whole document. Pure.

Owns the order of decisions for each value: verbatim keys, too-long strings, then the key's
class (PHI whatever the value, weak name, age, ZIP, kept operational field), then free-text
scanning. Result sets (`{"columns": [...], "rows": [[...]]}`) give each cell its column's key;
keys are scanned like text. All per-document memory lives in `_Call` and dies with the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from approvals.redaction import structured
from approvals.redaction.detectors import ValueDetectors
from approvals.redaction.identifiers import compact_date
from approvals.redaction.keys import KEEP, SCAN, KeyClass, KeyKind, classify, normalise
from approvals.redaction.names import NameScanner, committed_faker_words, name_tables
from approvals.redaction.patterns import STREET_ABBREVIATIONS
from approvals.redaction.placeholders import ONLY_PLACEHOLDERS, PLACEHOLDER, zip3
from approvals.redaction.placeholders import normalise as norm_value
from approvals.redaction.shapes import ShapeScanner
from approvals.redaction.text import DocumentState, TextRedactor
from approvals.redaction.types import Finding, Redacted, RedactionConfig, RedactionError
from approvals.redaction.validators import card_ok
from approvals.redaction.vocabulary import QUANTITY_WORDS as _QUANTITY

_TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,31}")
_COLUMN_KEYS = ("columns", "fields", "headers", "header", "column_names")
_COLUMN_KEY_SET = frozenset(_COLUMN_KEYS)
_ROW_KEYS = ("rows", "data", "values", "records")
# Parents whose unnamed children are parts of the same value: {"dob": {"month": 3, "day": 4}}.
_INHERITED = frozenset(("DATE", "ADDRESS", "ZIP"))
_KEY_CACHE_SIZE = 4096
_RECORD = KeyClass(KeyKind.PHI, "MRN")
_IDENTIFIER = KeyClass(KeyKind.PHI, "ID")
_TELECOM = {
    "phone": KeyClass(KeyKind.PHI, "PHONE"), "fax": KeyClass(KeyKind.PHI, "FAX"),
    "sms": KeyClass(KeyKind.PHI, "PHONE"), "pager": KeyClass(KeyKind.PHI, "PHONE"),
    "email": KeyClass(KeyKind.PHI, "EMAIL"), "url": KeyClass(KeyKind.PHI, "URL"),
}  # fmt: skip
_VALUE_KINDS = frozenset((KeyKind.PHI, KeyKind.ZIP, KeyKind.AGE, KeyKind.WEAK_NAME))
# A value under a bare `name` that reads as a person's: one word of letters (`Cinzia`), or two
# to five words of letters (with `'`, `.`, `-` inside, a comma after the first) written with a
# capital somewhere (`Eros Beneventi`, `van der Kruk`, `SMITH, JOHN`); an ops name is one
# hyphenated or lower-case phrase (`nightly-etl`, `nightly etl job`) and stays.
_ONE_WORD_NAME = re.compile(r"[^\W\d_]{1,80}")
_NAME_WORDS = re.compile(
    r"[^\W\d_]+(?:['’.-][^\W\d_]*)*(?:,?[ ]+[^\W\d_]+(?:['’.-][^\W\d_]*)*){1,4}\.?"
)


def _person_name(text: str) -> bool:
    if _ONE_WORD_NAME.fullmatch(text):
        return True
    return len(text) <= 80 and text != text.lower() and _NAME_WORDS.fullmatch(text) is not None


# Strings inside strings (JSON in a string, base64 of a query string...) are taken apart this
# many levels deep; deeper, the rest is scanned as text. Nested JSON starts this close to the
# depth limit, so the whole stack stays bounded.
_MAX_NESTING = 3
_NESTED_DEPTH = 16
_PERSON_RESOURCES = frozenset(("Patient", "Person", "RelatedPerson"))
_RECORD_IDS = frozenset(("id", "uuid", "guid"))


@dataclass(slots=True)
class _Call:
    state: DocumentState = field(default_factory=DocumentState)
    findings: dict[tuple[str, str, str], int] = field(default_factory=dict)
    keys: dict[str, tuple[str, KeyClass, list[tuple[str, str]]]] = field(default_factory=dict)
    texts: dict[str, tuple[str, list[tuple[str, str]]]] = field(default_factory=dict)
    nesting: int = 0
    recorded: int = 0  # calls of `found` so far: whether a step found anything

    def found(self, path: str, type_: str, detector: str, count: int = 1) -> None:
        key = (path, type_, detector)
        self.findings[key] = self.findings.get(key, 0) + count
        self.recorded += 1


def _street_suffixes() -> frozenset[str]:
    return committed_faker_words()["street_suffixes"] | frozenset(STREET_ABBREVIATIONS)


def _compile_custom(config: RedactionConfig) -> tuple[tuple[str, re.Pattern[str]], ...]:
    compiled = []
    for index, (type_, source) in enumerate(config.custom_patterns):
        if not _TYPE_NAME.fullmatch(type_):
            raise RedactionError(f"custom_patterns[{index}]: type must match [A-Z][A-Z0-9_]*")
        try:
            compiled.append((type_, re.compile(source)))
        except re.error as exc:
            raise RedactionError(f"custom_patterns[{index}]: invalid regex ({exc.msg})") from None
    return tuple(compiled)


def _system_class(node: dict[Any, Any]) -> KeyClass | None:
    """The class of a FHIR ContactPoint's or Identifier's `value`, from its `system`."""
    system, value = node.get("system"), node.get("value")
    if not isinstance(system, str) or not isinstance(value, str) or "unit" in node:
        return None
    if system in _TELECOM:
        return _TELECOM[system]
    return _IDENTIFIER if ":" in system and "code" not in node else None  # a URI or an OID


class Redactor:
    """Build once (compiles every table), then call `redact` any number of times, concurrently."""

    __slots__ = ("_config", "_extra_keys", "_keep_keys", "_key_cache", "_text")

    def __init__(self, config: RedactionConfig | None = None) -> None:
        self._config = config or RedactionConfig()
        detectors = ValueDetectors(_street_suffixes(), _compile_custom(self._config))
        tables = name_tables()
        self._text = TextRedactor(detectors, NameScanner(tables), ShapeScanner(tables))
        self._extra_keys = frozenset(normalise(k)[1] for k in self._config.extra_keys)
        self._keep_keys = frozenset(self._config.keep_keys) | frozenset(
            normalise(k)[1] for k in self._config.keep_keys
        )
        # Keys in which nothing was found (they reach the output verbatim, so hold no PHI) →
        # their class and whether they are kept verbatim: documents repeat their keys, and
        # classifying one costs more than redacting most values. Bounded; safe to share.
        self._key_cache: dict[str, tuple[KeyClass, bool]] = {}

    def redact(self, document: Any) -> Redacted:
        """Redact a JSON-shaped value. Raises RedactionError (path and reason, never a value)."""
        call = _Call()
        value = self._walk(document, "$", SCAN, 0, call)
        findings = tuple(Finding(p, t, d, n) for (p, t, d), n in call.findings.items())
        return Redacted(value=value, findings=findings)

    def _walk(self, node: Any, path: str, cls: KeyClass, depth: int, call: _Call) -> Any:
        if depth > self._config.max_depth:
            raise RedactionError(f"{path}: nested deeper than {self._config.max_depth} levels")
        if isinstance(node, str):
            return self._string(node, path, cls, call)
        if isinstance(node, dict):
            return self._dict(node, path, cls, depth, call)
        if isinstance(node, list):
            return [self._walk(v, f"{path}[{i}]", cls, depth + 1, call) for i, v in enumerate(node)]
        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, int | float):
            return self._number(node, path, cls, call)
        raise RedactionError(f"{path}: unsupported type {type(node).__name__}")

    def _key(self, key: str, path: str, call: _Call) -> tuple[str, KeyClass]:
        clean = self._key_cache.get(key)
        if clean is not None:
            return key, clean[0]
        known = call.keys.get(key)
        if known is None:
            if len(key) > self._config.max_string_length:
                raise RedactionError(f"{path}: key longer than {self._config.max_string_length}")
            new_key, hits = self._text.redact(key, call.state)
            # Classify what remains visible, so a key reads the same before and after redaction.
            visible = PLACEHOLDER.sub(" ", new_key) if "[" in new_key else key
            known = (new_key, classify(visible, self._extra_keys), hits)
            call.keys[key] = known
            if not hits and new_key == key:
                if len(self._key_cache) >= _KEY_CACHE_SIZE:
                    self._key_cache.clear()
                self._key_cache[key] = (known[1], self._kept(key))
        new_key, cls, hits = known
        for type_, detector in hits:
            call.found(f"{path}.{new_key}", type_, f"key:{detector}")
        return new_key, cls

    def _dict(self, node: dict[Any, Any], path: str, parent: KeyClass, depth: int,
              call: _Call) -> dict[str, Any]:  # fmt: skip
        out: dict[str, Any] = {}
        row_key, column_classes = self._result_set(node, path, call)
        person = node.get("resourceType") in _PERSON_RESOURCES or parent.kind is KeyKind.PHI
        telecom = _system_class(node) if "system" in node else None
        for raw_key, value in node.items():
            key = raw_key if isinstance(raw_key, str) else str(raw_key)
            new_key, cls = self._key(key, path, call)
            if person and cls is KEEP and normalise(key)[1] in _RECORD_IDS:
                cls = _RECORD  # a FHIR Patient's id, `{"patient": {"id": ...}}`: the person
            elif key == "value" and telecom is not None and cls.kind is KeyKind.SCAN:
                cls = telecom  # FHIR ContactPoint / Identifier: `{"system": "phone", "value": …}`
            while new_key in out:  # two PHI keys became one placeholder: keep both entries
                new_key += "~"
            child = f"{path}.{new_key}"
            clean = self._key_cache.get(key)
            if clean[1] if clean is not None else self._kept(key):
                out[new_key] = value
            elif key == row_key and column_classes is not None:
                out[new_key] = self._rows(value, child, column_classes, depth + 1, call)
            else:
                if (
                    cls.kind is KeyKind.SCAN
                    and parent.kind is KeyKind.PHI
                    and (parent.type in _INHERITED)
                ):
                    cls = parent
                if type(value) is str and depth < self._config.max_depth:  # `_walk`'s first case
                    out[new_key] = self._string(value, child, cls, call)
                else:
                    out[new_key] = self._walk(value, child, cls, depth + 1, call)
        return out

    def _kept(self, key: str) -> bool:
        return key in self._keep_keys or normalise(key)[1] in self._keep_keys

    def _result_set(
        self, node: dict[Any, Any], path: str, call: _Call
    ) -> tuple[str | None, list[KeyClass] | None]:
        if _COLUMN_KEY_SET.isdisjoint(node):  # most dicts: one C call instead of two scans
            return None, None
        columns = next((node[k] for k in _COLUMN_KEYS if isinstance(node.get(k), list)), None)
        row_key = next((k for k in _ROW_KEYS if isinstance(node.get(k), list)), None)
        if columns is None or row_key is None:
            return None, None
        classes = []
        for column in columns:
            if isinstance(column, dict):
                column = column.get("name", column.get("column", column.get("field", "")))
            classes.append(self._key(str(column), path, call)[1] if column else SCAN)
        return row_key, classes

    def _rows(self, rows: list[Any], path: str, classes: list[KeyClass], depth: int,
              call: _Call) -> list[Any]:  # fmt: skip
        out: list[Any] = []
        for i, row in enumerate(rows):
            if isinstance(row, list):
                if depth + 1 > self._config.max_depth:
                    raise RedactionError(f"{path}[{i}]: nested deeper than the limit")
                out.append([
                    self._walk(cell, f"{path}[{i}][{j}]",
                               classes[j] if j < len(classes) else SCAN, depth + 2, call)
                    for j, cell in enumerate(row)
                ])  # fmt: skip
            else:
                out.append(self._walk(row, f"{path}[{i}]", SCAN, depth + 1, call))
        return out

    def _string(self, text: str, path: str, cls: KeyClass, call: _Call) -> str:
        if len(text) > self._config.max_string_length:
            # Fail closed: too long to scan within budget, so nothing of it passes.
            call.found(path, "UNSCANNED", "length")
            return call.state.placeholders.get("UNSCANNED", "", norm=path)
        kind = cls.kind
        if kind is KeyKind.KEEP or not text.strip():
            return text
        if (
            kind in _VALUE_KINDS
            and ("[" in text or "90+" in text)  # what ONLY_PLACEHOLDERS needs at least once
            and ONLY_PLACEHOLDERS.fullmatch(text)
        ):
            return text
        if kind is KeyKind.PHI or (kind is KeyKind.WEAK_NAME and _person_name(text)):
            return self._replace(text, path, cls.type, call)
        if kind is KeyKind.ZIP:
            call.found(path, "ZIP", "key")
            return call.state.placeholders.get("ZIP", text, keep=zip3(text))
        if kind is KeyKind.AGE and text.strip().isdigit():
            return str(self._age(int(text), text, path, call))
        cached = call.texts.get(text)
        if cached is None:
            scan, recorded = text, call.recorded
            if call.nesting < _MAX_NESTING:
                call.nesting += 1
                try:
                    done = structured.whole(text, path, self, call)
                    scan = text if done is not None else structured.embedded(text, path, self, call)
                finally:
                    call.nesting -= 1
                if done is not None:
                    return done
            cached = self._text.redact(scan, call.state)
            # Parts taken apart and put back unchanged, with nothing found in them (a URL's
            # query of `b=1`), leave the text as it was: the next copy of it reads the same, so
            # it is cached like text without parts (100 KB of URLs with a query string scanned
            # each URL's decoded copy in full: ~200 ms).
            if scan is not text and (scan != text or call.recorded != recorded):
                return cached[0] if not cached[1] else self._record(cached, path, call)
            call.texts[text] = cached
        new_text, hits = cached
        for type_, detector in hits:
            call.found(path, type_, detector)
        return new_text

    @staticmethod
    def _record(cached: tuple[str, list[tuple[str, str]]], path: str, call: _Call) -> str:
        for type_, detector in cached[1]:
            call.found(path, type_, detector)
        return cached[0]

    def _replace(self, text: str, path: str, type_: str, call: _Call) -> str:
        call.found(path, type_, "key")
        if type_ == "DATE":
            compact = compact_date(text[:8]) if text[:8].isdigit() else None  # HL7: YYYYMMDD…
            norm, year = compact or self._text.detectors.date_of(text)
            return call.state.placeholders.get("DATE", text, norm, year)
        if type_ == "ZIP":
            return call.state.placeholders.get("ZIP", text, keep=zip3(text))
        return call.state.placeholders.get(type_, text, norm_value(type_, text))

    # `structured.Host`: how the parts of a structured string are redacted.

    def scan_text(self, text: str, path: str, call: _Call) -> str:
        return self._string(text, path, SCAN, call)

    def scan_pair(self, key: str, value: str, path: str, call: _Call) -> tuple[str, str]:
        new_key, cls = self._key(key, path, call)
        return new_key, self._string(value, f"{path}.{new_key}", cls, call)

    def scan_column(self, value: str, path: str, column: str, call: _Call) -> str:
        return self._string(value, path, self._key(column, path, call)[1], call)

    def replace_as(self, text: str, path: str, type_: str, call: _Call) -> str:
        if "[" in text and ONLY_PLACEHOLDERS.fullmatch(text):
            return text
        return self._replace(text, path, type_, call)

    def placeholder(self, type_: str, text: str, call: _Call) -> str:
        return call.state.placeholders.get(type_, text)

    def walk_json(self, node: Any, path: str, call: _Call) -> Any:
        return self._walk(node, path, SCAN, max(0, self._config.max_depth - _NESTED_DEPTH), call)

    def _age(self, age: float, original: Any, path: str, call: _Call) -> Any:
        if age > 89:
            call.found(path, "AGE", "key")
            return "90+"
        return original

    # `int | float`, not `float`: the value is returned as it came, and a compiler that trusts
    # the annotation (mypyc) would turn `50` into `50.0`.
    def _number(self, number: int | float, path: str, cls: KeyClass, call: _Call) -> Any:
        kind = cls.kind
        if kind is KeyKind.AGE:
            return self._age(number, number, path, call)
        if kind is KeyKind.ZIP:
            call.found(path, "ZIP", "key")
            text = str(number).zfill(5)
            return call.state.placeholders.get("ZIP", text, keep=zip3(text))
        if kind is KeyKind.PHI:
            return self._replace(str(number), path, cls.type, call)
        if isinstance(number, int) and number >= 10**12 and card_ok(str(number)):
            call.found(path, "ACCOUNT", "luhn")
            return call.state.placeholders.get("ACCOUNT", str(number))
        if kind is KeyKind.SCAN and isinstance(number, int) and abs(number) >= 100_000:
            key = path.rsplit(".", 1)[-1]
            if _QUANTITY.isdisjoint(normalise(key)[0]):
                # Fail closed: six digits or more under a key that neither counts nor measures
                # (`value`, `c2`, `data`) are an identifier until a key says otherwise.
                call.found(path, "ID", "identifier-shape")
                return call.state.placeholders.get("ID", str(number))
        return number
