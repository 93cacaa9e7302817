"""The migration runner on a real PostgreSQL: from empty, re-run, tamper, concurrency, failure."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import asyncpg
import pytest

from revaer.db.migrate import ChecksumMismatch, MigrationError, default_directory, load, migrate

SHIPPED = load()


def _copy_migrations(dest: Path) -> Path:
    dest.mkdir()
    for m in SHIPPED:
        shutil.copy(m.path, dest / m.filename)
    return dest


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables "
        "WHERE table_schema IN ('revaer_config', 'revaer_runtime', 'public')"
    )
    return {r["t"] for r in rows}


def test_shipped_migrations_are_found_and_numbered() -> None:
    assert default_directory().is_dir()
    # Unique and increasing from 1; numbers may be reserved by work not merged yet (gaps are fine).
    versions = [m.version for m in SHIPPED]
    assert versions[0] == 1
    assert versions == sorted(set(versions))


async def test_from_empty_then_rerun(empty_db_url: str) -> None:
    conn = await asyncpg.connect(empty_db_url)
    try:
        applied = await migrate(conn)
        assert [m.filename for m in applied] == [m.filename for m in SHIPPED]
        tables = await _tables(conn)
        assert {
            "public.schema_migrations",
            "revaer_config.settings",
            "revaer_config.installation",
            "revaer_config.api_keys",
            "revaer_runtime.torrents",
            "revaer_runtime.fs_jobs",
            "revaer_runtime.categories",
            "revaer_runtime.tags",
        } <= tables
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["name"], r["checksum"]) for r in rows] == [
            (m.version, m.name, m.checksum) for m in SHIPPED
        ]
        assert await conn.fetchval("SELECT count(*) FROM revaer_config.installation") == 1

        assert await migrate(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(SHIPPED)
    finally:
        await conn.close()


async def test_changed_file_refuses_to_start_naming_it(empty_db_url: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path / "migrations")
    conn = await asyncpg.connect(empty_db_url)
    try:
        await migrate(conn, directory)
        target = directory / SHIPPED[0].filename
        target.write_text(target.read_text() + "\n-- edited after release\n")
        with pytest.raises(ChecksumMismatch, match=SHIPPED[0].filename) as info:
            await migrate(conn, directory)
        assert info.value.file == SHIPPED[0].filename
        # The lock was released: a correct set of files still migrates.
        assert await migrate(conn) == []
    finally:
        await conn.close()


async def test_two_concurrent_migrators_apply_each_file_once(empty_db_url: str) -> None:
    a, b = await asyncpg.connect(empty_db_url), await asyncpg.connect(empty_db_url)
    try:
        done_a, done_b = await asyncio.gather(migrate(a), migrate(b))
        applied = sorted(m.version for m in done_a + done_b)
        assert applied == [m.version for m in SHIPPED]
        rows = await a.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in SHIPPED]
    finally:
        await a.close()
        await b.close()


async def test_failed_migration_leaves_the_database_as_it_was(empty_db_url: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path / "migrations")
    conn = await asyncpg.connect(empty_db_url)
    try:
        await migrate(conn, directory)
        before = await _tables(conn)
        broken = directory / "0099_broken.sql"
        broken.write_text(
            "CREATE TABLE revaer_runtime.half_done (id int);\n"
            "INSERT INTO revaer_runtime.half_done VALUES (1);\n"
            "SELECT 1 / 0;\n"
        )
        with pytest.raises(MigrationError, match=re.escape("0099_broken.sql")) as info:
            await migrate(conn, directory)
        assert info.value.file == "0099_broken.sql"
        assert await _tables(conn) == before
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE version = 99") == 0

        # Fixed, it applies on the next start.
        broken.write_text("CREATE TABLE revaer_runtime.half_done (id int);\n")
        assert [m.version for m in await migrate(conn, directory)] == [99]
    finally:
        await conn.close()


async def test_database_from_a_newer_build_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path / "migrations")
    (directory / "0050_future.sql").write_text("SELECT 1;\n")
    conn = await asyncpg.connect(empty_db_url)
    try:
        await migrate(conn, directory)
        with pytest.raises(MigrationError, match=re.escape("0050_future.sql")):
            await migrate(conn)
    finally:
        await conn.close()


def test_badly_named_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_no_padding.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=re.escape("1_no_padding.sql")):
        load(tmp_path)
