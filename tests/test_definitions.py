"""Metric definitions (CONTRACT §4): every validation rule, the loader, the CLI and definition_version."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from click.testing import CliRunner

from metricstore.catalog_loader import (
    DefinitionError,
    DefinitionFile,
    DefinitionsInvalid,
    LoadedDefinition,
    MetricCatalog,
    check_custom_definitions,
    collect_catalog,
    definition_file_schema,
    load_catalog,
)
from metricstore.cli import main
from metricstore.definitions import (
    AGGREGATIONS_BY_TYPE,
    ENVELOPE_FIELDS,
    MAX_CUSTOM_METRICS,
    SOURCES,
    Aggregation,
    MetricDefinition,
    snake_key,
)
from tests.conftest import DOCS_METRIC, REPO

REPO_DEFS = REPO / "metric_defs"
SCHEMA_PATH = REPO_DEFS / "schema" / "metric-definitions.schema.json"
WS = "ws_t"
CUSTOM_FILE = f"workspaces/{WS}/metrics.yaml"
BUILTIN_FILE = "builtin/metrics.yaml"

POST_CALL_DEFAULTS = {
    "summary",
    "intent",
    "sentiment",
    "confidence",
    "key_points",
    "action_items",
    "call_status",
    "callback_required",
    "promised_date",
    "self_evaluation",
    "follow_up_action",
    "ticket_raised",
}


# --------------------------------------------------------------------------------------------- helpers


def static(key: str = "m1", **fields: Any) -> dict[str, Any]:
    """A valid static numerical metric, with overrides (None removes a field)."""
    base: dict[str, Any] = {
        "key": key,
        "name": "Metric",
        "metric_type": "numerical",
        "extraction_mode": "static",
        "extract_path": "$.x",
        "aggregation": "avg",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def ai(mode: str, key: str = "a1", **fields: Any) -> dict[str, Any]:
    """A valid AI metric of the given mode, with overrides (None removes a field)."""
    base: dict[str, Any] = {"key": key, "name": "AI metric", "extraction_mode": mode, "model_tier": "fast"}
    if mode == "ai_query":
        base |= {"metric_type": "text", "aggregation": "count", "ai_query_prompt": "Summarise: {{ transcript }}"}
    elif mode == "ai_classify":
        base |= {"metric_type": "categorical", "aggregation": "count", "ai_labels": ["yes", "no"]}
    elif mode == "ai_extract":
        base |= {
            "metric_type": "text",
            "aggregation": "count",
            "ai_labels": [{"name": "due", "type": "date", "description": "The promised date"}],
        }
    else:
        base |= {"metric_type": "categorical", "aggregation": "count"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def ratio(key: str, numerator: str, denominator: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Ratio",
        "metric_type": "numerical",
        "aggregation": "ratio",
        "ratio_of": {"numerator": numerator, "denominator": denominator},
        **fields,
    }


def write(root: Path, rel: str, content: Any) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
    return path


def tree(root: Path, files: dict[str, Any]) -> Path:
    for rel, content in files.items():
        write(root, rel, content)
    return root


def collect(root: Path, files: dict[str, Any]) -> tuple[MetricCatalog, list[DefinitionError]]:
    return collect_catalog(tree(root, files))


def located(root: Path, errors: list[DefinitionError]) -> list[tuple[str, str, str]]:
    """(file relative to root, key, field) of each error."""
    return [(Path(e.file).relative_to(root).as_posix(), e.key, e.field) for e in errors]


def only_error(root: Path, definition: dict[str, Any], *, builtin: bool = False) -> DefinitionError:
    """Write one definition (custom unless builtin) and return its one error; nothing may load."""
    rel = BUILTIN_FILE if builtin else CUSTOM_FILE
    catalog, errors = collect(root, {rel: {"metrics": [definition]}})
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    assert error.file == str(root / rel)
    assert error.key == (definition.get("key") or "#0")
    assert not catalog.builtins and not catalog.custom.get(WS)
    return error


def loads(root: Path, definition: dict[str, Any], *, builtin: bool = False) -> MetricDefinition:
    """Write one definition and return it loaded, asserting no error."""
    rel = BUILTIN_FILE if builtin else CUSTOM_FILE
    catalog, errors = collect(root, {rel: {"metrics": [definition]}})
    assert errors == [], [str(e) for e in errors]
    loaded = catalog.builtins if builtin else catalog.custom[WS]
    assert [d.definition.key for d in loaded] == [definition["key"]]
    return loaded[0].definition


# ------------------------------------------------------------------------------------ key and lengths


def test_a_valid_custom_metric_loads(tmp_path: Path) -> None:
    definition = loads(tmp_path, static(unit="s", valid_range_min=0, valid_range_max=10))
    assert definition.model_tier == "free"
    assert definition.source == "call_intelligence"


@pytest.mark.parametrize("key", ["Bad", "1abc", "_abc", "a-b", "a b", "ab.c", "abé", "aB", "a\n", "ünder"])
def test_key_must_match_pattern(tmp_path: Path, key: str) -> None:
    error = only_error(tmp_path, static(key=key))
    assert error.field == "key"
    assert "pattern" in error.message


def test_empty_key_is_refused_and_named_by_position(tmp_path: Path) -> None:
    error = only_error(tmp_path, static(key=""))
    assert (error.key, error.field) == ("#0", "key")


def test_missing_key_is_refused(tmp_path: Path) -> None:
    error = only_error(tmp_path, static(key=None))
    assert (error.key, error.field, error.message) == ("#0", "key", "Field required")


@pytest.mark.parametrize("key", ["a", "a1", "a_b", "abc_123_", "x" * 64])
def test_valid_keys(tmp_path: Path, key: str) -> None:
    assert loads(tmp_path, static(key=key)).key == key


def test_key_longer_than_64_is_refused(tmp_path: Path) -> None:
    error = only_error(tmp_path, static(key="k" * 65))
    assert error.field == "key"
    assert "64" in error.message


@pytest.mark.parametrize(
    ("field", "limit", "make"),
    [
        ("name", 256, lambda v: static(name=v)),
        ("description", 2000, lambda v: static(description=v)),
        ("unit", 32, lambda v: static(unit=v)),
        ("ai_query_prompt", 8000, lambda v: ai("ai_query", ai_query_prompt=v)),
    ],
)
def test_length_limits(tmp_path: Path, field: str, limit: int, make: Any) -> None:
    assert len(getattr(loads(tmp_path / "ok", make("x" * limit)), field)) == limit
    error = only_error(tmp_path / "bad", make("x" * (limit + 1)))
    assert error.field == field
    assert str(limit) in error.message


def test_name_is_required_and_not_empty(tmp_path: Path) -> None:
    assert only_error(tmp_path / "a", static(name=None)).field == "name"
    assert only_error(tmp_path / "b", static(name="")).field == "name"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("metric_type", "float"),
        ("source", "twitter"),
        ("extraction_mode", "regex"),
        ("model_tier", "huge"),
        ("aggregation", "median"),
        ("period_granularity", "weekly"),
        ("channel_scope", "email"),
        ("is_required", "perhaps"),
        ("valid_range_min", "low"),
        ("event_types", "call_intelligence.row"),
    ],
)
def test_enumerations_and_types(tmp_path: Path, field: str, value: Any) -> None:
    assert only_error(tmp_path, static(**{field: value})).field == field


@pytest.mark.parametrize("field", ["colour", "extractPath", "ai_prompt", "ratio"])
def test_unknown_fields_are_refused(tmp_path: Path, field: str) -> None:
    error = only_error(tmp_path, static(**{field: "x"}))
    assert error.field == field
    assert "Extra inputs" in error.message


def label_errors(root: Path, definition: dict[str, Any], index: int) -> list[DefinitionError]:
    """Errors of an ai_labels item that matches no member of the label union. Pydantic reports one error
    per member (`ai_labels.N.str`, `ai_labels.N.ClassLabel.x`, `ai_labels.N.ExtractField.x`): accept that,
    but every error must name the file, the key and that item."""
    catalog, errors = collect(root, {CUSTOM_FILE: {"metrics": [definition]}})
    assert errors and not catalog.custom[WS]
    for e in errors:
        assert (e.file, e.key) == (str(root / CUSTOM_FILE), definition["key"])
        assert e.field == f"ai_labels.{index}" or e.field.startswith(f"ai_labels.{index}.")
    return errors


def test_unknown_fields_in_nested_objects_are_refused(tmp_path: Path) -> None:
    errors = label_errors(tmp_path / "a", ai("ai_classify", ai_labels=["a", {"name": "b", "colour": "red"}]), 1)
    assert any(e.field.endswith(".colour") and "Extra inputs" in e.message for e in errors)
    bad_ratio = ratio("r", "x", "y")
    bad_ratio["ratio_of"]["weight"] = 2
    assert only_error(tmp_path / "b", bad_ratio).field == "ratio_of.weight"


# ----------------------------------------------------------------------------------- 50 custom metrics


def test_at_most_50_custom_metrics_per_workspace(tmp_path: Path) -> None:
    fifty = [static(key=f"m{i:02d}") for i in range(MAX_CUSTOM_METRICS)]
    catalog, errors = collect(tmp_path / "ok", {CUSTOM_FILE: {"metrics": fifty}})
    assert errors == []
    assert len(catalog.custom[WS]) == 50

    root = tmp_path / "bad"
    catalog, errors = collect(root, {CUSTOM_FILE: {"metrics": [*fifty, static(key="m50")]}})
    assert located(root, errors) == [(CUSTOM_FILE, "m50", "-")]
    assert "51" in errors[0].message and "50" in errors[0].message and WS in errors[0].message


def test_custom_limit_counts_every_file_of_the_workspace_but_not_builtins_or_other_workspaces(
    tmp_path: Path,
) -> None:
    builtins = {BUILTIN_FILE: {"metrics": [static(key=f"b{i}") for i in range(60)]}}
    files = {
        **builtins,
        f"workspaces/{WS}/a.yaml": {"metrics": [static(key=f"a{i}") for i in range(30)]},
        f"workspaces/{WS}/b.yaml": {"metrics": [static(key=f"b_{i}") for i in range(21)]},
        "workspaces/ws_other/a.yaml": {"metrics": [static(key=f"a{i}") for i in range(50)]},
    }
    _, errors = collect(tmp_path, files)
    assert located(tmp_path, errors) == [(f"workspaces/{WS}/b.yaml", "b_20", "-")]


# ---------------------------------------------------------------------------------------------- sql_expr


def sql_metric(key: str = "s1", **fields: Any) -> dict[str, Any]:
    base = {"key": key, "extraction_mode": "sql_expr", "extract_path": None, "sql_expr": "1", "aggregation": "count"}
    return static(**(base | fields))


def test_sql_expr_is_refused_in_a_workspace(tmp_path: Path) -> None:
    error = only_error(tmp_path, sql_metric())
    assert error.field == "extraction_mode"
    assert "built-in" in error.message


def test_sql_expr_is_accepted_in_builtin(tmp_path: Path) -> None:
    assert loads(tmp_path, sql_metric(), builtin=True).sql_expr == "1"


def test_custom_sql_expr_is_reported_together_with_other_errors(tmp_path: Path) -> None:
    _, errors = collect(tmp_path, {CUSTOM_FILE: {"metrics": [sql_metric(model_tier="fast")]}})
    assert sorted(located(tmp_path, errors)) == [
        (CUSTOM_FILE, "s1", "extraction_mode"),
        (CUSTOM_FILE, "s1", "model_tier"),
    ]


@pytest.mark.parametrize("expr", [None, "", "   "])
def test_sql_expr_mode_needs_an_expression(tmp_path: Path, expr: str | None) -> None:
    assert only_error(tmp_path, sql_metric(sql_expr=expr), builtin=True).field == "sql_expr"


def test_sql_expr_only_with_sql_expr_mode(tmp_path: Path) -> None:
    assert only_error(tmp_path, static(sql_expr="1"), builtin=True).field == "sql_expr"


# ------------------------------------------------------------------------------------------ extract_path


@pytest.mark.parametrize(
    "path",
    [
        "$.x",
        "$.quality_score",
        "$.data",  # data.data: one path syntax, relative to data
        "$.a[0]",
        "$.a.b_c[12].D9",
        '$."odd key"',
        '$."with \\" quote"',
        "$[0]",
        '$."channel"',
        *[f"$.{name}" for name in ENVELOPE_FIELDS],  # keys of data that happen to share an envelope name
    ],
)
def test_good_extract_paths(tmp_path: Path, path: str) -> None:
    assert loads(tmp_path, static(extract_path=path, metric_type="text", aggregation="count")).extract_path == path


@pytest.mark.parametrize(
    "path",
    [
        "data.x",
        "$..x",
        "$.x.",
        "$",
        "$.",
        "$.x y",
        "$.a[-1]",
        "$.a[a]",
        "$.a[0",
        "$['data']",
        "$.x\n",
        " $.x",
        '$.""',
    ],
)
def test_bad_extract_paths(tmp_path: Path, path: str) -> None:
    error = only_error(tmp_path, static(extract_path=path))
    assert error.field == "extract_path"
    assert "not a JSON path into data" in error.message


@pytest.mark.parametrize("path", ["$.keyPoints[*].text", "$.keyPoints[*]", "$.*", "$.a.*.b"])
def test_wildcard_paths_are_refused_as_extraction_cannot_read_them(tmp_path: Path, path: str) -> None:
    error = only_error(tmp_path, static(extract_path=path, metric_type="list", aggregation="count"))
    assert error.field == "extract_path"
    assert "wildcard" in error.message and "$.list" in error.message


def test_static_needs_extract_path(tmp_path: Path) -> None:
    assert only_error(tmp_path, static(extract_path=None)).field == "extract_path"


def test_extract_path_only_for_static(tmp_path: Path) -> None:
    assert only_error(tmp_path, ai("ai_sentiment", extract_path="$.x")).field == "extract_path"


# -------------------------------------------------------------------------------------------- AI modes


@pytest.mark.parametrize("mode", ["ai_query", "ai_classify", "ai_extract", "ai_sentiment"])
def test_valid_ai_metrics_load(tmp_path: Path, mode: str) -> None:
    assert loads(tmp_path, ai(mode)).is_ai


@pytest.mark.parametrize("prompt", [None, "", "  \n "])
def test_ai_query_needs_a_prompt(tmp_path: Path, prompt: str | None) -> None:
    error = only_error(tmp_path, ai("ai_query", ai_query_prompt=prompt))
    assert error.field == "ai_query_prompt"


@pytest.mark.parametrize("tier", [None, "free"])
def test_ai_query_needs_a_non_free_tier(tmp_path: Path, tier: str | None) -> None:
    error = only_error(tmp_path, ai("ai_query", model_tier=tier))
    assert error.field == "model_tier"


@pytest.mark.parametrize("tier", ["fast", "balanced", "max"])
def test_ai_query_tiers(tmp_path: Path, tier: str) -> None:
    assert loads(tmp_path, ai("ai_query", model_tier=tier)).model_tier == tier


def test_ai_query_prompt_only_for_ai_modes(tmp_path: Path) -> None:
    assert only_error(tmp_path, static(ai_query_prompt="hi")).field == "ai_query_prompt"


@pytest.mark.parametrize(
    "labels",
    [
        ["yes", "no"],
        ["billing", {"name": "tech", "description": "Technical problems", "examples": ["it broke", "no signal"]}],
        [{"name": "a"}, {"name": "b", "examples": []}],
        ["a", "b", "c", "d"],
    ],
)
def test_ai_classify_labels(tmp_path: Path, labels: list[Any]) -> None:
    names = loads(tmp_path, ai("ai_classify", ai_labels=labels)).label_names
    assert names == [x if isinstance(x, str) else x["name"] for x in labels]


@pytest.mark.parametrize("labels", [None, [], ["only"], [{"name": "only", "description": "one"}]])
def test_ai_classify_needs_two_labels(tmp_path: Path, labels: list[Any] | None) -> None:
    assert only_error(tmp_path, ai("ai_classify", ai_labels=labels)).field == "ai_labels"


def test_ai_classify_refuses_extract_fields_and_duplicates(tmp_path: Path) -> None:
    fields = [{"name": "a", "type": "date"}, {"name": "b", "type": "text"}]
    assert only_error(tmp_path / "a", ai("ai_classify", ai_labels=fields)).field == "ai_labels"
    error = only_error(tmp_path / "b", ai("ai_classify", ai_labels=["a", {"name": "a"}]))
    assert (error.field, error.message) == ("ai_labels", "duplicate labels: a")


def test_ai_classify_label_items_must_be_named(tmp_path: Path) -> None:
    errors = label_errors(tmp_path, ai("ai_classify", ai_labels=["a", {"description": "no name"}]), 1)
    assert any(e.field.endswith(".name") and e.message == "Field required" for e in errors)


@pytest.mark.parametrize("metric_type", ["numerical", "boolean", "text"])
def test_ai_classify_gives_categorical_values(tmp_path: Path, metric_type: str) -> None:
    assert only_error(tmp_path, ai("ai_classify", metric_type=metric_type)).field == "metric_type"


def test_ai_classify_may_give_a_list(tmp_path: Path) -> None:
    assert loads(tmp_path, ai("ai_classify", metric_type="list")).metric_type == "list"


@pytest.mark.parametrize(
    "kind", ["date", "time", "datetime", "amount", "number", "id", "email", "phone", "name", "text"]
)
def test_ai_extract_field_types(tmp_path: Path, kind: str) -> None:
    labels = [{"name": "f", "type": kind, "description": "d"}]
    assert loads(tmp_path, ai("ai_extract", ai_labels=labels)).ai_labels[0].type == kind  # type: ignore[index,union-attr]


@pytest.mark.parametrize(
    "labels",
    [
        None,
        [],
        ["due", "amount"],
        [{"name": "due", "description": "no type"}],
        [{"name": "due", "description": "a class label", "examples": ["tomorrow"]}],
        [{"name": "due", "type": "date"}, "amount"],
    ],
)
def test_ai_extract_needs_typed_fields(tmp_path: Path, labels: list[Any] | None) -> None:
    assert only_error(tmp_path, ai("ai_extract", ai_labels=labels)).field == "ai_labels"


def test_ai_extract_field_type_from_the_allowed_set(tmp_path: Path) -> None:
    errors = label_errors(tmp_path, ai("ai_extract", ai_labels=[{"name": "f", "type": "weird"}]), 0)
    assert any(e.field.endswith(".type") and "'date'" in e.message and "'text'" in e.message for e in errors)


def test_ai_extract_duplicate_field_names(tmp_path: Path) -> None:
    labels = [{"name": "f", "type": "date"}, {"name": "f", "type": "text"}]
    assert only_error(tmp_path, ai("ai_extract", ai_labels=labels)).message == "duplicate labels: f"


def test_ai_labels_only_for_label_modes(tmp_path: Path) -> None:
    assert only_error(tmp_path / "a", static(ai_labels=["a", "b"])).field == "ai_labels"
    assert only_error(tmp_path / "b", ai("ai_query", ai_labels=["a", "b"])).field == "ai_labels"
    assert loads(tmp_path / "c", ai("ai_sentiment", ai_labels=["positive", "negative"])).label_names


@pytest.mark.parametrize("mode", ["static", "sql_expr"])
@pytest.mark.parametrize("tier", ["fast", "balanced", "max"])
def test_local_modes_need_free_tier(tmp_path: Path, mode: str, tier: str) -> None:
    definition = static(model_tier=tier) if mode == "static" else sql_metric(model_tier=tier)
    error = only_error(tmp_path, definition, builtin=True)
    assert error.field == "model_tier"


# ------------------------------------------------------------------------------------------ aggregation

ALL_AGGREGATIONS = get_args(Aggregation)
INCOMPATIBLE = [(t, a) for t, allowed in AGGREGATIONS_BY_TYPE.items() for a in ALL_AGGREGATIONS if a not in allowed]
COMPATIBLE = [(t, a) for t, allowed in AGGREGATIONS_BY_TYPE.items() for a in sorted(allowed) if a != "ratio"]


def typed(metric_type: str, aggregation: str) -> dict[str, Any]:
    if aggregation == "ratio":
        return ratio("m1", "x", "y", metric_type=metric_type)
    return static(metric_type=metric_type, aggregation=aggregation)


def test_aggregation_table_is_what_the_contract_implies() -> None:
    assert set(ALL_AGGREGATIONS) == {"count", "sum", "avg", "min", "max", "count_distinct", "ratio", "rate"}
    assert set(AGGREGATIONS_BY_TYPE) == {"numerical", "categorical", "boolean", "text", "list"}
    assert ("categorical", "avg") in INCOMPATIBLE
    assert ("numerical", "rate") in INCOMPATIBLE
    assert ("boolean", "sum") in INCOMPATIBLE
    assert len(INCOMPATIBLE) == 26


@pytest.mark.parametrize(("metric_type", "aggregation"), INCOMPATIBLE)
def test_incompatible_aggregation(tmp_path: Path, metric_type: str, aggregation: str) -> None:
    error = only_error(tmp_path, typed(metric_type, aggregation))
    assert error.field == "aggregation"
    assert aggregation in error.message and metric_type in error.message


@pytest.mark.parametrize(("metric_type", "aggregation"), COMPATIBLE)
def test_compatible_aggregation(tmp_path: Path, metric_type: str, aggregation: str) -> None:
    assert loads(tmp_path, typed(metric_type, aggregation)).aggregation == aggregation


def test_default_aggregation_is_count(tmp_path: Path) -> None:
    assert loads(tmp_path, static(aggregation=None, metric_type="text")).aggregation == "count"


# ------------------------------------------------------------------------------------------------ ratio


def test_ratio_needs_ratio_of(tmp_path: Path) -> None:
    definition = ratio("r", "a", "b")
    del definition["ratio_of"]
    assert only_error(tmp_path, definition).field == "ratio_of"


@pytest.mark.parametrize("mode", ["static", "ai_classify", "ai_extract", "ai_sentiment", "ai_query", "sql_expr"])
def test_a_ratio_may_name_any_extraction_mode_and_stays_derived(tmp_path: Path, mode: str) -> None:
    files = {
        BUILTIN_FILE: {"metrics": [static(key="a"), static(key="b"), ratio("plain", "a", "b")]},
        # sql_expr is for built-ins only, a ratio's as any other's
        ("builtin/named.yaml" if mode == "sql_expr" else CUSTOM_FILE): ratio("named", "a", "b", extraction_mode=mode),
    }
    catalog, errors = collect(tmp_path, files)
    assert errors == [], [str(e) for e in errors]
    by_key = {d.definition.key: d.definition for d in catalog.all_definitions()}
    named, plain = by_key["named"], by_key["plain"]
    assert named.extraction_mode == mode  # kept as given, for the catalog row
    assert (named.computed_mode, named.is_ai) == (None, False)
    assert named.definition_version == plain.definition_version


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("extract_path", "$.x"),
        ("sql_expr", "1"),
        ("ai_query_prompt", "Rate {{ transcript }}"),
        ("ai_labels", ["a", "b"]),
    ],
)
def test_a_ratio_refuses_mode_fields(tmp_path: Path, field: str, value: Any) -> None:
    error = only_error(tmp_path, ratio("r", "a", "b", extraction_mode="static", **{field: value}), builtin=True)
    assert error.field == field
    assert "ratio" in error.message and field in error.message


def test_a_ratio_asks_no_model(tmp_path: Path) -> None:
    error = only_error(tmp_path, ratio("r", "a", "b", extraction_mode="ai_query", model_tier="fast"), builtin=True)
    assert error.field == "model_tier"


def test_ratio_of_only_with_ratio(tmp_path: Path) -> None:
    assert only_error(tmp_path, static(ratio_of={"numerator": "a", "denominator": "b"})).field == "ratio_of"


def test_non_ratio_needs_extraction_mode(tmp_path: Path) -> None:
    assert only_error(tmp_path, static(extraction_mode=None, extract_path=None)).field == "extraction_mode"


def test_ratio_of_keys_follow_the_key_pattern(tmp_path: Path) -> None:
    assert only_error(tmp_path, ratio("r", "Bad-Key", "b")).field == "ratio_of.numerator"


def test_ratio_over_custom_and_builtin_metrics(tmp_path: Path) -> None:
    files = {
        BUILTIN_FILE: {"metrics": [static(key="calls", aggregation="count")]},
        CUSTOM_FILE: {"metrics": [static(key="talk", aggregation="sum"), ratio("talk_per_call", "talk", "calls")]},
    }
    catalog, errors = collect(tmp_path, files)
    assert errors == []
    assert [d.definition.key for d in catalog.custom[WS]] == ["talk", "talk_per_call"]


@pytest.mark.parametrize("role", ["numerator", "denominator"])
def test_ratio_of_must_name_an_existing_key(tmp_path: Path, role: str) -> None:
    parts = {"numerator": "m1", "denominator": "m1", role: "missing"}
    definition = ratio("r", parts["numerator"], parts["denominator"])
    _, errors = collect(tmp_path, {CUSTOM_FILE: {"metrics": [static(), definition]}})
    assert located(tmp_path, errors) == [(CUSTOM_FILE, "r", f"ratio_of.{role}")]
    assert "missing" in errors[0].message


def test_ratio_scope_is_the_workspace_plus_builtins(tmp_path: Path) -> None:
    files = {
        BUILTIN_FILE: {"metrics": [static(key="calls"), ratio("b_ratio", "calls", "custom_only")]},
        "workspaces/ws_a/m.yaml": {"metrics": [static(key="custom_only")]},
        "workspaces/ws_b/m.yaml": {"metrics": [ratio("r", "custom_only", "calls")]},
    }
    _, errors = collect(tmp_path, files)
    assert located(tmp_path, errors) == [
        (BUILTIN_FILE, "b_ratio", "ratio_of.denominator"),
        ("workspaces/ws_b/m.yaml", "r", "ratio_of.numerator"),
    ]


def test_ratio_of_must_not_name_another_ratio(tmp_path: Path) -> None:
    files = {
        BUILTIN_FILE: {"metrics": [static(key="a"), static(key="b"), ratio("b_ratio", "a", "b")]},
        CUSTOM_FILE: {"metrics": [ratio("c_ratio", "a", "b"), ratio("r", "b_ratio", "c_ratio")]},
    }
    _, errors = collect(tmp_path, files)
    assert located(tmp_path, errors) == [
        (CUSTOM_FILE, "r", "ratio_of.numerator"),
        (CUSTOM_FILE, "r", "ratio_of.denominator"),
    ]
    assert all("itself a ratio" in e.message for e in errors)


# ---------------------------------------------------------------------------------------- valid ranges


@pytest.mark.parametrize(("lo", "hi"), [(0, 10), (5, 5), (-1.5, 0), (None, 3), (3, None)])
def test_valid_range_ok(tmp_path: Path, lo: float | None, hi: float | None) -> None:
    definition = loads(tmp_path, static(valid_range_min=lo, valid_range_max=hi))
    assert (definition.valid_range_min, definition.valid_range_max) == (lo, hi)


def test_valid_range_min_above_max(tmp_path: Path) -> None:
    error = only_error(tmp_path, static(valid_range_min=10, valid_range_max=1))
    assert error.field == "valid_range_min"


@pytest.mark.parametrize("metric_type", ["categorical", "boolean", "text", "list"])
def test_valid_range_only_for_numerical(tmp_path: Path, metric_type: str) -> None:
    assert only_error(tmp_path, static(metric_type=metric_type, aggregation="count", valid_range_max=1)).field == (
        "valid_range_max"
    )
    assert only_error(tmp_path, static(metric_type=metric_type, aggregation="count", valid_range_min=0)).field == (
        "valid_range_min"
    )


# ------------------------------------------------------------------------------------------ duplicates


def test_duplicate_key_within_a_workspace(tmp_path: Path) -> None:
    files = {
        f"workspaces/{WS}/a.yaml": {"metrics": [static(key="dup")]},
        f"workspaces/{WS}/b.yaml": static(key="dup"),
        "workspaces/ws_other/a.yaml": static(key="dup"),
    }
    catalog, errors = collect(tmp_path, files)
    assert located(tmp_path, errors) == [(f"workspaces/{WS}/b.yaml", "dup", "key")]
    assert str(tmp_path / f"workspaces/{WS}/a.yaml") in errors[0].message
    assert [d.definition.key for d in catalog.custom["ws_other"]] == ["dup"]


def test_duplicate_key_in_one_file(tmp_path: Path) -> None:
    _, errors = collect(tmp_path, {CUSTOM_FILE: {"metrics": [static(key="dup"), static(key="dup")]}})
    assert located(tmp_path, errors) == [(CUSTOM_FILE, "dup", "key")]


def test_duplicate_builtin_keys(tmp_path: Path) -> None:
    files = {"builtin/a.yaml": static(key="dup"), "builtin/b.yaml": static(key="dup")}
    _, errors = collect(tmp_path, files)
    assert located(tmp_path, errors) == [("builtin/b.yaml", "dup", "key")]


def test_custom_key_equal_to_a_builtin_key(tmp_path: Path) -> None:
    files = {BUILTIN_FILE: static(key="call_volume"), CUSTOM_FILE: static(key="call_volume")}
    _, errors = collect(tmp_path, files)
    assert located(tmp_path, errors) == [(CUSTOM_FILE, "call_volume", "key")]
    assert "built-in" in errors[0].message


# ---------------------------------------------------------------------------------------- file shapes


def test_invalid_yaml_is_reported_and_other_files_still_load(tmp_path: Path) -> None:
    files = {
        f"workspaces/{WS}/broken.yaml": "metrics: [\n  - key: a\n    name: : :\n",
        f"workspaces/{WS}/tabs.yaml": "key: x\n\tname: y\n",
        f"workspaces/{WS}/good.yaml": static(key="good"),
    }
    catalog, errors = collect(tmp_path, files)
    assert sorted(located(tmp_path, errors)) == [
        (f"workspaces/{WS}/broken.yaml", "-", "-"),
        (f"workspaces/{WS}/tabs.yaml", "-", "-"),
    ]
    assert all(e.message.startswith("not valid YAML") for e in errors)
    assert [d.definition.key for d in catalog.custom[WS]] == ["good"]


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / CUSTOM_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"key: \xff\xfe\n")
    _, errors = collect_catalog(tmp_path)
    assert located(tmp_path, errors) == [(CUSTOM_FILE, "-", "-")]


@pytest.mark.parametrize("content", ["- a\n- b\n", "just a string\n", "42\n"])
def test_a_file_must_hold_a_mapping_or_a_metrics_list(tmp_path: Path, content: str) -> None:
    _, errors = collect(tmp_path, {CUSTOM_FILE: content})
    assert located(tmp_path, errors) == [(CUSTOM_FILE, "-", "-")]


@pytest.mark.parametrize("content", ["metrics:\n", "metrics: 5\n", "metrics: {key: a}\n"])
def test_metrics_must_be_a_list(tmp_path: Path, content: str) -> None:
    _, errors = collect(tmp_path, {CUSTOM_FILE: content})
    assert located(tmp_path, errors) == [(CUSTOM_FILE, "-", "metrics")]


def test_empty_files_and_other_suffixes_are_ignored(tmp_path: Path) -> None:
    files = {
        f"workspaces/{WS}/empty.yaml": "",
        f"workspaces/{WS}/comment.yml": "# nothing yet\n",
        f"workspaces/{WS}/notes.txt": "not: [yaml",
        f"workspaces/{WS}/nested/deeper.yml": static(key="deep"),
    }
    catalog, errors = collect(tmp_path, files)
    assert errors == []
    assert [d.definition.key for d in catalog.custom[WS]] == ["deep"]


def test_metrics_list_with_one_bad_and_one_good_item(tmp_path: Path) -> None:
    files = {CUSTOM_FILE: {"metrics": [static(key="good_one"), static(key="bad_one", aggregation="rate"), "oops"]}}
    catalog, errors = collect(tmp_path, files)
    assert located(tmp_path, errors) == [(CUSTOM_FILE, "bad_one", "aggregation"), (CUSTOM_FILE, "#2", "-")]
    assert [d.definition.key for d in catalog.custom[WS]] == ["good_one"]
    assert catalog.custom[WS][0].file == str(tmp_path / CUSTOM_FILE)
    assert catalog.custom[WS][0].workspace_id == WS


def test_several_errors_in_one_definition_are_all_reported(tmp_path: Path) -> None:
    bad = static(key="multi", metric_type="categorical", aggregation="avg", model_tier="fast", valid_range_min=1)
    _, errors = collect(tmp_path, {CUSTOM_FILE: bad})
    assert sorted(e.field for e in errors) == ["aggregation", "model_tier", "valid_range_min"]
    assert {e.key for e in errors} == {"multi"}


def test_missing_root_is_an_error(tmp_path: Path) -> None:
    catalog, errors = collect_catalog(tmp_path / "nope")
    assert [(e.key, e.field) for e in errors] == [("-", "-")]
    assert catalog.builtins == []
    with pytest.raises(DefinitionsInvalid):
        load_catalog(tmp_path / "nope")


# ------------------------------------------------------------------------------------ workspace.yaml


@pytest.fixture
def with_repo_builtins(tmp_path: Path) -> Path:
    shutil.copytree(REPO_DEFS / "builtin", tmp_path / "builtin")
    return tmp_path


def test_default_metrics_disabled_removes_exactly_the_post_call_defaults(with_repo_builtins: Path) -> None:
    root = with_repo_builtins
    files = {
        "workspaces/ws_off/workspace.yaml": {"default_metrics_enabled": False},
        "workspaces/ws_off/custom.yaml": static(key="mine"),
        "workspaces/ws_on/workspace.yaml": {"default_metrics_enabled": True},
    }
    catalog, errors = collect(root, files)
    assert errors == []
    everything = {d.definition.key for d in catalog.builtins}
    off = {d.definition.key for d in catalog.definitions_for("ws_off")}
    assert everything - off == POST_CALL_DEFAULTS
    assert off == (everything - POST_CALL_DEFAULTS) | {"mine"}
    assert {d.definition.key for d in catalog.definitions_for("ws_on")} == everything
    assert {d.definition.key for d in catalog.definitions_for("ws_unknown")} == everything
    assert catalog.workspaces == ["ws_off", "ws_on"]
    assert not catalog.settings_for("ws_off").default_metrics_enabled
    assert catalog.settings_for("ws_unknown").default_metrics_enabled


def test_workspace_settings_are_not_definitions(tmp_path: Path) -> None:
    catalog, errors = collect(tmp_path, {f"workspaces/{WS}/workspace.yaml": "default_metrics_enabled: true\n"})
    assert errors == []
    assert catalog.custom[WS] == []


WEBHOOK_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # 32 bytes, as `webhooks secret` makes


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"default_metrics_enabled": "sometimes"}, "default_metrics_enabled"),
        ({"default_metrics": False}, "default_metrics"),
        ({"webhook": {"url": "ftp://x", "secret": WEBHOOK_SECRET}}, "webhook.url"),
        ({"webhook": {"url": "https://x", "secret": "nope"}}, "webhook.secret"),
    ],
)
def test_bad_workspace_settings(tmp_path: Path, content: dict[str, Any], field: str) -> None:
    rel = f"workspaces/{WS}/workspace.yaml"
    _, errors = collect(tmp_path, {rel: content})
    assert located(tmp_path, errors) == [(rel, "workspace", field)]


def test_workspace_settings_with_webhook(tmp_path: Path) -> None:
    rel = f"workspaces/{WS}/workspace.yaml"
    content = {
        "default_metrics_enabled": False,
        "webhook": {"url": "https://hooks.example/x", "secret": WEBHOOK_SECRET},
    }
    catalog, errors = collect(tmp_path, {rel: content})
    assert errors == []
    assert catalog.settings[WS].webhook is not None


def test_inactive_metrics_are_left_out_unless_asked(tmp_path: Path) -> None:
    files = {CUSTOM_FILE: {"metrics": [static(key="on"), static(key="off", active=False)]}}
    catalog, _ = collect(tmp_path, files)
    assert [d.definition.key for d in catalog.definitions_for(WS)] == ["on"]
    assert [d.definition.key for d in catalog.definitions_for(WS, include_inactive=True)] == ["on", "off"]


# ------------------------------------------------------------------------------- all errors at once


def many_errors_tree(root: Path) -> tuple[Path, list[tuple[str, str, str]]]:
    files = {
        "builtin/a.yaml": {"metrics": [static(key="base"), static(key="Bad")]},
        "builtin/b.yaml": "metrics: [\n",
        "workspaces/w1/m.yaml": {
            "metrics": [
                static(key="extra", colour="red"),
                static(key="cat_avg", metric_type="categorical"),
                ratio("lost", "base", "nowhere"),
                sql_metric(key="custom_sql"),
            ]
        },
        "workspaces/w2/m.yaml": {"metrics": [static(key="base"), static(key="twice"), static(key="twice")]},
        "workspaces/w2/workspace.yaml": {"default_metrics_enabled": "maybe"},
        "workspaces/w3/q.yaml": ai("ai_query", key="asks", model_tier="free", ai_query_prompt=None),
    }
    expected = [
        ("builtin/a.yaml", "Bad", "key"),
        ("builtin/b.yaml", "-", "-"),
        ("workspaces/w1/m.yaml", "extra", "colour"),
        ("workspaces/w1/m.yaml", "cat_avg", "aggregation"),
        ("workspaces/w1/m.yaml", "custom_sql", "extraction_mode"),
        ("workspaces/w1/m.yaml", "lost", "ratio_of.denominator"),
        ("workspaces/w2/m.yaml", "base", "key"),
        ("workspaces/w2/m.yaml", "twice", "key"),
        ("workspaces/w2/workspace.yaml", "workspace", "default_metrics_enabled"),
        ("workspaces/w3/q.yaml", "asks", "ai_query_prompt"),
        ("workspaces/w3/q.yaml", "asks", "model_tier"),
    ]
    return tree(root, files), expected


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    root, expected = many_errors_tree(tmp_path)
    catalog, errors = collect_catalog(root)
    assert sorted(located(root, errors)) == sorted(expected)
    assert len({e.file for e in errors}) >= 3
    assert [d.definition.key for d in catalog.builtins] == ["base"]
    assert catalog.custom["w1"] == []  # "lost" parses, but its ratio target does not exist
    # "base" duplicates a built-in; the second "twice" the first
    assert [d.definition.key for d in catalog.custom["w2"]] == ["twice"]

    # a run refuses only the built-ins' errors; each workspace's stay with it
    with pytest.raises(DefinitionsInvalid) as raised:
        load_catalog(root)
    builtin_errors = [e for e in errors if "/builtin/" in e.file]
    assert raised.value.errors == builtin_errors
    assert str(raised.value).splitlines() == [str(e) for e in builtin_errors]
    assert sorted(catalog.refused) == ["w1", "w2", "w3"]
    assert [e for _, e in catalog.refusals] == [e for e in errors if e not in builtin_errors]


def test_definition_error_str() -> None:
    error = DefinitionError("f.yaml", "k", "aggregation", "nope")
    assert str(error) == "f.yaml: k: aggregation: nope"


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_validate_reports_every_error(tmp_path: Path) -> None:
    root, expected = many_errors_tree(tmp_path)
    result = CliRunner().invoke(main, ["defs", "validate", str(root)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == len(expected)
    _, errors = collect_catalog(root)
    assert lines == [str(e) for e in errors]
    for line in lines:
        file, key, field, message = line.split(": ", 3)
        assert Path(file).is_relative_to(root)
        assert key and field and message
    assert f"{len(expected)} error(s)" in result.stderr


def test_cli_validate_line_format(tmp_path: Path) -> None:
    write(tmp_path, CUSTOM_FILE, static(key="cat", metric_type="categorical"))
    result = CliRunner().invoke(main, ["defs", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert re.fullmatch(
        re.escape(f"{tmp_path / CUSTOM_FILE}: cat: aggregation: ") + r"'avg' does not apply to categorical.*",
        result.stdout.strip(),
    )


def test_cli_validate_repo_definitions() -> None:
    result = CliRunner().invoke(main, ["defs", "validate", str(REPO_DEFS)])
    assert result.exit_code == 0, result.output
    assert "42 built-in and 8 custom metric(s) are valid" in result.stdout


def test_cli_validate_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICSTORE_METRIC_DEFS", str(REPO_DEFS))
    result = CliRunner().invoke(main, ["defs", "validate"])
    assert result.exit_code == 0, result.output


def test_cli_schema_check_passes_on_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICSTORE_METRIC_DEFS", str(REPO_DEFS))
    result = CliRunner().invoke(main, ["defs", "schema", "--check"])
    assert result.exit_code == 0, result.output
    assert "is current" in result.stdout


def test_checked_in_schema_is_current() -> None:
    expected = json.dumps(definition_file_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == expected


def test_cli_schema_write_then_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICSTORE_METRIC_DEFS", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(main, ["defs", "schema", "--check"]).exit_code == 1  # missing
    assert runner.invoke(main, ["defs", "schema"]).exit_code == 0
    written = tmp_path / "schema" / "metric-definitions.schema.json"
    assert written.read_text(encoding="utf-8") == SCHEMA_PATH.read_text(encoding="utf-8")
    assert runner.invoke(main, ["defs", "schema", "--check"]).exit_code == 0
    written.write_text(written.read_text(encoding="utf-8").replace('"key"', '"kee"'), encoding="utf-8")
    stale = runner.invoke(main, ["defs", "schema", "--check"])
    assert stale.exit_code == 1
    assert "out of date" in stale.stderr


# ---------------------------------------------------------------------------------- repo definitions


def test_repo_has_42_builtins_over_all_sources(repo_catalog: MetricCatalog) -> None:
    builtins = [d.definition for d in repo_catalog.builtins]
    assert len(builtins) == 42
    assert len({d.key for d in builtins}) == 42
    assert {d.source for d in builtins} == set(SOURCES)
    assert all(d.builtin and d.workspace_id is None for d in repo_catalog.builtins)


def test_repo_post_call_defaults(repo_catalog: MetricCatalog) -> None:
    defaults = {d.definition.key for d in repo_catalog.builtins if d.definition.post_call_default}
    assert defaults == POST_CALL_DEFAULTS


def test_repo_demo_workspace(repo_catalog: MetricCatalog) -> None:
    assert repo_catalog.workspaces == ["ws_demo"]
    custom = {d.definition.key: d.definition for d in repo_catalog.custom["ws_demo"]}
    assert set(custom) == {
        "voice_quality_score",
        "voice_agents",
        "escalations_per_agent",
        "customer_mood",
        "contact_reason",
        "promised_callback_date",
        "customer_satisfaction",
        "technical_issues",
    }
    # the demo has an AI metric of every extraction mode
    modes = {d.extraction_mode for d in custom.values()}
    assert {"ai_sentiment", "ai_classify", "ai_extract", "ai_query", "static"} <= modes
    assert custom["escalations_per_agent"].ratio_of is not None
    assert repo_catalog.settings_for("ws_demo").default_metrics_enabled
    assert len(repo_catalog.definitions_for("ws_demo")) == 50


def raw_definitions(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        if path.name == "workspace.yaml":
            continue
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = raw.get("metrics", [raw])
        DefinitionFile.model_validate({"metrics": items})
        found += [(path, item) for item in items]
    return found


def test_every_repo_definition_is_valid_against_the_schema() -> None:
    """Without jsonschema: each raw item validates through the model, and satisfies the schema's
    properties, required fields, enums and string limits (so schema and model agree)."""
    schema = definition_file_schema()
    metric_schema = schema["$defs"]["MetricDefinition"]
    assert metric_schema["additionalProperties"] is False
    properties = metric_schema["properties"]
    items = raw_definitions(REPO_DEFS)
    assert len(items) == 50
    for path, raw in items:
        MetricDefinition.model_validate(raw)
        assert set(raw) <= set(properties), (path, raw["key"])
        assert set(metric_schema["required"]) <= set(raw), (path, raw["key"])
        for name, value in raw.items():
            prop = properties[name]
            options = prop.get("anyOf", [prop])
            enums = [o["enum"] for o in options if "enum" in o]
            if enums and isinstance(value, str):
                assert any(value in e for e in enums), (path, name, value)
            for option in options:
                if option.get("type") == "string" and isinstance(value, str):
                    assert len(value) <= option.get("maxLength", len(value))
                    if "pattern" in option:
                        assert re.fullmatch(option["pattern"].strip("^$"), value)


def test_schema_shape() -> None:
    schema = definition_file_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"MetricDefinition", "ClassLabel", "ExtractField", "RatioOf"} <= set(schema["$defs"])
    key = schema["$defs"]["MetricDefinition"]["properties"]["key"]
    assert (key["pattern"], key["maxLength"]) == ("^[a-z][a-z0-9_]*$", 64)


# ---------------------------------------------------------------------------------- definition_version

FIXED_STATIC = {
    "key": "fixed_metric",
    "name": "Fixed",
    "metric_type": "numerical",
    "extraction_mode": "static",
    "extract_path": "$.quality_score",
    "event_types": ["call_intelligence.row"],
    "aggregation": "avg",
    "valid_range_min": 0,
    "valid_range_max": 100,
}
FIXED_AI = {
    "key": "ai_fixed",
    "name": "Reason",
    "description": "Why the customer called",
    "metric_type": "categorical",
    "extraction_mode": "ai_classify",
    "model_tier": "fast",
    "ai_labels": ["billing", {"name": "tech", "description": "technical", "examples": ["it broke"]}],
}


def version(definition: dict[str, Any]) -> str:
    return MetricDefinition.model_validate(definition).definition_version


def test_definition_version_is_stable_across_processes() -> None:
    # Computed once; a change here means every stored value would be re-versioned.
    assert version(FIXED_STATIC) == "v3594e37f11a4"
    # the digest itself did not change: the same fields give the version they gave before paths became
    # relative to data (issue 8), when this path was written $.data.quality_score
    assert version({**FIXED_STATIC, "extract_path": "$.data.quality_score"}) == "v066ca07890da"
    assert version(FIXED_AI) == "vc6f816d91122"
    assert re.fullmatch(r"v[0-9a-f]{12}", version(FIXED_STATIC))


@pytest.mark.parametrize(
    "change",
    [
        {"extract_path": "$.other"},
        {"metric_type": "categorical", "aggregation": "count", "valid_range_min": None, "valid_range_max": None},
        {"channel_scope": "voice"},
        {"valid_range_min": 1},
        {"valid_range_max": 99},
        {"valid_range_max": None},
        {"event_types": ["call_intelligence.row", "call_intelligence.other"]},
        {"event_types": []},
        {"source": "emotion_events", "event_types": ["emotion_events.detected"]},
    ],
)
def test_definition_version_changes_with_value_fields_of_static(change: dict[str, Any]) -> None:
    changed = {k: v for k, v in {**FIXED_STATIC, **change}.items() if v is not None}
    assert version(changed) != version(FIXED_STATIC)


@pytest.mark.parametrize(
    "change",
    [
        {"ai_labels": ["billing", "tech"]},
        {"ai_labels": ["billing", "tech", "other"]},
        {"model_tier": "max"},
        {"metric_type": "list"},
        {"channel_scope": "text"},
        {"name": "Reason for calling"},
        {"description": "Why they called"},
    ],
)
def test_definition_version_changes_with_value_fields_of_ai(change: dict[str, Any]) -> None:
    assert version({**FIXED_AI, **change}) != version(FIXED_AI)


def test_definition_version_changes_with_prompt_and_sql() -> None:
    query = ai("ai_query")
    assert version({**query, "ai_query_prompt": "Other: {{ summary }}"}) != version(query)
    sql = sql_metric()
    assert version({**sql, "sql_expr": "2"}) != version(sql)


@pytest.mark.parametrize(
    "change",
    [
        {"key": "renamed_key"},
        {"name": "Another name"},
        {"description": "A new description"},
        {"unit": "points"},
        {"aggregation": "max"},
        {"period_granularity": "daily"},
        {"is_required": True},
        {"active": False},
        {"post_call_default": True},
    ],
)
def test_definition_version_ignores_presentation_of_static(change: dict[str, Any]) -> None:
    assert version({**FIXED_STATIC, **change}) == version(FIXED_STATIC)


def test_definition_version_ignores_presentation_of_ai() -> None:
    for change in (
        {"unit": "x"},
        {"aggregation": "count_distinct"},
        {"period_granularity": "daily"},
        {"active": False},
    ):
        assert version({**FIXED_AI, **change}) == version(FIXED_AI)


def test_definition_version_ignores_defaults_spelled_out() -> None:
    explicit = {**FIXED_STATIC, "source": "call_intelligence", "channel_scope": "all", "model_tier": "free"}
    assert version(explicit) == version(FIXED_STATIC)


def test_repo_definition_versions_are_distinct_where_values_differ(repo_catalog: MetricCatalog) -> None:
    versions = {d.definition.key: d.definition.definition_version for d in repo_catalog.all_definitions()}
    # quality_score and min_quality_score read the same values (they differ only in aggregation).
    assert versions["quality_score"] == versions["min_quality_score"]
    assert versions["quality_score"] != versions["voice_quality_score"]  # channel_scope voice


def test_rules_added_after_review(tmp_path: Path) -> None:
    """event_types must belong to the source; prompts must parse as Jinja; post_call_default is built-in only."""
    wrong_source = only_error(tmp_path, static(event_types=["world_events.tool_call"]))
    assert (wrong_source.field, wrong_source.key) == ("event_types", "m1")
    assert "not of source call_intelligence" in wrong_source.message
    bad_prompt = only_error(
        tmp_path,
        {
            "key": "m",
            "name": "M",
            "metric_type": "text",
            "extraction_mode": "ai_query",
            "model_tier": "fast",
            "ai_query_prompt": "Summarise {{ transcript ",
        },
    )
    assert bad_prompt.field == "ai_query_prompt"
    assert "not a valid Jinja template" in bad_prompt.message
    custom_default = only_error(tmp_path, static(post_call_default=True))
    assert custom_default.field == "post_call_default"


# ---------------------------------------------------------------------- the metric-store docs' own format


def test_a_definition_from_the_docs_validates(tmp_path: Path) -> None:
    definition = loads(tmp_path, DOCS_METRIC)
    assert (definition.extract_path, definition.computed_mode) == ("$.quality_score", "static")


def post_call(name: str = "Product Interest", **fields: Any) -> dict[str, Any]:
    """A valid definition in the post-call configuration shape, with overrides (None removes a field)."""
    base: dict[str, Any] = {
        "name": name,
        "dataType": "string",
        "prompt": "Which product did the customer ask about? {{ transcript }}",
        "isRequired": True,
        "description": "The product the customer showed interest in.",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def test_post_call_shape_becomes_an_ai_query_metric(tmp_path: Path) -> None:
    catalog, errors = collect(tmp_path, {CUSTOM_FILE: {"metrics": [post_call()]}})
    assert errors == []
    (loaded,) = catalog.custom[WS]
    assert loaded.definition == MetricDefinition(
        key="product_interest",
        name="Product Interest",
        description="The product the customer showed interest in.",
        metric_type="text",
        extraction_mode="ai_query",
        model_tier="fast",
        ai_query_prompt="Which product did the customer ask about? {{ transcript }}",
        aggregation="count",
        is_required=True,
    )


@pytest.mark.parametrize(
    ("data_type", "metric_type", "aggregation"),
    [
        ("number", "numerical", "avg"),
        ("string", "text", "count"),
        ("boolean", "boolean", "rate"),
        ("array", "list", "count"),
    ],
)
def test_post_call_data_types(tmp_path: Path, data_type: str, metric_type: str, aggregation: str) -> None:
    catalog, errors = collect(tmp_path, {CUSTOM_FILE: post_call(dataType=data_type, isRequired=None, description=None)})
    assert errors == []
    definition = catalog.custom[WS][0].definition
    assert (definition.metric_type, definition.aggregation) == (metric_type, aggregation)
    assert (definition.is_required, definition.description, definition.model_tier) == (False, "", "fast")


def test_post_call_shape_may_choose_a_model_tier(tmp_path: Path) -> None:
    catalog, _ = collect(tmp_path, {CUSTOM_FILE: post_call(model_tier="max")})
    assert catalog.custom[WS][0].definition.model_tier == "max"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Product Interest", "product_interest"),
        ("productInterest", "product_interest"),
        ("  Follow-up action ", "follow_up_action"),
        ("Customer's mood", "customers_mood"),
        ("Café visits", "cafe_visits"),
        ("NPS (0–10)", "nps_010"),
        ("a__b", "a_b"),
        ("x" * 64, "x" * 64),
    ],
)
def test_post_call_key_is_the_name_in_snake_case(tmp_path: Path, name: str, key: str) -> None:
    assert snake_key(name) == key
    catalog, errors = collect(tmp_path, {CUSTOM_FILE: post_call(name)})
    assert errors == []
    assert [d.definition.key for d in catalog.custom[WS]] == [key]


@pytest.mark.parametrize("name", ["123 calls", "!!!", "Ωμέγα", "x" * 65])
def test_post_call_name_without_a_key_is_refused(tmp_path: Path, name: str) -> None:
    error = only_error(tmp_path, post_call(name))
    assert (error.key, error.field) == ("#0", "name")
    assert "no metric key" in error.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prompt": None}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "Rate {{ transcript "}, "prompt"),  # Jinja syntax, checked as ai_query_prompt
        ({"dataType": "float"}, "dataType"),
        ({"dataType": None}, "dataType"),
        ({"isRequired": "perhaps"}, "isRequired"),
        ({"name": None}, "name"),
        ({"model_tier": "free"}, "model_tier"),
        ({"aggregation": "sum"}, "aggregation"),  # not a field of that shape
        ({"metric_type": "numerical"}, "metric_type"),
    ],
)
def test_post_call_errors_name_the_users_field(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    definition = post_call(**change)
    catalog, errors = collect(tmp_path, {CUSTOM_FILE: {"metrics": [definition]}})
    assert [e.field for e in errors] == [field], [str(e) for e in errors]
    assert errors[0].key == ("#0" if "name" not in definition else "product_interest")
    assert catalog.custom[WS] == []


def test_builtin_files_take_only_the_metric_store_shape(tmp_path: Path) -> None:
    catalog, errors = collect(tmp_path, {BUILTIN_FILE: post_call()})
    assert located(tmp_path, errors) == [(BUILTIN_FILE, "product_interest", "dataType")]
    assert "metric-store shape" in errors[0].message
    assert catalog.builtins == []


def test_post_call_keys_are_checked_for_duplicates(tmp_path: Path) -> None:
    files = {
        BUILTIN_FILE: static(key="intent"),
        CUSTOM_FILE: {"metrics": [post_call("Intent"), post_call("Mood"), post_call("mood")]},
    }
    _, errors = collect(tmp_path, files)
    assert located(tmp_path, errors) == [(CUSTOM_FILE, "intent", "key"), (CUSTOM_FILE, "mood", "key")]


# -------------------------------------------------------------------------------- check_custom_definitions


def repo_builtins() -> list[LoadedDefinition]:
    return load_catalog(REPO_DEFS).builtins


def test_check_custom_definitions_accepts_both_shapes_and_what_a_get_returned() -> None:
    got = {**DOCS_METRIC, "builtin": False, "definition_version": "v000000000000"}
    defs, errors = check_custom_definitions(
        repo_builtins(), WS, [got, post_call()], file="PUT /v1/ws_t/settings/metrics"
    )
    assert errors == []
    assert [(d.definition.key, d.workspace_id, d.file) for d in defs] == [
        ("docs_quality", WS, "PUT /v1/ws_t/settings/metrics"),
        ("product_interest", WS, "PUT /v1/ws_t/settings/metrics"),
    ]
    assert defs[0].definition == MetricDefinition.model_validate(DOCS_METRIC)


def test_read_only_fields_are_not_accepted_in_files(tmp_path: Path) -> None:
    assert only_error(tmp_path, static(definition_version="v1")).field == "definition_version"


def test_check_custom_definitions_reports_as_the_loader_does(tmp_path: Path) -> None:
    items = [
        static(key="call_volume"),  # a built-in key
        static(key="twice"),
        static(key="twice"),
        sql_metric(key="custom_sql"),
        static(key="default", post_call_default=True),
        ratio("lost", "twice", "nowhere"),
        static(key="cat", metric_type="categorical"),
        post_call(dataType="float"),
        "not a mapping",
    ]
    shutil.copytree(REPO_DEFS / "builtin", tmp_path / "builtin")
    catalog, loader_errors = collect(tmp_path, {CUSTOM_FILE: {"metrics": items}})
    defs, errors = check_custom_definitions(catalog.builtins, WS, items, file=str(tmp_path / CUSTOM_FILE))
    assert errors == loader_errors
    assert [(e.key, e.field) for e in errors] == [
        ("custom_sql", "extraction_mode"),
        ("default", "post_call_default"),
        ("cat", "aggregation"),
        ("product_interest", "dataType"),
        ("#8", "-"),
        ("call_volume", "key"),
        ("twice", "key"),
        ("lost", "ratio_of.denominator"),
    ]
    assert [d.definition.key for d in defs] == [d.definition.key for d in catalog.custom[WS]] == ["twice"]


def test_check_custom_definitions_allows_50(tmp_path: Path) -> None:
    items = [static(key=f"m{i:02d}") for i in range(MAX_CUSTOM_METRICS)] + [post_call()]
    defs, errors = check_custom_definitions([], WS, items[:50], file="api")
    assert (len(defs), errors) == (50, [])
    defs, errors = check_custom_definitions([], WS, items, file="api")
    assert [(e.key, e.field) for e in errors] == [("product_interest", "-")]
    assert "51" in errors[0].message
    assert len(defs) == 50


def test_check_custom_definitions_ratio_targets_may_be_builtins() -> None:
    defs, errors = check_custom_definitions(
        repo_builtins(),
        WS,
        [ratio("talk_per_call", "total_talk_time", "call_volume", extraction_mode="static")],
        file="api",
    )
    assert errors == []
    assert defs[0].definition.extraction_mode == "static"


# ------------------------------------------------------------------------------------------- stored_form


def test_stored_form_round_trips_every_repo_definition(repo_catalog: MetricCatalog) -> None:
    for loaded in repo_catalog.all_definitions():
        definition = loaded.definition
        stored = definition.stored_form()
        assert list(stored)[:3] == ["key", "name", "metric_type"]
        again = MetricDefinition.model_validate(yaml.safe_load(yaml.safe_dump(stored, allow_unicode=True)))
        assert again == definition
        assert again.definition_version == definition.definition_version


def test_stored_form_is_minimal_and_keeps_the_mode() -> None:
    assert MetricDefinition.model_validate(DOCS_METRIC).stored_form() == {
        k: v
        for k, v in DOCS_METRIC.items()
        if k not in ("source", "active")  # defaults
    }
    named = MetricDefinition.model_validate(ratio("r", "a", "b", extraction_mode="static"))
    assert named.stored_form() == ratio("r", "a", "b", extraction_mode="static")


def test_stored_form_of_a_post_call_metric_loads_back(tmp_path: Path) -> None:
    defs, _ = check_custom_definitions([], WS, [post_call()], file="api")
    stored = defs[0].definition.stored_form()
    assert stored["key"] == "product_interest"
    assert loads(tmp_path, stored) == defs[0].definition
