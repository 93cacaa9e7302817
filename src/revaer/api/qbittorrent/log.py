"""``log/main`` and ``log/peers``: the server's recent log records and the peers it refused.

As qBittorrent 4.6.7: ``last_known_id`` (entries after it; anything that is not an integer means
all), and for ``log/main`` the ``normal``/``info``/``warning``/``critical`` filters (each on
unless ``false``). Python's levels map to qBittorrent's types as ``revaer.logbook.msg_type`` says.
"""

from __future__ import annotations

from aiohttp import web

from revaer.api.keys import LOGBOOK, PEER_LOG
from revaer.api.params import parse_bool, parse_int
from revaer.api.qbittorrent.reading import json_response, params
from revaer.logbook import MsgType


def _last_known_id(value: str | None) -> int:
    return parse_int(value, default=-1, strict=False)


async def main(request: web.Request) -> web.Response:
    p = await params(request)
    wanted = {
        t
        for t, key in (
            (MsgType.NORMAL, "normal"),
            (MsgType.INFO, "info"),
            (MsgType.WARNING, "warning"),
            (MsgType.CRITICAL, "critical"),
        )
        if parse_bool(p.get(key)) is not False
    }
    book = request.config_dict.get(LOGBOOK)
    messages = book.after(_last_known_id(p.get("last_known_id"))) if book is not None else []
    return json_response(
        [
            {"id": m.id, "timestamp": m.timestamp, "type": int(m.type), "message": m.message}
            for m in messages
            if m.type in wanted
        ]
    )


async def peers(request: web.Request) -> web.Response:
    p = await params(request)
    peer_log = request.config_dict.get(PEER_LOG)
    entries = peer_log.after(_last_known_id(p.get("last_known_id"))) if peer_log is not None else []
    return json_response(
        [
            {"id": e.id, "timestamp": e.timestamp, "ip": e.ip, "blocked": e.blocked, "reason": e.reason}
            for e in entries
        ]
    )
