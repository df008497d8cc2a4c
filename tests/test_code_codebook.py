"""The codebook file: it loads, it keeps the contract's themes, and bad files fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from schemas.codebook import (
    CODEBOOK_DIR,
    CONTRACT_THEME_CODES,
    CodebookError,
    codebook_path,
    latest_version,
    load_codebook,
)
from schemas.contract import CATEGORIES


def minimal_codebook(version: str = "v9") -> dict:
    """A small valid codebook document: each contract theme matched by its own made-up word."""
    themes = [
        {
            "code": code,
            "name": code,
            "brief_definition": "b",
            "full_definition": "f",
            "when_to_use": "w",
            "when_not_to_use": "n",
            "example": "e",
            "counter_example": "c",
            "rules": [{"phrases": [f"cue{number}"]}],
        }
        for number, code in enumerate(CONTRACT_THEME_CODES)
    ]
    return {
        "version": version,
        "themes": themes,
        "categories": {
            "for_actions": "solution",
            "precedence": ["solution", "barrier", "progress"],
            "default": "barrier",
            "cues": [
                {"code": code, "definition": code, "rules": [{"phrases": [f"{code}word"]}]}
                for code in CATEGORIES
            ],
        },
    }


def write(tmp_path: Path, document: dict, name: str | None = None) -> Path:
    path = tmp_path / (name or f"codebook-{document['version']}.yaml")
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def codebook_v1():
    return load_codebook(codebook_path("v1", CODEBOOK_DIR))


def test_shipped_codebook_holds_every_contract_theme(codebook_v1):
    assert codebook_v1.version == "v1"
    assert set(CONTRACT_THEME_CODES) <= set(codebook_v1.theme_codes)


def test_contract_theme_list_matches_the_contract_page(shared_dir: Path):
    page = shared_dir / "contracts" / "codebook-themes.md"
    codes = re.findall(r"^\| `([a-z-]+)` \|", page.read_text(encoding="utf-8"), re.M)
    themes = [code for code in codes if code not in CATEGORIES]
    assert tuple(themes) == CONTRACT_THEME_CODES


def test_every_theme_is_a_full_codebook_entry(codebook_v1):
    for theme in codebook_v1.themes:
        for field in (
            "name",
            "brief_definition",
            "full_definition",
            "when_to_use",
            "when_not_to_use",
            "example",
            "counter_example",
        ):
            assert getattr(theme, field).strip(), f"{theme.code} lacks {field}"
        assert any(group.phrases or group.patterns for group in theme.rules)


def test_seed_sub_codes_hang_under_their_theme(codebook_v1):
    sub_codes = {sub.code for theme in codebook_v1.themes for sub in theme.sub_codes}
    assert {
        "stigma/internal",
        "stigma/in-group",
        "stigma/external",
        "stigma/cultural",
        "professional-blindness/institutional-racism",
    } <= sub_codes


def test_categories_are_the_contract_categories(codebook_v1):
    categories = codebook_v1.categories
    assert sorted(cues.code for cues in categories.cues) == sorted(CATEGORIES)
    assert categories.for_actions == "solution"


def test_missing_contract_theme_is_rejected_by_name(tmp_path):
    document = minimal_codebook()
    document["themes"] = [t for t in document["themes"] if t["code"] != "pandemic-impact"]
    with pytest.raises(CodebookError, match=r"contract themes missing.*pandemic-impact"):
        load_codebook(write(tmp_path, document))


def test_renamed_contract_theme_is_rejected(tmp_path):
    document = minimal_codebook()
    document["themes"][3]["code"] = "mental-health-stigma"
    with pytest.raises(CodebookError, match=r"contract themes missing .*: stigma$"):
        load_codebook(write(tmp_path, document))


def test_duplicate_codes_are_rejected(tmp_path):
    document = minimal_codebook()
    document["themes"].append(dict(document["themes"][0]))
    with pytest.raises(CodebookError, match="more than once: minoritised-concept"):
        load_codebook(write(tmp_path, document))


def test_sub_code_must_sit_under_its_theme(tmp_path):
    document = minimal_codebook()
    document["themes"][3]["sub_codes"] = [
        {
            "code": "racism/cultural",
            "name": "x",
            "brief_definition": "x",
            "rules": [{"phrases": ["x"]}],
        }
    ]
    with pytest.raises(CodebookError, match="must start with stigma/"):
        load_codebook(write(tmp_path, document))


def test_malformed_pattern_is_rejected_with_its_place(tmp_path):
    document = minimal_codebook()
    document["themes"][2]["rules"][0]["patterns"] = [[{"LOWR": "covid"}]]
    with pytest.raises(CodebookError, match=r"themes\.pandemic-impact\.rules\[0\]\.patterns\[0\]"):
        load_codebook(write(tmp_path, document))


def test_bad_regex_is_rejected(tmp_path):
    document = minimal_codebook()
    document["themes"][0]["rules"][0]["patterns"] = [[{"TEXT": {"REGEX": "(unclosed"}}]]
    with pytest.raises(CodebookError, match="not a valid spaCy pattern"):
        load_codebook(write(tmp_path, document))


def test_pattern_needing_a_trained_pipeline_is_rejected(tmp_path):
    document = minimal_codebook()
    document["themes"][0]["rules"][0]["patterns"] = [[{"LEMMA": "label"}]]
    with pytest.raises(CodebookError, match="LEMMA needs a trained pipeline"):
        load_codebook(write(tmp_path, document))


def test_upper_case_lower_value_is_rejected(tmp_path):
    document = minimal_codebook()
    document["themes"][0]["rules"][0]["patterns"] = [[{"LOWER": {"IN": ["BAME", "bme"]}}]]
    with pytest.raises(CodebookError, match="'BAME' can never match"):
        load_codebook(write(tmp_path, document))


def test_yaml_boolean_in_a_phrase_list_is_rejected(tmp_path):
    path = tmp_path / "codebook-v9.yaml"
    path.write_text(yaml.safe_dump(minimal_codebook()).replace("- cue0", "- no"), encoding="utf-8")
    with pytest.raises(CodebookError, match="valid string"):
        load_codebook(path)


def test_phrase_listed_twice_for_a_theme_is_rejected(tmp_path):
    document = minimal_codebook()
    document["themes"][0]["rules"].append({"weight": 0.5, "phrases": ["Cue0"]})
    with pytest.raises(CodebookError, match="'Cue0' listed more than once"):
        load_codebook(write(tmp_path, document))


def test_file_name_and_version_must_agree(tmp_path):
    with pytest.raises(CodebookError, match="file name says v3 but version is v9"):
        load_codebook(write(tmp_path, minimal_codebook("v9"), name="codebook-v3.yaml"))


def test_unknown_category_in_by_item_is_rejected(tmp_path):
    document = minimal_codebook()
    document["categories"]["by_item"] = {"what_changed": "improvement"}
    with pytest.raises(CodebookError, match=r"by_item\.what_changed: 'improvement' is not"):
        load_codebook(write(tmp_path, document))


def test_unreadable_and_invalid_files_name_the_file(tmp_path):
    missing = tmp_path / "codebook-v4.yaml"
    with pytest.raises(CodebookError, match=r"codebook-v4\.yaml: cannot be read"):
        load_codebook(missing)
    broken = tmp_path / "codebook-v5.yaml"
    broken.write_text("version: v5\nthemes: [\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"codebook-v5\.yaml: not valid YAML at line \d+"):
        load_codebook(broken)


def test_versions_are_ordered_numerically(tmp_path):
    for version in ("v1", "v2", "v10", "v2.1"):
        write(tmp_path, minimal_codebook(version))
    (tmp_path / "notes.yaml").write_text("x: 1\n", encoding="utf-8")
    assert latest_version(tmp_path) == "v10"
    assert codebook_path("v2.1", tmp_path) == tmp_path / "codebook-v2.1.yaml"
    assert load_codebook(codebook_path("v2.1", tmp_path)).version == "v2.1"


def test_empty_folder_and_bad_version_are_errors(tmp_path):
    with pytest.raises(CodebookError, match="no codebook"):
        latest_version(tmp_path)
    with pytest.raises(CodebookError, match="not of the form"):
        codebook_path("../v1", tmp_path)


def test_shipped_codebooks_are_all_loadable():
    paths = sorted(CODEBOOK_DIR.glob("codebook-*.yaml"))
    assert codebook_path(latest_version(CODEBOOK_DIR), CODEBOOK_DIR) in paths
    for path in paths:
        assert path.name == f"codebook-{load_codebook(path).version}.yaml"


def test_structural_errors_name_the_theme(tmp_path):
    document = minimal_codebook()
    del document["themes"][4]["when_not_to_use"]
    with pytest.raises(CodebookError, match=r"themes\.professional-blindness\.when_not_to_use"):
        load_codebook(write(tmp_path, document))
