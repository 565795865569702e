"""Printing query results as aligned plain-text tables."""

from __future__ import annotations

from datetime import datetime

import click


def cell(value: object) -> str:
    """One value as a table cell: – for none, dates to the minute, long text cut at 60 characters."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def echo_table(headers: list[str], rows: list[list[object]], *, empty: str = "(no rows)") -> None:
    """Print rows under their headers in aligned columns, or ``empty`` when there are none."""
    if not rows:
        click.echo(empty)
        return
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
