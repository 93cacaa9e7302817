"""The container image (``make image-test``), all real: the image `make image` built, on the host's network,
against the machine's PostgreSQL (a fresh database of this test's own), a libtorrent seeder on the host.

It starts with the image's own command (listening on 0.0.0.0:7878) and nothing but ``DATABASE_URL``,
reports healthy through its HEALTHCHECK, runs as a non-root user, keeps the qBittorrent façade off on
its public bind, is claimed with the token from its data volume, downloads the seeder's payload into
``/downloads`` with the right hash, exits 0 on SIGTERM through its PID 1, and once started again on
the same volumes (the seeder gone) still has the torrent, seeding from disk.
"""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path

import aiohttp
import pytest

from tests.containers.engine import (
    IMAGE,
    Container,
    claim,
    download_from,
    run,
    wait_healthy,
    wait_seeding,
)
from tests.e2e.server import LOOPBACK_CONFIG, write_config
from tests.support.engine import Seeder

PORT = 7878  # the image's own command binds 0.0.0.0:7878; with the host's network, the host's port
URL = f"http://127.0.0.1:{PORT}"
PAYLOAD_SIZE = 16 * 1024 * 1024

pytestmark = pytest.mark.timeout(900)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
        return True


async def test_image_serves_downloads_stops_and_restarts(db_url: str, workdir: Path) -> None:
    assert _port_free(PORT), f"port {PORT} is taken on this host: the image's command binds it"
    # The payload goes to the /downloads volume; the engine listens on loopback only.
    await write_config(db_url, {**LOOPBACK_CONFIG, "paths.download_root": "/downloads"})
    seeder = Seeder(workdir / "peer", PAYLOAD_SIZE)
    tag = secrets.token_hex(4)
    seeder_open = True
    box = Container(f"revaer-image-test-{tag}")
    volumes = [f"revaer-image-test-data-{tag}", f"revaer-image-test-downloads-{tag}"]
    options = [
        "-e", f"DATABASE_URL={db_url}",
        "-v", f"{volumes[0]}:/var/lib/revaer",
        "-v", f"{volumes[1]}:/downloads",
    ]  # fmt: skip
    try:
        box.start(IMAGE, options=options)
        health = await wait_healthy(box, URL)
        assert health["setup"] is True, health
        assert health["checks"]["database"] == "ok", health
        run("healthcheck", "run", box.name, timeout=60)  # the image's HEALTHCHECK passes
        assert box.exec("id", "-u").strip() != "0", "the server runs as root"
        assert box.exec("cat", "/proc/1/comm").strip() == "tini"

        token = box.exec("cat", "/var/lib/revaer/setup-token").strip()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            # The façade is off on a public bind until compat.qbittorrent.enabled says otherwise.
            async with http.post(f"{URL}/api/v2/auth/login", data={"username": "a", "password": "b"}) as r:
                assert r.status == 404, (r.status, await r.text())
            key = await claim(http, URL, token, "correct horse battery")
            auth = {"Authorization": f"Bearer {key}"}
            await download_from(http, URL, seeder, auth, box, "/downloads")

            assert box.stop() == 0, box.logs()
            logs = box.logs()
            assert '"msg":"stopped"' in logs, logs
            # Structured logs only: no warning or traceback printed as text.
            for line in logs.splitlines():
                assert isinstance(json.loads(line), dict), line
            # Nobody can serve the payload any more: what the restarted server has, it has from disk.
            seeder.close()
            seeder_open = False
            run("start", box.name)
            health = await wait_healthy(box, URL)
            assert health["setup"] is False, health
            row = await wait_seeding(http, URL, seeder.info_hash, auth)
            assert row["name"] == seeder.path.name
            assert box.stop() == 0, box.logs()
    finally:
        box.remove()
        for volume in volumes:
            run("volume", "rm", "-f", volume, check=False)
        if seeder_open:
            seeder.close()
