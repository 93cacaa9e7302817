"""Who gets in: the ban under concurrent guesses, the ceilings on password checks, setup/apply's
limit, the Host check against DNS rebinding, what the localhost bypass may change, the security
headers (docs/security.md)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from revaer.api.keys import THROTTLE
from revaer.api.qbittorrent.keys import SESSIONS
from revaer.api.throttle import TokenBucket
from revaer.config import setup as installation
from revaer.config.model import Json
from revaer.config.setup import Setup
from revaer.config.store import ConfigStore
from revaer.engine.fake import FakeEngine, ManualClock
from revaer.telemetry import JsonFormatter, TextFormatter
from tests.api.conftest import Api, serving
from tests.api.test_qb_write import facade

BANNED = "Your IP address has been banned after too many failed authentication attempts."
GOOD = {"username": "admin", "password": "correct horse"}


class Counter:
    """Counts the calls of a function it stands in for."""

    def __init__(self, wrapped: Callable[..., Any]) -> None:
        self.wrapped = wrapped
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.wrapped(*args, **kwargs)


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Every check of a password or setup token against its stored scrypt hash."""
    counter = Counter(installation.verify_secret)
    monkeypatch.setattr(installation, "verify_secret", counter)
    return counter


@pytest.fixture
def scrypt_runs(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter(hashlib.scrypt)
    monkeypatch.setattr(hashlib, "scrypt", counter)
    return counter


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client of its own (no cookies shared with the test client), up to 100 connections."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as s:
        yield s


async def _post(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, str, Any]:
    async with http.post(url, **kwargs) as r:
        return r.status, await r.text(), r.headers


async def set_config(api: Api, values: dict[str, Json]) -> None:
    """Store ``values`` and wait until the server runs with them (the hot reload)."""
    versions = await ConfigStore(api.database.pool).patch(values)
    for key, version in versions.items():
        await asyncio.wait_for(api.listener.wait_for(key, version), 10)


BYPASS: dict[str, Json] = {"compat.qbittorrent": {"enabled": True, "bypass_localhost": True}}


@pytest.fixture
async def bypass(db_url: str, pool: Any, tmp_path: Any) -> AsyncIterator[Api]:
    """Set up, with the localhost bypass on."""
    engine = FakeEngine(rate=0, clock=ManualClock())
    async with serving(engine, db_url, pool, tmp_path, update_interval=None, config=BYPASS) as a:
        await a.set_up()
        yield a


# ---- 1. the ban holds under concurrency ----------------------------------------------------------


async def test_sixty_concurrent_logins_evaluate_five(
    ready: Api, http: aiohttp.ClientSession, password_checks: Counter
) -> None:
    url = str(ready.client.make_url("/api/v2/auth/login"))
    wrong = [{"username": "admin", "password": f"guess {i}"} for i in range(59)]
    answers = await asyncio.gather(*(_post(http, url, data=form) for form in [*wrong, GOOD]))
    assert password_checks.calls <= 5, password_checks.calls
    statuses = sorted((status, text) for status, text, _ in answers)
    assert statuses.count((200, "Fails.")) <= 5
    assert all(a in ((200, "Fails."), (403, BANNED), (200, "Ok.")) for a in statuses), statuses
    # Banned now, whatever it sends: the right password too, without being checked.
    before = password_checks.calls
    status, text, headers = await _post(http, url, data=GOOD)
    assert (status, text) == (403, BANNED)
    assert int(headers["Retry-After"]) > 0
    assert password_checks.calls == before


async def test_concurrent_wrong_logins_ban_after_exactly_five(
    ready: Api, http: aiohttp.ClientSession, password_checks: Counter
) -> None:
    url = str(ready.client.make_url("/api/v2/auth/login"))
    forms = [{"username": "admin", "password": f"guess {i}"} for i in range(60)]
    answers = await asyncio.gather(*(_post(http, url, data=f) for f in forms))
    assert password_checks.calls == 5
    assert sum(1 for s, t, _ in answers if (s, t) == (200, "Fails.")) == 5
    assert sum(1 for s, t, _ in answers if (s, t) == (403, BANNED)) == 55


async def test_concurrent_right_logins_all_get_in(
    ready: Api, http: aiohttp.ClientSession, password_checks: Counter
) -> None:
    """Held back, not refused: checks past the allowance wait for the ones in flight."""
    url = str(ready.client.make_url("/api/v2/auth/login"))
    answers = await asyncio.gather(*(_post(http, url, data=GOOD) for _ in range(20)))
    assert [(s, t) for s, t, _ in answers] == [(200, "Ok.")] * 20
    assert password_checks.calls == 20


async def test_wrong_api_keys_ban_the_address(
    ready: Api, http: aiohttp.ClientSession, monkeypatch: Any
) -> None:
    lookups = Counter(Setup.verify_api_key)
    monkeypatch.setattr(Setup, "verify_api_key", lambda self, key: lookups(self, key))
    url = str(ready.client.make_url("/v1/torrents"))
    wrong = [f"rvr_{i:016x}_{'x' * 43}" for i in range(60)]

    async def get(key: str) -> int:
        async with http.get(url, headers={"Authorization": f"Bearer {key}"}) as r:
            return r.status

    statuses = await asyncio.gather(*(get(k) for k in wrong))
    assert lookups.calls == 5
    assert sorted(statuses) == [403] * 60
    async with http.get(url, headers=ready.auth) as r:  # the right key, from the banned address
        assert r.status == 403
        assert (await r.json())["type"] == "banned"
        assert int(r.headers["Retry-After"]) > 0
    # The façade's bearer keys are counted by the same ban.
    async with http.get(str(ready.client.make_url("/api/v2/app/version")), headers=ready.auth) as r:
        assert (r.status, await r.text()) == (403, BANNED)


async def test_password_checks_have_a_global_ceiling(ready: Api, password_checks: Counter) -> None:
    """Guesses from many addresses: past the shared ceiling a login answers 429, nothing checked."""
    throttle = ready.app[THROTTLE]
    throttle.checks = TokenBucket(rate=10.0, burst=3, clock=lambda: 0.0)  # the clock stands still
    url = str(ready.client.make_url("/api/v2/auth/login"))

    async def login_from(address: str) -> tuple[int, str, Any]:
        connector = aiohttp.TCPConnector(local_addr=(address, 0))
        async with aiohttp.ClientSession(connector=connector) as s:
            return await _post(s, url, data={"username": "admin", "password": "guess"})

    answers = await asyncio.gather(*(login_from(f"127.0.0.{i}") for i in range(2, 12)))
    assert password_checks.calls == 3
    assert sorted(s for s, _, _ in answers) == [200] * 3 + [429] * 7
    assert all(int(h["Retry-After"]) >= 1 for s, _, h in answers if s == 429)


# ---- 2. setup/apply ------------------------------------------------------------------------------


async def test_setup_apply_is_rate_limited(
    api: Api, http: aiohttp.ClientSession, scrypt_runs: Counter
) -> None:
    url = str(api.client.make_url("/v1/setup/apply"))
    body = {"setup_token": "0" * 32, "admin_username": "admin", "admin_password": "long enough"}
    answers = await asyncio.gather(*(_post(http, url, json=body) for _ in range(300)))
    statuses = [s for s, _, _ in answers]
    assert set(statuses) <= {403, 429}, statuses
    assert statuses.count(429) >= 290
    assert all(int(h["Retry-After"]) >= 1 for s, _, h in answers if s == 429)
    assert scrypt_runs.calls <= 2 * 5  # the password hashed and the token checked, 5 times at most
    # The right token still works once the flood is over (other addresses were never banned).
    assert (await api.client.get("/v1/health")).status == 200


async def test_setup_apply_once_set_up_runs_no_kdf(
    ready: Api, http: aiohttp.ClientSession, scrypt_runs: Counter
) -> None:
    url = str(ready.client.make_url("/v1/setup/apply"))
    body = {"setup_token": "0" * 32, "admin_username": "admin", "admin_password": "long enough"}
    answers = await asyncio.gather(*(_post(http, url, json=body) for _ in range(30)))
    assert [s for s, _, _ in answers] == [409] * 30
    assert scrypt_runs.calls == 0


# ---- 4. Host header ------------------------------------------------------------------------------


async def test_dns_rebinding_is_refused(bypass: Api) -> None:
    """A page on attacker.example pointed at 127.0.0.1: refused before any handler, bypass or not."""
    api = bypass
    before = api.listener.config.download_root
    c = api.client
    port = c.port
    evil = {"Host": f"attacker.example:{port}", "Origin": f"http://attacker.example:{port}"}
    form = {"json": '{"save_path": "/"}'}
    r = await c.post("/api/v2/app/setPreferences", data=form, headers=evil)
    assert (r.status, await r.text()) == (401, "Unauthorized")
    assert api.listener.config.download_root == before
    r = await c.get("/v1/health", headers={"Host": "attacker.example"})
    assert r.status == 400
    assert (await r.json())["type"] == "invalid_host"
    # The names the server does answer to.
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "revaer:7878", "app.localhost"):
        assert (await c.get("/v1/health", headers={"Host": host})).status == 200, host
    # A configured name is let in.
    await set_config(api, {"server.domains": ["*.example.org"]})
    assert (await c.get("/v1/health", headers={"Host": "revaer.example.org"})).status == 200


async def test_bypass_cannot_widen_the_roots(bypass: Api) -> None:
    """The localhost bypass is no credential: a preference change that lets more in needs one."""
    api = bypass
    c = api.client
    c.session.cookie_jar.clear()
    before = api.listener.config.values
    r = await c.post("/api/v2/app/setPreferences", data={"json": '{"save_path": "/"}'})
    assert (r.status, await r.text()) == (403, "Forbidden")
    inside = str(api.root / "sub")
    r = await c.post("/api/v2/app/setPreferences", data={"json": f'{{"save_path": "{inside}"}}'})
    assert r.status == 200
    assert api.listener.config.download_root == inside
    assert before["engine.settings"] == api.listener.config.values["engine.settings"]
    # With the admin's credential (an API key) the same change is allowed.
    r = await c.post("/api/v2/app/setPreferences", data={"json": '{"save_path": "/srv"}'}, headers=api.auth)
    assert r.status == 200
    assert api.listener.config.download_root == "/srv"


# ---- 6. sessions ---------------------------------------------------------------------------------


async def test_sessions_and_sync_state_are_bounded(ready: Api, http: aiohttp.ClientSession) -> None:
    sessions = facade(ready)[SESSIONS]
    ready.app[THROTTLE].checks = TokenBucket(rate=1.0, burst=10_000, clock=lambda: 0.0)  # no ceiling here
    url = str(ready.client.make_url("/api/v2"))
    cookies: list[str] = []
    for _ in range(sessions.max_sessions + 22):
        async with http.post(f"{url}/auth/login", data=GOOD) as r:
            assert await r.text() == "Ok."
            cookies.append(r.cookies["SID"].value)
        async with http.get(f"{url}/sync/maindata", cookies={"SID": cookies[-1]}) as r:
            assert r.status == 200
        http.cookie_jar.clear()
    assert len(sessions) == sessions.max_sessions
    assert sessions.syncing == sessions.max_sync
    async with http.get(f"{url}/app/version", cookies={"SID": cookies[0]}) as r:
        assert r.status == 403  # the oldest idle session was evicted
    async with http.get(f"{url}/app/version", cookies={"SID": cookies[-1]}) as r:
        assert r.status == 200


async def test_an_idle_session_ends_after_an_hour(ready: Api, http: aiohttp.ClientSession) -> None:
    sessions = facade(ready)[SESSIONS]
    now = [1000.0]
    sessions.clock = lambda: now[0]
    url = str(ready.client.make_url("/api/v2"))
    async with http.post(f"{url}/auth/login", data=GOOD) as r:
        sid = r.cookies["SID"].value
    http.cookie_jar.clear()
    now[0] += sessions.timeout - 1
    async with http.get(f"{url}/app/version", cookies={"SID": sid}) as r:
        assert r.status == 200  # used: the hour starts again
    now[0] += sessions.timeout + 1
    async with http.get(f"{url}/app/version", cookies={"SID": sid}) as r:
        assert r.status == 403
    assert len(sessions) == 0


# ---- 7, 8. answers: Allow, the headers -----------------------------------------------------------


async def test_method_not_allowed_says_allow(ready: Api) -> None:
    r = await ready.client.delete("/v1/health")
    assert r.status == 405
    assert "GET" in r.headers["Allow"]
    r = await ready.client.get("/api/v2/torrents/add", headers=ready.auth)
    assert (r.status, r.headers["Allow"]) == (405, "POST")


async def test_security_headers_everywhere(ready: Api) -> None:
    c = ready.client
    for path, headers in (
        ("/v1/health", {}),
        ("/v1/torrents", ready.auth),
        ("/v1/torrents", {}),
        ("/v1/nope", {}),
        ("/api/v2/app/version", ready.auth),
        ("/api/v2/app/version", {}),
        ("/", {}),
        ("/nope", {}),
    ):
        r = await c.get(path, headers=headers)
        csp = r.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp, path
        assert "frame-ancestors 'self'" in csp, path
        assert "object-src 'none'" in csp, path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN", path
        assert r.headers["Referrer-Policy"] == "same-origin", path
    async with c.get("/v1/events/stream", headers=ready.auth) as r:  # a stream, prepared early
        assert "Content-Security-Policy" in r.headers


# ---- 5. redaction --------------------------------------------------------------------------------


async def test_redacted_values_written_back_are_unchanged(ready: Api) -> None:
    c, auth = ready.client, ready.auth
    endpoint = "https://collector:pa55word@otel.example:4318/v1/traces"
    r = await c.patch(
        "/v1/config",
        json={
            "engine.settings": {"proxy_password": "s3cret", "proxy_username": "me"},
            "telemetry": {"otel_endpoint": endpoint},
        },
        headers=auth,
    )
    assert r.status == 200, await r.text()
    shown = (await (await c.get("/v1/config", headers=auth)).json())["config"]
    assert shown["engine.settings"]["proxy_password"] == "***"
    assert shown["telemetry"]["otel_endpoint"] == "https://collector:***@otel.example:4318/v1/traces"
    assert "pa55word" not in str(shown)
    assert "s3cret" not in str(shown)
    # Written back as shown: nothing changes.
    back = {"engine.settings": shown["engine.settings"], "telemetry": shown["telemetry"]}
    r = await c.patch("/v1/config", json=back, headers=auth)
    assert r.status == 200, await r.text()
    stored = {k: v.value for k, v in (await ConfigStore(ready.database.pool).get_all()).items()}
    assert stored["engine.settings"]["proxy_password"] == "s3cret"
    assert stored["telemetry"]["otel_endpoint"] == endpoint
    # A new value is a new value.
    new = {"engine.settings": {**shown["engine.settings"], "proxy_password": "other"}}
    assert (await c.patch("/v1/config", json=new, headers=auth)).status == 200
    stored = {k: v.value for k, v in (await ConfigStore(ready.database.pool).get_all()).items()}
    assert stored["engine.settings"]["proxy_password"] == "other"


def test_url_passwords_never_reach_a_log_line() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "fetching %s", ("http://u:pw1@a.example/",), None
    )
    record.url = "https://user:pw2@b.example/t.torrent"
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        assert "pw1" not in line, line
        assert "pw2" not in line, line
        assert "https://user:***@b.example/t.torrent" in line
