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
