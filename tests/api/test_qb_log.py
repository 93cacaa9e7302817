"""``log/main`` and ``log/peers`` over the real app: the records the server logged, by id and type."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from revaer.api.keys import LOGBOOK, PEER_LOG
from revaer.logbook import LogBook, MsgType, PeerLog, Ring, msg_type
from tests.api.conftest import Api


@pytest.fixture
async def qb(ready: Api) -> Api:
    r = await ready.client.post("/api/v2/auth/login", data={"username": "admin", "password": "correct horse"})
    assert await r.text() == "Ok."
    return ready


async def get(api: Api, path: str, **params: str) -> Any:
    r = await api.client.get(f"/api/v2/log/{path}", params=params)
    assert r.status == 200
    assert r.content_type == "application/json"
    return await r.json()


async def test_main_serves_the_servers_records(qb: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    before = await get(qb, "main")
    assert before  # the start is in it
    last = before[-1]["id"]
    log = logging.getLogger("revaer.test")
    log.info("plain %s", "news")
    log.warning("careful", extra={"path": "/x"})
    log.error("broken")
    log.debug("not kept at INFO")
    new = await get(qb, "main", last_known_id=str(last))
    assert [(m["type"], m["message"]) for m in new] == [
        (1, "plain news"),
        (4, "careful (path=/x)"),
        (8, "broken"),
    ]
    assert [m["id"] for m in new] == [last + 1, last + 2, last + 3]
    # Seconds since the epoch, as qBittorrent 4.6 sends.
    assert all(1_700_000_000 < m["timestamp"] < 10_000_000_000 for m in new)
    # The filters: each type on unless "false".
    only_warnings = await get(qb, "main", last_known_id=str(last), normal="false", critical="false")
    assert [m["message"] for m in only_warnings] == ["careful (path=/x)"]
    assert await get(qb, "main", last_known_id="99999999") == []
    # Not an integer: everything, as qBittorrent's toInt failing.
    assert len(await get(qb, "main", last_known_id="x")) >= len(before) + 3


async def test_peers_lists_what_the_engine_refused(qb: Api) -> None:
    assert await get(qb, "peers") == []
    qb.engine.refuse_peer("10.0.0.1", 6881)
    qb.engine.refuse_peer("10.0.0.2", 51413, banned=True)
    qb.step()  # the pump hands the engine's events to the peer log
    got = await get(qb, "peers")
    assert [(p["id"], p["ip"], p["blocked"], p["reason"]) for p in got] == [
        (0, "10.0.0.1", True, "TCP is disabled"),
        (1, "10.0.0.2", False, ""),
    ]
    assert all(isinstance(p["timestamp"], int) for p in got)
    assert [p["ip"] for p in await get(qb, "peers", last_known_id="0")] == ["10.0.0.2"]
    assert await get(qb, "peers", last_known_id="1") == []
    qb.app[PEER_LOG].add("10.0.0.3", blocked=True, reason="IP filter")
    assert [p["id"] for p in await get(qb, "peers", last_known_id="1")] == [2]


async def test_log_needs_login(ready: Api) -> None:
    r = await ready.client.get("/api/v2/log/main")
    assert r.status == 403


async def test_handler_leaves_with_the_app(ready: Api) -> None:
    book = ready.app[LOGBOOK]
    assert book in logging.getLogger().handlers


def test_ring_is_bounded_and_ids_keep_increasing() -> None:
    ring: Ring[Any] = Ring(3)
    book = LogBook(capacity=3)
    for i in range(5):
        book.emit(logging.LogRecord("x", logging.INFO, __file__, 1, "m%d", (i,), None))
    assert [(m.id, m.message) for m in book.after()] == [(2, "m2"), (3, "m3"), (4, "m4")]
    assert [m.id for m in book.after(3)] == [4]
    assert [m.id for m in book.after(-5)] == [2, 3, 4]
    assert ring.after() == []
    assert len(PeerLog(2).after()) == 0
    with pytest.raises(ValueError, match="capacity"):
        Ring(0)


def test_levels_map_to_qbittorrent_types() -> None:
    assert msg_type(logging.DEBUG) is MsgType.INFO
    assert msg_type(logging.INFO) is MsgType.NORMAL
    assert msg_type(logging.WARNING) is MsgType.WARNING
    assert msg_type(logging.ERROR) is MsgType.CRITICAL
    assert msg_type(logging.CRITICAL) is MsgType.CRITICAL
