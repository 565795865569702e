"""The one loader of metric definitions: it reads the YAML files under ``metric_defs/`` (``builtin/``, shipped, and
``workspaces/<ws>/``, custom), checks each definition and then each set as a whole (unique keys, the custom
limit, ratio targets), and gives the :class:`MetricCatalog`. Every problem is reported at once as a
:class:`DefinitionError` naming file, metric key and field.

A workspace's invalid definitions harm only themselves: each is refused with its errors (and so is a ratio that
reads one), the workspace's other definitions and every other workspace load. Built-ins are the product's own:
one invalid built-in makes :func:`load_catalog` raise.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from metricstore.definitions import (
    MAX_CUSTOM_METRICS,
    POST_CALL_MARKERS,
    POST_CALL_NAMES,
    READ_ONLY_FIELDS,
    MetricDefinition,
    PostCallMetric,
    snake_key,
)
from metricstore.prompt_check import prompt_problem, sample_conversation
from metricstore.settings_schema import WorkspaceSettings

# A workspace's committed, not yet applied custom set (written by metricstore.settings_store; not *.yaml).
PENDING_DEFINITIONS = ".metrics.yaml.pending"
# The settings store's lock of a workspace folder: its writers hold it exclusively, the loader shares it.
SETTINGS_LOCK = ".settings.lock"


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
    """Raised by :func:`load_catalog` when a built-in definition is invalid (or the folder is missing); carries
    those errors."""

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
    """Every valid definition, built-in and custom, each workspace's settings, and what each workspace had
    refused: its invalid definitions (not in ``custom``) and an invalid ``workspace.yaml`` (defaults apply)."""

    builtins: list[LoadedDefinition] = field(default_factory=list)
    custom: dict[str, list[LoadedDefinition]] = field(default_factory=dict)
    settings: dict[str, WorkspaceSettings] = field(default_factory=dict)
    refused: dict[str, list[DefinitionError]] = field(default_factory=dict)

    @property
    def refusals(self) -> list[tuple[str, DefinitionError]]:
        """Every refused definition as (workspace, error), by workspace."""
        return [(ws, error) for ws in sorted(self.refused) for error in self.refused[ws]]

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


MAX_FILE_BYTES = 1024 * 1024  # one definition file (50 metrics of the largest sizes fit in far less)


class _DefinitionLoader(yaml.SafeLoader):
    """YAML without aliases: an alias is a reference, and a few nested ones expand into billions of nodes once
    read (an alias bomb); a definition file has no need of them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in definition files", mark)
        return super().compose_node(parent, index)


def _read_yaml(path: Path, errors: list[DefinitionError], rel: str) -> Any:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        errors.append(DefinitionError(rel, "-", "-", f"file is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read"))
        return None
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_DefinitionLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        errors.append(DefinitionError(rel, "-", "-", f"not valid YAML{where}: {problem}"))
    except UnicodeDecodeError as exc:
        errors.append(DefinitionError(rel, "-", "-", f"not UTF-8 text: {exc.reason}"))
    return None


@dataclass(frozen=True)
class _Item:
    """One raw definition, the file it came from, and the label its errors carry: its key (or the key its
    post-call name gives), else its position ``#N``."""

    file: str
    label: str
    raw: Any


def _item(file: str, index: int, raw: Any) -> _Item:
    label = f"#{index}"
    if isinstance(raw, dict):
        if POST_CALL_MARKERS & raw.keys():
            name = raw.get("name")
            label = (snake_key(name) if isinstance(name, str) else None) or label
        elif raw.get("key"):
            label = str(raw["key"])
    return _Item(file, label, raw)


def _file_items(path: Path, errors: list[DefinitionError]) -> list[_Item]:
    """The raw definitions of one file: one mapping, or a ``metrics:`` list."""
    rel = str(path)
    raw = _read_yaml(path, errors, rel)
    if raw is None:
        return []
    if isinstance(raw, dict) and set(raw) == {"metrics"}:
        items = raw["metrics"]
        if not isinstance(items, list):
            errors.append(DefinitionError(rel, "-", "metrics", "must be a list of definitions"))
            return []
        return [_item(rel, index, item) for index, item in enumerate(items)]
    if isinstance(raw, dict):
        return [_item(rel, 0, raw)]
    errors.append(DefinitionError(rel, "-", "-", "a definition file holds a mapping or a `metrics:` list"))
    return []


def _validation_errors(
    exc: ValidationError, rel: str, key: str, names: dict[str, str] | None = None
) -> list[DefinitionError]:
    """One error per problem; ``names`` renames fields to those the user wrote (the post-call shape's)."""
    names = names or {}
    found = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "-"
        message = str(err["msg"]).removeprefix("Value error, ")
        if loc == "-" and err["type"] == "value_error":
            # Our model validator packs "field: message | field: message".
            for part in message.split(" | "):
                fld, _, msg = part.partition(": ")
                found.append(DefinitionError(rel, key, names.get(fld, fld), msg))
            continue
        found.append(DefinitionError(rel, key, names.get(loc, loc), message))
    return found


def _from_post_call(item: _Item, raw: dict[str, Any], errors: list[DefinitionError]) -> dict[str, Any] | None:
    """The metric-store shape of a definition given in the post-call shape, or None after reporting its errors."""
    try:
        shape: PostCallMetric | None = PostCallMetric.model_validate(raw)
        found = []
    except ValidationError as exc:
        shape, found = None, _validation_errors(exc, item.file, item.label)
    name = raw.get("name")
    key = snake_key(name) if isinstance(name, str) else None
    if isinstance(name, str) and key is None and not any(e.field == "name" for e in found):
        found.append(
            DefinitionError(
                item.file,
                item.label,
                "name",
                f"'{name}' gives no metric key: in snake_case it must start with a letter, "
                "hold only a-z, 0-9 and _, and be at most 64 long",
            )
        )
    errors.extend(found)
    return shape.as_definition(key) if shape is not None and key is not None and not found else None


def _parse_item(item: _Item, workspace_id: str | None, errors: list[DefinitionError]) -> LoadedDefinition | None:
    """Validate one raw definition on its own (a custom one may be in the post-call shape); report its errors."""
    rel, label, raw = item.file, item.label, item.raw
    if not isinstance(raw, dict):
        errors.append(DefinitionError(rel, label, "-", "a definition is a mapping of fields"))
        return None
    custom = workspace_id is not None
    post_call = sorted(POST_CALL_MARKERS & raw.keys())
    names: dict[str, str] = {}
    if post_call:
        if not custom:
            errors.append(
                DefinitionError(
                    rel,
                    label,
                    post_call[0],
                    "built-in definitions take the metric-store shape (key, metric_type, extraction_mode, …), "
                    "not the post-call one",
                )
            )
            return None
        converted = _from_post_call(item, raw, errors)
        if converted is None:
            return None
        raw, names = converted, POST_CALL_NAMES
    # Checked on the raw mapping so it is reported together with the definition's other errors.
    refused = []
    if custom and raw.get("extraction_mode") == "sql_expr":
        refused.append(DefinitionError(rel, label, "extraction_mode", "sql_expr is for built-in metrics only"))
    if custom and raw.get("post_call_default") is True:
        refused.append(DefinitionError(rel, label, "post_call_default", "only built-in metrics are post-call defaults"))
    errors.extend(refused)
    try:
        definition = MetricDefinition.model_validate(raw)
    except ValidationError as exc:
        errors.extend(_validation_errors(exc, rel, label, names))
        return None
    # What the run will do with the prompt, done now on a sample conversation: it must render.
    problem = prompt_problem(definition, sample_conversation(definition)) if definition.ai_query_prompt else None
    if problem is not None:
        refused.append(DefinitionError(rel, label, names.get("ai_query_prompt", "ai_query_prompt"), problem))
        errors.append(refused[-1])
    return None if refused else LoadedDefinition(definition, rel, workspace_id)


def _check_definitions(
    items: list[_Item], workspace_id: str | None, builtins: list[LoadedDefinition], errors: list[DefinitionError]
) -> list[LoadedDefinition]:
    """Validate a set of definitions, the built-ins (``workspace_id`` None) or one workspace's custom ones: each
    on its own, then together: keys unique (a custom key also against ``builtins``), at most
    MAX_CUSTOM_METRICS custom ones, ratio targets in the set or the built-ins. Reports every error; returns the
    definitions that have none."""
    parsed = [(index, _parse_item(item, workspace_id, errors)) for index, item in enumerate(items)]
    defs = [d for _, d in parsed if d is not None]
    duplicates = _duplicates(defs, builtins)
    errors.extend(error for _, error in duplicates)
    over_limit: list[LoadedDefinition] = []
    if workspace_id is not None and len(items) > MAX_CUSTOM_METRICS:
        over = items[MAX_CUSTOM_METRICS]
        message = f"workspace {workspace_id} has {len(items)} custom metrics; at most {MAX_CUSTOM_METRICS} are allowed"
        errors.append(DefinitionError(over.file, over.label, "-", message))
        over_limit = [d for index, d in parsed if d is not None and index >= MAX_CUSTOM_METRICS]
    dropped = {id(d) for d, _ in duplicates} | {id(d) for d in over_limit}
    kept = [d for d in defs if id(d) not in dropped]
    # A ratio reads two metrics' aggregates: one that is refused takes the ratio with it, said so by name.
    refused = {item.label for (_, d), item in zip(parsed, items, strict=True) if d is None or id(d) in dropped}
    ratios = _ratio_errors(kept, {d.definition.key: d for d in builtins + kept}, refused)
    errors.extend(error for _, error in ratios)
    unusable = {id(d) for d, _ in ratios}
    return [d for d in kept if id(d) not in unusable]


def _duplicates(
    defs: list[LoadedDefinition], builtins: list[LoadedDefinition]
) -> list[tuple[LoadedDefinition, DefinitionError]]:
    seen = {d.definition.key: d for d in builtins}
    found = []
    for d in defs:
        key = d.definition.key
        if key in seen:
            where = "a built-in metric" if seen[key].builtin and not d.builtin else seen[key].file
            found.append((d, DefinitionError(d.file, key, "key", f"duplicate key: also defined in {where}")))
        else:
            seen[key] = d
    return found


def _ratio_errors(
    defs: list[LoadedDefinition], scope: dict[str, LoadedDefinition], refused: set[str]
) -> list[tuple[LoadedDefinition, DefinitionError]]:
    found = []
    for d in defs:
        ratio = d.definition.ratio_of
        for role in ("numerator", "denominator") if ratio is not None else ():
            target = getattr(ratio, role)
            if target not in scope and target in refused:
                problem = f"'{target}' is refused (see its own errors), so this ratio cannot be computed"
            elif target not in scope:
                problem = f"no metric '{target}'"
            elif scope[target].definition.aggregation == "ratio":
                problem = f"'{target}' is itself a ratio"
            else:
                continue
            found.append((d, DefinitionError(d.file, d.definition.key, f"ratio_of.{role}", problem)))
    return found


def check_custom_definitions(
    builtins: list[LoadedDefinition], workspace_id: str, items: list[Any], *, file: str
) -> tuple[list[LoadedDefinition], list[DefinitionError]]:
    """Validate one workspace's custom definitions (each item a mapping in the metric-store or the post-call shape)
    as the loader does: every field rule, sql_expr/post_call_default refused for custom metrics, duplicate keys
    (among themselves and against the built-ins), at most 50, ratio targets. Returns the definitions that are
    valid and every error (file, key, field, message)."""
    errors: list[DefinitionError] = []
    # A client may send back what a GET returned, read-only fields included.
    bare = [{k: v for k, v in i.items() if k not in READ_ONLY_FIELDS} if isinstance(i, dict) else i for i in items]
    defs = _check_definitions(
        [_item(file, index, raw) for index, raw in enumerate(bare)], workspace_id, builtins, errors
    )
    return defs, errors


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_catalog(root: Path) -> MetricCatalog:
    """The catalog a run computes (and the API, the CLI read): every valid definition under ``root``, each
    workspace's invalid ones in ``catalog.refused``. Raise :class:`DefinitionsInvalid` when a built-in is invalid:
    those are the product's own, and every workspace reads them."""
    catalog, errors = collect_catalog(root)
    refused = {id(error) for _, error in catalog.refusals}
    builtin_errors = [error for error in errors if id(error) not in refused]
    if builtin_errors:
        raise DefinitionsInvalid(builtin_errors)
    return catalog


def collect_catalog(root: Path) -> tuple[MetricCatalog, list[DefinitionError]]:
    """Load every valid definition under ``root`` and return it with every error found, the set-wide ones
    (duplicate keys, limits, ratio targets) included (each workspace's also in ``catalog.refused``); use
    :func:`load_catalog` to run."""
    errors: list[DefinitionError] = []
    catalog = MetricCatalog()
    if not root.is_dir():
        errors.append(DefinitionError(str(root), "-", "-", "metric definitions folder not found"))
        return catalog, errors
    builtin_items = [item for path in _yaml_files(root / "builtin") for item in _file_items(path, errors)]
    catalog.builtins = _check_definitions(builtin_items, None, [], errors)
    workspaces = root / "workspaces"
    for ws_dir in sorted(p for p in workspaces.iterdir() if p.is_dir()) if workspaces.is_dir() else []:
        ws = ws_dir.name
        ws_errors: list[DefinitionError] = []
        items: list[_Item] = []
        # A settings change committed but not yet applied (metricstore.settings_store, killed mid-write) is the
        # workspace's whole custom set: read it instead of the files it replaces, never a mix of old and new.
        pending = ws_dir / PENDING_DEFINITIONS
        with _reading(ws_dir):  # not while a settings change replaces the files
            committed = pending.is_file()
            for path in _yaml_files(ws_dir):
                if path.name == "workspace.yaml" and path.parent == ws_dir:
                    _load_settings(path, ws, catalog, ws_errors)
                elif not committed:
                    items += _file_items(path, ws_errors)
            if committed:
                items = _file_items(pending, ws_errors)
        # the same check the settings API runs on a custom set sent as JSON (check_custom_definitions)
        catalog.custom[ws] = _check_definitions(items, ws, catalog.builtins, ws_errors)
        if ws_errors:
            catalog.refused[ws] = ws_errors
        errors += ws_errors
    return catalog, errors


# The workspace folders whose settings lock this thread holds exclusively (it reads them without waiting on itself).
_WRITING = threading.local()


@contextmanager
def settings_write_lock(ws_dir: Path) -> Iterator[None]:
    """Hold the workspace's settings lock exclusively: readers of its definitions wait until the change is done."""
    held: set[Path] = _WRITING.__dict__.setdefault("folders", set())
    with (ws_dir / SETTINGS_LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, also if the process dies
        held.add(ws_dir.resolve())
        try:
            yield
        finally:
            held.discard(ws_dir.resolve())


@contextmanager
def _reading(ws_dir: Path) -> Iterator[None]:
    """Share the workspace's settings lock while its files are read (a folder the settings API never wrote has
    no lock file, and no writer to wait for; the thread that is writing it reads without waiting on itself)."""
    lock = ws_dir / SETTINGS_LOCK
    if ws_dir.resolve() in _WRITING.__dict__.get("folders", set()) or not lock.is_file():
        yield
        return
    with lock.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)  # released when the file closes
        yield


def _load_settings(path: Path, ws: str, catalog: MetricCatalog, errors: list[DefinitionError]) -> None:
    _, settings, found = read_workspace_settings(path)
    errors.extend(found)
    if settings is not None:
        catalog.settings[ws] = settings


def read_workspace_settings(path: Path) -> tuple[Any, WorkspaceSettings | None, list[DefinitionError]]:
    """A workspace's ``workspace.yaml``: its YAML as read (None when empty or unreadable), the settings it gives
    (None when invalid: the defaults apply) and every error, each naming the field (``webhook.url``)."""
    errors: list[DefinitionError] = []
    raw = _read_yaml(path, errors, str(path))
    try:
        return raw, WorkspaceSettings.model_validate(raw or {}), errors
    except ValidationError as exc:
        return raw, None, errors + _validation_errors(exc, str(path), "workspace")


class DefinitionFile(BaseModel):
    """The shape of a definition file: one definition, or a ``metrics:`` list (for the JSON Schema). Custom
    files may also give a definition in the post-call shape."""

    model_config = ConfigDict(extra="forbid")
    metrics: list[MetricDefinition | PostCallMetric]


def definition_file_schema() -> dict[str, Any]:
    """JSON Schema for a definition file: one definition (in a custom file also in the post-call shape) or a
    ``metrics:`` list."""
    single = MetricDefinition.model_json_schema()
    listed = DefinitionFile.model_json_schema()
    defs = {**single.pop("$defs", {}), **listed.pop("$defs", {})}
    defs["MetricDefinition"] = single
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://metricstore.dev/schema/metric-definitions.json",
        "title": "metricstore metric definition file",
        "anyOf": [
            {"$ref": "#/$defs/MetricDefinition"},
            {"$ref": "#/$defs/PostCallMetric"},
            {**listed, "title": "DefinitionFile"},
        ],
        "$defs": defs,
    }
