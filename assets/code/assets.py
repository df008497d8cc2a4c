"""Dagster asset of the code stage, and the check on how far its coders agree.

The machine codes every segment; people's reviews from the review store then take
precedence where they exist (`assets.code.reviews`), so a rerun recodes by machine and
still publishes what people decided.
"""

import dataclasses

import dagster as dg
import pandas as pd

from assets.code.agreement import ALL_THEMES, TENTATIVE_ALPHA, warnings
from assets.code.combined import code_by_machine, uses_embeddings
from assets.code.reviews import apply_reviews
from assets.review.store import read_reviews
from assets.stage_support import contained_errors, stage_asset, table_counts
from pipelines.partitions import round_site
from pipelines.resources import (
    Codebooks,
    EmbeddingModel,
    ReviewStore,
    StagingArea,
    TrainedCoders,
)
from schemas.tables import SiteSubmission


@stage_asset(
    "code",
    kinds={"spacy", "scikitlearn"},
    description="Directed coding against the versioned codebook: rules, embeddings and "
    "their learnt combination give each segment its themes and one category (progress, "
    "barrier, solution); where people reviewed a segment, the latest review is published.",
)
def coded_submission(
    anonymised_submission: SiteSubmission,
    codebooks: Codebooks,
    embedding_model: EmbeddingModel,
    trained_coders: TrainedCoders,
    reviews: ReviewStore,
    staging: StagingArea,
) -> dg.Output[SiteSubmission]:
    with contained_errors("code", staging.path):
        codebook = codebooks.load()
        embedder = embedding_model.embedder() if uses_embeddings(codebook) else None
        coding = code_by_machine(
            anonymised_submission.segments, codebook, embedder, trained_coders.path
        )
        reviewed = apply_reviews(
            coding.segments,
            coding.segment_themes,
            read_reviews(
                reviews.path, anonymised_submission.round_id, anonymised_submission.site_id
            ),
            codebook,
        )
    other_machine_coders = coding.segment_codings[
        ~coding.segment_codings["coder"].isin(coding.segment_themes["coder"])
    ]
    submission = dataclasses.replace(
        anonymised_submission,
        segments=reviewed.segments,
        segment_themes=reviewed.segment_themes,
        segment_codings=pd.concat(
            [other_machine_coders, reviewed.segment_codings], ignore_index=True
        ),
        segment_reviews=reviewed.segment_reviews,
        coder_agreement=reviewed.coder_agreement,
    )
    themes = reviewed.segment_themes.groupby("theme_code").size().sort_values(ascending=False)
    alphas = reviewed.coder_agreement["krippendorff_alpha"].dropna()
    return dg.Output(
        submission,
        metadata={
            **table_counts(submission),
            "codebook_version": codebook.version,
            "segments_without_theme": int(
                (~reviewed.segments["segment_id"].isin(reviewed.segment_themes["segment_id"])).sum()
            ),
            "top_themes": ", ".join(themes.index[:3]) or "none",
            "segments_reviewed": reviewed.segments_reviewed,
            "reviewers": reviewed.reviewers,
            "stale_review_rows": reviewed.stale_review_rows,
            "review_rows_with_unknown_theme": reviewed.unknown_theme_rows,
            "lowest_alpha": float(alphas.min()) if not alphas.empty else dg.MetadataValue.null(),
        },
    )


_AGREEMENT_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("coder_a", "string"),
        dg.TableColumn("coder_b", "string"),
        dg.TableColumn("theme_code", "string"),
        dg.TableColumn("n_segments", "int"),
        dg.TableColumn("cohen_kappa", "float"),
        dg.TableColumn("krippendorff_alpha", "float"),
        dg.TableColumn("percent_agreement", "float"),
    ]
)


@dg.asset_check(
    asset=coded_submission,
    blocking=False,
    partitions_def=round_site,
    description="Cohen's kappa and Krippendorff's alpha per theme between every pair of "
    "coders (the machine, each reviewer) on the segments both coded; warns when a theme's "
    f"alpha is below {TENTATIVE_ALPHA}. Coders appear as pseudonyms only.",
)
def coder_agreement_check(coded_submission: SiteSubmission) -> dg.AssetCheckResult:
    agreement = coded_submission.coder_agreement
    if agreement.empty:
        return dg.AssetCheckResult(
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description="No double-coded segments: no person reviewed this round x site, "
            "so there is no agreement to measure.",
            metadata={"pairs": 0, "segments_reviewed": 0},
        )
    low = warnings(agreement)
    themes = agreement[agreement["theme_code"] != ALL_THEMES]
    alphas = themes["krippendorff_alpha"].dropna()
    return dg.AssetCheckResult(
        passed=not low,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(low)
        or f"Every theme's alpha that could be measured is at least {TENTATIVE_ALPHA}.",
        metadata={
            "pairs": int(agreement[["coder_a", "coder_b"]].drop_duplicates().shape[0]),
            "segments_reviewed": int(coded_submission.segment_reviews["segment_id"].nunique()),
            "themes_below_alpha": len(low),
            "lowest_alpha": float(alphas.min()) if not alphas.empty else dg.MetadataValue.null(),
            "agreement": dg.MetadataValue.table(
                records=[
                    dg.TableRecord({key: _plain(value) for key, value in row.items()})
                    for row in agreement.to_dict("records")
                ],
                schema=_AGREEMENT_SCHEMA,
            ),
        },
    )


def _plain(value: object) -> str | int | float | None:
    """Table metadata takes plain values: an undefined kappa or alpha is shown empty."""
    if isinstance(value, float) and pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value
