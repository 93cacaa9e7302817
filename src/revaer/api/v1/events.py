"""``GET /v1/events/stream``: Server-Sent Events from the bus.

Every event carries the bus id. ``Last-Event-ID`` replays what the client
missed from the bus's ring buffer, or sends ``resync`` when that is gone.
``torrent.updated`` is coalesced: at most one per torrent per interval, and one that changes
nothing a client shows (an idle torrent's rates decaying) at most once per ten intervals. A
client that falls behind gets ``lagged`` and is disconnected; nobody else
waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from revaer.api.errors import unprocessable
from revaer.api.keys import API_OPTIONS, BUS, STREAMS, TORRENTS
from revaer.api.params import split_hashes
from revaer.api.v1.torrents import torrent_json
from revaer.engine.protocol import (
    TorrentAdded,
    TorrentAddFailed,
    TorrentCompleted,
    TorrentFailed,
    TorrentRemoved,
    TorrentStateChanged,
    TorrentUpdated,
)
from revaer.events import ConfigChanged, Envelope, EventBus, Lagged, Subscription
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)

REPLAY_SLICE = 64  # replayed events sent between two turns of the event loop

EVENT_TYPES = (
    "torrent.added",
    "torrent.updated",
    "torrent.state",
    "torrent.completed",
    "torrent.removed",
    "torrent.error",
    "fsjob.pending",
    "fsjob.moving",
    "fsjob.moved",
    "fsjob.failed",
    "fsjob.skipped",
    "config.changed",
)

routes = web.RouteTableDef()
"""This module's part of ``/v1`` (added by ``revaer.api.v1.build_v1``)."""


def encode(torrents: TorrentService, event: object) -> tuple[str, dict[str, Any]] | None:
    """The SSE name and payload of a bus event, or None for events that are not streamed."""
    if isinstance(event, TorrentUpdated):
        row = event.summary
        return "torrent.updated", torrent_json(row, torrents.labels_of(row.info_hash))
    if isinstance(event, TorrentAdded):
        return "torrent.added", {"info_hash": event.info_hash, "name": event.name}
    if isinstance(event, TorrentStateChanged):
        return "torrent.state", {"info_hash": event.info_hash, "old": event.old.value, "new": event.new.value}
    if isinstance(event, TorrentCompleted):
        return "torrent.completed", {"info_hash": event.info_hash, "name": event.name}
    if isinstance(event, TorrentRemoved):
        return "torrent.removed", {"info_hash": event.info_hash}
    if isinstance(event, TorrentFailed | TorrentAddFailed):
        return "torrent.error", {"info_hash": event.info_hash, "message": event.message}
    if isinstance(event, ConfigChanged):
        return "config.changed", {"key": event.key, "version": event.version}
    sse = getattr(event, "sse", None)  # events of other services (fsjob.*) describe themselves
    if callable(sse):
        result = sse()
        if isinstance(result, tuple):
            return result
    return None


class _Filter:
    def __init__(self, request: web.Request) -> None:
        q = request.query
        self.types: set[str] | None = None
        if q.get("types"):
            wanted = {t.strip() for t in q["types"].split(",") if t.strip()}
            names = set(EVENT_TYPES)
            for t in wanted:
                if t not in names and not any(n.startswith(t + ".") for n in names):
                    raise unprocessable(
                        f"unknown event type '{t}' (known: {', '.join(EVENT_TYPES)})", field="types"
                    )
            self.types = wanted
        # Given but naming no valid info-hash: nothing about a torrent matches (not "every torrent").
        raw = q.get("hash", "")
        self.hashes = set(split_hashes(raw, ",")) if raw.replace(",", "").strip() else None

    def __call__(self, name: str, payload: dict[str, Any]) -> bool:
        if self.types is not None and name not in self.types and name.split(".", 1)[0] not in self.types:
            return False
        if self.hashes is not None:
            h = payload.get("info_hash")
            return h is None or h in self.hashes
        return True


async def _replay(
    frames: _Frames, last: str | None, bus: EventBus, torrents: TorrentService, wanted: _Filter
) -> None:
    """After a reconnect: what the client missed since its ``Last-Event-ID``, or ``resync`` when gone."""
    if last is None:
        return
    replay = bus.replay(last)
    if replay is None:
        # From before a restart, not ours, or older than the ring buffer: nothing can be replayed.
        reason = {"reason": "events since Last-Event-ID are gone; reload"}
        await frames.send("resync", reason, bus.last_event_id)
        return
    for n, env in enumerate(replay, 1):
        enc = _encoded(torrents, env)
        if enc is not None and wanted(enc.name, enc.payload):
            await frames.send(enc.name, enc.data, bus.event_id(env.id))
        if n % REPLAY_SLICE == 0:
            # A send returns without yielding while the socket takes the bytes: a replay of the
            # whole ring would hold the loop for its whole length.
            await asyncio.sleep(0)


def _rate_bucket(rate: int) -> int:
    """A rate as a client tells it apart: zero, under 1 KiB/s, or its octave above that."""
    if rate <= 0:
        return 0
    return 1 if rate < 1024 else rate.bit_length()


def _shown(payload: dict[str, Any]) -> bytes:
    """What a client shows of a torrent.updated payload: rates (and the ETA that follows them) by
    bucket, the rest as it is. An idle torrent whose rates decay changes nothing here."""
    view = dict(payload)
    view["download_rate"] = _rate_bucket(payload["download_rate"])
    view["upload_rate"] = _rate_bucket(payload["upload_rate"])
    eta = payload.get("eta")
    view["eta"] = None if eta is None else int(eta).bit_length()
    return orjson.dumps(view)


class _Encoded:
    """A bus event as the stream sends it: its SSE name, its payload, the payload's JSON and (for
    ``torrent.updated``) what a client shows of it. Held by the event's envelope (``Envelope.memo``):
    computed once for all subscribers, gone with the envelope."""

    __slots__ = ("_shown", "data", "name", "payload")

    def __init__(self, name: str, payload: dict[str, Any]) -> None:
        self.name = name
        self.payload = payload
        self.data = orjson.dumps(payload)
        self._shown: bytes | None = None

    @property
    def shown(self) -> bytes:
        if self._shown is None:
            self._shown = _shown(self.payload)
        return self._shown


_NOT_STREAMED = object()  # Envelope.memo of an event the stream does not send


def _encoded(torrents: TorrentService, env: Envelope) -> _Encoded | None:
    """``encode(env.event)`` and its JSON, computed by the first subscriber that reads the envelope."""
    memo = env.memo
    if memo is None:
        enc = encode(torrents, env.event)
        env.memo = memo = _NOT_STREAMED if enc is None else _Encoded(*enc)
    return memo if isinstance(memo, _Encoded) else None


class _Updates:
    """``torrent.updated`` coalesced: the newest per torrent, sent at most once per ``interval``,
    and one that shows nothing new (``_shown``) held back until ``refresh`` after the last one sent
    for that torrent, so the exact figures still arrive, but rarely."""

    __slots__ = ("check_at", "flush_at", "interval", "pending", "quiet", "refresh", "sent")

    def __init__(self, interval: float, refresh: float | None = None) -> None:
        self.interval = interval
        self.refresh = 10 * interval if refresh is None else refresh
        self.pending: dict[str, tuple[int, _Encoded]] = {}
        # Held back: showed nothing new. sent: what was last sent per torrent, and when.
        self.quiet: dict[str, tuple[int, _Encoded]] = {}
        self.sent: dict[str, tuple[bytes, float]] = {}
        self.flush_at = 0.0
        self.check_at = 0.0

    def timeout(self, now: float) -> float:
        """How long to wait for the next event before something is due."""
        due = [self.flush_at] if self.pending else []
        if self.quiet:
            due.append(self.check_at)
        return max(0.0, min(due) - now) if due else 5.0

    def add(self, event_id: int, update: _Encoded, now: float) -> None:
        if not self.pending:
            self.flush_at = now + self.interval
        h = update.payload["info_hash"]
        self.quiet.pop(h, None)
        self.pending[h] = (event_id, update)

    def forget(self, info_hash: str) -> None:
        """The torrent is gone: nothing more to send about it."""
        self.pending.pop(info_hash, None)
        self.quiet.pop(info_hash, None)
        self.sent.pop(info_hash, None)

    def due(self, now: float) -> list[tuple[int, _Encoded]]:
        """The updates to send now, in event order (none before the interval is over)."""
        out: list[tuple[int, _Encoded]] = []
        if self.pending and now >= self.flush_at:
            batch, self.pending = self.pending, {}
            for h, item in batch.items():
                key = item[1].shown
                last = self.sent.get(h)
                if last is not None and last[0] == key and now - last[1] < self.refresh:
                    if not self.quiet:
                        self.check_at = now + self.interval
                    self.quiet[h] = item
                    continue
                self.sent[h] = (key, now)
                out.append(item)
        if self.quiet and now >= self.check_at:
            self.check_at = now + self.interval
            for h, item in list(self.quiet.items()):
                if now - self.sent[h][1] >= self.refresh:
                    del self.quiet[h]
                    self.sent[h] = (item[1].shown, now)
                    out.append(item)
        return sorted(out, key=lambda x: x[0])


BATCH = 256  # events taken from the subscription and written together, at most


class _Frames:
    """SSE frames gathered during one turn and written together: one write (one send timeout,
    one system call) for every event that was waiting, instead of one per event."""

    __slots__ = ("_parts", "_request", "_resp", "_send_timeout")

    def __init__(
        self, request: web.BaseRequest, resp: EventSourceResponse, send_timeout: float | None
    ) -> None:
        self._request = request
        self._resp = resp
        self._send_timeout = send_timeout
        self._parts: list[bytes] = []

    def add(self, name: str, payload: Any, event_id: str | None) -> None:
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        head = f"id: {event_id}\r\nevent: {name}\r\n" if event_id is not None else f"event: {name}\r\n"
        # orjson writes no line breaks: the payload is one data line.
        self._parts.append(b"%sdata: %s\r\n\r\n" % (head.encode(), data))

    @property
    def connected(self) -> bool:
        return self._resp.is_connected()

    async def send(self, name: str, payload: Any, event_id: str | None) -> None:
        """One frame, written now."""
        self.add(name, payload, event_id)
        await self.flush()

    async def flush(self) -> None:
        if not self._parts:
            return
        body, self._parts = b"".join(self._parts), []
        try:
            async with asyncio.timeout(self._send_timeout):
                await self._resp.write(body)
        except ConnectionResetError:
            self._resp.stop_streaming()
            raise
        except TimeoutError:
            self._resp.stop_streaming()
            # A stalled client never drains the buffer, so a graceful close would wait forever.
            if (transport := self._request.transport) is not None:
                transport.abort()
            raise


async def _next(sub: Subscription, within: float) -> Envelope | Lagged | None:
    """The next item, waiting at most ``within`` seconds (None when none came)."""
    item = sub.get_nowait()
    if item is not None:
        return item
    try:
        async with asyncio.timeout(within):
            return await sub.get()
    except TimeoutError:
        return None


async def _follow(
    frames: _Frames,
    bus: EventBus,
    sub: Subscription,
    torrents: TorrentService,
    wanted: _Filter,
    interval: float,
) -> None:
    """Send the bus's events as they come, until the client goes, falls behind or the bus closes."""
    loop = asyncio.get_running_loop()
    updates = _Updates(interval)
    while frames.connected:
        try:
            item = await _next(sub, updates.timeout(loop.time()))
        except EOFError:  # the bus closed: the server is stopping
            return
        taken = 0
        while item is not None:
            if isinstance(item, Lagged):
                frames.add("lagged", {"missed": item.missed, "reason": "client too slow; reconnect"}, None)
                await frames.flush()
                return
            enc = _encoded(torrents, item)
            if enc is not None and wanted(enc.name, enc.payload):
                if enc.name == "torrent.updated":
                    updates.add(item.id, enc, loop.time())
                else:
                    if enc.name == "torrent.removed":
                        updates.forget(enc.payload["info_hash"])
                    frames.add(enc.name, enc.data, bus.event_id(item.id))
            taken += 1
            # What else is waiting goes into the same write (a bounded batch: the loop turns).
            item = sub.get_nowait() if taken < BATCH else None
        for seq, update in updates.due(loop.time()):
            frames.add("torrent.updated", update.data, bus.event_id(seq))
        await frames.flush()


SEND_TIMEOUT = 10.0


@routes.get("/events/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    app = request.config_dict
    torrents, bus = app[TORRENTS], app[BUS]
    wanted = _Filter(request)
    sub = bus.subscribe()
    resp: EventSourceResponse | None = None
    try:
        async with sse_response(request, ping_interval=15, send_timeout=SEND_TIMEOUT) as resp:
            app[STREAMS].add(resp)
            frames = _Frames(request, resp, SEND_TIMEOUT)
            await frames.send("hello", {"last_id": bus.last_event_id}, None)
            await _replay(frames, resp.last_event_id, bus, torrents, wanted)
            await _follow(frames, bus, sub, torrents, wanted, app[API_OPTIONS].sse_update_interval)
            return resp
    except ConnectionError:
        # The client closed the stream (during a replay or live): what clients do, not a fault.
        # (aiohttp raises ClientConnectionResetError on a write after the close, ConnectionError
        # from a write that was waiting for the socket to drain.)
        log.debug("event stream closed by the client", extra={"peer": request.remote})
    except TimeoutError:
        # A send waited send_timeout for a client that stopped reading; its connection was aborted.
        log.info("event stream dropped: the client stopped reading", extra={"peer": request.remote})
    finally:
        sub.close()
    if resp is None:  # the stream never started: nothing to finish
        raise web.HTTPServiceUnavailable()
    return resp


async def close_streams(app: web.Application) -> None:
    """On shutdown: end every open stream so the server can stop."""
    app[BUS].close()  # wakes every stream waiting for an event
    streams = app[STREAMS]
    for resp in list(streams):
        if isinstance(resp, EventSourceResponse):
            with contextlib.suppress(RuntimeError):
                resp.stop_streaming()
