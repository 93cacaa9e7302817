"""The config store: get, set and patch settings in PostgreSQL, with versions.

Every write is validated first (nothing is written when any value is refused),
then runs in one transaction. Reads give up within a second when the database is away
(``DatabaseUnavailable``); writes are not cut short that way (one that timed out might still
commit), they wait at most the pool's acquire timeout for a connection. The database assigns
versions (a trigger bumps them) and announces each change with NOTIFY, which the listener turns into
cache updates in every process. A write may carry the version it expects (0:
"the key has never been written"); when the stored version differs, the whole
write is rolled back and ``VersionConflict`` raised.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from revaer.config.model import SPECS, Config, ConfigValidationError, Json, check_write, validate
from revaer.db.pool import bounded

log = logging.getLogger(__name__)


class VersionConflict(Exception):
    """A write expected a version that is no longer the stored one; nothing was written."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"{key}: expected version {expected}, found {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True, slots=True)
class Versioned:
    """A setting's value and version (0: never written, the default applies)."""

    key: str
    value: Json
    version: int


_SELECT_ALL = "SELECT key, value, version FROM revaer_config.settings"
_SELECT_ONE = "SELECT value, version FROM revaer_config.settings WHERE key = $1"
_UPSERT = """
INSERT INTO revaer_config.settings AS s (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
    WHERE $3::bigint IS NULL
RETURNING s.version
"""
_UPDATE_IF = """
UPDATE revaer_config.settings SET value = $2 WHERE key = $1 AND version = $3 RETURNING version
"""


class ConfigStore:
    """Settings in ``revaer_config.settings`` over an asyncpg pool (or any object with ``acquire()``)."""

    __slots__ = ("_pool",)

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, key: str) -> Versioned:
        """One setting (its default at version 0 when never written)."""
        if key not in SPECS:
            raise ConfigValidationError(key, f"unknown setting (known: {', '.join(sorted(SPECS))})")
        row = await bounded(self._pool.fetchrow(_SELECT_ONE, key))
        if row is None:
            return Versioned(key, validate(key, SPECS[key].default), 0)
        return Versioned(key, row["value"], row["version"])

    async def get_all(self) -> dict[str, Versioned]:
        """Every known setting, stored or default; unknown stored keys are left out."""
        rows = await bounded(self._pool.fetch(_SELECT_ALL))
        return rows_to_versioned(rows)

    async def load(self) -> tuple[Config, dict[str, int]]:
        """The typed config and each key's version."""
        current = await self.get_all()
        return Config.from_values({k: v.value for k, v in current.items()}), {
            k: v.version for k, v in current.items()
        }

    async def set(self, key: str, value: Json, *, expected_version: int | None = None) -> int:
        """Write one setting; returns its new version."""
        versions = await self.patch(
            {key: value}, expected_versions=None if expected_version is None else {key: expected_version}
        )
        return versions[key]

    async def patch(
        self,
        changes: Mapping[str, Json],
        *,
        expected_versions: Mapping[str, int] | None = None,
        merge: bool = False,
    ) -> dict[str, int]:
        """Write several settings in one transaction; returns each key's new version.

        All values are validated before anything is written. ``expected_versions``
        may name some of the keys; any mismatch rolls the whole patch back. With ``merge``, an
        object value is a JSON Merge Patch (RFC 7396) of the stored one: members it does not name
        stay as they are, a ``null`` member is removed (back to its default where it has one).
        """
        for key in changes:
            if key not in SPECS:
                raise ConfigValidationError(key, f"unknown setting (known: {', '.join(sorted(SPECS))})")
        normalized = {
            key: validate(key, value)
            for key, value in changes.items()
            if not (merge and isinstance(value, dict))
        }
        expected = dict(expected_versions or {})
        stray = set(expected) - set(changes)
        if stray:
            raise ValueError(f"expected versions given for keys not written: {', '.join(sorted(stray))}")
        new_versions: dict[str, int] = {}
        async with self._pool.acquire() as conn, conn.transaction():
            if len(normalized) < len(changes):
                normalized.update(await _merged(conn, changes))
            for key, value in normalized.items():
                check_write(key, value)
            # A stable order keeps concurrent patches from deadlocking on each other's rows.
            for key in sorted(normalized):
                want = expected.get(key)
                if want is None or want == 0:
                    version = await conn.fetchval(_UPSERT, key, normalized[key], want)
                else:
                    version = await conn.fetchval(_UPDATE_IF, key, normalized[key], want)
                if version is None:
                    actual = await conn.fetchval(
                        "SELECT version FROM revaer_config.settings WHERE key = $1", key
                    )
                    raise VersionConflict(key, want or 0, actual or 0)
                new_versions[key] = version
        log.info("config written", extra={"keys": sorted(new_versions), "versions": new_versions})
        return new_versions


def merge_patch(target: Json, patch: Json) -> Json:
    """``patch`` applied to ``target`` as RFC 7396 says: objects merge member by member, ``null``
    removes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = merge_patch(out.get(name), value)
    return out


async def _merged(conn: Any, changes: Mapping[str, Json]) -> dict[str, Json]:
    """The object values of ``changes`` merged into the stored ones (rows locked until commit)."""
    keys = sorted(k for k, v in changes.items() if isinstance(v, dict))
    rows = await conn.fetch(
        "SELECT key, value FROM revaer_config.settings WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE",
        keys,
    )
    stored = {row["key"]: row["value"] for row in rows}
    return {
        key: validate(key, merge_patch(stored.get(key, validate(key, SPECS[key].default)), changes[key]))
        for key in keys
    }


def rows_to_versioned(rows: list[Any]) -> dict[str, Versioned]:
    out = {key: Versioned(key, validate(key, spec.default), 0) for key, spec in SPECS.items()}
    for row in rows:
        key = row["key"]
        if key in SPECS:
            out[key] = Versioned(key, row["value"], row["version"])
        else:
            log.warning("unknown setting in the database ignored", extra={"key": key})
    return out
