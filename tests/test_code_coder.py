"""The deductive rule coder: themes, categories, placeholders, versions, table models, speed.

Sentences are written here in the voices of staff, carers and service users; none is
taken from the codebook's own examples.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from assets.code.coder import CODER, CodingError, code_segments, rule_coder
from schemas.codebook import CODEBOOK_DIR, codebook_path, load_codebook
from schemas.tables import CodedSegments, SegmentThemes
from tests.test_code_codebook import minimal_codebook, write


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(codebook_path("v1", CODEBOOK_DIR))


def segments_frame(texts: list[str], **columns: list) -> pd.DataFrame:
    """Anonymised segments as the anonymise stage hands them over (the `Segments` model)."""
    n = len(texts)
    frame = pd.DataFrame(
        {
            "round_id": ["2024-impact"] * n,
            "site_id": ["east-london"] * n,
            "segment_id": [f"el-ws1-p{number:03d}" for number in range(n)],
            "source_kind": ["minutes"] * n,
            "event_id": ["el-ws1"] * n,
            "source_file": ["minutes/2024-05-21-workshop.md"] * n,
            "source_sha256": ["0" * 64] * n,
            "locator": [f"paragraph {number + 1}" for number in range(n)],
            "agenda_item": ["2. What has changed"] * n,
            "stakeholder_group": ["carer"] * n,
            "is_action": [False] * n,
            "response_id": [None] * n,
            "item_id": [None] * n,
            "text": texts,
            "speaker": ["[carer-7f3a9c]"] * n,
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def themes_of(texts: list[str], codebook) -> list[set[str]]:
    result = code_segments(segments_frame(texts), codebook)
    by_segment = result.segment_themes.groupby("segment_id")["theme_code"].apply(set)
    return [by_segment.get(segment_id, set()) for segment_id in result.segments["segment_id"]]


FOUND = {
    "minoritised-concept": [
        "I hate the word BAME, it makes my family sound like a box on a form.",
        "When we say minoritised we have to be clear who we mean, Roma families never "
        "show up in our figures.",
        "We're not all the same: a Nigerian student and a Jamaican grandmother have little "
        "in common except the form they fill in.",
    ],
    "racism-experience": [
        "On the bus a man told me to go back to my own country, and I was born in Leicester.",
        "My daughter was called racist names at school and the teachers did nothing.",
        "People need somewhere safe to talk about discrimination without being told they "
        "are imagining it, a proper safe space.",
    ],
    "pandemic-impact": [
        "In the first lockdown my appointments turned into phone calls and I stopped picking up.",
        "Since Covid our referrals have doubled and the team is exhausted.",
        "My uncle was shielding for months and nobody from the team checked on him.",
    ],
    "stigma": [
        "My mother-in-law said nobody must know, it would bring shame on the family.",
        "Where I come from people think you're mad if you see a psychiatrist.",
        "Young men tell us depression is a sign of weakness, so they wait until crisis.",
    ],
    "professional-blindness": [
        "The doctor didn't listen when I said the tablets clash with my fasting.",
        "Staff told us they treat everyone the same, as if my son's culture did not matter.",
        "We have to face up to institutional racism in who gets restrained on our wards.",
    ],
    "education-mediation-digital": [
        "When the interpreter didn't turn up, my ten-year-old had to translate for her nan.",
        "The community link worker helps families with the forms and explains the care plan.",
        "I use the app to book my sessions, it's easier than phoning the team.",
    ],
    "human-rights-cohesion": [
        "Getting an interpreter is a basic human right for my mother, not a favour.",
        "The cafe brought communities together, Somali and Polish neighbours share it now.",
        "People should know their rights under the Mental Health Act before they sign.",
    ],
    "diversified-care-offer": [
        "The peer support worker had been through it herself and understood me straight away.",
        "We now pay the voluntary sector to run a women's group in Bengali.",
        "The arts project at the gurdwara gave my son a reason to leave the house.",
    ],
    "population-neighbourhood-models": [
        "The new neighbourhood mental health team sits in the surgery, so nobody has to "
        "cross the city.",
        "We are using population health data to decide where the next hub goes.",
        "Every primary care network now has a mental health practitioner.",
    ],
    "coproduction-impact": [
        "The redesign of the crisis pathway was co-produced with carers from the start.",
        "The findings from the workshops went straight into our commissioning plans.",
        "We were involved in designing the service, and this time it felt like they listened.",
    ],
}

NEAR_MISSES = {
    "minoritised-concept": [
        "Only a minority of the team could make the evening session.",
        "The label on the tablet box was too small to read.",
    ],
    "racism-experience": [
        "We had a race night at the community centre to raise money for the group.",
        "It was a race against time to get the report finished.",
    ],
    "pandemic-impact": [
        "The lock on the clinic door was broken, so we met in the hall.",
        "I felt isolated after my husband was diagnosed.",
    ],
    "stigma": [
        "What a shame the room was double booked again.",
        "I was mad at the receptionist for losing my letter.",
    ],
    "professional-blindness": [
        "My father is blind and needs the minutes in large print.",
        "The professional development day was well attended.",
    ],
    "education-mediation-digital": [
        "I wasn't sure how to interpret what the consultant meant.",
        "The train from Coventry was late so we started at eleven.",
    ],
    "human-rights-cohesion": [
        "Turn right after the reception desk to find the meeting room.",
        "You're right, the car park is always full on Tuesdays.",
    ],
    "diversified-care-offer": [
        "My peers at college didn't notice anything was wrong.",
        "My son listens to music all night.",
    ],
    "population-neighbourhood-models": [
        "I have lived in this neighbourhood for twenty years.",
        "The prison population has grown again.",
    ],
    "coproduction-impact": [
        "The production of the newsletter was held up at the printers.",
        "As you said, the room was far too cold.",
    ],
}


@pytest.mark.parametrize("theme", sorted(FOUND))
def test_each_theme_is_found_in_everyday_words(theme, codebook):
    for text, themes in zip(FOUND[theme], themes_of(FOUND[theme], codebook), strict=True):
        assert theme in themes, text


@pytest.mark.parametrize("theme", sorted(NEAR_MISSES))
def test_near_misses_do_not_get_the_theme(theme, codebook):
    texts = NEAR_MISSES[theme]
    for text, themes in zip(texts, themes_of(texts, codebook), strict=True):
        assert theme not in themes, text


def test_placeholders_never_trigger_a_rule(codebook):
    texts = [
        "[person] rang [phone] and wrote to [email] from [postcode].",
        "[carer-7f3a9c] and [service_user-0a1b2c] met [staff-abcdef] at [address].",
    ]
    result = code_segments(segments_frame(texts), codebook)
    assert result.segment_themes.empty


def test_placeholders_are_vetoed_even_when_a_rule_names_their_words(tmp_path):
    document = minimal_codebook("v7")
    document["themes"][5]["rules"] = [
        {
            "phrases": ["phone", "carer", "person"],
            "patterns": [[{"TEXT": {"REGEX": "^abc"}}]],
        }
    ]
    custom = load_codebook(write(tmp_path, document))
    texts = [
        "Ring [phone] or ask [carer-abcdef] or [person].",
        "Ring the phone.",
        "The carer came.",
        "abcdef was the code.",
    ]
    assert themes_of(texts, custom) == [
        set(),
        {"education-mediation-digital"},
        {"education-mediation-digital"},
        {"education-mediation-digital"},
    ]


def test_one_segment_can_carry_several_themes(codebook):
    [themes] = themes_of(
        [
            "During lockdown the interpreter service went online and families felt too "
            "ashamed to ask for help."
        ],
        codebook,
    )
    assert {"pandemic-impact", "education-mediation-digital", "stigma"} <= themes


def test_segments_without_any_cue_get_no_theme_but_a_category(codebook):
    result = code_segments(segments_frame(["We broke for lunch at half past twelve."]), codebook)
    assert result.segment_themes.empty
    assert result.segments["category"].tolist() == ["barrier"]


def categories_of(frame: pd.DataFrame, codebook) -> list[str]:
    return code_segments(frame, codebook).segments["category"].tolist()


def test_clear_progress_barrier_and_solution_sentences(codebook):
    texts = [
        "Since the last workshop we have launched a Punjabi helpline and more people are "
        "coming forward.",
        "We are still waiting months for a first appointment and nobody calls back.",
        "The trust should book interpreters for every first assessment.",
        "Access has not really improved for our families.",
        "It hasn't changed at all for the Polish community.",
    ]
    assert categories_of(segments_frame(texts), codebook) == [
        "progress",
        "barrier",
        "solution",
        "barrier",
        "barrier",
    ]


def test_action_paragraphs_are_always_solutions(codebook):
    texts = [
        "Translate the referral leaflet into Somali and Tigrinya.",
        "Chase the waiting list, which is still far too long.",
        "The peer support service has improved a lot.",
    ]
    frame = segments_frame(texts, is_action=[True, True, False])
    assert categories_of(frame, codebook) == ["solution", "solution", "progress"]


def test_survey_item_decides_when_no_cue_fires(codebook):
    texts = ["More Somali speaking staff.", "More Somali speaking staff.", "Bus fares."]
    frame = segments_frame(
        texts,
        source_kind=["survey"] * 3,
        item_id=["what_would_help", "what_changed", "still_in_way"],
    )
    assert categories_of(frame, codebook) == ["solution", "progress", "barrier"]


def test_cues_outrank_the_survey_item(codebook):
    frame = segments_frame(
        ["Nothing has changed, we are still waiting."],
        source_kind=["survey"],
        item_id=["what_changed"],
    )
    assert categories_of(frame, codebook) == ["barrier"]


def test_ties_follow_the_codebook_precedence(tmp_path):
    document = minimal_codebook("v7")
    text = "progressword and solutionword"
    first = load_codebook(write(tmp_path, document))
    document["version"] = "v8"
    document["categories"]["precedence"] = ["progress", "barrier", "solution"]
    second = load_codebook(write(tmp_path, document))
    assert categories_of(segments_frame([text]), first) == ["solution"]
    assert categories_of(segments_frame([text]), second) == ["progress"]


def test_sub_codes_report_detail_while_theme_code_stays_top_level(codebook):
    texts = [
        "My aunt said it would bring shame on the family if anyone knew.",
        "Young Black men are still sectioned and restrained more than anyone.",
    ]
    result = code_segments(segments_frame(texts), codebook)
    assert not result.segment_themes["theme_code"].str.contains("/").any()
    sub_codes = result.segment_sub_codes
    pairs = set(zip(sub_codes["segment_id"], sub_codes["sub_code"], strict=True))
    assert ("el-ws1-p000", "stigma/in-group") in pairs
    assert ("el-ws1-p001", "professional-blindness/institutional-racism") in pairs
    themes = result.segment_themes
    themed = set(zip(themes["segment_id"], themes["theme_code"], strict=True))
    assert {("el-ws1-p000", "stigma"), ("el-ws1-p001", "professional-blindness")} <= themed


def test_confidence_grows_with_distinct_cues_not_repetition(codebook):
    texts = [
        "There is stigma.",
        "There is stigma, stigma, stigma and more stigma.",
        "There is stigma, shame and a taboo about it.",
    ]
    result = code_segments(segments_frame(texts), codebook)
    stigma = result.segment_themes.query("theme_code == 'stigma'").set_index("segment_id")
    one, repeated, three = (stigma.loc[f"el-ws1-p00{n}", "confidence"] for n in range(3))
    assert 0.0 < one == repeated < three <= 1.0


def test_idioms_in_exclusions_do_not_count(codebook):
    [themes] = themes_of(["It's a shame, but such a shame is nothing new."], codebook)
    assert "stigma" not in themes


def test_every_row_records_version_and_coder_and_validates(codebook):
    texts = [FOUND[theme][0] for theme in sorted(FOUND)] + ["We broke for tea."]
    result = code_segments(segments_frame(texts), codebook)
    assert set(result.segments["codebook_version"]) == {"v1"}
    assert set(result.segment_themes["codebook_version"]) == {"v1"}
    assert set(result.segment_themes["coder"]) == {CODER}
    assert set(result.segment_sub_codes["codebook_version"]) <= {"v1"}
    CodedSegments.validate(result.segments)
    SegmentThemes.validate(result.segment_themes)
    assert len(result.segments) == len(texts)
    categories = result.segments.set_index("segment_id")["category"]
    assert (
        result.segment_themes["category"].tolist()
        == categories.loc[result.segment_themes["segment_id"]].tolist()
    )


def test_a_second_codebook_version_recodes_with_its_own_version(tmp_path, codebook):
    document = minimal_codebook("v2")
    document["themes"].append(
        {
            **document["themes"][0],
            "code": "housing",
            "name": "Housing",
            "rules": [{"phrases": ["housing", "evicted"]}],
        }
    )
    document["themes"][3]["rules"] = [{"phrases": ["stigma"]}]
    second = load_codebook(write(tmp_path, document))
    texts = ["We were evicted and the stigma followed us."]
    first_result = code_segments(segments_frame(texts), codebook)
    second_result = code_segments(segments_frame(texts), second)
    assert set(first_result.segment_themes["codebook_version"]) == {"v1"}
    assert set(second_result.segment_themes["codebook_version"]) == {"v2"}
    assert set(second_result.segments["codebook_version"]) == {"v2"}
    assert set(second_result.segment_themes["theme_code"]) == {"housing", "stigma"}


def test_coding_is_deterministic_and_ignores_the_index(codebook):
    texts = [text for examples in FOUND.values() for text in examples]
    frame = segments_frame(texts)
    first = code_segments(frame, codebook)
    second = code_segments(frame.set_axis(range(100, 100 + len(texts))), codebook)
    pd.testing.assert_frame_equal(first.segments, second.segments)
    pd.testing.assert_frame_equal(first.segment_themes, second.segment_themes)


def test_no_segments_give_empty_valid_tables(codebook):
    result = code_segments(segments_frame([]), codebook)
    assert result.segments.empty and result.segment_themes.empty
    SegmentThemes.validate(result.segment_themes)
    assert "category" in result.segments.columns


def test_curly_apostrophes_match_like_straight_ones(codebook):
    [straight, curly] = themes_of(
        ["The nurse didn't listen to us.", "The nurse didn\u2019t listen to us."], codebook
    )
    assert "professional-blindness" in straight
    assert straight == curly


def test_coder_is_compiled_once_per_codebook(codebook):
    assert rule_coder(codebook) is rule_coder(codebook)


def test_explain_names_the_words_behind_a_decision(codebook):
    fired = rule_coder(codebook).explain("Since lockdown we still struggle.")
    assert fired["pandemic-impact"] == ["lockdown"]
    assert set(fired["barrier"]) == {"still", "struggle"}


def test_bad_input_errors_never_quote_personal_data(codebook):
    frame = segments_frame(["The interpreter was late."], speaker=["Amara Okafor"])
    with pytest.raises(CodingError) as error:
        code_segments(frame, codebook)
    assert "speaker" in str(error.value)
    assert "el-ws1-p000" in str(error.value)
    assert "Amara" not in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__
    with pytest.raises(CodingError, match="lack column"):
        code_segments(frame.drop(columns=["text"]), codebook)


def test_ten_thousand_segments_are_all_coded(codebook):
    """Correctness at scale; speed belongs to the benchmark, never to a test's assertion."""
    words = " ".join(text for examples in FOUND.values() for text in examples).split()
    words += ["the", "and", "we", "they", "said", "to", "of", "in", "was", "that", "it"] * 20
    generator = random.Random(7)
    texts = [" ".join(generator.choices(words, k=80)) for _ in range(10_000)]
    frame = segments_frame(texts)
    result = code_segments(frame, codebook)
    assert len(result.segments) == 10_000
    assert result.segments["category"].notna().all()
    assert result.segment_themes["segment_id"].nunique() > 5_000


def custom_codebook(tmp_path: Path, rules: list[dict]):
    """v1-independent codebook whose `stigma` theme has exactly the given rule groups."""
    document = minimal_codebook("v6")
    document["themes"][3]["rules"] = rules
    return load_codebook(write(tmp_path, document))


def stigma_confidence(texts: list[str], codebook) -> list[float | None]:
    themes = code_segments(segments_frame(texts), codebook).segment_themes
    stigma = themes.query("theme_code == 'stigma'").set_index("segment_id")["confidence"]
    return [stigma.get(f"el-ws1-p{number:03d}") for number in range(len(texts))]


def test_a_stretch_of_text_is_evidence_once_per_theme(tmp_path):
    custom = custom_codebook(tmp_path, [{"phrases": ["peer support", "peer support workers"]}])
    nested, separate = stigma_confidence(
        ["The peer support workers came.", "Peer support helps; peer support workers too."],
        custom,
    )
    assert nested == pytest.approx(0.6321, abs=1e-4)
    assert separate == pytest.approx(0.8647, abs=1e-4)


def test_weak_cues_need_company(tmp_path):
    custom = custom_codebook(
        tmp_path, [{"phrases": ["taboo"]}, {"weight": 0.5, "phrases": ["gossip", "secret"]}]
    )
    assert stigma_confidence(["Just gossip.", "Gossip and secret.", "A taboo."], custom) == [
        None,
        pytest.approx(0.6321, abs=1e-4),
        pytest.approx(0.6321, abs=1e-4),
    ]


def test_token_patterns_with_optional_and_repeated_tokens(tmp_path):
    custom = custom_codebook(
        tmp_path,
        [
            {
                "patterns": [
                    [
                        {"LOWER": {"IN": ["kept", "keeps"]}},
                        {"LOWER": "it", "OP": "?"},
                        {"LOWER": "quiet"},
                    ],
                    [{"LOWER": "not"}, {"LOWER": "very", "OP": "*"}, {"LOWER": "welcome"}],
                    [{"TEXT": {"REGEX": "^Izzat$"}}],
                ]
            }
        ],
    )
    texts = [
        "She keeps it quiet.",
        "He KEPT quiet.",
        "Not very very welcome.",
        "It is about Izzat.",
        "It is about izzat.",
        "Kept it very quiet.",
    ]
    found = [conf is not None for conf in stigma_confidence(texts, custom)]
    assert found == [True, True, True, True, False, False]
