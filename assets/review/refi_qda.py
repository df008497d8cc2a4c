"""REFI-QDA exchange (qdasoftware.org): the codebook as `.qdc`, a round's coding as `.qdpx`.

Researchers open the machine's coding in NVivo, ATLAS.ti, MAXQDA or QualCoder, code beside
it under their own pseudonymous user, and export the project again; the import reads their
codings back as segment_themes rows, for comparison with the machine's. The machine's
codings are the published machine coder's (`assets.review.codings`), not every machine
coder's that ran.

Layout. Each site's source file becomes one TextSource whose plain text is its anonymised
segments in reading order, joined by SEPARATOR. Each segment is one PlainTextSelection,
named by its segment_id, over its exact range: positions count Unicode code points from 0,
end exclusive (an emoji is one position, a combining accent one more). Offset drift on
import is the most reported REFI-QDA bug, so the import does not trust positions blindly:
when the tool rewrote the source text (line endings, say), it finds each segment's text in
the text the tool wrote and maps selections onto those ranges.

Determinism. Every GUID is a uuid5 of what it names (a code by codebook version and code),
timestamps are written only when given, and ZIP entries carry a fixed date: the same input
gives the same bytes, and a re-exported codebook keeps its GUIDs.
"""

from __future__ import annotations

import dataclasses
import io
import uuid
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path

import pandas as pd

from assets.ingest.archives import ArchiveError, check_archive
from assets.review import (
    MACHINE_CODERS,
    group_of,
    group_order,
    human_codings,
    is_machine,
    reading_order,
    require_anonymised,
    theme_codes_in_order,
    top_level_codes,
)
from assets.review.codings import ReviewImport, reviewed_table, shown_codings
from schemas.codebook import Codebook, SubCode, Theme
from schemas.contract import CATEGORIES

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
MACHINE_USER = "machine"
SEPARATOR = "\n\n"
VARIABLES = ("round", "site", "stakeholder_group")

_GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:ariadne-impact:refi-qda")
_INTERNAL = "internal://"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class QdpxError(ValueError):
    """A .qdpx that cannot be imported: names the file, the element and the reason."""


def guid(*parts: str) -> str:
    """The GUID of what the parts name: the same parts always give the same GUID."""
    return str(uuid.uuid5(_GUID_NAMESPACE, "\x1f".join(parts)))


@dataclasses.dataclass(frozen=True)
class _CodeTarget:
    """What an exported code stands for: a top-level theme, or a category."""

    theme_code: str | None = None
    category: str | None = None


@dataclasses.dataclass(frozen=True)
class _Source:
    """One site's source file as a TextSource: its text and each segment's range in it."""

    guid: str
    name: str
    site_id: str
    parts: tuple[tuple[str, str], ...]

    @property
    def text(self) -> str:
        return SEPARATOR.join(text for _, text in self.parts)

    @property
    def spans(self) -> dict[str, tuple[int, int]]:
        spans, position = {}, 0
        for segment_id, text in self.parts:
            spans[segment_id] = (position, position + len(text))
            position += len(text) + len(SEPARATOR)
        return spans


def code_guid(codebook: Codebook, code: str) -> str:
    return guid("code", codebook.version, code)


def category_guid(codebook: Codebook, category: str) -> str:
    return guid("category", codebook.version, category)


def export_codebook_qdc(codebook: Codebook, path: Path) -> None:
    """Write the codebook as a REFI-QDA `.qdc`: themes with their sub-codes, and the categories."""
    root = ET.Element("CodeBook")
    root.append(_codes(codebook))
    Path(path).write_bytes(_xml_bytes(root, CODEBOOK_NS))


def export_project_qdpx(
    segments: pd.DataFrame,
    segment_themes: pd.DataFrame,
    codebook: Codebook,
    path: Path,
    *,
    round_id: str,
    created: datetime | None = None,
    reviews: pd.DataFrame | None = None,
    machine_coders: Collection[str] = MACHINE_CODERS,
) -> None:
    """Write a round's coded segments as a REFI-QDA project (`.qdpx`).

    `segments` follows CodedSegments (anonymised, with the machine's category),
    `segment_themes` follows SegmentThemes (segment_codings: every coder's rows). The
    published machine coder's rows become codings by the user "machine", other machine
    coders' are left out; any other coder's rows become codings by a user of that
    (pseudonymous) name. Each segment also carries its category as a coding of the category code.
    `reviews` (segment_reviews: segment_id, coder, category) adds each reviewer's category
    on every segment they reviewed, also those they left without a theme, so a project
    coded in a tool and imported comes back whole. `created` stamps the project and its
    codings; left out, no timestamp is written.
    """
    require_anonymised(segments)
    in_round = segments[segments["round_id"] == round_id]
    if in_round.empty:
        raise ValueError(f"no segments of round {round_id!r} to export")
    themes = shown_codings(
        segment_themes[segment_themes["segment_id"].isin(set(in_round["segment_id"]))],
        in_round,
        machine_coders,
    )
    unknown = sorted(set(themes["theme_code"]) - set(codebook.theme_codes))
    if unknown:
        raise ValueError(f"theme codes not in codebook {codebook.version}: {', '.join(unknown)}")
    reviewed = (
        reviews[reviews["segment_id"].isin(set(in_round["segment_id"]))]
        if reviews is not None
        else pd.DataFrame(columns=["segment_id", "coder", "category"])
    )
    humans = sorted(
        {coder for coder in themes["coder"] if not is_machine(coder, machine_coders)}
        | set(reviewed["coder"])
    )
    users = {name: guid("user", name) for name in [MACHINE_USER, *humans]}
    stamp = {"creationDateTime": created.isoformat()} if created else {}
    sources = _sources(in_round)

    project = ET.Element(
        "Project",
        name=f"ARIADNE {round_id}",
        origin="ariadne-impact",
        creatingUserGUID=users[MACHINE_USER],
        **stamp,
    )
    users_element = ET.SubElement(project, "Users")
    for name, user_guid in users.items():
        ET.SubElement(users_element, "User", guid=user_guid, name=name)
    ET.SubElement(project, "CodeBook").append(_codes(codebook))
    variables = ET.SubElement(project, "Variables")
    for name in VARIABLES:
        ET.SubElement(
            variables, "Variable", guid=guid("variable", name), name=name, typeOfVariable="Text"
        )
    project.append(_cases(in_round, sources))

    codings = _codings(in_round, themes, reviewed, codebook, machine_coders)
    sources_element = ET.SubElement(project, "Sources")
    for source in sources:
        element = ET.SubElement(
            sources_element,
            "TextSource",
            guid=source.guid,
            name=source.name,
            plainTextPath=f"{_INTERNAL}{source.guid}.txt",
            creatingUser=users[MACHINE_USER],
            **stamp,
        )
        for segment_id, (start, end) in source.spans.items():
            selection = ET.SubElement(
                element,
                "PlainTextSelection",
                guid=guid("selection", segment_id),
                name=segment_id,
                startPosition=str(start),
                endPosition=str(end),
                creatingUser=users[MACHINE_USER],
                **stamp,
            )
            for user, target in codings.get(segment_id, ()):
                coding = ET.SubElement(
                    selection,
                    "Coding",
                    guid=guid("coding", segment_id, user, target),
                    creatingUser=users[user],
                    **stamp,
                )
                ET.SubElement(coding, "CodeRef", targetGUID=target)
    ET.SubElement(project, "Description").text = (
        f"Anonymised segments of round {round_id}, coded by the machine with codebook "
        f"{codebook.version}. Each selection is one segment, named by its segment_id."
    )

    members = {"project.qde": _xml_bytes(project, PROJECT_NS)}
    members |= {f"sources/{source.guid}.txt": source.text.encode("utf-8") for source in sources}
    _write_zip(Path(path), members)


def import_project_qdpx(
    path: Path,
    segments: pd.DataFrame,
    codebook: Codebook,
    *,
    coder_name: Callable[[str], str] = lambda name: name,
) -> ReviewImport:
    """The people's codings in a `.qdpx` exported by `export_project_qdpx` and coded in a tool.

    `codings` holds SegmentThemes rows, one per (segment_id, theme_code, coder); `reviewed`
    every (segment_id, coder) a person coded with a theme or a category alone, with that
    category, so a segment coded with a category only counts as reviewed without a theme.
    The coder is `coder_name` of the REFI user's name (the caller pseudonymises it there).
    A selection inside one segment codes that segment, one spanning several codes each. A
    sub-code counts as its theme. The category is the one the person coded on the segment
    (several: the codebook's precedence decides), else the segment's. Codings by the user
    "machine", and codings of a whole source rather than a selection, are left out. Raises
    QdpxError naming file, element and reason for anything that cannot be mapped back
    safely, so `problems` is always empty.
    """
    path = Path(path)
    with _open_archive(path) as archive:
        found = _codings_by_person(path, archive, _sources(segments), codebook)
    coders = {name: coder_name(name) for name in sorted({name for _, name in found})}
    # Two users may be one coder (a name, and the pseudonym an earlier import gave it).
    by_coder: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for (segment_id, name), (themes, categories) in found.items():
        coded_themes, coded_categories = by_coder.setdefault(
            (segment_id, coders[name]), (set(), set())
        )
        coded_themes |= themes
        coded_categories |= categories
    machine_category = dict(zip(segments["segment_id"], segments["category"], strict=True))
    rows, reviewed = [], []
    for (segment_id, coder), (themes, categories) in sorted(by_coder.items()):
        category = next(
            (code for code in codebook.categories.precedence if code in categories),
            machine_category[segment_id],
        )
        reviewed.append((segment_id, coder, category))
        rows += [
            {"segment_id": segment_id, "theme_code": theme, "category": category, "coder": coder}
            for theme in themes
        ]
    return ReviewImport(
        codings=human_codings(rows, codebook), reviewed=reviewed_table(reviewed), problems=[]
    )


def _q(tag: str) -> str:
    return f"{{{PROJECT_NS}}}{tag}"


def _codes(codebook: Codebook) -> ET.Element:
    """The Codes element: themes in contract order with nested sub-codes, then the categories."""
    codes = ET.Element("Codes")
    themes = {theme.code: theme for theme in codebook.themes}

    def add(parent: ET.Element, guid_: str, name: str, description: str, codable: bool = True):
        code = ET.SubElement(
            parent,
            "Code",
            guid=guid_,
            name=name,
            isCodable="true" if codable else "false",
        )
        ET.SubElement(code, "Description").text = description
        return code

    for code in theme_codes_in_order(codebook):
        theme = themes[code]
        element = add(codes, code_guid(codebook, code), code, _description(theme))
        for sub in theme.sub_codes:
            add(element, code_guid(codebook, sub.code), sub.code, _description(sub))
    group = add(
        codes,
        guid("category", codebook.version),
        "category",
        "Every coded segment carries one category: progress, barrier or solution.",
        codable=False,
    )
    definitions = {cues.code: cues.definition for cues in codebook.categories.cues}
    for category in CATEGORIES:
        add(group, category_guid(codebook, category), category, definitions[category].strip())
    return codes


def _description(code: Theme | SubCode) -> str:
    """Name, brief definition, then when to use it and when not (MacQueen et al. 1998)."""
    parts = [code.name, code.brief_definition.strip()]
    if code.when_to_use:
        parts.append(f"When to use: {code.when_to_use.strip()}")
    if isinstance(code, Theme):
        parts.append(f"When not to use: {code.when_not_to_use.strip()}")
    return "\n\n".join(parts)


def _sources(segments: pd.DataFrame) -> list[_Source]:
    """One TextSource per round x site x source file, its segments in reading order."""
    ordered = reading_order(segments)
    return [
        _Source(
            guid=guid("source", round_id, site_id, source_file),
            name=f"{site_id}/{source_file}",
            site_id=site_id,
            parts=tuple(zip(group["segment_id"], group["text"], strict=True)),
        )
        for (round_id, site_id, source_file), group in ordered.groupby(
            ["round_id", "site_id", "source_file"], sort=False
        )
    ]


def _cases(segments: pd.DataFrame, sources: list[_Source]) -> ET.Element:
    """A case per site (its sources) and per site x stakeholder group (its segments)."""
    cases = ET.Element("Cases")

    def case(name: str, values: dict[str, str]) -> ET.Element:
        element = ET.SubElement(cases, "Case", guid=guid("case", *values.values()), name=name)
        for variable, value in values.items():
            variable_value = ET.SubElement(element, "VariableValue")
            ET.SubElement(variable_value, "VariableRef", targetGUID=guid("variable", variable))
            ET.SubElement(variable_value, "TextValue").text = value
        return element

    round_id = str(segments["round_id"].iat[0])
    groups = segments.assign(group=segments["stakeholder_group"].map(group_of))
    for site_id in sorted(set(groups["site_id"])):
        site_case = case(site_id, {"round": round_id, "site": site_id})
        for source in sources:
            if source.site_id == site_id:
                ET.SubElement(site_case, "SourceRef", targetGUID=source.guid)
        in_site = groups[groups["site_id"] == site_id]
        for group in sorted(set(in_site["group"]), key=group_order):
            values = {"round": round_id, "site": site_id, "stakeholder_group": group}
            group_case = case(f"{site_id} / {group}", values)
            for segment_id in sorted(in_site.loc[in_site["group"] == group, "segment_id"]):
                ET.SubElement(group_case, "SelectionRef", targetGUID=guid("selection", segment_id))
    return cases


def _codings(
    segments: pd.DataFrame,
    themes: pd.DataFrame,
    reviews: pd.DataFrame,
    codebook: Codebook,
    machine_coders: Collection[str],
) -> dict[str, list[tuple[str, str]]]:
    """Per segment, its (user, code GUID) codings: the machine's first, then each person's."""
    codings: dict[str, set[tuple[str, str]]] = {}
    for segment_id, category in zip(segments["segment_id"], segments["category"], strict=True):
        codings.setdefault(segment_id, set()).add((MACHINE_USER, category_guid(codebook, category)))
    for row in themes.itertuples(index=False):
        user = MACHINE_USER if is_machine(row.coder, machine_coders) else row.coder
        codings[row.segment_id].add((user, code_guid(codebook, row.theme_code)))
        if user != MACHINE_USER:
            codings[row.segment_id].add((user, category_guid(codebook, row.category)))
    for segment_id, coder, category in reviews[["segment_id", "coder", "category"]].itertuples(
        index=False
    ):
        codings[segment_id].add((coder, category_guid(codebook, category)))
    return {
        segment_id: sorted(pairs, key=lambda pair: (pair[0] != MACHINE_USER, pair))
        for segment_id, pairs in codings.items()
    }


def _xml_bytes(root: ET.Element, namespace: str) -> bytes:
    """Serialise with the namespace as the default one, declared on the root.

    Elements are built with plain tags and the root carries `xmlns`: ElementTree's own
    default_namespace option refuses unqualified attributes, and REFI attributes are all so.
    """
    root.attrib = {"xmlns": namespace, **root.attrib}
    ET.indent(root)
    buffer = io.BytesIO()
    ET.ElementTree(root).write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    """A ZIP whose bytes depend on its members only: fixed dates, order and permissions."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def _error(path: Path, where: str, reason: str) -> QdpxError:
    return QdpxError(f"{path}: {where}: {reason}")


def _guid_key(value: str) -> str:
    """GUIDs compare without braces and case: tools write {ABC...} and abc... alike."""
    return value.strip().strip("{}").lower()


def _open_archive(path: Path) -> zipfile.ZipFile:
    """Open the project, once its declared sizes show it is no ZIP bomb (ingest's limits)."""
    try:
        check_archive(path.read_bytes(), "the project")
    except ArchiveError as error:
        raise _error(path, "archive", str(error)) from None
    except OSError as error:
        raise _error(path, "archive", f"cannot be read ({error.strerror})") from None
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise _error(path, "archive", f"not a readable ZIP file ({error})") from None


def _read(path: Path, archive: zipfile.ZipFile, member: str, where: str) -> bytes:
    try:
        return archive.read(member)
    except KeyError:
        raise _error(path, where, f"{member} is not in the archive") from None
    except (zipfile.BadZipFile, zlib.error, OSError) as error:
        raise _error(path, where, f"{member} cannot be read ({error})") from None


def _project(path: Path, archive: zipfile.ZipFile) -> ET.Element:
    data = _read(path, archive, "project.qde", "archive")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        line, column = error.position
        raise _error(
            path, "project.qde", f"not well-formed XML at line {line}, column {column + 1}"
        ) from None
    if root.tag != _q("Project"):
        raise _error(path, "project.qde", f"the root element is {root.tag}, not {_q('Project')}")
    return root


def _codings_by_person(
    path: Path, archive: zipfile.ZipFile, sources: list[_Source], codebook: Codebook
) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """Per (segment_id, person), the themes and the categories their selections code."""
    project = _project(path, archive)
    by_guid = {source.guid: source for source in sources}
    by_name = {source.name: source for source in sources}
    targets = {
        code_guid(codebook, code): _CodeTarget(theme_code=theme)
        for code, theme in top_level_codes(codebook).items()
    }
    targets |= {
        category_guid(codebook, category): _CodeTarget(category=category) for category in CATEGORIES
    }
    users = {
        _guid_key(user.get("guid", "")): user.get("name") or user.get("id") or user.get("guid")
        for user in project.iterfind(f"{_q('Users')}/{_q('User')}")
    }
    names = {_guid_key(code.get("guid", "")): code.get("name") for code in project.iter(_q("Code"))}
    found: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for element in project.iterfind(f"{_q('Sources')}/{_q('TextSource')}"):
        where = f"TextSource {element.get('name') or element.get('guid')!r}"
        selections = element.findall(_q("PlainTextSelection"))
        source = by_guid.get(_guid_key(element.get("guid", ""))) or by_name.get(element.get("name"))
        if source is None:
            if any(selection.find(_q("Coding")) is not None for selection in selections):
                raise _error(path, where, "is coded but matches no source of the segments")
            continue
        text = _source_text(path, archive, element, where)
        spans = source.spans if text == source.text else _locate(path, where, source, text)
        for selection in selections:
            place = f"{where}, PlainTextSelection {selection.get('guid')!r}"
            covered = _covered(path, place, selection, spans, len(text))
            for coding in selection.iterfind(_q("Coding")):
                coder = _coder(path, place, coding, selection, users)
                if coder == MACHINE_USER:
                    continue
                target = _target(path, place, coding, targets, names, codebook)
                for segment_id in covered:
                    themes, categories = found.setdefault((segment_id, coder), (set(), set()))
                    if target.theme_code:
                        themes.add(target.theme_code)
                    else:
                        categories.add(target.category)
    return found


def _source_text(path: Path, archive: zipfile.ZipFile, element: ET.Element, where: str) -> str:
    """The source's plain text: inline PlainTextContent, or an internal:// file in sources/."""
    content = element.find(_q("PlainTextContent"))
    if content is not None:
        return content.text or ""
    text_path = element.get("plainTextPath", "")
    if not text_path.startswith(_INTERNAL):
        raise _error(path, where, f"plainTextPath {text_path!r} is not inside the .qdpx")
    data = _read(path, archive, f"sources/{text_path.removeprefix(_INTERNAL)}", where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _error(path, where, f"its text is not UTF-8 ({error.reason})") from None


def _locate(path: Path, where: str, source: _Source, text: str) -> dict[str, tuple[int, int]]:
    """Each segment's range in a text the tool rewrote, found in order after the previous one."""
    spans, position = {}, 0
    for segment_id, segment_text in source.parts:
        start = text.find(segment_text, position)
        if start < 0:
            raise _error(
                path,
                where,
                f"the text of segment {segment_id} is not in it: the source was edited in the "
                "tool, or the segments changed since the export",
            )
        position = start + len(segment_text)
        spans[segment_id] = (start, position)
    return spans


def _covered(
    path: Path,
    place: str,
    selection: ET.Element,
    spans: dict[str, tuple[int, int]],
    length: int,
) -> list[str]:
    """The segments a selection overlaps, after checking it lies within the source text."""
    try:
        start = int(selection.get("startPosition", ""))
        end = int(selection.get("endPosition", ""))
    except ValueError:
        raise _error(path, place, "startPosition and endPosition must be integers") from None
    if not 0 <= start <= end <= length:
        raise _error(
            path,
            place,
            f"selection {start}-{end} is out of range: the source text has {length} characters",
        )
    return [
        segment_id
        for segment_id, (segment_start, segment_end) in spans.items()
        if start < segment_end and segment_start < end
    ]


def _coder(
    path: Path,
    place: str,
    coding: ET.Element,
    selection: ET.Element,
    users: dict[str, str],
) -> str:
    user = coding.get("creatingUser") or selection.get("creatingUser")
    if user is None:
        raise _error(path, place, "a Coding has no creatingUser: who coded it is unknown")
    if _guid_key(user) not in users:
        raise _error(path, place, f"creatingUser {user} is not a User of the project")
    return users[_guid_key(user)]


def _target(
    path: Path,
    place: str,
    coding: ET.Element,
    targets: dict[str, _CodeTarget],
    names: dict[str, str | None],
    codebook: Codebook,
) -> _CodeTarget:
    reference = coding.find(_q("CodeRef"))
    if reference is None or not reference.get("targetGUID"):
        raise _error(path, place, "a Coding has no CodeRef targetGUID")
    key = _guid_key(reference.get("targetGUID", ""))
    if key not in targets:
        name = names.get(key)
        called = f" (code {name!r} in the project)" if name else ""
        raise _error(
            path,
            place,
            f"unknown code GUID {reference.get('targetGUID')}{called}: not a code of codebook "
            f"{codebook.version}; was it added in the tool, or exported with another version?",
        )
    return targets[key]
