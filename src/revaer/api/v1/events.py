"""``GET /v1/events/stream``: Server-Sent Events from the bus.

Every event carries the bus id. ``Last-Event-ID`` replays what the client
missed from the bus's ring buffer, or sends ``resync`` when that is gone.
``torrent.updated`` is coalesced: at most one per torrent per interval. A
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
from revaer.api.keys import SERVICES, Services
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
from revaer.events import ConfigChanged, Envelope, Lagged

log = logging.getLogger(__name__)

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


def encode(s: Services, event: object) -> tuple[str, dict[str, Any]] | None:
    """The SSE name and payload of a bus event, or None for events that are not streamed."""
    if isinstance(event, TorrentUpdated):
        row = event.summary
        return "torrent.updated", torrent_json(row, s.torrents.labels_of(row.info_hash))
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
        self.hashes = {h.strip().lower() for h in q.get("hash", "").split(",") if h.strip()} or None

    def __call__(self, name: str, payload: dict[str, Any]) -> bool:
        if self.types is not None and name not in self.types and name.split(".", 1)[0] not in self.types:
            return False
        if self.hashes is not None:
            h = payload.get("info_hash")
            return h is None or h in self.hashes
        return True


async def _send(resp: EventSourceResponse, name: str, payload: Any, event_id: int | None) -> None:
    await resp.send(
        orjson.dumps(payload).decode(), id=None if event_id is None else str(event_id), event=name
    )


async def stream(request: web.Request) -> web.StreamResponse:
    s = request.app[SERVICES]
    wanted = _Filter(request)
    interval = s.sse_update_interval
    sub = s.bus.subscribe()
    try:
        async with sse_response(request, ping_interval=15, send_timeout=10) as resp:
            s.streams.add(resp)
            await _send(resp, "hello", {"last_id": s.bus.last_id}, None)
            last = resp.last_event_id
            if last is not None:
                try:
                    replay = s.bus.since(int(last))
                except ValueError:
                    replay = None
                if replay is None:
                    await _send(
                        resp,
                        "resync",
                        {"reason": "events since Last-Event-ID are gone; reload"},
                        s.bus.last_id,
                    )
                else:
                    for env in replay:
                        enc = encode(s, env.event)
                        if enc is not None and wanted(*enc):
                            await _send(resp, enc[0], enc[1], env.id)
            pending: dict[str, tuple[int, dict[str, Any]]] = {}
            loop = asyncio.get_running_loop()
            flush_at = loop.time() + interval
            while resp.is_connected():
                timeout = max(0.0, flush_at - loop.time()) if pending else 5.0
                try:
                    item: Envelope | Lagged | None = await asyncio.wait_for(sub.get(), timeout)
                except TimeoutError:
                    item = None
                except EOFError:  # the bus closed: the server is stopping
                    break
                if isinstance(item, Lagged):
                    await _send(
                        resp, "lagged", {"missed": item.missed, "reason": "client too slow; reconnect"}, None
                    )
                    break
                if isinstance(item, Envelope):
                    enc = encode(s, item.event)
                    if enc is not None and wanted(*enc):
                        name, payload = enc
                        if name == "torrent.updated":
                            if not pending:
                                flush_at = loop.time() + interval
                            pending[payload["info_hash"]] = (item.id, payload)
                        else:
                            await _send(resp, name, payload, item.id)
                if pending and loop.time() >= flush_at:
                    batch, pending = pending, {}
                    for eid, payload in sorted(batch.values(), key=lambda x: x[0]):
                        await _send(resp, "torrent.updated", payload, eid)
            return resp
    finally:
        sub.close()


async def close_streams(app: web.Application) -> None:
    """On shutdown: end every open stream so the server can stop."""
    s = app[SERVICES]
    s.bus.close()  # wakes every stream waiting for an event
    for resp in list(s.streams):
        if isinstance(resp, EventSourceResponse):
            with contextlib.suppress(RuntimeError):
                resp.stop_streaming()
