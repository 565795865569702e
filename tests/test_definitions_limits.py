"""Validation catches what the run would hit: prompts rendered on a sample conversation (typos, sandbox escapes,
templates that never end), YAML aliases refused, sizes bounded, every check in linear time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from metricstore.catalog_loader import MAX_FILE_BYTES, check_custom_definitions, collect_catalog
from metricstore.cli import main
from metricstore.definitions import MAX_LABELS

WS = "ws_t"


def ai_query(prompt: str, key: str = "asks") -> dict[str, Any]:
    return {
        "key": key,
        "name": "Asks",
        "metric_type": "text",
        "extraction_mode": "ai_query",
        "model_tier": "fast",
        "ai_query_prompt": prompt,
    }


def classify(labels: list[Any]) -> dict[str, Any]:
    return {
        "key": "topic",
        "name": "Topic",
        "metric_type": "categorical",
        "extraction_mode": "ai_classify",
        "model_tier": "fast",
        "ai_labels": labels,
    }


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defs_validate_refuses_a_typo_in_a_prompt(tmp_path: Path) -> None:
    write(tmp_path, f"workspaces/{WS}/m.yaml", yaml.safe_dump(ai_query("Summarise {{ transcrpt }}")))
    result = CliRunner().invoke(main, ["defs", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{tmp_path}/workspaces/{WS}/m.yaml: asks: ai_query_prompt: does not render: 'transcrpt' is undefined "
        "(the variables are transcript, summary, call, metric, metric_name, description, labels, channel, "
        "direction, conversation_id)"
    ]


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        ("{{ call.__class__.__mro__ }}", "the sandbox refused it: access to attribute '__class__'"),
        ("{{ summary.__class__ }}", "the sandbox refused it"),
        ("{% for i in range(20000) %}{% for j in range(20000) %}{% endfor %}{% endfor %}", "longer than 0.5 s"),
        ('{{ "x" * 10000000 }}', "is over 20,000"),
        ('{{ "x"|center(1000000000) }}', "over the limit of 20,000"),
        ('{% for i in range(20000) %}{{ "ab" }}{% endfor %}', "longer than 20,000 characters"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ],
)
def test_prompts_that_would_fail_the_run_are_refused(prompt: str, reason: str) -> None:
    started = time.thread_time()  # CPU time: the render's budget is CPU time too, whatever the machine's load
    defs, errors = check_custom_definitions([], WS, [ai_query(prompt)], file="api")
    assert time.thread_time() - started < 2
    assert defs == []
    assert [(e.key, e.field) for e in errors] == [("asks", "ai_query_prompt")]
    assert reason in errors[0].message


def test_prompts_may_read_any_call_field_and_the_documented_variables() -> None:
    prompt = "{{ transcript }} {{ summary }} {{ call.anyFieldAtAll }} {{ call['other'] }} {{ labels|join(',') }}"
    defs, errors = check_custom_definitions([], WS, [ai_query(prompt)], file="api")
    assert errors == []
    assert [d.definition.key for d in defs] == ["asks"]


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write(tmp_path, f"workspaces/{WS}/bomb.yaml", "\n".join(lines) + "\nkey: bomb\n")
    started = time.perf_counter()
    catalog, errors = collect_catalog(tmp_path)
    assert time.perf_counter() - started < 1
    assert [(e.file, e.key, e.field) for e in errors] == [(str(path), "-", "-")]
    assert (
        errors[0].message == "not valid YAML (line 2, column 10): aliases (*name) are not allowed in definition files"
    )
    assert catalog.custom[WS] == []


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = write(tmp_path, f"workspaces/{WS}/big.yaml", "# " + "x" * MAX_FILE_BYTES + "\n")
    write(tmp_path, f"workspaces/{WS}/ok.yaml", yaml.safe_dump(classify(["a", "b"])))
    catalog, errors = collect_catalog(tmp_path)
    assert [(e.file, e.message) for e in errors] == [
        (str(path), f"file is {MAX_FILE_BYTES + 3:,} bytes; at most {MAX_FILE_BYTES:,} are read")
    ]
    assert [d.definition.key for d in catalog.custom[WS]] == ["topic"]


def test_100000_labels_are_refused_quickly() -> None:
    started = time.perf_counter()
    _, errors = check_custom_definitions([], WS, [classify([f"label_{i}" for i in range(100_000)])], file="api")
    assert time.perf_counter() - started < 1
    assert [(e.key, e.field) for e in errors] == [("topic", "ai_labels")]
    assert f"at most {MAX_LABELS} items" in errors[0].message


def test_label_sizes_are_bounded() -> None:
    labels = [{"name": "a", "examples": ["e"] * 21}, {"name": "b", "examples": ["x" * 501]}, {"name": "c" * 129}]
    _, errors = check_custom_definitions([], WS, [classify(labels)], file="api")
    assert sorted(e.field for e in errors) == [
        "ai_labels.0.label.examples",
        "ai_labels.1.label.examples.0",
        "ai_labels.2.label.name",
    ]


def test_duplicate_labels_are_found_in_linear_time() -> None:
    labels = [f"label_{i}" for i in range(MAX_LABELS - 1)] + ["label_0"]
    _, errors = check_custom_definitions([], WS, [classify(labels)], file="api")
    assert [(e.field, e.message) for e in errors] == [("ai_labels", "duplicate labels: label_0")]
