"""Suite (a): presidio-evaluator's public templates filled with its FakeNameGenerator identities.

Neither file was written by this project (outside_data/README.md: source, licence). Each of the
templates is filled, with a fixed seed, from one identity row at a time: names, streets, cities,
ZIP codes, phones, birthdays, e-mails and companies come from the identity file (3 000 people
of 24 name sets and 30 countries); card numbers, IBANs, SSNs, IPs, URLs and timestamps, which
the file lacks or has mangled, come from Faker with the same seed. The mapping from the
templates' entities to Safe Harbor types is ours and is written out in `_TYPES` below.
"""

from __future__ import annotations

import csv
import random
import re
from datetime import UTC, date, datetime
from pathlib import Path

from faker import Faker
from outside_score import Sample

DATA = Path(__file__).parent / "outside_data"
_SLOT = re.compile(r"\{\{(\w+)\}\}")
_NAME = "NAME"
# Template entity → Safe Harbor type; "decoy": must be kept verbatim; None: neither.
_TYPES: dict[str, str | None] = {
    **dict.fromkeys(
        (
            "person",
            "name",
            "name_female",
            "name_male",
            "first_name",
            "first_name_male",
            "first_name_female",
            "first_name_nonbinary",
            "last_name",
            "last_name_male",
            "last_name_female",
        ),
        _NAME,
    ),
    **dict.fromkeys(("street_name", "building_number", "secondary_address", "city"), "ADDRESS"),
    **dict.fromkeys(("zipcode", "postcode"), "ZIP"),
    **dict.fromkeys(("credit_card_number", "iban"), "ACCOUNT"),
    "phone_number": "PHONE",
    "email": "EMAIL",
    "url": "URL",
    "ip_address": "IP",
    "ssn": "SSN",
    "us_driver_license": "LICENSE",
    "date_of_birth": "DATE",
    "date_time": "DATE",
    **dict.fromkeys(
        ("organization", "country", "nationality", "nation_woman", "nation_plural", "job"), "decoy"
    ),
    **dict.fromkeys(
        ("prefix", "prefix_male", "prefix_female", "year", "day_of_week", "state_abbr"), None
    ),
}


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


class _Filler:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.people = _rows("FakeNameGenerator.com_3000.csv")
        self.nations = _rows("nationalities.csv")
        self.licenses = [r["us_driver_license"] for r in _rows("us_driver_licenses.csv")]

    def person(self) -> dict[str, str]:
        return self.rnd.choice(self.people)

    def value(self, slot: str, who: dict[str, str]) -> list[tuple[str, str | None]]:
        """The text for one slot as (piece, type) parts: an address is several typed parts."""
        rnd, fake = self.rnd, self.fake
        first, last = who["GivenName"], who["Surname"]
        if slot in ("person", "name", "name_female", "name_male"):
            style = rnd.random()
            text = f"{first} {who['MiddleInitial']}. {last}" if style < 0.2 else f"{first} {last}"
            return [(text.lower() if style > 0.9 else text, _NAME)]
        if slot.startswith("first_name"):
            return [(first, _NAME)]
        if slot.startswith("last_name"):
            return [(last, _NAME)]
        if slot == "address":
            return self.address(who)
        if slot == "street_name":
            return [(re.sub(r"\s*\d+\w*\s*", " ", who["StreetAddress"]).strip(" ,"), "ADDRESS")]
        if slot == "building_number":
            return [(str(rnd.randint(2, 9999)), "ADDRESS")]
        if slot == "secondary_address":
            return [(f"{rnd.choice(['Apt.', 'Suite', 'Unit'])} {rnd.randint(1, 999)}", "ADDRESS")]
        simple = {
            "city": (who["City"], "ADDRESS"),
            "zipcode": (who["ZipCode"], "ZIP"),
            "postcode": (who["ZipCode"], "ZIP"),
            "country": (who["CountryFull"], "decoy"),
            "organization": (who["Company"], "decoy"),
            "job": (who["Occupation"], "decoy"),
            "email": (who["EmailAddress"], "EMAIL"),
            "credit_card_number": (fake.credit_card_number(), "ACCOUNT"),
            "iban": (fake.iban(), "ACCOUNT"),
            "ssn": (fake.ssn(), "SSN"),
            "ip_address": (fake.ipv4_public() if rnd.random() < 0.8 else fake.ipv6(), "IP"),
            "url": (fake.url() + fake.uri_path(), "URL"),
            "us_driver_license": (rnd.choice(self.licenses), "LICENSE"),
            "prefix": (who["Title"], None),
            "prefix_male": (who["Title"], None),
            "prefix_female": (who["Title"], None),
            "state_abbr": (who["State"], None),
            "year": (str(rnd.randint(1950, 2020)), None),
            "day_of_week": (fake.day_of_week(), None),
        }
        if slot in simple:
            return [simple[slot]]
        if slot == "phone_number":
            national = who["TelephoneNumber"]
            text = f"+{who['TelephoneCountryCode']} {national}" if rnd.random() < 0.5 else national
            return [(text, "PHONE")]
        if slot in ("date_of_birth", "date_time"):
            return [(self.date(who, slot), "DATE")]
        if slot in ("nationality", "nation_woman", "nation_plural"):
            column = {"nationality": "nationality", "nation_woman": "woman"}.get(slot, "plural")
            return [(rnd.choice(self.nations)[column].title(), "decoy")]
        if slot == "age":
            age = rnd.randint(90, 104) if rnd.random() < 0.3 else int(who["Age"] or 40)
            return [(str(age), "AGE" if age > 89 else None)]
        raise KeyError(slot)

    def date(self, who: dict[str, str], slot: str) -> str:
        if slot == "date_time":
            moment = self.fake.date_time_between(
                datetime(2005, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC)
            )
            return moment.strftime(self.rnd.choice(["%Y-%m-%d %H:%M:%S", "%B %d, %Y"]))
        month, day, year = (int(x) for x in who["Birthday"].split("/"))
        born = date(year, month, day)
        return born.strftime(self.rnd.choice(["%m/%d/%Y", "%Y-%m-%d", "%B %d, %Y", "%d %b %Y"]))

    def address(self, who: dict[str, str]) -> list[tuple[str, str | None]]:
        if who["Country"] == "US":
            return [
                (who["StreetAddress"], "ADDRESS"),
                ("\n", None),
                (who["City"], "ADDRESS"),
                (", ", None),
                (who["State"], None),
                (" ", None),
                (who["ZipCode"], "ZIP"),
            ]
        return [
            (who["StreetAddress"], "ADDRESS"),
            (", ", None),
            (who["ZipCode"], "ZIP"),
            (" ", None),
            (who["City"], "ADDRESS"),
            (", ", None),
            (who["CountryFull"], "decoy"),
        ]


def presidio_suite(seed: int = 13, per_template: int = 2) -> list[Sample]:
    filler = _Filler(seed)
    templates = (DATA / "templates.txt").read_text(encoding="utf-8").splitlines()
    samples: list[Sample] = []
    for number, template in enumerate(templates, 1):
        template = template.strip().replace("\\n", "\n")
        if not template:
            continue
        for _ in range(per_template):
            who = filler.person()
            sample = Sample("presidio", f"template {number}", None)
            parts: list[str] = []
            pos = 0
            for m in _SLOT.finditer(template):
                parts.append(template[pos : m.start()])
                pos = m.end()
                for text, type_ in filler.value(m.group(1), who):
                    parts.append(text)
                    if type_ == "decoy":
                        sample.decoys.append(text)
                    elif type_ is not None:
                        sample.planted.append((type_, text))
            parts.append(template[pos:])
            sample.document = {"justification": "".join(parts)}
            samples.append(sample)
    return samples
