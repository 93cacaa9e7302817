"""Ports that are taken: the HTTP port (one line, no traceback) and the BitTorrent port (a warning,
and the port actually open reported by ``/v1/health`` and ``/api/v2/app/preferences``)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp

from tests.e2e.cli import cli_env, run_cli
from tests.e2e.client import V1
from tests.e2e.server import LOOPBACK_CONFIG, PASSWORD, ServerProcess, write_config


def _taken() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


async def test_http_port_taken_is_one_line(workdir: Path, db_url: str) -> None:
    with _taken() as blocker:
        port = blocker.getsockname()[1]
        done = await run_cli(
            "serve",
            "--data-dir",
            str(workdir / "data"),
            "--database-url",
            db_url,
            "--bind",
            f"127.0.0.1:{port}",
            env=cli_env(workdir / "home"),
            within=60,
        )
    assert done.code == 1, done
    assert "Traceback" not in done.err, done.err
    last = done.err.strip().splitlines()[-1]
    assert last.startswith(f"revaer: cannot listen on 127.0.0.1:{port}: "), done.err
    assert "--bind" in last, last


async def test_bittorrent_port_taken_warns_and_reports_the_open_one(
    server: ServerProcess, db_url: str
) -> None:
    with _taken() as blocker:
        port = blocker.getsockname()[1]
        await write_config(db_url, {**LOOPBACK_CONFIG, "engine.listen_interfaces": f"127.0.0.1:{port}"})
        await server.start()
        # An unsafe jar: the qBittorrent API's SID cookie comes from an IP address.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            api = await V1.claimed(http, server)
            health = await api.wait_for("/v1/health", lambda b: b["listen_port"] > 0, "listening", 10)
            open_port = health["listen_port"]
            assert open_port != port
            # It is really open.
            _, writer = await asyncio.open_connection("127.0.0.1", open_port)
            writer.close()
            await writer.wait_closed()
            login = {"username": "admin", "password": PASSWORD}
            async with http.post(f"{server.url}/api/v2/auth/login", data=login) as r:
                assert r.status == 200, await r.text()
            async with http.get(f"{server.url}/api/v2/app/preferences") as r:
                assert r.status == 200, await r.text()
                assert (await r.json())["listen_port"] == open_port
        log = server.log_path.read_text()
        warned = [line for line in log.splitlines() if "BitTorrent port is taken" in line]
        assert warned, server.log_tail()
        assert '"level":"warning"' in warned[0], warned
        assert str(open_port) in warned[0], warned
