"""The event bus: one bounded queue per subscriber, never blocking the publisher.

A subscriber that falls behind loses events; it is told so with a ``Lagged``
marker (how many it missed) once it has consumed what was queued before the
gap, and must then resync from a snapshot. A ring buffer of recent events with
ids lets an SSE client resume from ``Last-Event-ID``.

Event ids are ``<epoch>:<seq>``: ``seq`` counts from 1 in this process, and the
epoch is new at every start (the start time in milliseconds and random bits),
so an id seen before a restart is never taken for one of this process's: the
client is told to resync instead of being handed unrelated events.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Envelope:
    """An event and its sequence number in this process (monotonic, from 1; see ``EventBus.event_id``).

    Every subscriber is handed the same envelope: ``memo`` holds what a consumer derived from the
    event (the SSE stream's encoding), so it is computed once however many subscribers read it.
    """

    id: int
    event: Any
    memo: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Lagged:
    """The subscriber missed ``missed`` events: resync from a snapshot."""

    missed: int


@dataclass(frozen=True, slots=True)
class ConfigChanged:
    """A configuration key changed (published by the config listener)."""

    key: str
    version: int


class Subscription:
    """A subscriber's bounded queue. Iterate it, or ``await get()``."""

    __slots__ = ("_bus", "_dropped", "_items", "_maxsize", "_waiter", "closed")

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._items: deque[Envelope] = deque()
        self._maxsize = maxsize
        self._dropped = 0
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    def _offer(self, env: Envelope) -> None:
        # Once behind, drop everything until the subscriber has seen the marker,
        # so it never receives an event from after the gap before learning of it.
        if self._dropped or len(self._items) >= self._maxsize:
            self._dropped += 1
        else:
            self._items.append(env)
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def pending(self) -> int:
        return len(self._items)

    def get_nowait(self) -> Envelope | Lagged | None:
        if self._items:
            return self._items.popleft()
        if self._dropped:
            n, self._dropped = self._dropped, 0
            return Lagged(n)
        return None

    async def get(self) -> Envelope | Lagged:
        """The next envelope or ``Lagged`` marker; raises ``EOFError`` once closed and empty."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            if self.closed:
                raise EOFError("subscription closed")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._subs.discard(self)
            self._wake()

    def __aiter__(self) -> AsyncIterator[Envelope | Lagged]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[Envelope | Lagged]:
        while True:
            try:
                yield await self.get()
            except EOFError:
                return

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def new_epoch() -> str:
    """A process's event-id epoch: start time (ms, hex) and 32 random bits; unique across restarts."""
    return f"{time.time_ns() // 1_000_000:x}{secrets.token_hex(4)}"


class EventBus:
    """Fan-out of events to subscribers; ``publish`` is O(subscribers) and never waits."""

    def __init__(self, *, queue_size: int = 1024, history: int = 4096, epoch: str | None = None) -> None:
        self.epoch = epoch or new_epoch()
        self.queue_size = queue_size
        self._subs: set[Subscription] = set()
        self._ids = itertools.count(1)
        self._history: deque[Envelope] = deque(maxlen=history)
        self.last_id = 0

    def publish(self, event: object) -> int:
        env = Envelope(next(self._ids), event)
        self.last_id = env.id
        self._history.append(env)
        for sub in self._subs:
            sub._offer(env)
        return env.id

    def subscribe(self, *, queue_size: int | None = None) -> Subscription:
        sub = Subscription(self, queue_size or self.queue_size)
        self._subs.add(sub)
        return sub

    def event_id(self, seq: int) -> str:
        """The id clients see for event ``seq`` of this process (opaque to them)."""
        return f"{self.epoch}:{seq}"

    @property
    def last_event_id(self) -> str:
        return self.event_id(self.last_id)

    def replay(self, last_event_id: str) -> list[Envelope] | None:
        """Events after a client's ``Last-Event-ID``, or None when they cannot be given: the id is
        from another process (a restart), not one of ours, or older than the ring buffer.

        ``0`` says "nothing seen yet": everything since this process started, if the ring still
        holds it."""
        if last_event_id.strip() == "0":
            return self.since(0)
        epoch, sep, seq = last_event_id.strip().rpartition(":")
        if not sep or epoch != self.epoch or not seq.isdigit() or int(seq) > self.last_id:
            return None
        return self.since(int(seq))

    def since(self, event_id: int) -> list[Envelope] | None:
        """Events after ``event_id`` still in the ring, or None when some were already dropped."""
        if event_id >= self.last_id:
            return []
        if not self._history or self._history[0].id > event_id + 1:
            return None
        return [e for e in self._history if e.id > event_id]

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
