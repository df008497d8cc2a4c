"""Anonymise one round x site: the last stage that sees real names.

What leaves this stage: segments without withdrawn people, speakers as pseudonyms,
every free text (minutes and their agenda items, survey free text, action plan)
anonymised, and no roster. Free-text survey answers keep their row, with the value
anonymised exactly as the segment that carries the same text, so per-item response
counts stay right. The counts returned with the bundle say how much was replaced and
withdrawn, never what or whose.

The public interface of the stage is this module: `anonymise_submission`,
`Pseudonymiser`, `scan_for_leaks` (the gate) and `published_texts`. Detection and
replacement are Presidio's, configured in `engine`; the names the NER and the context
rules find are returned (for the restricted staging area only) so that the rest of
the round is anonymised, and gated, against them too.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable

import pandas as pd

from assets.anonymise.engine import Anonymiser, found_names
from assets.anonymise.leaks import scan_for_leaks
from assets.anonymise.names import KnownNamesRecognizer, RosterRecognizer
from assets.anonymise.ner_cache import NerCache
from assets.anonymise.pseudonyms import Pseudonymiser
from assets.anonymise.roster import Roster, as_roster
from assets.anonymise.spans import NAME_KINDS
from schemas.contract import role_slug
from schemas.tables import PSEUDONYM, Attendees, Segments, SiteSubmission, empty

__all__ = [
    "AnonymisedSubmission",
    "Pseudonymiser",
    "Roster",
    "anonymise_submission",
    "published_texts",
    "scan_for_leaks",
]

_PSEUDONYM = re.compile(PSEUDONYM)
_SEGMENT_COLUMNS = list(Segments.to_schema().columns)
_EVALUATION_KEY = b"evaluation only, never a real key"


@dataclasses.dataclass(frozen=True)
class AnonymisedSubmission:
    """The anonymised bundle, counts for the asset's metadata, and the names found.

    `detected_names` are real names (people on no roster that the NER or the context
    rules found): they go to the restricted staging area only, never into metadata.
    """

    submission: SiteSubmission
    replacements: dict[str, int]
    speakers_pseudonymised: int
    withdrawn_segments: int
    withdrawn_responses: int
    detected_names: frozenset[str] = frozenset()


class _TextAnonymiser:
    """Every distinct text of a submission, anonymised in one batch, with counts by kind."""

    def __init__(self, anonymiser: Anonymiser, texts: list[str]) -> None:
        distinct = list(dict.fromkeys(texts))
        spans = anonymiser.detect(distinct)
        self.detected_names = found_names(distinct, spans)
        self.counts: Counter[str] = Counter()
        self._anonymised: dict[str, str] = {}
        for text, found in zip(distinct, spans, strict=True):
            result = anonymiser.replace(text, found)
            self._anonymised[text] = result.text
            self.counts.update(result.counts_by_kind)

    def __call__(self, text: object) -> object:
        return self._anonymised.get(text, text) if isinstance(text, str) else text


def _texts(*columns: pd.Series) -> list[str]:
    return [value for column in columns for value in column if isinstance(value, str) and value]


def _keys(frame: pd.DataFrame) -> list[tuple[object, object]]:
    return list(zip(frame["source_file"], frame["response_id"], strict=True))


def _flag(column: pd.Series) -> pd.Series:
    """A bool column that may hold nulls (object or nullable dtype) as plain bools."""
    return column.eq(True).fillna(False).astype(bool)


def _without(frame: pd.DataFrame, keys: set[tuple[object, object]]) -> pd.DataFrame:
    keep = [key not in keys for key in _keys(frame)]
    return frame.loc[pd.Series(keep, index=frame.index, dtype=bool)]


def _withdrawn(
    raw: pd.DataFrame, responses: pd.DataFrame, roster: Roster
) -> tuple[pd.Series, set[tuple[object, object]]]:
    """Which segments and which survey responses (source_file, response_id) are left out.

    A segment: flagged by ingest, spoken by someone who withdrew (in any round), or
    part of a withdrawn response. A response: flagged, or one of its segments is.
    """
    withdrawn_responses = set(_keys(responses[_flag(responses["withdrawn"])]))
    speaker_withdrawn = [
        isinstance(name, str) and (person := roster.person(name)) is not None and person.withdrawn
        for name in raw["speaker_name"]
    ]
    drop = (
        _flag(raw["withdrawn"])
        | pd.Series(speaker_withdrawn, index=raw.index, dtype=bool)
        | pd.Series([key in withdrawn_responses for key in _keys(raw)], index=raw.index, dtype=bool)
    )
    dropped = raw[drop & raw["response_id"].notna()]
    withdrawn_responses.update(_keys(dropped))
    return drop, withdrawn_responses


def _withdrawn_per_file(
    raw: pd.DataFrame, drop: pd.Series, withdrawn_responses: set[tuple[object, object]]
) -> Counter[object]:
    """Withdrawn records per file, in the unit of `n_records`.

    Responses of a survey file; segments of minutes and of action plans.
    """
    counts = Counter(raw.loc[drop & raw["response_id"].isna(), "source_file"])
    counts.update(source_file for source_file, _ in withdrawn_responses)
    return counts


def _speaker(
    name: object,
    stakeholder_group: object,
    roster: Roster,
    pseudonymiser: Pseudonymiser,
    round_id: str,
    site_id: str,
) -> str | None:
    """The speaker's pseudonym: the same one the speaker's name gets inside any text."""
    if not isinstance(name, str) or not name.strip():
        return None
    person = roster.person(name)
    candidates = (person.key,) if person else tuple(p.key for p in roster.by_initials(name))
    if candidates:
        replacement = roster.replacement(candidates, pseudonymiser, round_id, site_id)
        return replacement if _PSEUDONYM.match(replacement) else None
    role = role_slug(stakeholder_group) if isinstance(stakeholder_group, str) else None
    return pseudonymiser.pseudonym(name, role or "other")


def _segments(
    raw: pd.DataFrame,
    keep: pd.Series,
    anonymise: _TextAnonymiser,
    roster: Roster,
    pseudonymiser: Pseudonymiser,
    round_id: str,
    site_id: str,
) -> pd.DataFrame:
    kept = raw[keep]
    if kept.empty:
        return empty(Segments)
    speakers = {}
    speaker = []
    for name, group in zip(kept["speaker_name"], kept["stakeholder_group"], strict=True):
        cache_key = (name, group) if isinstance(name, str) else (None, None)
        if cache_key not in speakers:
            speakers[cache_key] = _speaker(name, group, roster, pseudonymiser, round_id, site_id)
        speaker.append(speakers[cache_key])
    segments = kept.assign(
        speaker=pd.Series(speaker, index=kept.index, dtype=object),
        text=kept["text"].map(anonymise),
        agenda_item=kept["agenda_item"].map(anonymise),
    )
    return segments[[c for c in _SEGMENT_COLUMNS if c in segments.columns]].reset_index(drop=True)


def anonymise_submission(
    submission: SiteSubmission,
    roster: Roster | pd.DataFrame,
    pseudonymiser: Pseudonymiser,
    site_id: str,
    *,
    round_names: Iterable[str] = (),
    processes: int = 1,
    ner_cache: NerCache | None = None,
) -> AnonymisedSubmission:
    """The submission with people replaced by pseudonyms and withdrawn people left out.

    A segment is left out when ingest flagged it withdrawn, when its speaker withdrew
    (in any round: see `roster`), or when it is the free text of a withdrawn survey
    response; survey responses and answers of withdrawn responses go too.
    `source_files.n_withdrawn` is set to each file's withdrawn records, in the unit of
    `n_records` (responses of a survey, segments of minutes and action plans).
    `round_names` are names found at the round's other sites: they are replaced here
    too. `ner_cache` holds the model's entities of texts it read before (and gets this
    run's). `segments` follow `schemas.tables.Segments`; `attendees` is emptied. Nothing
    is validated here: a pandera error would quote the failing text.
    """
    if site_id != submission.site_id:
        raise ValueError(
            f"site_id {site_id!r} does not match the submission's site {submission.site_id!r}"
        )
    round_id = submission.round_id
    roster = as_roster(roster)
    anonymiser = Anonymiser(
        [
            RosterRecognizer.for_site(roster, pseudonymiser, round_id, site_id),
            *KnownNamesRecognizer.of(round_names),
        ],
        processes=processes,
        ner_cache=ner_cache,
    )

    raw = submission.segments
    drop, withdrawn_responses = _withdrawn(raw, submission.survey_responses, roster)
    responses = _without(submission.survey_responses, withdrawn_responses)
    answers = _without(submission.survey_answers, withdrawn_responses)
    free_text = answers["item_type"] == "free_text"
    action_plan = submission.action_plan
    kept = raw[~drop]
    anonymise = _TextAnonymiser(
        anonymiser,
        _texts(
            kept["text"],
            kept["agenda_item"],
            answers.loc[free_text, "value"],
            action_plan["action"],
            action_plan["evidence"],
        ),
    )
    segments = _segments(raw, ~drop, anonymise, roster, pseudonymiser, round_id, site_id)

    withdrawn_per_file = _withdrawn_per_file(raw, drop, withdrawn_responses)
    source_files = submission.source_files.assign(
        n_withdrawn=pd.array(
            [withdrawn_per_file.get(f, 0) for f in submission.source_files["source_file"]],
            dtype="Int64",
        )
    )
    if not answers.empty:
        answers = answers.assign(value=answers["value"].copy())
        answers.loc[free_text, "value"] = answers.loc[free_text, "value"].map(anonymise)
    if not action_plan.empty:
        action_plan = action_plan.assign(
            action=action_plan["action"].map(anonymise),
            evidence=action_plan["evidence"].map(anonymise),
        )

    anonymised = dataclasses.replace(
        submission,
        source_files=source_files,
        attendees=empty(Attendees),
        segments=segments,
        survey_responses=responses.reset_index(drop=True),
        survey_answers=answers.reset_index(drop=True),
        action_plan=action_plan.reset_index(drop=True),
    )
    return AnonymisedSubmission(
        submission=anonymised,
        replacements=dict(anonymise.counts),
        speakers_pseudonymised=int(segments["speaker"].notna().sum()),
        withdrawn_segments=int(drop.sum()),
        withdrawn_responses=len(withdrawn_responses),
        detected_names=anonymise.detected_names,
    )


def published_texts(submission: SiteSubmission) -> list[str]:
    """Every free text of an anonymised bundle that can reach the warehouse or a report.

    The gate scans exactly these: segment texts and agenda items, action-plan entries,
    and free-text survey answers.
    """
    segments, plan, answers = (
        submission.segments,
        submission.action_plan,
        submission.survey_answers,
    )
    free_text = answers.loc[answers["item_type"] == "free_text", "value"]
    columns = (
        segments["text"],
        segments["agenda_item"],
        plan["action"],
        plan["evidence"],
        free_text,
    )
    return [value for column in columns for value in column.dropna()]


def detect_for_evaluation(
    text: str, roster: pd.DataFrame, round_id: str, site_id: str
) -> list[tuple[int, int, str]]:
    """What the stage would replace in `text`, as (start, end, type) for the scorer.

    The same recognisers as `anonymise_submission`; the key is a throwaway (detection
    does not depend on it). Types are the scorer's: every name kind is `person`.
    """
    anonymiser = Anonymiser(
        [
            RosterRecognizer.for_site(
                as_roster(roster), Pseudonymiser(_EVALUATION_KEY), round_id, site_id
            )
        ]
    )
    [spans] = anonymiser.detect([text])
    return [
        (span.start, span.end, "person" if span.kind in NAME_KINDS else span.kind) for span in spans
    ]
