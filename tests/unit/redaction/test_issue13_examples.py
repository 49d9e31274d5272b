"""Every example of issue 13's "What was seen" (the timing ones aside, see the linear-time tests):
PHI is redacted, non-PHI is kept, byte for byte where it is kept."""

from __future__ import annotations

import base64
import json
import re

import pytest

from approvals.redaction import Redactor

_PLACEHOLDER = re.compile(r"\[[A-Z]+-\d+(?::[0-9A-Za-z+]{1,8})?\]")


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def _text(redactor: Redactor, text: str, key: str = "note") -> str:
    return redactor.redact({key: text}).value[key]


# (input, PHI pieces that must be gone)
_PHI_IN_TEXT = [
    ("identifier 536221784 copied", ["536221784"]),
    ("HZF319487574", ["HZF319487574", "319487574"]),
    ("labs_MRN104234685.csv", ["104234685"]),
    ("see (MRN-99812345) today", ["99812345"]),
    ("MRN 99812345", ["99812345"]),
    ("10042312,Wei,Zhang,1961-03-04,62704", ["10042312", "Wei", "Zhang", "1961-03-04"]),
    ("chart?name=Jane+Doe", ["Jane", "Doe"]),
    ("q=name%3DJohn%20Smith%26phone%3D617-555-0142", ["John", "Smith", "617-555-0142"]),
    ("name%3DJohn%20Smith%26phone%3D617-555-0142", ["John", "Smith", "617-555-0142"]),
    ("call 555.010.9999", ["555.010.9999"]),
    ("call 6175550142 now", ["6175550142"]),
    ("ext 449 8068", ["449 8068"]),
    ("reach her on +44 20 7946 0958 or +49 30 901820", ["7946 0958", "901820"]),
    ("Springfield, Illinois 62704", ["Springfield", "62704"]),
    ("Boston MA 02108", ["Boston", "02108"]),
    ("mail to 02139-4307", ["02139-4307"]),
    ("PO Box 1234, Austin TX 78701", ["1234", "Austin", "78701"]),
    ("Sömmeringstr. 78, Weißenhorn 89259", ["Sömmeringstr", "78", "Weißenhorn", "89259"]),
    ("Her DOB is 3/4/1961.", ["3/4/1961"]),
    ("born on 12/13/1948.", ["12/13/1948"]),
    ("born 19940805", ["19940805"]),
    ("19940805", ["19940805"]),
    ("smith called back", ["smith"]),
    ("李伟 called", ["李伟"]),
    ("Иван Петров called", ["Иван", "Петров"]),
    ("April May", ["April", "May"]),
    ("Grace Wood has a fever", ["Grace", "Wood"]),
    ("Cinzia", ["Cinzia"]),
    ("Mamoru", ["Mamoru"]),
    ("acct no. 0012345678", ["0012345678"]),
    ("Account #: 44-1234567", ["44-1234567", "1234567"]),
]


@pytest.mark.parametrize(("text", "gone"), _PHI_IN_TEXT, ids=[t for t, _ in _PHI_IN_TEXT])
def test_phi_in_text_is_redacted(redactor: Redactor, text: str, gone: list[str]) -> None:
    out = _text(redactor, text)
    visible = _PLACEHOLDER.sub(" ", out)
    assert [
        piece for piece in gone if re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", visible)
    ] == []


_KEPT = [
    "Nissen fundoplication, Roux-en-Y",
    "Sjogren syndrome",
    "Spain",
    "Poland",
    "Williams LLC",
    "deployed 3f786850e387550fdab836ed7e6dc881de23001b to prod",
    # a SHA whose last 16 digits pass Luhn: it was cut as `…dafb[ACCOUNT-1]`
    "deployed 0a1b2c3d4e5f6a7b8c9ddafb4111111111111111 to prod",
    "request_id=0b9a1c2e-3d4f-4a5b-8c6d-7e8f9a0b1c2d",
    "image sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "arn:aws:iam::123456789012:role/etl",
    "pod api-7d9f8b6c4d-x2x9k restarted, instance i-0abc123def4567890",
    "took 1500000ms, release v2.14.3, ICD E11.9, LOINC 2345-7",
    "Continue Lisinopril 10 mg and metformin; returned from Germany",
]


@pytest.mark.parametrize("text", _KEPT)
def test_non_phi_is_kept(redactor: Redactor, text: str) -> None:
    assert _text(redactor, text) == text


@pytest.mark.parametrize(
    "document",
    [
        {"value": "536221784"},
        {"data": "HZF319487574"},
        {"col1": "MRN104234685"},
        {"c2": 536221784},
        {"patient_uuid": "0b9a1c2e-3d4f-4a5b-8c6d-7e8f9a0b1c2d"},
        {"patient": {"id": "0b9a1c2e-3d4f-4a5b-8c6d-7e8f9a0b1c2d"}},
        {"resourceType": "Patient", "id": "0b9a1c2e-3d4f-4a5b-8c6d-7e8f9a0b1c2d"},
    ],
)
def test_identifiers_under_neutral_keys_are_redacted(redactor: Redactor, document: dict) -> None:
    value = document.get("id", next(iter(document.values())))
    out = json.dumps(redactor.redact(document).value)
    assert str(value) not in out


def test_po_box_town_state_zip_is_an_address(redactor: Redactor) -> None:
    # It was `[ADDRESS-1], [NAME-1] TX 78701`: the town typed as a person, the ZIP kept.
    out = _text(redactor, "PO Box 1234, Austin TX 78701")
    assert re.fullmatch(r"\[ADDRESS-1\], \[ADDRESS-2\] TX \[ZIP-1:787\]", out), out


def test_hl7_pid_and_nk1_fields(redactor: Redactor) -> None:
    message = (
        "PID|1||12345678^^^HOSP^MR||DOE^JANE^Q||19610304|F|||123 MAIN ST^^SPRINGFIELD^IL^62704"
        "||(217)555-0142\rNK1|1|DOE^JOHN|SPO^Spouse|9 ELM RD^^DECATUR^IL^62521|(217)555-0199"
    )
    out = _text(redactor, message, "message")
    for phi in ["12345678", "DOE", "JANE", "19610304", "123 MAIN ST", "SPRINGFIELD", "62704",
                "555-0142", "JOHN", "9 ELM RD", "DECATUR", "62521", "555-0199"]:  # fmt: skip
        assert phi not in out
    assert out.startswith("PID|1||[MRN-1]^^^HOSP^MR||")  # coding components stay
    assert "^IL^[ZIP-" in out and "[DATE-1:1961]" in out and "|SPO^Spouse|" in out


def test_base64_json_record_is_replaced_whole(redactor: Redactor) -> None:
    record = {"name": "Jane Doe", "dob": "1961-03-04", "mrn": "12345678"}
    blob = base64.b64encode(json.dumps(record).encode()).decode()
    out = redactor.redact({"payload": blob, "note": f"body={blob} sent"}).value
    assert _PLACEHOLDER.fullmatch(out["payload"])
    assert blob not in out["note"] and out["note"].startswith("body=[")


def test_json_inside_a_string_is_walked(redactor: Redactor) -> None:
    inner = json.dumps({"patient_name": "Jane Doe", "status": "ok", "ssn": "123-45-6789"})
    out = json.loads(redactor.redact({"body": inner}).value["body"])
    assert out["status"] == "ok"
    assert "Jane" not in out["patient_name"] and "6789" not in out["ssn"]


def test_csv_with_header_is_read_by_column(redactor: Redactor) -> None:
    csv_text = "mrn,first_name,last_name,icd10\n10042312,Wei,Zhang,E11.9\n10042313,Ana,Li,I10"
    out = _text(redactor, csv_text, "attachment")
    lines = out.split("\n")
    assert lines[0] == "mrn,first_name,last_name,icd10"
    assert [line.split(",")[3] for line in lines[1:]] == ["E11.9", "I10"]
    assert not any(w in out for w in ["10042312", "Wei", "Zhang", "Ana", ",Li,"])


def test_redacting_twice_changes_nothing(redactor: Redactor) -> None:
    texts = [t for t, _ in _PHI_IN_TEXT] + _KEPT
    once = redactor.redact({"notes": texts}).value
    assert redactor.redact(once).value == once
