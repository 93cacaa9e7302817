"""Hypothesis over the upload parsers: the multipart splitter, the bencode decoder and the .torrent
check in process (they raise only their own refusals), and the same bodies posted to both APIs of
the live server (no 5xx; a refused upload changed nothing)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from revaer import bencode
from revaer.api.qbittorrent.add import _disposition, is_torrent, split_multipart
from revaer.api.qbittorrent.errors import QbError
from tests.fuzz.conftest import EXAMPLES, LONG, Live
from tests.fuzz.state import fingerprint
from tests.support.torrents import Bencodable, synthetic_torrent
from tests.support.torrents import bencode as encode

VALID = synthetic_torrent("fuzz-valid", size=1 << 20, piece_length=16 * 1024).data

# ---- .torrent files: structures near a valid one, and mutations of a valid one's bytes -----------

sizes = st.one_of(st.integers(-2, 2**20), st.sampled_from([0, 2**31, 2**48, 2**62, 2**63, -(2**63)]))
names = st.one_of(st.binary(max_size=20), st.sampled_from([b"", b"..", b"/", b"a\x00b", b"\xff\xfe"]))


@st.composite
def torrent_structures(draw: st.DrawFn) -> bytes:
    info: dict[str, Bencodable] = {"name": draw(names), "piece length": draw(sizes)}
    if draw(st.booleans()):
        info["pieces"] = draw(st.binary(max_size=200))
    if draw(st.booleans()):
        info["length"] = draw(sizes)
    else:
        files: list[Bencodable] = [
            {"length": draw(sizes), "path": draw(st.lists(names, max_size=3))}
            for _ in range(draw(st.integers(0, 3)))
        ]
        info["files"] = files
    if draw(st.booleans()):
        info["meta version"] = draw(st.sampled_from([1, 2, 3]))
        info["file tree"] = {}
    return encode({"info": info, "announce": "http://127.0.0.1:1/announce"})


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


torrents = st.one_of(torrent_structures(), mutated(), st.binary(max_size=300))

# ---- multipart bodies -----------------------------------------------------------------------------

header_text = st.text(st.characters(codec="latin-1"), max_size=30)
part_names = st.one_of(
    st.sampled_from(["torrents", "torrent", "category", "tags", "savepath", "paused"]), header_text
)


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    boundary = draw(st.sampled_from(["b0undary", "x", "--", "a b", ""]))
    chunks: list[bytes] = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(part_names)
        disposition = f'form-data; name="{name}"'
        if draw(st.booleans()):
            disposition += f'; filename="{draw(header_text)}"'
        head = f"Content-Disposition: {disposition}\r\n"
        if draw(st.booleans()):
            head += (
                f"Content-Type: {draw(st.sampled_from(['application/x-bittorrent', 'text/plain', '']))}\r\n"
            )
        content = draw(torrents) if draw(st.booleans()) else draw(st.binary(max_size=50))
        sep = b"\r\n\r\n" if draw(st.integers(0, 9)) else b"\r\n"
        chunks.append(
            b"--" + boundary.encode() + b"\r\n" + head.encode("latin-1")[:-2] + sep + content + b"\r\n"
        )
    body = b"".join(chunks) + (b"--" + boundary.encode() + b"--\r\n" if draw(st.booleans()) else b"")
    ctype = draw(
        st.sampled_from(
            [
                f"multipart/form-data; boundary={boundary}",
                "multipart/form-data",
                f'multipart/form-data; boundary="{boundary}"',
                "multipart/mixed; boundary=x",
            ]
        )
    )
    return ctype, body


# ---- in process ---------------------------------------------------------------------------------


@settings(settings.get_profile("revaer-fuzz"), max_examples=EXAMPLES * 8)
@given(body=multipart_bodies(), boundary=st.binary(min_size=1, max_size=10))
def test_split_multipart_refuses_only_with_400(body: tuple[str, bytes], boundary: bytes) -> None:
    for b in (boundary, b"b0undary"):
        status = 200
        try:
            for headers, _ in split_multipart(body[1], b):
                _disposition(headers.get("content-disposition", ""))
        except QbError as e:
            status = e.status
        assert status in (200, 400)


@settings(settings.get_profile("revaer-fuzz"), max_examples=EXAMPLES * 8)
@given(data=torrents)
def test_torrent_parsers_raise_only_their_refusal(data: bytes) -> None:
    assert isinstance(is_torrent(data), bool)
    with contextlib.suppress(ValueError):
        bencode.decode(data)


# ---- the live server ----------------------------------------------------------------------------


def run_uploads(live: Live) -> None:
    http = requests.Session()
    state: dict[str, Any] = {"before": fingerprint(http, live.url, live.auth)}

    @settings(settings.get_profile("revaer-fuzz"), max_examples=EXAMPLES * 4)
    @given(body=multipart_bodies(), api=st.sampled_from(["/api/v2/torrents/add", "/v1/torrents/add"]))
    def check(body: tuple[str, bytes], api: str) -> None:
        ctype, raw = body
        r = http.post(f"{live.url}{api}", data=raw, headers={**live.auth, "Content-Type": ctype}, timeout=60)
        where = f"{api} {ctype!r} {raw[:300]!r} -> {r.status_code}: {r.text[:200]}"
        assert r.status_code < 500, where
        after = fingerprint(http, live.url, live.auth)
        if r.status_code >= 400 or r.text == "Fails.":
            assert after == state["before"], f"a refusal changed the state: {where}"
        state["before"] = after

    check()


@LONG
async def test_uploads_fuzz(live: Live) -> None:
    await asyncio.to_thread(run_uploads, live)
