"""What the landing files sensor has seen of each file, kept in numbered files beside the Dagster instance.

Dagster writes a sensor's cursor into every tick it records (six a minute, skipped ticks kept a week), so the
cursor stays small: the number of the state file it stands for, a count, the hours still waiting. A look that
changes the state writes the next number and returns it as the new cursor; only once Dagster has committed that
cursor (with the tick's run requests) does a later look read it. A tick that fails before committing leaves the
old cursor, whose file is still there (the one before the newest is kept), so that look is done again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from assets.partitions import dagster_home
from metricstore.arrivals import SeenFile

STATE_FOLDER = Path("storage") / "landing_files_sensor"


def state_folder() -> Path:
    return dagster_home() / STATE_FOLDER


def load_seen(number: int) -> dict[str, SeenFile] | None:
    """The state the cursor numbered ``number``; None when its file is gone."""
    path = state_folder() / f"seen-{number}.json"
    if not path.is_file():
        return None
    files = json.loads(path.read_text(encoding="utf-8"))
    return {name: SeenFile.from_json(value) for name, value in files.items()}


def save_seen(seen: dict[str, SeenFile], number: int) -> None:
    """Write state ``number`` (whole, or not at all) and delete those before ``number - 1``."""
    folder = state_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"seen-{number}.json"
    partial = folder / f".seen-{number}.json.{os.getpid()}"
    partial.write_text(json.dumps({name: s.as_json() for name, s in sorted(seen.items())}), encoding="utf-8")
    partial.replace(path)
    for old in folder.glob("seen-*.json"):
        stem = old.stem.removeprefix("seen-")
        if stem.isdigit() and int(stem) < number - 1:
            old.unlink(missing_ok=True)
