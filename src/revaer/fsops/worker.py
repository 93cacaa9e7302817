"""The post-processing worker: ``fs_jobs`` rows from completion to ``moved``.

On ``TorrentCompleted`` (a pump listener: it never misses one) the torrent's
category rule is planned and one job row inserted per torrent and destination;
the unique key makes a second completion, a restart or a second node a no-op.

The worker claims due jobs with ``FOR UPDATE SKIP LOCKED`` (only jobs of
torrents this node owns), re-plans them with the rules in force (a rules change
while a job waits is honoured), marks them ``moving``, pauses the torrent,
moves the payload (``executor``), points the engine at the new save path
without moving (``move_storage(reset_only=True)``), resumes seeding and marks
the job ``moved`` together with ``torrents.save_path`` in one transaction.

A failure leaves the source intact and seeding; the job goes back to
``pending`` with ``last_error`` and an exponentially later ``next_attempt_at``,
or to ``failed`` after ``max_attempts`` (at once for a destination collision).
A job found ``moving`` with no move in progress (after a crash) is finished or
undone from what is on disk: the executor's ``recover`` plus an idempotent
re-run of the move.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from revaer.engine import offloop
from revaer.engine.errors import EngineError
from revaer.engine.protocol import (
    Engine,
    EngineEvent,
    StorageMoved,
    StorageMoveFailed,
    TorrentCompleted,
)
from revaer.errors import RefusedError
from revaer.events import EventBus
from revaer.fsops.events import FsJobEvent
from revaer.fsops.executor import Fault, MoveError, Progress, move_payload
from revaer.fsops.planner import Plan, plan
from revaer.tasks import Backoff, Spawned

log = logging.getLogger(__name__)

Rules = Callable[[], Mapping[str, str]]
CategoryOf = Callable[[str], str]
Flush = Callable[[], Awaitable[None]]


class MoveCancelledError(MoveError):
    """The worker is stopping; the job goes back to ``pending`` without counting an attempt."""


class ResetFailedError(RefusedError):
    """The engine did not take the new save path."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    max_attempts: int = 5
    backoff: Backoff = Backoff(2.0, 3600.0)
    poll_interval: float = 5.0
    pause_timeout: float = 10.0
    reset_timeout: float = 120.0


@dataclass(frozen=True, slots=True)
class WorkerHooks:
    """What the worker asks of the rest of the server; each is optional (tests leave them out)."""

    #: A torrent's category when the planner needs it (the labels live in ``TorrentService``).
    category_of: CategoryOf | None = None
    #: Makes pending registry rows durable before a job row references its torrent.
    flush: Flush | None = None
    #: Failures injected into the executor's steps (fault tests).
    fault: Fault | None = None
    #: Told the bytes copied so far.
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    info_hash: str
    source: str
    destination: str
    status: str
    attempts: int
    resume_after: bool
    category: str
    requested: bool = False  # a move a client asked for: run as it is, never planned again

    @classmethod
    def of(cls, r: asyncpg.Record | None) -> Job:
        assert r is not None
        return cls(
            r["id"],
            r["info_hash"],
            r["source"],
            r["destination"],
            r["status"],
            r["attempts"],
            r["resume_after"],
            r["category"],
            r["requested"],
        )

    def event(self, status: str, *, error: str | None = None, retry_at: float | None = None) -> FsJobEvent:
        return FsJobEvent(
            status, self.id, self.info_hash, self.source, self.destination, self.attempts, error, retry_at
        )


_COLUMNS = (
    "id, info_hash, source, destination, status::text AS status, attempts, resume_after, category, requested"
)


def _same_path(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


class PostProcessor:
    """Plans jobs on completion and runs them, one at a time, on this node."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        bus: EventBus,
        rules: Rules,
        *,
        node: str,
        hooks: WorkerHooks = WorkerHooks(),
        options: WorkerOptions | None = None,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.bus = bus
        self.rules = rules
        self.node = node
        self.options = options or WorkerOptions()
        self.hooks = hooks
        self._wake = asyncio.Event()
        self._stopping = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._waiting_ready = False  # started, waiting for the restore to end
        self._tasks = Spawned()
        self._storage: dict[str, asyncio.Future[str]] = {}

    # -- engine events (pump listener) ------------------------------------------------------------
    def on_event(self, ev: EngineEvent) -> None:
        """Plan on completion; hand storage results to the job waiting for them. Never blocks."""
        if isinstance(ev, TorrentCompleted):
            self._tasks.spawn(self._enqueue_logged(ev.info_hash, ev.name))
        elif isinstance(ev, StorageMoved | StorageMoveFailed):
            fut = self._storage.get(ev.info_hash)
            if fut is not None and not fut.done():
                if isinstance(ev, StorageMoved):
                    fut.set_result(ev.path)
                else:
                    fut.set_exception(ResetFailedError(ev.message))

    def rules_changed(self, *_: object) -> None:
        """Config hook: pending jobs are re-planned when claimed, so just look at them now."""
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    # -- planning ---------------------------------------------------------------------------------
    async def _enqueue_logged(self, h: str, name: str) -> None:
        try:
            await self.enqueue(h, name)
        except Exception:
            log.exception("planning the post-processing job failed", extra={"info_hash": h})

    async def _category(self, conn: Any, h: str) -> str:
        if self.hooks.category_of is not None:
            return self.hooks.category_of(h)
        return str(
            await conn.fetchval(
                "SELECT coalesce(category, '') FROM revaer_runtime.torrents WHERE info_hash = $1", h
            )
            or ""
        )

    async def _payload(self, h: str, name: str) -> str | None:
        """The single top-level entry of the torrent's files (its name, normally); None if several."""
        try:
            # libtorrent's thread answers while the caller waits (long for many files): off the loop.
            files = await offloop.query(self.engine, self.engine.files, h)
            tops = {f.path.split("/", 1)[0] for f in files}
        except EngineError:
            tops = set()
        if not tops:
            return name
        return tops.pop() if len(tops) == 1 else None

    async def _plan(self, h: str, name: str, category: str) -> tuple[Plan | None, str]:
        """The plan and the payload's current path."""
        row = self.engine.get(h)
        if row is not None:
            name = row.name
        payload = await self._payload(h, name)
        source = os.path.join(row.save_path, payload or name) if row is not None else ""
        p = plan(self.rules(), category=category, name=name, info_hash=h, payload=payload or name)
        if p is not None and payload is None and not p.skipped:
            reason = "the torrent's files have no single top-level entry"
            p = Plan(category, p.destination, "", p.root, reason)
        return p, source

    async def enqueue(self, h: str, name: str = "") -> FsJobEvent | None:
        """Plan a completed torrent; returns the event of the job created (None: no rule, or a no-op)."""
        if self.hooks.flush is not None:
            await self.hooks.flush()  # the torrent's row must exist (fs_jobs references it)
        async with self.pool.acquire() as conn:
            category = await self._category(conn, h)
            p, source = await self._plan(h, name, category)
            if p is None or (not p.skipped and source == p.destination):
                return None
            status = "skipped" if p.skipped else "pending"
            r = await self._insert(conn, h, source, p.destination, status, p.skip, category)
        if r is None:
            return None
        job = Job.of(r)
        ev = job.event(status, error=p.skip)
        if p.skipped:
            log.warning("post-processing skipped", extra={"info_hash": h, "reason": p.skip})
        else:
            log.info("post-processing planned", extra={"info_hash": h, "destination": p.destination})
        self.bus.publish(ev)
        self._wake.set()
        return ev

    async def _insert(
        self,
        conn: Any,
        h: str,
        source: str,
        destination: str,
        status: str,
        skip: str | None,
        category: str,
        *,
        requested: bool = False,
    ) -> asyncpg.Record | None:
        """The job's row (None when one is pending or moving for the torrent, or exists already)."""
        r: asyncpg.Record | None = await conn.fetchrow(
            f"""
            INSERT INTO revaer_runtime.fs_jobs
                   (info_hash, source, destination, status, last_error, category, finished_at, requested)
            SELECT $1, $2, $3, $4::revaer_runtime.fs_job_status, $5, $6,
                   CASE WHEN $4 = 'skipped' THEN now() END, $7
             WHERE NOT EXISTS (SELECT 1 FROM revaer_runtime.fs_jobs
                                WHERE info_hash = $1 AND status IN ('pending', 'moving'))
            ON CONFLICT (info_hash, destination) DO NOTHING
            RETURNING {_COLUMNS}
            """,
            h,
            source,
            destination,
            status,
            skip,
            category,
            requested,
        )
        return r

    async def enqueue_move(self, h: str, directory: str) -> FsJobEvent | None:
        """A move of the torrent's payload into ``directory`` (a client's new save path), run as any
        job: pause, move, point the engine at it, resume. None when nothing is to move (already
        there, or a payload of several top-level entries, which the caller moves otherwise)."""
        if self.hooks.flush is not None:
            await self.hooks.flush()
        row = self.engine.get(h)
        payload = await self._payload(h, row.name) if row is not None else None
        if row is None or payload is None:
            return None
        source, destination = os.path.join(row.save_path, payload), os.path.join(directory, payload)
        if _same_path(source, destination):
            return None
        async with self.pool.acquire() as conn:
            category = await self._category(conn, h)
            r = await self._insert(conn, h, source, destination, "pending", None, category, requested=True)
        if r is None:
            return None
        ev = Job.of(r).event("pending")
        log.info("move planned", extra={"info_hash": h, "destination": destination})
        self.bus.publish(ev)
        self._wake.set()
        return ev

    # -- the loop ---------------------------------------------------------------------------------
    async def start(self, ready: Callable[[], Awaitable[None]] | None = None) -> None:
        """Run jobs once ``ready()`` returned (after a start: every stored torrent is in the engine,
        so a job never meets a torrent not restored yet)."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(ready), name="revaer-postprocessing")

    async def close(self, grace: float = 30.0) -> None:
        """Stop after the current job (a copy in progress is rolled back and retried later)."""
        self._stopping.set()
        self._wake.set()
        await self._tasks.close()
        task, self._task = self._task, None
        if task is not None and self._waiting_ready:
            task.cancel()  # no job started yet: nothing to finish
        if task is not None:
            try:
                await asyncio.wait_for(task, grace)
            except TimeoutError:
                log.warning("post-processing worker did not stop in time")
            except asyncio.CancelledError:
                pass

    async def _run(self, ready: Callable[[], Awaitable[None]] | None) -> None:
        if ready is not None:
            self._waiting_ready = True
            await ready()
            self._waiting_ready = False
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                did = await self.run_once()
            except (asyncpg.PostgresError, OSError) as e:
                log.warning("post-processing worker error, retrying", extra={"error": str(e)})
                did = False
            except Exception:
                log.exception("post-processing worker error")
                did = False
            if did:
                continue
            try:
                delay = await self._next_due_in()
            except (asyncpg.PostgresError, OSError):
                delay = self.options.poll_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _next_due_in(self) -> float:
        due = await self.pool.fetchval(
            """SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
                 FROM revaer_runtime.fs_jobs WHERE status = 'pending'"""
        )
        if due is None:
            return self.options.poll_interval
        return float(min(self.options.poll_interval, max(0.01, due)))

    async def run_once(self) -> bool:
        """Finish one interrupted job or run one due job; False when there was nothing to do."""
        job = await self._claim_interrupted()
        if job is not None:
            await self._execute(job, recovering=True)
            return True
        claimed = await self._claim()
        if claimed is None:
            return False
        if claimed.status == "moving":
            await self._execute(claimed, recovering=False)
        return True

    async def run_until_idle(self, limit: int = 100) -> int:
        """Run due jobs until none is left (tests, tools); returns how many ran."""
        n = 0
        while n < limit and await self.run_once():
            n += 1
        return n

    async def _claim_interrupted(self) -> Job | None:
        # One job at a time per node: a `moving` job of ours is one a crash (or a stop) interrupted.
        async with self.pool.acquire() as conn, conn.transaction():
            r = await conn.fetchrow(
                f"""SELECT {_COLUMNS} FROM revaer_runtime.fs_jobs
                     WHERE status = 'moving' AND claimed_by = $1
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED""",
                self.node,
            )
            return None if r is None else Job.of(r)

    async def _claim(self) -> Job | None:
        async with self.pool.acquire() as conn, conn.transaction():
            r = await conn.fetchrow(
                f"""SELECT {", ".join("j." + c.strip() for c in _COLUMNS.split(","))}
                      FROM revaer_runtime.fs_jobs j
                      JOIN revaer_runtime.torrents t USING (info_hash)
                     WHERE j.status = 'pending' AND j.next_attempt_at <= now()
                       AND (t.owner = $1 OR t.owner IS NULL)
                     ORDER BY j.next_attempt_at, j.id LIMIT 1
                       FOR UPDATE OF j SKIP LOCKED""",
                self.node,
            )
            if r is None:
                return None
            job = Job.of(r)
            h = job.info_hash
            row = self.engine.get(h)
            category = await self._category(conn, h) if row is not None else job.category
            planned = row is not None and not job.requested
            p, source = await self._plan(h, row.name, category) if row and planned else (None, job.source)
            if planned and (p is None or p.skipped):
                reason = p.skip if p is not None else f"category {category!r} has no rule any more"
                await conn.execute(
                    """UPDATE revaer_runtime.fs_jobs
                          SET status = 'skipped', last_error = $2, category = $3, finished_at = now(),
                              updated_at = now()
                        WHERE id = $1""",
                    job.id,
                    reason,
                    category,
                )
                ev = job.event("skipped", error=reason)
                log.warning("post-processing skipped", extra={"info_hash": h, "reason": reason})
                self.bus.publish(ev)
                return Job(job.id, h, job.source, job.destination, "skipped", job.attempts, True, category)
            destination = p.destination if p is not None else job.destination
            if destination != job.destination and await conn.fetchval(
                """SELECT 1 FROM revaer_runtime.fs_jobs
                    WHERE info_hash = $1 AND destination = $2 AND id <> $3""",
                h,
                destination,
                job.id,
            ):
                destination = job.destination  # that move was already planned on its own; keep ours
            resume_after = row is None or not row.paused
            r = await conn.fetchrow(
                f"""UPDATE revaer_runtime.fs_jobs
                       SET status = 'moving', claimed_by = $2, attempts = attempts + 1, source = $3,
                           destination = $4, resume_after = $5, category = $6, updated_at = now()
                     WHERE id = $1
                 RETURNING {_COLUMNS}""",
                job.id,
                self.node,
                source or job.source,
                destination,
                resume_after,
                category,
            )
            return Job.of(r)

    # -- one job ----------------------------------------------------------------------------------
    async def _wait_paused(self, h: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.pause_timeout
        while loop.time() < deadline:
            row = self.engine.get(h)
            if row is None or row.paused:
                return
            await asyncio.sleep(0.05)

    async def _reset(self, h: str, save_path: str) -> None:
        row = self.engine.get(h)
        if row is None:
            raise ResetFailedError("the torrent is gone from the engine")
        if _same_path(row.save_path, save_path):
            return
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._storage[h] = fut
        try:
            self.engine.move_storage(h, save_path, reset_only=True)
            await asyncio.wait_for(fut, self.options.reset_timeout)
        except TimeoutError:
            raise ResetFailedError("the engine did not confirm the new save path in time") from None
        finally:
            self._storage.pop(h, None)

    def _progress(self, n: int) -> None:
        if self._stopping.is_set():
            raise MoveCancelledError("copy", "the worker is stopping")
        if self.hooks.progress is not None:
            self.hooks.progress(n)

    async def _execute(self, job: Job, *, recovering: bool) -> None:
        h = job.info_hash
        source, destination = Path(job.source), Path(job.destination)
        save_path = str(destination.parent)
        self.bus.publish(job.event("moving"))
        log.info(
            "post-processing moving" if not recovering else "post-processing recovering",
            extra={"info_hash": h, "source": job.source, "destination": job.destination},
        )
        paused = False
        try:
            if self.engine.get(h) is None:
                raise MoveError("check", "the torrent is not in the engine")
            self.engine.pause(h)
            paused = True
            await self._wait_paused(h)
            result = await asyncio.to_thread(
                move_payload,
                source,
                destination,
                token=str(job.id),
                fault=self.hooks.fault,
                progress=self._progress,
            )
            try:
                await self._reset(h, save_path)
            except (ResetFailedError, EngineError) as e:
                # Undo: the payload goes back where the engine still looks for it.
                await asyncio.to_thread(move_payload, destination, source, token=f"{job.id}-undo")
                raise MoveError("reset", str(e)) from e
            if job.resume_after:
                self.engine.resume(h)
            paused = False
        except Exception as e:
            if paused and job.resume_after:
                with contextlib.suppress(EngineError):
                    self.engine.resume(h)
            await self._failed(job, e)
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """UPDATE revaer_runtime.fs_jobs
                      SET status = 'moved', last_error = NULL, finished_at = now(), updated_at = now()
                    WHERE id = $1""",
                job.id,
            )
            await conn.execute(
                """UPDATE revaer_runtime.torrents SET save_path = $2, updated_at = now()
                    WHERE info_hash = $1""",
                h,
                save_path,
            )
        with contextlib.suppress(EngineError):
            self.engine.save_resume(h)  # the new save path survives a restart
        log.info(
            "post-processing moved",
            extra={"info_hash": h, "destination": job.destination, "outcome": result.outcome},
        )
        self.bus.publish(job.event("moved"))

    async def _failed(self, job: Job, e: Exception) -> None:
        error = str(e) or type(e).__name__
        if isinstance(e, MoveCancelledError):
            await self.pool.execute(
                """UPDATE revaer_runtime.fs_jobs
                      SET status = 'pending', attempts = greatest(attempts - 1, 0), last_error = $2,
                          next_attempt_at = now(), updated_at = now()
                    WHERE id = $1""",
                job.id,
                error,
            )
            self.bus.publish(job.event("pending", error=error))
            return
        final = not getattr(e, "retryable", True) or job.attempts >= self.options.max_attempts
        if final:
            await self.pool.execute(
                """UPDATE revaer_runtime.fs_jobs
                      SET status = 'failed', last_error = $2, finished_at = now(), updated_at = now()
                    WHERE id = $1""",
                job.id,
                error,
            )
            log.error("post-processing failed", extra={"info_hash": job.info_hash, "error": error})
            self.bus.publish(job.event("failed", error=error))
            return
        delay = self.options.backoff.delay(job.attempts)
        await self.pool.execute(
            """UPDATE revaer_runtime.fs_jobs
                  SET status = 'pending', last_error = $2,
                      next_attempt_at = now() + make_interval(secs => $3), updated_at = now()
                WHERE id = $1""",
            job.id,
            error,
            delay,
        )
        log.warning(
            "post-processing attempt failed, will retry",
            extra={"info_hash": job.info_hash, "error": error, "attempts": job.attempts, "delay": delay},
        )
        self.bus.publish(job.event("pending", error=error, retry_at=time.time() + delay))
