"""Labelled answers for a metric: a JSONL or CSV file of ``conversation_id, expected`` (and optionally ``rater``).

JSONL: one object a line, ``{"conversation_id": "c1", "expected": "billing", "rater": "ana"}``. CSV: a header
row naming the same columns. ``expected`` is read by the metric's type: a label (categorical; one of the
metric's labels when it has them), ``true``/``false`` (boolean; also yes/no, 1/0), a finite number (numerical),
a JSON array of strings (list; also items separated by ``;``, ``|`` or ``,``; each one of the labels of an
``ai_classify`` metric), or text. An empty or null ``expected`` means the metric should give no value for that
conversation.

A line that cannot be read is refused with its line number and reason (a CSV row with more or fewer fields than
its header too); the others are used. A file that is not UTF-8 text is refused whole (:class:`LabelsFileError`).
With several raters the expected answer of a conversation is their consensus (the most common answer, ties to
the one first in sorted order; for numbers the mean; for lists the items at least half of them chose), and their
labels are kept apart for the inter-rater ceiling.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metricstore.calibration.stats import Answer
from metricstore.definitions import MetricDefinition

SENTIMENT_LABELS = ("positive", "neutral", "negative")
_LIST_SEPARATORS = (";", "|", ",")
"""How a list's items may be written in one string, when not as a JSON array: the first of these the string holds
separates them ("billing; booking", "billing,booking")."""
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


@dataclass(frozen=True)
class Label:
    line: int
    conversation_id: str
    expected: Answer
    rater: str


@dataclass
class LabelSet:
    """What a labels file holds for one metric: the labels read, the lines refused and the file's digest."""

    path: str
    digest: str
    labels: list[Label] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def conversation_ids(self) -> list[str]:
        return sorted({label.conversation_id for label in self.labels})

    @property
    def raters(self) -> list[str]:
        return sorted({label.rater for label in self.labels})

    def by_rater(self) -> dict[str, dict[str, Answer]]:
        table: dict[str, dict[str, Answer]] = {}
        for label in self.labels:
            table.setdefault(label.rater, {})[label.conversation_id] = label.expected
        return table

    def consensus(self, metric_type: str) -> dict[str, Answer]:
        """The expected answer of every labelled conversation (the raters' consensus)."""
        answers: dict[str, list[Answer]] = {}
        for label in self.labels:
            answers.setdefault(label.conversation_id, []).append(label.expected)
        return {cid: _consensus(metric_type, given) for cid, given in answers.items()}


def _consensus(metric_type: str, given: list[Answer]) -> Answer:
    if len(given) == 1:
        return given[0]
    if metric_type == "numerical":
        numbers = [float(v) for v in given if isinstance(v, int | float) and not isinstance(v, bool)]
        return sum(numbers) / len(numbers) if numbers else None
    if metric_type == "list":
        counts = Counter(item for v in given if isinstance(v, list) for item in set(v))
        return sorted(item for item, n in counts.items() if 2 * n >= len(given))
    counts = Counter(json.dumps(v) for v in given)
    best = max(counts.values())
    consensus: Answer = json.loads(min(k for k, n in counts.items() if n == best))
    return consensus


def allowed_labels(metric: MetricDefinition) -> set[str] | None:
    """The answers a categorical metric can give, when they are known."""
    if metric.metric_type != "categorical":
        return None
    if metric.label_names:
        return set(metric.label_names)
    if metric.computed_mode == "ai_sentiment":
        return set(SENTIMENT_LABELS)
    return None


def parse_expected(metric: MetricDefinition, raw: Any) -> Answer:
    """``raw`` as an answer of the metric's type; ValueError says why it is not one."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = metric.metric_type
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"'{raw}' is not true or false")
    if kind == "numerical":
        if isinstance(raw, bool):
            raise ValueError(f"'{raw}' is not a number")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"'{raw}' is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"'{raw}' is not a finite number")
        return number
    if kind == "list":
        items = raw
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith("["):
                items = json.loads(text)
            else:
                separator = next((sep for sep in _LIST_SEPARATORS if sep in text), _LIST_SEPARATORS[0])
                items = [part.strip() for part in text.split(separator) if part.strip()]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"'{raw}' is not a list of strings")
        classes = metric.label_names if metric.computed_mode == "ai_classify" else []
        unknown = sorted(set(items) - set(classes)) if classes else []
        if unknown:
            raise ValueError(f"{unknown} not among the metric's labels ({', '.join(sorted(classes))})")
        return sorted(set(items))
    if not isinstance(raw, str | int | float):
        raise ValueError(f"'{raw}' is not text")
    value = str(raw).strip()
    allowed = allowed_labels(metric)
    if allowed is not None and value not in allowed:
        raise ValueError(f"'{value}' is not one of the metric's labels ({', '.join(sorted(allowed))})")
    return value


class LabelsFileError(ValueError):
    """The labels file as a whole cannot be read (not UTF-8 text)."""


def _rows(path: Path) -> tuple[str, Iterator[tuple[int, dict[str, Any], str | None]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelsFileError(f"{path} is not UTF-8 text (byte {exc.start}: {data[exc.start : exc.end]!r})") from None
    return hashlib.sha256(data).hexdigest(), _csv_rows(text) if path.suffix.lower() == ".csv" else _jsonl_rows(text)


def labelled_conversations(path: Path) -> set[str]:
    """The conversation ids a labels file names (before any label is read: to find their workspace)."""
    _, rows = _rows(path)
    return {
        str(row["conversation_id"]).strip() for _, row, problem in rows if not problem and row.get("conversation_id")
    }


def read_labels(path: Path, metric: MetricDefinition) -> LabelSet:
    """Read a labels file for ``metric``; lines that cannot be read are refused with their reason."""
    digest, rows = _rows(path)
    result = LabelSet(str(path), digest)
    seen: set[tuple[str, str]] = set()
    for line, row, problem in rows:
        if problem is None:
            try:
                label = _label(metric, line, row)
            except ValueError as exc:
                problem = str(exc)
            else:
                if (label.conversation_id, label.rater) in seen:
                    problem = (
                        f"conversation '{label.conversation_id}' is labelled twice"
                        + (f" by rater '{label.rater}'" if label.rater else "")
                        + " (give each label a rater to label a conversation more than once)"
                    )
                else:
                    seen.add((label.conversation_id, label.rater))
                    result.labels.append(label)
                    continue
        result.refused.append((line, problem))
    return result


def _label(metric: MetricDefinition, line: int, row: dict[str, Any]) -> Label:
    conversation_id = row.get("conversation_id")
    if not isinstance(conversation_id, str | int) or not str(conversation_id).strip():
        raise ValueError("conversation_id is missing")
    if "expected" not in row:
        raise ValueError("expected is missing (null or empty means: no value expected)")
    rater = row.get("rater")
    expected = parse_expected(metric, row["expected"])
    return Label(line, str(conversation_id).strip(), expected, str(rater).strip() if rater is not None else "")


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, {}, f"not JSON ({exc.msg})"
            continue
        if not isinstance(row, dict):
            yield number, {}, "not a JSON object"
            continue
        yield number, row, None


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames:  # a header's names in any case, with spaces around them ("Conversation_ID, Expected")
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    missing = {"conversation_id", "expected"} - set(reader.fieldnames or [])
    if missing:
        yield 1, {}, f"the header has no {' or '.join(sorted(missing))} column"
        return
    width = len(reader.fieldnames or [])
    for row in reader:
        if None in row:  # DictReader's restkey: more fields than the header names
            yield reader.line_num, {}, f"{width + len(row[None])} fields where the header names {width}"
        elif any(value is None for value in row.values()):  # its restval: fewer
            given = sum(value is not None for value in row.values())
            yield reader.line_num, {}, f"{given} fields where the header names {width}"
        else:
            yield reader.line_num, row, None
