"""`ariadne`: the data manager's commands.

materialise      run every stage for rounds and sites found in raw/, then print a summary
validate         check one submission folder without loading it; list every problem
rounds           rounds and sites in raw/, their files' status and last run
status           per round and site: files and their state, the last run and its outcome,
                 failed checks, quarantined items with reasons
quarantine       every quarantined file, row and paragraph of a round, with its reason
prepare          build what the stages read from installed packages (run by the set-up)
eval-anonymiser  score the anonymiser on the labelled synthetic corpus (tests/anonymiser_eval)
eval-coder       score the theme coders on the labelled set (tests/coder_eval)
export-review    a round's coding for review: spreadsheet, REFI-QDA project and codebook,
                 framework matrix
import-review    a reviewed spreadsheet or REFI-QDA project into the review store, then
                 rerun the round's sites it reviewed so their coding publishes it
generate         write a synthetic raw round of any size, with a ground truth of every name
                 and identifier planted in it (benchmarks/generate_round.py)
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy.exc
from dagster import (
    BetaWarning,
    DagsterInstance,
    PreviewWarning,
    RunsFilter,
)

from assets.ingest.submission import discover_partitions, read_site_submission
from assets.load.loader import read_partition_summary, read_source_file_status
from assets.validate.validation import validate_submission
from pipelines.partitions import partition_key, register
from pipelines.resources import from_environment
from pipelines.round_runner import SiteRunner

DEFAULT_DAGSTER_HOME = ".dagster_home"
MAX_NAME_PASSES = 3
ANONYMISER_CORPUS = Path(__file__).parents[1] / "tests" / "anonymiser_eval"


def _instance() -> DagsterInstance:
    """The persistent Dagster instance (DAGSTER_HOME, default ./.dagster_home) runs are kept in.

    A DAGSTER_HOME without a dagster.yaml gets one with Dagster's default storage (local
    SQLite under DAGSTER_HOME) and telemetry off: nothing about a run leaves the machine.
    """
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(DEFAULT_DAGSTER_HOME).resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return DagsterInstance.get()


def _raw_dir() -> Path:
    return from_environment()["raw"].path


def materialise(round_id: str | None, site_ids: Collection[str] | None = None) -> int:
    """Run every stage for the rounds and sites in raw/ (all, one round, or some of its sites)."""
    # Imported here, after main() has set the warning filters: loading the definitions
    # warns about the preview features they use on purpose.
    from assets.anonymise.round_names import stale_sites
    from warehouse.migrations_runner import migrate

    found = discover_partitions(_raw_dir())
    pairs = [
        (r, s)
        for r, s in found
        if (round_id is None or r == round_id) and (site_ids is None or s in site_ids)
    ]
    if not pairs:
        sites = ", ".join(sorted(site_ids)) if site_ids is not None else None
        print(f"nothing to materialise in {_raw_dir()} for round={round_id} site={sites}")
        return 1
    resources = from_environment()
    register(_instance(), pairs)
    try:
        # Once, before any site's run: two workers must not both create a new warehouse.
        migrate(resources["warehouse"].engine())
    except sqlalchemy.exc.OperationalError as error:
        print(f"the warehouse cannot be reached, nothing was run: {_first_line(error)}")
        return 1
    failed: dict[tuple[str, str], str] = {}
    round_ids = {r for r, _ in pairs}
    site_workers = resources["site_workers"]
    with SiteRunner(site_workers.workers, site_workers.sites_per_worker) as runner:
        _run_all(runner, pairs, failed)
        # A site anonymised before another site found a name that is in its text runs
        # again, until none is: no name found anywhere in the round is left at any of its
        # sites. Every site of the round is checked, not only those run now.
        for _ in range(MAX_NAME_PASSES):
            stale = [
                (r, s)
                for r in sorted(round_ids)
                for s in stale_sites(
                    resources["staging"].path, r, [s for rr, s in found if rr == r]
                )
                if (r, s) not in failed
            ]
            if not stale:
                break
            print(f"names found at other sites: {len(stale)} site(s) run again")
            # A site this command ran needs only anonymisation and what follows it again:
            # its ingest and validation are in staging as they were a moment ago. A site
            # it did not run may have new files since its last run: it runs whole.
            ran = set(pairs)
            _run_all(runner, [p for p in stale if p in ran], failed, "anonymised_submission")
            _run_all(runner, [p for p in stale if p not in ran], failed)
    print()
    print_summary(round_ids)
    for (r, s), run_id in failed.items():
        print(f"FAILED: {r} / {s}: see run {run_id} in `dg dev` and the quarantine view")
    return 1 if failed else 0


def _run_all(
    runner: SiteRunner,
    pairs: list[tuple[str, str]],
    failed: dict[tuple[str, str], str],
    from_stage: str | None = None,
) -> None:
    """Run the partitions, printing each as it ends; record failures in `failed`."""
    if not pairs:
        return
    for number, outcome in enumerate(runner.run(pairs, from_stage), start=1):
        state = "ok" if outcome.success else "FAILED"
        print(
            f"[{number}/{len(pairs)}] {outcome.round_id} / {outcome.site_id} {state} "
            f"(run {outcome.run_id[:8]})",
            flush=True,
        )
        key = (outcome.round_id, outcome.site_id)
        if outcome.success:
            failed.pop(key, None)
        else:
            failed[key] = outcome.run_id


def _first_line(error: sqlalchemy.exc.DBAPIError) -> str:
    """The driver's own message (it never holds the password), without SQLAlchemy's echo."""
    return str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__


def print_summary(round_ids: set[str]) -> None:
    engine = from_environment()["warehouse"].engine()
    summary = read_partition_summary(engine)
    summary = summary[summary["round_id"].isin(round_ids)]
    if summary.empty:
        print("the warehouse holds nothing for these rounds yet")
        return
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.to_string(index=False))


def validate(path: Path) -> int:
    """List every problem of the submission(s) under `path`; exit 1 when there is one."""
    path = path.resolve()
    if (path / "manifest.yaml").exists():
        raw_dir, pairs = path.parent.parent, [(path.parent.name, path.name)]
    elif (path / "round.yaml").exists():
        raw_dir = path.parent
        pairs = [(r, s) for r, s in discover_partitions(raw_dir) if r == path.name]
    else:
        raw_dir, pairs = path, discover_partitions(path)
    if not pairs:
        print(f"{path}: no submission found (expected a round folder, a site folder or raw/)")
        return 1
    resources = from_environment()
    registry = resources["instruments"].registry()
    theme_codes = resources["codebooks"].load().theme_codes
    problems = 0
    for r, s in pairs:
        submission = validate_submission(
            read_site_submission(raw_dir, r, s),
            accepts=registry.accepts,
            required=registry.required,
            theme_codes=theme_codes,
        )
        quarantine = submission.quarantine
        print(
            f"{r} / {s}: {len(submission.segments)} segments, "
            f"{len(submission.survey_responses)} survey responses, "
            f"{len(submission.action_plan)} action-plan entries; {len(quarantine)} problems"
        )
        for row in quarantine.itertuples(index=False):
            print(f"  {row.severity.upper():7} {row.source_file} [{row.locator}]: {row.reason}")
        problems += len(quarantine)
    return 1 if problems else 0


def rounds() -> int:
    """Rounds and sites in raw/, with the warehouse's file status and the last Dagster run."""
    pairs = discover_partitions(_raw_dir())
    status = read_source_file_status(from_environment()["warehouse"].engine())
    instance = _instance()

    for r, s in pairs:
        runs = instance.get_run_records(
            RunsFilter(tags={"dagster/partition": str(partition_key(r, s))}), limit=1
        )
        last = (
            f"last run {runs[0].dagster_run.run_id[:8]} {runs[0].dagster_run.status.value.lower()}"
            f" at {runs[0].create_timestamp:%Y-%m-%d %H:%M}"
            if runs
            else "never run"
        )
        files = status[(status["round_id"] == r) & (status["site_id"] == s)]
        counts = files.groupby("status").size().to_dict() if not files.empty else {}
        shown = (
            ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no files loaded"
        )
        print(f"{r} / {s}: {shown}; {last}")
    return 0


def show_status(round_id: str | None, site_id: str | None) -> int:
    """Where each round x site stands: raw/ against the warehouse, and the last run."""
    from pipelines.status import collect_status, format_status

    resources = from_environment()
    engine = resources["warehouse"].engine()
    try:
        found = collect_status(resources["raw"].path, engine, _instance(), round_id, site_id)
    finally:
        engine.dispose()
    if not found.sites:
        print(f"no round x site in {resources['raw'].path} or the warehouse for round={round_id}")
        return 1
    print(format_status(found))
    return 0


def show_quarantine(round_id: str, site_id: str | None) -> int:
    """Every quarantined item of a round (or one site of it), in full."""
    from sqlalchemy.exc import DBAPIError

    from assets.load.readers import read_quarantine
    from pipelines.status import format_quarantine

    engine = from_environment()["warehouse"].engine()
    try:
        items = read_quarantine(engine, round_id, site_id)
    except DBAPIError as error:
        print(f"the warehouse could not be read ({type(error.orig).__name__})")
        return 1
    finally:
        engine.dispose()
    if items.empty:
        print(f"nothing quarantined in the warehouse for round={round_id} site={site_id}")
        return 0
    print(format_quarantine(items))
    return 0


def prepare() -> int:
    """Build, once, what the stages read at run time from installed packages (no download)."""
    from assets.anonymise.gazetteer import build_name_lists
    from assets.code.embeddings import prepare_embedding_model

    print(f"name lists: {build_name_lists()}")
    print(f"embedding model: {prepare_embedding_model(from_environment()['embedding_model'].path)}")
    return 0


def eval_coder() -> int:
    """Precision, recall and F1 per theme, category accuracy and agreement, for each coder."""
    from assets.code.coder_scores import evaluate_coders
    from assets.code.evaluation import format_scores, load_eval_set

    resources = from_environment()
    codebook = resources["codebooks"].load()
    embedder = resources["embedding_model"].embedder()
    evaluation = evaluate_coders(load_eval_set(), codebook, embedder)
    print(f"codebook {codebook.version}")
    print(format_scores(evaluation.scores))
    agreement = evaluation.agreement.drop(columns=["n_segments"])
    with pd.option_context("display.width", 200, "display.precision", 3):
        print(agreement.to_string(index=False))
    for warning in evaluation.warnings():
        print(f"warning: {warning}")
    problems = evaluation.shortfalls()
    print("targets met" if not problems else "targets missed: " + "; ".join(problems))
    return 1 if problems else 0


def eval_anonymiser(corpus: Path, show_misses: bool) -> int:
    """Precision and recall per entity type and name origin; exit 1 when a target is missed."""
    from assets.anonymise.anonymiser import detect_for_evaluation
    from assets.anonymise.evaluation import (
        ROUND_ID,
        evaluate,
        format_misses,
        format_report,
        load_corpus,
        shortfalls,
    )

    report = evaluate(
        load_corpus(corpus),
        lambda document: detect_for_evaluation(
            document.text, document.roster, ROUND_ID, document.site_id
        ),
    )
    print(format_report(report))
    if show_misses:
        print(format_misses(report))
    problems = shortfalls(report)
    print("targets met" if not problems else "targets missed: " + "; ".join(problems))
    return 1 if problems else 0


def export_review(round_id: str, site_id: str | None, out_dir: Path) -> int:
    """Write the review files of a round (or one site of it) from the warehouse."""
    from assets.load.loader import read_round_coding
    from assets.review.round_exports import export_round

    resources = from_environment()
    coding = read_round_coding(resources["warehouse"].engine(), round_id, site_id)
    if coding.segments.empty:
        print(f"the warehouse holds no segments for round={round_id} site={site_id}")
        return 1
    paths = export_round(
        out_dir,
        coding.segments,
        coding.codings,
        resources["codebooks"].load(),
        round_id,
        published=coding.published,
        reviews=coding.reviews,
    )
    for path in paths:
        print(path)
    return 0


def import_review(path: Path, round_id: str, rerun: bool) -> int:
    """Import a reviewed .xlsx or .qdpx into the review store, then rerun the sites it reviewed.

    Reviewer names become pseudonyms before anything is written. A rejected row is printed
    with its file, sheet, row and reason and makes the exit status 1; the good rows still
    import. The reviewed file itself is only read.
    """
    from assets.anonymise.pseudonyms import Pseudonymiser
    from assets.load.loader import LoadError, read_round_coding
    from assets.review.store import import_review_file, write_reviews

    if not path.is_file():
        print(f"{path}: no such file")
        return 1
    resources = from_environment()
    try:
        coding = read_round_coding(resources["warehouse"].engine(), round_id)
    except LoadError as error:
        print(error)
        return 1
    if coding.segments.empty:
        print(f"the warehouse holds no segments for round={round_id}: materialise it first")
        return 1
    try:
        imported = import_review_file(
            path,
            coding.segments,
            coding.codings,
            resources["codebooks"].load(),
            Pseudonymiser(resources["pseudonym_key"].secret()),
            reviewed_at=datetime.now(UTC),
        )
    except ValueError as error:  # the file cannot be read at all: its message says why
        print(error)
        return 1
    for site_id, rows in imported.by_site.items():
        write_reviews(resources["reviews"].path, round_id, site_id, rows)
        segments_reviewed, reviewers = rows["segment_id"].nunique(), rows["coder"].nunique()
        print(
            f"{round_id} / {site_id}: {segments_reviewed} segment"
            f"{'s' if segments_reviewed != 1 else ''} reviewed by {reviewers} reviewer"
            f"{'s' if reviewers != 1 else ''}"
        )
    if not imported.by_site:
        print(f"{path.name}: no reviewed segment found")
    for problem in imported.problems:
        print(f"REJECTED {problem}")
    status = 1 if imported.problems else 0
    if rerun and imported.by_site:
        status = max(status, materialise(round_id, list(imported.by_site)))
    return status


def generate(out: Path, round_id: str, sizes: dict[str, int]) -> int:
    """Write a synthetic round under `out` and print what was written."""
    checkout = str(Path(__file__).resolve().parents[1])
    if checkout not in sys.path:
        # The generator and the sample data's writers it reuses live in the checkout
        # (benchmarks/, tests/fixtures/), not in the installed package.
        sys.path.append(checkout)
    from benchmarks.generate_round import format_tally, generate_round

    try:
        tally = generate_round(out, round_id=round_id, **sizes)
    except (ValueError, FileExistsError) as error:
        print(error)
        return 1
    print(format_tally(tally, out / round_id))
    return 0


def main(argv: list[str] | None = None) -> int:
    # Partitioned checks and data versions are Dagster preview/beta features we rely on on
    # purpose (docs/decisions/0003); the terminal is for the data manager, not for that.
    warnings.filterwarnings("ignore", category=PreviewWarning)
    warnings.filterwarnings("ignore", category=BetaWarning)
    parser = argparse.ArgumentParser(
        prog="ariadne", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("materialise", help="run every stage and load the warehouse")
    run.add_argument("--round", dest="round_id")
    run.add_argument("--site", dest="site_id")
    check = commands.add_parser("validate", help="check a submission folder without loading it")
    check.add_argument("path", type=Path)
    commands.add_parser("rounds", help="rounds, sites, file status and last run")
    state = commands.add_parser("status", help="files, last run, failed checks, quarantine")
    state.add_argument("--round", dest="round_id")
    state.add_argument("--site", dest="site_id")
    held = commands.add_parser("quarantine", help="a round's quarantined items in full")
    held.add_argument("--round", dest="round_id", required=True)
    held.add_argument("--site", dest="site_id")
    commands.add_parser(
        "prepare", help="build the name lists and the embedding model from installed packages"
    )
    commands.add_parser("eval-coder", help="score the theme coders on the labelled set")
    scoring = commands.add_parser("eval-anonymiser", help="score the anonymiser on a corpus")
    scoring.add_argument("--corpus", type=Path, default=ANONYMISER_CORPUS)
    scoring.add_argument(
        "--misses", action="store_true", help="also list every miss (synthetic text only)"
    )
    review = commands.add_parser("export-review", help="a round's coding for review")
    review.add_argument("--round", dest="round_id", required=True)
    review.add_argument("--site", dest="site_id")
    review.add_argument("--out", type=Path, default=Path("exports"))
    reviewed = commands.add_parser(
        "import-review", help="a reviewed spreadsheet or .qdpx into the review store"
    )
    reviewed.add_argument("path", type=Path, metavar="FILE", help="a reviewed .xlsx or .qdpx")
    reviewed.add_argument("--round", dest="round_id", required=True)
    reviewed.add_argument(
        "--no-materialise",
        dest="rerun",
        action="store_false",
        help="store the reviews without rerunning the sites they touch",
    )
    impact = commands.add_parser("report", help="a round's impact report (HTML; PDF with chromium)")
    impact.add_argument("--round", dest="round_id", required=True)
    impact.add_argument(
        "--out", type=Path, default=None, help="folder (default ARIADNE_REPORTS_DIR)"
    )
    synthetic = commands.add_parser("generate", help="write a synthetic round for benchmarks")
    for option in ("sites", "workshops-per-site", "responses-per-site", "seed"):
        synthetic.add_argument(f"--{option}", type=int, required=True)
    synthetic.add_argument("--words-per-workshop", type=int, default=2300)
    synthetic.add_argument("--round-id", default="generated")
    synthetic.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "generate":
        sizes = ("sites", "workshops_per_site", "responses_per_site", "seed", "words_per_workshop")
        return generate(args.out, args.round_id, {size: getattr(args, size) for size in sizes})
    if args.command == "report":
        # Imported here: matplotlib stays out of the other commands.
        from assets.report.cli_command import report

        return report(args.round_id, args.out)
    if args.command == "materialise":
        return materialise(args.round_id, [args.site_id] if args.site_id else None)
    if args.command == "import-review":
        return import_review(args.path, args.round_id, args.rerun)
    if args.command == "validate":
        return validate(args.path)
    if args.command == "prepare":
        return prepare()
    if args.command == "eval-anonymiser":
        return eval_anonymiser(args.corpus, args.misses)
    if args.command == "eval-coder":
        return eval_coder()
    if args.command == "export-review":
        return export_review(args.round_id, args.site_id, args.out)
    if args.command == "status":
        return show_status(args.round_id, args.site_id)
    if args.command == "quarantine":
        return show_quarantine(args.round_id, args.site_id)
    return rounds()


if __name__ == "__main__":
    sys.exit(main())
