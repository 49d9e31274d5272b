"""The one spelling of a person's or service's identity. Pure; every comparison goes through it.

Self-approval and group membership compare identities, so two spellings of one person must
become one string, and a string that could pass for someone else without being them (a
confusable letter, an invisible character) must be refused rather than stored.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 320  # RFC 5321's bound for an address, also the column width

# After normalisation an identity is ASCII: a name (`svc:etl`, `client:ci`) or name@domain.
# Non-ASCII letters are refused rather than compared, because a Cyrillic "а" in "саrol"
# would otherwise be a second, look-alike identity that self-approval checks cannot link.
_NAME = r"[a-z0-9!#$%&'*+/=?^_`{|}~.:-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_IDENTITY = re.compile(rf"{_NAME}(?:@{_LABEL}(?:\.{_LABEL})*)?")


class InvalidIdentity(ValueError):
    """Not an identity. The message never quotes the value: it may be a patient's name."""


def normalise(raw: str) -> str:
    """The canonical form of `raw`, or InvalidIdentity.

    Steps: Unicode NFKC (fullwidth `＠` is `@`), format characters (category Cf: zero-width
    space, joiners, bidi controls, soft hyphen) removed, surrounding whitespace trimmed, a
    display-name form `Name <addr>` reduced to `addr`, a `mailto:` prefix dropped, case
    folded, then NFKC again (case folding can un-normalise) and checked against the grammar.
    """
    value = unicodedata.normalize("NFKC", raw)
    value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf").strip()
    if value.endswith(">") and "<" in value:
        value = value[value.rindex("<") + 1 : -1].strip()
    value = unicodedata.normalize("NFKC", value.casefold())
    value = value.removeprefix("mailto:").strip()
    if not value:
        raise InvalidIdentity("an identity must not be empty")
    if len(value) > MAX_LENGTH:
        raise InvalidIdentity(f"an identity must be at most {MAX_LENGTH} characters")
    if not value.isascii() or _IDENTITY.fullmatch(value) is None:
        raise InvalidIdentity(
            "not a valid identity: use an email address (name@example.org) or a service "
            "name (svc:nightly-etl), in ASCII, without spaces"
        )
    return value


def identity_key(raw: str | None) -> str:
    """The form to compare a stored or platform-supplied identity by; "" when there is none
    or it is not valid, and "" never equals anyone (callers discard it)."""
    if not raw:
        return ""
    try:
        return normalise(raw)
    except InvalidIdentity:
        return ""
