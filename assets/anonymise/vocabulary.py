"""Words that are also names, and acronyms that are also initials.

A roster part that is an ordinary English word ('Will', 'Young', 'Brown', 'May')
is replaced on its own only when written as a name, in Title case: 'Will said'
is replaced, 'we will' is not. It is still replaced, in any case, as part of the
person's full name ('will brown'). The list is spaCy's English stop words (the
function words: 'will', 'may', 'do', 'an', 'so', ...) plus the common words below
that are frequent given names or surnames, plus name particles ('al', 'de', 'ni').

Initials are matched case-sensitively as a whole word; those that are also an
acronym of the field or an English word in capitals ('GP', 'NHS', 'AOB', 'IT',
'WHO') are never taken for initials: the person is still found by name.
"""

from __future__ import annotations

import functools

from spacy.lang.en.stop_words import STOP_WORDS

from assets.text_folding import letters_only, normalise_name

# fmt: off
# Ordinary words that are also frequent given names or surnames.
COMMON_WORD_NAMES = frozenset(
    {
        "amber", "april", "art", "august", "baker", "bell", "best", "bill", "black", "bob",
        "brook", "brown", "buck", "bush", "butler", "carpenter", "case", "cash", "chase",
        "child", "cook", "crystal", "dawn", "day", "dean", "drew", "early", "east", "faith",
        "field", "fisher", "fox", "frank", "gay", "gene", "gold", "good", "grace", "gray",
        "green", "grey", "guy", "hall", "happy", "hart", "heath", "hill", "holly", "hope",
        "house", "hunter", "iris", "ivy", "jack", "jade", "jay", "joy", "june", "king", "lamb",
        "lane", "law", "lee", "little", "long", "lord", "love", "mann", "mark", "marsh", "mason",
        "may", "miller", "mills", "moss", "nash", "noble", "north", "page", "park", "parsons",
        "pearl", "penny", "pope", "price", "ray", "reed", "rice", "rich", "rose", "ruby", "sage",
        "sharp", "short", "small", "smith", "south", "spring", "stone", "storey", "strong",
        "summer", "sun", "swift", "taylor", "victor", "wall", "ward", "waters", "west", "white",
        "will", "wise", "wolf", "wood", "young",
    }
)

# Particles of Arabic, Irish, Dutch, Iberian, Welsh... names: not a name on their own.
NAME_PARTICLES = frozenset(
    {
        "a", "ab", "abu", "al", "ap", "bin", "bint", "da", "das", "de", "del", "della", "den",
        "der", "di", "do", "dos", "du", "el", "ibn", "la", "le", "mac", "mc", "ni", "nic", "o",
        "st", "ter", "ua", "van", "von", "y",
    }
)

# Acronyms of mental health care and of meetings, read in minutes in capitals.
FIELD_ACRONYMS = frozenset(
    {
        "AE", "AMHP", "AOB", "ASAP", "ASD", "BAME", "BBC", "BME", "BSL", "CBT", "CCG", "CEO",
        "CFO", "CMHT", "COO", "CPA", "CPN", "CQC", "CV", "DBT", "DNA", "DWP", "EAL", "EBE", "ED",
        "ESOL", "ETA", "EU", "FYI", "GMC", "GP", "HQ", "HR", "ICB", "ICS", "ICU", "ID", "IPS",
        "IT", "KPI", "LA", "LD", "MD", "MDT", "MH", "MHA", "MHT", "MP", "NB", "NHS", "NIHR",
        "NMC", "OCD", "OK", "ONS", "OOH", "OT", "PA", "PCN", "PCT", "PM", "PPI", "PR", "PRP",
        "PS", "QI", "RAG", "RIP", "SEN", "SMI", "SU", "SW", "TBA", "TBC", "TBD", "TV", "UK",
        "UN", "US", "USA", "VCS", "WHO",
    }
)
# fmt: on


# Verbs of speech in minutes: 'AM said', 'Kehinde asked'. A word before one of these
# is someone speaking.
SPEECH_VERBS = (
    "said|says|told|tells|asked|asks|added|explained|mentioned|noted|agreed|suggested|shared|"
    "described|raised|felt|feels|reported|stated|commented|replied|responded|highlighted|"
    "spoke|talked|emphasised|emphasized|recalled|argued|proposed|offered|thanked|welcomed|"
    "chaired|presented|confirmed|reminded|wondered|worried|questioned|insisted|admitted"
)


@functools.cache
def title_case_only_words() -> frozenset[str]:
    """Folded words that stand for a person on their own only when written in Title case."""
    words = {letters_only(normalise_name(word)) for word in STOP_WORDS}
    return frozenset(word for word in words | COMMON_WORD_NAMES | NAME_PARTICLES if word)


@functools.cache
def protected_initials() -> frozenset[str]:
    """Capitalised letter groups that are never read as a person's initials."""
    short_words = {
        letters_only(normalise_name(word)).upper()
        for word in STOP_WORDS
        if 2 <= len(letters_only(word)) <= 3
    }
    return frozenset(FIELD_ACRONYMS | short_words)
