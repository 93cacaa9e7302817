from __future__ import annotations

import aiohttp
import pytest
from aiohttp import payload

from revaer.api.qbittorrent.add import _disposition, split_multipart
from revaer.api.qbittorrent.errors import QbError


async def _encode(form: aiohttp.FormData) -> tuple[bytes, bytes]:
    writer = form()
    assert isinstance(writer, payload.Payload)
    chunks: list[bytes] = []

    class Sink:
        async def write(self, data: bytes) -> None:
            chunks.append(bytes(data))

    await writer.write(Sink())  # type: ignore[arg-type]
    ct = writer.content_type
    boundary = ct.split("boundary=")[1].strip('"').encode()
    return b"".join(chunks), boundary


async def test_split_matches_what_aiohttp_sends() -> None:
    form = aiohttp.FormData()
    binary = b"d4:infod4:name3:abce" + b"\r\n--not-the-boundary\r\n" + bytes(range(256))
    form.add_field(
        "torrents", binary, filename='we"ird; name.torrent', content_type="application/x-bittorrent"
    )
    form.add_field("torrents", b"second", filename="2.torrent", content_type="application/x-bittorrent")
    form.add_field("category", "tv shows")
    form.add_field("tags", "ä,b")
    body, boundary = await _encode(form)
    parts = split_multipart(body, boundary)
    assert [p[1] for p in parts] == [binary, b"second", b"tv shows", "ä,b".encode()]
    names = [_disposition(h["content-disposition"]) for h, _ in parts]
    assert names[1] == ("torrents", "2.torrent")
    assert names[2] == ("category", None)
    # aiohttp percent-encodes the quote, the semicolon and the space of the file name.
    assert names[0] == ("torrents", "we%22ird%3B%20name.torrent")
    assert _disposition('form-data; name="a\\"b"; filename="x;y.torrent"') == ('a"b', "x;y.torrent")


def test_a_part_without_headers_end_is_refused() -> None:
    with pytest.raises(QbError):
        split_multipart(b"--b\r\nContent-Disposition: form-data; name=x\r\n--b--\r\n", b"b")


def test_preamble_and_epilogue_are_ignored() -> None:
    body = b"preamble\r\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\nvalue\r\n--b--\r\nepilogue"
    assert split_multipart(body, b"b") == [({"content-disposition": "form-data; name=x"}, b"value")]
