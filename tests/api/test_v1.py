"""Every /v1 route and error, over the real HTTP stack, a real database and a FakeEngine."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from revaer.api.v1.openapi import DOCUMENT
from revaer.engine.protocol import TorrentState
from tests.api.conftest import Api
from tests.support.engine import eventually
from tests.support.torrents import synthetic_torrent

MAGNET = "magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=first"


async def problem(r: aiohttp.ClientResponse, status: int, type_: str) -> dict[str, Any]:
    assert r.status == status, await r.text()
    assert r.content_type == "application/problem+json"
    body: dict[str, Any] = await r.json(content_type=None)
    assert body["type"] == type_
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


async def test_health_needs_no_key_and_reports_setup(api: Api) -> None:
    r = await api.client.get("/v1/health")
    assert r.status == 200
    body = await r.json()
    assert body["status"] == "ok"
    assert body["setup"] is True
    assert body["checks"] == {"engine": "ok", "database": "ok", "registry": "ok"}
    assert body["uptime"] >= 0
    await api.set_up()
    assert (await (await api.client.get("/v1/health")).json())["setup"] is False


async def test_setup_mode_refuses_mutations_and_allows_reads(api: Api) -> None:
    r = await api.client.post("/v1/torrents/add", json={"magnet": MAGNET})
    await problem(r, 409, "setup_required")
    r = await api.client.patch("/v1/config", json={"api.cors_origins": []})
    await problem(r, 409, "setup_required")
    assert api.engine.snapshot() == []
    r = await api.client.get("/v1/torrents")
    assert r.status == 200
    assert (await r.json())["torrents"] == []


async def test_setup_apply_once(api: Api) -> None:
    c = api.client
    r = await c.post("/v1/setup/apply", json={"setup_token": api.token, "admin_username": "admin"})
    await problem(r, 422, "validation_error")
    r = await c.post("/v1/setup/apply", json={"setup_token": 1, "admin_username": "a", "admin_password": "b"})
    await problem(r, 422, "validation_error")
    r = await c.post(
        "/v1/setup/apply",
        json={"setup_token": "wrong", "admin_username": "admin", "admin_password": "correct horse"},
    )
    await problem(r, 403, "invalid_setup_token")
    key = await api.set_up()
    assert key
    r = await c.post(
        "/v1/setup/apply",
        json={"setup_token": api.token, "admin_username": "admin", "admin_password": "correct horse"},
    )
    await problem(r, 409, "already_set_up")


async def test_auth_after_setup(ready: Api) -> None:
    c = ready.client
    r = await c.get("/v1/torrents")
    body = await problem(r, 401, "unauthorized")
    assert "Bearer" in body["detail"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = await c.get("/v1/torrents", headers={"Authorization": "Bearer rvr_0000000000000000_nope"})
    await problem(r, 403, "forbidden")
    r = await c.get("/v1/torrents", headers={"Authorization": "Basic abc"})
    await problem(r, 401, "unauthorized")
    r = await c.get("/v1/torrents", headers=ready.auth)
    assert r.status == 200
    assert (await c.get("/v1/health")).status == 200


async def test_add_magnet_list_get_and_actions(ready: Api) -> None:
    c, auth = ready.client, ready.auth
    r = await c.post(
        "/v1/torrents/add",
        json={"magnet": MAGNET + "&tr=http://127.0.0.1:9/announce", "category": "tv", "tags": ["a", "b"]},
        headers=auth,
    )
    assert r.status == 201, await r.text()
    (h,) = (await r.json())["info_hashes"]
    assert h == "ab" * 20
    r = await c.post("/v1/torrents/add", json={"magnet": MAGNET}, headers=auth)
    await problem(r, 409, "duplicate_torrent")

    r = await c.get(f"/v1/torrents/{h.upper()}", headers=auth)
    assert r.status == 200
    t = await r.json()
    assert t["info_hash"] == h
    assert t["name"] == "first"
    assert t["category"] == "tv"
    assert t["tags"] == ["a", "b"]
    assert t["save_path"] == str(ready.root / "tv")
    assert t["files"] == []
    assert [(x["url"], x["status"]) for x in t["trackers"]] == [
        ("http://127.0.0.1:9/announce", "not_contacted")
    ]

    r = await c.post(f"/v1/torrents/{h}/pause", headers=auth)
    assert r.status == 200
    assert (await r.json())["state"] == "paused"
    r = await c.post(f"/v1/torrents/{h}/pause", headers=auth)  # idempotent
    assert r.status == 200
    r = await c.post(f"/v1/torrents/{h}/resume", headers=auth)
    assert r.status == 200
    assert (await r.json())["paused"] is False
    for action in ("recheck", "reannounce"):
        assert (await c.post(f"/v1/torrents/{h}/{action}", headers=auth)).status == 200
    await problem(await c.post(f"/v1/torrents/{h}/explode", headers=auth), 404, "not_found")
    await problem(await c.post(f"/v1/torrents/{'cd' * 20}/pause", headers=auth), 404, "torrent_not_found")
    await problem(await c.get(f"/v1/torrents/{'cd' * 20}", headers=auth), 404, "torrent_not_found")
    await problem(await c.get("/v1/torrents/xyz", headers=auth), 400, "invalid_hash")

    r = await c.post(f"/v1/torrents/{h}/remove", json={"with_data": "yes"}, headers=auth)
    await problem(r, 422, "validation_error")
    r = await c.post(f"/v1/torrents/{h}/remove", json={"with_data": True}, headers=auth)
    assert r.status == 200
    assert await r.json() == {"info_hash": h, "removed": True, "with_data": True}
    assert ready.engine.get(h) is None
    await problem(await c.post(f"/v1/torrents/{h}/remove", headers=auth), 404, "torrent_not_found")


@pytest.mark.parametrize(
    ("body", "status", "type_"),
    [
        ({"magnet": "garbage"}, 422, "invalid_torrent"),
        ({"magnet": "magnet:?xt=urn:btih:abcd"}, 422, "invalid_torrent"),
        ({"magnet": MAGNET, "colour": "red"}, 422, "validation_error"),
        ({"magnet": 5}, 422, "validation_error"),
        ({"magnet": MAGNET, "tags": "a,b"}, 422, "validation_error"),
        ({"magnet": MAGNET, "paused": "no"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ({"magnet": MAGNET, "save_path": "/etc"}, 422, "path_not_allowed"),
        ({"magnet": MAGNET, "save_path": "relative/dir"}, 422, "path_not_allowed"),
        ({"magnet": MAGNET, "category": "../x"}, 422, "validation_error"),
    ],
)
async def test_add_refuses_bad_input_and_changes_nothing(
    ready: Api, body: dict[str, Any], status: int, type_: str
) -> None:
    r = await ready.client.post("/v1/torrents/add", json=body, headers=ready.auth)
    await problem(r, status, type_)
    assert ready.engine.snapshot() == []


async def test_add_refuses_traversal_malformed_json_and_huge_bodies(ready: Api) -> None:
    c, auth = ready.client, ready.auth
    escape = str(ready.root / ".." / ".." / "etc")
    r = await c.post("/v1/torrents/add", json={"magnet": MAGNET, "save_path": escape}, headers=auth)
    await problem(r, 422, "path_not_allowed")
    r = await c.post(
        "/v1/torrents/add", data=b'{"magnet": ', headers={**auth, "Content-Type": "application/json"}
    )
    await problem(r, 400, "bad_request")
    r = await c.post("/v1/torrents/add", data=b"[1, 2]", headers={**auth, "Content-Type": "application/json"})
    await problem(r, 422, "validation_error")
    r = await c.post("/v1/torrents/add", data=b"magnet=x", headers={**auth, "Content-Type": "text/plain"})
    await problem(r, 415, "unsupported_media_type")
    huge = orjson.dumps({"magnet": MAGNET, "category": "x" * (1024 * 1024)})
    r = await c.post(
        "/v1/torrents/add", data=io.BytesIO(huge), headers={**auth, "Content-Type": "application/json"}
    )
    await problem(r, 413, "payload_too_large")
    ok = str(ready.root / "sub" / "dir")
    r = await c.post("/v1/torrents/add", json={"magnet": MAGNET, "save_path": ok}, headers=auth)
    assert r.status == 201
    assert [row.save_path for row in ready.engine.snapshot()] == [ok]


async def test_multipart_add_is_all_or_nothing(ready: Api) -> None:
    c, auth = ready.client, ready.auth
    t1, t2 = synthetic_torrent("one", size=1 << 20), synthetic_torrent("two", size=1 << 20, files=3)

    def form(*files: bytes, **fields: str) -> aiohttp.FormData:
        f = aiohttp.FormData(default_to_multipart=True)
        for i, data in enumerate(files):
            f.add_field("torrents", data, filename=f"{i}.torrent", content_type="application/x-bittorrent")
        for k, v in fields.items():
            f.add_field(k, v)
        return f

    r = await c.post("/v1/torrents/add", data=form(t1.data, b"corrupt"), headers=auth)
    await problem(r, 422, "invalid_torrent")
    assert ready.engine.snapshot() == []
    r = await c.post(
        "/v1/torrents/add",
        data=form(t1.data, t2.data, category="movies", tags="x, y", paused="true"),
        headers=auth,
    )
    assert r.status == 201, await r.text()
    assert sorted((await r.json())["info_hashes"]) == sorted([t1.info_hash, t2.info_hash])
    rows = {row.info_hash: row for row in ready.engine.snapshot()}
    assert all(row.paused for row in rows.values())
    assert ready.torrents.labels_of(t2.info_hash).tags == ("x", "y")
    r = await c.post("/v1/torrents/add", data=form(t1.data), headers=auth)
    await problem(r, 409, "duplicate_torrent")
    r = await c.post("/v1/torrents/add", data=form(category="tv"), headers=auth)
    await problem(r, 422, "validation_error")
    r = await c.post("/v1/torrents/add", data=form(t1.data, colour="red"), headers=auth)
    await problem(r, 422, "validation_error")
    r = await c.post("/v1/torrents/add", data=form(b"d" + b"0" * (300 * 1024)), headers=auth)
    await problem(r, 413, "payload_too_large")
    assert len(ready.engine.snapshot()) == 2


async def test_list_filters_and_cursor(ready: Api) -> None:
    c, auth = ready.client, ready.auth
    svc = ready.torrents
    from revaer.torrents import AddOptions

    hashes = []
    for i in range(7):
        t = synthetic_torrent(f"Show {i}", size=1 << 20)
        cat = "tv" if i % 2 == 0 else "movies"
        hashes.append(
            svc.add(
                torrent=t.data, options=AddOptions(category=cat, tags=("hd",) if i < 3 else (), paused=i == 6)
            )
        )
    ready.step()  # the fake's checking ends on its next tick
    assert getattr(ready.engine.get(hashes[0]), "state", None) != TorrentState.CHECKING

    async def names(query: str) -> list[str]:
        r = await c.get(f"/v1/torrents?{query}", headers=auth)
        assert r.status == 200, await r.text()
        return sorted(t["name"] for t in (await r.json())["torrents"])

    assert len(await names("")) == 7
    assert await names("category=tv") == ["Show 0", "Show 2", "Show 4", "Show 6"]
    assert await names("tag=hd") == ["Show 0", "Show 1", "Show 2"]
    assert await names("q=show%205") == ["Show 5"]
    assert await names("state=paused") == ["Show 6"]
    assert await names("category=nothing") == []
    await problem(await c.get("/v1/torrents?state=sleeping", headers=auth), 422, "validation_error")
    await problem(await c.get("/v1/torrents?limit=0", headers=auth), 422, "validation_error")
    await problem(await c.get("/v1/torrents?limit=x", headers=auth), 422, "validation_error")
    await problem(await c.get("/v1/torrents?cursor=@@@", headers=auth), 422, "validation_error")

    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        r = await c.get(f"/v1/torrents?limit=3{'&cursor=' + cursor if cursor else ''}", headers=auth)
        body = await r.json()
        seen += [t["info_hash"] for t in body["torrents"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(hashes)
    assert len(seen) == 7


async def test_config_get_patch_if_match_and_hot_reload(ready: Api) -> None:
    c, auth = ready.client, ready.auth
    r = await c.get("/v1/config", headers=auth)
    assert r.status == 200
    etag = r.headers["ETag"]
    body = await r.json()
    assert body["config"]["server.bind"] == "127.0.0.1:7878"
    r = await c.patch("/v1/config", json={"api.cors_origins": "x"}, headers=auth)
    err = await problem(r, 422, "validation_error")
    assert err["field"] == "api.cors_origins"
    r = await c.patch("/v1/config", json={"no.such.key": 1}, headers=auth)
    await problem(r, 422, "validation_error")
    r = await c.patch(
        "/v1/config", json={"api.cors_origins": ["http://a.example"]}, headers={**auth, "If-Match": '"stale"'}
    )
    await problem(r, 412, "version_conflict")
    r = await c.patch(
        "/v1/config", json={"api.cors_origins": ["http://a.example"]}, headers={**auth, "If-Match": etag}
    )
    assert r.status == 200, await r.text()
    assert r.headers["ETag"] != etag
    assert (await r.json())["config"]["api.cors_origins"] == ["http://a.example"]
    listener = ready.listener
    assert listener is not None
    await eventually(lambda: listener.config.cors_origins == ("http://a.example",))
    # CORS now answers for that origin, live.
    r = await c.get("/v1/health", headers={"Origin": "http://a.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "http://a.example"
    r = await c.get("/v1/health", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    r = await c.patch("/v1/config", json={"api.cors_origins": []}, headers={**auth, "If-Match": etag})
    await problem(r, 412, "version_conflict")


async def _sse(
    resp: aiohttp.ClientResponse, until: str, *, limit: int = 200
) -> list[tuple[str, str | None, dict[str, Any]]]:
    """Read events until one named ``until``; (name, id, data) tuples."""
    out: list[tuple[str, str | None, dict[str, Any]]] = []
    name, eid, data = "message", None, ""
    while len(out) < limit:
        line = (await asyncio.wait_for(resp.content.readline(), 10)).decode().rstrip("\r\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("id: "):
            eid = line[4:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "" and data:
            out.append((name, eid, orjson.loads(data)))
            if name == until:
                return out
            name, eid, data = "message", None, ""
    raise AssertionError(f"no {until} in {out}")


async def test_sse_events_filters_and_last_event_id(ready: Api) -> None:
    c, auth = ready.client, ready.auth
    async with c.get("/v1/events/stream", headers=auth) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/event-stream"
        await _sse(resp, "hello")
        r = await c.post("/v1/torrents/add", json={"magnet": MAGNET}, headers=auth)
        h = (await r.json())["info_hashes"][0]
        got = await _sse(resp, "torrent.added")
        assert got[-1][2] == {"info_hash": h, "name": "first"}
        await c.post(f"/v1/torrents/{h}/pause", headers=auth)
        # The engine may report checking -> stalled first; the pause follows.
        for _ in range(5):
            got = await _sse(resp, "torrent.state")
            if got[-1][2]["new"] == "paused":
                break
        assert got[-1][2]["new"] == "paused"
        state_id = got[-1][1]
        assert state_id is not None
        upd = await _sse(resp, "torrent.updated")
        assert upd[-1][2]["info_hash"] == h

    await c.post(f"/v1/torrents/{h}/resume", headers=auth)
    # Reconnect with Last-Event-ID: what was missed is replayed.
    async with c.get(
        "/v1/events/stream?types=torrent.state", headers={**auth, "Last-Event-ID": state_id}
    ) as resp:
        got = await _sse(resp, "torrent.state")
        assert got[-1][2]["old"] == "paused"
        assert all(name in ("hello", "torrent.state") for name, _, _ in got)
    async with c.get("/v1/events/stream", headers={**auth, "Last-Event-ID": "0"}) as resp:
        await _sse(resp, "hello")
        # The ring still holds everything since id 0: a replay, not a resync.
        assert (await _sse(resp, "torrent.added"))[-1][2]["info_hash"] == h
    await problem(await c.get("/v1/events/stream?types=nope", headers=auth), 422, "validation_error")
    await problem(await c.get("/v1/events/stream"), 401, "unauthorized")


async def test_sse_resync_and_lagged(ready: Api) -> None:
    c, auth, bus = ready.client, ready.auth, ready.bus
    for i in range((bus._history.maxlen or 0) + 10):
        bus.publish(i)
    async with c.get("/v1/events/stream", headers={**auth, "Last-Event-ID": bus.event_id(1)}) as resp:
        assert (await _sse(resp, "resync"))[-1][0] == "resync"
    bus.queue_size = 4
    async with c.get("/v1/events/stream?hash=" + "ab" * 20, headers=auth) as resp:
        await _sse(resp, "hello")
        from revaer.engine.protocol import TorrentRemoved

        for _ in range(50):
            bus.publish(TorrentRemoved("ab" * 20))  # far more than the client's queue holds
        got = await _sse(resp, "lagged")
        assert got[-1][2]["missed"] > 0
        assert await resp.content.read() == b""  # and the server closed the stream


async def test_a_client_that_stops_reading_is_cut_off(ready: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # A client that keeps its stream open but never reads: once a write has waited the send
    # timeout, its connection is aborted and its subscription goes (a graceful close would wait on
    # a buffer that never drains).
    from revaer.api.v1 import events
    from revaer.events import ConfigChanged

    monkeypatch.setattr(events, "SEND_TIMEOUT", 0.2)
    bus, server = ready.bus, ready.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    head = "".join(f"{k}: {v}\r\n" for k, v in ready.auth.items())
    writer.write(f"GET /v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    await eventually(lambda: bus.subscribers == 1)
    for i in range(200):  # 20 MB of events, far more than the sockets' buffers hold
        bus.publish(ConfigChanged("k" * 100_000, i))
    await eventually(lambda: bus.subscribers == 0)
    got = 0  # what the kernel had taken before the abort, then the end: the rest never arrives
    while chunk := await reader.read(1 << 20):
        got += len(chunk)
    assert got < 10_000_000
    writer.close()


async def test_openapi_documents_every_route(ready: Api) -> None:
    r = await ready.client.get("/v1/openapi.json")
    assert r.status == 200
    doc = await r.json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in DOCUMENT["paths"].items() for method in ops}
    routes: set[tuple[str, str]] = set()
    app = ready.client.app
    assert app is not None
    subapps = [
        r
        for r in app.router.resources()
        if isinstance(r, web.PrefixedSubAppResource) and r.canonical == "/v1"
    ]
    assert subapps
    for resource in subapps:
        for sub in resource._app.router.resources():
            for route in sub:
                if route.method == "HEAD":
                    continue
                path = sub.canonical
                if path == "/v1/torrents/{info_hash}/{action}":
                    for action in ("pause", "resume", "recheck", "reannounce", "remove"):
                        routes.add((f"/v1/torrents/{{info_hash}}/{action}", route.method.lower()))
                else:
                    routes.add((path, route.method.lower()))
    assert routes == documented


async def test_health_is_degraded_while_the_database_is_unreachable(ready: Api) -> None:
    import asyncpg

    db = ready.database  # the app's DATABASE too
    assert db is not None
    good = db.pool
    # A pool towards a server that does not answer stands in for a database that went away.
    dead = await asyncpg.create_pool("postgresql://postgres@127.0.0.1:9/x", min_size=0, max_size=1)
    db.pool = dead
    try:
        r = await ready.client.get("/v1/health")
        assert r.status == 503
        body = await r.json()
        assert body["status"] == "degraded"
        assert body["checks"]["database"].startswith("unreachable")
        assert body["checks"]["engine"] == "ok"
    finally:
        db.pool = good
        await dead.close()
    assert (await ready.client.get("/v1/health")).status == 200


async def test_status_page_is_served_without_a_key(api: Api) -> None:
    r = await api.client.get("/")
    assert r.status == 200
    assert r.content_type == "text/html"
    page = await r.text()
    assert '<script src="/status.js"></script>' in page
    r = await api.client.get("/status.js")
    assert r.status == 200
    assert r.content_type == "text/javascript"
    assert "sessionStorage" in await r.text()
