"""Metric definitions: the pydantic models and every rule on a single definition's fields (CONTRACT §4), and the
post-call shape a custom metric may be given in.

A definition is data. Reading the files under ``metric_defs/``, the checks across a set of definitions and the
catalog they make live in :mod:`metricstore.catalog_loader`; a workspace's settings file, in
:mod:`metricstore.settings_schema`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from functools import cached_property
from typing import Annotated, Any, Literal

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

SOURCES = (
    "call_intelligence",
    "world_events",
    "surface_events",
    "emotion_events",
    "connector_events",
    "voice_judge_results",
)
Source = Literal[
    "call_intelligence",
    "world_events",
    "surface_events",
    "emotion_events",
    "connector_events",
    "voice_judge_results",
]
MetricType = Literal["numerical", "categorical", "boolean", "text", "list"]
ExtractionMode = Literal["static", "ai_classify", "ai_extract", "ai_sentiment", "ai_query", "sql_expr"]
ModelTier = Literal["free", "fast", "balanced", "max"]
Aggregation = Literal["count", "sum", "avg", "min", "max", "count_distinct", "ratio", "rate"]
ChannelScope = Literal["all", "voice", "text", "surface", "inbound", "outbound"]
ExtractFieldType = Literal["date", "time", "datetime", "amount", "number", "id", "email", "phone", "name", "text"]

AI_MODES = frozenset({"ai_classify", "ai_extract", "ai_sentiment", "ai_query"})
MAX_CUSTOM_METRICS = 50
MAX_LABELS = 200  # labels (or extract fields) of one metric
MAX_EXAMPLES = 20  # examples of one label
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"

# Which aggregations make sense for which value type; `ratio` is derived from two other metrics.
AGGREGATIONS_BY_TYPE: dict[str, frozenset[str]] = {
    "numerical": frozenset({"count", "sum", "avg", "min", "max", "count_distinct", "ratio"}),
    "categorical": frozenset({"count", "count_distinct"}),
    "boolean": frozenset({"count", "rate"}),
    "text": frozenset({"count", "count_distinct"}),
    "list": frozenset({"count"}),
}

# Only parses prompts (syntax check); rendering happens in the evaluator's own sandbox.
_PROMPT_SYNTAX = SandboxedEnvironment()

# The envelope of every event, and so columns of every value: what `channel_scope` filters on and what a
# built-in sql_expr may read. An extract_path never names them: it reads the event's `data` object.
ENVELOPE_FIELDS = (
    "event_id",
    "source",
    "event_type",
    "workspace_id",
    "occurred_at",
    "session_id",
    "service_id",
    "channel",
    "direction",
    "is_simulation",
)

# The JSON-path subset read from `data`: $.name, $."any name", [N]. No wildcard: DuckDB's json_extract takes
# one wildcard path at a time, not in the list of paths that reads every metric from one parse.
_JSON_PATH = re.compile(r'^\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\."(?:[^"\\]|\\.)+"|\[\d+\])+$')
_WILDCARD = re.compile(r"\[\*\]|\.\*")
# Fields that only mean something for one extraction mode: a ratio, derived, takes none of them.
MODE_FIELDS = ("extract_path", "sql_expr", "ai_query_prompt", "ai_labels")


class ClassLabel(BaseModel):
    """One label of an ``ai_classify`` metric."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=2000)
    examples: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=MAX_EXAMPLES)


class ExtractField(BaseModel):
    """One typed field of an ``ai_extract`` metric."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    type: ExtractFieldType
    description: str = Field(default="", max_length=2000)


def _label_kind(item: Any) -> str:
    if isinstance(item, str):
        return "label_name"
    if isinstance(item, ExtractField) or (isinstance(item, dict) and "type" in item):
        return "field"
    return "label"


# A dict with `type` is an extract field, any other dict a label: one clear error per bad item.
Label = Annotated[
    Annotated[str, Tag("label_name")] | Annotated[ClassLabel, Tag("label")] | Annotated[ExtractField, Tag("field")],
    Discriminator(_label_kind),
]


# Calibration (metricstore/calibration): the agreement figures of each metric type, and which one a gate compares
# with its minimum unless it names another. MAE is an error, not an agreement: gates use the others.
CALIBRATION_MEASURES: dict[str, tuple[str, ...]] = {
    "categorical": ("accuracy", "macro_f1", "kappa"),
    "boolean": ("precision", "recall", "f1", "kappa"),
    "numerical": ("mae", "spearman", "within_range"),
    "list": ("set_precision", "set_recall", "set_f1"),
    "text": ("exact_match",),
}
DEFAULT_GATE_MEASURE = {
    "categorical": "kappa",
    "boolean": "kappa",
    "numerical": "spearman",
    "list": "set_f1",
    "text": "exact_match",
}
SIGNED_MEASURES = frozenset({"kappa", "spearman"})  # in [-1, 1]; the others are shares in [0, 1]
_LABELS_PATH = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.(?:/|$))[\w./ -]+\.(?:jsonl|csv)$")


class CalibrationGate(BaseModel):
    """A labelled set and the least agreement a definition version must reach on it to go live."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: str = Field(
        max_length=512,
        description="A labels file (JSONL or CSV of conversation_id, expected[, rater]), relative to the "
        "workspace's definitions folder (metric_defs/workspaces/<ws>/), e.g. labels/contact_reason.jsonl.",
    )
    min_agreement: float = Field(
        ge=-1, le=1, description="The least the measure must reach (its point estimate) for the version to go live."
    )
    measure: str | None = Field(
        default=None,
        description="The agreement figure compared: kappa for categorical and boolean metrics, spearman for "
        "numerical, set_f1 for lists, exact_match for text unless named.",
    )
    min_labelled: int = Field(
        default=30,
        ge=1,
        le=1_000_000,
        description="The least number of labelled conversations the measure must stand on (its n) for the version "
        "to go live. Below 30, a figure's bootstrap interval is commonly wider than ±0.15, and two right labels "
        "would meet any minimum.",
    )

    @field_validator("labels")
    @classmethod
    def _relative_labels_file(cls, value: str) -> str:
        if not _LABELS_PATH.fullmatch(value):
            raise ValueError(
                "a .jsonl or .csv file relative to the workspace's definitions folder, without '..' "
                "(e.g. labels/contact_reason.jsonl)"
            )
        return value

    def measure_for(self, metric_type: str) -> str:
        return self.measure or DEFAULT_GATE_MEASURE[metric_type]

    def settings(self) -> str:
        """The gate as JSON, to tell whether a verdict was reached on this gate: changing it keeps the version."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

    def verdict_is_current(self, checked: str | None) -> bool:
        """Whether a verdict reached on the gate ``checked`` (its :meth:`settings`) holds for this one; a verdict
        stored before the settings were recorded (None) is taken as current until the next run rewrites it."""
        return checked is None or checked == self.settings()


class RatioOf(BaseModel):
    """The two metrics whose period aggregates form a ``ratio``."""

    model_config = ConfigDict(extra="forbid")
    numerator: str = Field(pattern=KEY_PATTERN, max_length=64)
    denominator: str = Field(pattern=KEY_PATTERN, max_length=64)


class MetricDefinition(BaseModel):
    """One metric, with the fields of the metric-store settings API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_PATTERN, max_length=64)
    name: str = Field(min_length=1, max_length=256)
    description: str = Field(default="", max_length=2000)
    metric_type: MetricType
    source: Source = "call_intelligence"
    event_types: list[str] = Field(
        default_factory=list, description="Event types read; empty means every event type of the source."
    )
    extraction_mode: ExtractionMode | None = Field(
        default=None,
        description="Required, except for `ratio` metrics: those are derived from `ratio_of` whatever mode they name.",
    )
    model_tier: ModelTier = "free"
    ai_query_prompt: str | None = Field(default=None, max_length=8000)
    ai_labels: list[Label] | None = Field(
        default=None,
        max_length=MAX_LABELS,
        description="ai_classify: labels (a string or {name, description, examples}); "
        "ai_extract: fields {name, type, description}.",
    )
    extract_path: str | None = Field(
        default=None,
        description="JSON path into the event's `data` object, e.g. `$.quality_score` or `$.transcription[0].role`.",
    )
    sql_expr: str | None = Field(
        default=None,
        description="Built-ins only: a DuckDB expression over the event columns (`data`, `channel`, `direction`, …).",
    )
    aggregation: Aggregation = "count"
    ratio_of: RatioOf | None = None
    unit: str | None = Field(default=None, max_length=32)
    period_granularity: Literal["hourly", "daily"] = "hourly"
    channel_scope: ChannelScope = "all"
    valid_range_min: float | None = None
    valid_range_max: float | None = None
    is_required: bool = False
    active: bool = True
    post_call_default: bool = Field(
        default=False,
        description="One of the 12 default post-call metrics; a workspace's `default_metrics_enabled: false` "
        "turns these off.",
    )
    min_confidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="AI metrics with a confidence (the free tier always; Claude tiers with confidence_samples): a "
        "value whose confidence is below this gets the status low_confidence (kept, left out of aggregates).",
    )
    confidence_samples: int | None = Field(
        default=None,
        ge=2,
        le=5,
        description="Claude tiers: ask each conversation this many times and give the most frequent answer, its "
        "confidence the share of answers that agree with it. Each answer is a billed call: unset, a metric is "
        "asked once and carries no confidence.",
    )
    calibration: CalibrationGate | None = Field(
        default=None,
        description="AI metrics: a labelled set and a minimum agreement; a version below it is not live (its "
        "values are kept but not aggregated or delivered) until a calibration passes.",
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> MetricDefinition:
        # Each rule raises its own message; pydantic collects one per definition, so list them all here.
        problems = self._check_ratio() if self.aggregation == "ratio" else self._check_mode()
        if self.aggregation not in AGGREGATIONS_BY_TYPE[self.metric_type]:
            allowed = ", ".join(sorted(AGGREGATIONS_BY_TYPE[self.metric_type]))
            problems.append(
                ("aggregation", f"'{self.aggregation}' does not apply to {self.metric_type} (use {allowed})")
            )
        wrong_source = [t for t in self.event_types if not t.startswith(f"{self.source}.")]
        if wrong_source:
            problems.append(
                ("event_types", f"{', '.join(wrong_source)} not of source {self.source} (want {self.source}.*)")
            )
        if self.ai_query_prompt:
            try:
                _PROMPT_SYNTAX.parse(self.ai_query_prompt)
            except TemplateSyntaxError as exc:
                problems.append(("ai_query_prompt", f"not a valid Jinja template (line {exc.lineno}: {exc.message})"))
        lo, hi = self.valid_range_min, self.valid_range_max
        if (lo is not None or hi is not None) and self.metric_type != "numerical":
            fld = "valid_range_min" if lo is not None else "valid_range_max"
            problems.append((fld, "valid ranges apply to numerical metrics only"))
        if lo is not None and hi is not None and lo > hi:
            problems.append(("valid_range_min", f"valid_range_min {lo} is greater than valid_range_max {hi}"))
        problems.extend(self._check_calibration())
        problems.extend(self._check_confidence())
        if problems:
            raise ValueError(" | ".join(f"{f}: {m}" for f, m in problems))
        return self

    def _check_confidence(self) -> list[tuple[str, str]]:
        problems = []
        if self.confidence_samples is not None and not (self.is_ai and self.model_tier != "free"):
            problems.append(("confidence_samples", "repeated answers are for Claude tiers: use fast, balanced or max"))
        gives_confidence = self.is_ai and (self.model_tier == "free" or self.confidence_samples is not None)
        if self.min_confidence is not None and not gives_confidence:
            problems.append(
                (
                    "min_confidence",
                    "the value has no confidence: min_confidence needs model_tier free, or confidence_samples on "
                    "a Claude tier",
                )
            )
        return problems

    def _check_calibration(self) -> list[tuple[str, str]]:
        gate = self.calibration
        if gate is None:
            return []
        if not self.is_ai:
            return [("calibration", "a calibration gate measures AI answers: only ai_* metrics take one")]
        measures = [m for m in CALIBRATION_MEASURES[self.metric_type] if m != "mae"]
        measure = gate.measure_for(self.metric_type)
        if measure not in measures:
            return [
                ("calibration.measure", f"'{measure}' is not a {self.metric_type} measure (use {', '.join(measures)})")
            ]
        if measure not in SIGNED_MEASURES and gate.min_agreement < 0:
            return [("calibration.min_agreement", f"{measure} is a share in [0, 1]: min_agreement must be too")]
        return []

    def _check_ratio(self) -> list[tuple[str, str]]:
        # The docs mark extraction_mode required, so a ratio may name one; it computes nothing with it.
        problems = [
            (fld, f"a ratio metric is derived from ratio_of and takes no {fld}")
            for fld in MODE_FIELDS
            if getattr(self, fld) is not None
        ]
        if self.ratio_of is None:
            problems.append(("ratio_of", "aggregation 'ratio' needs ratio_of {numerator, denominator}"))
        if self.model_tier != "free":
            problems.append(("model_tier", "a ratio metric is derived and asks no model: model_tier must be free"))
        return problems

    def _check_mode(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        mode = self.extraction_mode
        if self.ratio_of is not None:
            problems.append(("ratio_of", "ratio_of is only used with aggregation 'ratio'"))
        if mode is None:
            problems.append(("extraction_mode", "extraction_mode is required"))
        if mode == "static":
            if not self.extract_path:
                problems.append(("extract_path", "static extraction needs extract_path"))
        elif self.extract_path is not None:
            problems.append(("extract_path", "extract_path is only used by extraction_mode 'static'"))
        path = self.extract_path
        if path and _WILDCARD.search(path):
            problems.append(
                (
                    "extract_path",
                    f"'{path}' has a wildcard, which extraction cannot read: name one element ($.list[0].field) "
                    "or the whole list ($.list) for a list metric",
                )
            )
        elif path and not _JSON_PATH.fullmatch(path):  # fullmatch: `$` alone would accept a trailing newline
            problems.append(("extract_path", f"'{path}' is not a JSON path into data like $.field, $.a.b or $.list[0]"))
        if mode == "sql_expr":
            if not (self.sql_expr and self.sql_expr.strip()):
                problems.append(("sql_expr", "extraction_mode 'sql_expr' needs sql_expr"))
        elif self.sql_expr is not None:
            problems.append(("sql_expr", "sql_expr is only used by extraction_mode 'sql_expr'"))
        if mode in AI_MODES:
            if mode == "ai_query":
                if not (self.ai_query_prompt and self.ai_query_prompt.strip()):
                    problems.append(("ai_query_prompt", "ai_query needs ai_query_prompt"))
                if self.model_tier == "free":
                    problems.append(("model_tier", "ai_query needs an LLM tier (fast, balanced or max)"))
        else:
            if self.ai_query_prompt is not None:
                problems.append(("ai_query_prompt", "ai_query_prompt is only used by ai_* extraction modes"))
            if self.model_tier != "free":
                problems.append(("model_tier", f"extraction_mode '{mode}' runs locally: model_tier must be free"))
        problems.extend(self._check_labels())
        return problems

    def _check_labels(self) -> list[tuple[str, str]]:
        mode, labels = self.extraction_mode, self.ai_labels
        if mode == "ai_classify":
            if not labels:
                return [("ai_labels", "ai_classify needs ai_labels")]
            if any(isinstance(item, ExtractField) for item in labels):
                return [("ai_labels", "ai_classify labels are strings or {name, description, examples}")]
            if len(labels) < 2:
                return [("ai_labels", "ai_classify needs at least two labels")]
            if self.metric_type not in ("categorical", "list"):
                return [("metric_type", "ai_classify gives categorical (or list) values")]
        elif mode == "ai_extract":
            if not labels:
                return [("ai_labels", "ai_extract needs ai_labels: a list of {name, type, description}")]
            if not all(isinstance(item, ExtractField) for item in labels):
                return [("ai_labels", "ai_extract fields are {name, type, description}")]
        elif labels is not None and mode != "ai_sentiment":
            return [("ai_labels", "ai_labels are only used by ai_classify, ai_extract and ai_sentiment")]
        if labels:
            duplicated = sorted(name for name, n in Counter(self.label_names).items() if n > 1)
            if duplicated:
                return [("ai_labels", f"duplicate labels: {', '.join(duplicated)}")]
        return []

    @property
    def label_names(self) -> list[str]:
        return [item if isinstance(item, str) else item.name for item in self.ai_labels or []]

    @property
    def computed_mode(self) -> ExtractionMode | None:
        """The mode that computes this metric's values: its extraction_mode, or None for a ratio, which is
        derived from two other metrics' aggregates whatever mode it names. Select metrics by this, not the field."""
        return None if self.aggregation == "ratio" else self.extraction_mode

    @property
    def is_ai(self) -> bool:
        return self.computed_mode in AI_MODES

    @cached_property  # the model is frozen: computed once per definition, read for every value and cache key
    def definition_version(self) -> str:
        """A digest of exactly the fields that change the values this metric produces."""
        value_fields = {
            "metric_type",
            "source",
            "event_types",
            "extraction_mode",
            "model_tier",
            "ai_query_prompt",
            "ai_labels",
            "extract_path",
            "sql_expr",
            "channel_scope",
            "valid_range_min",
            "valid_range_max",
            "min_confidence",  # like the range, it decides a value's status
            "confidence_samples",  # the value is the most frequent of several answers
        }
        if self.is_ai:  # the model reads the name and description, so they change its answers
            value_fields |= {"name", "description"}
        payload = self.model_dump(mode="json", include=value_fields)
        payload["extraction_mode"] = self.computed_mode  # a ratio's named mode changes none of its values
        for added_later in ("min_confidence", "confidence_samples"):  # unset, existing versions stay as they were
            if payload[added_later] is None:
                del payload[added_later]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return "v" + digest[:12]

    def stored_form(self) -> dict[str, Any]:
        """The definition as it is written to YAML or JSON: every field that differs from its default, and always
        key, name, metric_type and (when set) extraction_mode. Validating it gives an equal definition."""
        rest = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        named = {"key": self.key, "name": self.name, "metric_type": self.metric_type}
        if self.extraction_mode is not None:
            named["extraction_mode"] = self.extraction_mode
        return named | rest


# The post-call configuration's value types, and what each becomes in the metric store.
POST_CALL_DATA_TYPES: dict[str, tuple[MetricType, Aggregation]] = {
    "number": ("numerical", "avg"),
    "string": ("text", "count"),
    "boolean": ("boolean", "rate"),
    "array": ("list", "count"),
}
# Fields only the post-call shape has: any of them marks a mapping as that shape.
POST_CALL_MARKERS = frozenset({"dataType", "prompt", "isRequired"})
# Metric-store fields as the post-call shape names them, so an error names the user's own field.
POST_CALL_NAMES = {"key": "name", "metric_type": "dataType", "ai_query_prompt": "prompt", "is_required": "isRequired"}
# What a settings API GET returns beside the definition; sent back, they are ignored.
READ_ONLY_FIELDS = frozenset({"builtin", "definition_version", "gate"})


class PostCallMetric(BaseModel):
    """A custom metric in the post-call configuration shape: an ``ai_query`` metric keyed by its name."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1,
        max_length=256,
        description="Also the key, in snake_case (`Product Interest` → `product_interest`).",
    )
    data_type: Literal["string", "number", "boolean", "array"] = Field(
        alias="dataType",
        description="number → numerical (avg), string → text (count), boolean → boolean (rate), array → list (count).",
    )
    prompt: str = Field(min_length=1, max_length=8000, description="The ai_query_prompt, a Jinja template.")
    is_required: bool = Field(default=False, alias="isRequired")
    description: str = Field(default="", max_length=2000)
    model_tier: ModelTier = Field(default="fast", description="ai_query asks a model: fast unless set.")

    def as_definition(self, key: str) -> dict[str, Any]:
        """The same metric in the metric-store shape (still to be validated as a :class:`MetricDefinition`)."""
        metric_type, aggregation = POST_CALL_DATA_TYPES[self.data_type]
        return {
            "key": key,
            "name": self.name,
            "description": self.description,
            "metric_type": metric_type,
            "extraction_mode": "ai_query",
            "model_tier": self.model_tier,
            "ai_query_prompt": self.prompt,
            "aggregation": aggregation,
            "is_required": self.is_required,
        }


def snake_key(name: str) -> str | None:
    """The metric key a post-call name gives (``Product Interest`` → ``product_interest``), or None when none
    can be made of it."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_name).lower()  # productInterest: two words
    key = re.sub(r"[\s\-]+", "_", words)
    key = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "", key)).strip("_")
    return key if re.fullmatch(KEY_PATTERN, key) and len(key) <= 64 else None
