"""The pump: the one place where the engine meets asyncio.

The engine's fd is watched with ``loop.add_reader``; when it is readable the
pump drains events and publishes them on the bus, followed by a
``TorrentUpdated`` for every row that changed since the last drain. A timer
asks the engine for fresh rows (``tick``) and, less often, for resume data of
the torrents that changed (``save_resume_modified``): every ``PumpIntervals.download_resume``
(a few seconds) of those still downloading, so a crash costs seconds of transfer, and every
``PumpIntervals.resume`` of all the others. Resume data goes to the
``on_resume`` callback, which persists it; ``listeners`` see every event
before the bus does (they must not block).

With ``PumpIntervals(update=None)`` there is no timer: whoever drives the pump calls
``step()`` (tests over the FakeEngine with a manual clock do, so the fake moves
only when the test says so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from revaer.engine.protocol import (
    Engine,
    EngineEvent,
    ResumeDataSaved,
    TorrentAdded,
    TorrentAddFailed,
    TorrentRemoved,
    TorrentUpdated,
)
from revaer.events import EventBus
from revaer.tasks import cancel_and_wait

log = logging.getLogger(__name__)

ResumeSink = Callable[[ResumeDataSaved], None]
Listener = Callable[[EngineEvent], None]

# How long a stop waits for the session's teardown (trackers told of the stop, files closed) once
# the resume data is saved; a server still tearing down then exits without it (ADR 0015).
TEARDOWN_WAIT = 0.05


@dataclass(frozen=True, slots=True)
class PumpIntervals:
    """How often, in seconds, the pump asks the engine for fresh rows and for resume data.

    ``update=None``: no timer; whoever drives the pump calls ``step()``.
    """

    update: float | None = 0.5
    resume: float = 30.0
    download_resume: float = 3.0


class EnginePump:
    """Drives an engine from the event loop and publishes its events."""

    def __init__(
        self,
        engine: Engine,
        bus: EventBus,
        *,
        intervals: PumpIntervals = PumpIntervals(),
        on_resume: ResumeSink | None = None,
        listeners: list[Listener] | None = None,
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.intervals = intervals
        self.on_resume = on_resume
        # Called for every event before it is published; unlike bus subscribers they never miss one.
        self.listeners: list[Listener] = list(listeners or ())
        self._version = engine.version
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.Task[None] | None = None
        self._fd: int | None = None
        # Torrents whose add the engine has confirmed: rows of others are not announced yet, so
        # every subscriber sees TorrentAdded before any TorrentUpdated of that torrent.
        self._live: set[str] = set()
        #: After ``stop()``: the session's teardown was still going on when it returned.
        self.teardown_pending = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._fd = self.engine.fd
        self._loop.add_reader(self._fd, self.pump)
        if self.intervals.update is not None:
            self._timer = asyncio.create_task(
                self._ticker(self.intervals.update), name="revaer-engine-ticker"
            )
        self.engine.tick()

    def step(self) -> None:
        """Ask the engine for fresh rows and publish everything it has now, synchronously.

        What the timer does every ``intervals.update``; a pump without a timer is driven by this.
        """
        self.engine.tick()
        self.pump()

    async def _ticker(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        next_resume = loop.time() + self.intervals.resume
        next_download_resume = loop.time() + self.intervals.download_resume
        while True:
            await asyncio.sleep(interval)
            try:
                self.engine.tick()
                now = loop.time()
                n = 0
                if now >= next_resume:
                    next_resume = now + self.intervals.resume
                    next_download_resume = now + self.intervals.download_resume
                    n = self.engine.save_resume_modified()
                elif now >= next_download_resume:
                    # Only torrents whose pieces changed since their last save are asked (libtorrent's
                    # need_save_resume), so an idle or seeding library costs nothing here.
                    next_download_resume = now + self.intervals.download_resume
                    n = self.engine.save_resume_modified(downloading_only=True)
                if n:
                    log.debug("resume data requested", extra={"torrents": n})
            except Exception:
                log.exception("engine tick failed")

    def pump(self) -> None:
        """Drain the engine now (also called by the reader callback)."""
        live = self._live
        for ev in self.engine.poll():
            if isinstance(ev, ResumeDataSaved):
                self._store_resume(ev)
                continue
            if isinstance(ev, TorrentAdded):
                live.add(ev.info_hash)
            elif isinstance(ev, TorrentRemoved | TorrentAddFailed):
                live.discard(ev.info_hash)
            for listener in self.listeners:
                try:
                    listener(ev)
                except Exception:
                    log.exception("engine event listener failed", extra={"event": type(ev).__name__})
            self.bus.publish(ev)
        changes = self.engine.changed_since(self._version)
        self._version = changes.version
        rows = self.engine.snapshot() if changes.resync else changes.rows
        for row in rows:
            if row.info_hash in live:
                self.bus.publish(TorrentUpdated(row))

    def _store_resume(self, ev: ResumeDataSaved) -> None:
        if self.on_resume is None:
            return
        try:
            self.on_resume(ev)
        except Exception:
            log.exception("storing resume data failed", extra={"info_hash": ev.info_hash})

    async def stop(
        self, resume_timeout: float = 10.0, teardown_wait: float = TEARDOWN_WAIT
    ) -> list[ResumeDataSaved]:
        """Stop watching, save resume data for every torrent and shut the engine down.

        The blocking shutdown runs in a worker thread so the loop keeps serving. The session's
        teardown is waited for up to ``teardown_wait`` s (``teardown_pending`` tells whether it
        was still going on): the resume data returned is all a restart needs (ADR 0015).
        """
        timer, self._timer = self._timer, None
        await cancel_and_wait(timer)
        if self._loop is not None and self._fd is not None:
            self.pump()
            self._loop.remove_reader(self._fd)
            self._fd = None
        loop = asyncio.get_running_loop()
        saved = await loop.run_in_executor(None, self.engine.shutdown, resume_timeout)
        for ev in saved:
            self._store_resume(ev)
        done = await loop.run_in_executor(None, self.engine.wait_closed, teardown_wait)
        self.teardown_pending = not done
        log.info("engine stopped", extra={"resume_saved": len(saved), "teardown_done": done})
        return saved
