"""HTTPS on the listener (``server.tls``; qBittorrent's ``use_https``): switched live through
``app/setPreferences``, refused with files that do not load, kept across a restart.

The certificate is a real self-signed one made by the openssl command for this test; the clients
are real TLS clients (aiohttp over Python's ssl) that trust exactly that certificate.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.e2e.server import PASSWORD, ServerProcess, claim

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # SID on 127.0.0.1


def trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


async def _login(http: aiohttp.ClientSession, base: str, tls: ssl.SSLContext | bool) -> None:
    form = {"username": "admin", "password": PASSWORD}
    async with http.post(f"{base}/api/v2/auth/login", data=form, ssl=tls) as r:
        assert (r.status, await r.text()) == (200, "Ok.")


async def _set(
    http: aiohttp.ClientSession, base: str, tls: ssl.SSLContext | bool, prefs: dict[str, object]
) -> tuple[int, str]:
    data = {"json": orjson.dumps(prefs).decode()}
    async with http.post(f"{base}/api/v2/app/setPreferences", data=data, ssl=tls) as r:
        return r.status, await r.text()


async def _answers(url: str, tls: ssl.SSLContext | bool, within: float = 10.0) -> str:
    """The body of ``url`` once it answers over the given scheme (a fresh connection each try)."""
    deadline = time.monotonic() + within
    while True:
        try:
            async with aiohttp.ClientSession() as http, http.get(url, ssl=tls) as r:
                return await r.text()
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.05)


async def _refused(url: str, tls: ssl.SSLContext | bool) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(url, ssl=tls) as r:
            await r.read()
    except aiohttp.ClientError:
        return True
    return False


async def test_use_https_switches_live_refuses_bad_files_and_survives_a_restart(
    server: ServerProcess, workdir: Path
) -> None:
    cert, key = self_signed(workdir, "server")
    other_cert, other_key = self_signed(workdir, "other")
    garbage = workdir / "garbage.pem"
    garbage.write_text("not a certificate\n")
    context = trusting(cert)
    await server.start()
    plain, secure = server.url, server.url.replace("http://", "https://")
    async with _session() as http:
        await claim(http, server)
        await _login(http, plain, True)
        # A key that is not the certificate's, files that are not PEM, a missing file, no paths:
        # 400, and nothing changes.
        for cert_path, key_path in (
            (cert, other_key),
            (garbage, key),
            (workdir / "missing.crt", key),
            ("", ""),
        ):
            paths = {"web_ui_https_cert_path": str(cert_path), "web_ui_https_key_path": str(key_path)}
            prefs = {"use_https": True, **paths}
            status, text = await _set(http, plain, True, prefs)
            assert status == 400, text
            assert text.startswith("Invalid preference: "), text
        async with http.get(f"{plain}/api/v2/app/preferences") as r:
            prefs = await r.json()
        assert (prefs["use_https"], prefs["web_ui_https_cert_path"]) == (False, "")
        assert await _answers(f"{plain}/api/v2/app/version", True) == "Forbidden"  # no session: it answered

        good = {"use_https": True, "web_ui_https_cert_path": str(cert), "web_ui_https_key_path": str(key)}
        assert await _set(http, plain, True, good) == (200, "")
    # The same port now speaks TLS with that certificate, for /api/v2 and /v1 alike; plain HTTP and a
    # client that does not trust the certificate are refused.
    assert await _answers(f"{secure}/api/v2/app/version", context) == "Forbidden"
    assert '"status"' in await _answers(f"{secure}/v1/health", context)
    assert await _refused(f"{plain}/api/v2/app/version", True)
    assert await _refused(f"{secure}/api/v2/app/version", trusting(other_cert))

    # Stored: a restart serves HTTPS at once.
    await server.stop()
    server.tls = context
    await server.start()
    async with _session() as http:
        await _login(http, server.url, context)
        async with http.get(f"{server.url}/api/v2/app/preferences", ssl=context) as r:
            prefs = await r.json()
        assert (prefs["use_https"], prefs["web_ui_https_cert_path"], prefs["web_ui_https_key_path"]) == (
            True,
            str(cert),
            str(key),
        )
        # A bad key while on HTTPS: refused, the listener keeps its certificate.
        bad = {**good, "web_ui_https_key_path": str(other_key)}
        assert (await _set(http, server.url, context, bad))[0] == 400
        assert await _answers(f"{server.url}/api/v2/app/version", context) == "Forbidden"
        # Back to plain HTTP, as the qbittorrent-api suite switches it back.
        off = {"use_https": False, "web_ui_https_cert_path": "", "web_ui_https_key_path": ""}
        assert await _set(http, server.url, context, off) == (200, "")
    secure, server.tls = server.url, None  # the restarted server's port
    assert await _answers(f"{server.url}/api/v2/app/version", True) == "Forbidden"
    assert await _refused(f"{secure}/api/v2/app/version", context)
    await server.stop()
