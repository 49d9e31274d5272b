"""Vocabularies of safe words: what a capitalised word may be without being a person. Pure.

`english_words()` is web2's lower-case entries (public domain; scripts/build_word_list.py);
`safe_words()` adds modern, technical and clinical words web2 lacks, company suffixes, and
`places()`: countries and nationalities, which the name scanner never takes for a person alone
(`Spain`, `Poland`, `Jordan` the country). Read once per process and immutable.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import re
from collections.abc import Iterable


def w(words: str) -> tuple[str, ...]:
    """Words of a literal, one space apart (tables are written as prose-like lines)."""
    return tuple(words.split())


# Safe capitalised words web2 lacks: modern, technical, clinical and place vocabulary.
_SAFE_WORDS = (
    "email emails online offline database databases login logout username usernames website "
    "internet app apps api apis url urls json yaml csv xml html http https sql ssh vpn wifi "
    "ll ve re nt "
    "nvarchar varchar bigint smallint tinyint datetime datetime2 timestamptz jsonb uuid "
    "ok okay hi hello thanks thank dear regards cheers please fyi asap etc ie eg vs "
    "approval approvals approver reviewer requester runbook playbook dashboard backend "
    "frontend middleware workflow workflows webhook webhooks endpoint endpoints timestamp "
    "metadata dataset datasets signup checkout inbox outbox spreadsheet smartphone laptop "
    "telehealth telemedicine covid vaccine vaccines vaccination ehr emr hipaa phi pii mrn "
    "icu ed er or pacu nicu picu ob gyn ent cbc bmp cmp ekg ecg mri ct pet hba1c bmi "
    "fundoplication laparoscopic laparoscopy colonoscopy endoscopy biopsy bariatric "
    "comorbidity comorbidities prn bid tid qid qd po iv im sc subq npo dnr "
    "ozempic wegovy eliquis xarelto januvia jardiance farxiga humira keytruda lipitor "
    "zoloft prozac lexapro xanax adderall tylenol advil motrin ibuprofen acetaminophen "
    "warfarin heparin insulin metformin lisinopril amlodipine atorvastatin levothyroxine "
    "gabapentin omeprazole albuterol prednisone amoxicillin azithromycin apixaban "
    "dr mr mrs ms md do rn np pa phd jr sr ii iii iv "
    "llc inc ltd corp gmbh plc llp co "
    "github gitlab kubernetes postgres postgresql redis grafana terraform jira confluence "
    "servicenow pagerduty datadog splunk okta auth0 snowflake databricks bigquery aws gcp "
    "azure slack teams zoom outlook gmail google microsoft apple amazon linkedin"
)
# Countries (Faker's list) and nationalities/languages: never a person alone.
_NATIONALITIES = (
    "afghan albanian algerian american andorran angolan antiguan argentine argentinian "
    "armenian australian austrian azerbaijani bahamian bahraini bangladeshi barbadian "
    "belarusian belgian belizean beninese bhutanese bolivian bosnian botswanan brazilian "
    "british bruneian bulgarian burkinabe burmese burundian cambodian cameroonian canadian "
    "cape verdean central chadian chilean chinese colombian comoran congolese costa rican "
    "croatian cuban cypriot czech danish djiboutian dominican dutch ecuadorian egyptian "
    "emirati english equatorial eritrean estonian ethiopian fijian filipino finnish french "
    "gabonese gambian georgian german ghanaian greek grenadian guatemalan guinean guyanese "
    "haitian honduran hungarian icelandic indian indonesian iranian iraqi irish israeli "
    "italian ivorian jamaican japanese jordanian kazakh kenyan kiribati korean kosovar "
    "kuwaiti kyrgyz lao laotian latvian lebanese liberian libyan liechtensteiner "
    "lithuanian luxembourgish macedonian malagasy malawian malaysian maldivian malian "
    "maltese marshallese mauritanian mauritian mexican micronesian moldovan monacan "
    "mongolian montenegrin moroccan mozambican namibian nauruan nepalese nepali new "
    "zealander nicaraguan nigerien nigerian norwegian omani pakistani palauan palestinian "
    "panamanian papua paraguayan peruvian polish portuguese qatari romanian russian rwandan "
    "salvadoran salvadorean saudi scottish senegalese serbian seychellois sierra leonean "
    "singaporean slovak slovakian slovenian somali south african spanish sri lankan "
    "sudanese surinamese swazi swedish swiss syrian taiwanese tajik tanzanian thai togolese "
    "tongan trinidadian tunisian turkish turkmen tuvaluan ugandan ukrainian uruguayan uzbek "
    "vanuatuan venezuelan vietnamese welsh yemeni zambian zimbabwean greenlandic greenlander "
    "chechen kurdish basque catalan flemish walloon bavarian tibetan uyghur "
    "african asian european latino latina hispanic arab arabic hindi urdu bengali punjabi "
    "tamil persian hebrew yiddish swahili cantonese mandarin muslim catholic "
    "protestant jewish hindu buddhist sikh"
)
# Words of multi-word country names that are people's names or everyday words in their own
# right (`Saint Martin`, `San Marino`, `Cook Islands`): only the one-word countries and the
# other words of their names are places.
# Words that count or measure: six digits or more after them (`rows 123456789`, `epoch
# 1733234567`, `"duration_ms": 1500000`) are a quantity or a timestamp, not an identifier.
QUANTITY_WORDS = frozenset(
    w(
        "count total size bytes length len rows row duration ms millis seconds secs sec ns us "
        "timeout ttl amount price cost balance limit offset page port pid version epoch ts "
        "timestamp time elapsed latency qty quantity memory mem cpu max min avg sum score rate "
        "threshold retries attempts status code year width height kb mb gb bps"
    )
)
_NOT_PLACES = frozenset(
    w(
        "and the of saint sint san st island islands republic united states virgin new north "
        "south east west martin marino marshall cook lucia vincent helena pierre heard mcdonald "
        "baker "
        "jarvis johnston howland wake man kitts nevis christmas norfolk barthelemy maarten "
        "miquelon "
        "verde rica leone salvador lanka korea guinea arab democratic people's federated central "
        "equatorial french british american minor outlying territory territories"
    )
)


@functools.cache
def english_words() -> frozenset[str]:
    """web2's lower-case words (scripts/build_word_list.py); read once per process."""
    data = importlib.resources.files("approvals.redaction").joinpath("data", "english_words.txt.gz")
    words = gzip.decompress(data.read_bytes()).decode().split("\n")
    return frozenset(w for w in words if w and not w.startswith("#"))


def safe_words(countries: Iterable[str]) -> frozenset[str]:
    return frozenset(w(_SAFE_WORDS)) | places(countries)


def places(countries: Iterable[str]) -> frozenset[str]:
    """Words of country names (Faker's list, committed in data/faker_words.txt) and
    nationalities (and their plurals): never a person alone."""
    names = list(countries)
    words = {word.lower() for c in names for word in re.findall(r"[^\W\d_]+", c)}
    words = (words - _NOT_PLACES) | {c.lower() for c in names if c.isalpha()}
    nationalities = set(w(_NATIONALITIES))
    nationalities |= {n + "s" for n in nationalities if n.endswith(("an", "er", "i"))}
    return frozenset(nationalities) | frozenset(words)
