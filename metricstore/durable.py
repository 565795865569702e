"""Making writes durable: a file's bytes, and the names in a folder (a new file, a rename or an unlink is only on
disk once its folder is synced). Publishing, the settings store and the model-call journal rely on both."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to disk."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_directory(folder: Path) -> None:
    """Flush a folder's entries to disk."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``text``, whole or not at all: written to a hidden file beside it (``.<name>.tmp``,
    which a writer's recovery removes), flushed, renamed over it and the folder synced. ``mode`` sets the new
    file's permissions (default: what the umask gives)."""
    tmp = path.with_name(f".{path.name.lstrip('.')}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        if mode is not None:
            os.fchmod(handle.fileno(), mode)
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    fsync_directory(path.parent)
