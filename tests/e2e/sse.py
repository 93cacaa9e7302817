"""A small Server-Sent Events reader over an aiohttp response (tests and benchmarks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson


@dataclass(frozen=True, slots=True)
class SseEvent:
    name: str
    data: str
    id: str | None

    def json(self) -> Any:
        return orjson.loads(self.data)


async def sse_events(resp: aiohttp.ClientResponse) -> AsyncIterator[SseEvent]:
    """The events of an open ``text/event-stream`` response, in order, until it ends.

    Comment lines (``:`` pings) are skipped; an event is dispatched at its blank line.
    """
    name = "message"
    data: list[str] = []
    event_id: str | None = None
    while True:
        raw = await resp.content.readline()
        if not raw:
            return
        line = raw.decode().rstrip("\r\n")
        if not line:
            if data:
                yield SseEvent(name, "\n".join(data), event_id)
            name, data, event_id = "message", [], None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
