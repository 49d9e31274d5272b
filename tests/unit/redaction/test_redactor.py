"""Behaviour of the Redactor: keys, result sets, placeholders, intake shape, decoys, fail closed."""

from __future__ import annotations

import functools
import json

import pytest

from approvals.redaction import Finding, RedactionConfig, RedactionError, Redactor


@functools.cache
def redactor() -> Redactor:
    return Redactor()


def redact(document):
    return redactor().redact(document).value


class TestKeys:
    @pytest.mark.parametrize(
        "key",
        ["patient_name", "patientName", "patient-name", "PATIENT_NAME", "pt_name", "fname",
         "dob", "DOB", "dateOfBirth", "mrn", "member-id", "memberId", "ssn", "addr", "phone",
         "homePhone", "email_address", "zip_code", "licenseNumber", "vin", "device_serial",
         "photo_url", "fingerprint_template"],
    )  # fmt: skip
    def test_a_phi_key_redacts_whatever_the_value(self, key):
        out = redact({key: "plainvalue 42"})
        assert out[key] != "plainvalue 42"
        assert out[key].startswith("[")

    @pytest.mark.parametrize(
        "key", ["table_name", "hostname", "job_name", "created_at", "startedAt", "updated-at",
                "id", "request_id", "state", "status", "version"],
    )  # fmt: skip
    def test_operational_keys_keep_their_values(self, key):
        value = (
            "2024-05-01T02:00:00Z"
            if key.lower().startswith(("created", "started", "updated"))
            else "etl_orders"
        )
        assert redact({key: value}) == {key: value}

    def test_person_event_dates_are_redacted_but_keep_the_year(self):
        out = redact({"admitted_at": "2024-05-01T02:00:00Z", "visit_date": "03/04/2023"})
        assert out == {"admitted_at": "[DATE-1:2024]", "visit_date": "[DATE-2:2023]"}

    def test_bare_name_key_needs_a_person_like_value(self):
        assert redact([{"name": "nightly-etl"}, {"name": "Jane Doe"}]) == [
            {"name": "nightly-etl"}, {"name": "[NAME-1]"},
        ]  # fmt: skip

    def test_phi_used_as_a_key_is_replaced(self):
        result = redactor().redact({"John Smith": {"note": "ok"}})
        assert result.value == {"[NAME-1]": {"note": "ok"}}
        assert result.findings == (Finding("$.[NAME-1]", "NAME", "key:names"),)

    def test_structured_date_parts_inherit_the_parent_key(self):
        assert redact({"dob": {"year": 1961, "month": 3, "day": 4}}) == {
            "dob": {"year": 1961, "month": "[DATE-1]", "day": "[DATE-2]"}
        }


class TestResultSets:
    def test_cells_inherit_their_column_key(self):
        out = redact({"columns": ["patient_name", "mrn", "state", "dx"],
                      "rows": [["Ann Lee", "A1234567", "MA", "E11.9"]]})  # fmt: skip
        assert out["rows"] == [["[NAME-1]", "[MRN-1]", "MA", "E11.9"]]

    def test_column_objects_and_row_objects_work_too(self):
        out = redact({"fields": [{"name": "ssn"}, {"name": "zip"}], "data": [["x", "02139"]],
                      "records": [{"dob": "1961-03-04", "count": 3}]})  # fmt: skip
        assert out["data"] == [["[SSN-1]", "[ZIP-1:021]"]]
        assert out["records"] == [{"dob": "[DATE-1:1961]", "count": 3}]


class TestPlaceholders:
    def test_same_person_and_number_get_the_same_placeholder(self):
        out = redact({"a": "Patient John Smith", "b": "SMITH, JOHN called", "c": "Smith",
                      "d": "call (617) 555-0134", "e": "call 617-555-0134"})  # fmt: skip
        assert out == {"a": "Patient [NAME-1]", "b": "[NAME-1] called", "c": "[NAME-1]",
                       "d": "call [PHONE-1]", "e": "call [PHONE-1]"}  # fmt: skip

    def test_zip_keeps_three_digits_except_restricted_areas(self):
        assert redact({"zip": "02139", "zipcode": "03601"}) == {
            "zip": "[ZIP-1:021]", "zipcode": "[ZIP-2:000]"
        }  # fmt: skip

    def test_ages_over_89_become_90_plus_and_younger_ages_stay(self):
        out = redact({"age": 93, "note": "a 95-year-old and a 45-year-old", "age2": 45})
        assert out == {"age": "90+", "note": "a 90+-year-old and a 45-year-old", "age2": 45}


class TestNamesOutsideTheLists:
    def test_one_unknown_part_joins_a_known_name_written_the_same_way(self):
        out = redact({"a": "Franceska Kennedy called", "b": "TOUSANT, ANDREW rescheduled",
                      "c": "Kennedy, Franceska asked"})  # fmt: skip
        # `Kennedy, Franceska` is the same person as `Franceska Kennedy`: the same placeholder.
        assert out == {"a": "[NAME-1] called", "b": "[NAME-2] rescheduled",
                       "c": "[NAME-1] asked"}  # fmt: skip

    def test_after_a_cue_names_in_scripts_without_capitals_count_too(self):
        out = redact({"a": "Dr. 李伟 signed", "b": "Patient: محمد علي", "c": "Dr. Иванов signed"})
        assert out == {"a": "Dr. [NAME-1] signed", "b": "Patient: [NAME-2]",
                       "c": "Dr. [NAME-3] signed"}  # fmt: skip

    def test_ordinary_words_next_to_a_cue_or_comma_stay(self):
        out = redact({"a": "Mr. 123 paid", "b": "Deploy, Block Kit posted", "c": "Reading, PA"})
        assert out == {"a": "Mr. 123 paid", "b": "Deploy, Block Kit posted", "c": "Reading, PA"}


class TestIntakeDocument:
    def test_resource_uri_survives_but_identifiers_inside_it_do_not(self):
        out = redact({"resource": "s3://phi-exports/cohort/mrn=12345678/john_smith.csv"})
        assert out["resource"] == "s3://phi-exports/cohort/mrn=[MRN-1]/[NAME-1].csv"
        for uri in ["warehouse.clinical.patients", "arn:aws:s3:::phi-exports/2024/",
                    "https://ehr-api.internal/v2/patients"]:  # fmt: skip
            assert redact({"resource": uri}) == {"resource": uri}

    def test_sql_literals_are_redacted_and_sql_structure_survives(self):
        sql = ("SELECT p.full_name, e.encounter_date FROM clinical.patients p JOIN "
               "clinical.encounters e ON e.patient_id = p.id WHERE p.mrn = '12345678' "
               "AND p.name = 'John Smith' AND p.zip LIKE '021%' LIMIT 10")  # fmt: skip
        out = redact({"params": {"sql": sql}})["params"]["sql"]
        assert out == sql.replace("12345678", "[MRN-1]").replace("John Smith", "[NAME-1]").replace(
            "'021%'", "'[ZIP-1:021]'"
        )

    def test_decoys_survive(self):
        text = (
            "In 2023 a 45-year-old from Georgia (ZIP3 021) with E11.9 on metformin; deploy "
            "v2.14.1 at commit 3f2a9c1d on ehr-db-01.corp; SELECT COUNT(*) FROM t"
        )
        assert redact({"note": text}) == {"note": text}


class TestInlineIdentifiers:
    """The shapes the Slack and Teams cards kept (issue 13): no cue word, or one joined by `-`."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Patient (MRN-99812345) needs follow-up", "Patient (MRN-[MRN-1]) needs follow-up"),
            ("identifier 123456789 copied", "identifier [SSN-1] copied"),
            ("call back 6175550142 or 16175550142", "call back [PHONE-1] or [PHONE-1]"),
        ],
    )
    def test_are_redacted(self, text, expected):
        assert redact({"note": text}) == {"note": expected}

    @pytest.mark.parametrize(
        "text",
        [
            "visit-2024 planned", "pi is 3.141592653", "epoch 1733234567", "ms 1733234567123",
            "id 9caf479f-054e-481d-acff-5852458177c0", "rows 123456789-123456799",
            "build v1.123456789", "total 1,234,567,890",
        ],
    )  # fmt: skip
    def test_numbers_that_are_not_identifiers_stay(self, text):
        assert redact({"note": text}) == {"note": text}


class TestFailClosed:
    def test_too_long_string_is_replaced(self):
        small = Redactor(RedactionConfig(max_string_length=100))
        result = small.redact({"blob": "x" * 101})
        assert result.value == {"blob": "[UNSCANNED-1]"}
        assert result.summary() == {"UNSCANNED": 1}

    def test_too_deep_raises_with_path_only(self):
        shallow = Redactor(RedactionConfig(max_depth=3))
        with pytest.raises(RedactionError, match=r"^\$\.a\.a\.a\.a: nested deeper") as error:
            shallow.redact({"a": {"a": {"a": {"a": "John Smith"}}}})
        assert "John" not in str(error.value)

    def test_non_json_values_raise_without_the_value(self):
        with pytest.raises(RedactionError, match=r"^\$\.x: unsupported type bytes$"):
            redact({"x": b"123-45-6789"})

    def test_findings_never_hold_values(self):
        result = redactor().redact({"note": "Patient John Smith SSN 123-45-6789"})
        assert "John" not in repr(result.findings)
        assert "6789" not in repr(result.findings)
        assert result.summary() == {"NAME": 1, "SSN": 1}


class TestConfig:
    def test_extra_keys_custom_patterns_and_keep_keys_are_honoured(self):
        config = RedactionConfig(
            extra_keys=frozenset({"genome_id"}),
            custom_patterns=(("VARIANT", r"\brs\d{4,}\b"),),
            keep_keys=frozenset({"patient_name"}),
        )
        out = (
            Redactor(config)
            .redact(
                {"genomeId": "G-1", "note": "carrier of rs12345", "patient_name": "Test Patient"}
            )
            .value
        )
        assert out == {"genomeId": "[ID-1]", "note": "carrier of [VARIANT-1]",
                       "patient_name": "Test Patient"}  # fmt: skip
        assert Redactor(config).redact(out).value == out

    @pytest.mark.parametrize("pattern", [("lower", "x"), ("OK", "(")])
    def test_bad_custom_patterns_are_refused(self, pattern):
        with pytest.raises(RedactionError, match=r"custom_patterns\[0\]"):
            Redactor(RedactionConfig(custom_patterns=(pattern,)))

    def test_output_is_json_serialisable(self):
        assert json.loads(json.dumps(redact({"a": [1, 2.5, None, True, "DOB 3/4/1961"]})))
