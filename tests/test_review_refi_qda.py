"""REFI-QDA exchange: the .qdc codebook, the .qdpx project, its offsets, and the import back.

Texts carry characters outside the BMP (an emoji, mathematical letters) and a combining
accent, because offsets that count UTF-16 units or bytes instead of code points are the
bug QDA tools report most.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import xmlschema

from assets.code.coder import CodingResult, code_segments
from assets.review.refi_qda import (
    CODEBOOK_NS,
    MACHINE_USER,
    PROJECT_NS,
    QdpxError,
    category_guid,
    code_guid,
    export_codebook_qdc,
    export_project_qdpx,
    import_project_qdpx,
)
from schemas.codebook import CODEBOOK_DIR, CONTRACT_THEME_CODES, codebook_path, load_codebook
from schemas.tables import SegmentThemes
from tests.conftest import coded_submission
from tests.hostile_files import xlsx_zip_bomb

ROUND = "2024-impact"
NS = {"q": PROJECT_NS}
GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# Anonymised texts per segment of the conftest submission: each fires one theme.
TEXTS = {
    "m1": "Carers said stigma about mental illness 😔 still stops families asking for help.",
    "m2": "The cafe\u0301 now hosts a peer support group run by the voluntary sector.",
    "m3": "Action: book interpreters for every first appointment 🗣🌍🤝 in 𠮷 too.",
    "s1": "During lockdown the waiting lists got much longer for ethnic minority patients.",
    "s2": "Leaflets in Urdu (اردو) are out and the link worker post is funded.",
}


def coded_round(sites: tuple[str, ...] = ("east-london", "sheffield")) -> CodingResult:
    """The conftest submission's segments for some sites, with TEXTS, coded by the rule coder."""
    frames = []
    for site_id in sites:
        segments = coded_submission(ROUND, site_id).segments
        for key, text in TEXTS.items():
            segments.loc[segments["segment_id"].str.contains(f"-{key}"), "text"] = text
        frames.append(segments)
    return code_segments(pd.concat(frames, ignore_index=True), load_codebook_v1())


def load_codebook_v1():
    return load_codebook(codebook_path("v1", CODEBOOK_DIR))


@pytest.fixture(scope="module")
def codebook():
    return load_codebook_v1()


@pytest.fixture(scope="module")
def coded() -> CodingResult:
    result = coded_round()
    coded_ids = set(result.segment_themes["segment_id"])
    assert coded_ids == set(result.segments["segment_id"]), "every text should fire a theme"
    return result


def export(coded: CodingResult, codebook, path: Path, **options) -> Path:
    export_project_qdpx(
        coded.segments, coded.segment_themes, codebook, path, round_id=ROUND, **options
    )
    return path


def project_of(path: Path) -> tuple[ET.Element, dict[str, str]]:
    """The parsed project.qde, and each TextSource's text by source GUID."""
    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("project.qde"))
        texts = {
            name.removeprefix("sources/").removesuffix(".txt"): archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith("sources/")
        }
    return root, texts


def rewrite(
    path: Path,
    target: Path,
    edit: Callable[[ET.Element], None],
    sources: Callable[[str], str] = lambda text: text,
) -> Path:
    """A copy of a .qdpx as a QDA tool might give it back: project.qde edited, texts rewritten."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    root = ET.fromstring(members["project.qde"])
    edit(root)
    # ElementTree writes the namespace with a prefix (ns0:), as some tools do: still read.
    members["project.qde"] = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    for name in members:
        if name.startswith("sources/"):
            members[name] = sources(members[name].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def user_named(root: ET.Element, name: str) -> ET.Element:
    return next(user for user in root.iterfind("q:Users/q:User", NS) if user.get("name") == name)


def add_user(root: ET.Element, name: str) -> str:
    user_guid = str(uuid.uuid4())
    ET.SubElement(root.find("q:Users", NS), f"{{{PROJECT_NS}}}User", guid=user_guid, name=name)
    return user_guid


def add_selection(
    root: ET.Element, source_name: str, start: int, end: int, user: str, code: str
) -> None:
    """A person's selection and coding, placed before any source-level element as the XSD wants."""
    source = next(
        element
        for element in root.iterfind("q:Sources/q:TextSource", NS)
        if element.get("name") == source_name
    )
    selection = ET.Element(
        f"{{{PROJECT_NS}}}PlainTextSelection",
        guid=str(uuid.uuid4()),
        startPosition=str(start),
        endPosition=str(end),
        creatingUser=user,
    )
    coding = ET.SubElement(
        selection, f"{{{PROJECT_NS}}}Coding", guid=str(uuid.uuid4()), creatingUser=user
    )
    ET.SubElement(coding, f"{{{PROJECT_NS}}}CodeRef", targetGUID=code)
    source.insert(0, selection)


def segment(coded: CodingResult, key: str, site_id: str = "east-london") -> pd.Series:
    segments = coded.segments
    mask = (segments["site_id"] == site_id) & segments["segment_id"].str.contains(f"-{key}")
    return segments[mask].iloc[0]


MINUTES = "east-london/minutes/2024-05-21-workshop.md"


# --- the codebook (.qdc) ---------------------------------------------------------------


def test_codebook_qdc_holds_the_themes_with_sub_codes_and_definitions(codebook, tmp_path):
    path = tmp_path / "codebook.qdc"
    export_codebook_qdc(codebook, path)
    root = ET.parse(path).getroot()
    ns = {"c": CODEBOOK_NS}

    assert root.tag == f"{{{CODEBOOK_NS}}}CodeBook"
    top = root.findall("c:Codes/c:Code", ns)
    assert [code.get("name") for code in top] == [*CONTRACT_THEME_CODES, "category"]
    stigma = next(code for code in top if code.get("name") == "stigma")
    theme = next(theme for theme in codebook.themes if theme.code == "stigma")
    assert [sub.get("name") for sub in stigma.findall("c:Code", ns)] == [
        sub.code for sub in theme.sub_codes
    ]
    description = stigma.find("c:Description", ns).text
    assert theme.brief_definition.strip() in description
    assert theme.when_not_to_use.strip() in description
    categories = next(code for code in top if code.get("name") == "category")
    assert categories.get("isCodable") == "false"
    assert [code.get("name") for code in categories.findall("c:Code", ns)] == [
        "progress",
        "barrier",
        "solution",
    ]
    guids = [code.get("guid") for code in root.iter(f"{{{CODEBOOK_NS}}}Code")]
    assert len(set(guids)) == len(guids)
    assert all(pd.Series(guids).str.match(GUID))


def test_codebook_qdc_is_identical_on_re_export_and_new_for_a_new_version(codebook, tmp_path):
    first, again, next_version = tmp_path / "a.qdc", tmp_path / "b.qdc", tmp_path / "c.qdc"
    export_codebook_qdc(codebook, first)
    export_codebook_qdc(codebook, again)
    export_codebook_qdc(codebook.model_copy(update={"version": "v2"}), next_version)

    assert first.read_bytes() == again.read_bytes()
    guids = {code.get("guid") for code in ET.parse(first).getroot().iter()} - {None}
    new_guids = {code.get("guid") for code in ET.parse(next_version).getroot().iter()} - {None}
    assert guids.isdisjoint(new_guids), "a code's GUID names its codebook version"


def test_codebook_qdc_has_the_codebook_structure_of_the_refi_schema(codebook, shared_dir, tmp_path):
    """Project.xsd defines CodeBook too: the .qdc's, moved into a project, must validate."""
    path = tmp_path / "codebook.qdc"
    export_codebook_qdc(codebook, path)
    root = ET.parse(path).getroot()
    for element in root.iter():
        element.tag = element.tag.replace(CODEBOOK_NS, PROJECT_NS)
    project = ET.Element(f"{{{PROJECT_NS}}}Project", name="codebook check")
    project.append(root)

    xmlschema.XMLSchema(shared_dir / "refi-qda" / "Project.xsd").validate(project)


# --- the project (.qdpx) ---------------------------------------------------------------


def test_project_validates_against_the_refi_project_schema(coded, codebook, shared_dir, tmp_path):
    path = export(
        coded, codebook, tmp_path / "round.qdpx", created=datetime(2024, 11, 1, tzinfo=UTC)
    )
    with zipfile.ZipFile(path) as archive:
        document = archive.read("project.qde").decode("utf-8")

    xmlschema.XMLSchema(shared_dir / "refi-qda" / "Project.xsd").validate(document)


def test_project_is_a_zip_of_project_qde_and_one_text_per_site_and_source_file(
    coded, codebook, tmp_path
):
    root, texts = project_of(export(coded, codebook, tmp_path / "round.qdpx"))

    sources = root.findall("q:Sources/q:TextSource", NS)
    expected = {
        f"{site}/{source}"
        for site, source in coded.segments[["site_id", "source_file"]].itertuples(index=False)
    }
    assert {source.get("name") for source in sources} == expected
    assert len(expected) == 4, "two sites, each with a minutes file and a survey"
    for source in sources:
        assert source.get("plainTextPath") == f"internal://{source.get('guid')}.txt"
        assert source.get("guid") in texts


def test_selection_offsets_count_code_points(coded, codebook, tmp_path):
    root, texts = project_of(export(coded, codebook, tmp_path / "round.qdpx"))
    source = next(
        s for s in root.iterfind("q:Sources/q:TextSource", NS) if s.get("name") == MINUTES
    )
    text = texts[source.get("guid")]
    spans = {
        selection.get("name"): (
            int(selection.get("startPosition")),
            int(selection.get("endPosition")),
        )
        for selection in source.iterfind("q:PlainTextSelection", NS)
    }
    m1, m2, m3 = (segment(coded, key) for key in ("m1", "m2", "m3"))

    # Code points, not UTF-16 units or UTF-8 bytes: m1 is 79 code points (80 UTF-16 units,
    # 82 bytes: one emoji); m2 spells é as e + U+0301, 69 code points; m3 has 4 characters
    # outside the BMP, 67 code points (71 UTF-16 units). The separator is 2 code points.
    assert (len(m1["text"]), len(m2["text"]), len(m3["text"])) == (79, 69, 67)
    assert spans[m1["segment_id"]] == (0, 79)
    assert spans[m2["segment_id"]] == (81, 150)
    assert spans[m3["segment_id"]] == (152, 219)
    for segment_id, (start, end) in spans.items():
        expected = coded.segments.set_index("segment_id").at[segment_id, "text"]
        assert text[start:end] == expected


def test_machine_codings_are_by_the_machine_user_with_code_refs_to_the_themes(
    coded, codebook, tmp_path
):
    root, _ = project_of(export(coded, codebook, tmp_path / "round.qdpx"))
    machine = user_named(root, MACHINE_USER).get("guid")
    names = {code.get("guid"): code.get("name") for code in root.iter(f"{{{PROJECT_NS}}}Code")}

    found = {
        (selection.get("name"), names[coding.find("q:CodeRef", NS).get("targetGUID")])
        for selection in root.iter(f"{{{PROJECT_NS}}}PlainTextSelection")
        for coding in selection.iterfind("q:Coding", NS)
        if coding.get("creatingUser") == machine
    }
    themes = set(coded.segment_themes[["segment_id", "theme_code"]].itertuples(index=False))
    categories = set(coded.segments[["segment_id", "category"]].itertuples(index=False))
    assert found == themes | categories


def test_human_coders_present_become_users_with_their_codings(coded, codebook, tmp_path):
    m2 = segment(coded, "m2")["segment_id"]
    second_coder = pd.DataFrame(
        [(m2, "racism-experience", "barrier", "reviewer-7", 1.0, "v1")],
        columns=list(SegmentThemes.to_schema().columns),
    )
    themes = pd.concat([coded.segment_themes, second_coder], ignore_index=True)
    path = tmp_path / "round.qdpx"
    export_project_qdpx(coded.segments, themes, codebook, path, round_id=ROUND)
    root, _ = project_of(path)

    assert [user.get("name") for user in root.iterfind("q:Users/q:User", NS)] == [
        MACHINE_USER,
        "reviewer-7",
    ]
    reviewer = user_named(root, "reviewer-7").get("guid")
    selection = next(
        s for s in root.iter(f"{{{PROJECT_NS}}}PlainTextSelection") if s.get("name") == m2
    )
    theirs = {
        coding.find("q:CodeRef", NS).get("targetGUID")
        for coding in selection.iterfind("q:Coding", NS)
        if coding.get("creatingUser") == reviewer
    }
    assert theirs == {
        code_guid(codebook, "racism-experience"),
        category_guid(codebook, "barrier"),
    }


def test_a_variant_of_a_machine_method_is_still_the_machine(coded, codebook, tmp_path):
    variant = coded.segment_themes.assign(coder="rules-v1:strict")
    path = tmp_path / "round.qdpx"
    export_project_qdpx(coded.segments, variant, codebook, path, round_id=ROUND)
    root, _ = project_of(path)

    assert [user.get("name") for user in root.iterfind("q:Users/q:User", NS)] == [MACHINE_USER]


def test_only_the_published_machine_coders_codings_are_the_machines(coded, codebook, tmp_path):
    """Where the embedding coders ran, segment_themes published the combined coder's rows:
    the rule and semantic coders' rows beside them are not the machine's coding."""
    m1, m2 = (segment(coded, key)["segment_id"] for key in ("m1", "m2"))
    every_coder = pd.concat(
        [
            coded.segment_themes,
            pd.DataFrame(
                [
                    (m1, "racism-experience", "barrier", "combined-v1:minilm", 0.9, "v1"),
                    (m2, "pandemic-impact", "progress", "semantic-v2:minilm", 0.7, "v1"),
                ],
                columns=list(SegmentThemes.to_schema().columns),
            ),
        ],
        ignore_index=True,
    )
    path = tmp_path / "round.qdpx"
    export_project_qdpx(coded.segments, every_coder, codebook, path, round_id=ROUND)
    root, _ = project_of(path)
    machine = user_named(root, MACHINE_USER).get("guid")
    names = {code.get("guid"): code.get("name") for code in root.iter(f"{{{PROJECT_NS}}}Code")}

    found = {
        (selection.get("name"), names[coding.find("q:CodeRef", NS).get("targetGUID")])
        for selection in root.iter(f"{{{PROJECT_NS}}}PlainTextSelection")
        for coding in selection.iterfind("q:Coding", NS)
        if coding.get("creatingUser") == machine
    }
    themes = {(s, name) for s, name in found if name in codebook.theme_codes}
    rules = coded.segment_themes
    sheffield = set(rules.loc[rules["segment_id"].str.startswith("sheffield-"), "segment_id"])
    assert {(s, name) for s, name in themes if s not in sheffield} == {(m1, "racism-experience")}
    assert {(s, name) for s, name in themes if s in sheffield} == set(
        rules.loc[rules["segment_id"].isin(sheffield), ["segment_id", "theme_code"]].itertuples(
            index=False, name=None
        )
    ), "a site the embedding coders did not code keeps the rule coder's rows"
    assert [user.get("name") for user in root.iterfind("q:Users/q:User", NS)] == [MACHINE_USER]


def test_cases_per_site_and_stakeholder_group_carry_variables_and_references(
    coded, codebook, tmp_path
):
    root, _ = project_of(export(coded, codebook, tmp_path / "round.qdpx"))
    variables = {v.get("guid"): v.get("name") for v in root.iterfind("q:Variables/q:Variable", NS)}
    selections = {
        s.get("guid"): s.get("name") for s in root.iter(f"{{{PROJECT_NS}}}PlainTextSelection")
    }
    sources = {s.get("guid"): s.get("name") for s in root.iter(f"{{{PROJECT_NS}}}TextSource")}
    cases = {case.get("name"): case for case in root.iterfind("q:Cases/q:Case", NS)}

    def values(case: ET.Element) -> dict[str, str]:
        return {
            variables[value.find("q:VariableRef", NS).get("targetGUID")]: value.find(
                "q:TextValue", NS
            ).text
            for value in case.iterfind("q:VariableValue", NS)
        }

    assert sorted(variables.values()) == ["round", "site", "stakeholder_group"]
    site = cases["sheffield"]
    assert values(site) == {"round": ROUND, "site": "sheffield"}
    assert {sources[ref.get("targetGUID")] for ref in site.iterfind("q:SourceRef", NS)} == {
        "sheffield/minutes/2024-05-21-workshop.md",
        "sheffield/surveys/followup.csv",
    }
    carers = cases["sheffield / carer"]
    assert values(carers) == {"round": ROUND, "site": "sheffield", "stakeholder_group": "carer"}
    in_group = coded.segments[
        (coded.segments["site_id"] == "sheffield")
        & (coded.segments["stakeholder_group"] == "carer")
    ]
    assert {
        selections[ref.get("targetGUID")] for ref in carers.iterfind("q:SelectionRef", NS)
    } == set(in_group["segment_id"])
    assert "sheffield / unknown" in cases, "the Action paragraph has no stakeholder group"


def test_a_rerun_gives_identical_bytes_whatever_the_row_order(coded, codebook, tmp_path):
    created = datetime(2024, 11, 1, 9, 30, tzinfo=UTC)
    first = export(coded, codebook, tmp_path / "first.qdpx", created=created)
    shuffled = CodingResult(
        segments=coded.segments.sample(frac=1, random_state=3),
        segment_themes=coded.segment_themes.sample(frac=1, random_state=4),
        segment_sub_codes=coded.segment_sub_codes,
    )
    second = export(shuffled, codebook, tmp_path / "second.qdpx", created=created)

    assert first.read_bytes() == second.read_bytes()
    root, _ = project_of(first)
    assert root.get("creationDateTime") == "2024-11-01T09:30:00+00:00"


def test_without_a_timestamp_none_is_written(coded, codebook, tmp_path):
    path = export(coded, codebook, tmp_path / "round.qdpx")
    with zipfile.ZipFile(path) as archive:
        assert b"DateTime" not in archive.read("project.qde")


def test_only_the_round_asked_for_is_exported(coded, codebook, tmp_path):
    other = coded_submission("2022-baseline", "east-london").segments
    other["segment_id"] = "baseline-" + other["segment_id"]  # real ids name their round
    segments = pd.concat([coded.segments, other], ignore_index=True)
    path = tmp_path / "round.qdpx"
    export_project_qdpx(segments, coded.segment_themes, codebook, path, round_id=ROUND)
    root, _ = project_of(path)

    names = {s.get("name") for s in root.iter(f"{{{PROJECT_NS}}}PlainTextSelection")}
    assert names == set(coded.segments["segment_id"])
    with pytest.raises(ValueError, match="no segments of round '2030-impact'"):
        export_project_qdpx(segments, coded.segment_themes, codebook, path, round_id="2030-impact")


# --- the import ------------------------------------------------------------------------


def test_round_trip_the_machine_relabelled_as_a_person_gives_back_its_coding(
    coded, codebook, tmp_path
):
    path = export(coded, codebook, tmp_path / "round.qdpx")

    def relabel(root: ET.Element) -> None:
        user_named(root, MACHINE_USER).set("name", "reviewer-1")

    imported = import_project_qdpx(
        rewrite(path, tmp_path / "back.qdpx", relabel), coded.segments, codebook
    ).codings

    machine = coded.segment_themes
    assert set(imported[["segment_id", "theme_code"]].itertuples(index=False)) == set(
        machine[["segment_id", "theme_code"]].itertuples(index=False)
    )
    assert set(imported["coder"]) == {"reviewer-1"}
    machine_category = coded.segments.set_index("segment_id")["category"]
    assert list(imported["category"]) == list(imported["segment_id"].map(machine_category))
    SegmentThemes.validate(imported)
    assert set(imported["confidence"]) == {1.0}
    assert set(imported["codebook_version"]) == {codebook.version}


def test_machine_codings_are_not_imported_as_human_ones(coded, codebook, tmp_path):
    path = export(coded, codebook, tmp_path / "round.qdpx")

    imported = import_project_qdpx(path, coded.segments, codebook)

    assert (imported.codings.empty, imported.reviewed.empty, imported.problems) == (True, True, [])


def test_a_selection_inside_one_segment_codes_it_and_one_spanning_two_codes_both(
    coded, codebook, tmp_path
):
    path = export(coded, codebook, tmp_path / "round.qdpx")
    racism = code_guid(codebook, "racism-experience")
    cultural = code_guid(codebook, "stigma/cultural")

    def code_by_hand(root: ET.Element) -> None:
        person = add_user(root, "reviewer-3")
        add_selection(root, MINUTES, 60, 90, person, racism)  # end of m1 into m2
        add_selection(root, MINUTES, 160, 170, person, cultural)  # inside m3

    imported = import_project_qdpx(
        rewrite(path, tmp_path / "back.qdpx", code_by_hand), coded.segments, codebook
    ).codings

    m1, m2, m3 = (segment(coded, key)["segment_id"] for key in ("m1", "m2", "m3"))
    assert set(imported[["segment_id", "theme_code", "coder"]].itertuples(index=False)) == {
        (m1, "racism-experience", "reviewer-3"),
        (m2, "racism-experience", "reviewer-3"),
        (m3, "stigma", "reviewer-3"),  # a sub-code counts as its theme
    }


def test_a_persons_category_coding_replaces_the_machines(coded, codebook, tmp_path):
    path = export(coded, codebook, tmp_path / "round.qdpx")
    m1 = segment(coded, "m1")
    assert m1["category"] == "barrier"

    def code_by_hand(root: ET.Element) -> None:
        person = add_user(root, "reviewer-4")
        add_selection(root, MINUTES, 0, 10, person, code_guid(codebook, "stigma"))
        add_selection(root, MINUTES, 0, 10, person, category_guid(codebook, "progress"))
        add_selection(root, MINUTES, 90, 100, person, code_guid(codebook, "stigma"))

    imported = import_project_qdpx(
        rewrite(path, tmp_path / "back.qdpx", code_by_hand), coded.segments, codebook
    ).codings.set_index("segment_id")

    assert imported.at[m1["segment_id"], "category"] == "progress"
    m2 = segment(coded, "m2")
    assert imported.at[m2["segment_id"], "category"] == m2["category"] == "progress"


def test_a_segment_coded_with_a_category_alone_is_reviewed_without_a_theme(
    coded, codebook, tmp_path
):
    path = export(coded, codebook, tmp_path / "round.qdpx")
    m1, m2 = segment(coded, "m1"), segment(coded, "m2")

    def code_by_hand(root: ET.Element) -> None:
        person = add_user(root, "Ngozi Eze")
        add_selection(root, MINUTES, 0, 10, person, category_guid(codebook, "solution"))  # m1
        add_selection(root, MINUTES, 90, 100, person, code_guid(codebook, "stigma"))  # m2

    imported = import_project_qdpx(
        rewrite(path, tmp_path / "back.qdpx", code_by_hand),
        coded.segments,
        codebook,
        coder_name=lambda name: "[researcher-0a1b2c]" if name == "Ngozi Eze" else name,
    )

    assert imported.reviewed.to_dict("records") == [
        {"segment_id": m1["segment_id"], "coder": "[researcher-0a1b2c]", "category": "solution"},
        {"segment_id": m2["segment_id"], "coder": "[researcher-0a1b2c]", "category": "progress"},
    ]
    assert list(imported.codings[["segment_id", "theme_code"]].itertuples(index=False)) == [
        (m2["segment_id"], "stigma")
    ]
    assert imported.problems == []


def test_two_users_who_are_one_coder_give_one_review(coded, codebook, tmp_path):
    """A project exported with an earlier review carries its coder's pseudonym as a user; the
    same person coding again under their name is the same coder."""
    path = export(coded, codebook, tmp_path / "round.qdpx")
    m1 = segment(coded, "m1")["segment_id"]
    pseudonym = "[researcher-3d4e5f]"

    def code_by_hand(root: ET.Element) -> None:
        by_name, earlier = add_user(root, "Ngozi Eze"), add_user(root, pseudonym)
        add_selection(root, MINUTES, 0, 10, by_name, code_guid(codebook, "stigma"))
        add_selection(root, MINUTES, 0, 10, earlier, category_guid(codebook, "progress"))

    imported = import_project_qdpx(
        rewrite(path, tmp_path / "back.qdpx", code_by_hand),
        coded.segments,
        codebook,
        coder_name=lambda name: pseudonym,
    )

    assert imported.reviewed.to_dict("records") == [
        {"segment_id": m1, "coder": pseudonym, "category": "progress"}
    ]
    assert list(
        imported.codings[["segment_id", "theme_code", "category", "coder"]].itertuples(
            index=False, name=None
        )
    ) == [(m1, "stigma", "progress", pseudonym)]


def test_a_tool_that_rewrote_line_breaks_still_maps_selections(coded, codebook, tmp_path):
    """Offset drift: the tool wrote CRLF separators, and its positions count them."""
    path = export(coded, codebook, tmp_path / "round.qdpx")
    m3 = segment(coded, "m3")

    def code_by_hand(root: ET.Element) -> None:
        person = add_user(root, "reviewer-5")
        # m3 is the third paragraph: after m1 (79), m2 (69) and two separators now 4 long.
        start = 79 + 4 + 69 + 4
        add_selection(root, MINUTES, start, start + 5, person, code_guid(codebook, "stigma"))

    back = rewrite(
        path, tmp_path / "back.qdpx", code_by_hand, sources=lambda t: t.replace("\n\n", "\r\n\r\n")
    )
    imported = import_project_qdpx(back, coded.segments, codebook).codings

    assert list(imported["segment_id"]) == [m3["segment_id"]]


def test_a_source_whose_segments_changed_since_the_export_is_refused(coded, codebook, tmp_path):
    path = export(coded, codebook, tmp_path / "round.qdpx")
    changed = coded.segments.copy()
    m2 = segment(coded, "m2")["segment_id"]
    changed.loc[changed["segment_id"] == m2, "text"] = "A different paragraph now."

    with pytest.raises(QdpxError, match=rf"TextSource '{MINUTES}'.*segment {m2} is not in it"):
        import_project_qdpx(path, changed, codebook)


def test_a_broken_zip_is_refused_clearly(coded, codebook, tmp_path):
    path = tmp_path / "broken.qdpx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")

    with pytest.raises(QdpxError, match=r"broken\.qdpx: archive: not a readable ZIP file"):
        import_project_qdpx(path, coded.segments, codebook)


def test_a_zip_bomb_is_refused_before_it_is_opened(coded, codebook, tmp_path):
    path = tmp_path / "bomb.qdpx"
    path.write_bytes(xlsx_zip_bomb())

    with pytest.raises(QdpxError, match=r"bomb\.qdpx: archive: .*ZIP bomb"):
        import_project_qdpx(path, coded.segments, codebook)


def test_a_zip_without_project_qde_is_refused_clearly(coded, codebook, tmp_path):
    path = tmp_path / "empty.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("sources/readme.txt", "nothing here")

    with pytest.raises(
        QdpxError, match=r"empty\.qdpx: archive: project\.qde is not in the archive"
    ):
        import_project_qdpx(path, coded.segments, codebook)


def test_project_qde_that_is_not_xml_is_refused_with_its_place(coded, codebook, tmp_path):
    path = tmp_path / "bad.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", "<Project>\n<Users></Project>")

    with pytest.raises(QdpxError, match=r"project\.qde: not well-formed XML at line 2"):
        import_project_qdpx(path, coded.segments, codebook)


def test_an_unknown_code_guid_is_refused_naming_the_code(coded, codebook, tmp_path):
    path = export(coded, codebook, tmp_path / "round.qdpx")
    new_code = str(uuid.uuid4())

    def add_code(root: ET.Element) -> None:
        ET.SubElement(
            root.find("q:CodeBook/q:Codes", NS),
            f"{{{PROJECT_NS}}}Code",
            guid=new_code,
            name="emergent-trust",
            isCodable="true",
        )
        add_selection(root, MINUTES, 0, 5, add_user(root, "reviewer-6"), new_code)

    back = rewrite(path, tmp_path / "back.qdpx", add_code)
    with pytest.raises(QdpxError) as raised:
        import_project_qdpx(back, coded.segments, codebook)

    message = str(raised.value)
    assert f"TextSource '{MINUTES}', PlainTextSelection" in message
    assert f"unknown code GUID {new_code} (code 'emergent-trust' in the project)" in message


def test_a_selection_out_of_range_is_refused(coded, codebook, tmp_path):
    path = export(coded, codebook, tmp_path / "round.qdpx")
    _, texts = project_of(path)
    length = len(texts[next(iter(texts))]) + 1000

    def code_beyond(root: ET.Element) -> None:
        add_selection(
            root, MINUTES, 5, length, add_user(root, "reviewer-6"), code_guid(codebook, "stigma")
        )

    with pytest.raises(
        QdpxError, match=rf"PlainTextSelection .*selection 5-{length} is out of range"
    ):
        import_project_qdpx(
            rewrite(path, tmp_path / "back.qdpx", code_beyond), coded.segments, codebook
        )


def test_a_coding_by_no_known_user_is_refused(coded, codebook, tmp_path):
    path = export(coded, codebook, tmp_path / "round.qdpx")
    stranger = str(uuid.uuid4())

    def code_as_stranger(root: ET.Element) -> None:
        add_selection(root, MINUTES, 0, 5, stranger, code_guid(codebook, "stigma"))

    with pytest.raises(QdpxError, match=rf"creatingUser {stranger} is not a User"):
        import_project_qdpx(
            rewrite(path, tmp_path / "back.qdpx", code_as_stranger), coded.segments, codebook
        )


def test_raw_segments_with_speaker_names_are_refused(coded, codebook, tmp_path):
    raw = coded.segments.assign(speaker_name="Amara Okafor")

    with pytest.raises(ValueError, match="raw segments"):
        export_project_qdpx(raw, coded.segment_themes, codebook, tmp_path / "x", round_id=ROUND)
    assert not (tmp_path / "x").exists()
