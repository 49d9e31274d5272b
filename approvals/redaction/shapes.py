"""Fail-closed shapes in free text: identifiers, unknown capitalised words, loose phones. Pure.

The value detectors (detectors.py) and the name scanner (names.py) find what they recognise;
this module finds what is *shaped* like PHI whatever its cue, and what must be kept whatever
a list says:
- identifiers: a run of six digits or more, or letters mixed with four digits or more
  (`536221784`, `HZF319487574`, `labs_MRN104234685.csv`), and UUIDs, unless the run has a
  documented safe shape (docs/redaction.md, "Fail closed on identifiers");
- unknown words (the Philter design, set look-ups only): a capitalised word that is neither an
  English word (web2), a known safe word (countries, nationalities, medical and technical
  vocabulary) nor shaped like a drug or procedure is taken as a name or place (`Cinzia`,
  `Hamanová`, `Иван`); a number next to it is part of the address (`Sömmeringstr. 78`);
- loose phones (`555.010.9999`, `449 8068`) and ZIP codes after a state (`Boston MA 02108`,
  `Springfield, Illinois 62704`, `02139-4307`): digit_shapes.py;
- protected (kept) spans: hashes (32/40/64 hex), company names with a legal suffix (`Williams
  LLC`), eponyms before a medical head noun (`Nissen fundoplication`, `Sjogren syndrome`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter

from approvals.redaction.addresses import (
    FUNCTION_WORDS,
    POSTAL_BEFORE,
    STREET_TYPES,
    streets,
)
from approvals.redaction.detectors import Span
from approvals.redaction.digit_shapes import phones_and_zips
from approvals.redaction.identifiers import identifiers
from approvals.redaction.kept import PROTECT_WORDS, companies_joined, protected
from approvals.redaction.names import (
    NameTables,
    ascii_hits,
    committed_faker_words,
    recurring,
)
from approvals.redaction.search import runs_lowered_in
from approvals.redaction.vocabulary import english_words, places, safe_words
from approvals.redaction.vocabulary import w as _words

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_TYPE = itemgetter(2)  # of a Span
_CASELESS_MAX = 12
_LATIN_END = "\u024f"
_WORD_BEFORE_MAX = 32
_NEXT = re.compile(r"[ \t]+(?P<w>[^\W\d_]+)\b")
# The two words before an unknown capitalised word (`Else Lundblad`, `Rio de Janeiro`), read on
# the reversed text from the word backwards: one match, not a search of every start before it.
_BEFORE_REVERSED = re.compile(
    r"[ \t]+(?P<a>[^\W\d_]{1,40})(?![^\W\d_])(?:[ \t]+(?P<b>[^\W\d_]{1,40})(?![^\W\d_]))?"
)
_CAPS_MIN = 6
# Medical and drug word endings: capitalised at a sentence's start, never a person.
_MEDICAL_SUFFIXES = (
    "pril", "olol", "statin", "sartan", "mab", "nib", "cillin", "mycin", "cycline", "azole",
    "pine", "formin", "gliptin", "glitazone", "tide", "zepam", "azepam", "oxacin", "vir",
    "itis", "osis", "ectomy", "otomy", "ostomy", "plasty", "scopy", "emia", "algia", "pathy",
    "oma", "uria", "ology", "ologist", "gram", "graphy", "lysis", "plegia", "trophy", "cardia",
    "penia", "megaly", "sone", "olone", "prazole", "dipine", "parin", "xaban", "gatran",
    "thiazide", "semide", "etine", "aline", "triptan", "profen", "amine", "idine", "tidine",
)  # fmt: skip
_INITIAL_NAME = re.compile(r"[A-ZÀ-Þ](?<=\b.)[^\W\d_]+[ \t]+[A-Z]\.[ \t]+[A-ZÀ-Þ][^\W\d_]+")
_LOWER_NAME_VERB = re.compile(
    r"\b(?P<w>[a-z]{2,})[ \t]+(?:called|calls|phoned|said|says|states|stated|reports|reported"
    r"|asked|emailed|texted|wrote|agreed|complains|complained|denies|denied|left|came"
    r"|was[ \t]+seen)\b"
)
_NUMBER_AFTER = re.compile(r"\.?,?[ \t]+(?P<n>\d{1,5}[A-Za-z]?(?:-\d{1,4})?)(?![\w.:/-])")
_NUMBER_BEFORE = re.compile(r"(?<![\w.:/-])(?P<n>\d{1,5}[A-Za-z]?)[ \t]+$")


def _word_before(text: str, start: int) -> tuple[str, int]:
    """The word one run of blanks before `start`, and where it starts ("" when there is none):
    read backwards a character at a time (a window search tried every start in the window)."""
    i = start
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    if i == start:
        return "", start
    j = i
    while j > 0 and i - j < _WORD_BEFORE_MAX and text[j - 1].isalpha():
        j -= 1
    if j > 0 and text[j - 1].isalnum():
        return "", start  # longer than a name, or glued to digits
    return text[j:i], j


def _stems(word: str) -> tuple[str, ...]:
    out = [word]
    for suffix, repl in (("'s", ""), ("’s", ""), ("ies", "y"), ("ied", "y"), ("es", ""),
                         ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"),
                         ("ly", ""), ("er", ""), ("ers", ""), ("ation", "e")):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.append(word[: len(word) - len(suffix)] + repl)
    return tuple(out)


def _caseless(word: str) -> bool:
    first = word[:1]
    return first.isalpha() and first.lower() == first.upper()


class ShapeScanner:
    """Holds the shared immutable vocabularies; no per-call state."""

    __slots__ = (
        "_first", "_last", "_listed", "_listed_or_safe", "_places", "_safe", "_stop",
        "_word_first", "_word_last",
    )  # fmt: skip

    def __init__(self, tables: NameTables) -> None:
        self._first = tables.first
        self._last = tables.last
        self._word_first = tables.word_first
        self._word_last = tables.word_last
        countries = committed_faker_words()["countries"]
        self._places = places(countries)
        self._safe = safe_words(countries)
        # Listed names are the name scanner's (names.py); stop words are never a name alone.
        self._listed = tables.first | tables.last | tables.stop
        # Their union, so a string's words are looked up once (~40 000 words, ~2 MB): the two
        # sets subtracted in turn cost three passes and as many new sets per string.
        self._listed_or_safe = self._listed | self._safe
        self._stop = tables.stop

    def spans(
        self, text: str, words: frozenset[str], digit: bool, found_before: Sequence[Span] = ()
    ) -> list[Span]:
        found: list[Span] = []
        if not words.isdisjoint(PROTECT_WORDS):
            found += protected(text, words, self._first, self._last)
        if "&" in text:
            found += companies_joined(text, self._first)
        if digit:
            found += identifiers(text, found_before)
            found += phones_and_zips(text, words, self._places)
        # web2 (210 000 words) is read on first need, after the small sets: a one-document
        # `approvals redact` of listed names and safe words never pays for it.
        unknown = words.difference(self._listed_or_safe)
        if unknown:
            unknown = unknown.difference(english_words())
        if unknown:
            # Only words written with a capital (or in another script) can be names alone; a
            # lower-case one only after a first name (`marisa bisliev`).
            pairs = not (words.isdisjoint(self._first) and words.isdisjoint(self._last))
            shown = frozenset(
                u
                for u in unknown
                if pairs
                or not u.isascii()
                or u.capitalize() in text
                or (len(u) >= _CAPS_MIN and u.upper() in text)
            )
            if shown:
                found += self._unknown_words(text, shown)
        if " " in text and not (
            words.isdisjoint(self._first)
            and words.isdisjoint(self._word_first)
            and words.isdisjoint(_VERBS)
        ):
            found += self._word_names(text, words)
        if ". " in text:
            found += [Span(m.start(), m.end(), "NAME", "name-initial")
                      for m in _INITIAL_NAME.finditer(text)]  # fmt: skip
        if (
            (not words.isdisjoint(_CONTEXT_WORDS) or ":" in text or "!" in text or "?" in text)
            and not (words.isdisjoint(self._first) and words.isdisjoint(self._word_first))
            and _person_context_possible(text, words)
        ):
            found += self._person_context(text)
        if not words.isdisjoint(STREET_TYPES):
            found += streets(text, self._safe, words)
        return found

    def repeats(self, text: str, spans: list[Span]) -> list[Span]:
        """A name found once is that name wherever it recurs in the same string, written the
        same way (`Carolina shouted at Carolina`): the cue that showed it may stand next to one
        occurrence only. Only words that are listed first names or in no dictionary carry over
        (a word taken for a name by mistake, `Mrn`, `Job`, does not spread), and not inside
        code (`p.Mrn`, `Job-42`). See `names.recurring`: one pass over the letter runs outside
        the spans found, and the words of the names found, each only when the other has some."""
        if "NAME" not in map(_TYPE, spans):
            return []  # no name found: nothing can recur (and the runs need not be read)
        return [
            Span(start, end, "NAME", "name-repeat")
            for start, end in recurring(text, spans, self._carries)
            if not (start and (text[start - 1] in "._/\\@#$%-" or text[start - 1].isalnum()))
            and text[end : end + 1] not in ("_", "(", "/", "=", "-")
        ]

    def _carries(self, folded: str) -> bool:
        """A listed first name that is no English word (`Carolina`), or a word of no vocabulary
        (`Okonkwo`); not `Mark`, `Job` or `Contacts`, which may have been taken by mistake."""
        if len(folded) < 4 or folded in _NOT_FIRST or folded in self._safe:
            return False
        if folded not in self._stop and (folded in self._first or folded in self._last):
            return True  # a listed name that is no common word: web2 is not needed (start-up)
        if folded in self._first or folded in self._word_first:
            return folded not in english_words()
        return folded not in self._stop and self._unknown([folded])

    def _person_context(self, text: str) -> list[Span]:
        out: list[Span] = []
        for m in _PERSON_CONTEXT.finditer(text):
            group = next(g for g in ("a", "b", "c", "d") if m[g] is not None)
            word = m[group].lower()
            if (word in self._first or word in self._word_first) and word not in _NOT_FIRST:
                out.append(Span(m.start(group), m.end(group), "NAME", "name-context"))
        return out

    # --- names and places beyond the lists -----------------------------------------------------

    def _unknown_words(self, text: str, unknown: frozenset[str]) -> list[Span]:
        out: list[Span] = []
        backwards = text[::-1]
        verdicts: dict[str, bool] = {}
        camels: dict[str, bool] = {}
        for start, end in self._hits(text, unknown):
            word = text[start:end]
            if word.islower():
                if word[0] > _LATIN_END and not _caseless(word):
                    out.append(Span(start, end, "NAME", "unknown-word"))  # Greek, Cyrillic…
                    continue
                span = self._lower_pair(text, start, end, word)
                if span is not None:
                    out.append(span)
                continue
            if word[0] > _LATIN_END and not _caseless(word):
                out.append(Span(start, end, "NAME", "unknown-word"))  # Greek, Cyrillic…
                continue
            if _caseless(word):
                if len(word) <= _CASELESS_MAX:
                    out.append(Span(start, end, "NAME", "unknown-word"))
                continue
            if not word[:1].isupper() or (word.isupper() and len(word) < _CAPS_MIN):
                continue  # an acronym: capitals alone count from six letters up
            camel = camels.get(word)
            if camel is None:
                camel = camels[word] = not word.isupper() and any(c.isupper() for c in word[1:])
            if camel:
                continue  # CamelCase: a product or code name (GitHub, PostgreSQL)
            if (start and (text[start - 1] in "._/\\@#$%" or text[start - 1].isdigit())) or text[
                end : end + 1
            ] in ("_", "(", "/"):
                continue  # part of code, a path, an identifier or a percent escape (`%3Dsummary`)
            folded = word.lower()
            verdict = verdicts.get(folded)
            if verdict is None:  # a text of one name repeated asks once, not per occurrence
                verdict = verdicts[folded] = self._unknown([folded])
            if verdict:
                span = self._with_number(text, start, end)
                if span.type == "NAME":
                    span = Span(self._title_before(backwards, start), end, "NAME", "unknown-word")
                out.append(span)
        return out

    def _lower_pair(self, text: str, start: int, end: int, word: str) -> Span | None:
        """A lower-case word of no vocabulary next to a listed name is a name with it: after a
        first name (`marisa bisliev`), or before a surname (`eustaquia acevedo`)."""
        span: Span | None = None
        before, before_start = _word_before(text, start)
        if before.islower() and before in self._first and before not in self._stop:
            span = Span(before_start, end, "NAME", "unknown-word")
        else:
            after = _NEXT.match(text, end)
            last = after["w"] if after is not None else ""
            if (
                after is not None
                and last.islower()
                and last in self._last
                and last not in self._stop
            ):
                span = Span(start, after.end("w"), "NAME", "unknown-word")
        # The vocabulary check last: it costs the most (stems, web2).
        return span if span is not None and self._unknown([word]) else None

    def _title_before(self, backwards: str, start: int) -> int:
        """Where a name found as an unknown capitalised word starts: a Title Case word before
        it belongs to it when it is a listed first name, even one that is a word (`Else
        Lundblad`), or no dictionary word itself (`Anas Rønning`); with a particle between,
        when it is no English word (`Rio de Janeiro`). `backwards` is the text reversed."""
        size = len(backwards)
        m = _BEFORE_REVERSED.match(backwards, size - start)
        if m is None:
            return start
        particle: str | None = None
        word, word_start = m["a"][::-1], size - m.end("a")
        if m["b"] is not None and len(word) <= 3 and word.islower():
            particle, word, word_start = word, m["b"][::-1], size - m.end("b")
        if len(word) < 2 or not ("A" <= word[0] <= "Z" or "À" <= word[0] <= "Þ"):
            return start
        folded = word.lower()
        if folded in _NOT_FIRST or folded in FUNCTION_WORDS:
            return start
        if folded not in self._first and (folded in self._places or folded in self._safe):
            return start  # `Spain`, `EMAIL`, but `Jan Kreutzmann`
        if not (word.istitle() or (word.isupper() and backwards[size - start - 1].isupper())):
            return start
        english = english_words()
        if particle is not None:
            if particle in FUNCTION_WORDS or (particle in english and particle not in _PARTICLES):
                return start
            return word_start if folded not in english or folded in self._first else start
        if folded in self._first or folded in self._word_first or folded not in english:
            return word_start
        return start

    @staticmethod
    def _hits(text: str, unknown: frozenset[str]) -> list[tuple[int, int]]:
        """Where the unknown words occur as whole letter runs (as `search.features` splits)."""
        if text.isascii():
            return ascii_hits(text.lower(), unknown)
        return runs_lowered_in(text, unknown)

    def _unknown(self, parts: list[str]) -> bool:
        english = english_words()
        for part in parts:
            if len(part) < 2 or part in self._safe or part in english:
                continue
            if part in self._listed or part.endswith(_MEDICAL_SUFFIXES):
                continue
            if any(stem in english or stem in self._safe for stem in _stems(part)):
                continue
            return True
        return False

    @staticmethod
    def _with_number(text: str, start: int, end: int) -> Span:
        """An unknown word with a house number or postal code beside it is an address."""
        after = _NUMBER_AFTER.match(text, end)
        before = POSTAL_BEFORE.search(text[max(0, start - 12) : start])
        if before is None:
            before = _NUMBER_BEFORE.search(text[max(0, start - 8) : start])
        if after is None and before is None:
            return Span(start, end, "NAME", "unknown-word")
        new_start = start - (len(before.group()) if before is not None else 0)
        new_end = after.end("n") if after is not None else end
        return Span(new_start, new_end, "ADDRESS", "unknown-word")

    def _word_names(self, text: str, words: frozenset[str]) -> list[Span]:
        """Names that are also words: a Title Case first name + surname (`Grace Wood`, `April
        May`), and a lower-case listed name before a verb of speech (`smith called back`)."""
        out: list[Span] = []
        # Pairs of names that are not words are names.py's; only word-names need this rule.
        firsts = not (words.isdisjoint(self._first) and words.isdisjoint(self._word_first))
        pairs = firsts and not (words.isdisjoint(self._stop) and words.isdisjoint(self._word_last))
        for m in _PAIR.finditer(text) if pairs else ():
            first, last = m["a"].lower(), m["b"].lower()
            worded = first in self._word_first or last in self._word_last
            if (
                (first in self._stop or last in self._stop or worded)
                and (first in self._first or first in self._word_first)
                and (last in self._last or last in self._word_last)
                and first not in _NOT_FIRST
                and not _DIGIT_AFTER.match(text, m.end("b"))
            ):
                out.append(Span(m.start("a"), m.end("b"), "NAME", "name-pair"))
        for m in _LOWER_NAME_VERB.finditer(text) if not words.isdisjoint(_VERBS) else ():
            word = m["w"]
            if (word in self._last or word in self._first) and word not in _COMMON_LOWER:
                out.append(Span(m.start("w"), m.end("w"), "NAME", "name-verb"))
        return out


# A listed first name, even one that is a word or a place (`Jordan`, `Carolina`), is a person
# where only a person fits: a speaker's label in a dialogue (`Jordan: "Who are you?"`), before a
# kinship noun (`Jordan's daughter`), before a verb of speech, or addressed (`…, Carolina!`).
_KIN = (
    "daughter|son|wife|husband|mother|father|mom|mum|dad|brother|sister|child|children|kids"
    "|baby|parents|grandmother|grandfather|grandson|granddaughter|grandma|grandpa|aunt|uncle"
    "|niece|nephew|cousin|fianc[eé]e?|partner|boyfriend|girlfriend|caregiver|guardian|widow"
    "|widower|stepson|stepdaughter|stepmother|stepfather"
)
_SPEECH = (
    "shouted|yelled|screamed|whispered|replied|answered|told|asked|said|says|called|phoned"
    "|texted|emailed|wrote|smiled|laughed|cried|nodded|sighed|complained|explained|insisted"
)
_PERSON_CONTEXT = re.compile(
    r"(?m)(?:^|(?<=[|>]))[ \t]{0,8}(?P<a>[A-Z][a-z]+)[ \t]*+:[ \t]*+[\"“]"
    r"|\b(?P<b>[A-Z][a-z]+)['’]s[ \t]+(?:" + _KIN + r")\b"
    r"|\b(?P<c>[A-Z][a-z]+)[ \t]+(?:" + _SPEECH + r")\b"
    r"|,[ \t]*(?P<d>[A-Z][a-z]+)[ \t]*[!?]"
)
_CONTEXT_WORDS = frozenset((*re.findall(r"[a-z]+", _KIN), *re.findall(r"[a-z]+", _SPEECH)))
# The words `_PERSON_CONTEXT`'s kinship and speech branches end with, each a whole letter run.
_KIN_OR_SPEECH = frozenset(
    (*_KIN.replace("fianc[eé]e?", "fiance|fiancé|fiancee|fiancée").split("|"), *_SPEECH.split("|"))
)


def _person_context_possible(text: str, words: frozenset[str]) -> bool:
    """Whether one of `_PERSON_CONTEXT`'s branches can match, from what each must hold: a colon
    and a quotation mark (a speaker's label), a kinship or speech word, a `!` or `?`. The
    pattern has no prefix to skip to (every position is tried), and the older gate passes on
    any colon (times, `Patient:`) or stray letter run (`e` of `e.patient_id`)."""
    return (
        "!" in text
        or "?" in text
        or not words.isdisjoint(_KIN_OR_SPEECH)
        or (":" in text and ('"' in text or "\u201c" in text))
    )


_VERBS = frozenset(
    _words(
        "called calls phoned said says states stated reports reported asked emailed texted wrote "
        "agreed complains complained denies denied left came was"
    )
)
# The first word is read, not looked ahead at (no pair starts inside it, where `\b` fails):
# led by a capital, the pattern lets `re` skip to capitals.
_PAIR = re.compile(r"(?P<a>[A-Z](?<=\b.)[a-z]+)(?=[ \t]+(?P<b>[A-Z][a-z]+)\b)")
# A number after a pair makes it a place (`Georgia Georgia 000`); so does our placeholder for
# one, or redacting the output again would read the pair as a name (idempotence).
_DIGIT_AFTER = re.compile(r"[ \t]*,?[ \t]*(?:\d|\[(?!NAME-)[A-Z][A-Z0-9_]*-\d)")
_NOT_FIRST = frozenset(
    _words(
        "new north south east west saint st san santa los las el la le de del du van von mount "
        "lake fort port the a an in on at of for to by with from and or but if is it be my our "
        "your his her their this that these those dear hi hello thanks please"
    )
)
# Particles of place and family names (`Rio de Janeiro`, `Rečica ob Savinji`), kept even where
# the English dictionary lists them.
_PARTICLES = frozenset(
    _words(
        "de da do dos das del della di du des la las le les los el al van von der den ter ten "
        "zu am an bei ob pri na nad pod u y e i en sur sous"
    )
)
_COMMON_LOWER = frozenset(
    _words(
        "the she he it they we you who which that this one someone nobody everyone patient nurse "
        "doctor family mother father wife husband son daughter sister brother pharmacy office "
        "clinic team manager caller user customer"
    )
)
