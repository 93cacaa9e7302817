"""The embedded default: no DATABASE_URL, a PostgreSQL of its own in the data dir."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from revaer.config.store import ConfigStore
from revaer.db.migrate import migrate_dsn
from revaer.db.pool import data_dir, open_database


@pytest.fixture
def data_root() -> Iterator[Path]:
    # Under /tmp: run as root, the server's own user must traverse every ancestor.
    root = Path(tempfile.mkdtemp(prefix="revaer-embedded-", dir="/tmp"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_data_dir_resolution(tmp_path: Path) -> None:
    assert data_dir(tmp_path / "x", env={"REVAER_DATA_DIR": "/elsewhere"}) == tmp_path / "x"
    assert data_dir(None, env={"REVAER_DATA_DIR": str(tmp_path)}) == tmp_path
    assert data_dir(None, env={}).name == "revaer"


async def test_boots_survives_a_restart_and_stops_cleanly(data_root: Path) -> None:
    db = await open_database(data_directory=data_root, env={})
    try:
        assert db.embedded is not None
        assert db.embedded.pgdata == data_root / "pg"
        await migrate_dsn(db.dsn)
        await ConfigStore(db.pool).set("paths.download_root", "/srv/downloads")
        notified = await db.pool.fetchval("SELECT count(*) FROM pg_stat_activity")
        assert notified >= 1
    finally:
        await db.close()
    assert not db.embedded.is_running()
    assert not (data_root / "pg" / "postmaster.pid").exists()

    again = await open_database(data_directory=data_root, env={})
    try:
        assert again.embedded is not None
        assert again.embedded.is_running()
        assert await migrate_dsn(again.dsn) == []
        assert (await ConfigStore(again.pool).get("paths.download_root")).value == "/srv/downloads"
    finally:
        await again.close()
    assert again.embedded is not None
    assert not again.embedded.is_running()


async def test_database_url_wins_over_the_embedded_server(pg_server_url: str, data_root: Path) -> None:
    db = await open_database(data_directory=data_root, env={"DATABASE_URL": pg_server_url})
    try:
        assert db.embedded is None
        assert await db.pool.fetchval("SELECT 1") == 1
    finally:
        await db.close()
    assert not (data_root / "pg").exists()
