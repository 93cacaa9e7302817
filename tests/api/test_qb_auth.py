"""The façade's login, sessions, ban, CSRF and errors, as qBittorrent 4.x answers (golden/auth_*.json)."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from revaer.engine.fake import FakeEngine, ManualClock
from tests.api.conftest import Api, serving
from tests.support.engine import eventually

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _text(r: object) -> tuple[int, str]:
    status: int = r.status  # type: ignore[attr-defined]
    body: str = await r.text()  # type: ignore[attr-defined]
    return status, body


async def test_login_session_logout(ready: Api) -> None:
    c = ready.client
    c.session.cookie_jar.clear()
    assert await _text(await c.get("/api/v2/auth/login?username=admin&password=x")) == (
        405,
        "Method Not Allowed",
    )
    assert await _text(await c.post("/api/v2/auth/login", data="")) == (200, "Fails.")
    assert await _text(
        await c.post("/api/v2/auth/login", data={"username": "admin", "password": "wrong"})
    ) == (
        200,
        "Fails.",
    )
    assert await _text(await c.get("/api/v2/auth/logout")) == (403, "Forbidden")
    assert await _text(await c.get("/api/v2/foo/bar")) == (403, "Forbidden")
    r = await c.post("/api/v2/auth/login", data={"username": "admin", "password": "correct horse"})
    assert await _text(r) == (200, "Ok.")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("SID=")
    assert "HttpOnly" in cookie
    assert "Path=/" in cookie
    assert "SameSite=Strict" in cookie
    assert r.content_type == "text/plain"
    # Logged in: credentials are not looked at again.
    assert await _text(await c.post("/api/v2/auth/login", data={"username": "x", "password": "y"})) == (
        200,
        "Ok.",
    )
    assert await _text(await c.get("/api/v2/foo/bar")) == (404, "Not Found")
    assert await _text(await c.get("/api/v2/auth/logout")) == (405, "Method Not Allowed")
    assert await _text(await c.post("/api/v2/auth/logout")) == (200, "")
    assert await _text(await c.get("/api/v2/foo/bar")) == (403, "Forbidden")


async def test_ban_after_five_failures(ready: Api) -> None:
    c = ready.client
    c.session.cookie_jar.clear()
    for _ in range(5):
        assert await _text(
            await c.post("/api/v2/auth/login", data={"username": "admin", "password": "no"})
        ) == (
            200,
            "Fails.",
        )
    banned = (403, "Your IP address has been banned after too many failed authentication attempts.")
    assert (
        await _text(await c.post("/api/v2/auth/login", data={"username": "admin", "password": "no"}))
        == banned
    )
    good = {"username": "admin", "password": "correct horse"}
    assert await _text(await c.post("/api/v2/auth/login", data=good)) == banned


async def test_csrf_bearer_and_basic(ready: Api) -> None:
    c = ready.client
    c.session.cookie_jar.clear()
    bearer = {"Authorization": f"Bearer {ready.key}"}
    assert await _text(await c.get("/api/v2/foo/bar", headers=bearer)) == (404, "Not Found")
    assert await _text(await c.get("/api/v2/foo/bar", headers={"Authorization": "Bearer nope"})) == (
        403,
        "Forbidden",
    )
    assert await _text(await c.get("/api/v2/foo/bar", headers={"Authorization": "Basic YWRtaW46eA=="})) == (
        403,
        "Forbidden",
    )
    evil = {**bearer, "Origin": "http://evil.example"}
    assert await _text(await c.get("/api/v2/foo/bar", headers=evil)) == (401, "Unauthorized")
    evil = {**bearer, "Referer": "http://evil.example/x"}
    assert await _text(await c.get("/api/v2/foo/bar", headers=evil)) == (401, "Unauthorized")
    host = f"{c.host}:{c.port}"
    same = {**bearer, "Referer": f"http://{host}/"}
    assert await _text(await c.get("/api/v2/foo/bar", headers=same)) == (404, "Not Found")


async def test_public_bind_turns_the_facade_off_unless_enabled(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # `revaer serve --bind 0.0.0.0:7878` (the container image's command) with server.bind left at its
    # loopback default: the address listened on decides, so the façade is off until enabled.
    engine = FakeEngine(rate=0, clock=ManualClock())
    async with serving(engine, db_url, pool, tmp_path, update_interval=None, bind="0.0.0.0:7878") as api:
        await api.set_up()
        c = api.client
        login = {"username": "admin", "password": "correct horse"}
        assert await _text(await c.post("/api/v2/auth/login", data=login)) == (404, "Not Found")
        r = await c.patch("/v1/config", json={"compat.qbittorrent": {"enabled": True}}, headers=api.auth)
        assert r.status == 200, await r.text()
        await eventually(lambda: api.listener.config.qbittorrent.enabled is True)
        assert await _text(await c.post("/api/v2/auth/login", data=login)) == (200, "Ok.")
