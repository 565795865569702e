"""One writer at a time: an exclusive lock on a file beside the warehouse, held for the whole of a job run.

Every run of the hourly job takes it, whoever started it (`metricstore run`, the schedule, the UI), so two runs
never overlap: the second waits until the first ends. The lock is ``flock`` on ``<warehouse>.job.lock``; the
kernel drops it when its process exits, so a killed run never holds it. The file names the holder (run id, pid,
host) for the message of whoever waits. Taking it again in the process that holds it is a no-op.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LOCK_SUFFIX = ".job.lock"

# Lock files this process holds, with how many times it took each (flock is per open file: reopening would
# wait for ourselves).
_held: dict[Path, int] = {}


@dataclass(frozen=True)
class LockHolder:
    """Who holds the writer lock."""

    run_id: str
    pid: int
    host: str

    def __str__(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host})"


def lock_path(warehouse: Path) -> Path:
    """The lock file of a warehouse: ``<warehouse>.job.lock`` in its folder."""
    return warehouse.with_name(warehouse.name + LOCK_SUFFIX)


def current_holder(warehouse: Path) -> LockHolder | None:
    """The holder the lock file names (None when it names none or cannot be read)."""
    try:
        raw = json.loads(lock_path(warehouse).read_text() or "null")
        return LockHolder(str(raw["run_id"]), int(raw["pid"]), str(raw["host"])) if raw else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


@contextmanager
def writer_lock(warehouse: Path, run_id: str, on_wait: Callable[[LockHolder | None], None]) -> Iterator[None]:
    """Hold the warehouse's writer lock for the block; when another run holds it, call ``on_wait`` once with
    its holder and wait until it is released."""
    path = lock_path(warehouse).resolve()
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait(current_holder(warehouse))
            fcntl.flock(fd, fcntl.LOCK_EX)
        holder = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock
