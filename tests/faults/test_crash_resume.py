"""SIGKILL mid-download: the restarted server keeps what is on disk and finishes from the swarm.

All real: a qbittorrent-nox seeder found through an HTTP tracker on 127.0.0.1, ``python -m revaer
serve`` as a child process downloading through its own per-torrent limit (per-torrent limits apply
on loopback, session-wide ones do not), SIGKILL at ~45 %, and a restart on the same data dir and
database. The restarted server must find the pieces on disk (fresh resume data, and a check of the
files when they are newer than it), announce to the tracker again and complete; what it downloads
in its second session must be well under the whole payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.server import PASSWORD, ServerProcess, claim
from tests.support.qbittorrent import QBittorrent, is_seeding
from tests.support.torrents import file_sha256, make_torrent, write_random_file
from tests.support.tracker import Tracker

pytestmark = pytest.mark.faults_slow

PAYLOAD_SIZE = 96 * 1024 * 1024
# ~10 s for the whole payload through the per-torrent limit.
DOWNLOAD_LIMIT = 10 * 1024 * 1024
KILL_AT = 0.45
SEEDING = ("uploading", "stalledUP")


async def _text(r: aiohttp.ClientResponse, status: int = 200) -> str:
    body = await r.text()
    assert r.status == status, f"{r.method} {r.url}: {r.status} {body}"
    return body


async def _login(http: aiohttp.ClientSession, server: ServerProcess) -> None:
    r = await http.post(f"{server.url}/api/v2/auth/login", data={"username": "admin", "password": PASSWORD})
    assert await _text(r) == "Ok."


async def _properties(http: aiohttp.ClientSession, server: ServerProcess, h: str) -> dict[str, Any]:
    r = await http.get(f"{server.url}/api/v2/torrents/properties", params={"hash": h})
    await _text(r)
    body: dict[str, Any] = await r.json(content_type=None)
    return body


async def _info(http: aiohttp.ClientSession, server: ServerProcess, h: str) -> dict[str, Any]:
    r = await http.get(f"{server.url}/api/v2/torrents/info", params={"hashes": h})
    await _text(r)
    rows: list[dict[str, Any]] = await r.json(content_type=None)
    assert len(rows) == 1, rows
    return rows[0]


async def _wait_info(
    http: aiohttp.ClientSession,
    server: ServerProcess,
    h: str,
    what: str,
    pred: Callable[[dict[str, Any]], bool],
    within: float,
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    try:
        async with asyncio.timeout(within):
            while True:
                row = await _info(http, server, h)
                if pred(row):
                    return row
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"torrent not {what} within {within} s: {row}\n{server.log_tail()}") from None


async def test_sigkill_mid_download_keeps_the_pieces_on_disk(server: ServerProcess, workdir: Path) -> None:
    payload = workdir / "seed" / "payload.bin"
    write_random_file(payload, PAYLOAD_SIZE)
    with Tracker(interval=5) as tracker, QBittorrent(workdir / "qbt") as qbt:
        torrent = make_torrent(payload, trackers=[tracker.announce_url])
        h = torrent.info_hash
        qbt.add_torrent(torrent.data, payload.parent, skip_checking=True)
        qbt.wait_torrent(h, is_seeding, timeout=30)

        await server.start()
        jar = aiohttp.CookieJar(unsafe=True)  # the SID cookie of a server on an IP address
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), cookie_jar=jar) as http:
            await claim(http, server)
            await _login(http, server)
            form = aiohttp.FormData()
            form.add_field(
                "torrents", torrent.data, filename="t.torrent", content_type="application/x-bittorrent"
            )
            form.add_field("dlLimit", str(DOWNLOAD_LIMIT))
            assert await _text(await http.post(f"{server.url}/api/v2/torrents/add", data=form)) == "Ok."
            before = await _wait_info(
                http, server, h, f"at {KILL_AT:.0%}", lambda t: float(t["progress"]) >= KILL_AT, 60
            )
            server.kill()  # SIGKILL: no shutdown, no last resume data
            # Allocated bytes, not the apparent size of the sparse file.
            on_disk = (server.data_dir / "downloads" / payload.name).stat().st_blocks * 512

            announces_before_restart = tracker.announces
            await server.start()
            jar.clear()
            await _login(http, server)
            # What the restart found on disk, once its check of the files is over.
            found = await _wait_info(
                http, server, h, "checked", lambda t: not str(t["state"]).startswith("checking"), 60
            )
            # The restarted server gets its peer from the tracker only (nothing connects it by hand).
            done = await _wait_info(
                http,
                server,
                h,
                "complete",
                lambda t: float(t["progress"]) >= 1.0 and t["state"] in SEEDING,
                90,
            )
            props = await _properties(http, server, h)
            # It announced again as a new torrent would (and so found the seeder).
            assert tracker.announces > announces_before_restart
            r = await http.get(f"{server.url}/api/v2/torrents/trackers", params={"hash": h})
            await _text(r)
            listed = [t for t in await r.json(content_type=None) if str(t["url"]).startswith("http")]
            assert [t["status"] for t in listed] == [2], listed  # 2: working

    downloaded_again = int(props["total_downloaded_session"])
    print(
        f"\nkilled at progress {float(before['progress']):.3f}; {on_disk} bytes of files on disk; "
        f"found after the restart: {float(found['progress']):.3f}; "
        f"downloaded after the restart: {downloaded_again} of {PAYLOAD_SIZE} "
        f"({downloaded_again / PAYLOAD_SIZE:.1%})"
    )
    assert downloaded_again < 0.6 * PAYLOAD_SIZE, (downloaded_again, before, done)
    assert file_sha256(server.data_dir / "downloads" / payload.name) == file_sha256(payload)
