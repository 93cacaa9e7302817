"""The same WebAPI calls to Debian's qbittorrent-nox 4.5.2 and to Revaer over the real engine.

Status codes, text bodies, key sets and value types must agree; values too
where both sides know them (paused torrents with no data: states, sizes,
magnet links, labels). Allowed differences: the identity (v4.5.2/2.8.19 against
v4.6.7/2.9.3) and what 4.6 added (the two ``*inactive*`` keys in items and
preferences, ``server_state.use_subcategories``).

Writes that belong to the write half of the façade (add, categories, tags,
pause/resume, delete) go through the WebAPI on qBittorrent; on Revaer they use
the endpoint when the façade has it, else the service underneath.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from revaer.api.keys import ENGINE, TORRENTS
from revaer.engine.protocol import Engine
from revaer.torrents import AddOptions, TorrentService
from tests.api.conftest import serving
from tests.support.engine import loopback_engine
from tests.support.qbittorrent import QBittorrent
from tests.support.torrents import MadeTorrent, synthetic_torrent

pytestmark = pytest.mark.timeout(60)

INACTIVE = {"inactive_seeding_time_limit", "max_inactive_seeding_time"}
TRACKER = "http://127.0.0.1:9/announce"
MAGNET_HASH = os.urandom(20).hex()
MAGNET = (
    f"magnet:?xt=urn:btih:{MAGNET_HASH}&dn=lab-magnet&tr={TRACKER.replace(':', '%3A').replace('/', '%2F')}"
)
# Values both sides must agree on for paused torrents with no data.
SAME_VALUES = (
    "hash",
    "infohash_v1",
    "infohash_v2",
    "name",
    "category",
    "tags",
    "state",
    "size",
    "total_size",
    "amount_left",
    "completed",
    "progress",
    "ratio",
    "eta",
    "dl_limit",
    "up_limit",
    "max_ratio",
    "max_seeding_time",
    "ratio_limit",
    "seeding_time_limit",
    "auto_tmm",
    "seq_dl",
    "f_l_piece_prio",
    "force_start",
    "super_seeding",
    "dlspeed",
    "upspeed",
    "downloaded",
    "uploaded",
    "num_seeds",
    "num_leechs",
    "download_path",
)


def kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def shape(d: dict[str, Any], drop: set[str] = INACTIVE) -> dict[str, str]:
    return {k: kind(v) for k, v in d.items() if k not in drop}


@dataclass
class Answer:
    status: int
    body: Any


async def _answer(r: aiohttp.ClientResponse) -> Answer:
    if r.content_type == "application/json":
        return Answer(r.status, await r.json())
    return Answer(r.status, await r.text())


@dataclass
class Revaer:
    client: TestClient  # type: ignore[type-arg]
    app: web.Application
    root: Path

    @property
    def torrents(self) -> TorrentService:
        return self.app[TORRENTS]

    @property
    def engine(self) -> Engine:
        return self.app[ENGINE]


@pytest.fixture
async def revaer(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Revaer]:
    engine = loopback_engine()
    # The config says what the loopback engine runs with (serving's LOOPBACK_CONFIG: no DHT, loopback).
    root = tmp_path / "revaer"
    root.mkdir()
    try:
        async with serving(engine, db_url, pool, tmp_path, root=root) as api:
            await api.set_up()
            yield Revaer(api.client, api.app, root)
    finally:
        await asyncio.to_thread(engine.shutdown, 5.0)


@pytest.fixture
def qbit(tmp_path: Path) -> Any:
    with QBittorrent(tmp_path / "qb") as qb:
        yield qb


async def _until(pred: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await pred():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


@dataclass
class Sides:
    """The two servers under one WebAPI: qBittorrent over its own session, Revaer over the test client."""

    qb_http: aiohttp.ClientSession
    qbit: QBittorrent
    revaer: Revaer

    async def qb_get(self, path: str, **params: str) -> Answer:
        async with self.qb_http.get(f"{self.qbit.base}/{path}", params=params) as r:
            return await _answer(r)

    async def qb_post(self, path: str, data: Any = None, **form: str) -> Answer:
        async with self.qb_http.post(
            f"{self.qbit.base}/{path}", data=data if data is not None else form
        ) as r:
            return await _answer(r)

    async def rv_get(self, path: str, **params: str) -> Answer:
        return await _answer(await self.revaer.client.get(f"/api/v2/{path}", params=params))

    async def rv_post(self, path: str, data: Any = None, **form: str) -> Answer:
        return await _answer(
            await self.revaer.client.post(f"/api/v2/{path}", data=data if data is not None else form)
        )


async def test_differential(revaer: Revaer, qbit: QBittorrent) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as qb_http:
        s = Sides(qb_http, qbit, revaer)
        # Which write endpoints the façade has (the write half may not be there yet).
        probe = await s.rv_get("torrents/createCategory")
        has_writes = probe.status == 405
        await _identity(s)
        made = await _add_both(s, has_writes)
        await _until(lambda: _settled(s.qb_get))
        await _until(lambda: _settled(s.rv_get))
        hashes = sorted([made.info_hash, MAGNET_HASH])
        await _compare_info(s, made)
        await _compare_details(s, hashes)
        await _compare_transfer(s)
        await _compare_maindata(s, has_writes, made, hashes)


async def _settled(get: Callable[..., Awaitable[Answer]]) -> bool:
    """Both torrents are listed, and paused with nothing checking."""
    a = await get("torrents/info")
    states = [i["state"] for i in a.body]
    return len(states) == 2 and all(s == "pausedDL" for s in states)


async def _identity(s: Sides) -> None:
    """Login, version, build info and preferences: the same shapes."""
    for post, password in ((s.qb_post, "adminadmin"), (s.rv_post, "correct horse")):
        a = await post("auth/login", username="admin", password=password)
        assert (a.status, a.body) == (200, "Ok."), a
    q, r = await s.qb_get("app/version"), await s.rv_get("app/version")
    assert (q.status, r.status, q.body, r.body) == (200, 200, "v4.5.2", "v4.6.7")
    q, r = await s.qb_get("app/webapiVersion"), await s.rv_get("app/webapiVersion")
    assert (q.body, r.body) == ("2.8.19", "2.9.3")
    q, r = await s.qb_get("app/buildInfo"), await s.rv_get("app/buildInfo")
    assert shape(q.body) == shape(r.body)
    assert q.body["libtorrent"] == r.body["libtorrent"]  # both link Debian's libtorrent
    q, r = await s.qb_get("app/preferences"), await s.rv_get("app/preferences")
    assert q.status == r.status == 200
    assert set(r.body) - set(q.body) == {"max_inactive_seeding_time", "max_inactive_seeding_time_enabled"}
    assert {k: kind(r.body[k]) for k in q.body} == shape(q.body)


async def _add_both(s: Sides, has_writes: bool) -> MadeTorrent:
    """The same categories, tags and two paused torrents (a .torrent file, a magnet) on both sides."""
    assert (await s.qb_post("torrents/createCategory", category="movies")).status == 200
    assert (await s.qb_post("torrents/createTags", tags="alpha,beta")).status == 200
    if has_writes:
        assert (await s.rv_post("torrents/createCategory", category="movies")).status == 200
        assert (await s.rv_post("torrents/createTags", tags="alpha,beta")).status == 200
    else:
        await s.revaer.torrents.categories.create_category("movies")
        await s.revaer.torrents.categories.create_tags(["alpha", "beta"])

    made = synthetic_torrent(
        "lab-file", size=3 * 256 * 1024 + 100, piece_length=256 * 1024, files=3, trackers=(TRACKER,)
    )
    sides: list[tuple[Callable[..., Awaitable[Answer]] | None, Path]] = [
        (s.qb_post, s.qbit.downloads),
        (s.rv_post if has_writes else None, s.revaer.root),
    ]
    for add_post, root in sides:
        if add_post is None:
            s.revaer.torrents.add(
                torrent=made.data,
                options=AddOptions(category="movies", tags=("alpha",), paused=True, save_path=str(root)),
            )
            s.revaer.torrents.add(
                magnet=MAGNET,
                options=AddOptions(category="movies", tags=("beta",), paused=True, save_path=str(root)),
            )
            continue
        form = aiohttp.FormData()
        for k, v in {
            "savepath": str(root),
            "category": "movies",
            "tags": "alpha",
            "paused": "true",
            "autoTMM": "false",
        }.items():
            form.add_field(k, v)
        form.add_field("torrents", made.data, filename="t.torrent", content_type="application/x-bittorrent")
        a = await add_post("torrents/add", data=form)
        assert (a.status, a.body) == (200, "Ok.")
        a = await add_post(
            "torrents/add",
            urls=MAGNET,
            savepath=str(root),
            category="movies",
            tags="beta",
            paused="true",
            autoTMM="false",
        )
        assert (a.status, a.body) == (200, "Ok.")
    return made


async def _compare_info(s: Sides, made: MadeTorrent) -> None:
    """``torrents/info`` with each parameter: the same torrents, shapes and values."""
    queries: list[dict[str, str]] = [
        {},
        {"filter": "paused"},
        {"filter": "downloading"},
        {"filter": "completed"},
        {"filter": "active"},
        {"filter": "inactive"},
        {"filter": "errored"},
        {"filter": "nonsense"},
        {"category": "movies"},
        {"category": ""},
        {"category": "nonexistent"},
        {"tag": "alpha"},
        {"tag": ""},
        {"sort": "name"},
        {"sort": "name", "reverse": "true"},
        {"sort": "hash", "limit": "1"},
        {"sort": "hash", "limit": "0"},
        {"sort": "hash", "offset": "-1"},
        {"sort": "hash", "offset": "1", "limit": "5"},
        {"hashes": made.info_hash.upper()},
        {"hashes": f"{MAGNET_HASH}|{made.info_hash}"},
        {"hashes": "garbage"},
        {"sort": "nosuchfield"},
    ]
    for query in queries:
        q, r = await s.qb_get("torrents/info", **query), await s.rv_get("torrents/info", **query)
        assert q.status == r.status, query
        if q.status != 200:
            assert q.body == r.body, query
            continue
        ordered = "sort" in query
        qh = [i["hash"] for i in q.body]
        rh = [i["hash"] for i in r.body]
        assert (qh if ordered else sorted(qh)) == (rh if ordered else sorted(rh)), query
        for qi, ri in zip(
            sorted(q.body, key=lambda i: i["hash"]), sorted(r.body, key=lambda i: i["hash"]), strict=True
        ):
            assert set(ri) - set(qi) == INACTIVE
            assert shape(qi) == shape(ri), qi["hash"]
            for k in SAME_VALUES:
                assert qi[k] == ri[k], (k, qi[k], ri[k])
            assert qi["magnet_uri"] == ri["magnet_uri"]
            assert qi["save_path"].removeprefix(str(s.qbit.downloads)) == ri["save_path"].removeprefix(
                str(s.revaer.root)
            )
            assert qi["trackers_count"] == ri["trackers_count"]


async def _compare_details(s: Sides, hashes: list[str]) -> None:
    """One torrent in detail, and the answers for unknown or missing hashes."""
    for h in hashes:
        for path in (
            "torrents/properties",
            "torrents/files",
            "torrents/trackers",
            "torrents/webseeds",
            "torrents/pieceStates",
            "torrents/pieceHashes",
        ):
            q, r = await s.qb_get(path, hash=h), await s.rv_get(path, hash=h)
            assert q.status == r.status == 200, (path, q, r)
            if isinstance(q.body, dict):
                assert shape(q.body) == shape(r.body), path
                for k in (
                    "hash",
                    "name",
                    "total_size",
                    "piece_size",
                    "pieces_num",
                    "pieces_have",
                    "is_private",
                    "share_ratio",
                    "eta",
                    "dl_limit",
                    "up_limit",
                ):
                    assert q.body[k] == r.body[k], (path, k)
            else:
                assert [shape(x) if isinstance(x, dict) else kind(x) for x in q.body] == [
                    shape(x) if isinstance(x, dict) else kind(x) for x in r.body
                ], path
                if path in ("torrents/files", "torrents/pieceStates", "torrents/pieceHashes"):
                    assert q.body == r.body, path
                if path == "torrents/trackers":
                    assert [t["url"] for t in q.body] == [t["url"] for t in r.body]
                    assert [t["tier"] for t in q.body] == [t["tier"] for t in r.body]
                    assert [t["status"] for t in q.body[:3]] == [t["status"] for t in r.body[:3]]
    for path, params in (
        ("torrents/properties", {"hash": "0" * 40}),
        ("torrents/properties", {"hash": "xyz"}),
        ("torrents/properties", {}),
        ("torrents/files", {"hash": "0" * 40}),
        ("torrents/files", {}),
        ("torrents/trackers", {"hash": "0" * 40}),
        ("sync/torrentPeers", {"hash": "0" * 40, "rid": "0"}),
    ):
        q, r = await s.qb_get(path, **params), await s.rv_get(path, **params)
        assert (q.status, q.body) == (r.status, r.body), (path, params)
    # What 4.6 added: torrents/count (4.5.2 answers 404).
    q, r = await s.qb_get("torrents/count"), await s.rv_get("torrents/count")
    assert (q.status, r.status, r.body) == (404, 200, str(len(hashes)))


async def _compare_transfer(s: Sides) -> None:
    """``transfer/*``: the same info shape, and the same limits read and written."""
    q, r = await s.qb_get("transfer/info"), await s.rv_get("transfer/info")
    assert shape(q.body) == shape(r.body)
    for path in ("transfer/uploadLimit", "transfer/downloadLimit"):
        q, r = await s.qb_get(path), await s.rv_get(path)
        assert (q.status, q.body) == (r.status, r.body), path
    q, r = (
        await s.qb_post("transfer/setUploadLimit", limit="2048000"),
        await s.rv_post("transfer/setUploadLimit", limit="2048000"),
    )
    assert (q.status, q.body) == (r.status, r.body)
    q, r = await s.qb_get("transfer/uploadLimit"), await s.rv_get("transfer/uploadLimit")
    assert (q.status, q.body) == (r.status, r.body) == (200, "2048000")
    q, r = (
        await s.qb_post("transfer/setUploadLimit", limit="0"),
        await s.rv_post("transfer/setUploadLimit", limit="0"),
    )
    assert (q.status, q.body) == (r.status, r.body)


async def _compare_maindata(s: Sides, has_writes: bool, made: MadeTorrent, hashes: list[str]) -> None:
    """``sync/maindata`` in full, then the delta after a label change, a resume and a delete."""
    q, r = await s.qb_get("sync/maindata", rid="0"), await s.rv_get("sync/maindata", rid="0")
    assert set(q.body) == set(r.body)
    assert q.body["rid"] == r.body["rid"] == 1
    assert set(r.body["server_state"]) - set(q.body["server_state"]) == {"use_subcategories"}
    assert shape(q.body["server_state"]) == shape(r.body["server_state"], {"use_subcategories"})
    assert q.body["categories"].keys() == r.body["categories"].keys()
    assert sorted(q.body["tags"]) == sorted(r.body["tags"])
    assert set(q.body["torrents"]) == set(r.body["torrents"]) == set(hashes)
    for h in hashes:
        assert shape(q.body["torrents"][h]) == shape(r.body["torrents"][h])
    assert {u: sorted(v) for u, v in q.body["trackers"].items()} == {
        u: sorted(v) for u, v in r.body["trackers"].items()
    }
    q, r = await s.qb_get("sync/maindata", rid="abc"), await s.rv_get("sync/maindata", rid="abc")
    assert q.body["full_update"] is r.body["full_update"] is True
    rid = q.body["rid"]
    assert r.body["rid"] == rid

    # A label change, a resume, a delete: the next delta names them.
    file_hash = made.info_hash
    assert (await s.qb_post("torrents/setCategory", hashes=file_hash, category="")).status == 200
    assert (await s.qb_post("torrents/resume", hashes=MAGNET_HASH)).status == 200
    assert (await s.qb_post("torrents/delete", hashes=file_hash, deleteFiles="true")).status == 200
    if has_writes:
        assert (await s.rv_post("torrents/setCategory", hashes=file_hash, category="")).status == 200
        assert (await s.rv_post("torrents/resume", hashes=MAGNET_HASH)).status == 200
        assert (await s.rv_post("torrents/delete", hashes=file_hash, deleteFiles="true")).status == 200
    else:
        s.revaer.torrents.set_labels(file_hash, category="")
        s.revaer.engine.resume(MAGNET_HASH)
        s.revaer.torrents.remove(file_hash, True)

    async def gone(get: Callable[..., Awaitable[Answer]]) -> bool:
        a = await get("torrents/info")
        return [i["hash"] for i in a.body] == [MAGNET_HASH] and a.body[0]["state"] != "pausedDL"

    await _until(lambda: gone(s.qb_get))
    await _until(lambda: gone(s.rv_get))
    q, r = await s.qb_get("sync/maindata", rid=str(rid)), await s.rv_get("sync/maindata", rid=str(rid))
    assert q.body["rid"] == r.body["rid"] == rid + 1
    assert "full_update" not in q.body
    assert "full_update" not in r.body
    assert q.body["torrents_removed"] == r.body["torrents_removed"] == [file_hash]
    assert "state" in q.body["torrents"][MAGNET_HASH]
    assert "state" in r.body["torrents"][MAGNET_HASH]
    assert q.body["torrents"][MAGNET_HASH]["state"] == r.body["torrents"][MAGNET_HASH]["state"]
