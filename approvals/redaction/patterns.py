"""Regex sources for the value detectors, combined into one alternation (one pass per string).

Order matters: at one position the first alternative that matches wins, so our own placeholders
come first (idempotence), then the most specific shapes. Pure constants; compiled in detectors.py.
"""

from __future__ import annotations

import re

from approvals.redaction.search import Gate, byte_classes, classes_of


def _w(words: str) -> tuple[str, ...]:
    return tuple(words.split())


_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
MONTH_NUMBER = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
# Month names must be Title or UPPER case: "may" and "mar" are everyday lower-case words.
MONTH = r"(?:(?=[A-Z])(?i:" + _MONTHS + r"))"
US_STATES = frozenset(
    _w(
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
        "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP FM MH "
        "PW AA AE AP"
    )
)
STREET_ABBREVIATIONS = _w(
    "St Ave Rd Blvd Ln Dr Ct Pl Pkwy Hwy Ter Cir Sq Trl Way Expy Fwy Aly Cres Hts Pt"
)

# Context word → type for "<context> <id>" in free text ("MRN 00123456", "NPI: 1234567893").
CONTEXT_TYPES: dict[str, str] = {
    **dict.fromkeys(("mrn", "medical record", "chart", "patient id", "pt id", "patient"), "MRN"),
    **dict.fromkeys(
        ("member", "subscriber", "policy", "beneficiary", "medicare", "medicaid", "claim",
         "insurance id", "group"),
        "HEALTHPLAN",
    ),
    **dict.fromkeys(("account", "acct", "card", "iban", "routing"), "ACCOUNT"),
    **dict.fromkeys(
        ("license", "licence", "lic", "dea", "npi", "certificate", "driver's license"),
        "LICENSE",
    ),
    **dict.fromkeys(("vin", "plate", "license plate"), "VEHICLE"),
    **dict.fromkeys(("serial", "s/n", "sn", "imei", "udi", "device id", "device serial", "mac"),
                    "DEVICE"),
    **dict.fromkeys(("ssn", "social security"), "SSN"),
    **dict.fromkeys(
        ("fingerprint", "biometric", "retina", "retinal scan", "iris", "voiceprint", "faceprint"),
        "BIOMETRIC",
    ),
    **dict.fromkeys(("phone", "tel", "cell", "mobile", "call", "pager"), "PHONE"),
    "fax": "FAX",
    **dict.fromkeys(("zip", "zip code", "postal code", "zipcode"), "ZIP"),
    **dict.fromkeys(("photo", "picture", "headshot", "portrait", "mugshot", "selfie"), "PHOTO"),
    **dict.fromkeys(
        ("accession", "passport", "rx", "prescription", "encounter", "visit"), "ID"
    ),
}  # fmt: skip
_CONTEXT = "|".join(
    sorted((w.replace(" ", r"\s+").replace(".", r"\.") for w in CONTEXT_TYPES), key=len,
           reverse=True)
)  # fmt: skip

# Between a `key=value` pair's key and its value (detectors.py reads it on its own too).
KV_OPERATOR = r"[ \t]*+(?:==|!=|=|:)[ \t]*+|[ \t]++(?i:I?LIKE|IN)[ \t]++\(?[ \t]*+"

PARTS: tuple[tuple[str, str], ...] = (
    ("ph", r"\[[A-Z][A-Z0-9_]*-\d+(?::[0-9A-Za-z+]{1,8})?\]"),
    (
        "img",
        r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+|(?:/9j/|iVBORw0KGgo)[A-Za-z0-9+/=]{16,}",
    ),
    ("email", r"[A-Za-z0-9._%+-]{1,64}+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ("url", r"(?i:(?:https?|ftp)://|www\.)[^\s\"'<>\]\[)(]{1,300}"),
    (
        "mac",
        r"[0-9A-Fa-f](?<![\w:-].)[0-9A-Fa-f](?P<msep>[:-])[0-9A-Fa-f]{2}(?:(?P=msep)[0-9A-Fa-f]{2}){4}"
        r"(?![\w:-])",
    ),
    (
        "iso",
        r"(?P<iy>(?:18|19|20)(?<![\d.]..)\d\d)(?P<isep>[-/])(?P<im>[01]?\d)(?P=isep)"
        r"(?P<id>[0-3]?\d)(?:[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?"
        r"(?:Z|[+-][0-2]\d:?[0-5]\d)?)?(?![\d/])",
    ),
    (
        "ssn",
        r"\d(?<![\d-]\d)\d{2}(?P<ssep>[- ])\d{2}(?P=ssep)\d{4}(?![\d-])"
        # nine digits alone, no cue: not inside a longer run, a word, a decimal or a range
        r"|\d(?<![\w.,-]\d)\d{8}(?![\w-]|[.,]\d)",
    ),
    (
        "num",
        r"(?P<na>\d(?<![\d/.:-]\d)(?:(?<=[0-3])\d)?)(?P<nsep>[/.-])(?P<nb>[0-3]?\d)(?P=nsep)"
        r"(?P<ny>(?:18|19|20)\d\d|\d\d)(?![\d/:-]|\.\d)",
    ),
    (
        "mdy",
        r"\b(?P<mm>" + MONTH + r")\.?\s+(?P<md>[0-3]?\d)(?:st|nd|rd|th)?\b"
        r"(?:,?\s+(?P<my>(?:18|19|20)\d\d)\b)?",
    ),
    (
        "dmy",
        r"\b(?P<dd>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dm>" + MONTH + r")\b\.?,?"
        r"\s+(?P<dy>(?:18|19|20)\d\d)\b",
    ),
    ("mon", r"\b(?P<om>" + MONTH + r")\b\.?,?\s+(?P<oy>(?:18|19|20)\d\d)\b"),
    # Blanks before and after an optional sign are read possessively (`*+`, `++`) here and in
    # `kv` and `ctx`: what follows never starts with a blank, so the match is the same, but a
    # greedy `\s*-?\s*` tries every split of a long run of blanks (quadratic in its length).
    ("age", r"(?i:\baged?\s*+:?\s*+(?P<aa>\d{2,3})\b(?!\+))"),
    ("agen", r"(?P<ab>\d(?<!\w\d)\d{1,2})(?!\+)(?i:\s*+-?\s*+(?:years?|yrs?|y/?o)\b)"),
    ("ipv4", r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?:/\d{1,2})?(?!\w|\.\d)"),
    (
        "ipv6",
        r"[0-9A-Fa-f:](?<![\w:.].)(?<=(?=[0-9A-Fa-f:]*::?[0-9A-Fa-f]*:).)[0-9A-Fa-f:]{1,38}"
        r"(?![\w:])",
    ),
    (
        "kv",
        r"(?<![\w.-])(?P<kvk>[A-Za-z][A-Za-z0-9_.-]{0,40}?)"
        r"(?P<kvop>" + KV_OPERATOR + ")"
        r"(?P<kvv>'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|[^\s,;)(&'\"/?#]{1,64})",
    ),
    (
        "ctx",
        r"(?i:\b(?P<cw>" + _CONTEXT + r")\b(?:[ \t]*+(?:(?:number|num|no|id|hash|template"
        r"|scan|code|on[ \t]+file|ending(?:[ \t]+in)?)\b\.?|\#))?"
        r"(?:[ \t]*+(?:[:#=]|is)[ \t]*+|[ \t]++|-(?=\d))#?[ \t]*+)"
        r"(?P<cv>\+?\(?\d[\d ().-]{5,20}\d|[A-Z0-9]{1,4}[ •][A-Z0-9]{2,5}(?!\w)"
        r"|[A-Za-z0-9][A-Za-z0-9./_-]{2,60})",
    ),
    ("iban", r"[A-Z](?<!\w.)[A-Z]\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b"),
    ("card", r"\d(?<![\d-]\d)(?:[ -]?\d){12,18}(?![\d-])"),
    ("dea", r"[A-Za-z](?<!\w.)[A-Za-z]\d{7}\b"),
    ("vin", r"[A-HJ-NPR-Z0-9](?<!\w.)[A-HJ-NPR-Z0-9]{16}\b"),
    (  # phone numbers starting with a digit or "(": US (NANP) shapes
        "phone",
        r"[1(2-9](?<![\w+].)(?:(?<=1)[ .-]?(?:\([2-9]\d\d\)|[2-9]\d\d)|(?<=\()[2-9]\d\d\)"
        r"|(?<=[2-9])\d\d)[ .-]?[2-9]\d\d[ .-]\d{4}(?!\d)"
        # ten digits alone (eleven with a leading 1), no cue: not inside a word, a longer run,
        # a decimal or a dashed id (a UUID's last group)
        r"|[12-9](?<![\w.+-].)(?:(?<=1)[2-9]\d\d|(?<=[2-9])\d\d)[2-9]\d{6}(?![\w-]|[.,]\d)",
    ),
    (  # starting with "+": +1 US shapes, then international ones
        "phonep",
        r"\+(?<![\w+].)(?:1[ .-]?(?:\([2-9]\d\d\)|[2-9]\d\d)[ .-]?[2-9]\d\d[ .-]\d{4}(?!\d)"
        r"|[2-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?!\d))",
    ),
    ("pobox", r"(?i:\bP\.?\s?O\.?\s+Box\s+\d+)"),
    (
        "csz",
        r"(?P<city>[A-Z](?<!\w.)[a-z]+(?:[ \t][A-Z][a-z]+){0,2}),[ \t]*(?P<st>[A-Z]{2})[ \t]+"
        r"(?P<zip>\d{5}(?:-\d{4})?)\b",
    ),
)


def street_pattern(suffixes: frozenset[str]) -> str:
    """Number + 1–4 capitalised words + a street suffix, then an optional unit and city line."""
    alternation = "|".join(sorted(suffixes, key=len, reverse=True))
    return (
        r"\d(?<!\w\d)\d{0,5}[ \t]+(?:[A-Z][A-Za-z'.-]*[ \t]+){1,4}(?:" + alternation + r")\b\.?"
        r"(?:,?[ \t]+(?:(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor)\b\.?|#)[ \t]*#?[A-Za-z0-9-]+)?"
        r"(?:(?:,[ \t]*|[ \t]*\n[ \t]*)(?P<scity>[A-Z][A-Za-z'.-]*(?:[ \t][A-Z][A-Za-z'.-]*){0,2}),"
        r"[ \t]*(?P<sst>[A-Z]{2})[ \t]+(?P<szip>\d{5}(?:-\d{4})?)\b)?"
    )


# Gates (search.py): necessary conditions for each detector to match, so most detectors skip
# most strings. Word gates hold a detector's leading word as the name scanner splits it.
MONTH_WORDS = frozenset(
    _w(
        "jan january feb february mar march apr april may jun june jul july aug august sep sept "
        "september oct october nov november dec december"
    )
)
CONTEXT_WORDS = frozenset(re.match(r"[a-z]+", w).group() for w in CONTEXT_TYPES)  # type: ignore[union-attr]
_DIGIT = Gate(digit=True)

_HEX = "0123456789abcdefABCDEF"
_VIN_TABLE = byte_classes({"v": "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"})  # `vin`'s class
_MAC_TABLE = byte_classes({"h": _HEX, ":": ":", "-": "-"})
_CSZ_TAIL = re.compile(r",[ \t]*[A-Z]{2}[ \t]+\d{5}")  # led by a literal: `re` skips to commas


def _vin_run(text: str) -> bool:
    """Seventeen VIN characters in a row, without which `vin` cannot match: its first class
    holds every capital and digit, so its scan enters the pattern at each of them."""
    return b"v" * 17 in classes_of(text, _VIN_TABLE)


def _mac_shape(text: str) -> bool:
    """Six hex pairs joined by `:` or by `-`, which `mac` needs (its class: every hex digit)."""
    shape = classes_of(text, _MAC_TABLE)
    return b"hh:hh:hh:hh:hh:hh" in shape or b"hh-hh-hh-hh-hh-hh" in shape


def _csz_tail(text: str) -> bool:
    """`, ST 12345`, which `csz` needs after its town (its class: every capital)."""
    return _CSZ_TAIL.search(text) is not None


GATES: dict[str, Gate] = {
    "ph": Gate(needles=("[",)),
    "img": Gate(needles=("data:image/", "/9j/", "ivborw0kggo")),
    "email": Gate(needles=("@",)),
    "url": Gate(needles=("://", "www.")),
    # MAC: the same separator five times (`(?P=msep)` repeats the first one four times).
    "mac": Gate(counts=((":", 5), ("-", 5)), shape=_mac_shape),
    "iso": _DIGIT,
    "ssn": _DIGIT,
    "num": _DIGIT,
    "mdy": Gate(digit=True, words=MONTH_WORDS),
    "dmy": Gate(digit=True, words=MONTH_WORDS),
    "mon": Gate(digit=True, words=MONTH_WORDS),
    "age": Gate(digit=True, words=frozenset(("age", "aged"))),
    "agen": _DIGIT,
    "ipv4": Gate(digit=True, needles=(".",)),
    # IPv6: its look-ahead needs two colons (`[0-9A-Fa-f:]*::?[0-9A-Fa-f]*:`).
    "ipv6": Gate(counts=((":", 2),)),
    "kv": Gate(needles=(":", "="), words=frozenset(("like", "ilike", "in"))),
    "ctx": Gate(words=CONTEXT_WORDS),
    "iban": _DIGIT,
    "card": _DIGIT,
    "dea": _DIGIT,
    # A VIN without a digit fails its check (`vin_ok`), and every detector after `vin` needs a
    # digit too, so on a digit-free string its rejected hits could shadow nothing: skip it.
    "vin": Gate(digit=True, shape=_vin_run),
    "phone": _DIGIT,
    "phonep": Gate(digit=True, needles=("+",)),
    "pobox": Gate(digit=True, words=frozenset(("box",))),
    "street": _DIGIT,
    "csz": Gate(digit=True, needles=(",",), shape=_csz_tail),
}
