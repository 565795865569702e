"""API keys: bearer tokens bound to one workspace and a role, kept in a SQLite file of their own.

A key is ``ms_<random>``; only its SHA-256 digest is stored, beside a short public id (the key's first
characters), so a stolen key file grants nothing and an operator can name a key without knowing it. SQLite
(not the DuckDB warehouse) so that keys are read and written while the job holds the warehouse's lock.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, get_args

Role = Literal["viewer", "admin", "owner"]
ROLES: tuple[str, ...] = get_args(Role)
# Roles that may change a workspace's settings; every role may read.
SETTINGS_WRITERS = frozenset({"admin", "owner"})
WORKSPACE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
KEY_PREFIX = "ms_"
KEY_ID_LENGTH = len(KEY_PREFIX) + 8
# last_used_at is written at most this often per key: a read-heavy client should not make every request a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id       TEXT PRIMARY KEY,
    key_hash     TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'admin', 'owner')),
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT
)
"""


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key: never the key itself."""

    key_id: str
    workspace_id: str
    role: Role
    created_at: str
    revoked_at: str | None
    last_used_at: str | None

    @property
    def can_write_settings(self) -> bool:
        return self.role in SETTINGS_WRITERS


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``key`` is shown once and never stored."""

    key: str
    info: ApiKey


class KeyStore:
    """The key file at ``path`` (created on first use)."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One short connection per operation: safe from any thread, and the file is never held open.
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            with conn:  # a transaction, committed on success
                conn.execute(_SCHEMA)
                yield conn

    def create(self, workspace_id: str, role: str) -> NewKey:
        """Create a key for ``workspace_id`` with ``role``; the returned key is the only copy."""
        if not re.fullmatch(WORKSPACE_PATTERN, workspace_id):
            raise ValueError(f"workspace '{workspace_id}' must match {WORKSPACE_PATTERN}")
        if role not in ROLES:
            raise ValueError(f"role '{role}' is not one of {', '.join(ROLES)}")
        with self._connect() as conn:
            while True:
                key = KEY_PREFIX + secrets.token_urlsafe(32)
                key_id = key[:KEY_ID_LENGTH]
                try:
                    conn.execute(
                        "INSERT INTO api_keys (key_id, key_hash, workspace_id, role, created_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [key_id, _digest(key), workspace_id, role, _now()],
                    )
                    break
                except sqlite3.IntegrityError:  # the 48-bit public id of another key: draw again
                    continue
            row = conn.execute("SELECT * FROM api_keys WHERE key_id = ?", [key_id]).fetchone()
        return NewKey(key, _key(row))

    def authenticate(self, key: str) -> ApiKey | None:
        """The live (not revoked) key ``key`` is, or None; records its use."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", [_digest(key)]
            ).fetchone()
            if row is None:
                return None
            now = datetime.now(UTC)
            conn.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                [_iso(now), row["key_id"], _iso(now - LAST_USED_RESOLUTION)],
            )
        return _key(row)

    def list_keys(self, workspace_id: str | None = None) -> list[ApiKey]:
        """Every key (of one workspace), oldest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM api_keys WHERE ? IS NULL OR workspace_id = ? ORDER BY created_at, rowid",
                [workspace_id, workspace_id],
            ).fetchall()
        return [_key(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey | None:
        """Revoke a key by its id (idempotent); None when there is no such key."""
        with self._connect() as conn:
            conn.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", [_now(), key_id])
            row = conn.execute("SELECT * FROM api_keys WHERE key_id = ?", [key_id]).fetchone()
        return None if row is None else _key(row)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _now() -> str:
    return _iso(datetime.now(UTC))


def _key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        key_id=row["key_id"],
        workspace_id=row["workspace_id"],
        role=row["role"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )
