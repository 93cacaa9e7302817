"""The registry's group commit over a real PostgreSQL: commit() waits for the write, concurrent
commits share flushes, and a write whose connection dies is replayed on a new one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from revaer import registry_writes
from revaer.engine.fake import FakeEngine
from revaer.engine.protocol import ResumeDataSaved
from revaer.registry import StoredTorrent, TorrentRegistry
from revaer.registry_writes import COPY_FROM, INSERT, Insert, Pending
from revaer.registry_writes import statements as statements_of
from revaer.restore import RESTORE_BATCH
from revaer.torrents import TorrentService


@pytest.fixture
async def registry(pool: asyncpg.Pool) -> AsyncIterator[TorrentRegistry]:
    # A long flush_interval: only commit() can make these writes happen soon.
    r = TorrentRegistry(pool, owner="here", flush_interval=60.0)
    await r.start()
    try:
        yield r
    finally:
        await r.close()


def _add(registry: TorrentRegistry, i: int, *, category: str = "") -> str:
    h = f"{i:040x}"
    registry.added(h, name=f"t{i}", save_path="/d", category=category, tags=(), added_at=1.0, source=b"x")
    return h


async def _stored(pool: asyncpg.Pool) -> set[str]:
    return {r["info_hash"] for r in await pool.fetch("SELECT info_hash FROM revaer_runtime.torrents")}


async def test_commit_returns_once_the_row_is_committed(
    registry: TorrentRegistry, pool: asyncpg.Pool
) -> None:
    h = _add(registry, 1, category="tv")
    await registry.commit([h])
    assert await _stored(pool) == {h}
    (t,) = await registry.load()
    assert (t.category, t.source, t.resume_data) == ("tv", b"x", None)
    registry.store_resume(h, b"resume")
    await registry.flush()
    (t,) = await registry.load()
    # The source stays: a .torrent's resume data is saved without the info dictionary the source holds.
    assert (t.source, t.resume_data) == (b"x", b"resume")


async def test_what_arrives_before_a_new_row_is_written_goes_into_its_insert(
    registry: TorrentRegistry, pool: asyncpg.Pool
) -> None:
    statements: list[str] = []
    write = registry._write

    async def recording(pending: dict[str, Pending], deletes: set[str]) -> None:
        statements.extend(sql for h, p in pending.items() for sql, _ in statements_of(h, p, "here"))
        await write(pending, deletes)

    registry._write = recording  # type: ignore[method-assign]
    h = _add(registry, 1, category="tv")
    registry.name_path(h, "renamed", "/elsewhere")
    registry.state(h, "downloading")
    registry.store_resume(h, b"resume")
    registry.labels(h, "films", ("a",))
    await registry.commit([h])
    assert statements == [INSERT]  # one statement, no updates behind it
    row = await pool.fetchrow(
        "SELECT name, save_path, state::text, category, tags, resume_data,"
        " resume_saved_at IS NOT NULL AS saved, source FROM revaer_runtime.torrents WHERE info_hash = $1",
        h,
    )
    assert row is not None
    assert tuple(row) == ("renamed", "/elsewhere", "downloading", "films", ["a"], b"resume", True, b"x")


async def test_concurrent_commits_share_flushes(registry: TorrentRegistry, pool: asyncpg.Pool) -> None:
    batches: list[int] = []
    write = registry._write_batch

    async def counting(pending: dict[str, Pending], deletes: set[str]) -> None:
        batches.append(len(pending))
        await write(pending, deletes)

    registry._write_batch = counting  # type: ignore[method-assign]

    async def one(i: int) -> str:
        h = _add(registry, i)
        await registry.commit([h])
        return h

    hashes = await asyncio.gather(*(one(i) for i in range(50)))
    assert await _stored(pool) == set(hashes)
    assert sum(batches) == 50
    assert len(batches) < 50  # grouped: the first flush starts at once, the rest gather behind it


async def test_a_write_whose_connection_dies_is_replayed(
    registry: TorrentRegistry, pool: asyncpg.Pool
) -> None:
    first = _add(registry, 1)
    await registry.commit([first])
    conn = registry._idle[0] if registry._idle else None
    assert conn is not None
    # The real fault: the server ends the writer's session.
    await pool.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
    second = _add(registry, 2)
    registry.state(first, "paused")
    await asyncio.wait_for(registry.commit([second]), 10)
    assert await _stored(pool) == {first, second}
    await registry.flush()
    state = await pool.fetchval("SELECT state::text FROM revaer_runtime.torrents WHERE info_hash = $1", first)
    assert state == "paused"


async def test_engine_events_of_a_stored_row_are_one_update(
    registry: TorrentRegistry, pool: asyncpg.Pool
) -> None:
    a, b = _add(registry, 1), _add(registry, 2)
    await registry.commit([a, b])
    registry.name_path(a, "renamed", "/elsewhere")
    registry.state(a, "seeding")
    registry.completed(a, 1_000_000.0)
    registry.store_resume(b, b"resume-b")
    await registry.flush()
    rows = {
        r["info_hash"]: tuple(r)[1:]
        for r in await pool.fetch(
            "SELECT info_hash, name, save_path, state::text, extract(epoch FROM completed_at)::float8,"
            " resume_data FROM revaer_runtime.torrents"
        )
    }
    assert rows == {
        a: ("renamed", "/elsewhere", "seeding", 1_000_000.0, None),
        b: ("t2", "/d", "queued", None, b"resume-b"),
    }


async def test_a_restore_reads_the_rows_once_and_restores_them_all_in_batches(
    registry: TorrentRegistry, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # More than one batch; every other torrent acknowledged before its first resume data.
    first = FakeEngine(rate=0)
    service = TorrentService(first, registry, tmp_path)
    hashes = [service.add(magnet=f"magnet:?xt=urn:btih:{i:040x}") for i in range(RESTORE_BATCH + 3)]
    await service.commit(hashes)
    for h in hashes[::2]:
        first.save_resume(h)
    for ev in first.poll():
        if isinstance(ev, ResumeDataSaved):
            service.on_resume(ev)
    await registry.flush()
    first.shutdown()

    loads = 0
    load = registry.load

    async def counted() -> list[StoredTorrent]:
        nonlocal loads
        loads += 1
        return await load()

    second = FakeEngine(rate=0)
    restored = TorrentService(second, registry, tmp_path)
    registry.load = counted  # type: ignore[method-assign]
    try:
        assert await restored.restore() == len(hashes)
        for ev in second.poll():
            restored.on_event(ev)
        # Only those restored from their source are saved at once: the others were just restored
        # from the resume data stored (10,000 saves and writes after every restart).
        saved = {ev.info_hash for ev in second.poll() if isinstance(ev, ResumeDataSaved)}
    finally:
        second.shutdown()
    assert loads == 1
    assert sorted(h for _, h in restored.order) == sorted(hashes)
    assert saved == set(hashes[1::2])


@pytest.mark.parametrize("others", [1, COPY_FROM])
async def test_an_add_over_a_stored_row_replaces_it_and_stores_the_others_of_its_batch(
    registry: TorrentRegistry, pool: asyncpg.Pool, others: int
) -> None:
    # A group commit's new rows go in one COPY (from COPY_FROM of them); a row already there (a
    # re-add whose removal was never written) makes the COPY fail, and the batch is written as
    # upserts instead.
    old = _add(registry, 1, category="tv")
    await registry.commit([old])
    registry.added(old, name="again", save_path="/e", category="film", tags=("x",), added_at=2.0, source=b"y")
    new = [_add(registry, 2 + i, category="tv") for i in range(others)]
    await registry.commit([old, *new])
    rows = {t.info_hash: t for t in await registry.load()}
    assert set(rows) == {old, *new}
    again = rows[old]
    assert (again.name, again.save_path, again.category, again.tags, again.source) == (
        "again",
        "/e",
        "film",
        ("x",),
        b"y",
    )
    assert {(rows[h].category, rows[h].source) for h in new} == {("tv", b"x")}


async def test_a_large_group_commit_stores_every_field_of_its_rows(
    registry: TorrentRegistry,
    pool: asyncpg.Pool,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Written by the COPY itself, not row by row after a refusal.
    caplog.set_level(logging.INFO, logger="revaer.registry")
    copied: list[int] = []
    copy = registry_writes.copy_inserts

    async def counted(conn: Any, inserts: Sequence[tuple[str, Insert]], owner: str) -> None:
        await copy(conn, inserts, owner)
        copied.append(len(inserts))

    monkeypatch.setattr(registry_writes, "copy_inserts", counted)
    hashes = [f"{i:040x}" for i in range(COPY_FROM)]
    for i, h in enumerate(hashes):
        registry.added(
            h,
            name=f"t{i}",
            save_path="/d",
            category="film" if i % 2 else "",
            tags=("a", "b") if i % 3 else (),
            added_at=1000.5 + i,
            info_hash_v2="ab" * 32 if i == 0 else None,
            source=bytes([i]) * 3000,
            paused=i % 2 == 0,
        )
    registry.store_resume(hashes[1], b"resume")
    await registry.commit(hashes)
    rows = {
        r["info_hash"]: r
        for r in await pool.fetch(
            "SELECT info_hash, info_hash_v2, name, save_path, category, tags,"
            " extract(epoch FROM added_at) AS at, owner, state::text, source, resume_data,"
            " resume_saved_at IS NOT NULL AS saved, completed_at"
            " FROM revaer_runtime.torrents"
        )
    }
    assert set(rows) == set(hashes)
    for i, h in enumerate(hashes):
        r = rows[h]
        assert (r["name"], r["save_path"], r["category"], list(r["tags"]), float(r["at"])) == (
            f"t{i}",
            "/d",
            "film" if i % 2 else None,
            ["a", "b"] if i % 3 else [],
            1000.5 + i,
        )
        assert (r["owner"], r["state"], r["source"], r["completed_at"]) == (
            "here",
            "paused" if i % 2 == 0 else "queued",
            bytes([i]) * 3000,
            None,
        )
        assert r["info_hash_v2"] == ("ab" * 32 if i == 0 else None)
        assert (r["resume_data"], r["saved"]) == ((b"resume", True) if i == 1 else (None, False))
    assert not [r for r in caplog.records if "refused" in r.getMessage()]
    assert copied == [COPY_FROM]
