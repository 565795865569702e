"""Metric definitions: the pydantic model, the one loader, and every validation rule (CONTRACT §4).

A definition is data. Files live under ``builtin/`` (shipped) and ``workspaces/<ws>/`` (custom).
Every problem is reported at once as a :class:`DefinitionError` naming file, metric key and field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

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

# Envelope fields a static extract_path may name directly (`$.channel`); everything else is under `$.data`.
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

# The JSON-path subset DuckDB's json_extract understands: $.name, $."any name", [N], [*].
_JSON_PATH = re.compile(r'^\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\."(?:[^"\\]|\\.)+"|\[(?:\d+|\*)\])+$')


class ClassLabel(BaseModel):
    """One label of an ``ai_classify`` metric."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=2000)
    examples: list[str] = Field(default_factory=list)


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
        default=None, description="Required, except for `ratio` metrics, which are derived."
    )
    model_tier: ModelTier = "free"
    ai_query_prompt: str | None = Field(default=None, max_length=8000)
    ai_labels: list[Label] | None = Field(
        default=None,
        description="ai_classify: labels (a string or {name, description, examples}); "
        "ai_extract: fields {name, type, description}.",
    )
    extract_path: str | None = Field(
        default=None, description="JSON path into the event, e.g. `$.data.duration` or `$.channel`."
    )
    sql_expr: str | None = Field(
        default=None, description="Built-ins only: a DuckDB expression over the event columns."
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

    @model_validator(mode="after")
    def _check_consistency(self) -> MetricDefinition:
        # Each rule raises its own message; pydantic collects one per definition, so list them all here.
        problems: list[tuple[str, str]] = []
        mode = self.extraction_mode
        if self.aggregation == "ratio":
            if self.ratio_of is None:
                problems.append(("ratio_of", "aggregation 'ratio' needs ratio_of {numerator, denominator}"))
            if mode is not None:
                problems.append(("extraction_mode", "a ratio metric is derived and takes no extraction_mode"))
        else:
            if self.ratio_of is not None:
                problems.append(("ratio_of", "ratio_of is only used with aggregation 'ratio'"))
            if mode is None:
                problems.append(("extraction_mode", "extraction_mode is required"))
        if self.aggregation not in AGGREGATIONS_BY_TYPE[self.metric_type]:
            allowed = ", ".join(sorted(AGGREGATIONS_BY_TYPE[self.metric_type]))
            problems.append(
                ("aggregation", f"'{self.aggregation}' does not apply to {self.metric_type} (use {allowed})")
            )
        if mode == "static":
            if not self.extract_path:
                problems.append(("extract_path", "static extraction needs extract_path"))
        elif self.extract_path is not None:
            problems.append(("extract_path", "extract_path is only used by extraction_mode 'static'"))
        path = self.extract_path
        if path and not _JSON_PATH.fullmatch(path):  # fullmatch: `$` alone would accept a trailing newline
            problems.append(("extract_path", f"'{path}' is not a JSON path like $.data.field or $.data.list[0]"))
        elif path and not (re.match(r"^\$\.data(?=$|[.\[])", path) or path[2:] in ENVELOPE_FIELDS):
            problems.append(
                (
                    "extract_path",
                    f"'{path}' must read under $.data or name an envelope field ({', '.join(ENVELOPE_FIELDS)})",
                )
            )
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
        if problems:
            raise ValueError(" | ".join(f"{f}: {m}" for f, m in problems))
        return self

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
            names = self.label_names
            duplicated = sorted({n for n in names if names.count(n) > 1})
            if duplicated:
                return [("ai_labels", f"duplicate labels: {', '.join(duplicated)}")]
        return []

    @property
    def label_names(self) -> list[str]:
        return [item if isinstance(item, str) else item.name for item in self.ai_labels or []]

    @property
    def is_ai(self) -> bool:
        return self.extraction_mode in AI_MODES

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
        }
        if self.is_ai:  # the model reads the name and description, so they change its answers
            value_fields |= {"name", "description"}
        payload = self.model_dump(mode="json", include=value_fields)
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return "v" + digest[:12]


class WebhookSettings(BaseModel):
    """Where a workspace's post-call webhook goes (Standard Webhooks, secret ``whsec_…``)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://")
    secret: str = Field(pattern=r"^whsec_[A-Za-z0-9+/=]+$")


class WorkspaceSettings(BaseModel):
    """``workspaces/<ws>/workspace.yaml``."""

    model_config = ConfigDict(extra="forbid")
    default_metrics_enabled: bool = True
    webhook: WebhookSettings | None = None


class DefinitionFile(BaseModel):
    """The shape of a definition file: one definition, or a ``metrics:`` list (for the JSON Schema)."""

    model_config = ConfigDict(extra="forbid")
    metrics: list[MetricDefinition]


@dataclass(frozen=True)
class DefinitionError:
    """One problem in one definition, located by file, metric key and field."""

    file: str
    key: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.field}: {self.message}"


class DefinitionsInvalid(Exception):
    """Raised by :func:`load_catalog` when any definition is invalid; carries every error."""

    def __init__(self, errors: list[DefinitionError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class LoadedDefinition:
    definition: MetricDefinition
    file: str
    workspace_id: str | None  # None for built-ins

    @property
    def builtin(self) -> bool:
        return self.workspace_id is None


@dataclass
class MetricCatalog:
    """Every definition, built-in and custom, and each workspace's settings."""

    builtins: list[LoadedDefinition] = field(default_factory=list)
    custom: dict[str, list[LoadedDefinition]] = field(default_factory=dict)
    settings: dict[str, WorkspaceSettings] = field(default_factory=dict)

    @property
    def workspaces(self) -> list[str]:
        return sorted(set(self.custom) | set(self.settings))

    def settings_for(self, workspace_id: str) -> WorkspaceSettings:
        return self.settings.get(workspace_id, WorkspaceSettings())

    def definitions_for(self, workspace_id: str, *, include_inactive: bool = False) -> list[LoadedDefinition]:
        """The metrics that apply to a workspace: built-ins (less the post-call defaults when the
        workspace turned them off) and its custom metrics."""
        defaults_on = self.settings_for(workspace_id).default_metrics_enabled
        chosen = [d for d in self.builtins if defaults_on or not d.definition.post_call_default]
        chosen += self.custom.get(workspace_id, [])
        return [d for d in chosen if include_inactive or d.definition.active]

    def all_definitions(self) -> list[LoadedDefinition]:
        return self.builtins + [d for ws in sorted(self.custom) for d in self.custom[ws]]


def _read_yaml(path: Path, errors: list[DefinitionError], rel: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        errors.append(DefinitionError(rel, "-", "-", f"not valid YAML{where}: {problem}"))
    except UnicodeDecodeError as exc:
        errors.append(DefinitionError(rel, "-", "-", f"not UTF-8 text: {exc.reason}"))
    return None


def _definitions_in(raw: Any, rel: str, errors: list[DefinitionError]) -> Iterable[tuple[str, Any]]:
    """Yield (label, raw definition) pairs from one file's content."""
    if raw is None:
        return
    if isinstance(raw, dict) and set(raw) == {"metrics"}:
        items = raw["metrics"]
        if not isinstance(items, list):
            errors.append(DefinitionError(rel, "-", "metrics", "must be a list of definitions"))
            return
        for index, item in enumerate(items):
            yield (str(item.get("key")) if isinstance(item, dict) and item.get("key") else f"#{index}"), item
    elif isinstance(raw, dict):
        yield (str(raw.get("key")) if raw.get("key") else "#0"), raw
    else:
        errors.append(DefinitionError(rel, "-", "-", "a definition file holds a mapping or a `metrics:` list"))


def _validation_errors(exc: ValidationError, rel: str, key: str) -> list[DefinitionError]:
    found = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "-"
        message = str(err["msg"]).removeprefix("Value error, ")
        if loc == "-" and err["type"] == "value_error":
            # Our model validator packs "field: message | field: message".
            for part in message.split(" | "):
                fld, _, msg = part.partition(": ")
                found.append(DefinitionError(rel, key, fld, msg))
            continue
        found.append(DefinitionError(rel, key, loc, message))
    return found


def _parse_file(path: Path, errors: list[DefinitionError], workspace_id: str | None) -> list[LoadedDefinition]:
    rel = str(path)
    loaded = []
    for label, raw in _definitions_in(_read_yaml(path, errors, rel), rel, errors):
        if not isinstance(raw, dict):
            errors.append(DefinitionError(rel, label, "-", "a definition is a mapping of fields"))
            continue
        # Checked on the raw mapping so it is reported together with the definition's other errors.
        custom_sql = workspace_id is not None and raw.get("extraction_mode") == "sql_expr"
        if custom_sql:
            errors.append(DefinitionError(rel, label, "extraction_mode", "sql_expr is for built-in metrics only"))
        custom_default = workspace_id is not None and raw.get("post_call_default") is True
        if custom_default:
            errors.append(
                DefinitionError(rel, label, "post_call_default", "only built-in metrics are post-call defaults")
            )
        try:
            definition = MetricDefinition.model_validate(raw)
        except ValidationError as exc:
            errors.extend(_validation_errors(exc, rel, label))
            continue
        if custom_sql or custom_default:
            continue
        loaded.append(LoadedDefinition(definition, rel, workspace_id))
    return loaded


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _check_catalog(catalog: MetricCatalog, errors: list[DefinitionError]) -> None:
    builtin_keys = {d.definition.key: d for d in catalog.builtins}
    _check_unique(catalog.builtins, {}, errors)
    _check_ratios(catalog.builtins, builtin_keys, errors)
    for ws, defs in catalog.custom.items():
        _check_unique(defs, builtin_keys, errors)
        if len(defs) > MAX_CUSTOM_METRICS:
            last = defs[MAX_CUSTOM_METRICS]
            errors.append(
                DefinitionError(
                    last.file,
                    last.definition.key,
                    "-",
                    f"workspace {ws} has {len(defs)} custom metrics; at most {MAX_CUSTOM_METRICS} are allowed",
                )
            )
        scope = builtin_keys | {d.definition.key: d for d in defs}
        _check_ratios(defs, scope, errors)


def _check_unique(
    defs: list[LoadedDefinition], reserved: dict[str, LoadedDefinition], errors: list[DefinitionError]
) -> None:
    seen: dict[str, LoadedDefinition] = dict(reserved)
    for d in defs:
        key = d.definition.key
        if key in seen:
            where = "a built-in metric" if seen[key].builtin and not d.builtin else seen[key].file
            errors.append(DefinitionError(d.file, key, "key", f"duplicate key: also defined in {where}"))
        else:
            seen[key] = d


def _check_ratios(
    defs: list[LoadedDefinition], scope: dict[str, LoadedDefinition], errors: list[DefinitionError]
) -> None:
    for d in defs:
        ratio = d.definition.ratio_of
        if ratio is None:
            continue
        for role in ("numerator", "denominator"):
            target = getattr(ratio, role)
            if target not in scope:
                errors.append(DefinitionError(d.file, d.definition.key, f"ratio_of.{role}", f"no metric '{target}'"))
            elif scope[target].definition.aggregation == "ratio":
                errors.append(
                    DefinitionError(d.file, d.definition.key, f"ratio_of.{role}", f"'{target}' is itself a ratio")
                )


def load_catalog(root: Path) -> MetricCatalog:
    """Load and validate every definition under ``root``; raise :class:`DefinitionsInvalid` listing all errors."""
    catalog, errors = collect_catalog(root)
    if errors:
        raise DefinitionsInvalid(errors)
    return catalog


def collect_catalog(root: Path) -> tuple[MetricCatalog, list[DefinitionError]]:
    """Load every definition that parses under ``root`` and return it with every error found, the
    catalog-wide ones (duplicate keys, limits, ratio targets) included; use :func:`load_catalog` to run."""
    errors: list[DefinitionError] = []
    catalog = MetricCatalog()
    if not root.is_dir():
        errors.append(DefinitionError(str(root), "-", "-", "metric definitions folder not found"))
        return catalog, errors
    for path in _yaml_files(root / "builtin"):
        catalog.builtins += _parse_file(path, errors, None)
    workspaces = root / "workspaces"
    for ws_dir in sorted(p for p in workspaces.iterdir() if p.is_dir()) if workspaces.is_dir() else []:
        ws = ws_dir.name
        custom: list[LoadedDefinition] = []
        for path in _yaml_files(ws_dir):
            if path.name == "workspace.yaml" and path.parent == ws_dir:
                _load_settings(path, ws, catalog, errors)
            else:
                custom += _parse_file(path, errors, ws)
        catalog.custom[ws] = custom
    _check_catalog(catalog, errors)
    return catalog, errors


def _load_settings(path: Path, ws: str, catalog: MetricCatalog, errors: list[DefinitionError]) -> None:
    rel = str(path)
    raw = _read_yaml(path, errors, rel) or {}
    try:
        catalog.settings[ws] = WorkspaceSettings.model_validate(raw)
    except ValidationError as exc:
        errors.extend(_validation_errors(exc, rel, "workspace"))


def definition_file_schema() -> dict[str, Any]:
    """JSON Schema for a definition file: one definition or a ``metrics:`` list."""
    single = MetricDefinition.model_json_schema()
    listed = DefinitionFile.model_json_schema()
    defs = {**single.pop("$defs", {}), **listed.pop("$defs", {})}
    defs["MetricDefinition"] = single
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://metricstore.dev/schema/metric-definitions.json",
        "title": "metricstore metric definition file",
        "anyOf": [{"$ref": "#/$defs/MetricDefinition"}, {**listed, "title": "DefinitionFile"}],
        "$defs": defs,
    }
