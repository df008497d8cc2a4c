"""Given names and surnames of every origin, to find people the NER model does not know.

spaCy's small English model finds 'Rebecca' but not 'Khadra', 'Tesfalem' or 'Kehinde':
its training text is mostly American news. The `names-dataset` package ships the given
names and surnames of 105 countries with their rank in each; every name among the 2,000
most common of some country is taken. Given names that are common English words ('Will',
'Hope', 'Grace', 'Mark'), judged by `wordfreq`'s frequency of the lower-case word, are
kept apart: they count as a name only before a surname ('Will Hargreaves').

Loading the package's table takes about a gigabyte, so the list is built once at set-up
(`ariadne prepare`, run by the Makefile) into a small text file of folded names, and the
anonymiser reads that. Both packages are pinned: the same versions give the same list.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import os
import pickle
from importlib.metadata import version
from pathlib import Path

from assets.text_folding import fold

RANK_LIMIT = 2000
COMMON_WORD_ZIPF = 4.5
DEFAULT_PATH = Path(__file__).parents[2] / "build" / "names.tsv"
GIVEN, COMMON_GIVEN, SURNAME = "given", "common_given", "surname"
PATH_VARIABLE = "ARIADNE_GIVEN_NAMES"


class GazetteerMissing(RuntimeError):
    """The list has not been built: the set-up step was skipped."""


def gazetteer_path() -> Path:
    return Path(os.environ.get(PATH_VARIABLE) or DEFAULT_PATH)


def _ranked(table: str) -> dict[str, dict]:
    resource = importlib.resources.files("names_dataset") / "v3" / table
    with resource.open("rb") as raw, gzip.open(raw) as handle:
        names = pickle.load(handle)
    return {
        name: facts
        for name, facts in names.items()
        if name.isalpha()
        and len(name) >= 2
        and min(facts.get("rank", {}).values(), default=RANK_LIMIT + 1) <= RANK_LIMIT
    }


def build_name_lists(dest: Path | None = None) -> Path:
    """Write `folded name<TAB>kind` lines after a header saying where they come from.

    Idempotent: an existing file built from the same package versions is kept.
    """
    from wordfreq import zipf_frequency

    dest = Path(dest or gazetteer_path())
    header = (
        f"# names-dataset {version('names-dataset')}, wordfreq {version('wordfreq')}, "
        f"rank <= {RANK_LIMIT} in a country, common word at English zipf >= {COMMON_WORD_ZIPF}\n"
    )
    if dest.exists() and dest.read_text(encoding="utf-8").startswith(header):
        return dest
    rows = set()
    for name in _ranked("first_names.pkl.gz"):
        common = zipf_frequency(name.lower(), "en") >= COMMON_WORD_ZIPF
        rows.add(f"{fold(name).text}\t{COMMON_GIVEN if common else GIVEN}")
    rows.update(f"{fold(name).text}\t{SURNAME}" for name in _ranked("last_names.pkl.gz"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    temporary = dest.with_suffix(".tmp")
    temporary.write_text(header + "\n".join(sorted(rows)) + "\n", encoding="utf-8")
    temporary.replace(dest)
    return dest


@functools.cache
def name_lists(path: Path | None = None) -> dict[str, frozenset[str]]:
    """Folded names by kind; raises GazetteerMissing with the command that builds them."""
    path = Path(path or gazetteer_path())
    if not path.exists():
        raise GazetteerMissing(
            f"the name lists {path} are missing: run `ariadne prepare` (the Makefile's "
            "set-up does) to build them from the installed names-dataset package"
        )
    kinds: dict[str, set[str]] = {GIVEN: set(), COMMON_GIVEN: set(), SURNAME: set()}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, kind = line.split("\t")
            kinds[kind].add(name)
    return {kind: frozenset(names) for kind, names in kinds.items()}
