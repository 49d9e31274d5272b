"""Person names in free text: shipped name lists, cue words, one-pass scan. Pure.

The tables are Faker's provider *lists* (not its random generation) plus U.S. lists shipped
in `data/`: Census 2010 surnames, Census 1990 and SSA baby first names (public domain; made by
scripts/build_name_lists.py, which leaves out common English words), read once per process into
frozensets. The words taken from Faker are committed (`data/faker_words.txt`, written by
scripts/build_faker_words.py and checked against the installed Faker by a test), so the service
runs without Faker installed (it is a dev dependency only) and `approvals redact` starts
without importing Faker's thirteen locale modules (most of a second).
`NameScanner.spans` then scans a string once and applies the rules below to each hit. Common
English words, US states, months, eponymous diseases and infrastructure tool names that are
also someone's name only count next to another name or after a cue, so "Parkinson's", "May" or
"Jenkins job" survive.
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from approvals.redaction.detectors import Span
from approvals.redaction.search import LETTERS
from approvals.redaction.vocabulary import places, w

_LOCALES = (
    "en_US", "en_GB", "en_IE", "en_IN", "es_MX", "es_ES", "fr_FR", "de_DE", "it_IT", "pt_BR",
    "nl_NL", "en_NG", "yo_NG",
)  # fmt: skip
HONORIFICS = frozenset(["dr", "mr", "mrs", "ms", "miss", "mx", "prof", "doctor"])
# Generic cues: a name follows only when it is a known name or after a colon ("Patient: ...").
GENERIC_CUES = frozenset(
    ["patient", "pt", "name", "attending", "provider", "nurse", "physician", "surgeon"]
)
_EXTRA_STOP = (
    # SQL and ops vocabulary
    "select from where join left right inner outer group order having limit case when then "
    "else end union grant revoke insert update delete create drop alter table index view like "
    "null true false and not between exists distinct count sum avg max min cast "
    "jenkins kafka ansible docker redis spark hadoop hive presto trino airflow jupyter grafana "
    "kibana tableau looker snowflake oracle mongo postgres mysql linux ubuntu debian python ruby "
    "rust java scala swift azure chef puppet vault consul terraform helm argo harbor nginx apache "
    "tomcat epic cerner meditech athena allscripts prometheus elastic logstash celery sentry "
    "okta slack teams github gitlab bitbucket atlas delta iceberg parquet avro glue lambda "
    "auth arn cron millis perl lint ord "
    # months, days, seasons
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday spring summer autumn winter fall "
    # US states and territories (a state alone is not PHI)
    "alabama alaska arizona arkansas california colorado connecticut delaware florida georgia "
    "hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts "
    "michigan minnesota mississippi missouri montana nebraska nevada hampshire jersey mexico "
    "york carolina dakota ohio oklahoma oregon pennsylvania rhode island tennessee texas utah "
    "vermont virginia washington west wisconsin wyoming columbia puerto rico guam "
    # eponymous conditions, devices and scores
    "parkinson alzheimer addison crohn hodgkin cushing graves hashimoto huntington bell wilson "
    "raynaud tourette asperger kaposi lyme marfan down turner guillain barre epstein barr apgar "
    "glasgow babinski foley swan ganz holter doppler gram pap heimlich hickman whipple "
    "nissen roux sjogren sjögren reiter wernicke korsakoff bell meniere barrett kawasaki "
    # clinical and everyday words that are also names somewhere
    "patient doctor nurse care health clinic hospital unit ward room bed chart note notes "
    "status admit discharge lab test result results normal stable pain chest heart blood "
    "will may long case young white green page price best hope bill major mark rose grace "
    "faith joy sky rain storm august summer dean chance king queen prince guy rich bishop "
    "hunter baker cook miller mason carter parker porter fisher walker ward lane field "
    "stone wood hill brook rivers ray son dawn drew gene jean lee van von de la le da do mac"
)


@dataclass(frozen=True, slots=True)
class NameTables:
    first: frozenset[str]
    last: frozenset[str]
    stop: frozenset[str]
    vocabulary: frozenset[str]  # words that can start a hit: non-stop names and cue words
    # Names left out of `first`/`last` for being common words (`Homer`, `Archie`, `Hunt`):
    # never a name alone, only paired with another name (shapes.py).
    word_first: frozenset[str] = frozenset()
    word_last: frozenset[str] = frozenset()


def _words(values: Iterable[object]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            for part in value.replace("-", " ").split():
                word = part.strip(".'’").lower()
                if len(word) >= 2 and word.isalpha():
                    yield word


_FAKER_WORDS = "faker_words.txt"
# Sections of `data/faker_words.txt`: the words of these provider attributes, in all _LOCALES.
FAKER_SECTIONS = {
    "first": ("first_names", "first_names_male", "first_names_female"),
    "last": ("last_names",),
}


def faker_words() -> dict[str, list[str]]:
    """The words the tables take from the installed Faker, by section (`lorem`: its English
    word list, the stop words), sorted: what scripts/build_faker_words.py commits."""
    from faker.providers.address.en_US import Provider as Address
    from faker.providers.lorem.en_US import Provider as Lorem

    sections = {name: sorted(_provider_lists(attrs)) for name, attrs in FAKER_SECTIONS.items()}
    sections["lorem"] = sorted({w.lower() for w in Lorem.word_list})
    sections["street_suffixes"] = sorted(set(Address.street_suffixes))
    sections["countries"] = sorted(set(Address.countries))
    return sections


@functools.cache
def committed_faker_words() -> dict[str, frozenset[str]]:
    """`data/faker_words.txt`: `[section]` lines, then one word a line."""
    sections: dict[str, set[str]] = {}
    current: set[str] = set()
    for line in _listed(_FAKER_WORDS, keep_order=True):
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], set())
        else:
            current.add(line)
    return {name: frozenset(words) for name, words in sections.items()}


def _provider_lists(attribute_names: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    for locale in _LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in attribute_names:
            found.update(_words(getattr(provider, attribute, ())))
    return found


def _listed(file_name: str, keep_order: bool = False) -> list[str] | set[str]:
    text = importlib.resources.files("approvals.redaction").joinpath("data", file_name).read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return lines if keep_order else set(lines)


@functools.cache
def name_tables() -> NameTables:
    """Built once per process from the committed Faker words and the U.S. lists; immutable."""
    faker = committed_faker_words()
    first = faker["first"] | set(_listed("us_first_names.txt"))
    last = faker["last"] | set(_listed("us_surnames.txt"))
    stop = faker["lorem"] | frozenset(_EXTRA_STOP.split())
    stop |= places(faker["countries"])  # `Spain`, `Poland`: countries alone are not people
    # Stop words never start a hit; a run reaches them from a neighbouring name instead.
    vocabulary = ((first | last) - stop) | HONORIFICS | GENERIC_CUES
    return NameTables(
        frozenset(first),
        frozenset(last),
        stop,
        frozenset(vocabulary),
        frozenset(_listed("us_word_first_names.txt")),
        frozenset(_listed("us_word_surnames.txt")),
    )


_WORD = r"[^\W\d_]+(?:['’-][^\W\d_]+)*"
# Below this length a Python loop over words beats compiling a pattern of the words found.
_SHORT_TEXT = 4096
# Above this many different names in one ASCII text, `_ascii_hits` reads letter runs instead.
_FIND_WORDS = 64
_ASCII_LETTERS = re.compile(r"[a-z]+")
_ASCII_RUNS = re.compile(r"[A-Za-z]+")  # `LETTERS` on ASCII text
_SPAN = re.Match.span
_STEP = re.compile(r"(?P<sep>[ \t]*,[ \t]*|[ \t]+|_)(?P<tok>" + _WORD + r")(?P<dot>\.)?")
_WORD_AT = re.compile(_WORD)
# The word and separator just before a hit, read on the reversed text from the hit backwards.
# `_WORD` and the separators read the same both ways, and the greedy match is the longest, so
# this finds what `(?P<tok>WORD)(?P<sep>…)$` searched over the 48 characters before the hit
# finds (its leftmost start), without trying all 48 starts.
_PREV_REVERSED = re.compile(r"(?P<sep>[ \t]*,[ \t]*|[ \t]+|_)(?P<tok>" + _WORD + r")")
_PREV_WINDOW = 48
_CUE_GAP = re.compile(r"\.?(?P<colon>[ \t]*:)?[ \t]*")
_MAX_TOKENS = 4
# Lower-case particles inside a name (`Mr. van den Oord`, `Maria da Silva`): a run goes on over
# them to the capitalised word that follows.
PARTICLES = frozenset(
    w("van von den der de da di du del della dos das do le la ter ten zu af bin ibn al el")
)


def _capitalised(token: str) -> bool:
    return token[:1].isupper()


def _caseless(token: str) -> bool:
    """Written in a script without capitals (Chinese, Arabic, Hebrew...): after a cue such a
    word is as much a name as a capitalised one (`Dr. 李伟`)."""
    first = token[:1]
    return first.isalpha() and first.lower() == first.upper()


class NameScanner:
    """Finds person-name spans; holds only the shared immutable tables."""

    __slots__ = ("_first", "_known", "_last", "_stop", "_vocabulary")

    def __init__(self, tables: NameTables) -> None:
        self._first = tables.first
        self._last = tables.last
        self._known = tables.first | tables.last
        self._stop = tables.stop
        self._vocabulary = tables.vocabulary

    def spans(
        self, text: str, words: frozenset[str], lower: str | None = None
    ) -> list[tuple[int, int]]:
        """Name spans in `text`; `words` are its lower-cased letter runs and `lower` its
        lower-cased text, when the caller has them (`search.features`)."""
        # One C-speed set intersection decides whether any name or cue occurs at all (the
        # common answer is no); only then are positions looked up, for those words alone.
        present = self._vocabulary.intersection(words)
        if not present:
            return []
        found: list[tuple[int, int]] = []
        done = 0
        backwards = text[::-1]
        for start, end in self._hits(text, present, lower):
            if start < done:
                continue
            token = text[start:end]
            word = token.lower()
            if word in HONORIFICS or word in GENERIC_CUES:
                span = self._after_cue(text, end, honorific=word in HONORIFICS)
            else:
                span = self._run(text, backwards, start, end, token)
            if span is not None:
                found.append(span)
                done = span[1]
        return found

    @staticmethod
    def _hits(
        text: str, present: frozenset[str], lower: str | None
    ) -> Iterator[tuple[int, int]] | list[tuple[int, int]]:
        """Whole letter runs of `text` whose lower case is in `present`, in text order."""
        if lower is not None and text.isascii():
            return ascii_hits(lower, present)
        # An alternation of many words is tried word by word at every position: past
        # `_FIND_WORDS` words one pass over the letter runs is linear, as for short text.
        if len(text) <= _SHORT_TEXT or len(present) > _FIND_WORDS:
            return (m.span() for m in LETTERS.finditer(text) if m.group().lower() in present)
        alternation = "|".join(sorted(map(re.escape, present), key=len, reverse=True))
        pattern = re.compile(rf"(?<![^\W\d_])(?:{alternation})(?![^\W\d_])", re.IGNORECASE)
        return (m.span() for m in pattern.finditer(text))

    def _extend(self, text: str, tokens: list[tuple[int, int, str]]) -> bool:
        """Grow a run rightwards over names, initials (`J.`) and, in Title Case, unknown words;
        True when every word of the run starts with a capital.

        Runs once per name hit, so what a step needs about the run so far (all capitalised or
        particles) is carried along, not recounted."""
        first = tokens[0][2]
        titled = capitalised = first[:1].isupper()
        for _, _, word in tokens[1:]:
            titled = titled and word[:1].isupper()
            capitalised = capitalised and (word[:1].isupper() or word in PARTICLES)
        known, stop = self._known, self._stop
        while len(tokens) < _MAX_TOKENS:
            step = _STEP.match(text, tokens[-1][1])
            if step is None:
                return titled
            sep, token, dot = step.groups()
            if "," in sep and not (len(tokens) == 1 and self._comma_pair(first, token)):
                return titled
            token_start, token_end = step.span(2)
            initial = dot is not None and len(token) == 1 and token.isupper()
            # A particle joins a capitalised run when a capitalised word follows it (`Maria da
            # Silva`), and that word joins after it.
            if not (
                initial
                or (tokens[-1][2] in PARTICLES and len(tokens) > 1 and token.istitle())
                or (token in PARTICLES and capitalised and self._title_after(text, token_end))
            ):
                folded = token.lower()
                if folded in known:
                    if not (capitalised == token[:1].isupper() or folded not in stop):
                        return titled
                # An unknown word joins a Title Case run only in Title Case itself ("John
                # Okonkwo"), never as an acronym ("John Smith MRN ..."); in a script without
                # capitals, a word of that script joins a run of it ("Patient: محمد علي").
                elif folded in stop or not (
                    (capitalised and token.istitle())
                    or (_caseless(token) and all(_caseless(t[2]) for t in tokens))
                ):
                    return titled
            tokens.append((token_start, step.end() if initial else token_end, token))
            upper = token[:1].isupper()
            titled = titled and upper
            capitalised = capitalised and (upper or token in PARTICLES)
        return titled

    @staticmethod
    def _title_after(text: str, end: int) -> bool:
        step = _STEP.match(text, end)
        return step is not None and "," not in step.group("sep") and step.group("tok").istitle()

    def _after_cue(self, text: str, end: int, honorific: bool) -> tuple[int, int] | None:
        gap = _CUE_GAP.match(text, end)
        start = gap.end() if gap is not None else end
        colon = gap is not None and gap.group("colon") is not None
        if start == end and not honorific:
            return None
        first = _WORD_AT.match(text[start : start + 64])
        if first is None:
            return None
        token = first.group()
        folded = token.lower()
        loose = honorific or colon
        if not (
            (folded in self._known and (folded not in self._stop or loose))
            or (loose and (_capitalised(token) or _caseless(token)) and folded not in GENERIC_CUES)
        ):
            return None
        tokens = [(start, start + len(token), token)]
        self._extend(text, tokens)
        return tokens[0][0], tokens[-1][1]

    def _run(
        self, text: str, backwards: str, start: int, end: int, token: str
    ) -> tuple[int, int] | None:
        tokens = [(start, end, token)]
        size = len(text)
        prev = _PREV_REVERSED.match(backwards, size - start, size - max(0, start - _PREV_WINDOW))
        if prev is not None:
            before_start, before_end = size - prev.end("tok"), size - prev.start("tok")
            before = text[before_start:before_end]
            comma = "," in prev.group("sep")
            if (comma and self._comma_pair(before, token)) or (
                not comma and self._joins_before(before, token)
            ):
                tokens.insert(0, (before_start, before_end, before))
        titled = self._extend(text, tokens)
        if len(tokens) >= 2 and (titled or self._plausible_run(tokens)):
            return tokens[0][0], tokens[-1][1]
        # Alone, a known name counts in Title Case only: all-caps words alone are acronyms (MAC).
        if token.istitle() and token.lower() not in self._stop:
            return start, end
        return None

    def _comma_pair(self, last: str, first: str) -> bool:
        """`LAST, FIRST` (`SMITH, JOHN`, `Okonkwo, Ada`): both known names, or one known on
        its side of the comma and the other an unknown word written the same way (both Title
        Case or both capitals), neither a stop word: people's names outrun any list."""
        last_folded, first_folded = last.lower(), first.lower()
        if last_folded in self._last and first_folded in self._first:
            return True
        same_case = (last.istitle() and first.istitle()) or (last.isupper() and first.isupper())
        if not same_case or len(last) < 2 or len(first) < 2:
            return False
        if last_folded in self._stop or first_folded in self._stop:
            return False
        return (last_folded in self._last and first_folded not in self._known) or (
            first_folded in self._first and last_folded not in self._known
        )

    def _joins_before(self, before: str, token: str) -> bool:
        """Does the word before a hit belong to the name? A known name written the same way
        does; so does an unknown Title Case word before a Title Case last name (`Franceska
        Kennedy`), the mirror of an unknown word joining a run rightwards."""
        folded = before.lower()
        if folded in self._known:
            return before[:1].isupper() == token[:1].isupper()
        return (
            before.istitle()
            and token.istitle()
            and token.lower() in self._last
            and folded not in self._stop
            and folded not in GENERIC_CUES
        )

    def _plausible_run(self, tokens: list[tuple[int, int, str]]) -> bool:
        """Title Case runs need one known name; lower-case runs a first and a last name."""
        if all(_capitalised(t[2]) for t in tokens):
            return True
        folded = [t[2].lower() for t in tokens]
        return any(f in self._first for f in folded) and any(f in self._last for f in folded)


def ascii_hits(lower: str, present: frozenset[str]) -> list[tuple[int, int]]:
    """`_hits` on ASCII text (positions in `lower` are positions in the text): each present
    word found with `str.find` and kept where it is a whole letter run. An occurrence that is
    not one cannot overlap the next that is (letters surround it), so the search jumps past it.

    Each word's search reads the whole text, so past `_FIND_WORDS` words present (a text of
    many different names) one pass over its letter runs is used instead: the searches made
    100 KB of distinct names take 0.8 s, four times what 50 KB took."""
    if len(present) > _FIND_WORDS:
        return [m.span() for m in _ASCII_LETTERS.finditer(lower) if m.group() in present]
    hits: list[tuple[int, int]] = []
    size = len(lower)
    for word in present:
        length = len(word)
        i = lower.find(word)
        while i >= 0:
            j = i + length
            if (i == 0 or not lower[i - 1].isalpha()) and (j == size or not lower[j].isalpha()):
                hits.append((i, j))
            i = lower.find(word, j)
        # A word of the vocabulary is letters only, so two whole-run hits never share a start.
    hits.sort()
    return hits


# A word of a name found once that may recur (`recurring_words`): Title Case, four letters up.
_TITLE_TOKEN = re.compile(r"\b[A-ZÀ-Þ][a-zß-ÿ]{3,}\b")


def recurring(
    text: str, spans: list[Span], carries: Callable[[str], bool]
) -> list[tuple[int, int]]:
    """The letter runs outside `spans` written as a Title Case word of a NAME span that carries
    over to the rest of the string (`carries`, given the word in lower case: see
    `shapes.ShapeScanner.repeats`). Either half may answer "none" first: the words, when the
    NAME spans hold few different texts (100 KB of `Dr. ` holds one), else the runs (100 KB
    of distinct names has thousands of texts and no run outside them)."""
    # A span's words depend only on its text and the character before it (the `\\b`).
    texts: dict[tuple[bool, str], tuple[int, int]] = {}
    for span in spans:
        if span.type == "NAME":
            start, end = span.start, span.end
            texts.setdefault((start == 0, text[start - 1 if start else 0 : end]), (start, end))

    def words(among: set[str] | None = None) -> set[str]:
        """The spans' Title Case words that carry over; with `among`, only those of them (the
        texts of the runs left): `carries` is the costly part, and one run left in a text of
        thousands of names must not make every name's words be judged (a step in the time
        between 50 and 100 KB of distinct names, 37 → 102 ms)."""
        found: set[str] = set()
        for start, end in texts.values():
            found.update(_TITLE_TOKEN.findall(text, start, end))
        if among is not None:
            found &= among
        return {word for word in found if carries(word.lower())}

    if len(texts) <= _FIND_WORDS:
        found = words()
        if found and text.isascii() and len(found) <= _FIND_WORDS:
            return _uncovered_copies(text, spans, found)
        runs = uncovered_runs(text, spans) if found else []
    else:
        runs = uncovered_runs(text, spans)
        found = words({text[start:end] for start, end in runs}) if runs else set()
    return [(start, end) for start, end in runs if text[start:end] in found]


def _uncovered_copies(text: str, spans: list[Span], found: set[str]) -> list[tuple[int, int]]:
    """The letter runs of ASCII `text` written as one of `found` (words of ASCII letters) that
    lie inside none of `spans`, in text order: `uncovered_runs` kept to those words, each found
    with `str.find` (as `ascii_hits`: a copy inside a longer run is jumped past) instead of
    reading every run of the text in Python."""
    hits: list[tuple[int, int]] = []
    size = len(text)
    for word in found:
        i = text.find(word)
        while i >= 0:
            j = i + len(word)
            if (i == 0 or not text[i - 1].isalpha()) and (j == size or not text[j].isalpha()):
                hits.append((i, j))
            i = text.find(word, j)
    if not hits:
        return []
    hits.sort()
    return _outside(spans, hits)


def uncovered_runs(text: str, spans: list[Span]) -> list[tuple[int, int]]:
    """The letter runs of `text` that lie inside none of `spans`, in text order: where a name
    found once may recur (`shapes.ShapeScanner.repeats`). `text._merge` absorbs a hit inside
    another (or drops it, inside a protected span), so a run inside one would change nothing
    but the time; in a text of names nearly every run lies inside a run found, and when none
    is left the words that carry over need not be read at all."""
    pattern = _ASCII_RUNS if text.isascii() else LETTERS
    return _outside(spans, map(_SPAN, pattern.finditer(text)))


def _outside(spans: list[Span], runs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The `runs` (in text order) that end past every span starting at or before them: one
    sweep over both, sorted."""
    bounds = sorted([(span.start, span.end) for span in spans])
    out: list[tuple[int, int]] = []
    i, count, reach = 0, len(bounds), -1
    for start, end in runs:
        # `reach`: the furthest end of the spans starting at or before this run.
        while i < count and bounds[i][0] <= start:
            reach = max(reach, bounds[i][1])
            i += 1
        if end > reach:
            out.append((start, end))
    return out
