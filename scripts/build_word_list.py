"""Regenerate `approvals/redaction/data/english_words.txt.gz`: the English vocabulary against
which the name scanner judges a capitalised word it does not know (names.py, "unknown words").

Source: the "web2" list (Webster's Second International Dictionary, 1934; public domain) as
shipped by the `english-words` package 2.0.2 (MIT). Only its lower-case entries are kept: web2
writes proper nouns with a capital, so the lower-case entries are common words, not names.
Words of one letter and words with other characters are dropped.

    pip download --no-deps english-words==2.0.2 -d /tmp/ew && \
        (cd /tmp/ew && unzip -o -q english_words-2.0.2-py3-none-any.whl)
    python scripts/build_word_list.py /tmp/ew
"""

from __future__ import annotations

import gzip
import pickle
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "approvals" / "redaction" / "data"


def main(source: Path) -> None:
    with (source / "english_words" / "data" / "web2.pickle").open("rb") as handle:
        words = pickle.load(handle)  # noqa: S301
    kept = sorted(w for w in words if w.isascii() and w.isalpha() and w.islower() and len(w) > 1)
    header = "# web2 lower-case entries (public domain), via english-words 2.0.2 (MIT)\n"
    data = (header + "\n".join(kept) + "\n").encode()
    (OUT / "english_words.txt.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    sys.stdout.write(f"{len(kept)} words\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
