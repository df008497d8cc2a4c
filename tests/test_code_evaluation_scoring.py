"""The coder evaluation set and its scoring: the set loads and is balanced, bad sets fail
clearly, and scores match values worked out by hand."""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from assets.code.coder import code_segments
from assets.code.evaluation import (
    EVAL_SET_COLUMNS,
    EVAL_SET_PATH,
    EvalSetError,
    format_scores,
    load_eval_set,
    score_coding,
)
from schemas.codebook import CODEBOOK_DIR, CONTRACT_THEME_CODES, codebook_path, load_codebook
from schemas.contract import CATEGORIES, ROLES, SOURCE_KINDS

PSEUDONYM = re.compile(rf"\[(?:{'|'.join(ROLES)})-[0-9a-f]{{6}}\]")


@pytest.fixture(scope="module")
def gold() -> pd.DataFrame:
    return load_eval_set(EVAL_SET_PATH)


def test_eval_set_loads_with_its_columns(gold):
    assert tuple(gold.columns) == EVAL_SET_COLUMNS
    assert gold["segment_id"].is_unique
    assert set(gold["source_kind"]) == set(SOURCE_KINDS)
    assert set(gold["stakeholder_group"].dropna()) <= set(ROLES)
    assert all(isinstance(themes, tuple) for themes in gold["themes"])


def test_eval_set_meets_its_balance_minimums(gold):
    assert len(gold) >= 180
    for code in CONTRACT_THEME_CODES:
        assert sum(code in themes for themes in gold["themes"]) >= 15, code
    assert sum(len(themes) == 0 for themes in gold["themes"]) >= 20
    assert sum(len(themes) == 2 for themes in gold["themes"]) >= 30
    for category in CATEGORIES:
        assert (gold["category"] == category).sum() >= 45, category


def test_eval_set_speaks_like_the_pipeline_output(gold):
    """Anonymised text as the coder receives it: pseudonyms and typed placeholders."""
    texts = list(gold["text"])
    assert sum(bool(PSEUDONYM.search(text)) for text in texts) >= 5
    assert any("[person]" in text for text in texts)
    assert any("[phone]" in text for text in texts)
    survey = gold[gold["source_kind"] == "survey"]
    assert survey["item_id"].notna().all()
    actions = gold[gold["is_action"]]
    assert (actions["category"] == "solution").all()
    assert gold.loc[gold["source_kind"] == "action_plan", "stakeholder_group"].isna().all()


def test_eval_set_does_not_copy_the_codebook_examples(gold):
    """The set tests the coder on new sentences: none is a near-copy of a codebook example."""
    codebook = yaml.safe_load(codebook_path("v1", CODEBOOK_DIR).read_text(encoding="utf-8"))
    examples = [
        text.casefold()
        for theme in codebook["themes"]
        for text in (theme["example"], theme["counter_example"])
    ]
    for example in examples:
        matcher = difflib.SequenceMatcher(None, b=example)
        for segment_id, text in zip(gold["segment_id"], gold["text"], strict=True):
            matcher.set_seq1(text.casefold())
            # quick_ratio is an upper bound of ratio: only close candidates get the full count.
            if matcher.quick_ratio() >= 0.6:
                assert matcher.ratio() < 0.6, (segment_id, example)


def write_set(tmp_path: Path, segments: list[dict]) -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(yaml.safe_dump({"segments": segments}, sort_keys=False), encoding="utf-8")
    return path


def entry(segment_id: str = "t-001", **changes) -> dict:
    base = {
        "id": segment_id,
        "source_kind": "minutes",
        "stakeholder_group": "carer",
        "text": "Nobody at the mosque would say the word depression out loud.",
        "themes": ["stigma"],
        "category": "barrier",
    }
    return base | changes


def test_a_small_valid_set_loads_with_defaults(tmp_path):
    path = write_set(tmp_path, [entry(themes=["stigma", "minoritised-concept"])])
    frame = load_eval_set(path)
    assert frame.loc[0, "segment_id"] == "t-001"
    # Contract order, whatever order the labeller wrote them in.
    assert frame.loc[0, "themes"] == ("minoritised-concept", "stigma")
    assert not frame.loc[0, "is_action"]
    assert frame.loc[0, "item_id"] is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (entry("t-007", themes=["stigma/cultural"]), r"segment t-007: themes: 'stigma/cultural'"),
        (entry("t-008", themes=["racism"]), r"segment t-008: themes: 'racism'"),
        (entry("t-009", category="progres"), r"segment t-009: category"),
        (entry("t-010", source_kind="email"), r"segment t-010: source_kind"),
        (entry("t-011", stakeholder_group="community_member"), r"t-011: stakeholder_group"),
        (entry("t-012", text=""), r"segment t-012: text"),
        (entry("t-013", colour="red"), r"segment t-013: colour"),
        (entry("t-014", themes=["stigma", "stigma"]), r"t-014: themes: .* more than once"),
        ({k: v for k, v in entry().items() if k != "id"}, r"entry 2: id"),
    ],
)
def test_bad_entries_name_the_file_and_the_segment(tmp_path, bad, message):
    path = write_set(tmp_path, [entry("t-001"), bad])
    with pytest.raises(EvalSetError, match=message) as caught:
        load_eval_set(path)
    assert str(path) in str(caught.value)


def test_duplicate_ids_are_rejected(tmp_path):
    with pytest.raises(EvalSetError, match="segment t-001: id used more than once"):
        load_eval_set(write_set(tmp_path, [entry(), entry()]))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("segments: [", "not valid YAML"),
        ("- a\n- b\n", "'segments'"),
        ("segments: []", "'segments'"),
    ],
)
def test_unusable_files_fail_clearly(tmp_path, content, message):
    path = tmp_path / "segments.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(EvalSetError, match=message):
        load_eval_set(path)
    with pytest.raises(EvalSetError, match="cannot be read"):
        load_eval_set(tmp_path / "missing.yaml")


def tiny_gold(tmp_path: Path) -> pd.DataFrame:
    """Five segments: s1 stigma/progress, s2 stigma+racism/barrier, s3 none/solution,
    s4 racism/barrier, s5 stigma/solution."""
    return load_eval_set(
        write_set(
            tmp_path,
            [
                entry("s1", themes=["stigma"], category="progress"),
                entry("s2", themes=["stigma", "racism-experience"], category="barrier"),
                entry("s3", themes=[], category="solution"),
                entry("s4", themes=["racism-experience"], category="barrier"),
                entry("s5", themes=["stigma"], category="solution"),
            ],
        )
    )


def predictions(*pairs: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(pairs), columns=["segment_id", "theme_code"])


def test_scores_match_a_hand_worked_example(tmp_path):
    """Predicted: stigma on s1, s2, s5 (3 TP); racism on s3 (FP) and s4 (TP), not s2 (FN).

    Stigma: P = R = F1 = 1, support 3. Racism: P = 1/2, R = 1/2, F1 = 1/2, support 2.
    Micro: TP 4, FP 1, FN 1, so P = R = F1 = 0.8. Macro over the two themes with data
    (the other eight have no gold and no prediction: undefined, left out): 0.75.
    Categories: s1 progress (right), s2 progress (wrong), s3 solution (right),
    s4 barrier (right), s5 none (wrong): accuracy 3/5; progress 1/1, barrier 1/2,
    solution 1/2.
    """
    gold = tiny_gold(tmp_path)
    themes = predictions(
        ("s1", "stigma"),
        ("s2", "stigma"),
        ("s5", "stigma"),
        ("s3", "racism-experience"),
        ("s4", "racism-experience"),
    )
    category = pd.Series({"s1": "progress", "s2": "progress", "s3": "solution", "s4": "barrier"})
    scores = score_coding(gold, themes, category)

    assert scores.n_segments == 5
    stigma = scores.themes.loc["stigma"]
    assert (stigma["precision"], stigma["recall"], stigma["f1"]) == (1.0, 1.0, 1.0)
    assert stigma["support"] == 3
    racism = scores.themes.loc["racism-experience"]
    assert racism["precision"] == pytest.approx(0.5)
    assert racism["recall"] == pytest.approx(0.5)
    assert racism["f1"] == pytest.approx(0.5)
    assert (racism["support"], racism["n_predicted"]) == (2, 2)
    assert math.isnan(scores.themes.loc["pandemic-impact", "precision"])
    assert scores.micro_precision == pytest.approx(0.8)
    assert scores.micro_recall == pytest.approx(0.8)
    assert scores.micro_f1 == pytest.approx(0.8)
    assert scores.macro_precision == pytest.approx(0.75)
    assert scores.macro_recall == pytest.approx(0.75)
    assert scores.macro_f1 == pytest.approx(0.75)
    assert scores.category_accuracy == pytest.approx(0.6)
    assert scores.categories.loc["progress", "accuracy"] == pytest.approx(1.0)
    assert scores.categories.loc["barrier", "accuracy"] == pytest.approx(0.5)
    assert scores.categories.loc["solution", "accuracy"] == pytest.approx(0.5)
    assert list(scores.categories["support"]) == [1, 2, 2]


def test_a_theme_predicted_but_never_in_the_gold_has_precision_zero(tmp_path):
    gold = tiny_gold(tmp_path)
    themes = predictions(("s1", "stigma"), ("s3", "pandemic-impact"))
    scores = score_coding(gold, themes, {})
    pandemic = scores.themes.loc["pandemic-impact"]
    assert pandemic["precision"] == 0.0
    assert math.isnan(pandemic["recall"])
    assert scores.category_accuracy == 0.0


def test_a_perfect_coder_scores_one_everywhere(gold):
    themes = predictions(
        *[
            (segment_id, code)
            for segment_id, codes in zip(gold["segment_id"], gold["themes"], strict=True)
            for code in codes
        ]
    )
    category = gold[["segment_id", "category"]]
    scores = score_coding(gold, themes, category)
    assert scores.micro_f1 == 1.0
    assert scores.macro_f1 == 1.0
    assert (scores.themes["f1"] == 1.0).all()
    assert scores.category_accuracy == 1.0
    assert (scores.categories["accuracy"] == 1.0).all()


def test_codes_unknown_to_the_gold_are_listed_and_not_scored(tmp_path):
    gold = tiny_gold(tmp_path)
    themes = predictions(("s1", "stigma"), ("s1", "stigma/in-group"), ("s3", "faith-and-care"))
    scores = score_coding(gold, themes, {})
    assert scores.unscored_theme_codes == ("faith-and-care", "stigma/in-group")
    assert scores.micro_precision == 1.0


@pytest.mark.parametrize(
    ("themes", "category", "message"),
    [
        (predictions(("s9", "stigma")), {}, "s9"),
        (predictions(), {"s9": "barrier"}, "s9"),
        (predictions(), {"s1": "concern"}, "concern"),
        (pd.DataFrame({"segment_id": ["s1"]}), {}, "theme_code"),
        (predictions(), pd.DataFrame({"segment_id": ["s1"]}), "category"),
    ],
)
def test_predictions_that_do_not_fit_the_set_raise(tmp_path, themes, category, message):
    with pytest.raises(ValueError, match=message):
        score_coding(tiny_gold(tmp_path), themes, category)


def test_format_scores_puts_each_coder_in_a_column(tmp_path):
    gold = tiny_gold(tmp_path)
    category = gold.set_index("segment_id")["category"]
    partial = score_coding(
        gold,
        predictions(("s1", "stigma"), ("s2", "stigma"), ("s2", "racism-experience")),
        category,
    )
    empty = score_coding(gold, predictions(), {})
    table = format_scores({"rules": partial, "semantic": empty})
    lines = table.splitlines()
    assert lines[0].split() == ["rules", "semantic"]
    micro_precision = next(line for line in lines if "micro precision" in line)
    assert micro_precision.split()[-2:] == ["1.000", "-"]
    recall_rows = lines[lines.index("theme recall") :]
    stigma_recall = next(line for line in recall_rows if "stigma (n=3)" in line)
    # Rules found s1 and s2 of the three stigma segments; semantic found none.
    assert stigma_recall.split()[-2:] == ["0.667", "0.000"]
    with pytest.raises(ValueError):
        format_scores({})


def test_the_rule_coder_can_be_scored_on_the_set(gold):
    """End to end: the set feeds the coder as anonymised segments, its output scores."""
    count = len(gold)
    segments = gold[["segment_id", "source_kind", "stakeholder_group", "item_id", "text"]].assign(
        round_id=["coder-eval"] * count,
        site_id=["eval"] * count,
        event_id=[None] * count,
        source_file=["tests/coder_eval/segments.yaml"] * count,
        source_sha256=["0" * 64] * count,
        locator=list(gold["segment_id"]),
        agenda_item=[None] * count,
        is_action=list(gold["is_action"]),
        response_id=[None] * count,
        speaker=[None] * count,
    )
    result = code_segments(segments, load_codebook(codebook_path("v1", CODEBOOK_DIR)))
    scores = score_coding(
        gold, result.segment_themes, result.segments.set_index("segment_id")["category"]
    )
    assert scores.n_segments == count
    assert scores.unscored_theme_codes == ()
    # The coder writes one row per segment and theme: every row is counted, none twice.
    assert scores.themes["n_predicted"].sum() == len(result.segment_themes)
    assert scores.themes["support"].sum() == sum(len(themes) for themes in gold["themes"])
    assert format_scores({"rules": scores}).splitlines()[0].split() == ["rules"]
