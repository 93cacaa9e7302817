"""The worker against a real PostgreSQL, real files and the FakeEngine behind the real pump."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from revaer.engine.fake import FakeEngine
from revaer.engine.protocol import AddRequest, TorrentCompleted
from revaer.engine.pump import EnginePump
from revaer.events import EventBus, Subscription
from revaer.fsops import FsJobEvent, PostProcessor, WorkerHooks, WorkerOptions
from revaer.tasks import Backoff
from tests.fsops.conftest import TwoFilesystems, add_torrent_row, leftovers, make_payload, snapshot
from tests.support.torrents import make_torrent

NODE = "node-a"


@dataclass
class Env:
    pool: asyncpg.Pool
    engine: FakeEngine
    bus: EventBus
    pump: EnginePump
    downloads: Path
    library: Path
    rules: dict[str, str]
    faults: dict[str, int] = field(default_factory=dict)  # step -> how many more times to fail
    sub: Subscription | None = None

    def fault(self, step: str, path: Path) -> None:
        if self.faults.get(step, 0) > 0:
            self.faults[step] -= 1
            raise OSError(28, f"injected ENOSPC at {step}")

    def worker(self, **options: float) -> PostProcessor:
        opts = WorkerOptions(
            backoff=Backoff(options.get("backoff_initial", 0.01), 3600.0),
            max_attempts=int(options.get("max_attempts", 3)),
            reset_timeout=10.0,
        )
        w = PostProcessor(
            self.pool,
            self.engine,
            self.bus,
            lambda: self.rules,
            node=NODE,
            options=opts,
            hooks=WorkerHooks(fault=self.fault),
        )
        self.pump.listeners.append(w.on_event)  # as postprocessing() does
        return w

    async def torrent(
        self, name: str, *, multi: bool = True, category: str = "tv", paused: bool = False
    ) -> str:
        payload = make_payload(self.downloads, name, multi=multi)
        t = make_torrent(payload)
        h = self.engine.add(AddRequest(torrent=t.data, save_path=str(self.downloads), paused=paused))
        await add_torrent_row(self.pool, h, name=name, save_path=str(self.downloads), category=category)
        return h

    async def job(self, h: str) -> asyncpg.Record:
        r = await self.pool.fetchrow(
            "SELECT *, status::text AS st FROM revaer_runtime.fs_jobs WHERE info_hash = $1", h
        )
        assert r is not None
        return r

    def events(self) -> list[FsJobEvent]:
        assert self.sub is not None
        out = []
        while (env := self.sub.get_nowait()) is not None:
            ev = getattr(env, "event", None)
            if isinstance(ev, FsJobEvent):
                out.append(ev)
        return out


@pytest.fixture(params=["same-fs", "cross-fs"])
async def env(
    request: pytest.FixtureRequest,
    pool: asyncpg.Pool,
    fake_engine: tuple[FakeEngine, EventBus, EnginePump],
    tmp_path: Path,
    two_filesystems: TwoFilesystems,
) -> AsyncIterator[Env]:
    engine, bus, pump = fake_engine
    downloads = (two_filesystems.a if request.param == "cross-fs" else tmp_path) / "downloads"
    library = tmp_path / "library"
    e = Env(pool, engine, bus, pump, downloads, library, {"tv": f"{library}/tv/{{name}}"})
    e.sub = bus.subscribe()
    yield e
    e.sub.close()


async def until_idle(w: PostProcessor, done: Callable[[], object], rounds: int = 200) -> None:
    """Run due jobs (retries become due after their short backoff) until ``done()`` holds."""
    for _ in range(rounds):
        await w.run_until_idle()
        if await done() if asyncio.iscoroutinefunction(done) else done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("worker did not reach the expected state")


@pytest.mark.parametrize("multi", [False, True], ids=["single", "multi"])
async def test_job_moves_payload_and_updates_save_path(env: Env, multi: bool) -> None:
    name = "Show S01 – ünïcødé ✓" if multi else "Movie (2026).mkv"
    h = await env.torrent(name, multi=multi)
    before = snapshot(env.downloads / name)
    w = env.worker()
    ev = await w.enqueue(h)
    assert ev is not None
    assert ev.sse()[0] == "fsjob.pending"
    assert await w.enqueue(h) is None  # a second completion is a no-op
    assert await w.run_until_idle() == 1
    dest = env.library / "tv" / name
    assert snapshot(dest) == before
    assert not (env.downloads / name).exists()
    job = await env.job(h)
    assert job["st"] == "moved"
    assert job["destination"] == str(dest)
    assert job["attempts"] == 1
    saved = await env.pool.fetchval("SELECT save_path FROM revaer_runtime.torrents WHERE info_hash = $1", h)
    assert saved == str(env.library / "tv")
    row = env.engine.get(h)
    assert row is not None
    assert row.save_path == str(env.library / "tv")
    assert not row.paused  # seeding again
    names = [e.sse()[0] for e in env.events()]
    assert names == ["fsjob.pending", "fsjob.moving", "fsjob.moved"]
    assert leftovers(env.downloads, env.library) == []
    # Completed again (a recheck at the new place): nothing to do.
    assert await w.enqueue(h) is None


async def test_paused_torrent_stays_paused(env: Env) -> None:
    h = await env.torrent("paused one", paused=True)
    w = env.worker()
    await w.enqueue(h)
    await w.run_until_idle()
    assert (await env.job(h))["st"] == "moved"
    row = env.engine.get(h)
    assert row is not None
    assert row.paused


@pytest.mark.parametrize("step", ["copy", "fsync", "verify", "rename", "remove"])
async def test_failure_retries_with_backoff_then_succeeds(env: Env, step: str) -> None:
    h = await env.torrent("retry me")
    before = snapshot(env.downloads / "retry me")
    same_fs = env.downloads.stat().st_dev == env.library.parent.stat().st_dev
    if same_fs and step != "rename":
        step = "rename"  # a rename is the only step on one filesystem
    env.faults[step] = 1
    w = env.worker()
    await w.enqueue(h)
    await w.run_once()
    job = await env.job(h)
    assert job["st"] == "pending"
    assert "injected ENOSPC" in job["last_error"]
    assert job["attempts"] == 1
    assert snapshot(env.downloads / "retry me") == before  # intact
    row = env.engine.get(h)
    assert row is not None
    assert not row.paused  # seeding from the source again
    assert row.save_path == str(env.downloads)
    assert leftovers(env.downloads, env.library) == []

    async def moved() -> bool:
        return bool((await env.job(h))["st"] == "moved")

    await until_idle(w, moved)
    assert snapshot(env.library / "tv" / "retry me") == before
    job = await env.job(h)
    assert job["attempts"] == 2
    assert job["last_error"] is None
    names = [e.sse()[0] for e in env.events()]
    assert names == ["fsjob.pending", "fsjob.moving", "fsjob.pending", "fsjob.moving", "fsjob.moved"]


async def test_gives_up_after_max_attempts(env: Env) -> None:
    h = await env.torrent("doomed")
    env.faults["rename"] = 100
    w = env.worker()
    await w.enqueue(h)

    async def failed() -> bool:
        return bool((await env.job(h))["st"] == "failed")

    await until_idle(w, failed)
    job = await env.job(h)
    assert job["attempts"] == 3
    assert "injected" in job["last_error"]
    assert (env.downloads / "doomed").exists()
    assert env.events()[-1].sse()[0] == "fsjob.failed"


async def test_destination_collision_fails_at_once(env: Env) -> None:
    h = await env.torrent("clash")
    theirs = make_payload(env.library / "tv", "clash", multi=True)
    kept = snapshot(theirs)
    w = env.worker()
    await w.enqueue(h)
    await w.run_until_idle()
    job = await env.job(h)
    assert job["st"] == "failed"
    assert job["attempts"] == 1
    assert "never overwritten" in job["last_error"]
    assert snapshot(theirs) == kept
    assert (env.downloads / "clash").exists()


async def test_missing_rule_no_job_and_escape_skipped(env: Env) -> None:
    h = await env.torrent("uncategorized", category="music")
    w = env.worker()
    assert await w.enqueue(h) is None
    assert await env.pool.fetchval("SELECT count(*) FROM revaer_runtime.fs_jobs") == 0

    env.rules["evil"] = f"{env.library}/evil/{{category}}/../../../{{name}}"
    h2 = await env.torrent("escapee", category="evil")
    ev = await w.enqueue(h2)
    # The engine may report the torrent's (already complete) data first and the worker plan it on
    # its own: then this second enqueue is the no-op it must be. Either way one skipped job exists.
    if ev is not None:
        name, payload = ev.sse()
        assert name == "fsjob.skipped"
        assert "'..'" in payload["error"]
    assert (
        await env.pool.fetchval("SELECT count(*) FROM revaer_runtime.fs_jobs WHERE info_hash = $1", h2) == 1
    )
    job = await env.job(h2)
    assert "'..'" in job["last_error"]
    assert job["st"] == "skipped"
    assert job["last_error"]
    await w.run_until_idle()
    assert (env.downloads / "escapee").exists()


async def test_rules_changed_while_pending(env: Env) -> None:
    a = await env.torrent("first")
    b = await env.torrent("second")
    w = env.worker()
    await w.enqueue(a)
    await w.enqueue(b)
    # Hot reload: "tv" now goes elsewhere, and nothing maps "tv" for the second check below.
    env.rules["tv"] = f"{env.library}/series/{{name}}"
    w.rules_changed()
    await w.run_once()
    ja = await env.job(a)
    assert ja["st"] == "moved"
    assert ja["destination"] == str(env.library / "series" / "first")
    assert (env.library / "series" / "first").is_dir()
    # The category renamed in the rules ("tv" -> "shows"): the torrent's category has no rule any more.
    env.rules.clear()
    env.rules["shows"] = f"{env.library}/shows/{{name}}"
    await w.run_until_idle()
    jb = await env.job(b)
    assert jb["st"] == "skipped"
    assert "no rule" in jb["last_error"]
    assert (env.downloads / "second").is_dir()


async def test_completion_event_drives_the_running_worker(env: Env) -> None:
    h = await env.torrent("auto", multi=False)
    w = env.worker()
    await w.start()
    try:
        # The pump hands every engine event to the worker before the bus sees it.
        w.on_event(TorrentCompleted(h, "auto"))

        async def moved() -> bool:
            r = await env.pool.fetchval(
                "SELECT status::text FROM revaer_runtime.fs_jobs WHERE info_hash = $1", h
            )
            return bool(r == "moved")

        for _ in range(500):
            if await moved():
                break
            await asyncio.sleep(0.02)
        assert await moved()
    finally:
        await w.close()
    assert (env.library / "tv" / "auto").is_file()
