"""A synthetic raw round of any size, with a ground truth of every name and identifier in it.

    ariadne generate --sites N --workshops-per-site W --responses-per-site R --seed S --out DIR
                     [--round-id generated] [--words-per-workshop 2300]

Writes `DIR/<round>/` as the raw submission contract lays it out: `round.yaml`, and per site
a `manifest.yaml`, `minutes/` (Word and Markdown in turn), `surveys/` (a Microsoft Forms
export, `.xlsx` with the Name and Email columns Forms adds, and a CSV of paper forms keyed
by item id) and an `action_plan.csv`. Beside the site folders, where the pipeline never
looks, `DIR/<round>/ground_truth.jsonl` lists every planted name and identifier, one JSON
object a line: its file (relative to DIR, as the warehouse's `source_file`), locator
(`paragraph N` counted as ingest counts paragraphs; `row N, item X` or `row N, column X` in
a spreadsheet, rows as Excel shows them), the character offsets in that paragraph or cell
as written, and the exact text.

The minutes: a title, agenda items (welcome, last round's actions, three to five of the
codebook's themes, any other business), speaker turns labelled in every form the contract
allows (`Name:`, `Initials:`, `Role (Initials):`, `Role:`; bold in some files),
`Action:` paragraphs, and sentences about the themes in the codebook's vocabulary, mixed
with the sentences of the anonymiser benchmark's corpus (`benchmarks/anonymiser.py`): its
names of eleven origins, people on no roster (who share no part of a name with any
attendee), phones from Ofcom's drama ranges, example.org e-mails and postcodes. Added here:
NHS numbers (the 999 test range, with a valid mod-11 check digit), NI numbers, street
addresses and dates of birth after the words that make them one. Every workshop holds
each kind of identifier at least once; some sites have a withdrawal.

Deterministic: each site draws from its own generator, seeded by the seed and the site's
number (so a site's files do not depend on how many sites there are), and office files are
written by the sample data's writers (`tests/fixtures/build_sample_raw.py`), which pin zip
timestamps and document properties: the same arguments give the same bytes. It streams:
one file is built and written at a time and the ground truth is appended as it goes, so
memory does not grow with the round.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import string
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from assets.ingest.people import Person as LabelPerson
from assets.ingest.people import Roster
from assets.ingest.speakers import SpeakerResolver
from benchmarks.anonymiser import (
    FILLER,
    IDENTIFIERS,
    NAMES,
    OTHER_POOL,
    OTHER_TITLES,
    OTHERS,
    ROSTER,
    ROSTER_POOL,
    ROSTER_TITLES,
    VOCABULARY,
    _ascii,
    _email,
    _phone,
    _postcode,
)
from schemas.codebook import CONTRACT_THEME_CODES
from schemas.contract import is_slug
from tests.fixtures.build_sample_raw import (
    ACTION_HEADER,
    FORMS_META,
    ITEMS,
    Quoted,
    write_csv,
    write_docx,
    write_markdown,
    write_xlsx,
    write_yaml,
)

DEFAULT_ROUND_ID = "generated"
DEFAULT_WORDS_PER_WORKSHOP = 2300
MIN_WORDS_PER_WORKSHOP = 200
CLOSING_WORDS = 100  # about what any other business and the next meeting add
GROUND_TRUTH = "ground_truth.jsonl"
INSTRUMENT = "impact-followup-v1"
PERIOD = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
SYNTHETIC = "Synthetic round made by `ariadne generate`: every person and detail is made up."
SITE_POOL_SIZE = 24
ATTENDEES_PER_EVENT = (8, 16)
WITHDRAWAL_SHARE = 0.25
FORMS_SHARE = 0.75  # of a site's responses, in the Forms export; the rest on paper (CSV)
IDENTIFIER_KINDS = (
    "phone",
    "email",
    "postcode",
    "nhs_number",
    "ni_number",
    "address",
    "date_of_birth",
)

# fmt: off
SITE_AREAS = (
    "east-london", "coventry-warwickshire", "bradford", "leeds-york", "sheffield",
    "greater-manchester", "bristol", "birmingham-solihull", "leicester", "nottingham",
    "liverpool", "lancashire", "cumbria", "northumberland-tyne-wear", "tees-esk-wear",
    "humber", "lincolnshire", "norfolk-suffolk", "cambridgeshire-peterborough", "hertfordshire",
    "essex", "kent-medway", "sussex", "surrey-borders", "oxford", "berkshire", "hampshire",
    "dorset", "devon", "cornwall", "somerset", "gloucestershire", "wiltshire", "black-country",
    "shropshire-telford", "staffordshire", "derbyshire", "cheshire-wirral", "mersey-care",
    "south-london", "north-london", "west-london", "north-east-london", "camden-islington",
    "barnet-enfield-haringey", "oxleas", "south-west-yorkshire", "rotherham-doncaster",
    "north-yorkshire", "durham-darlington", "wolverhampton", "luton-bedfordshire",
    "milton-keynes", "northamptonshire", "worcestershire", "herefordshire", "isle-of-wight",
    "plymouth", "calderdale-kirklees", "oldham-rochdale",
)
ROLE_WORDS = {
    "staff": "Staff", "service_user": "Service user", "carer": "Carer",
    "voluntary_sector": "Voluntary sector", "commissioner": "Commissioner",
    "researcher": "Researcher", "other": "Other",
}
ATTENDEE_ROLES = (
    ("staff", 24), ("service_user", 26), ("carer", 24), ("voluntary_sector", 12),
    ("commissioner", 5), ("researcher", 6), ("other", 3),
)

# Sentences on each of the codebook's themes (schemas/codebook/codebook-v3.yaml), in the
# words its definitions use. Slots as in benchmarks/anonymiser.py: {term} {community}
# {place} {language} {n} {day}, and {R} {RF} {RT} {RI} for attendees, {O} {OF} {OT} for
# people on no roster. No sentence opens with a few capitalised words and a colon, which
# would read as a speaker label.
THEME_SENTENCES: dict[str, tuple[str, ...]] = {
    "minoritised-concept": (
        "Several people said the label BAME hides how different the {community} and "
        "{community} communities are.",
        "The group asked who counts as minoritised, and pointed out that Roma and Eastern "
        "European families are left out of the trust's reports.",
        "Staff admitted that ethnicity is still recorded as not stated on many referrals to "
        "the {term}.",
        "People asked to be described in their own words rather than squeezed into the census "
        "categories.",
        "Young {community} people born here and their parents who arrived as refugees want "
        "very different things from the {term}.",
        "Calling communities hard to reach lets services off the hook, because it is the "
        "services that are hard to find.",
        "The trust will publish waiting times for the {term} by ethnic group, not for BAME as "
        "one block.",
    ),
    "racism-experience": (
        "A service user described being followed round a shop and then treated as aggressive "
        "on the ward, and said it made it hard to trust anyone.",
        "Members of the {community} community spoke about racist abuse in the street and how "
        "it wears people down over the years.",
        "People asked for a safe space outside NHS buildings where experiences of racism can "
        "be shared without being doubted.",
        "A carer said her son was told to go back where he came from, although he was born "
        "in this country.",
        "The listening circle at the {place} has met {n} times and people said it was the "
        "first place they felt believed.",
        "Several people said discrimination at work and in housing was part of why they "
        "became unwell in the first place.",
        "A young woman said she was mocked for her accent at the reception desk and did not "
        "go back for {n} months.",
    ),
    "pandemic-impact": (
        "During the lockdowns appointments with the {term} moved to the phone, and many older "
        "{community} people simply stopped answering.",
        "Referrals went up sharply after the pandemic and the backlog at the {term} has still "
        "not been cleared.",
        "Families talked about bereavement during COVID, losing several relatives in a few "
        "months with no time to grieve.",
        "Many people in the group had frontline jobs during the pandemic and could not stay "
        "at home.",
        "Since the pandemic the group at the {place} has never really restarted.",
        "Video appointments suited some younger people, but others shared one phone in "
        "crowded housing and had no privacy.",
        "The rumours about vaccines during COVID left a lasting fear of anything to do with "
        "the NHS.",
    ),
    "stigma": (
        "In the {community} community mental illness is still a source of shame, and families "
        "worry about what the neighbours will say.",
        "A carer explained that there is no word for depression in {language}, so people talk "
        "about tiredness or a weak heart instead.",
        "Some felt that asking for help would be seen as weakness, especially for men.",
        "Families hide a relative's diagnosis because of marriage prospects and gossip.",
        "A service user said he was afraid his employer would find out that he had been in "
        "hospital.",
        "The anti-stigma sessions at the {place} were well attended and people began to talk "
        "more openly.",
        "Some families still see psychosis as a spiritual problem and go to a faith healer "
        "before the {term}.",
    ),
    "professional-blindness": (
        "Several people said staff at the {term} never asked about their faith, diet or "
        "culture.",
        "A carer said her son was described as aggressive when he was frightened, and that "
        "this happens far more to young Black men.",
        "People felt that treating everyone the same means the service does not see the "
        "difference ethnicity makes.",
        "The group discussed why Black people are detained under the Mental Health Act at "
        "several times the rate of White people.",
        "Staff admitted they sometimes avoid asking about culture for fear of getting it "
        "wrong.",
        "The trust reported on the Patient and Carer Race Equality Framework, but people said "
        "they had not seen any change yet.",
        "Concerns were raised about restraint and police involvement on the ward.",
    ),
    "education-mediation-digital": (
        "Interpreters for {language} are still booked too late, so relatives end up "
        "translating at appointments.",
        "The community link worker who speaks {language} has made a real difference to "
        "families coming to the {term}.",
        "Mental health first aid training was run at the {place} for {n} community champions.",
        "People asked for information about the {term} in {language}, on WhatsApp and on "
        "local radio, not only in leaflets.",
        "Staff training on cultural awareness was welcomed, but people said it must be run "
        "with the community, not for it.",
        "Older people without smartphones are shut out when everything moves to an app.",
        "A text message reminder in {language} has cut missed appointments at the {term}.",
    ),
    "human-rights-cohesion": (
        "People said access to mental health care is a matter of rights and dignity, not a "
        "favour.",
        "Few people in the group knew their rights under the Mental Health Act, or that they "
        "could ask for an advocate.",
        "Families with no recourse to public funds are afraid to use any service in case it "
        "affects their immigration status.",
        "The group talked about belonging, and how isolation makes everything worse for new "
        "arrivals.",
        "The Equality Act should mean that services adapt to people, not the other way round.",
        "Bringing different communities together at the {place} was seen as good for "
        "everyone's wellbeing.",
    ),
    "diversified-care-offer": (
        "Peer support workers from the {community} community are now part of the {term}, and "
        "people said they trust them.",
        "The faith groups at the {place} would like to be partners in care rather than a "
        "place to hand out leaflets.",
        "People asked for a choice of therapist by gender and language.",
        "The walking group and the art sessions at the {place} were described as a lifeline.",
        "Social prescribing has linked {n} people from the group to befriending and "
        "drop-ins.",
        "A culturally adapted talking therapy in {language} is being piloted.",
        "The crisis café should open later in the evening and at weekends, with staff who "
        "speak {language}.",
    ),
    "population-neighbourhood-models": (
        "The neighbourhood mental health team pilot means people can walk in without a "
        "referral.",
        "The integrated care board is using population health data to plan the {term} for "
        "the area.",
        "People liked the idea of a 24/7 neighbourhood centre with no wrong door.",
        "Staff explained that the community mental health transformation moves teams into "
        "primary care networks.",
        "The group asked for the new hub to be near the {place}, where people already go.",
        "Place-based working has brought the council, the trust and voluntary groups into "
        "one team.",
    ),
    "coproduction-impact": (
        "The group said co-production must continue between rounds, not only at workshops.",
        "Findings from the ARIADNE survey were used by commissioners to fund the link worker "
        "posts.",
        "People wanted to see what happened to what they said at the last workshop.",
        "Service users and carers will sit on the panel that redesigns the {term}.",
        "The trust agreed to share what worked here with other areas and nationally.",
        "Local data on waiting times for the {term} were presented and discussed with the "
        "people who had waited.",
        "People asked to be paid for their time, as other members of the co-production group "
        "are.",
    ),
}
THEME_HEADINGS: dict[str, tuple[str, ...]] = {
    "minoritised-concept": ("Who we mean by minoritised communities", "Labels and recording"),
    "racism-experience": ("Experiences of racism", "Safe spaces"),
    "pandemic-impact": ("Since the pandemic", "Lockdowns and what they left behind"),
    "stigma": ("Stigma in our communities", "Talking about mental health"),
    "professional-blindness": ("How services see us", "Detentions and restraint"),
    "education-mediation-digital": ("Interpreters and language", "Information and digital"),
    "human-rights-cohesion": ("Rights and belonging", "Inclusion and cohesion"),
    "diversified-care-offer": ("Widening the offer of care", "Peer support and faith groups"),
    "population-neighbourhood-models": ("Neighbourhood teams and hubs", "Planning for the area"),
    "coproduction-impact": ("Co-production between rounds", "What happened to our findings"),
}
ACTIONS: dict[str, tuple[str, ...]] = {
    "minoritised-concept": (
        "{RI} to ask the {term} for waiting times by ethnic group before {day}",
        "the trust to add {community} and Roma to the ethnicity options on its referral form",
    ),
    "racism-experience": (
        "{RF} to set up a listening circle at the {place}",
        "the trust to fund a safe space for talking about racism outside NHS buildings",
    ),
    "pandemic-impact": (
        "{R} to restart the face-to-face group at the {place}",
        "offer every person still on phone appointments a face-to-face review",
    ),
    "stigma": (
        "{RI} to plan anti-stigma sessions in {language} at the {place}",
        "invite faith leaders to a session on talking about mental health in families",
    ),
    "professional-blindness": (
        "{RF} to bring figures on detentions by ethnicity to the next meeting",
        "cultural awareness training for every new member of the {term}",
    ),
    "education-mediation-digital": (
        "{RI} to book {language} interpreters for every first assessment",
        "translate the {term} leaflet into {language} and share it on WhatsApp",
    ),
    "human-rights-cohesion": (
        "{R} to run a session on rights under the Mental Health Act",
        "advocacy service to attend the drop-in at the {place} every month",
    ),
    "diversified-care-offer": (
        "{RF} to recruit two more peer support workers from the {community} community",
        "the crisis café to open until ten on Fridays and Saturdays",
    ),
    "population-neighbourhood-models": (
        "{RI} to write to the integrated care board about a neighbourhood hub near the {place}",
        "the neighbourhood team to hold open sessions without referral on {day}s",
    ),
    "coproduction-impact": (
        "{RF} to share the findings of this round with the steering group",
        "pay service users and carers for their time at every co-production meeting",
    ),
}
EVIDENCE = (
    "{R} reported that {n} families have used it since the last round.",
    "Started in the spring; {OT} from the {place} has joined the working group.",
    "Figures were shared at the workshop on {day}; the {term} still has a waiting list.",
    "Funding agreed by the integrated care board; contact {email} for the details.",
    "Paused while the post is vacant; {R} is following it up on {phone}.",
    "Sessions now run at {address}, {postcode}, every other {day}.",
    "Stalled: the {term} has not replied to {RF}.",
)

# Identifier sentences, one list per kind: every workshop holds each kind at least once.
IDENTIFIER_SENTENCES: dict[str, tuple[str, ...]] = {
    "phone": (
        "Anyone who wants to join can call {R} on {phone}.",
        "The new number for the {term} is {phone}.",
    ),
    "email": (
        "Contact for the {term} group is {email}.",
        "{R} asked people to send their comments to {email}.",
    ),
    "postcode": (
        "Families in {postcode} said the nearest clinic is two buses away.",
        "She lives near {postcode} and the journey to the hospital takes over an hour.",
    ),
    "nhs_number": (
        "A carer read out her son's NHS number, {nhs}, to show the referral had been lost "
        "twice.",
        "The letter quoted the wrong NHS number ({nhs}), so the appointment went to someone "
        "else.",
    ),
    "ni_number": (
        "His NI number {ni} was on the form the benefits office lost.",
        "{O} was asked for her National Insurance number, {ni}, before anyone would talk "
        "to her.",
    ),
    "address": (
        "The carers' group now meets at {address}, {postcode}.",
        "He was moved to a flat at {address} with no support nearby.",
    ),
    "date_of_birth": (
        "The referral listed her date of birth: {dob}, but nobody checked it with her.",
        "My father, born on {dob}, has never been offered an interpreter.",
        "The form only had his DOB {dob} and no contact number.",
    ),
}

# Survey free-text answers, first person, by item.
SURVEY_ANSWERS: dict[str, tuple[str, ...]] = {
    "what_changed": (
        "The link worker speaks {language} and came to the first appointment with me.",
        "Nothing has changed for us.",
        "Appointments are still on the phone since covid and I hate it.",
        "There is a peer support worker from our community now, which helps.",
        "The {term} answered quicker this time.",
        "We got a leaflet in {language} at last.",
        "{R} from the trust explained the care plan properly.",
        "The drop-in at the {place} is open later now.",
    ),
    "still_in_way": (
        "Waiting lists for the {term}, and nobody tells you where you are on the list.",
        "Shame in the family, my mother will not let us talk about it.",
        "No interpreter again, my daughter {OF} had to translate.",
        "Staff do not understand our culture or our faith.",
        "The cost of the bus and the time off work.",
        "Being treated as aggressive because of the colour of my skin.",
        "My son {OF} was sectioned and no one explained his rights.",
        "The forms, and being asked the same questions again and again.",
    ),
    "what_would_help": (
        "More peer workers who speak {language}.",
        "A place in the community to talk, not the hospital.",
        "Interpreters at every appointment, booked in advance.",
        "A named contact at the {term} I can call.",
        "Training for GPs about our communities.",
        "Evening and weekend sessions at the {place}.",
        "Listen to carers and keep us informed.",
        "Pay people for taking part in co-production.",
    ),
}
SURVEY_PLANTS = (
    "Call me on {phone}.",
    "My email is {email}.",
    "I live at {address} if anyone wants to visit.",
    "My NHS number is {nhs} if you need to check.",
    "You can write to me, postcode {postcode}.",
    "{OT} at my surgery was the only one who listened.",
    "My date of birth is {dob}, I am too old to wait this long.",
)
FORMS_QUESTIONS = {
    "Which best describes you?": "respondent_role",
    "What is your ethnic group?": "ethnic_group",
    "What is your age?": "age_band",
    "It is easier now to get mental health support when I need it": "access_ease",
    "I (or the person I care for) was treated with respect for my culture and background":
        "respect_experience",
    "I trust local mental health services more than I did a year ago": "trust_services",
    "What has changed since the last round of workshops?": "what_changed",
    "What still gets in the way of getting help?": "still_in_way",
    "What would help most?": "what_would_help",
}
RESPONDENT_ROLES = (
    ("Service user", 20), ("service_user", 6), ("Carer", 18), ("Family carer", 4),
    ("carer", 4), ("Staff", 10), ("NHS staff", 3), ("Voluntary sector", 7), ("VCSE", 2),
    ("Commissioner", 2), ("Researcher", 2), ("Other", 4),
)
ETHNIC_GROUPS = (
    "Bangladeshi", "Asian or Asian British: Pakistani", "Indian", "Chinese", "Other Asian",
    "Black, Black British, Caribbean or African: African", "Caribbean", "Other Black",
    "White and Black Caribbean", "White and Asian", "Other Mixed", "White British", "Irish",
    "Gypsy or Irish Traveller", "White: Roma", "Any other White background", "Arab",
    "Any other ethnic group", "Prefer not to say", "Pakistani", "African", "English",
)
AGE_BANDS = ("16-24", "25 to 34", "25-34", "35-44", "45-54", "55-64", "65+", "Prefer not to say")
LIKERT = (
    "Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree",
    "agree", "strongly agree", "disagree", "1", "2", "3", "4", "5", 1, 2, 3, 4, 5, None,
)
STREETS = (
    "Acacia", "Mill", "Station", "Victoria", "Albert", "Church", "Chapel", "Grange", "Beech",
    "Oak Tree", "Canal", "Market", "Foundry", "Willow", "Brook", "Stanley", "Clarence",
    "Railway", "Orchard", "Coronation",
)
STREET_TYPES = (
    "Road", "Street", "Lane", "Close", "Avenue", "Drive", "Grove", "Terrace", "Crescent", "Way",
)
BUILDINGS = ("Carrow House", "Jubilee Court", "Windsor House", "Beacon Tower", "Orchard Lodge")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
NI_NEVER = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
# fmt: on

ORIGIN = {name: origin for origin, (firsts, lasts) in NAMES.items() for name in (*firsts, *lasts)}
THEME_CODES = tuple(CONTRACT_THEME_CODES)


@dataclasses.dataclass(frozen=True)
class Person:
    """Someone the text can name: an attendee (with role) or a person on no roster."""

    first: str
    last: str
    role: str | None = None
    initials: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def origin(self) -> str:
        return ORIGIN[self.first]


@dataclasses.dataclass(frozen=True)
class Planted:
    """Characters [start, end) of a paragraph or cell that hold a name or an identifier."""

    start: int
    end: int
    kind: str  # name, initials, or one of IDENTIFIER_KINDS
    text: str
    person: str | None = None  # attendee, withdrawn or other (on no roster)
    origin: str | None = None
    form: str | None = None  # how a name is written: full, given, title, label, column


def nhs_number(rng: random.Random) -> str:
    """A number in the 999 test range with a valid modulus-11 check digit (10 is never issued)."""
    while True:
        digits = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            break
    digits += str(check)
    separator = rng.choice((" ", "", "-", " "))
    return f"{digits[:3]}{separator}{digits[3:6]}{separator}{digits[6:]}"


def ni_number(rng: random.Random) -> str:
    """A National Insurance number of a valid form (prefix letters allowed, A-D suffix)."""
    while (prefix := rng.choice(NI_FIRST) + rng.choice(NI_SECOND)) in NI_NEVER:
        pass
    pairs = [f"{rng.randrange(100):02d}" for _ in range(3)]
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{prefix} {' '.join(pairs)} {suffix}"
    return f"{prefix}{''.join(pairs)}{suffix}"


def street_address(rng: random.Random) -> str:
    street = f"{rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
    number = rng.randint(1, 240)
    match rng.randrange(4):
        case 0:
            return f"Flat {rng.randint(1, 40)}, {rng.choice(BUILDINGS)}, {number} {street}"
        case 1:
            return f"{number}{rng.choice('abc')} {street}"
        case _:
            return f"{number} {street}"


def date_of_birth(rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1940, 2007)
    suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd"}.get(day, "th")
    return rng.choice(
        (
            f"{day:02d}/{month:02d}/{year}",
            f"{day}.{month}.{year}",
            f"{day} {MONTHS[month - 1]} {year}",
            f"{day}{suffix} {MONTHS[month - 1]} {year}",
            f"{MONTHS[month - 1]} {day}, {year}",
            f"{year}-{month:02d}-{day:02d}",
        )
    )


class TextBuilder:
    """Builds one paragraph or cell from templates, recording where every name and id went."""

    def __init__(
        self, rng: random.Random, attendees: Sequence[Person], withdrawn: frozenset[str]
    ) -> None:
        self.rng = rng
        self.attendees = attendees
        self.withdrawn = withdrawn
        self.parts: list[str] = []
        self.planted: list[Planted] = []
        self.length = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str, kind: str | None = None, **facts: str | None) -> None:
        if kind is not None:
            self.planted.append(Planted(self.length, self.length + len(text), kind, text, **facts))
        self.parts.append(text)
        self.length += len(text)

    def space(self) -> None:
        if self.parts and not self.parts[-1].endswith(" "):
            self.add(" ")

    def name(self, person: Person, text: str, form: str) -> None:
        status = "other" if person.role is None else "attendee"
        if person.name in self.withdrawn:
            status = "withdrawn"
        self.add(text, "name", person=status, origin=person.origin, form=form)

    def initials(self, person: Person, text: str, form: str = "initials") -> None:
        status = "withdrawn" if person.name in self.withdrawn else "attendee"
        self.add(text, "initials", person=status, origin=person.origin, form=form)

    def write(self, template: str) -> None:
        for literal, field, _, _ in string.Formatter().parse(template):
            if literal:
                self.add(literal)
            if field is not None:
                self._field(field)

    def _field(self, field: str) -> None:
        rng = self.rng
        attendee = rng.choice(self.attendees)
        other = Person(*rng.choice(OTHER_POOL))
        match field:
            case "R":
                full = rng.random() < 0.5
                self.name(
                    attendee, attendee.name if full else attendee.first, "full" if full else "given"
                )
            case "RF":
                self.name(attendee, attendee.name, "full")
            case "RT":
                self.add(f"{rng.choice(ROSTER_TITLES)} ")
                self.name(attendee, attendee.last, "title")
            case "RI":
                with_initials = [person for person in self.attendees if person.initials]
                if with_initials:
                    person = rng.choice(with_initials)
                    self.initials(person, person.initials or "")
                else:
                    self.name(attendee, attendee.name, "full")
            case "O":
                self.name(other, other.name, "full")
            case "OF":
                self.name(other, other.first, "given")
            case "OT":
                self.add(f"{rng.choice(OTHER_TITLES)} ")
                self.name(other, other.last, "title")
            case "phone":
                self.add(_phone(rng), "phone")
            case "email":
                person = rng.choice((attendee, other))
                self.add(_email(rng, person.first, person.last), "email")
            case "postcode":
                self.add(_postcode(rng), "postcode")
            case "nhs":
                self.add(nhs_number(rng), "nhs_number")
            case "ni":
                self.add(ni_number(rng), "ni_number")
            case "address":
                self.add(street_address(rng), "address")
            case "dob":
                self.add(date_of_birth(rng), "date_of_birth")
            case _:
                self.add(rng.choice(VOCABULARY[field]))


@dataclasses.dataclass
class Block:
    """A heading or paragraph of minutes, with what was planted in it (paragraphs only)."""

    kind: str  # title, h1 or p
    text: str
    planted: list[Planted] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Tally:
    """What a run wrote, for the summary it prints."""

    sites: int = 0
    minutes_files: Counter[str] = dataclasses.field(default_factory=Counter)
    paragraphs: int = 0
    minutes_words: int = 0
    responses: Counter[str] = dataclasses.field(default_factory=Counter)
    free_text_answers: int = 0
    survey_words: int = 0
    action_rows: int = 0
    withdrawals: int = 0
    planted: Counter[str] = dataclasses.field(default_factory=Counter)
    names_by_person: Counter[str] = dataclasses.field(default_factory=Counter)
    origins: Counter[str] = dataclasses.field(default_factory=Counter)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def responses_total(self) -> int:
        return sum(self.responses.values())


class GroundTruth:
    """`ground_truth.jsonl`, appended to as files are written: one line per planted item."""

    def __init__(self, handle: IO[str], round_id: str) -> None:
        self.handle = handle
        self.round_id = round_id

    def record(
        self, tally: Tally, site_id: str, file: str, locator: str, planted: Sequence[Planted]
    ) -> None:
        for item in planted:
            line = {
                "round": self.round_id,
                "site": site_id,
                "file": file,
                "locator": locator,
                "start": item.start,
                "end": item.end,
                "kind": item.kind,
                "text": item.text,
                "person": item.person,
                "origin": item.origin,
                "form": item.form,
            }
            self.handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            tally.planted[item.kind] += 1
            if item.person is not None:
                tally.names_by_person[item.person] += 1
            if item.origin is not None:
                tally.origins[item.origin] += 1


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _distinct_people(rng: random.Random, size: int) -> list[Person]:
    """A site's people: no two share a given name or a surname, so labels stay unambiguous."""
    pool = list(ROSTER_POOL)
    rng.shuffle(pool)
    firsts: set[str] = set()
    lasts: set[str] = set()
    people: list[Person] = []
    for first, last in pool:
        if first in firsts or last in lasts:
            continue
        firsts.add(first)
        lasts.add(last)
        people.append(Person(first, last, role=_weighted(rng, ATTENDEE_ROLES)))
        if len(people) == size:
            break
    return people


def _with_initials(rng: random.Random, people: Sequence[Person]) -> list[Person]:
    """Most attendees get initials in the manifest; never two with the same at one event."""
    seen: set[str] = set()
    out = []
    for person in people:
        initials = (_ascii(person.first)[0] + _ascii(person.last)[0]).upper()
        given = initials not in seen and rng.random() < 0.85
        if given:
            seen.add(initials)
        out.append(dataclasses.replace(person, initials=initials if given else None))
    return out


class SiteWriter:
    """Writes one site's submission, file by file, and its lines of the ground truth."""

    def __init__(
        self,
        *,
        out: Path,
        round_id: str,
        site_id: str,
        number: int,
        seed: int,
        workshops: int,
        responses: int,
        words_per_workshop: int,
        truth: GroundTruth,
        tally: Tally,
    ) -> None:
        self.out = out
        self.round_id = round_id
        self.site_id = site_id
        self.site_dir = out / round_id / site_id
        self.rng = random.Random(f"ariadne-generate:{seed}:{number}")
        self.workshops = workshops
        self.responses = responses
        self.words_per_workshop = words_per_workshop
        self.truth = truth
        self.tally = tally
        self.people = _distinct_people(self.rng, SITE_POOL_SIZE)
        self.withdrawn: frozenset[str] = frozenset()
        self.seen: list[Person] = []  # everyone who attended an event, in order

    def relative(self, path: Path) -> str:
        return path.relative_to(self.out).as_posix()

    def _wrote(self, path: Path) -> None:
        self.tally.files += 1
        self.tally.bytes += path.stat().st_size

    # -- minutes ---------------------------------------------------------------------------

    def _label(
        self, builder: TextBuilder, speaker: Person, resolver: SpeakerResolver, bold: bool
    ) -> None:
        """Open a turn with a label naming `speaker`, in a form that resolves to them alone."""
        rng = self.rng
        forms = ["full", "full", "role_initials", "initials", "given", "role"]
        rng.shuffle(forms)
        for form in forms:
            probe = self._label_text(speaker, form)
            if probe is None:
                continue
            attribution = resolver.attribute(f"{probe}: text")
            if attribution.problem is None and (
                attribution.speaker == _as_label_person(speaker)
                or (form == "role" and attribution.stakeholder_group == speaker.role)
            ):
                break
        else:
            form = "full"
        self._write_label(builder, speaker, form, bold)

    def _label_text(self, speaker: Person, form: str) -> str | None:
        role = ROLE_WORDS[speaker.role or "other"]
        match form:
            case "full":
                return speaker.name
            case "given":
                return speaker.first
            case "initials":
                return speaker.initials
            case "role_initials":
                return f"{role} ({speaker.initials})" if speaker.initials else None
            case _:
                return role if speaker.role != "other" else None

    def _write_label(self, builder: TextBuilder, speaker: Person, form: str, bold: bool) -> None:
        if bold:
            builder.add("**")
        match form:
            case "full":
                builder.name(speaker, speaker.name, "label")
            case "given":
                builder.name(speaker, speaker.first, "label")
            case "initials":
                builder.initials(speaker, speaker.initials or "", "label")
            case "role_initials":
                builder.add(f"{ROLE_WORDS[speaker.role or 'other']} (")
                builder.initials(speaker, speaker.initials or "", "label")
                builder.add(")")
            case _:
                builder.add(ROLE_WORDS[speaker.role or "other"])
        builder.add(":** " if bold else ": ")

    def _sentence(self, builder: TextBuilder, theme: str) -> None:
        rng = self.rng
        group = _weighted(
            rng,
            (
                ("theme", 45),
                ("other", 10),
                ("filler", 18),
                ("roster", 12),
                ("others", 9),
                ("identifier", 6),
            ),
        )
        match group:
            case "theme":
                template = rng.choice(THEME_SENTENCES[theme])
            case "other":
                template = rng.choice(THEME_SENTENCES[rng.choice(THEME_CODES)])
            case "filler":
                template = rng.choice(FILLER)
            case "roster":
                template = rng.choice(ROSTER)
            case "others":
                template = rng.choice(OTHERS)
            case _:
                template = rng.choice(
                    (*IDENTIFIERS, *IDENTIFIER_SENTENCES[rng.choice(IDENTIFIER_KINDS)])
                )
        builder.space()
        builder.write(template)

    def _paragraph(
        self,
        attendees: Sequence[Person],
        theme: str,
        resolver: SpeakerResolver,
        bold: bool,
        forced: list[str],
    ) -> Block:
        rng = self.rng
        builder = TextBuilder(rng, attendees, self.withdrawn)
        kind = _weighted(rng, (("turn", 55), ("narrative", 35), ("action", 10)))
        if kind == "action":
            template = rng.choice(ACTIONS[theme] + ACTIONS[rng.choice(THEME_CODES)])
            opener = rng.choice(("Action: ", "Action: ", "Agreed action: "))
            builder.add(opener)
            builder.write(template[0].upper() + template[1:] + ".")
            return Block("p", builder.text, builder.planted)
        sentences = rng.randint(1, 5)
        if rng.random() < 0.015:  # a long turn, as when a transcript is pasted in
            kind, sentences = "turn", rng.randint(25, 50)
        if kind == "turn":
            self._label(builder, rng.choice(attendees), resolver, bold)
        for _ in range(sentences):
            self._sentence(builder, theme)
        if forced and rng.random() < 0.3:
            builder.space()
            builder.write(rng.choice(IDENTIFIER_SENTENCES[forced.pop()]))
        return Block("p", builder.text, builder.planted)

    def _fixed(self, attendees: Sequence[Person], template: str) -> Block:
        builder = TextBuilder(self.rng, attendees, self.withdrawn)
        builder.write(template)
        return Block("p", builder.text, builder.planted)

    def _attendance(self, attendees: Sequence[Person]) -> Block:
        builder = TextBuilder(self.rng, attendees, self.withdrawn)
        builder.add("Present were ")
        for index, person in enumerate(attendees):
            if index:
                builder.add(" and " if index == len(attendees) - 1 else ", ")
            builder.name(person, person.name, "full")
            builder.add(f" ({ROLE_WORDS[person.role or 'other'].lower()})")
        builder.add(".")
        return Block("p", builder.text, builder.planted)

    def _minutes(
        self,
        number: int,
        date: dt.date,
        attendees: Sequence[Person],
        resolver: SpeakerResolver,
        bold: bool,
    ) -> list[Block]:
        rng = self.rng
        area = self.site_id.replace("-", " ").title()
        blocks = [
            Block("title", f"ARIADNE workshop {number}, {area}, {date:%d %B %Y}"),
            Block("h1", "Welcome and introductions"),
            self._attendance(attendees),
            self._fixed(
                attendees,
                rng.choice(("Apologies were received from {O} and {O}.", "Apologies from {O}.")),
            ),
            self._fixed(attendees, "The session was chaired by {RF} and notes were taken by {RF}."),
        ]
        forced = list(IDENTIFIER_KINDS)
        rng.shuffle(forced)
        target = rng.randint(int(self.words_per_workshop * 0.7), int(self.words_per_workshop * 1.3))
        themes = rng.sample(THEME_CODES, rng.randint(3, 5))
        sections = [("Actions from the last round", rng.choice(THEME_CODES))]
        sections += [(rng.choice(THEME_HEADINGS[theme]), theme) for theme in themes]
        # Each section ends at its share of the target, counted from the start, so a long
        # paragraph at the end of one section shortens the next instead of adding up.
        written = sum(len(block.text.split()) for block in blocks)
        share = (target - CLOSING_WORDS - written) / len(sections)
        for number, (heading, theme) in enumerate(sections, start=1):
            blocks.append(Block("h1", heading))
            written += len(heading.split())
            goal = target - CLOSING_WORDS - share * (len(sections) - number)
            while True:
                block = self._paragraph(attendees, theme, resolver, bold, forced)
                blocks.append(block)
                written += len(block.text.split())
                if written >= goal:
                    break
        blocks.append(Block("h1", "Any other business"))
        if forced:
            builder = TextBuilder(rng, attendees, self.withdrawn)
            builder.write("{R} asked that the contact details shared today are kept private.")
            for kind in forced:
                builder.space()
                builder.write(rng.choice(IDENTIFIER_SENTENCES[kind]))
            blocks.append(Block("p", builder.text, builder.planted))
        else:
            blocks.append(self._paragraph(attendees, rng.choice(THEME_CODES), resolver, bold, []))
        blocks.append(Block("h1", "Date of next meeting"))
        blocks.append(
            self._fixed(
                attendees,
                "The next workshop will be on a {day} at the {place}; "
                "{RF} will send the date round.",
            )
        )
        return blocks

    def _event(self, number: int, date: dt.date) -> dict[str, object]:
        rng = self.rng
        attendees = _with_initials(rng, rng.sample(self.people, rng.randint(*ATTENDEES_PER_EVENT)))
        self.seen.extend(p for p in attendees if p.name not in {s.name for s in self.seen})
        resolver = SpeakerResolver(
            event_id=f"{self.site_id}-ws{number}",
            attendees=Roster(_as_label_person(p) for p in attendees),
            withdrawals=Roster(LabelPerson(name) for name in sorted(self.withdrawn)),
        )
        docx = number % 2 == 1
        suffix = "docx" if docx else "md"
        path = self.site_dir / "minutes" / f"{date:%Y-%m-%d}-workshop-{number}.{suffix}"
        bold = rng.random() < 0.4
        blocks = self._minutes(number, date, attendees, resolver, bold=bold and not docx)
        plain = [(block.kind, block.text) for block in blocks]
        if docx:
            action_style = "List Bullet" if rng.random() < 0.3 else None
            write_docx(
                path, plain, title=blocks[0].text, bold_labels=bold, action_style=action_style
            )
        else:
            write_markdown(path, plain)
        self._wrote(path)
        file = self.relative(path)
        paragraph = 0
        for block in blocks:
            self.tally.minutes_words += len(block.text.split())
            if block.kind == "p":
                paragraph += 1
                self.truth.record(
                    self.tally, self.site_id, file, f"paragraph {paragraph}", block.planted
                )
        self.tally.paragraphs += paragraph
        self.tally.minutes_files[suffix] += 1
        return {
            "id": f"{self.site_id}-ws{number}",
            "type": "local_workshop",
            "date": date,
            "minutes": path.relative_to(self.site_dir).as_posix(),
            "attendees": [
                {"name": p.name, "role": p.role, **({"initials": p.initials} if p.initials else {})}
                for p in attendees
            ],
        }

    # -- surveys and action plan -----------------------------------------------------------

    def _answer(self, item: str) -> tuple[str, list[Planted]]:
        rng = self.rng
        builder = TextBuilder(rng, self.seen, self.withdrawn)
        for _ in range(rng.randint(1, 3)):
            builder.space()
            builder.write(rng.choice(SURVEY_ANSWERS[item]))
        if rng.random() < 0.12:
            builder.space()
            builder.write(rng.choice(SURVEY_PLANTS))
        return builder.text, builder.planted

    def _response(self) -> tuple[dict[str, object], dict[str, list[Planted]]]:
        rng = self.rng
        values: dict[str, object] = {
            "respondent_role": _weighted(rng, RESPONDENT_ROLES),
            "ethnic_group": rng.choice(ETHNIC_GROUPS),
            "age_band": rng.choice(AGE_BANDS),
            "access_ease": rng.choice(LIKERT),
            "respect_experience": rng.choice(LIKERT),
            "trust_services": rng.choice(LIKERT),
        }
        planted: dict[str, list[Planted]] = {}
        for item, share in (
            ("what_changed", 0.6),
            ("still_in_way", 0.6),
            ("what_would_help", 0.55),
        ):
            if rng.random() < share:
                values[item], planted[item] = self._answer(item)
                self.tally.free_text_answers += 1
                self.tally.survey_words += len(str(values[item]).split())
            else:
                values[item] = None
        return values, planted

    def _forms_export(self, count: int, start: dt.datetime) -> dict[str, object]:
        """The Forms export: ID, times, Email and Name (signed-in respondents), questions."""
        rng = self.rng
        path = self.site_dir / "surveys" / "followup-forms.xlsx"
        file = self.relative(path)
        header = [*FORMS_META, *FORMS_QUESTIONS]
        rows = []
        for number in range(1, count + 1):
            row_number = number + 1
            values, planted = self._response()
            begun = start + dt.timedelta(
                hours=number * 7 + rng.randrange(6), minutes=rng.randrange(60)
            )
            finished = begun + dt.timedelta(minutes=rng.randint(3, 25), seconds=rng.randrange(60))
            name = email = None
            if rng.random() < 0.55:
                person = (
                    rng.choice(self.seen) if rng.random() < 0.3 else Person(*rng.choice(OTHER_POOL))
                )
                name, email = person.name, _email(rng, person.first, person.last)
                status = "other" if person.role is None else "attendee"
                if person.name in self.withdrawn:
                    status = "withdrawn"
                self.truth.record(
                    self.tally,
                    self.site_id,
                    file,
                    f"row {row_number}, column Name",
                    [Planted(0, len(name), "name", name, status, person.origin, "column")],
                )
                self.truth.record(
                    self.tally,
                    self.site_id,
                    file,
                    f"row {row_number}, column Email",
                    [Planted(0, len(email), "email", email)],
                )
            for item, found in planted.items():
                self.truth.record(
                    self.tally, self.site_id, file, f"row {row_number}, item {item}", found
                )
            answers = [values[FORMS_QUESTIONS[question]] for question in FORMS_QUESTIONS]
            rows.append([number, begun, finished, email or "anonymous", name, None, *answers])
        write_xlsx(path, header, rows, widths={"B": 18, "C": 18, "D": 28, "E": 22})
        self._wrote(path)
        self.tally.responses["xlsx"] += count
        return {
            "file": path.relative_to(self.site_dir).as_posix(),
            "instrument": INSTRUMENT,
            "columns": {Quoted(question): item for question, item in FORMS_QUESTIONS.items()},
        }

    def _paper_forms(self, count: int, start: dt.datetime) -> dict[str, object]:
        """Paper forms typed into a spreadsheet: item ids as headers, saved as CSV UTF-8."""
        rng = self.rng
        path = self.site_dir / "surveys" / "followup-paper.csv"
        file = self.relative(path)
        rows = []
        for number in range(1, count + 1):
            values, planted = self._response()
            for item, found in planted.items():
                self.truth.record(
                    self.tally, self.site_id, file, f"row {number + 1}, item {item}", found
                )
            stamp = start + dt.timedelta(days=number // 4, minutes=rng.randrange(600))
            rows.append(
                [f"P{number:04d}", f"{stamp:%d/%m/%Y %H:%M}"]
                + ["" if values[item] is None else str(values[item]) for item in ITEMS]
            )
        write_csv(path, ["ID", "Timestamp", *ITEMS], rows, encoding="utf-8-sig")
        self._wrote(path)
        self.tally.responses["csv"] += count
        return {"file": path.relative_to(self.site_dir).as_posix(), "instrument": INSTRUMENT}

    def _action_plan(self) -> None:
        rng = self.rng
        path = self.site_dir / "action_plan.csv"
        file = self.relative(path)
        rows = []
        for number in range(1, rng.randint(4, 8) + 1):
            theme = rng.choice(THEME_CODES)
            status = rng.choice(
                ("not_started", "in_progress", "in_progress", "achieved", "stalled", "dropped")
            )
            action = TextBuilder(rng, self.seen, self.withdrawn)
            template = rng.choice(ACTIONS[theme])
            action.write(template[0].upper() + template[1:])
            self.truth.record(
                self.tally, self.site_id, file, f"row {number + 1}, column action", action.planted
            )
            evidence = ""
            if status != "not_started" and rng.random() < 0.8:
                builder = TextBuilder(rng, self.seen, self.withdrawn)
                builder.write(rng.choice(EVIDENCE))
                evidence = builder.text
                self.truth.record(
                    self.tally,
                    self.site_id,
                    file,
                    f"row {number + 1}, column evidence",
                    builder.planted,
                )
            rows.append([f"a{number}", action.text, theme, status, evidence])
        write_csv(path, ACTION_HEADER, rows)
        self._wrote(path)
        self.tally.action_rows += len(rows)

    # -- the site --------------------------------------------------------------------------

    def write(self) -> None:
        rng = self.rng
        if rng.random() < WITHDRAWAL_SHARE:
            self.withdrawn = frozenset({rng.choice(self.people).name})
        days = sorted(rng.sample(range((PERIOD[1] - PERIOD[0]).days - 60), self.workshops))
        events = [
            self._event(number, PERIOD[0] + dt.timedelta(days=day))
            for number, day in enumerate(days, start=1)
        ]
        # A withdrawal names someone who attended; one who never came is dropped.
        attended = {person.name for person in self.seen}
        self.withdrawn = frozenset(name for name in self.withdrawn if name in attended)
        surveys = []
        start = dt.datetime.combine(PERIOD[0] + dt.timedelta(days=days[-1]), dt.time(9, 0))
        online = round(self.responses * FORMS_SHARE) if self.responses > 1 else self.responses
        if online:
            surveys.append(self._forms_export(online, start))
        if self.responses - online:
            surveys.append(self._paper_forms(self.responses - online, start))
        self._action_plan()
        manifest: dict[str, object] = {
            "site": self.site_id,
            "round": self.round_id,
            "events": events,
        }
        if surveys:
            manifest["surveys"] = surveys
        if self.withdrawn:
            manifest["withdrawals"] = [{"name": name} for name in sorted(self.withdrawn)]
            self.tally.withdrawals += len(self.withdrawn)
        path = self.site_dir / "manifest.yaml"
        write_yaml(path, manifest, SYNTHETIC)
        self._wrote(path)
        self.tally.sites += 1


def _as_label_person(person: Person) -> LabelPerson:
    return LabelPerson(person.name, person.role, person.initials)


def site_ids(count: int) -> list[str]:
    """Slugs of English areas, numbered once the list runs out."""
    return [
        SITE_AREAS[index % len(SITE_AREAS)]
        + (f"-{index // len(SITE_AREAS) + 1}" if index >= len(SITE_AREAS) else "")
        for index in range(count)
    ]


def generate_round(
    out: Path,
    *,
    sites: int,
    workshops_per_site: int,
    responses_per_site: int,
    seed: int,
    round_id: str = DEFAULT_ROUND_ID,
    words_per_workshop: int = DEFAULT_WORDS_PER_WORKSHOP,
) -> Tally:
    """Write the round under `out/<round_id>/` with its ground truth; return what was written.

    Refuses to write into an existing round folder: files left from an earlier, larger
    round would mix with the new one.
    """
    if not is_slug(round_id):
        raise ValueError(f"round id {round_id!r} is not a lower-case slug ([a-z0-9][a-z0-9-]*)")
    if sites < 1 or workshops_per_site < 1 or responses_per_site < 0:
        raise ValueError("need at least one site and one workshop per site, and no negative count")
    if words_per_workshop < MIN_WORDS_PER_WORKSHOP:
        raise ValueError(f"--words-per-workshop must be at least {MIN_WORDS_PER_WORKSHOP}")
    if workshops_per_site > 200:
        raise ValueError("at most 200 workshops per site (one every other day of the round)")
    round_dir = out / round_id
    if round_dir.exists() and any(round_dir.iterdir()):
        raise FileExistsError(f"{round_dir} already exists and is not empty")
    started = time.perf_counter()
    round_dir.mkdir(parents=True, exist_ok=True)
    tally = Tally()
    write_yaml(
        round_dir / "round.yaml",
        {
            "round": round_id,
            "title": f"Synthetic ARIADNE round ({sites} sites, seed {seed})",
            "kind": "impact",
            "period": {"start": PERIOD[0], "end": PERIOD[1]},
        },
        SYNTHETIC,
    )
    with (round_dir / GROUND_TRUTH).open("w", encoding="utf-8", newline="\n") as handle:
        truth = GroundTruth(handle, round_id)
        for number, site_id in enumerate(site_ids(sites), start=1):
            SiteWriter(
                out=out,
                round_id=round_id,
                site_id=site_id,
                number=number,
                seed=seed,
                workshops=workshops_per_site,
                responses=responses_per_site,
                words_per_workshop=words_per_workshop,
                truth=truth,
                tally=tally,
            ).write()
    tally.seconds = time.perf_counter() - started
    return tally


def format_tally(tally: Tally, round_dir: Path) -> str:
    """What was written, in the words a data manager or a benchmark reads."""
    identifiers = ", ".join(f"{kind} {tally.planted[kind]:,}" for kind in IDENTIFIER_KINDS)
    people = ", ".join(f"{who} {n:,}" for who, n in sorted(tally.names_by_person.items()))
    return "\n".join(
        [
            f"wrote {round_dir}: {tally.sites:,} sites, {tally.files:,} files, "
            f"{tally.bytes / 2**20:,.1f} MiB in {tally.seconds:,.1f} s",
            f"minutes: {sum(tally.minutes_files.values()):,} files ("
            + ", ".join(f"{n:,} .{kind}" for kind, n in sorted(tally.minutes_files.items()))
            + f"), {tally.paragraphs:,} paragraphs, {tally.minutes_words:,} words",
            f"surveys: {tally.responses_total:,} responses ("
            + ", ".join(f"{n:,} {kind}" for kind, n in sorted(tally.responses.items()))
            + f"), {tally.free_text_answers:,} free-text answers, {tally.survey_words:,} words",
            f"action plans: {tally.action_rows:,} rows; withdrawals: {tally.withdrawals:,}",
            f"planted names {tally.planted['name']:,} and initials {tally.planted['initials']:,} "
            f"({people}) of {len(tally.origins)} origins",
            f"planted identifiers: {identifiers}",
            f"ground truth: {round_dir / GROUND_TRUTH}",
        ]
    )
