"""Inputs a schema fuzzer found answering 500: each is now a clear 4xx and changes nothing, on the
FakeEngine and, where the engine is the one that failed, on real libtorrent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import FormData

from revaer.engine.libtorrent import LibtorrentEngine
from tests.api.conftest import Api, ServedApi, served_real
from tests.support.engine import loopback_engine
from tests.support.torrents import bencode, synthetic_torrent

MAGNET = "magnet:?xt=urn:btih:" + "b" * 40
BAD_TORRENT = bencode(
    {"info": {"name": "x", "length": 2**62, "piece length": 0, "pieces": b"a" * 20}, "announce": "http://t/"}
)


@pytest.fixture
async def real(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[ServedApi[LibtorrentEngine]]:
    """The app over real libtorrent on loopback, set up."""
    async with served_real(loopback_engine(), db_url, pool, tmp_path) as api:
        yield api


async def test_v1_multipart_without_boundary_or_with_a_bad_part(ready: Api) -> None:
    c, auth = ready.client, ready.auth
    r = await c.post("/v1/torrents/add", data=b"x", headers={**auth, "Content-Type": "multipart/form-data"})
    assert r.status == 400
    assert r.content_type == "application/problem+json"
    body = b'--b\r\nContent-Disposition: form-data; name="a\x01b"\r\n\r\nx\r\n--b--\r\n'
    r = await c.post(
        "/v1/torrents/add", data=body, headers={**auth, "Content-Type": "multipart/form-data; boundary=b"}
    )
    assert 400 <= r.status < 500
    assert r.content_type == "application/problem+json"
    assert ready.torrents.snapshot() == []


async def test_v1_setup_apply_with_nulls(api: Api) -> None:
    for field in ("setup_token", "admin_username", "admin_password"):
        body = {
            "setup_token": api.token,
            "admin_username": "admin",
            "admin_password": "long enough",
            field: None,
        }
        r = await api.client.post("/v1/setup/apply", json=body)
        assert r.status == 422, await r.text()
        assert (await r.json())["field"] == field
    assert (await api.client.get("/v1/health")).status == 200
    assert (await (await api.client.get("/v1/health")).json())["setup"] is True


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/api/v2/torrents/createTags", "tags=t%00g"),
        ("/api/v2/torrents/createTags", "tags=" + "x" * 100_000),
        ("/api/v2/torrents/createCategory", "category=" + "x" * 100_000),
        ("/api/v2/torrents/createCategory", "category=c%00t"),
    ],
)
async def test_qb_names_that_cannot_be_stored(ready: Api, path: str, form: str) -> None:
    headers = {**ready.auth, "Content-Type": "application/x-www-form-urlencoded"}
    r = await ready.client.post(path, data=form, headers=headers)
    assert 400 <= r.status < 500
    assert ready.torrents.categories.tags == set() or not ready.torrents.categories.tags
    assert ready.torrents.categories.categories == {}


async def test_real_engine_limits_out_of_range(real: ServedApi[LibtorrentEngine]) -> None:
    c, auth = real.client, real.auth
    tor = synthetic_torrent("limits", size=1 << 20)
    form = FormData()
    form.add_field("torrents", tor.data, filename="l.torrent", content_type="application/x-bittorrent")
    assert await (await c.post("/api/v2/torrents/add", data=form, headers=auth)).text() == "Ok."
    for endpoint in ("setUploadLimit", "setDownloadLimit"):
        for value in ("9223372036854775808", "2147483648", "-9223372036854775809"):
            r = await c.post(
                f"/api/v2/torrents/{endpoint}", data={"hashes": tor.info_hash, "limit": value}, headers=auth
            )
            assert (r.status, await r.text()) == (400, "Bad Request"), (endpoint, value)
    row = real.torrents.get(tor.info_hash)
    assert row is not None
    assert (row.upload_limit, row.download_limit) in ((-1, -1), (0, 0))
    # An add with such limits takes qBittorrent's default for them (the number does not parse).
    fields = {"urls": MAGNET, "upLimit": "9223372036854775808", "dlLimit": "99999999999999999999"}
    r = await c.post("/api/v2/torrents/add", data=fields, headers=auth)
    assert (r.status, await r.text()) == (200, "Ok.")


async def test_real_engine_invalid_torrent_is_415(real: ServedApi[LibtorrentEngine]) -> None:
    form = FormData()
    form.add_field("torrents", BAD_TORRENT, filename="bad.torrent", content_type="application/x-bittorrent")
    r = await real.client.post("/api/v2/torrents/add", data=form, headers=real.auth)
    assert (r.status, await r.text()) == (415, "Error: 'bad.torrent' is not a valid torrent file.")
    assert real.torrents.snapshot() == []


async def test_fake_engine_invalid_torrent_is_415(ready: Api) -> None:
    """Checked before the engine sees it: the same answer whichever engine runs."""
    form = FormData()
    form.add_field("torrents", BAD_TORRENT, filename="bad.torrent", content_type="application/x-bittorrent")
    r = await ready.client.post("/api/v2/torrents/add", data=form, headers=ready.auth)
    assert r.status == 415
    assert ready.torrents.snapshot() == []


async def test_v1_unicode_category_names(ready: Api) -> None:
    for name in ("\u0085x", "\ud800", "x" * 101, " x", "a//b", "a/./b", "\x00"):
        body = {"magnet": MAGNET, "category": name}
        r = await ready.client.post("/v1/torrents/add", json=body, headers=ready.auth)
        assert r.status in (400, 422), (name, await r.text())
    assert ready.torrents.snapshot() == []
    for tags in ([" a "], ["\u2028", " "], ["a,b"], ["\ud800"]):
        tagged: dict[str, object] = {"magnet": MAGNET, "tags": tags}
        r = await ready.client.post("/v1/torrents/add", json=tagged, headers=ready.auth)
        assert r.status in (201, 400, 422), (tags, await r.text())
        if r.status == 201:
            for h in (await r.json())["info_hashes"]:
                assert (await ready.client.post(f"/v1/torrents/{h}/remove", headers=ready.auth)).status == 200


async def test_a_refused_add_leaves_no_category(ready: Api) -> None:
    """Found by the fuzz suite: the category of an add the engine refused stayed behind."""
    form = FormData()
    form.add_field("torrents", b"not bencode", filename="x.torrent", content_type="application/x-bittorrent")
    form.add_field("category", "fresh")
    r = await ready.client.post("/v1/torrents/add", data=form, headers=ready.auth)
    assert r.status == 422
    assert ready.torrents.categories.categories == {}
    r = await ready.client.post(
        "/v1/torrents/add", json={"magnet": "magnet:?xt=urn:btih:zz", "category": "fresh"}, headers=ready.auth
    )
    assert r.status == 422
    assert ready.torrents.categories.categories == {}


async def test_an_undecodable_field_name_is_quoted_back(ready: Api) -> None:
    """Found by the fuzz suite: the 422 naming a field whose name is not UTF-8 failed to encode."""
    body = b'--b\r\nContent-Disposition: form-data; name="\x80"\r\n\r\nx\r\n--b--\r\n'
    headers = {**ready.auth, "Content-Type": "multipart/form-data; boundary=b"}
    r = await ready.client.post("/v1/torrents/add", data=body, headers=headers)
    assert r.status == 422
    assert "\\udc80" in (await r.json())["field"]
