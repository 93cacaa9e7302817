"""What the read endpoints share: their parameters, JSON replies, the torrent a ``hash`` names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from revaer.api.keys import TORRENTS
from revaer.api.params import is_info_hash
from revaer.api.qbittorrent.errors import HEADERS, NOT_FOUND, bad_request
from revaer.engine.protocol import TorrentSummary


async def params(request: web.Request) -> Mapping[str, str]:
    """The request's parameters: the query, and for POST the form body over it (read endpoints take both)."""
    if request.method != "POST" or not request.can_read_body:
        return request.query
    out: dict[str, str] = dict(request.query)
    form = await request.post()
    for k, v in form.items():
        if isinstance(v, str):
            out[k] = v
    return out


def json_response(data: Any, *, sort_keys: bool = False) -> web.Response:
    """``data`` as JSON with qBittorrent's headers; ``sort_keys``: objects in key order, as Qt writes
    the ones it builds from a QJsonObject."""
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    return web.Response(body=body, content_type="application/json", headers=HEADERS)


async def named_torrent(request: web.Request) -> tuple[Mapping[str, str], TorrentSummary]:
    """The parameters and the row of the torrent ``hash`` names: 400 without ``hash``, 404 when
    it is malformed or unknown (as qBittorrent answers)."""
    p = await params(request)
    h = p.get("hash")
    if h is None:
        raise bad_request()
    h = h.strip().lower()
    row = request.config_dict[TORRENTS].get(h) if is_info_hash(h) else None
    if row is None:
        raise NOT_FOUND
    return p, row
