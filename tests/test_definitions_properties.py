"""Property-based tests of metric definitions: the key rule and definition_version's purity."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from metricstore.catalog_loader import collect_catalog
from metricstore.definitions import AGGREGATIONS_BY_TYPE, MetricDefinition

KEY = re.compile(r"[a-z][a-z0-9_]*")
FAST = settings(max_examples=150, deadline=None)

valid_keys = st.from_regex(r"[a-z][a-z0-9_]{0,63}", fullmatch=True)
invalid_keys = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=80).filter(
        lambda s: not (KEY.fullmatch(s) and len(s) <= 64)
    ),
    # near misses: a valid key with one foreign character inserted
    st.tuples(
        valid_keys,
        st.sampled_from([*"ABZ-. /\\é\n\t$:'\"", "\x00", "ß", "1"]),
        st.integers(min_value=0),
    )
    .map(lambda t: t[0][: t[2] % (len(t[0]) + 1)] + t[1] + t[0][t[2] % (len(t[0]) + 1) :])
    # "1" is valid after the first character: keep only strings the pattern refuses
    .filter(lambda s: not KEY.fullmatch(s)),
    st.from_regex(r"[a-z][a-z0-9_]{64,100}", fullmatch=True),  # too long
    st.from_regex(r"[0-9_][a-z0-9_]{0,20}", fullmatch=True),  # bad first character
)


def static(key: str = "m1", **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Metric",
        "metric_type": "numerical",
        "extraction_mode": "static",
        "extract_path": "$.x",
        "aggregation": "avg",
        **fields,
    }


@FAST
@given(valid_keys)
def test_valid_keys_are_always_accepted(key: str) -> None:
    assert MetricDefinition.model_validate(static(key)).key == key


@FAST
@given(invalid_keys)
def test_keys_violating_the_pattern_are_always_refused(key: str) -> None:
    with pytest.raises(ValidationError) as raised:
        MetricDefinition.model_validate(static(key))
    assert [e["loc"] for e in raised.value.errors()] == [("key",)]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(valid_keys, invalid_keys), min_size=1, max_size=4, unique=True))
def test_loader_accepts_exactly_the_valid_keys(keys: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "workspaces" / "ws" / "m.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(yaml.safe_dump({"metrics": [static(k) for k in keys]}), encoding="utf-8")
        keys = [item["key"] for item in yaml.safe_load(path.read_text(encoding="utf-8"))["metrics"]]
        catalog, errors = collect_catalog(root)
    good = [k for k in keys if KEY.fullmatch(k) and len(k) <= 64]
    assert [d.definition.key for d in catalog.custom["ws"]] == good
    assert sorted((e.key, e.field) for e in errors) == sorted(
        (k if k else "#" + str(keys.index(k)), "key") for k in keys if k not in good
    )
    assert all(e.file == str(path) for e in errors)


# ------------------------------------------------------------------------------------ definition_version

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
# JSON paths into `data`: keys and indexes (a wildcard is refused, see test_definitions)
extract_paths = st.lists(
    st.one_of(identifiers.map(lambda s: "." + s), st.integers(0, 9).map(lambda i: f"[{i}]")),
    min_size=1,
    max_size=4,
).map(lambda parts: "$" + "".join(parts))
type_and_aggregation = st.sampled_from(
    [(t, a) for t, allowed in AGGREGATIONS_BY_TYPE.items() for a in sorted(allowed) if a != "ratio"]
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=32)


@st.composite
def static_definitions(draw: st.DrawFn) -> dict[str, Any]:
    metric_type, aggregation = draw(type_and_aggregation)
    definition: dict[str, Any] = {
        "key": draw(valid_keys),
        "name": draw(st.text(min_size=1, max_size=20)),
        "metric_type": metric_type,
        "extraction_mode": "static",
        "extract_path": draw(extract_paths),
        "aggregation": aggregation,
    }
    optional = {
        "description": st.text(max_size=40),
        "event_types": st.lists(st.sampled_from(["call_intelligence.row", "call_intelligence.summary"]), max_size=2),
        "channel_scope": st.sampled_from(["all", "voice", "text", "surface", "inbound", "outbound"]),
        "unit": st.text(max_size=8),
        "period_granularity": st.sampled_from(["hourly", "daily"]),
        "is_required": st.booleans(),
        "active": st.booleans(),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            definition[name] = draw(strategy)
    if draw(st.booleans()):  # another source, with event types of its own
        source = draw(st.sampled_from(["world_events", "emotion_events"]))
        definition["source"] = source
        definition["event_types"] = [f"{source}.{t.split('.')[1]}" for t in definition.get("event_types", [])]
    if metric_type == "numerical" and draw(st.booleans()):
        lo, hi = sorted([draw(finite), draw(finite)])
        definition["valid_range_min"], definition["valid_range_max"] = lo, hi
    return definition


def version(definition: dict[str, Any]) -> str:
    return MetricDefinition.model_validate(definition).definition_version


def presentation_changes(metric_type: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "key": valid_keys,
            "name": st.text(min_size=1, max_size=30),
            "description": st.text(max_size=60),
            "unit": st.text(max_size=32),
            "aggregation": st.sampled_from(sorted(AGGREGATIONS_BY_TYPE[metric_type] - {"ratio"})),
            "period_granularity": st.sampled_from(["hourly", "daily"]),
            "is_required": st.booleans(),
            "active": st.booleans(),
            "post_call_default": st.booleans(),
        },
    )


@FAST
@given(static_definitions(), st.randoms(use_true_random=False))
def test_definition_version_ignores_key_order(definition: dict[str, Any], rnd: Any) -> None:
    items = list(definition.items())
    rnd.shuffle(items)
    assert version(dict(items)) == version(definition)


@FAST
@given(static_definitions(), st.data())
def test_definition_version_of_static_ignores_presentation(definition: dict[str, Any], data: st.DataObject) -> None:
    change = data.draw(presentation_changes(definition["metric_type"]))
    assert version({**definition, **change}) == version(definition)


@FAST
@given(static_definitions(), extract_paths)
def test_definition_version_follows_extract_path(definition: dict[str, Any], path: str) -> None:
    same = version({**definition, "extract_path": path}) == version(definition)
    assert same == (path == definition["extract_path"])


@FAST
@given(static_definitions())
def test_definition_version_survives_a_round_trip(definition: dict[str, Any]) -> None:
    model = MetricDefinition.model_validate(definition)
    assert MetricDefinition.model_validate(model.model_dump()).definition_version == model.definition_version
    assert MetricDefinition.model_validate(model.model_dump(exclude_defaults=True)).definition_version == (
        model.definition_version
    )


labels = st.lists(
    st.one_of(
        identifiers,
        st.fixed_dictionaries(
            {"name": identifiers},
            optional={"description": st.text(max_size=20), "examples": st.lists(st.text(max_size=10), max_size=2)},
        ),
    ),
    min_size=2,
    max_size=5,
    unique_by=lambda x: x if isinstance(x, str) else x["name"],
)


@st.composite
def classify_definitions(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "key": draw(valid_keys),
        "name": draw(st.text(min_size=1, max_size=20)),
        "description": draw(st.text(max_size=40)),
        "metric_type": draw(st.sampled_from(["categorical", "list"])),
        "extraction_mode": "ai_classify",
        "model_tier": draw(st.sampled_from(["fast", "balanced", "max"])),
        "ai_labels": draw(labels),
        "aggregation": "count",
    }


def reorder(value: Any, rnd: Any) -> Any:
    if isinstance(value, dict):
        items = [(k, reorder(v, rnd)) for k, v in value.items()]
        rnd.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [reorder(v, rnd) for v in value]
    return value


@FAST
@given(classify_definitions(), st.randoms(use_true_random=False))
def test_ai_definition_version_ignores_key_order_at_every_depth(definition: dict[str, Any], rnd: Any) -> None:
    assert version(reorder(definition, rnd)) == version(definition)


@FAST
@given(classify_definitions(), st.text(max_size=40), st.text(min_size=1, max_size=20))
def test_ai_definition_version_follows_name_and_description(
    definition: dict[str, Any], description: str, name: str
) -> None:
    assert (version({**definition, "description": description}) == version(definition)) == (
        description == definition["description"]
    )
    assert (version({**definition, "name": name}) == version(definition)) == (name == definition["name"])
