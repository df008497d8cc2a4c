"""Keyed pseudonyms: stable for a person, different under another key, the key never shown."""

from __future__ import annotations

import hashlib
import hmac
import pickle
import re

import pytest

from assets.anonymise.pseudonyms import Pseudonymiser
from assets.text_folding import fold, normalise_name
from schemas.tables import PSEUDONYM
from tests.test_anonymise_roster import KEY


def test_person_ref_is_the_hmac_of_the_normalised_name():
    expected = hmac.new(KEY, b"siobhan o'connor", hashlib.sha256).hexdigest()
    assert Pseudonymiser(KEY).person_ref("Siobhán O\u2019Connor") == expected


@pytest.mark.parametrize(
    "spelling",
    [
        "Siobhán O'Connor",
        "SIOBHAN O'CONNOR",
        "  siobhan   o\u2019connor ",
        "Siobha\u0301n O'Connor",
    ],
)
def test_same_person_same_ref_whatever_the_spelling(spelling):
    assert Pseudonymiser(KEY).person_ref(spelling) == Pseudonymiser(KEY).person_ref(
        "Siobhán O'Connor"
    )


def test_normalised_names():
    assert normalise_name(" Marcia  Campbell \u2013 Reid ") == "marcia campbell-reid"
    assert normalise_name("Łukasz Wiśniewski") == "lukasz wisniewski"
    assert normalise_name("Ay\u015fe Y\u0131lmaz") == "ayse yilmaz"
    assert normalise_name("Mehmet Öztürk\n") == "mehmet ozturk"
    assert normalise_name("Strauß") == "strauss"


def test_pseudonym_format_and_roles():
    pseudonymiser = Pseudonymiser(KEY)
    for role in ("carer", "service_user", "Service user", "voluntary-sector"):
        assert re.match(PSEUDONYM, pseudonymiser.pseudonym("Kwame Mensah", role))
    carer = pseudonymiser.pseudonym("Kwame Mensah", "carer")
    staff = pseudonymiser.pseudonym("Kwame Mensah", "staff")
    assert carer.startswith("[carer-")
    assert staff.startswith("[staff-")
    assert carer[-7:] == staff[-7:] == pseudonymiser.person_ref("Kwame Mensah")[:6] + "]"


def test_same_key_same_pseudonym_different_key_different():
    name, role = "Amara Okafor", "staff"
    assert Pseudonymiser(KEY).pseudonym(name, role) == Pseudonymiser(KEY).pseudonym(name, role)
    other = Pseudonymiser(b"another-key-0123456789")
    assert other.pseudonym(name, role) != Pseudonymiser(KEY).pseudonym(name, role)
    assert Pseudonymiser(KEY).pseudonym("Amara Osei", role) != Pseudonymiser(KEY).pseudonym(
        name, role
    )


def test_the_key_is_never_shown_or_pickled():
    pseudonymiser = Pseudonymiser(KEY)
    assert KEY.decode() not in repr(pseudonymiser)
    assert KEY.decode() not in str(pseudonymiser)
    with pytest.raises(TypeError):
        pickle.dumps(pseudonymiser)


def test_weak_or_wrong_keys_are_refused_without_quoting_them():
    with pytest.raises(ValueError) as error:
        Pseudonymiser(b"short-key")
    assert "short-key" not in str(error.value)
    with pytest.raises(TypeError):
        Pseudonymiser("a-string-key-0123456789")  # type: ignore[arg-type]


def test_bad_role_or_empty_name_is_refused_without_quoting_the_name():
    with pytest.raises(ValueError) as error:
        Pseudonymiser(KEY).pseudonym("Amara Okafor", "Amara Okafor")
    assert "Okafor" not in str(error.value)
    with pytest.raises(ValueError):
        Pseudonymiser(KEY).person_ref("  ")


def test_fold_maps_back_to_the_original_characters():
    text = "Stra\u00dfe Zoe\u0308 \ufb01ne"
    folded = fold(text)
    assert folded.text == "strasse zoe fine"
    start = folded.text.index("zoe")
    assert text[slice(*folded.to_original(start, start + 3))] == "Zoe\u0308"
    start = folded.text.index("fine")
    assert text[slice(*folded.to_original(start, start + 4))] == "\ufb01ne"
    assert fold("Plain ASCII").origin is None
