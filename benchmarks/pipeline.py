"""`make bench`: the whole pipeline on a national-scale round, beside two references.

    python -m benchmarks.pipeline [--sites 50] [--workshops-per-site 10]
        [--responses-per-site 400] [--seed 2026] [--references ner presidio]

1. `ariadne generate` writes a round (by default 50 sites, 10 workshops each, 400 survey
   responses each: over 1,000,000 words of minutes and 20,000 responses).
2. The texts the anonymiser reads are taken from it (ingest and validation, outside the
   clock): every site's distinct segment texts, agenda items, free-text answers and
   actions. Both references read exactly these.
3. Each reference runs in a child process of its own on that text, after loading its model
   and a warm-up, one text after another from a file (never the round at once):
   - `ner`: spaCy's NER alone, the same package the anonymiser loads with every other
     component disabled, `nlp.pipe` in one process: the floor for any NER-based anonymiser;
   - `presidio`: Presidio's `AnalyzerEngine` and `AnonymizerEngine` with their defaults
     (the small model, as in `benchmarks.anonymiser`, since the large one cannot be
     downloaded), one `analyze` and one `anonymize` per text.
4. The pipeline runs in a child process of its own, as `ariadne materialise --round R` runs
   it (`pipelines.cli.materialise`): a fresh staging area, warehouse (SQLite) and Dagster
   instance; every site runs in Dagster; the names pass included. Its time includes its
   start-up (imports, models, the coders' training in each site worker).
5. One site's survey export then gains a late response, and that site is materialised
   again, three times (a new late response each time): twice in the same process (the
   first loads the models there; the second is warm, as a long-lived worker or code
   server runs it, and is the one held to the target) and as a new
   `ariadne materialise --round R --site S` command (cold: imports and models included).

Per stage: the seconds of each step summed over every site's run (from Dagster's event
log), and the peak memory of the process running it (psutil samples every process of the
tree four times a second; a step's peak is its process's largest sample while it ran).
End to end: wall time, CPU seconds over wall (both cores: near 2), the peak of the whole
tree's memory (every worker included). The table goes to stdout and to
`benchmarks/results/end-to-end.md`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import psutil

from benchmarks.anonymiser import REPO, machine

ROUND_ID = "national"
RESULTS = REPO / "benchmarks" / "results" / "end-to-end.md"
SAMPLE_SECONDS = 0.25
# Targets of the issue: whole pipeline against the NER pass alone, one site's rerun
# against the whole round (as a share of its 50 sites), peak memory.
TARGET_VS_NER = 1.5
TARGET_RERUN_PER_SITE = 1.5
TARGET_PEAK_GIB = 2.0
STAGES = {
    "ingested_submission": "ingest",
    "validated_submission": "validate",
    "anonymised_submission": "anonymise",
    "anonymised_submission_anonymisation_gate": "anonymise: gate",
    "anonymised_submission_segments_expectations": "validate: expectations (GX)",
    "anonymised_submission_survey_responses_expectations": "validate: expectations (GX)",
    "coded_submission": "code",
    "coded_submission_coder_agreement_check": "code: agreement check",
    "aggregated_submission": "aggregate",
    "warehouse_partition": "load",
}


@dataclasses.dataclass
class Measured:
    """One timed piece of work; `stages` only for the pipeline."""

    name: str
    seconds: float
    cpu_seconds: float
    peak_rss: int
    words: int = 0
    stages: dict[str, tuple[float, int]] = dataclasses.field(default_factory=dict)
    runs: int = 0


class TreeSampler:
    """Samples the RSS of this process and every descendant, by pid, in a thread."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, dict[int, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            sizes = {}
            for process in (me, *me.children(recursive=True)):
                try:
                    sizes[process.pid] = process.memory_info().rss
                except psutil.Error:
                    continue
            self.samples.append((time.time(), sizes))
            self._stop.wait(SAMPLE_SECONDS)

    def peak_total(self) -> int:
        return max((sum(sizes.values()) for _, sizes in self.samples), default=0)

    def peak_of(self, pid: int, start: float, end: float) -> int:
        return max(
            (sizes.get(pid, 0) for when, sizes in self.samples if start <= when <= end),
            default=0,
        )


def _cpu_seconds() -> float:
    me = psutil.Process()
    times = me.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


# --- the round and its texts ---------------------------------------------------------


def generate(work: Path, args: argparse.Namespace) -> None:
    from benchmarks.generate_round import format_tally, generate_round

    started = time.perf_counter()
    tally = generate_round(
        work / "raw",
        sites=args.sites,
        workshops_per_site=args.workshops_per_site,
        responses_per_site=args.responses_per_site,
        seed=args.seed,
        round_id=ROUND_ID,
    )
    print(format_tally(tally, work / "raw" / ROUND_ID))
    print(f"(generated in {time.perf_counter() - started:.1f} s, outside every clock)")


def extract_texts(work: Path) -> tuple[int, int]:
    """Write each site's distinct anonymiser input texts to texts.jsonl; (texts, words)."""
    from assets.anonymise.anonymiser import published_texts
    from assets.ingest.submission import discover_partitions, read_site_submission
    from assets.validate.validation import validate_submission
    from pipelines.resources import from_environment

    resources = from_environment()
    registry = resources["instruments"].registry()
    theme_codes = resources["codebooks"].load().theme_codes
    raw = work / "raw"
    n_texts = n_words = 0
    with (work / "texts.jsonl").open("w", encoding="utf-8") as out:
        for round_id, site_id in discover_partitions(raw):
            submission = validate_submission(
                read_site_submission(raw, round_id, site_id),
                accepts=registry.accepts,
                required=registry.required,
                theme_codes=theme_codes,
            )
            for text in dict.fromkeys(t for t in published_texts(submission) if t):
                out.write(json.dumps(text, ensure_ascii=False) + "\n")
                n_texts += 1
                n_words += len(text.split())
    return n_texts, n_words


def _texts(work: Path) -> Iterator[str]:
    with (work / "texts.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


# --- the references ------------------------------------------------------------------


def ner_alone(work: Path) -> Measured:
    import spacy

    from assets.anonymise.engine import SPACY_MODEL

    pipes = spacy.util.load_meta(spacy.util.get_package_path(SPACY_MODEL) / "meta.json")
    nlp = spacy.load(SPACY_MODEL, exclude=[p for p in pipes["pipeline"] if p != "ner"])
    list(nlp.pipe(["Dr Amara Okafor met the carers' group in Leeds."]))
    cpu, start, words = _cpu_seconds(), time.perf_counter(), 0
    for doc in nlp.pipe(_texts(work), batch_size=64):
        words += len(doc.text.split())
    return Measured("spaCy NER alone", time.perf_counter() - start, _cpu_seconds() - cpu, 0, words)


def presidio_default(work: Path) -> Measured:
    from benchmarks.anonymiser import PresidioDefault, _check_offline

    _check_offline()
    engine = PresidioDefault()
    engine.warm_up()
    cpu, start, words = _cpu_seconds(), time.perf_counter(), 0
    for text in _texts(work):
        engine._one(text)
        words += len(text.split())
    return Measured(
        "Presidio, default configuration",
        time.perf_counter() - start,
        _cpu_seconds() - cpu,
        0,
        words,
    )


# --- the pipeline --------------------------------------------------------------------


def pipeline_env(work: Path) -> dict[str, str]:
    return {
        "ARIADNE_RAW_DIR": str(work / "raw"),
        "ARIADNE_STAGING_DIR": str(work / "staging"),
        "ARIADNE_WAREHOUSE_URL": f"sqlite:///{work / 'warehouse.db'}",
        "ARIADNE_REVIEWS_DIR": str(work / "reviews"),
        "ARIADNE_DATA_DOCS_DIR": str(work / "data_docs"),
        # A throwaway pseudonym key for synthetic data; its digits are no NHS number.
        "ARIADNE_PSEUDONYM_KEY": "benchmark-key-not-a-secret-0123456789",
        "DAGSTER_HOME": str(work / "dagster_home"),
    }


def _materialise(site: str | None) -> tuple[float, float, TreeSampler, float]:
    """Run `ariadne materialise` in this process: (seconds, CPU seconds, sampler, start)."""
    from pipelines.cli import materialise

    with TreeSampler() as sampler:
        cpu, began, start = _cpu_seconds(), time.time(), time.perf_counter()
        status = materialise(ROUND_ID, [site] if site else None)
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    if status != 0:
        raise RuntimeError(f"materialise failed for site={site}: see the output above")
    return seconds, cpu, sampler, began


def _stages(sampler: TreeSampler, since: float) -> tuple[dict[str, tuple[float, int]], int]:
    """Seconds summed over runs and peak RSS per stage, from the event log; and the runs."""
    from dagster import DagsterEventType, DagsterInstance

    instance = DagsterInstance.get()
    seconds: dict[str, float] = defaultdict(float)
    peaks: dict[str, int] = defaultdict(int)
    runs = [r for r in instance.get_run_records() if (r.create_timestamp.timestamp() >= since)]
    for record in runs:
        started: dict[str, float] = {}
        for entry in instance.all_logs(record.dagster_run.run_id):
            event = entry.dagster_event
            if event is None or entry.step_key not in STAGES:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                begin = started.pop(entry.step_key, entry.timestamp)
                stage = STAGES[entry.step_key]
                seconds[stage] += entry.timestamp - begin
                peak = sampler.peak_of(event.pid, begin, entry.timestamp)
                peaks[stage] = max(peaks[stage], peak)
    return {stage: (seconds[stage], peaks[stage]) for stage in seconds}, len(runs)


def add_late_response(work: Path, site: str) -> Path:
    """Append a late paper response to the site's survey CSV: a real change of one file."""
    path = work / "raw" / ROUND_ID / site / "surveys" / "followup-paper.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header, last = rows[0], rows[-1]
    late = dict(zip(header, last, strict=True))
    late["ID"] = f"P{len(rows):04d}-late"
    free_text = next(c for c in ("what_changed", "still_in_way", "what_would_help") if c in late)
    late[free_text] = "The interpreter was booked for every appointment this time."
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow([late[column] for column in header])
    return path


def pipeline(work: Path, rerun_site: str) -> list[Measured]:
    os.environ.update(pipeline_env(work))
    import warnings

    from dagster import BetaWarning, PreviewWarning

    warnings.filterwarnings("ignore", category=PreviewWarning)
    warnings.filterwarnings("ignore", category=BetaWarning)
    seconds, cpu, sampler, began = _materialise(None)
    stages, runs = _stages(sampler, began)
    whole = Measured(
        "pipeline, whole round", seconds, cpu, sampler.peak_total(), stages=stages, runs=runs
    )
    in_process = []
    for name in ("first in this process", "warm"):
        add_late_response(work, rerun_site)
        seconds, cpu, sampler, began = _materialise(rerun_site)
        stages, runs = _stages(sampler, began)
        in_process.append(
            Measured(
                f"one site again ({rerun_site}), {name}",
                seconds,
                cpu,
                sampler.peak_total(),
                stages=stages,
                runs=runs,
            )
        )
    add_late_response(work, rerun_site)
    command = [sys.executable, "-m", "pipelines.cli", "materialise"]
    command += ["--round", ROUND_ID, "--site", rerun_site]
    with TreeSampler() as sampler:
        cpu, start = _cpu_seconds(), time.perf_counter()
        returncode = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL).returncode
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    if returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` exited {returncode}")
    cold = Measured(
        f"one site again ({rerun_site}), new command", seconds, cpu, sampler.peak_total()
    )
    return [whole, *in_process, cold]


# --- the parent ----------------------------------------------------------------------


def run_child(work: Path, what: str, rerun_site: str) -> list[Measured]:
    """Run one measurement in a fresh process; its own peak memory is its VmHWM."""
    result = work / f"{what}.json"
    env = {
        **os.environ,
        "TLDEXTRACT_CACHE": str(work / "tldextract"),
        "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    }
    command = [sys.executable, "-m", "benchmarks.pipeline", "--child", what, "--work", str(work)]
    command += ["--rerun-site", rerun_site, "--result", str(result)]
    subprocess.run(command, cwd=REPO, env=env, check=True)
    return [Measured(**m) for m in json.loads(result.read_text(encoding="utf-8"))]


def _vm_hwm() -> int:
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return next(
        int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM")
    )


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f}"


def report(work: Path, texts: tuple[int, int], measured: dict[str, Measured], sites: int) -> str:
    n_texts, n_words = texts
    whole = measured["pipeline"]
    lines = [*machine(), ""]
    lines.append(
        f"Round `{ROUND_ID}`: {sites} sites; the anonymiser's input is {n_texts:,} distinct "
        f"texts, {n_words:,} words (minutes, agenda items, free-text answers, actions)."
    )
    lines += [
        "",
        "| what | seconds | words/s | CPU s / wall s | peak memory (GiB) "
        "| x NER alone | x Presidio |",
    ]
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    ner, presidio = measured.get("ner"), measured.get("presidio")
    for item in (ner, presidio, whole):
        if item is None:
            continue
        rate = n_words / item.seconds
        vs_ner = f"{item.seconds / ner.seconds:.2f}" if ner else "-"
        vs_presidio = f"{item.seconds / presidio.seconds:.2f}" if presidio else "-"
        lines.append(
            f"| {item.name} | {item.seconds:,.1f} | {rate:,.0f} "
            f"| {item.cpu_seconds / item.seconds:.2f} | {_gib(item.peak_rss)} "
            f"| {vs_ner} | {vs_presidio} |"
        )
    lines += [
        "",
        f"Stages of the whole round ({whole.runs} Dagster runs, the names pass included):",
        "",
    ]
    lines += ["| stage | step seconds, all sites | share | peak memory of its process (GiB) |"]
    lines.append("| --- | --- | --- | --- |")
    total = sum(seconds for seconds, _ in whole.stages.values())
    for stage, (seconds, peak) in sorted(whole.stages.items(), key=lambda kv: -kv[1][0]):
        lines.append(f"| {stage} | {seconds:,.1f} | {seconds / total:.0%} | {_gib(peak)} |")
    lines += [
        "",
        "One site's survey export gains a late response; that site is materialised again:",
        "",
    ]
    lines += [
        "| rerun | seconds | x whole round | target (1.5 / sites) |",
        "| --- | --- | --- | --- |",
    ]
    for key in ("first", "warm", "cold"):
        rerun = measured[key]
        lines.append(
            f"| {rerun.name} | {rerun.seconds:,.1f} | {rerun.seconds / whole.seconds:.4f} "
            f"| {TARGET_RERUN_PER_SITE / sites:.4f} |"
        )
    warm = measured["warm"]
    steps = sorted(warm.stages.items(), key=lambda kv: -kv[1][0])
    lines += [
        "",
        f"Steps of the warm rerun ({sum(sec for sec, _ in warm.stages.values()):.1f} s of "
        f"{warm.seconds:.1f} s; the rest is Dagster's run and the names pass): "
        + ", ".join(f"{stage} {seconds:.2f} s" for stage, (seconds, _) in steps)
        + ".",
    ]
    lines += ["", "Targets:"]
    if ner:
        ratio = whole.seconds / ner.seconds
        lines.append(
            f"- whole pipeline / NER alone = {ratio:.2f} (target <= {TARGET_VS_NER}): "
            f"{'met' if ratio <= TARGET_VS_NER else 'MISSED'}"
        )
    share = measured["warm"].seconds / whole.seconds
    lines.append(
        f"- one site's rerun (warm) / whole round = {share:.4f} (target <= "
        f"{TARGET_RERUN_PER_SITE / sites:.4f}): "
        f"{'met' if share <= TARGET_RERUN_PER_SITE / sites else 'MISSED'}"
    )
    peak = whole.peak_rss / 2**30
    lines.append(
        f"- peak memory of the whole tree = {peak:.2f} GiB (target < {TARGET_PEAK_GIB}): "
        f"{'met' if peak < TARGET_PEAK_GIB else 'MISSED'}"
    )
    return "\n".join(lines)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--workshops-per-site", type=int, default=10)
    parser.add_argument("--responses-per-site", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench")
    parser.add_argument(
        "--references", nargs="*", default=["ner", "presidio"], choices=["ner", "presidio"]
    )
    parser.add_argument("--child", choices=["ner", "presidio", "pipeline"], help=argparse.SUPPRESS)
    parser.add_argument("--rerun-site", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    if args.child:
        if args.child == "pipeline":
            results = pipeline(args.work, args.rerun_site)
        else:
            results = [(ner_alone if args.child == "ner" else presidio_default)(args.work)]
            results[0].peak_rss = _vm_hwm()
        args.result.write_text(json.dumps([dataclasses.asdict(r) for r in results]))
        return
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    generate(work, args)
    texts = extract_texts(work)
    sites = sorted(p.name for p in (work / "raw" / ROUND_ID).iterdir() if p.is_dir())
    rerun_site = sites[len(sites) // 2]
    measured: dict[str, Measured] = {}
    for reference in args.references:
        [measured[reference]] = run_child(work, reference, rerun_site)
        print(f"{measured[reference].name}: {measured[reference].seconds:,.1f} s", flush=True)
    whole, first, warm, cold = run_child(work, "pipeline", rerun_site)
    measured |= {"pipeline": whole, "first": first, "warm": warm, "cold": cold}
    table = report(work, texts, measured, len(sites))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table + "\n", encoding="utf-8")
    print()
    print(table)
    print(f"\n(written to {RESULTS.relative_to(REPO)})")


if __name__ == "__main__":
    main()
