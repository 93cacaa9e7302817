"""The migration runner: numbered plain-SQL files, applied in order, each exactly once.

Files are named ``NNNN_description.sql``; ``NNNN`` is the version. The runner
holds a session advisory lock for the whole run, so servers starting at once
take turns and the second finds everything applied. Each file runs in its own
transaction together with its ``schema_migrations`` row: a file that fails
leaves neither its changes nor its row. Before applying anything the runner
compares the SHA-256 of every applied file with the recorded one and refuses to
start, naming the file, when they differ; it also refuses a database that has
versions this build does not know (a newer Revaer migrated it).

Where the files are: the canonical copies live in the repository's top-level
``migrations/``; a wheel ships them as the package data ``revaer/migrations``
(``wheel.packages`` in ``pyproject.toml``). ``default_directory()`` prefers the
packaged copy and falls back to the source tree (editable installs, checkouts).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from revaer.errors import RefusedError

log = logging.getLogger(__name__)

# One lock id for "migrating Revaer's schema" (any constant works; this one spells "revaer" in ASCII).
ADVISORY_LOCK_ID = 0x726576616572

_FILE_RE = re.compile(r"^(\d{4,})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS public.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RefusedError, RuntimeError):
    """Migrations could not be applied; the message names the file."""

    def __init__(self, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.file = file


class ChecksumMismatch(MigrationError):
    """An applied migration file was changed after it was applied."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name


def default_directory() -> Path:
    """The packaged ``revaer/migrations``, else the source tree's ``migrations/``."""
    packaged = importlib.resources.files("revaer") / "migrations"
    if packaged.is_dir():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[3] / "migrations"
    if source_tree.is_dir():
        return source_tree
    raise MigrationError(f"migrations not found (looked in {packaged} and {source_tree})")


def load(directory: Path | None = None) -> list[Migration]:
    """The migration files of ``directory`` in version order."""
    directory = directory or default_directory()
    found: dict[int, Migration] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        m = _FILE_RE.match(path.name)
        if m is None:
            raise MigrationError(f"migration file name must look like 0001_name.sql: {path.name}", path.name)
        raw = path.read_bytes()
        version = int(m.group(1))
        if version in found:
            raise MigrationError(
                f"two migration files share version {version}: {found[version].filename}, {path.name}",
                path.name,
            )
        found[version] = Migration(version, m.group(2), path, raw.decode(), hashlib.sha256(raw).hexdigest())
    return [found[v] for v in sorted(found)]


async def migrate(conn: asyncpg.Connection, directory: Path | None = None) -> list[Migration]:
    """Apply every pending migration on ``conn``; returns the ones this call applied.

    ``conn`` must not be inside a transaction and should not be a pooled
    connection shared with other work while this runs (it holds a session lock).
    """
    migrations = load(directory)
    applied_now: list[Migration] = []
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_ID)
    try:
        await conn.execute(_CREATE_TABLE)
        rows = await conn.fetch(
            "SELECT version, name, checksum FROM public.schema_migrations ORDER BY version"
        )
        applied = {r["version"]: r for r in rows}
        known = {m.version: m for m in migrations}
        unknown = sorted(set(applied) - set(known))
        if unknown:
            v = unknown[-1]
            raise MigrationError(
                f"the database has migration {v:04d}_{applied[v]['name']}.sql, "
                "which this build does not know (was it migrated by a newer Revaer?)",
                f"{v:04d}_{applied[v]['name']}.sql",
            )
        for version, row in applied.items():
            m = known[version]
            if row["checksum"] != m.checksum:
                raise ChecksumMismatch(
                    f"migration {m.filename} was changed after it was applied "
                    f"(checksum {m.checksum[:12]}…, applied {row['checksum'][:12]}…); refusing to start",
                    m.filename,
                )
        for m in migrations:
            if m.version in applied:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        m.version,
                        m.name,
                        m.checksum,
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"migration {m.filename} failed: {exc}", m.filename) from exc
            log.info("migration applied", extra={"migration": m.filename, "version": m.version})
            applied_now.append(m)
    finally:
        if not conn.is_closed():
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_ID)
    return applied_now


async def migrate_dsn(dsn: str, directory: Path | None = None) -> list[Migration]:
    """``migrate()`` on a connection of its own."""
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate(conn, directory)
    finally:
        await conn.close()
