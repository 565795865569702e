"""A request's prompt as ordered text pieces, the token rule, and what a request asks for (marker, tool, schema)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, cast

_MARKER_RE: Final = re.compile(r"\[\[fake:(429|529|500|timeout|malformed|refusal|truncated)\]\]")


def tokens_for_chars(n_chars: int) -> int:
    """The token rule: ceil(characters / 4)."""
    return -(-n_chars // 4) if n_chars > 0 else 0


@dataclass(frozen=True)
class _Piece:
    kind: str  # "tool" | "system" | "user" | "assistant"
    text: str
    cache_control: dict[str, Any] | None


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _cache_control(block: Mapping[str, Any]) -> dict[str, Any] | None:
    cc = block.get("cache_control")
    return cc if isinstance(cc, dict) and cc.get("type") == "ephemeral" else None


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return _dumps(block)
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind in ("tool_use", "server_tool_use"):
        return f"{block.get('name', '')}{_dumps(block.get('input', {}))}"
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return "".join(_block_text(b) for b in content)
        return "" if content is None else str(content)
    if kind == "thinking":
        return str(block.get("thinking", ""))
    if kind == "redacted_thinking":
        return str(block.get("data", ""))
    if kind == "document":
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "text":
            return str(source.get("data", ""))
        if isinstance(source, dict) and source.get("type") == "content":
            inner = source.get("content")
            return inner if isinstance(inner, str) else "".join(_block_text(b) for b in inner or [])
    return _dumps({k: v for k, v in block.items() if k != "cache_control"})


def _pieces(body: Mapping[str, Any]) -> list[_Piece]:
    pieces: list[_Piece] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            rest = {k: v for k, v in tool.items() if k != "cache_control"}
            pieces.append(_Piece("tool", _dumps(rest), _cache_control(tool)))
    system = body.get("system")
    if isinstance(system, str):
        pieces.append(_Piece("system", system, None))
    elif isinstance(system, list):
        for block in system:
            cc = _cache_control(block) if isinstance(block, dict) else None
            pieces.append(_Piece("system", _block_text(block), cc))
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role", "user"))
        content = message.get("content")
        if isinstance(content, str):
            pieces.append(_Piece(role, content, None))
        elif isinstance(content, list):
            for block in content:
                cc = _cache_control(block) if isinstance(block, dict) else None
                pieces.append(_Piece(role, _block_text(block), cc))
    top = body.get("cache_control")
    if isinstance(top, dict) and top.get("type") == "ephemeral" and pieces and pieces[-1].cache_control is None:
        pieces[-1] = replace(pieces[-1], cache_control=top)
    return pieces


def count_input_tokens(body: Mapping[str, Any]) -> int:
    """Input tokens of a request by the token rule: ceil(characters of tools + system + messages / 4)."""
    return tokens_for_chars(sum(len(p.text) for p in _pieces(body)))


def _user_texts(body: Mapping[str, Any]) -> list[str]:
    texts: list[str] = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") in ("text", "document"):
                    texts.append(_block_text(block))
    return texts


def _message_pieces(body: Mapping[str, Any]) -> list[_Piece]:
    return [p for p in _pieces(body) if p.kind in ("user", "assistant")]


def _marker_fault(body: Mapping[str, Any]) -> str | None:
    for piece in _message_pieces(body):
        match = _MARKER_RE.search(piece.text)
        if match:
            return match.group(1)
    return None


def _forced_tool(body: Mapping[str, Any]) -> dict[str, Any] | None:
    choice = body.get("tool_choice")
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    if not isinstance(choice, dict) or not tools:
        return None
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), None)
    if choice.get("type") == "any":
        return tools[0]
    return None


def _answer_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    for key in ("output_config", "output_format"):
        container = body.get(key)
        fmt = container.get("format") if key == "output_config" and isinstance(container, dict) else container
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
            return cast(dict[str, Any], fmt["schema"])
    tool = _forced_tool(body)
    if tool is not None:
        schema = tool.get("input_schema")
        return cast(dict[str, Any], schema) if isinstance(schema, dict) else {"type": "object"}
    return None


def _request_seed(body: Mapping[str, Any], schema: Any) -> bytes:
    transcript = [[p.kind, p.text] for p in _message_pieces(body)]
    return hashlib.sha256(_dumps({"messages": transcript, "schema": schema}).encode()).digest()
