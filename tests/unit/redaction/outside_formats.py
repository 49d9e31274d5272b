"""Suite (b): real formats, written from the formats' specifications, not from the detectors.

Who wrote it: the same team that writes the detectors (honestly: less independent than suite
(a)). To keep it honest the people come from presidio-evaluator's FakeNameGenerator file (24
name sets, 30 countries, outside_data/), and each format follows its published layout:
- HL7 v2.5 (Ch. 2/3/6/7): MSH, EVN, PID (3 identifier list, 5 name, 7 birth date, 11 address,
  13/14 phones, 18 account number, 19 SSN, 20 driver's licence), NK1 (2 name, 4 address, 5
  phone), PV1 (3 location, 7 attending doctor), IN1 (2 plan, 4 company, 16 insured's name, 18
  insured's birth date, 36 policy number), OBX (3 LOINC code, 5 value, 14 observation time);
- FHIR R4 Patient, Observation and Encounter resources as JSON;
- CSV extracts (RFC 4180) with and without a header row, held in one string;
- clinical note prose, application log lines, URLs with query strings (RFC 3986,
  form-encoded), base64 (RFC 4648) of a JSON record, percent-encoded form bodies, SQL with
  literals, and addresses written the way their countries write them.
Decoys are what such documents carry that is not PHI: LOINC/ICD-10 codes, units, message types,
code-system URIs, versions, git SHAs, request UUIDs, eponymous procedures, countries, companies.
"""

from __future__ import annotations

import base64
import csv
import json
import random
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

from faker import Faker
from outside_score import Sample

DATA = Path(__file__).parent / "outside_data"
_LOINC = [
    ("2345-7", "Glucose", "mg/dL"),
    ("718-7", "Hemoglobin", "g/dL"),
    ("2160-0", "Creatinine", "mg/dL"),
    ("8867-4", "Heart rate", "/min"),
    ("4548-4", "Hemoglobin A1c", "%"),
]
_ICD10 = ["E11.9", "I10", "J45.909", "K21.9", "M35.00", "N18.3", "Z79.4"]
_EPONYMS = [
    "Nissen fundoplication",
    "Roux-en-Y gastric bypass",
    "Sjogren syndrome",
    "Crohn disease",
    "Hashimoto thyroiditis",
    "Parkinson disease",
    "Foley catheter",
    "Whipple procedure",
    "Bell palsy",
    "Graves disease",
]
_COMPANIES = [
    "Williams LLC",
    "Johnson & Johnson",
    "Abbott Laboratories",
    "Baxter International",
    "Smith & Nephew",
    "Kaiser Permanente",
    "Mayo Clinic",
]
_COUNTRIES = ["Spain", "Poland", "Germany", "Japan", "Brazil", "Canada", "Denmark", "Italy"]


def _people() -> list[dict[str, str]]:
    with (DATA / "FakeNameGenerator.com_3000.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.people = _people()

    def who(self) -> dict[str, str]:
        return self.rnd.choice(self.people)

    def digits(self, n: int) -> str:
        return str(self.rnd.randint(1, 9)) + "".join(
            str(self.rnd.randint(0, 9)) for _ in range(n - 1)
        )

    def mrn(self) -> str:
        shape = self.rnd.random()
        if shape < 0.5:
            return self.digits(self.rnd.choice([7, 8, 9, 10]))
        if shape < 0.8:
            letters = "".join(self.rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
            return letters + self.digits(9)
        return f"MRN-{self.digits(8)}"

    def ssn(self) -> str:
        return self.fake.ssn()

    def phone(self, who: dict[str, str]) -> str:
        return who["TelephoneNumber"]

    def us_phone(self) -> str:
        area, ex, line = self.rnd.randint(201, 989), self.rnd.randint(201, 989), self.digits(4)
        return self.rnd.choice(
            [
                f"({area}) {ex}-{line}",
                f"{area}-{ex}-{line}",
                f"{area}.{ex}.{line}",
                f"{area}{ex}{line}",
            ]
        )

    def dob(self, who: dict[str, str]) -> tuple[int, int, int]:
        month, day, year = (int(x) for x in who["Birthday"].split("/"))
        return year, month, day

    def visit(self) -> tuple[int, int, int]:
        return self.rnd.randint(2015, 2024), self.rnd.randint(1, 12), self.rnd.randint(1, 28)

    def sha(self) -> str:
        return f"{self.rnd.getrandbits(160):040x}"


def _fields(values: dict[int, str], offset: int = 0) -> str:
    """One segment's fields 1..n (HL7 numbering; MSH counts its field separator as MSH-1)."""
    last = max(values)
    return "|".join(values.get(n, "") for n in range(1 + offset, last + 1))


def _hl7(g: _Gen) -> Sample:
    p, kin = g.who(), g.who()
    s = Sample("formats", "hl7", None)
    mrn, acct, ssn = g.digits(8), g.digits(10), g.ssn()
    y, m, d = g.dob(p)
    dob = f"{y:04}{m:02}{d:02}"
    vy, vm, vd = g.visit()
    admit = f"{vy:04}{vm:02}{vd:02}{g.rnd.randint(0, 23):02}{g.rnd.randint(0, 59):02}"
    phone, kin_phone = g.phone(p), g.phone(kin)
    doc_last, doc_first = g.who()["Surname"], g.who()["GivenName"]
    npi, policy, group = g.digits(10), f"{g.rnd.choice('WXYZ')}{g.digits(9)}", g.digits(6)
    code, label, unit = g.rnd.choice(_LOINC)
    value = str(g.rnd.randint(4, 180))
    control = g.digits(12)
    addr = f"{p['StreetAddress']}^^{p['City']}^{p['State']}^{p['ZipCode']}^{p['Country']}"
    kin_addr = f"{kin['StreetAddress']}^^{kin['City']}^{kin['State']}^{kin['ZipCode']}"
    doctor = f"{npi}^{doc_last}^{doc_first}^^^DR"
    name = f"{p['Surname'].upper()}^{p['GivenName'].upper()}^{p['MiddleInitial']}"
    segments = [
        "MSH|"
        + _fields(
            {
                2: "^~\\&",
                3: "EPIC",
                4: "GENHOSP",
                5: "LABSYS",
                6: "GENHOSP",
                7: admit + "00",
                9: "ADT^A01^ADT_A01",
                10: control,
                11: "P",
                12: "2.5.1",
            },
            offset=1,
        ),
        "EVN|" + _fields({1: "A01", 2: admit + "00"}),
        "PID|"
        + _fields(
            {
                1: "1",
                3: f"{mrn}^^^GENHOSP^MR~{ssn}^^^USSSA^SS",
                5: name,
                7: dob,
                8: p["Gender"][:1].upper(),
                11: addr,
                13: phone,
                18: acct,
                19: ssn,
            }
        ),
        "NK1|"
        + _fields(
            {
                1: "1",
                2: f"{kin['Surname']}^{kin['GivenName']}",
                3: "SPO^Spouse^HL70063",
                4: kin_addr,
                5: kin_phone,
            }
        ),
        "PV1|"
        + _fields(
            {
                1: "1",
                2: "I",
                3: "4W^412^B^GENHOSP",
                7: doctor,
                10: "MED",
                17: doctor,
                18: "IN",
                44: admit,
            }
        ),
        "IN1|"
        + _fields(
            {
                1: "1",
                2: "BCBS-PPO",
                3: "0042",
                4: "Blue Cross Blue Shield",
                5: "PO Box 9000^^Chicago^IL^60601",
                8: group,
                16: f"{p['Surname']}^{p['GivenName']}",
                17: "SEL",
                18: dob,
                19: addr,
                36: policy,
            }
        ),
        "OBX|"
        + _fields(
            {
                1: "1",
                2: "NM",
                3: f"{code}^{label}^LN",
                5: value,
                6: unit,
                7: "70-99",
                8: "H",
                11: "F",
                14: admit,
            }
        ),
    ]
    s.document = {"message": "\r".join(segments)}
    s.planted = [
        ("MRN", mrn),
        ("SSN", ssn),
        ("NAME", p["Surname"].upper()),
        ("NAME", p["GivenName"].upper()),
        ("DATE", dob),
        ("ADDRESS", p["StreetAddress"]),
        ("ADDRESS", p["City"]),
        ("ZIP", p["ZipCode"]),
        ("PHONE", phone),
        ("ACCOUNT", acct),
        # IN1-16 writes the insured (the patient) in mixed case, PID-5 in capitals.
        ("NAME", p["Surname"]),
        ("NAME", p["GivenName"]),
        # The middle initial alone would match the sex code (`M`): the whole XPN carries it.
        ("NAME", name),
        ("NAME", kin["Surname"]),
        ("NAME", kin["GivenName"]),
        # Safe Harbor covers a relative's address like the patient's: town and ZIP too.
        ("ADDRESS", kin["StreetAddress"]),
        ("ADDRESS", kin["City"]),
        ("ZIP", kin["ZipCode"]),
        ("PHONE", kin_phone),
        ("NAME", doc_last),
        ("NAME", doc_first),
        ("LICENSE", npi),
        ("HEALTHPLAN", policy),
        ("DATE", admit),
        # MSH-7 and EVN-2 carry the admission time of this A01 (to the second).
        ("DATE", admit + "00"),
    ]
    s.decoys = ["ADT^A01^ADT_A01", "2.5.1", f"{code}^{label}^LN", unit, "Blue Cross Blue Shield"]
    return s


def _fhir(g: _Gen) -> Sample:
    p = g.who()
    s = Sample("formats", "fhir", None)
    pid, mrn = str(uuid.UUID(int=g.rnd.getrandbits(128))), g.mrn()
    y, m, d = g.dob(p)
    vy, vm, vd = g.visit()
    phone = g.phone(p)
    code, label, unit = g.rnd.choice(_LOINC)
    patient = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": mrn}],
        "name": [{"use": "official", "family": p["Surname"], "given": [p["GivenName"]]}],
        "telecom": [
            {"system": "phone", "value": phone, "use": "home"},
            {"system": "email", "value": p["EmailAddress"]},
        ],
        "gender": p["Gender"],
        "birthDate": f"{y:04}-{m:02}-{d:02}",
        "address": [
            {
                "line": [p["StreetAddress"]],
                "city": p["City"],
                "postalCode": p["ZipCode"],
                "country": p["CountryFull"],
            }
        ],
    }
    observation = {
        "resourceType": "Observation",
        "id": f"obs-{g.digits(6)}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": label}]},
        "subject": {"reference": f"Patient/{pid}", "display": f"{p['GivenName']} {p['Surname']}"},
        "effectiveDateTime": f"{vy:04}-{vm:02}-{vd:02}T08:30:00Z",
        "valueQuantity": {
            "value": g.rnd.randint(4, 180),
            "unit": unit,
            "system": "http://unitsofmeasure.org",
        },
    }
    s.document = {"context": {"bundle": [patient, observation]}}
    s.planted = [
        ("ID", pid),
        ("MRN", mrn),
        ("NAME", p["Surname"]),
        ("NAME", p["GivenName"]),
        ("PHONE", phone),
        ("EMAIL", p["EmailAddress"]),
        ("DATE", f"{y:04}-{m:02}-{d:02}"),
        ("ADDRESS", p["StreetAddress"]),
        ("ADDRESS", p["City"]),
        ("ZIP", p["ZipCode"]),
        ("DATE", f"{vy:04}-{vm:02}-{vd:02}T08:30:00Z"),
    ]
    s.decoys = [
        "http://loinc.org",
        code,
        label,
        "http://unitsofmeasure.org",
        p["CountryFull"],
        "final",
        "urn:oid:2.16.840.1.113883.19.5",
    ]
    return s


def _csv(g: _Gen) -> Sample:
    s = Sample("formats", "csv", None)
    header = g.rnd.random() < 0.5
    lines = ["mrn,first_name,last_name,dob,postal_code,phone,icd10"] if header else []
    for _ in range(3):
        p = g.who()
        mrn = g.digits(8)
        y, m, d = g.dob(p)
        dob = f"{m}/{d}/{y}"
        icd = g.rnd.choice(_ICD10)
        lines.append(
            f"{mrn},{p['GivenName']},{p['Surname']},{dob},{p['ZipCode']},{g.phone(p)},{icd}"
        )
        s.planted += [
            ("MRN", mrn),
            ("NAME", p["GivenName"]),
            ("NAME", p["Surname"]),
            ("DATE", dob),
            ("ZIP", p["ZipCode"]),
            ("PHONE", g.phone(p)),
        ]
        s.decoys.append(icd)
    key = g.rnd.choice(["attachment", "value", "data", "col1", "body"])
    s.document = {"params": {key: "\n".join(lines)}}
    return s


def _note(g: _Gen) -> Sample:
    p, kin = g.who(), g.who()
    s = Sample("formats", "note", None)
    y, m, d = g.dob(p)
    dob = f"{m}/{d}/{y}"
    vy, vm, vd = g.visit()
    seen = g.rnd.choice([f"{vm}/{vd}/{vy}", f"{vy}-{vm:02}-{vd:02}"])
    phone, age = g.us_phone(), str(g.rnd.randint(90, 101))
    eponym, company = g.rnd.choice(_EPONYMS), g.rnd.choice(_COMPANIES)
    country = g.rnd.choice(_COUNTRIES)
    drug = g.rnd.choice(["metformin 500 mg", "lisinopril 10 mg", "apixaban 5 mg"])
    text = (
        f"{p['GivenName']} {p['Surname']} is a {age} year old {p['Gender']} seen on {seen}. "
        f"Her DOB is {dob}. Lives at {p['StreetAddress']}, {p['City']}. History of {eponym}; "
        f"returned from {country} last month. Daughter {kin['GivenName']} {kin['Surname']} can be "
        f"reached at {phone}. Continue {drug}. Coverage through {company}."
    )
    s.document = {"justification": text}
    s.planted = [
        ("NAME", p["GivenName"]),
        ("NAME", p["Surname"]),
        ("AGE", age),
        ("DATE", seen),
        ("DATE", dob),
        ("ADDRESS", p["StreetAddress"]),
        ("ADDRESS", p["City"]),
        ("NAME", kin["GivenName"]),
        ("NAME", kin["Surname"]),
        ("PHONE", phone),
    ]
    s.decoys = [eponym, company, country, drug]
    return s


def _log(g: _Gen) -> Sample:
    p = g.who()
    s = Sample("formats", "log", None)
    rid, sha = str(uuid.UUID(int=g.rnd.getrandbits(128))), g.sha()
    mrn, ip = g.mrn(), g.fake.ipv4_public()
    email = p["EmailAddress"]
    lines = [
        f"2024-05-0{g.rnd.randint(1, 9)}T12:0{g.rnd.randint(0, 9)}:11.204Z INFO api "
        f"request_id={rid} "
        f"build={sha} version=4.12.3 route=/v1/charts",
        f"WARN lookup failed for identifier {mrn} from {ip}; notified {email}",
        f"ERROR export labs_{mrn}.csv failed: permission denied (deploy {sha[:12]})",
    ]
    s.document = {"context": {"log": "\n".join(lines)}}
    s.planted = [("MRN", mrn), ("IP", ip), ("EMAIL", email)]
    s.decoys = [rid, sha, "version=4.12.3", "/v1/charts", sha[:12]]
    return s


def _url(g: _Gen) -> Sample:
    p = g.who()
    s = Sample("formats", "url", None)
    name = f"{p['GivenName']} {p['Surname']}"
    y, m, d = g.dob(p)
    phone = g.us_phone()
    query = urllib.parse.urlencode({"name": name, "dob": f"{y:04}-{m:02}-{d:02}", "tab": "labs"})
    url = f"http://ehr.internal/chart?{query}"
    form = urllib.parse.quote(f"name={name}&phone={phone}&view=summary", safe="")
    s.document = {"resource": url, "params": {"q": form}}
    s.planted = [
        ("NAME", urllib.parse.quote_plus(p["GivenName"])),
        ("NAME", urllib.parse.quote_plus(p["Surname"])),
        ("DATE", f"{y:04}-{m:02}-{d:02}"),
        ("NAME", urllib.parse.quote(p["GivenName"], safe="")),
        ("NAME", urllib.parse.quote(p["Surname"], safe="")),
        ("PHONE", urllib.parse.quote(phone, safe="")),
    ]
    s.decoys = ["http://ehr.internal/chart?", "tab=labs"]
    return s


def _base64(g: _Gen) -> Sample:
    p = g.who()
    s = Sample("formats", "base64", None)
    mrn = g.mrn()
    record = {
        "mrn": mrn,
        "name": f"{p['GivenName']} {p['Surname']}",
        "dob": p["Birthday"],
        "phone": g.phone(p),
    }
    blob = base64.b64encode(json.dumps(record).encode()).decode()
    s.document = {"params": {"payload": blob, "encoding": "base64", "schema": "patient.v2"}}
    s.planted = [("NAME", blob), ("MRN", blob), ("DATE", blob), ("PHONE", blob)]
    s.decoys = ["patient.v2", "base64"]
    return s


def _sql(g: _Gen) -> Sample:
    p = g.who()
    s = Sample("formats", "sql", None)
    mrn, ssn = g.mrn(), g.ssn()
    y, m, d = g.dob(p)
    phone = g.us_phone()
    sql = (
        "INSERT INTO patients (mrn, given, family, birth_date, ssn) VALUES "  # noqa: S608
        f"('{mrn}', '{p['GivenName']}', '{p['Surname']}', '{y:04}-{m:02}-{d:02}', '{ssn}');\n"
        f"UPDATE contacts SET phone = '{phone}' WHERE mrn = '{mrn}';\n"
        f"SELECT e.id, e.icd10 FROM encounters e WHERE e.patient_key = {g.digits(9)} "
        "AND e.icd10 LIKE 'E11%' LIMIT 50;"
    )
    key = sql.split("patient_key = ")[1].split(" ")[0]
    s.document = {"params": {"query": sql}}
    s.planted = [
        ("MRN", mrn),
        ("NAME", p["GivenName"]),
        ("NAME", p["Surname"]),
        ("DATE", f"{y:04}-{m:02}-{d:02}"),
        ("SSN", ssn),
        ("PHONE", phone),
        ("ID", key),
    ]
    s.decoys = ["INSERT INTO patients", "encounters e", "LIKE 'E11%' LIMIT 50"]
    return s


def _foreign(g: _Gen) -> Sample:
    p = g.who()
    s = Sample("formats", "foreign", None)
    text = (
        f"Transfer request from {p['CountryFull']}: patient {p['GivenName']} {p['Surname']}, "
        f"{p['StreetAddress']}, {p['ZipCode']} {p['City']}; tel. {g.phone(p)}"
    )
    s.document = {"justification": text}
    s.planted = [
        ("NAME", p["GivenName"]),
        ("NAME", p["Surname"]),
        ("ADDRESS", p["StreetAddress"]),
        ("ZIP", p["ZipCode"]),
        ("ADDRESS", p["City"]),
        ("PHONE", g.phone(p)),
    ]
    s.decoys = [p["CountryFull"]]
    return s


_MAKERS: list[Callable[[_Gen], Sample]] = [
    _hl7,
    _fhir,
    _csv,
    _note,
    _log,
    _url,
    _base64,
    _sql,
    _foreign,
]


def formats_suite(seed: int = 13, per_kind: int = 25) -> list[Sample]:
    g = _Gen(seed)
    return [make(g) for _ in range(per_kind) for make in _MAKERS]
