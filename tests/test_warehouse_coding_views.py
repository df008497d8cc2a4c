"""Every coder's codings, people's reviews, coder agreement and theme change in the warehouse.

Two rounds are loaded, 2024-impact reviewing 2022-baseline, from submissions built here
with hand-made codings: the published coding (`segment_themes`) differs from the machine's
where a person overruled it, so `theme_change` can be seen to count the published one.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

import pandas as pd
import pytest
from alembic import command
from sqlalchemy import inspect, text

from assets.load.loader import LoadError, replace_partition
from schemas.tables import (
    ActionPlan,
    Attendees,
    CodedSegments,
    CoderAgreement,
    Quarantine,
    RoundInfo,
    SegmentCodings,
    SegmentReviews,
    SegmentThemes,
    SiteSubmission,
    SourceFiles,
    SurveyAnswers,
    SurveyResponses,
    empty,
)
from warehouse.engine import begin_write
from warehouse.migrations_runner import alembic_config

BASELINE = "2022-baseline"
IMPACT = "2024-impact"
LOADED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MINUTES = "minutes/workshop.md"
SHA = "e5" * 32
CODEBOOK = "1.0.0"
MACHINE = "rules-v1"
SEMANTIC = "semantic-v1"
REVIEWER = "[researcher-4c9e1f]"
SECOND_REVIEWER = "[staff-77ab20]"
STIGMA = "stigma"
PANDEMIC = "pandemic-impact"
EDUCATION = "education-mediation-digital"
VIEWS = ("segment_codings", "segment_reviews", "coder_agreement", "theme_change")
PER_RUN = {"run_id"}

# (segment, text) per round x site; made-up voices, nobody named.
SEGMENTS = {
    (BASELINE, "east-london"): [
        ("b1", "People would rather not be seen at the clinic."),
        ("b2", "Families keep it quiet when someone is unwell."),
        ("b3", "During lockdown the drop-in closed for a year."),
        ("b4", "The agenda was agreed."),
    ],
    (BASELINE, "sheffield"): [
        ("b1", "There is shame in asking for help."),
        ("b2", "Minutes of the last meeting were accepted."),
    ],
    (IMPACT, "east-london"): [
        ("n1", "Some still feel judged by their own community."),
        ("n2", "The peer educators now run sessions at the library."),
        ("n3", "Leaflets in Bengali and Somali explained the service."),
        ("n4", "The waiting room was repainted."),
        ("n5", "Next meeting in March."),
    ],
    (IMPACT, "coventry-warwickshire"): [
        ("c1", "Carers said neighbours talk if you go to the unit."),
        ("c2", "Thanks were given to the volunteers."),
    ],
}

# Published coding per round x site: (segment, theme, category, coder, confidence).
PUBLISHED = {
    (BASELINE, "east-london"): [
        ("b1", STIGMA, "barrier", MACHINE, 0.8),
        ("b2", STIGMA, "barrier", MACHINE, 0.7),
        ("b3", PANDEMIC, "barrier", MACHINE, 0.9),
    ],
    (BASELINE, "sheffield"): [("b1", STIGMA, "barrier", MACHINE, 0.6)],
    (IMPACT, "east-london"): [
        # Two coders on one segment and theme: still one segment.
        ("n1", STIGMA, "barrier", REVIEWER, 1.0),
        ("n1", STIGMA, "barrier", SECOND_REVIEWER, 1.0),
        ("n2", EDUCATION, "progress", MACHINE, 0.85),
        ("n3", EDUCATION, "solution", REVIEWER, 1.0),
    ],
    (IMPACT, "coventry-warwickshire"): [("c1", STIGMA, "barrier", MACHINE, 0.75)],
}

# Every coder's themes of 2024-impact x east-london: the machine also gave n4 stigma, which
# the reviewer rejected, so it is not published.
CODINGS = [
    ("n1", STIGMA, "barrier", MACHINE, 0.7),
    ("n1", STIGMA, "barrier", SEMANTIC, 0.55),
    ("n1", STIGMA, "barrier", REVIEWER, 1.0),
    ("n1", STIGMA, "barrier", SECOND_REVIEWER, 1.0),
    ("n2", EDUCATION, "progress", MACHINE, 0.85),
    ("n3", EDUCATION, "solution", REVIEWER, 1.0),
    ("n4", STIGMA, "barrier", MACHINE, 0.4),
]
REVIEWS = [
    ("n1", REVIEWER, "barrier", "2026-11-30T14:05:00+00:00"),
    ("n3", REVIEWER, "solution", "2026-11-30T14:06:00+00:00"),
    ("n4", REVIEWER, "progress", "2026-11-30T14:07:00+00:00"),
    ("n1", SECOND_REVIEWER, "barrier", "2026-12-01T08:00:00Z"),
]
# (coder_a, coder_b, theme, n_segments, kappa, alpha, percent) and the warning expected.
AGREEMENT = [
    ((REVIEWER, MACHINE, STIGMA, 3, 0.4, 0.35, 66.66666666666667), True),
    ((REVIEWER, MACHINE, EDUCATION, 3, None, None, 100.0), None),
    ((REVIEWER, MACHINE, PANDEMIC, 3, 0.7, 0.667, 90.0), False),
    ((REVIEWER, MACHINE, "all", 9, 0.72, 0.7, 88.88888888888889), False),
    ((REVIEWER, SECOND_REVIEWER, STIGMA, 1, None, None, 100.0), None),
]


def submission(
    round_id: str,
    site_id: str,
    *,
    reviews: str | None = None,
    codings: list[tuple] | None = None,
    segment_reviews: list[tuple] | None = None,
    agreement: list[tuple] | None = None,
) -> SiteSubmission:
    """A coded submission of one round x site, validated against the pandera models."""
    partition = {"round_id": round_id, "site_id": site_id}
    segments = CodedSegments.validate(
        pd.DataFrame(
            [
                {
                    **partition,
                    "segment_id": f"{site_id}-{segment}",
                    "source_kind": "minutes",
                    "event_id": "ws1",
                    "source_file": MINUTES,
                    "source_sha256": SHA,
                    "locator": f"paragraph {number}",
                    "agenda_item": None,
                    "stakeholder_group": "staff",
                    "is_action": False,
                    "response_id": None,
                    "item_id": None,
                    "text": body,
                    "speaker": "[staff-0b12de]",
                    "category": "barrier",
                    "codebook_version": CODEBOOK,
                }
                for number, (segment, body) in enumerate(SEGMENTS[(round_id, site_id)], start=1)
            ]
        )
    )

    def themes(model, rows: list[tuple]) -> pd.DataFrame:
        columns = ["segment_id", "theme_code", "category", "coder", "confidence"]
        frame = pd.DataFrame(rows, columns=columns).assign(codebook_version=CODEBOOK)
        frame["segment_id"] = f"{site_id}-" + frame["segment_id"]
        return model.validate(frame)

    reviews_frame = pd.DataFrame(
        segment_reviews or [], columns=["segment_id", "coder", "category", "reviewed_at"]
    ).assign(codebook_version=CODEBOOK)
    reviews_frame["segment_id"] = f"{site_id}-" + reviews_frame["segment_id"]
    agreement_frame = pd.DataFrame(
        [row for row, _warning in agreement or []],
        columns=[
            "coder_a",
            "coder_b",
            "theme_code",
            "n_segments",
            "cohen_kappa",
            "krippendorff_alpha",
            "percent_agreement",
        ],
    )
    return SiteSubmission(
        round_id=round_id,
        site_id=site_id,
        round=RoundInfo(
            round_id=round_id,
            title=f"ARIADNE {round_id}",
            kind="baseline" if reviews is None else "impact",
            period_start=None,
            period_end=None,
            reviews=reviews,
        ),
        source_files=SourceFiles.validate(
            pd.DataFrame(
                [
                    {
                        **partition,
                        "source_file": MINUTES,
                        "source_sha256": SHA,
                        "source_kind": "minutes",
                        "status": "loaded",
                        "n_records": len(segments),
                        "n_rejected": 0,
                        "n_withdrawn": 0,
                    }
                ]
            )
        ),
        quarantine=empty(Quarantine),
        attendees=empty(Attendees),
        segments=segments,
        survey_responses=empty(SurveyResponses),
        survey_answers=empty(SurveyAnswers),
        action_plan=empty(ActionPlan),
        segment_themes=themes(SegmentThemes, PUBLISHED[(round_id, site_id)]),
        segment_codings=themes(SegmentCodings, codings or PUBLISHED[(round_id, site_id)]),
        segment_reviews=SegmentReviews.validate(reviews_frame),
        coder_agreement=CoderAgreement.validate(agreement_frame),
    )


def impact_east_london(**changes) -> SiteSubmission:
    return submission(
        IMPACT,
        "east-london",
        reviews=BASELINE,
        codings=changes.get("codings", CODINGS),
        segment_reviews=changes.get("segment_reviews", REVIEWS),
        agreement=changes.get("agreement", AGREEMENT),
    )


def load_both_rounds(engine) -> None:
    """The impact round first: theme_change must not depend on the order of loads."""
    replace_partition(engine, impact_east_london(), "run-1", LOADED_AT)
    replace_partition(
        engine, submission(IMPACT, "coventry-warwickshire", reviews=BASELINE), "run-2", LOADED_AT
    )
    replace_partition(engine, submission(BASELINE, "east-london"), "run-3", LOADED_AT)
    replace_partition(engine, submission(BASELINE, "sheffield"), "run-4", LOADED_AT)


def rows(engine, view: str) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(text(f"SELECT * FROM {view}")).mappings()]


def content_hash(engine) -> str:
    """The new views' rows, sorted, without the run that wrote them."""
    digest = hashlib.sha256()
    for view in VIEWS:
        content = sorted(
            tuple(sorted((key, repr(value)) for key, value in row.items() if key not in PER_RUN))
            for row in rows(engine, view)
        )
        digest.update(repr((view, content)).encode())
    return digest.hexdigest()


def as_utc(value) -> pd.Timestamp:
    """SQLite returns the stored UTC text, PostgreSQL an aware datetime."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def theme_change(engine) -> dict[tuple[str, str], tuple]:
    found = {}
    for row in rows(engine, "theme_change"):
        assert (row["round_id"], row["reviewed_round_id"]) == (IMPACT, BASELINE)
        found[(row["site_id"], row["theme_code"])] = (
            row["n_segments_then"],
            row["share_then"],
            row["n_segments_now"],
            row["share_now"],
            row["share_change"],
        )
    return found


def approx(*values):
    return tuple(None if value is None else pytest.approx(value) for value in values)


def test_theme_change_compares_each_round_with_the_round_it_reviews(warehouse_engine):
    load_both_rounds(warehouse_engine)

    assert theme_change(warehouse_engine) == {
        # Published stigma now: n1 only (two reviewers, one segment; n4 was the machine's).
        ("east-london", STIGMA): approx(2, 2 / 4, 1, 1 / 5, 1 / 5 - 2 / 4),
        # Present only then: 0 now, the site took part.
        ("east-london", PANDEMIC): approx(1, 1 / 4, 0, 0.0, -1 / 4),
        # Present only now: 0 then.
        ("east-london", EDUCATION): approx(0, 0.0, 2, 2 / 5, 2 / 5),
        # A site of the reviewed round only, and one of the new round only: null there.
        ("sheffield", STIGMA): approx(1, 1 / 2, None, None, None),
        ("coventry-warwickshire", STIGMA): approx(None, None, 1, 1 / 2, None),
    }


def test_theme_change_follows_a_reload_of_the_reviewed_round(warehouse_engine):
    load_both_rounds(warehouse_engine)
    replace_partition(
        warehouse_engine,
        dataclasses.replace(
            submission(BASELINE, "sheffield"),
            segment_themes=empty(SegmentThemes),
            segment_codings=empty(SegmentCodings),
        ),
        "run-5",
        LOADED_AT,
    )

    change = theme_change(warehouse_engine)

    assert ("sheffield", STIGMA) not in change
    assert change[("coventry-warwickshire", STIGMA)] == approx(None, None, 1, 1 / 2, None)


def test_a_round_that_reviews_nothing_has_no_theme_change(warehouse_engine):
    replace_partition(warehouse_engine, submission(BASELINE, "east-london"), "run-1", LOADED_AT)

    assert rows(warehouse_engine, "theme_change") == []


def test_segment_codings_hold_every_coder(warehouse_engine):
    load_both_rounds(warehouse_engine)

    codings = [
        row for row in rows(warehouse_engine, "segment_codings") if row["round_id"] == IMPACT
    ]
    published = rows(warehouse_engine, "segment_themes")

    mine = {
        (row["segment_id"], row["theme_code"], row["coder"], row["category"], row["confidence"])
        for row in codings
        if row["site_id"] == "east-london"
    }
    assert mine == {
        (f"east-london-{segment}", theme, coder, category, confidence)
        for segment, theme, category, coder, confidence in CODINGS
    }
    assert {row["coder"] for row in codings} == {MACHINE, SEMANTIC, REVIEWER, SECOND_REVIEWER}
    assert {row["run_id"] for row in codings if row["site_id"] == "east-london"} == {"run-1"}
    assert {row["codebook_version"] for row in codings} == {CODEBOOK}
    rejected = ("east-london-n4", STIGMA)
    assert rejected in {(row["segment_id"], row["theme_code"]) for row in codings}
    assert rejected not in {(row["segment_id"], row["theme_code"]) for row in published}


def test_segment_reviews_round_trip(warehouse_engine):
    load_both_rounds(warehouse_engine)

    found = {
        (row["segment_id"], row["coder"]): (row["category"], as_utc(row["reviewed_at"]))
        for row in rows(warehouse_engine, "segment_reviews")
    }

    assert found == {
        (f"east-london-{segment}", coder): (category, pd.Timestamp(reviewed_at).tz_convert("UTC"))
        for segment, coder, category, reviewed_at in REVIEWS
    }
    # Text ending in Z and text with an offset name instants that sort as times.
    assert found[("east-london-n1", SECOND_REVIEWER)][1] > found[("east-london-n1", REVIEWER)][1]


def test_coder_agreement_round_trips_with_warnings(warehouse_engine):
    load_both_rounds(warehouse_engine)

    found = {
        (row["coder_a"], row["coder_b"], row["theme_code"]): row
        for row in rows(warehouse_engine, "coder_agreement")
    }

    assert set(found) == {row[:3] for row, _warning in AGREEMENT}
    for (coder_a, coder_b, theme, n, kappa, alpha, percent), warning in AGREEMENT:
        row = found[(coder_a, coder_b, theme)]
        assert (row["round_id"], row["site_id"], row["run_id"]) == (IMPACT, "east-london", "run-1")
        assert row["n_segments"] == n
        assert (row["cohen_kappa"], row["krippendorff_alpha"], row["percent_agreement"]) == approx(
            kappa, alpha, percent
        )
        # SQLite gives the flag as 1/0, PostgreSQL as a boolean.
        assert (None if row["warning"] is None else bool(row["warning"])) is warning


def test_a_percent_agreement_over_100_is_refused(warehouse_engine):
    valid = impact_east_london()
    agreement = valid.coder_agreement.copy()
    agreement.loc[agreement.index[0], "percent_agreement"] = 101.0
    broken = dataclasses.replace(valid, coder_agreement=agreement)

    with pytest.raises(LoadError, match="core_coder_agreement"):
        replace_partition(warehouse_engine, broken, "r", LOADED_AT)

    assert rows(warehouse_engine, "segments") == []


def test_a_coding_of_a_segment_not_loaded_is_refused(warehouse_engine):
    codings = [*CODINGS, ("n9", STIGMA, "barrier", MACHINE, 0.5)]

    with pytest.raises(LoadError, match="core_segment_coding"):
        replace_partition(warehouse_engine, impact_east_london(codings=codings), "r", LOADED_AT)

    assert rows(warehouse_engine, "segment_codings") == []


def test_a_review_time_that_is_not_a_time_is_refused(warehouse_engine):
    reviews = [*REVIEWS[:-1], ("n5", SECOND_REVIEWER, "barrier", "last Tuesday")]

    with pytest.raises(ValueError, match="segment_reviews: reviewed_at"):
        replace_partition(
            warehouse_engine, impact_east_london(segment_reviews=reviews), "r", LOADED_AT
        )

    assert rows(warehouse_engine, "segments") == []


def test_load_counts_include_codings_reviews_and_agreement(warehouse_engine):
    counts = replace_partition(warehouse_engine, impact_east_london(), "run-1", LOADED_AT)

    assert (counts.segment_codings, counts.segment_reviews, counts.coder_agreement) == (
        len(CODINGS),
        len(REVIEWS),
        len(AGREEMENT),
    )
    assert counts.by_table()["segment_codings"] == len(rows(warehouse_engine, "segment_codings"))


def test_reloading_the_same_input_leaves_identical_content(warehouse_engine):
    load_both_rounds(warehouse_engine)
    first = content_hash(warehouse_engine)

    replace_partition(warehouse_engine, impact_east_london(), "run-9", LOADED_AT)

    assert content_hash(warehouse_engine) == first
    assert {row["run_id"] for row in rows(warehouse_engine, "coder_agreement")} == {"run-9"}


def test_a_reload_replaces_the_partitions_rows(warehouse_engine):
    load_both_rounds(warehouse_engine)
    other_sites = [
        row for row in rows(warehouse_engine, "segment_codings") if row["site_id"] != "east-london"
    ]

    fewer = impact_east_london(
        codings=CODINGS[:2],
        segment_reviews=REVIEWS[:1],
        agreement=AGREEMENT[:1],
    )
    replace_partition(warehouse_engine, fewer, "run-9", LOADED_AT)

    codings = rows(warehouse_engine, "segment_codings")
    assert {
        (row["segment_id"], row["coder"], row["run_id"])
        for row in codings
        if row["site_id"] == "east-london" and row["round_id"] == IMPACT
    } == {("east-london-n1", MACHINE, "run-9"), ("east-london-n1", SEMANTIC, "run-9")}
    assert [row for row in codings if row["site_id"] != "east-london"] == other_sites
    assert [(row["coder"], row["run_id"]) for row in rows(warehouse_engine, "segment_reviews")] == [
        (REVIEWER, "run-9")
    ]
    assert [row["theme_code"] for row in rows(warehouse_engine, "coder_agreement")] == [STIGMA]


def test_downgrade_to_0002_drops_the_new_views_and_tables_and_upgrade_restores_them(
    warehouse_engine,
):
    load_both_rounds(warehouse_engine)
    new_tables = {"core_segment_coding", "core_segment_review", "core_coder_agreement"}

    with begin_write(warehouse_engine) as connection:
        command.downgrade(alembic_config(connection), "0002")
    inspector = inspect(warehouse_engine)
    assert not set(VIEWS) & set(inspector.get_view_names())
    assert not new_tables & set(inspector.get_table_names())
    assert "segment_themes" in inspector.get_view_names()
    assert len(rows(warehouse_engine, "segments")) == sum(map(len, SEGMENTS.values()))

    with begin_write(warehouse_engine) as connection:
        command.upgrade(alembic_config(connection), "head")
    inspector = inspect(warehouse_engine)
    assert set(VIEWS) <= set(inspector.get_view_names())
    assert new_tables <= set(inspector.get_table_names())
    assert rows(warehouse_engine, "segment_codings") == []
    # Computed from the published coding, which survived: the same as before.
    assert theme_change(warehouse_engine)[("east-london", STIGMA)] == approx(
        2, 2 / 4, 1, 1 / 5, 1 / 5 - 2 / 4
    )
