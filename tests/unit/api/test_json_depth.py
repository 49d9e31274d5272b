"""The body guard's nesting depth, counted on the raw bytes, against the parsed value's.

The guard never parses (a deep body would crash `json.loads`), so it must skip brackets
inside strings by itself, escaped quotes and backslashes included. The oracle here is the
depth of the value the JSON was written from.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from approvals.api.middleware import json_depth

# Strings full of the characters that could fool a byte-level scan.
_TRICKY_TEXT = st.text(alphabet=st.sampled_from('ab"\\[]{}/\n\u00e9\u2028'), max_size=12)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY_TEXT, inner, max_size=4),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(_VALUES, st.booleans())
def test_depth_of_the_bytes_is_the_depth_of_the_value(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert json_depth(body) == _depth(value)


def test_a_string_that_ends_in_an_escaped_backslash_closes() -> None:
    # `"\\"` is one backslash: the quote after it ends the string, and the `[` is real.
    assert json_depth(b'{"a": "\\\\", "b": [[1]]}') == 3
    assert json_depth(b'{"a": "\\"[[[", "b": 1}') == 1
