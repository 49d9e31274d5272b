"""What a JSON key (or a `key=value` word in text) says about its value. Pure, constant tables.

A key is normalised (camelCase, snake_case, kebab-case, dotted, abbreviations) into tokens and a
compact form, then classified: PHI of a type whatever the value, a weak person-name hint, an
age, a ZIP, an operational timestamp that is kept, a key kept verbatim, or nothing (scan the value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class KeyKind(Enum):
    SCAN = "scan"  # no opinion: the value is scanned as free text
    PHI = "phi"  # the value is PHI of `type` whatever it looks like
    WEAK_NAME = "weak_name"  # bare `name`: PHI only when the value looks like a person's name
    AGE = "age"  # numbers over 89 become 90+
    ZIP = "zip"  # keep the first three digits
    KEEP = "keep"  # operational timestamps, states, years, request ids: kept as they are


@dataclass(frozen=True, slots=True)
class KeyClass:
    kind: KeyKind
    type: str = ""


SCAN = KeyClass(KeyKind.SCAN)
KEEP = KeyClass(KeyKind.KEEP)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _w(words: str) -> tuple[str, ...]:
    return tuple(words.split())


_SPLIT = re.compile(r"[^a-z0-9]+")

# Compact forms (all separators removed, lower case) that are PHI outright.
_COMPACT: dict[str, str] = {
    **dict.fromkeys(
        _w(
            "dob dateofbirth birthdate birthday bday dod dateofdeath deathdate admitdate "
            "admissiondate dischargedate dos dateofservice servicedate visitdate "
            "encounterdate proceduredate surgerydate appointmentdate apptdate"
        ),
        "DATE",
    ),
    **dict.fromkeys(
        _w(
            "fname lname firstname lastname surname givenname familyname fullname middlename "
            "maidenname patientname ptname nextofkin guardian emergencycontact "
            "mothersmaidenname patient pt insuredname subscribername membername"
        ),
        "NAME",
    ),
    **dict.fromkeys(
        _w(
            "mrn mrno medicalrecordnumber medicalrecordno medrecno medrecnum chartnumber "
            "chartno patientid ptid patientnumber empi ehrid emrid"
        ),
        "MRN",
    ),
    **dict.fromkeys(
        _w(
            "memberid membernumber memberno subscriberid subscribernumber beneficiaryid "
            "beneficiarynumber insuranceid insurancenumber policynumber policyno medicareid "
            "medicaidid mbi hicn healthplanid planmemberid groupnumber claimnumber claimid"
        ),
        "HEALTHPLAN",
    ),
    **dict.fromkeys(
        ["ssn", "socialsecuritynumber", "socialsecurity", "socsec", "ssnlast4", "taxid", "tin"],
        "SSN",
    ),
    **dict.fromkeys(
        _w(
            "driverslicense driverlicense dl dlnumber licensenumber licenseno licencenumber "
            "certificatenumber certnumber dea deanumber npi"
        ),
        "LICENSE",
    ),
    **dict.fromkeys(["vin", "licenseplate", "plate", "platenumber"], "VEHICLE"),
    **dict.fromkeys(["website", "homepage", "personalurl", "profileurl"], "URL"),
    **dict.fromkeys(
        ["ip", "ipaddr", "ipaddress", "clientip", "remoteaddr", "sourceip", "srcip"], "IP"
    ),
    **dict.fromkeys(
        ["passport", "passportnumber", "nationalid", "accession", "accessionnumber", "rxnumber"],
        "ID",
    ),
}

# Token → type, checked in this order (a key like `email_address` is EMAIL, not ADDRESS).
_TOKEN_TYPES: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset(
            ["fingerprint", "biometric", "retina", "iris", "voiceprint", "faceprint", "palmprint"]
        ),
        "BIOMETRIC",
    ),
    (
        frozenset(_w("photo photos photograph headshot picture selfie portrait mugshot")),
        "PHOTO",
    ),
    (frozenset(["ssn"]), "SSN"),
    (frozenset(["mrn"]), "MRN"),
    (
        frozenset(
            ["member", "subscriber", "beneficiary", "insurance", "insured", "medicare", "medicaid"]
        ),
        "HEALTHPLAN",
    ),
    (frozenset(["email", "emails"]), "EMAIL"),
    (frozenset(["fax"]), "FAX"),
    (
        frozenset(["phone", "phones", "telephone", "tel", "mobile", "cell", "cellphone", "pager"]),
        "PHONE",
    ),
    (frozenset(["ip", "ipv4", "ipv6"]), "IP"),
    (frozenset(["vin", "plate"]), "VEHICLE"),
    (frozenset(["serial", "imei", "udi", "mac", "device", "implant"]), "DEVICE"),
    (frozenset(["iban", "acct", "account", "card", "creditcard", "cc"]), "ACCOUNT"),
    (frozenset(["license", "licence", "dea", "npi"]), "LICENSE"),
    (frozenset(["zip", "zipcode", "postal", "postcode"]), "ZIP"),
    (
        frozenset(
            ["address", "addr", "street", "residence", "city", "town", "county", "municipality"]
        ),
        "ADDRESS",
    ),
)

# A date key naming an event in a person's care or life: PHI.
_PERSON_EVENTS = frozenset(
    _w(
        "dob birth born birthday admit admitted admission discharge discharged death died "
        "deceased dod visit encounter dos procedure surgery appointment appt diagnosis "
        "diagnosed dx onset collected collection specimen vaccination vaccinated "
        "immunization prescribed dispensed exam delivery injury treatment"
    )
)
# Alone, these name a date of a person's life ("birthday", "born"); "admission" alone may not.
_LIFE_EVENTS = frozenset(_w("birthday born deceased"))
_DATE_WORDS = frozenset(["date", "dt", "time", "timestamp", "ts", "at", "on", "day", "month"])
# A date key naming an operational event (a job, a row, a deploy): kept, reviewers need it.
_OPERATIONAL = frozenset(
    _w(
        "created updated modified deleted started start finished finish completed ended "
        "end run ran job build deployed deploy requested approved denied decided expires "
        "expiry expired scheduled queued processed executed received sent logged last "
        "first next synced loaded ingested exported imported refreshed observed event "
        "inserted"
    )
)
# Qualifiers that make a would-be PHI key about infrastructure instead (`table_name`, `host_ip`).
_INFRA = frozenset(
    _w(
        "table column col schema db database host hostname server service job task bucket "
        "queue topic file filename app application project cluster env region role team "
        "metric type kind status version count cnt total format field model "
        "dataset pipeline source target workflow step stage index sql query config "
        "setting flag enabled aws gcp azure cloud iam storage repo branch image container "
        "pod node namespace user username"
    )
)
_PERSON_QUALIFIERS = frozenset(
    _w(
        "patient pt first last full given family middle maiden sur nick preferred legal "
        "mother father parent spouse guardian kin contact emergency member subscriber "
        "insured beneficiary caregiver relative child dependent"
    )
)
_KEEP_TOKENS = frozenset(["state", "country", "year", "yr"])
_KEEP_IDS = frozenset(
    ["id", "uuid", "requestid", "correlationid", "traceid", "spanid", "runid", "jobid"]
)


def normalise(key: str) -> tuple[tuple[str, ...], str]:
    """Tokens and compact form: `patientName`, `patient-name`, `PATIENT_NAME` → patient, name."""
    # `_CAMEL` needs an upper-case ASCII letter: a lower-case key has none to split on.
    spaced = key.lower() if key.islower() else _CAMEL.sub("_", key).lower()
    tokens = tuple(t for t in _SPLIT.split(spaced) if t)
    # Tokens are [a-z0-9] runs, so `rstrip` of ASCII digits is `_TRAILING_DIGITS.sub`.
    stripped = tuple(t.rstrip("0123456789") or t for t in tokens)
    return stripped, "".join(stripped)


def classify(key: str, extra_keys: frozenset[str] = frozenset()) -> KeyClass:
    tokens, compact = normalise(key)
    if not tokens:
        return SCAN
    if compact in extra_keys or key in extra_keys:
        return KeyClass(KeyKind.PHI, "ID")
    found = _COMPACT.get(compact)
    if found is not None:
        return KeyClass(KeyKind.PHI, found)
    if compact in _KEEP_IDS:
        return KEEP
    token_set = frozenset(tokens)
    if (token_set & _PERSON_EVENTS and token_set & _DATE_WORDS) or token_set & _LIFE_EVENTS:
        return KeyClass(KeyKind.PHI, "DATE")
    if token_set & _DATE_WORDS and token_set & _OPERATIONAL:
        return KEEP
    if "age" in token_set and not token_set & _INFRA:
        return KeyClass(KeyKind.AGE)
    if token_set & _KEEP_TOKENS and len(tokens) <= 2:
        return KEEP
    infra = bool(token_set & _INFRA)
    if "name" in token_set or "names" in token_set:
        if token_set & _PERSON_QUALIFIERS:
            return KeyClass(KeyKind.PHI, "NAME")
        return SCAN if infra or len(tokens) > 1 else KeyClass(KeyKind.WEAK_NAME, "NAME")
    if infra:
        return SCAN
    if token_set & {"patient", "pt"} and token_set & {"id", "number", "no", "num"}:
        return KeyClass(KeyKind.PHI, "MRN")
    for names, type_ in _TOKEN_TYPES:
        if token_set & names:
            if type_ == "ZIP":
                return KeyClass(KeyKind.ZIP, "ZIP")
            return KeyClass(KeyKind.PHI, type_)
    return SCAN


def text_key_type(word: str) -> str | None:
    """The PHI type a `word=value` / `word: value` pair in free text or SQL implies, if any."""
    found = classify(word)
    if found.kind in (KeyKind.PHI, KeyKind.WEAK_NAME):
        return found.type
    if found.kind is KeyKind.ZIP:
        return "ZIP"
    return None
