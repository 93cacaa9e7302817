"""Flood (npm ``flood``, a web UI that speaks qBittorrent's ``/api/v2``) against Revaer in headless chromium.

``make browser`` installs chromium, playwright-core and Flood and runs this (marker ``browser``,
outside ``make test``). Flood runs on 127.0.0.1 with its state (its user database) in a temporary
directory. The page creates Flood's user (client qBittorrent at Revaer's URL, the admin's
credentials), logs in again in a fresh browser context, shows the empty list, adds a .torrent (with a
comment and a creation date) from a local seeder whose upload is limited, lists that seeder in the
details' Peers tab while downloading, shows the comment and creation date in the Details tab, follows
the progress bar to 100%, and an add whose save path is outside the allowed roots leaves no torrent
behind and a warning in Revaer's log (qBittorrent 4.6's answer, 200 ``Fails.``, carries no reason, so
Flood reports the request as sent).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import orjson
import pytest

from revaer.engine.protocol import AddRequest
from tests.e2e.client import V1
from tests.e2e.server import PASSWORD, REPO, ServerProcess, free_port
from tests.support.engine import drive, loopback_engine
from tests.support.torrents import make_torrent, write_random_file
from tests.support.tracker import Tracker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NODE_MODULES = REPO / "build" / "browser" / "node_modules"
FLOOD = REPO / "build" / "flood" / "node_modules" / "flood" / "dist" / "index.js"
SCRIPT = Path(__file__).with_name("flood.cjs")
COMMENT = "made for the Flood test"
CREATED = 1_700_000_000
SIZE = 8 << 20
UPLOAD_LIMIT = 1 << 20  # bytes/s: the download lasts several seconds, long enough to see the peer
OUTSIDE_HASH = "ab" * 20


@contextmanager
def _flood(rundir: Path) -> Iterator[str]:
    """Flood on 127.0.0.1 and a free port, its user database in ``rundir`` (the page creates the user)."""
    port = free_port()
    log = (rundir.parent / "flood.log").open("ab")
    args = ["--rundir", str(rundir), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        ["node", str(FLOOD), *args], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


async def _until_up(http: aiohttp.ClientSession, url: str, *, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                if r.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not up within {within} s")
        await asyncio.sleep(0.1)


def _drive(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=240, check=False
    )


async def test_flood_lists_adds_and_shows_details(server: ServerProcess, workdir: Path) -> None:
    if not (NODE_MODULES / "playwright-core").is_dir() or shutil.which("chromium") is None:
        pytest.fail("chromium and playwright-core are missing: run make browser")
    if not FLOOD.is_file():
        pytest.fail("flood is missing: run make browser")
    payload = workdir / "seed" / "flood-payload.bin"
    write_random_file(payload, SIZE)
    with Tracker() as tracker:
        made = make_torrent(payload, trackers=[tracker.announce_url], comment=COMMENT, creation_date=CREATED)
        torrent_file = workdir / "flood-payload.torrent"
        torrent_file.write_bytes(made.data)
        seeder = loopback_engine()
        try:
            h = seeder.add(
                AddRequest(
                    torrent=made.data,
                    save_path=str(payload.parent),
                    seed_mode=True,
                    upload_limit=UPLOAD_LIMIT,
                )
            )
            drive(seeder, lambda _: bool((r := seeder.get(h)) and r.is_seeding), timeout=30)
            tracker.add_peer(h, "127.0.0.1", seeder.listen_port())
            await server.start()
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                api = await V1.claimed(http, server)
                (workdir / "flood").mkdir()
                with _flood(workdir / "flood") as flood_url:
                    await _until_up(http, flood_url)
                    env = {
                        **os.environ,
                        "NODE_PATH": str(NODE_MODULES),
                        "FLOOD_URL": flood_url,
                        "FLOOD_USER": "flood",
                        "FLOOD_PASSWORD": "flood's own password",
                        "QB_URL": server.url,
                        "QB_USER": "admin",
                        "QB_PASSWORD": PASSWORD,
                        "TORRENT_FILE": str(torrent_file),
                        "TORRENT_NAME": made.name,
                        "COMMENT": COMMENT,
                        "OUTSIDE_PATH": str(workdir / "outside"),
                        "OUTSIDE_MAGNET": f"magnet:?xt=urn:btih:{OUTSIDE_HASH}&dn=outside",
                        "SCREENSHOT": str(workdir / "flood.png"),
                    }
                    done = await asyncio.to_thread(_drive, env)
                    flood_log = (workdir / "flood.log").read_text(errors="replace")[-3000:]
                    assert done.returncode == 0, (
                        f"{done.stdout}\n{done.stderr}\n{flood_log}\n{server.log_tail()}"
                    )
                result = orjson.loads(done.stdout.strip().splitlines()[-1])
                assert result["errors"] == [], result
                assert "127.0.0.1" in result["peers"], result
                assert COMMENT in result["general"], result
                assert "November 14, 2023" in result["general"], result  # CREATED, shown in UTC
                assert result["progress"] == "width: 100%;", result
                row = await api.call("GET", f"/v1/torrents/{made.info_hash}")
                assert row["progress"] == 1.0, row
                # qBittorrent 4.6 answers a refused add with 200 "Fails." (no reason), so Flood reports
                # the request as sent; the list stays at one torrent and Revaer's log says why.
                assert "1 request sent to the torrent client." in result["afterRefused"], result
                assert result["rows"] == 1, result
                listed = await api.call("GET", "/v1/torrents")
                assert OUTSIDE_HASH not in str(listed)
                log = server.log_path.read_text(errors="replace")
                assert "add refused: save path outside the roots" in log
        finally:
            seeder.shutdown(5)
