"""Seeded, labelled corpus of healthcare-ops documents with planted PHI and hard decoys.

Each `Sample` is one intake-shaped document plus what was planted in it (type, value) and the
decoys that must survive verbatim. Used by the corpus test and by bench/redaction.py.
"""

from __future__ import annotations

import base64
import random
import re
import string
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from faker import Faker

from approvals.redaction.validators import dea_ok, luhn_ok, vin_ok

TYPES = ["NAME", "ADDRESS", "ZIP", "DATE", "AGE", "PHONE", "FAX", "EMAIL", "SSN", "MRN",
         "HEALTHPLAN", "ACCOUNT", "LICENSE", "VEHICLE", "DEVICE", "URL", "IP", "BIOMETRIC",
         "PHOTO", "ID"]  # fmt: skip
ICD10 = ["E11.9", "I10", "J45.909", "M54.5", "F32.A", "N18.3", "Z79.4", "K21.9", "R07.9"]
DRUGS = ["metformin", "Lisinopril", "atorvastatin", "Amoxicillin", "apixaban", "Ozempic",
         "levothyroxine", "Warfarin", "insulin glargine"]  # fmt: skip
STATES = ["Georgia", "Texas", "Virginia", "Washington", "Carolina", "Montana", "Florida"]
HOSTS = ["ehr-db-01.corp", "etl-worker-3.internal", "fhir-gw.prod.local", "warehouse-02"]
SQL_WORDS = ["SELECT", "FROM", "WHERE", "JOIN", "GROUP BY", "ORDER BY", "LIMIT"]


@dataclass
class Sample:
    document: dict[str, Any]
    planted: list[tuple[str, str]] = field(default_factory=list)
    decoys: list[str] = field(default_factory=list)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.fake = Faker(["en_US", "en_GB", "es_MX"])
        self.fake.seed_instance(seed)
        self.us = self.fake["en_US"]

    # --- planted identifiers (each returns the surface string) -------------------------------

    def name(self) -> str:
        first, last = self.us.first_name(), self.us.last_name()
        style = self.rnd.random()
        if style < 0.15:
            return f"{last.upper()}, {first.upper()}"
        if style < 0.25:
            return f"{first.lower()} {last.lower()}"
        return f"{first} {last}"

    def date(self) -> str:
        # Fixed bounds, not `date_of_birth` (relative to today): the corpus, and with it the
        # golden digests, must be the same whatever day the tests run.
        day = self.us.date_between_dates(date(1938, 1, 1), date(2024, 12, 31))
        fmt = self.rnd.choice(["%m/%d/%Y", "%Y-%m-%d", "%B %d, %Y", "%d %b %Y", "%b. %d, %Y"])
        return day.strftime(fmt)

    def phone(self) -> str:
        a, e, n = self.rnd.randint(201, 989), self.rnd.randint(201, 999), self.rnd.randint(0, 9999)
        return self.rnd.choice([
            f"({a}) {e}-{n:04}", f"{a}-{e}-{n:04}", f"{a}.{e}.{n:04}", f"+1 {a} {e} {n:04}",
            f"+44 20 {self.rnd.randint(7000, 7999)} {n:04}",
        ])  # fmt: skip

    def digits(self, n: int) -> str:
        return "".join(self.rnd.choice(string.digits) for _ in range(n))

    def npi(self) -> str:
        while True:
            candidate = "1" + self.digits(9)
            if luhn_ok("80840" + candidate):
                return candidate

    def dea(self) -> str:
        while True:
            candidate = self.rnd.choice("ABFM") + self.rnd.choice(string.ascii_uppercase)
            candidate += self.digits(7)
            if dea_ok(candidate):
                return candidate

    def vin(self) -> str:
        alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
        while True:
            candidate = "1" + "".join(self.rnd.choice(alphabet) for _ in range(16))
            if vin_ok(candidate):
                return candidate

    def photo(self) -> str:
        blob = base64.b64encode(b"\xff\xd8\xff\xe0" + self.rnd.randbytes(48)).decode()
        return f"data:image/jpeg;base64,{blob}"

    def street(self) -> str:
        return f"{self.us.building_number()} {self.us.street_name()}"

    # --- decoys ---------------------------------------------------------------------------------

    def decoys(self) -> list[str]:
        r = self.rnd
        return [
            str(r.randint(1990, 2024)), f"{r.randint(18, 89)}-year-old", r.choice(STATES),
            r.choice(ICD10), r.choice(DRUGS), f"v{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(1, 9)}",  # noqa: E501
            self.us.sha1()[: r.choice([7, 12, 40])], r.choice(HOSTS), r.choice(SQL_WORDS),
        ]  # fmt: skip


def _note(g: _Gen, s: Sample) -> str:
    name, dob, phone, street = g.name(), g.date(), g.phone(), g.street()
    city, st, zipcode = g.us.city(), g.us.state_abbr(), g.us.zipcode()
    age, mrn, email = g.rnd.randint(90, 104), g.digits(8), g.us.email()
    d = g.decoys()
    s.planted += [("NAME", name), ("DATE", dob), ("PHONE", phone), ("ADDRESS", street),
                  ("ADDRESS", city), ("ZIP", zipcode), ("AGE", f"{age}-year-old"),
                  ("MRN", mrn), ("EMAIL", email)]  # fmt: skip
    s.decoys += [d[0], d[1], d[2], d[3], d[4]]
    return (
        f"Patient: {name}, {age}-year-old, DOB {dob}, MRN {mrn}. Seen {d[0]} for {d[3]}; "
        f"started {d[4]} 500 mg. Lives at {street}, {city}, {st} {zipcode}. Call {phone} or "
        f"email {email}. Compared with a {d[1]} control; moved from {d[2]} in {d[0]}."
    )


def _ticket(g: _Gen, s: Sample) -> dict[str, Any]:
    card, iban, member = g.us.credit_card_number(), g.us.iban(), f"XJH{g.digits(9)}"
    ssn, fax, plate = g.us.ssn(), g.phone(), g.us.license_plate()
    dr_last = g.us.last_name()
    d = g.decoys()
    s.planted += [("ACCOUNT", card), ("ACCOUNT", iban), ("HEALTHPLAN", member), ("SSN", ssn),
                  ("FAX", fax), ("VEHICLE", plate), ("NAME", dr_last)]  # fmt: skip
    s.decoys += [d[5], d[6], d[7]]
    return {
        "title": f"Billing export failed after upgrade to {d[5]}",
        "description": (
            f"Claim rejected for member ID {member}; card on file {card}, refund to IBAN {iban}. "
            f"SSN {ssn} mismatched. Dr. {dr_last} asked to fax {fax}. Parking: plate {plate}. "
            f"Regression since commit {d[6]} on {d[7]}."
        ),
        "created_at": "2024-05-02T14:03:11Z",
        "request_id": g.us.uuid4(),
    }


def _devices(g: _Gen, s: Sample) -> list[str]:
    ip4, ip6, mac = g.us.ipv4_public(), g.us.ipv6(), g.us.mac_address()
    serial, url, npi, dea = (
        f"PM-{g.digits(7)}",
        f"https://www.{g.us.domain_word()}-family.com/",
        g.npi(),
        g.dea(),
    )
    vin, finger, accession = g.vin(), g.us.sha1()[:32], f"A{g.digits(2)}-{g.digits(7)}"
    s.planted += [("IP", ip4), ("IP", ip6), ("DEVICE", mac), ("DEVICE", serial), ("URL", url),
                  ("LICENSE", npi), ("LICENSE", dea), ("VEHICLE", vin), ("BIOMETRIC", finger),
                  ("ID", accession)]  # fmt: skip
    host = g.rnd.choice(HOSTS)
    s.decoys.append(host)
    return [
        f"2024-05-02T10:00:0{g.rnd.randint(0, 9)}Z INFO portal login from {ip4} ({ip6}) on {host}",
        f"pacemaker S/N: {serial} paired, device MAC {mac}",
        f"referral from NPI {npi} / DEA {dea}; patient homepage {url}",
        f"transport vehicle VIN {vin}; fingerprint hash {finger}; accession # {accession}",
    ]  # fmt: skip


def _rows(g: _Gen, s: Sample) -> dict[str, Any]:
    rows = []
    for _ in range(3):
        name, dob, mrn, zipcode = g.name(), g.date(), g.digits(8), g.us.zipcode()
        s.planted += [("NAME", name), ("DATE", dob), ("MRN", mrn), ("ZIP", zipcode)]
        rows.append([name, dob, mrn, g.us.state_abbr(), zipcode, g.rnd.choice(ICD10)])
    return {"columns": ["patient_name", "dob", "mrn", "state", "zip", "dx_code"], "rows": rows}


def _records(g: _Gen, s: Sample) -> list[dict[str, Any]]:
    out = []
    for _ in range(2):
        first, last, phone = g.us.first_name(), g.us.last_name(), g.phone()
        member, photo, age = f"W{g.digits(9)}", g.photo(), g.rnd.randint(90, 101)
        s.planted += [("NAME", f"{first} {last}"), ("PHONE", phone), ("HEALTHPLAN", member),
                      ("PHOTO", photo), ("AGE", f'"age": {age}')]  # fmt: skip
        out.append({
            "firstName": first, "lastName": last, "age": age, "memberId": member,
            "contacts": [{"type": "mobile", "phone": phone}], "photo": photo,
            "updated_at": "2024-04-30T08:00:00Z", "id": g.us.uuid4(),
        })  # fmt: skip
    return out


def _sql(g: _Gen, s: Sample) -> str:
    mrn, name = g.digits(8), f"{g.us.first_name()} {g.us.last_name()}"
    s.planted += [("MRN", mrn), ("NAME", name)]
    s.decoys += ["SELECT", "encounter_date", "clinical.encounters"]
    # Test data for the redactor, never executed.
    return (
        "SELECT e.encounter_id, e.encounter_date FROM clinical.encounters e "  # noqa: S608
        f"JOIN clinical.patients p ON p.id = e.patient_id WHERE p.mrn = '{mrn}' "
        f"AND p.full_name = '{name}' ORDER BY e.encounter_date LIMIT 50"
    )


def sample(seed: int) -> Sample:
    g = _Gen(seed)
    s = Sample(document={})
    mrn = g.digits(8)
    s.planted.append(("MRN", mrn))
    resource = g.rnd.choice([f"s3://phi-exports/cohorts/mrn={mrn}/extract.parquet",
                             f"arn:aws:s3:::phi-exports/mrn={mrn}/notes.json"])  # fmt: skip
    s.document = {
        "resource": resource,
        "justification": _note(g, s),
        "params": {"sql": _sql(g, s), "limit": 50, "dry_run": False},
        "context": {
            "ticket": _ticket(g, s),
            "logs": _devices(g, s),
            "result": _rows(g, s),
            "records": _records(g, s),
            "job": {"name": "nightly-etl", "started_at": "2024-05-01T02:00:00Z", "id": "job-42"},
        },
    }
    s.decoys += ["phi-exports/", "nightly-etl", "2024-05-01T02:00:00Z", "job-42"]
    return s


def corpus(seed: int, count: int) -> list[Sample]:
    return [sample(seed * 100_003 + i) for i in range(count)]


def _present(value: str, output: str) -> bool:
    pattern = r"(?<![a-z0-9])" + re.escape(value) + r"(?![a-z0-9])"
    return re.search(pattern, output) is not None


def survives(value: str, output: str) -> bool:
    """Does the planted value appear in the output in any form (case, spacing, digits only)?"""
    folded, value_folded = output.casefold(), value.casefold()
    if _present(value_folded, folded):
        return True
    squeezed = re.sub(r"\s+", "", value_folded)
    if squeezed != value_folded and _present(squeezed, re.sub(r"\s+", "", folded)):
        return True
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 6 and len(digits) >= len(re.sub(r"\W", "", value)) * 0.7:
        # the same digits with any light formatting between them
        return re.search(r"(?<!\d)" + r"\D{0,2}".join(digits) + r"(?!\d)", output) is not None
    return False


def strings_of(node: Any) -> list[str]:
    """Every key and string value of a JSON document, depth first: what the walker scans."""
    out: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in reversed(list(item.items())):
                stack.append(value)
                stack.append(key)
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, str):
            out.append(item)
    return out
