"""The Jinja sandbox ``ai_query_prompt`` templates render in, with limits on what one render may cost.

Jinja's :class:`~jinja2.sandbox.SandboxedEnvironment` refuses unsafe attributes (``__class__``, ``mro``, …), but
a template can still ask for unbounded work: nested loops, ``"x" * 10**9``, ``"x"|center(10**9)``,
``"%999999999d" % 1``. Here every render has a time budget (checked on every line the template's code runs,
through ``sys.settrace``, so loops with no output are bounded too) and an output budget (checked on every
chunk it yields), and the operations that make a huge string in one C call are refused before they run: a
repetition or a power whose result is too large, and any number argument of a call or a filter above
:data:`MAX_PROMPT_CHARS` (widths, counts, ``range``).
"""

from __future__ import annotations

import functools
import gc
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

MAX_PROMPT_CHARS = 20_000  # one rendered prompt (its template is at most 8,000 characters)
MAX_RENDER_SECONDS = 0.5
"""CPU time one render may use, less the garbage collections that run in it (:func:`_count_collection`): a prompt
renders in about a millisecond; this is for loops that never end. Neither the clock nor the collector is the
render's time: in a run, a full collection of the process's objects takes 0.4-0.5 s, and when one started inside a
render, that conversation's value failed for the hour (seen in 1 or 2 of 5,073 evaluations of a demo day)."""
MAX_POWER_BITS = 10_000

# A printf width or precision (`%9d`, `%.9f`, `%*d`) or a str.format spec (`{:>9}`): where one operation can
# make a string of any length.
_PRINTF_SPEC = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_FIELD = re.compile(r"\{[^{}]*\}")


class PromptRefused(Exception):
    """A prompt template asked for more than a render may cost, or for something the sandbox forbids."""


def _check_number(value: Any, what: str) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_PROMPT_CHARS:
        raise PromptRefused(f"{what} {value} is over the limit of {MAX_PROMPT_CHARS:,}")


def _check_printf(fmt: str) -> None:
    for width, precision in _PRINTF_SPEC.findall(fmt):
        for part in (width, precision):
            if part == "*":
                raise PromptRefused("a '*' width in a % format is not allowed in prompts")
            if part:
                _check_number(int(part), "a format width of")


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    # a filter marked pass_context / pass_environment / pass_eval_context gets that first, then the value
    first = 1 if hasattr(func, "jinja_pass_arg") else 0

    @functools.wraps(func)  # keeps that mark
    def bounded(*args: Any, **kwargs: Any) -> Any:
        value, arguments = args[first : first + 1], args[first + 1 :]
        for argument in (*arguments, *kwargs.values()):  # the value itself may be any number
            _check_number(argument, f"an argument of filter '{name}',")
        if name == "format" and value and isinstance(value[0], str):
            _check_printf(value[0])
        return func(*args, **kwargs)

    return bounded


class PromptSandbox(SandboxedEnvironment):
    """The sandbox, with the operations that can make an unbounded string in one step bounded."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, func) for name, func in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``**`` and ``%`` with their result's size checked before it is made."""
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_PROMPT_CHARS
                ):
                    raise PromptRefused(f"repeating {len(seq)} items {times} times is over {MAX_PROMPT_CHARS:,}")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            if abs(left).bit_length() * right > MAX_POWER_BITS:
                raise PromptRefused(f"{left} ** {right} is too large a number for a prompt")
        elif operator == "%" and isinstance(left, str):
            _check_printf(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Every call a template makes (methods, ``range``, ``lipsum``…), number arguments bounded."""
        for value in (*args, *kwargs.values()):
            _check_number(value, "a number argument of")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` / ``format_map`` in a template: the widths in its fields bounded."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None and isinstance(value.__self__, str):
            for fld in _FORMAT_FIELD.findall(value.__self__):
                for digits in re.findall(r"\d+", fld):
                    _check_number(int(digits), "a format width of")
        return wrapped


_collections = threading.local()


def _count_collection(phase: str, info: dict[str, int]) -> None:
    """A ``gc.callbacks`` entry: the CPU time of every garbage collection, added to the tally of the thread it runs
    in (:func:`_collected_seconds`)."""
    if phase == "start":
        _collections.started = time.thread_time()
    else:
        now = time.thread_time()
        _collections.seconds = _collected_seconds() + now - getattr(_collections, "started", now)


def _collected_seconds() -> float:
    return float(getattr(_collections, "seconds", 0.0))


gc.callbacks.append(_count_collection)


def render_bounded(template: Template, variables: Mapping[str, Any]) -> str:
    """``template`` rendered with ``variables``, refused (:class:`PromptRefused`) past MAX_RENDER_SECONDS of the
    thread's CPU time or MAX_PROMPT_CHARS of output."""
    cpu_start, collected_start = time.thread_time(), _collected_seconds()
    deadline = time.perf_counter() + MAX_RENDER_SECONDS
    expired = False
    template_code = template.filename or "<template>"  # the file name Jinja compiles a template's code under

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        # Only the template's own frames are traced, and only they raise: its loops are where a render spends its
        # time. Any other frame may be a garbage collection's callback (this module's, or another library's), where
        # the collector swallows an exception, and the render would go on unbounded.
        # The clock is read on every line (cheap); the thread's CPU time (a system call, about 15x dearer) only when
        # the clock passes the deadline. A thread uses no more CPU than the clock passes, so the next look at the
        # CPU time is due no later than the budget can run out.
        nonlocal expired, deadline
        if expired or frame.f_code.co_filename != template_code:  # raised once; the unwinding frames are not traced
            return None
        if time.perf_counter() > deadline:
            spent = time.thread_time() - cpu_start - (_collected_seconds() - collected_start)
            if spent > MAX_RENDER_SECONDS:
                expired = True
                raise PromptRefused(f"rendering took longer than {MAX_RENDER_SECONDS} s of CPU time")
            deadline = time.perf_counter() + MAX_RENDER_SECONDS - spent
        return trace

    previous = sys.gettrace()  # a debugger's or coverage's tracer is put back afterwards
    parts: list[str] = []
    size = 0
    sys.settrace(trace)
    try:
        for chunk in template.generate(**variables):
            size += len(chunk)
            if size > MAX_PROMPT_CHARS:
                raise PromptRefused(f"the rendered prompt is longer than {MAX_PROMPT_CHARS:,} characters")
            parts.append(chunk)
    finally:
        sys.settrace(previous)
    return "".join(parts)
