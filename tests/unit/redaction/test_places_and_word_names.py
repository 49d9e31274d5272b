"""Classes of PHI the presidio-evaluator suite showed missing (docs/redaction.md, "Measured on
outside data"), and the trading names it showed lost, each with examples written here from
general knowledge of the class, not taken from that suite.

Each case is (text, words that must be gone, words that must stay).
"""

from __future__ import annotations

import re

import pytest

from approvals.redaction import Redactor

_CASES: dict[str, tuple[str, list[str], list[str]]] = {
    # names
    "particles inside a name": (
        "Seen by Mr. van der Sluis and Maria da Costa",
        ["van", "der", "Sluis", "Costa"],
        ["Seen"],
    ),
    "first name and surname that are both words": (
        "Dusty Savage signed the form",
        ["Dusty", "Savage"],
        ["signed"],
    ),
    "first name that is a month, before an unknown surname": (
        "Please add June Wrzesniowska as emergency contact",
        ["June", "Wrzesniowska"],
        ["emergency"],
    ),
    "lower-case unknown first name before a surname": (
        "follow up with zbyszko kowalczyk next week",
        ["zbyszko", "kowalczyk"],
        ["follow", "week"],
    ),
    "a speaker's label": ('Virginia: "Can you hear me?"', ["Virginia"], ["hear"]),
    "before a kinship noun": ("Georgia's husband phoned the desk", ["Georgia"], ["husband"]),
    "before a verb of speech": ("Virginia yelled at the nurse", ["Virginia"], ["nurse"]),
    "addressed": ("Thanks for calling, Georgia!", ["Georgia"], ["Thanks"]),
    "a name found once, everywhere in the string": (
        'Virginia: "I called twice." The nurse asked Virginia to wait.',
        ["Virginia"],
        ["nurse"],
    ),
    "lower-case words of another script": ("звонил иван петров", ["звонил", "иван", "петров"], []),
    # addresses
    "address line after prose": (
        "We shipped it to Hauptstraße 5, 10115 Berlin, Germany yesterday",
        ["Hauptstraße", "5", "10115", "Berlin"],
        ["We", "shipped", "it", "to", "Germany"],
    ),
    "British postcode after a comma": (
        "Send it to 27 Orchard Close, LS6 2QX LEEDS, United Kingdom",
        ["LS6", "2QX", "LEEDS"],
        ["Send", "United"],
    ),
    "town with a particle": (
        "Calle Mayor 5, 28013 Alcalá de Henares, Spain",
        ["Alcalá", "de", "Henares", "28013"],
        ["Spain"],
    ),
    "town of two parts with a dash": (
        "Via Roma 3, 38068 Rovereto - Lizzana, Italy",
        ["Rovereto", "Lizzana"],
        ["Italy"],
    ),
    "address line in Greek": (
        "Οδός Αθηνάς 12, 10551 ΑΘΗΝΑ, Greece",
        ["Οδός", "Αθηνάς", "12", "10551", "ΑΘΗΝΑ"],
        ["Greece"],
    ),
    "street kind before the name, with a house number": (
        "The clinic is at 12 rue Victor Hugo",
        ["12", "rue", "Victor", "Hugo"],
        ["clinic"],
    ),
    "street kind abbreviated": ("> 17 ul. Długa Wąska", ["17", "ul", "Długa", "Wąska"], []),
    "street kind after an unknown name": (
        "She lives on Okonkwo Road now",
        ["Okonkwo", "Road"],
        ["lives", "now"],
    ),
    "postcode after a country of two words": ("Auckland | New Zealand 1010", ["1010"], ["New"]),
    "postcode after a country and a region": ("Ghent | Belgium (Flanders) 9000", ["9000"], []),
    "Polish postcode after the country": ("Warszawa | Poland 00-950", ["00", "950"], ["Poland"]),
    "three-digit postcode ending a line": ("Reykjavik | Iceland 101", ["101"], ["Iceland"]),
    "postcode after its name": ("my postcode is 3000, thanks", ["3000"], ["postcode", "thanks"]),
    # kept: trading names, streets of dictionary words
    "family firm": ("Ordered from Harlow & Sons and Baker Brothers", [], ["Harlow", "Baker"]),
    "trade head noun": ("She works at Zylstra Hardware", [], ["Zylstra", "Hardware"]),
    "hyphenated brand": ("Nova-Tech shipped the pumps", [], ["Nova", "Tech"]),
    "street of dictionary words": ("Parking on Main Street is closed", [], ["Main", "Street"]),
}


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize("name", sorted(_CASES))
def test_class(name: str, redactor: Redactor) -> None:
    text, gone, kept = _CASES[name]
    out = redactor.redact({"note": text}).value["note"]
    words = set(re.findall(r"\w+", re.sub(r"\[[A-Z]+-\d+(?::\w+)?\]", " ", out)))
    assert [w for w in gone if w in words] == [], out
    assert [w for w in kept if w not in words] == [], out


def test_a_person_before_a_trade_noun_is_still_a_person(redactor: Redactor) -> None:
    out = redactor.redact({"note": "John Smith Services called"}).value["note"]
    assert "John" not in out and "Smith" not in out
