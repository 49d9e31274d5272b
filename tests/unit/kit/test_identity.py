"""One spelling per identity: every form that names the same person compares equal, and what
could pass for someone without being them is refused without being repeated."""

from __future__ import annotations

import pytest

from approvals.kit.identity import InvalidIdentity, identity_key, normalise


class TestNormalise:
    @pytest.mark.parametrize(
        "spelling",
        [
            "carol@example.org",
            "Carol@Example.ORG",
            "  carol@example.org\t",
            "mailto:carol@example.org",
            "MAILTO:Carol@example.org",
            "Carol <carol@example.org>",
            '"Carol, DBA" <mailto:carol@example.org>',
            "car\u200bol@example.org",  # zero-width space (Cf)
            "\u202ecarol@example.org",  # right-to-left override (Cf)
            "carol\u00ad@example.org",  # soft hyphen (Cf)
            "carol\uff20example.org",  # fullwidth commercial at
            "\uff43arol@example.org",  # fullwidth c
            "\u00a0carol@example.org\u3000",  # no-break and ideographic spaces
        ],
    )
    def test_every_spelling_of_one_address_is_one_identity(self, spelling: str) -> None:
        assert normalise(spelling) == "carol@example.org"

    @pytest.mark.parametrize("name", ["svc:nightly-etl", "client:ci", "svc:etl@example.org"])
    def test_service_names_are_identities(self, name: str) -> None:
        assert normalise(name.upper()) == name

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "   ",
            "\u200b",
            "mailto:",
            "Carol <>",
            "carol smith@example.org",  # a space inside
            "carol@@example.org",
            "carol@",
            "@example.org",
            "carol@example..org",
            "\u0441arol@example.org",  # Cyrillic es: a look-alike, not carol
            "carol@exämple.org",
            "carol\x00@example.org",
            "carol\n@example.org",
            "a" * 321,
        ],
    )
    def test_what_is_not_an_identity_is_refused_without_repeating_it(self, value: str) -> None:
        with pytest.raises(InvalidIdentity) as caught:
            normalise(value)
        message = str(caught.value)
        assert "carol" not in message and "exämple" not in message

    def test_comparisons_treat_an_invalid_identity_as_nobody(self) -> None:
        assert identity_key(None) == ""
        assert identity_key("not an identity") == ""
        assert identity_key(" MailTo:Bob@Example.ORG ") == "bob@example.org"
