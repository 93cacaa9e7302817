"""The registry's pending writes: what is queued per torrent, and the SQL that writes it.

``revaer.registry`` coalesces the engine's events into one ``Pending`` per info-hash and flushes them;
this module says what a pending write is and which statements it becomes, apart from the batching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

# Errors that say "this data" rather than "this database": a data exception (class 22: a NUL, an
# invalid string, asyncpg's own encoding refusal of a lone surrogate), an integrity violation
# (class 23) or a limit exceeded (class 54, e.g. an index row too large). Retrying them cannot help.
REFUSED_ERRORS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)
# The database or the connection failed: the writes are kept and retried.
TRANSIENT_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


@dataclass(slots=True)
class Insert:
    name: str
    save_path: str
    category: str
    tags: tuple[str, ...]
    added_at: float
    info_hash_v2: str | None
    source: bytes | None = None
    state: str = "queued"
    # What arrived for the torrent before its row was written (see ``fold``).
    resume: bytes | None = None
    completed_at: float | None = None


@dataclass(slots=True)
class Pending:
    insert: Insert | None = None
    resume: bytes | None = None
    state: str | None = None
    completed_at: float | None = None
    name_path: tuple[str, str] | None = None
    labels: tuple[str, tuple[str, ...]] | None = None
    touched: set[str] = field(default_factory=set)


INSERT = """
    WITH category AS (
        INSERT INTO revaer_runtime.categories (name) SELECT $5 WHERE $5 <> '' ON CONFLICT DO NOTHING
    )
    INSERT INTO revaer_runtime.torrents
           (info_hash, info_hash_v2, name, save_path, category, tags, added_at, owner, state, source,
            resume_data, resume_saved_at, completed_at)
    VALUES ($1, $2, $3, $4, nullif($5, ''), $6, to_timestamp($7), $8, $9::revaer_runtime.torrent_state, $10,
            $11, CASE WHEN $11::bytea IS NULL THEN NULL ELSE now() END, to_timestamp($12))
    ON CONFLICT (info_hash) DO UPDATE
       SET name = EXCLUDED.name, save_path = EXCLUDED.save_path,
           category = EXCLUDED.category, tags = EXCLUDED.tags,
           added_at = EXCLUDED.added_at, owner = EXCLUDED.owner, state = EXCLUDED.state,
           source = EXCLUDED.source, resume_data = EXCLUDED.resume_data,
           resume_saved_at = EXCLUDED.resume_saved_at, completed_at = EXCLUDED.completed_at,
           updated_at = now()
"""
# The source stays: resume data of a torrent added from a .torrent file lacks the info dictionary,
# which a restore takes from the source (the engine saves it only for magnets).
RESUME = """UPDATE revaer_runtime.torrents
                SET resume_data = $2, resume_saved_at = now(), updated_at = now()
              WHERE info_hash = $1"""
# A batch's engine events in one statement: one new version of each row, whichever of its fields
# changed (an update per field made one per field: 10,000 adds brought an update each of name and
# path, state and resume data).
EVENTS = """
    UPDATE revaer_runtime.torrents AS t
       SET resume_data = coalesce(u.resume, t.resume_data),
           resume_saved_at = CASE WHEN u.resume IS NULL THEN t.resume_saved_at ELSE now() END,
           state = coalesce(u.state::revaer_runtime.torrent_state, t.state),
           completed_at = coalesce(to_timestamp(u.completed_at), t.completed_at),
           name = coalesce(u.name, t.name),
           save_path = coalesce(u.save_path, t.save_path),
           updated_at = now()
      FROM unnest($1::text[], $2::bytea[], $3::text[], $4::float8[], $5::text[], $6::text[])
           AS u(info_hash, resume, state, completed_at, name, save_path)
     WHERE t.info_hash = u.info_hash
"""
STATE = """UPDATE revaer_runtime.torrents
               SET state = $2::revaer_runtime.torrent_state, updated_at = now()
             WHERE info_hash = $1"""
COMPLETED = """UPDATE revaer_runtime.torrents SET completed_at = to_timestamp($2), updated_at = now()
                 WHERE info_hash = $1"""
NAME_PATH = """UPDATE revaer_runtime.torrents SET name = $2, save_path = $3, updated_at = now()
                 WHERE info_hash = $1"""
LABELS = """UPDATE revaer_runtime.torrents SET category = nullif($2, ''), tags = $3, updated_at = now()
              WHERE info_hash = $1"""
CATEGORY = "INSERT INTO revaer_runtime.categories (name) VALUES ($1) ON CONFLICT DO NOTHING"


def insert_args(h: str, i: Insert, owner: str) -> tuple[Any, ...]:
    """``INSERT``'s arguments for torrent ``h``."""
    return (
        h,
        i.info_hash_v2,
        i.name,
        i.save_path,
        i.category,
        list(i.tags),
        i.added_at,
        owner,
        i.state,
        i.source,
        i.resume,
        i.completed_at,
    )


COPY_COLUMNS = (
    "info_hash",
    "info_hash_v2",
    "name",
    "save_path",
    "category",
    "tags",
    "added_at",
    "owner",
    "state",
    "source",
    "resume_data",
    "resume_saved_at",
    "completed_at",
)


# Fewer new rows than this are one executemany of INSERT (a single round trip; a COPY with its
# categories takes three or four).
COPY_FROM = 16


def _at(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


async def copy_inserts(conn: Any, inserts: Sequence[tuple[str, Insert]], owner: str) -> None:
    """New rows in one ``COPY`` (in one transaction with their categories): a group commit's adds
    cost a tenth of the executemany of ``INSERT`` they replace. A row already stored (a re-add of a
    torrent whose removal is not written yet) makes it raise ``UniqueViolationError``: write those
    with ``INSERT`` (an upsert) instead."""
    now = datetime.now(UTC)
    records = [
        (
            h,
            i.info_hash_v2,
            i.name,
            i.save_path,
            i.category or None,
            list(i.tags),
            _at(i.added_at),
            owner,
            i.state,
            i.source,
            i.resume,
            None if i.resume is None else now,
            _at(i.completed_at),
        )
        for h, i in inserts
    ]
    categories = sorted({i.category for _, i in inserts if i.category})
    if not categories:  # the COPY alone is atomic: no BEGIN and COMMIT round trips
        await conn.copy_records_to_table(
            "torrents", schema_name="revaer_runtime", columns=COPY_COLUMNS, records=records
        )
        return
    async with conn.transaction():
        await conn.executemany(CATEGORY, [(c,) for c in categories])
        await conn.copy_records_to_table(
            "torrents", schema_name="revaer_runtime", columns=COPY_COLUMNS, records=records
        )


async def write_inserts(conn: Any, inserts: Sequence[tuple[str, Insert]], owner: str) -> None:
    """New rows, atomically: many in one ``COPY``; a few, or a batch with a row stored already, in
    one executemany of ``INSERT`` (its own transaction, a single round trip; an upsert)."""
    if len(inserts) >= COPY_FROM:
        try:
            await copy_inserts(conn, inserts, owner)
            return
        except asyncpg.UniqueViolationError:
            pass
    await conn.executemany(INSERT, [insert_args(h, i, owner) for h, i in inserts])


def statements(h: str, p: Pending, owner: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements of one torrent's pending writes, in the order the batch runs them."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    if p.insert is not None:
        out.append((INSERT, insert_args(h, p.insert, owner)))
    if p.resume is not None:
        out.append((RESUME, (h, p.resume)))
    if p.state is not None:
        out.append((STATE, (h, p.state)))
    if p.completed_at is not None:
        out.append((COMPLETED, (h, p.completed_at)))
    if p.name_path is not None:
        out.append((NAME_PATH, (h, *p.name_path)))
    if p.labels is not None:
        out.append((LABELS, (h, p.labels[0], list(p.labels[1]))))
    return out


def events_args(pending: dict[str, Pending]) -> tuple[list[Any], ...] | None:
    """``EVENTS``'s arguments for the torrents of ``pending`` with engine events (None: none has)."""
    cols: tuple[list[Any], ...] = ([], [], [], [], [], [])
    for h, p in pending.items():
        if p.resume is None and p.state is None and p.completed_at is None and p.name_path is None:
            continue
        name, save_path = p.name_path or (None, None)
        for col, value in zip(cols, (h, p.resume, p.state, p.completed_at, name, save_path), strict=True):
            col.append(value)
    return cols if cols[0] else None


def fold(p: Pending) -> Pending:
    """A new torrent's writes as its one ``INSERT``: what the engine said about it (its name and
    path, state, resume data) and label changes, all queued before its row was written, go into
    the row itself instead of updates right behind it in the same batch."""
    i = p.insert
    if i is None or not (p.resume or p.state or p.completed_at or p.name_path or p.labels):
        return p
    name, save_path = p.name_path or (i.name, i.save_path)
    category, tags = p.labels or (i.category, i.tags)
    return Pending(
        insert=replace(
            i,
            name=name,
            save_path=save_path,
            category=category,
            tags=tags,
            state=p.state or i.state,
            resume=p.resume if p.resume is not None else i.resume,
            completed_at=p.completed_at if p.completed_at is not None else i.completed_at,
        )
    )


def merge(old: Pending, new: Pending) -> Pending:
    """``old``'s writes with ``new``'s over them; a new insert (a re-add) starts afresh."""
    if new.insert is not None:
        return new
    return Pending(
        insert=old.insert,
        resume=new.resume if new.resume is not None else old.resume,
        state=new.state if new.state is not None else old.state,
        completed_at=new.completed_at if new.completed_at is not None else old.completed_at,
        name_path=new.name_path if new.name_path is not None else old.name_path,
        labels=new.labels if new.labels is not None else old.labels,
    )


# libtorrent's transient memory per resume data saved (the alert's bencoded tree, ABI v1), freed
# once it is delivered: counted with the bytes a flush frees (see revaer.memory).
RESUME_TRANSIENT = 5 * 1024


def held_bytes(p: Pending) -> int:
    """Bytes a queued write held until written (its .torrent file or magnet, its resume data)."""
    i = p.insert
    resume = p.resume or (i.resume if i is not None else None)
    source = i.source if i is not None else None
    return len(source or b"") + (len(resume) + RESUME_TRANSIENT if resume else 0)
