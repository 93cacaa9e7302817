"""What the read endpoints share: their parameters, JSON replies, the torrent a ``hash`` names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


# A long listing is kept as pieces of this many fragments (about 250 KB at 1.2 KB each) and written
# piece by piece: no copy of the whole body is made, and the transport never buffers more than a
# piece or two (asyncio's buffer of megabytes is copied, and shifted on every partial send).
PIECE_FRAGMENTS = 200
STREAM_MIN = 1 << 20  # bodies from this size on are written piece by piece


def joined(head: bytes, fragments: Sequence[bytes], tail: bytes) -> list[bytes]:
    """``head + b",".join(fragments) + tail`` as pieces of ``PIECE_FRAGMENTS`` fragments each."""
    k = PIECE_FRAGMENTS
    if len(fragments) <= k:
        return [head + b",".join(fragments) + tail]
    pieces = [head + b",".join(fragments[:k])]
    pieces += [b",".join([b"", *fragments[i : i + k]]) for i in range(k, len(fragments), k)]
    pieces.append(tail)
    return pieces


async def send_json(
    request: web.Request, pieces: Sequence[bytes], headers: Mapping[str, str] = HEADERS
) -> web.StreamResponse:
    """The JSON body made of ``pieces``: one response when short, else written piece by piece
    (with its ``Content-Length``), each write waiting while the client is behind."""
    size = sum(map(len, pieces))
    if size < STREAM_MIN or len(pieces) == 1:
        body = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        return web.Response(body=body, content_type="application/json", headers=headers)
    resp = web.StreamResponse(headers=headers)
    resp.content_type = "application/json"
    resp.content_length = size
    try:
        await resp.prepare(request)
        for piece in pieces:
            await resp.write(piece)
        await resp.write_eof()
    except ConnectionError:
        pass  # the client went away in the middle: there is no one to answer
    return resp


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
