"""Schema-driven fake answers: deterministic JSON-schema instances, quotes of the user text, the default responder."""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from metricstore.testing.fake_claude.prompt import _answer_schema, _dumps, _request_seed, _user_texts

Responder = Callable[[dict[str, Any]], str | dict[str, Any]]
"""`responder(request_body) -> answer text, or a dict to be JSON-dumped`."""

_MAX_DEPTH: Final = 12
_WORDS: Final = (
    "customer",
    "agent",
    "account",
    "billing",
    "issue",
    "request",
    "resolved",
    "follow",
    "update",
    "clear",
    "polite",
    "refund",
    "order",
    "support",
    "callback",
    "detail",
    "confirmed",
    "question",
    "answer",
    "summary",
)

_HINT_KEYS: Final = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength"}
    | {"minItems", "maxItems"}
)
_HINT_RE: Final = re.compile(r"\{([^{}]*)\}\s*$")
_ROLE_PREFIX_RE: Final = re.compile(r"^\s*[A-Za-z][\w-]{0,24}(?: [A-Za-z][\w-]{0,24})?:\s+")


def _description_hints(schema: Mapping[str, Any]) -> dict[str, float]:
    """Numeric constraints the SDK's `transform_schema` moved into the description as `{key: value, ...}`."""
    description = schema.get("description")
    if not isinstance(description, str):
        return {}
    match = _HINT_RE.search(description)
    if not match:
        return {}
    hints: dict[str, float] = {}
    for part in match.group(1).split(", "):
        key, sep, value = part.partition(": ")
        if sep and key.strip() in _HINT_KEYS:
            try:
                hints[key.strip()] = float(value)
            except ValueError:
                continue
    return hints


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _is_null_schema(schema: Mapping[str, Any]) -> bool:
    return (
        schema.get("type") == "null" or ("const" in schema and schema["const"] is None) or schema.get("enum") == [None]
    )


def _is_quote_name(name: str) -> bool:
    lowered = name.lower()
    return "evidence" in lowered or "quote" in lowered


def _merge_schemas(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for key, value in b.items():
        if key == "properties" and isinstance(value, dict):
            merged[key] = {**(merged.get(key) or {}), **value}
        elif key == "required" and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*(merged.get(key) or []), *value]))
        elif key not in merged:
            merged[key] = value
    return merged


class _Quotes:
    """Verbatim word spans of the user text, preferring `role: text` transcript lines."""

    def __init__(self, texts: Sequence[str]) -> None:
        prefixed: list[tuple[str, list[tuple[int, int]]]] = []
        plain: list[tuple[str, list[tuple[int, int]]]] = []
        for text in texts:
            for line_match in re.finditer(r"[^\r\n]+", text):
                line = line_match.group(0)
                prefix = _ROLE_PREFIX_RE.match(line)
                offset = prefix.end() if prefix else 0
                words = [(m.start() + offset, m.end() + offset) for m in re.finditer(r"\S+", line[offset:])]
                if words:
                    (prefixed if prefix else plain).append((line, words))
        long_prefixed = [entry for entry in prefixed if len(entry[1]) >= 5]
        long_plain = [entry for entry in plain if len(entry[1]) >= 5]
        longest = sorted(prefixed + plain, key=lambda entry: -len(entry[1]))[:1]
        self._lines = long_prefixed or long_plain or longest

    @property
    def available(self) -> bool:
        return bool(self._lines)

    def pick(self, rand: int) -> str:
        line, words = self._lines[rand % len(self._lines)]
        rand //= len(self._lines)
        length = min(len(words), 5 + rand % 8)
        rand //= 8
        start = rand % (len(words) - length + 1)
        return line[words[start][0] : words[start + length - 1][1]]


class _Faker:
    def __init__(self, root: Mapping[str, Any], seed: bytes, user_texts: Sequence[str]) -> None:
        self._root = root
        self._seed = seed
        self._quotes = _Quotes(user_texts)

    def rand(self, path: str, salt: str = "") -> int:
        digest = hashlib.sha256(self._seed + b"\x00" + f"{path}|{salt}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    def _lookup(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            return {}
        node: Any = self._root
        for raw in ref[1:].split("/"):
            if not raw:
                continue
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return cast(dict[str, Any], node) if isinstance(node, dict) else {}

    def resolve(self, schema: Any) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {}
        for _ in range(32):
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                break
            schema = {**self._lookup(ref), **{k: v for k, v in schema.items() if k != "$ref"}}
        return cast(dict[str, Any], schema)

    def gen(self, raw: Any, path: str, name: str, depth: int) -> Any:
        schema = self.resolve(raw)
        schema = {**_description_hints(schema), **schema}
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[self.rand(path) % len(enum)]
        for key in ("anyOf", "oneOf"):
            alternatives = schema.get(key)
            if isinstance(alternatives, list) and alternatives:
                resolved = [self.resolve(a) for a in alternatives]
                non_null = [a for a in resolved if not _is_null_schema(a)]
                if depth >= _MAX_DEPTH and len(non_null) < len(resolved):
                    return None
                return self.gen(non_null[0] if non_null else resolved[0], path, name, depth)
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and all_of:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for sub in all_of:
                merged = _merge_schemas(merged, self.resolve(sub))
            return self.gen(merged, path, name, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null_kinds = [k for k in kind if k != "null"]
            if not non_null_kinds or (depth >= _MAX_DEPTH and "null" in kind):
                return None
            kind = non_null_kinds[0]
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            return self._object(schema, path, depth)
        if kind == "array":
            return self._array(schema, path, name, depth)
        if kind == "integer":
            return self._integer(schema, path)
        if kind == "number":
            return self._number(schema, path)
        if kind == "boolean":
            return self.rand(path) % 2 == 0
        if kind == "null":
            return None
        return self._string(schema, path, name)

    def _object(self, schema: Mapping[str, Any], path: str, depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        out: dict[str, Any] = {}
        for key, sub in properties.items():
            if depth >= _MAX_DEPTH and key not in required:
                continue
            out[key] = self.gen(sub, f"{path}/{key}", key, depth + 1)
        for key in required:
            if key not in out:
                out[key] = self._string({}, f"{path}/{key}", key)
        return out

    def _array(self, schema: Mapping[str, Any], path: str, name: str, depth: int) -> list[Any]:
        prefix_items = schema.get("prefixItems")
        if isinstance(prefix_items, list) and prefix_items:
            return [self.gen(sub, f"{path}/{i}", name, depth + 1) for i, sub in enumerate(prefix_items)]
        min_items = int(_num(schema.get("minItems")) or 0)
        max_raw = _num(schema.get("maxItems"))
        max_items = None if max_raw is None else int(max_raw)
        if depth >= _MAX_DEPTH:
            n = min_items
        else:
            lo = max(1, min_items)
            hi = max(lo, 3 if max_items is None else min(3, max_items))
            n = lo + self.rand(path, "n") % (hi - lo + 1)
        if max_items is not None:
            n = min(n, max_items)
        items = self.resolve(schema.get("items", {}))
        unique = schema.get("uniqueItems") is True
        enum = items.get("enum")
        if unique and isinstance(enum, list) and enum:
            start = self.rand(path)
            return [enum[(start + i) % len(enum)] for i in range(min(n, len(enum)))]
        if _is_quote_name(name) and items.get("type", "string") == "string" and self._quotes.available:
            values: list[Any] = []
            for attempt in range(4 * n):
                quote = self._quotes.pick(self.rand(f"{path}/{len(values)}", str(attempt)))
                if quote not in values or attempt >= 3 * n:
                    values.append(self._fit_length(quote, items))
                if len(values) == n:
                    break
            return values
        out = [self.gen(items, f"{path}/{i}", name, depth + 1) for i in range(n)]
        if unique:
            seen: dict[str, Any] = {}
            for value in out:
                seen.setdefault(_dumps(value), value)
            out = list(seen.values())
        return out

    def _integer(self, schema: Mapping[str, Any], path: str) -> int:
        lo, hi = _num(schema.get("minimum")), _num(schema.get("maximum"))
        ex_lo, ex_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        ilo = None if lo is None else math.ceil(lo)
        ihi = None if hi is None else math.floor(hi)
        if _num(ex_lo) is not None:
            ilo = max(ilo if ilo is not None else -(2**62), math.floor(cast(float, _num(ex_lo))) + 1)
        elif ex_lo is True and lo is not None and ilo == lo:
            ilo = int(lo) + 1
        if _num(ex_hi) is not None:
            ihi = min(ihi if ihi is not None else 2**62, math.ceil(cast(float, _num(ex_hi))) - 1)
        elif ex_hi is True and hi is not None and ihi == hi:
            ihi = int(hi) - 1
        if ilo is None and ihi is None:
            ilo, ihi = 0, 10
        elif ilo is None:
            ilo = cast(int, ihi) - 10
        elif ihi is None:
            ihi = ilo + 10
        assert ilo is not None and ihi is not None
        multiple = _num(schema.get("multipleOf"))
        if multiple and multiple > 0 and float(multiple).is_integer():
            m = int(multiple)
            klo, khi = -(-ilo // m), ihi // m
            if klo <= khi:
                return (klo + self.rand(path) % (khi - klo + 1)) * m
        if ilo > ihi:
            return ilo
        return ilo + self.rand(path) % (ihi - ilo + 1)

    def _number(self, schema: Mapping[str, Any], path: str) -> float:
        lo, hi = _num(schema.get("minimum")), _num(schema.get("maximum"))
        lo_ex = hi_ex = False
        ex_lo, ex_hi = _num(schema.get("exclusiveMinimum")), _num(schema.get("exclusiveMaximum"))
        if ex_lo is not None and (lo is None or ex_lo >= lo):
            lo, lo_ex = ex_lo, True
        elif schema.get("exclusiveMinimum") is True:
            lo_ex = True
        if ex_hi is not None and (hi is None or ex_hi <= hi):
            hi, hi_ex = ex_hi, True
        elif schema.get("exclusiveMaximum") is True:
            hi_ex = True
        if lo is None and hi is None:
            lo, hi = 0.0, 100.0
        elif lo is None:
            lo = cast(float, hi) - 100.0
        elif hi is None:
            hi = lo + 100.0
        assert lo is not None and hi is not None
        multiple = _num(schema.get("multipleOf"))
        if multiple and multiple > 0:
            klo, khi = math.ceil(lo / multiple - 1e-9), math.floor(hi / multiple + 1e-9)
            if lo_ex and klo * multiple <= lo:
                klo += 1
            if hi_ex and khi * multiple >= hi:
                khi -= 1
            if klo <= khi:
                return round((klo + self.rand(path) % (khi - klo + 1)) * multiple, 10)
        clo, chi = math.ceil(lo * 100), math.floor(hi * 100)
        if lo_ex and clo / 100 <= lo:
            clo += 1
        if hi_ex and chi / 100 >= hi:
            chi -= 1
        if clo > chi:
            return (lo + hi) / 2
        return (clo + self.rand(path) % (chi - clo + 1)) / 100

    def _fit_length(self, value: str, schema: Mapping[str, Any]) -> str:
        min_len = int(_num(schema.get("minLength")) or 0)
        max_raw = _num(schema.get("maxLength"))
        while len(value) < min_len:
            value += " lorem"
        if max_raw is not None and len(value) > int(max_raw):
            value = value[: int(max_raw)]
        return value

    def _string(self, schema: Mapping[str, Any], path: str, name: str) -> str:
        r = self.rand(path)
        fmt = schema.get("format")
        base = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=r % (60 * 24 * 365))
        if _is_quote_name(name) and self._quotes.available:
            value = self._quotes.pick(r)
        elif fmt == "date-time":
            value = base.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif fmt == "date":
            value = base.strftime("%Y-%m-%d")
        elif fmt == "time":
            value = base.strftime("%H:%M:%S")
        elif fmt == "duration":
            value = f"PT{1 + r % 120}M"
        elif fmt == "email":
            value = f"user{r % 10000}@example.com"
        elif fmt in ("uri", "url"):
            value = f"https://example.com/{r % 1_000_000:06d}"
        elif fmt == "hostname":
            value = f"host{r % 1000}.example.com"
        elif fmt == "ipv4":
            value = f"10.{r % 256}.{(r >> 8) % 256}.{(r >> 16) % 256}"
        elif fmt == "ipv6":
            value = f"2001:db8::{r % 65536:x}"
        elif fmt == "uuid":
            value = str(uuid.UUID(int=r << 64 | self.rand(path, "uuid"), version=4))
        else:
            count = 3 + r % 6
            words = [_WORDS[(r >> (4 * i)) % len(_WORDS)] for i in range(1, count + 1)]
            value = " ".join(words).capitalize()
        return self._fit_length(value, schema)


def fake_instance(schema: Mapping[str, Any], *, seed: bytes | str = b"", user_texts: Sequence[str] = ()) -> Any:
    """A deterministic valid instance of a JSON schema (the default responder's generator)."""
    seed_bytes = seed.encode() if isinstance(seed, str) else seed
    return _Faker(schema, seed_bytes, user_texts).gen(schema, "#", "", 0)


def default_responder(body: dict[str, Any]) -> str:
    """The default answer: a schema instance as JSON if the request has a schema, else a short sentence."""
    schema = _answer_schema(body)
    seed = _request_seed(body, schema)
    if schema is not None:
        return json.dumps(_Faker(schema, seed, _user_texts(body)).gen(schema, "#", "", 0), ensure_ascii=False)
    return f"This is a deterministic answer from FakeClaude (ref {seed.hex()[:12]})."
