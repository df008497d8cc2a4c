"""Dagster asset of the anonymise stage and the gate that stops a leaking partition.

The gate is a blocking check on this staging asset; the warehouse load is a separate
asset downstream, so a partition that fails the gate never reaches the warehouse.
"""

import dagster as dg

from assets.anonymise.anonymiser import (
    Pseudonymiser,
    anonymise_submission,
    published_texts,
    scan_for_leaks,
)
from assets.anonymise.engine import model_id
from assets.anonymise.ner_cache import cache_path, load_ner_cache, save_ner_cache
from assets.anonymise.round_names import (
    names_for_gate,
    read_round_names,
    write_round_names,
)
from assets.ingest.submission import read_roster
from assets.stage_support import contained_errors, stage_asset, table_counts
from pipelines.partitions import round_site, split_partition_key
from pipelines.resources import AnonymiserSettings, PseudonymKey, RawSubmissions, StagingArea
from schemas.tables import SiteSubmission


@stage_asset(
    "anonymise",
    kinds={"pandas"},
    description="Segments, surveys and action plan with every name a pseudonym and every "
    "identifier a typed placeholder; withdrawn people's contributions removed.",
)
def anonymised_submission(
    context: dg.AssetExecutionContext,
    validated_submission: SiteSubmission,
    raw: RawSubmissions,
    pseudonym_key: PseudonymKey,
    staging: StagingArea,
    anonymiser: AnonymiserSettings,
) -> dg.Output[SiteSubmission]:
    round_id, site_id = split_partition_key(context.partition_key)
    with contained_errors("anonymise", staging.path):
        round_names = read_round_names(staging.path, round_id, except_site=site_id)
        ner_cache_file = cache_path(staging.path, round_id, site_id)
        ner_cache = load_ner_cache(ner_cache_file, model_id())
        result = anonymise_submission(
            validated_submission,
            read_roster(raw.path),
            Pseudonymiser(pseudonym_key.secret()),
            site_id,
            round_names=round_names,
            processes=anonymiser.processes,
            ner_cache=ner_cache,
        )
        save_ner_cache(ner_cache_file, ner_cache)
        write_round_names(staging.path, round_id, site_id, result.detected_names, round_names)
    metadata = {
        **table_counts(result.submission),
        "n_withdrawn_segments": result.withdrawn_segments,
        "n_withdrawn_responses": result.withdrawn_responses,
        "n_speakers_pseudonymised": result.speakers_pseudonymised,
        **{f"replaced_{kind}": count for kind, count in sorted(result.replacements.items())},
    }
    return dg.Output(result.submission, metadata=metadata)


@dg.asset_check(
    asset=anonymised_submission,
    blocking=True,
    partitions_def=round_site,
    description="Scans every anonymised text for identifier patterns, roster names and "
    "the names found in the round when it was anonymised; fails, and so stops the load, if "
    "one survives. "
    "Reports counts by type, never text.",
)
def anonymisation_gate(
    context: dg.AssetCheckExecutionContext,
    anonymised_submission: SiteSubmission,
    raw: RawSubmissions,
    staging: StagingArea,
) -> dg.AssetCheckResult:
    round_id, site_id = split_partition_key(context.partition_key)
    with contained_errors("anonymisation_gate", staging.path):
        texts = published_texts(anonymised_submission)
        found = scan_for_leaks(
            texts, read_roster(raw.path), names_for_gate(staging.path, round_id, site_id)
        )
    return dg.AssetCheckResult(
        passed=sum(found.values()) == 0,
        metadata={
            "texts_scanned": len(texts),
            **{f"found_{k}": n for k, n in sorted(found.items())},
        },
    )
