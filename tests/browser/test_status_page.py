"""The status page at ``/`` in a real browser: Debian's chromium driven headless by playwright-core.

``make browser`` installs both and runs this (marker ``browser``, outside ``make test``). The page
is given the API key once, adds a magnet from a local seeder through its form, watches it finish
and move into the library live (the event stream), pauses it, and keeps the key over a reload.
The screenshot goes to ``$REVAER_SCREENSHOT`` when set (``docs/status-page.png`` is made that way).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.e2e.client import V1
from tests.e2e.server import REPO, ServerProcess
from tests.support.engine import Seeder

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

NODE_MODULES = REPO / "build" / "browser" / "node_modules"
SCRIPT = Path(__file__).with_name("status_page.cjs")


def _drive(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=200, check=False
    )


async def test_status_page_adds_and_watches_a_download(server: ServerProcess, workdir: Path) -> None:
    if not (NODE_MODULES / "playwright-core").is_dir() or shutil.which("chromium") is None:
        pytest.fail("chromium and playwright-core are missing: run make browser")
    seeder = Seeder(workdir / "peer", 8 << 20)
    try:
        await server.start()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/") as r:
                assert r.status == 200
                assert r.content_type == "text/html"
            api = await V1.claimed(http, server)
            rules = {"categories": {"tv": f"{workdir}/library/tv/{{name}}"}}
            await api.call("PATCH", "/v1/config", json={"paths.rules": rules})
            shot = Path(os.environ.get("REVAER_SCREENSHOT") or workdir / "status-page.png")
            env = {
                **os.environ,
                "NODE_PATH": str(NODE_MODULES),
                "REVAER_URL": server.url,
                "REVAER_API_KEY": api.key,
                "MAGNET": f"{seeder.torrent.magnet()}&x.pe=127.0.0.1:{seeder.port}",
                "INFO_HASH": seeder.torrent.info_hash,
                "SCREENSHOT": str(shot),
            }
            done = await asyncio.to_thread(_drive, env)
            assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{server.log_tail()}"
            result = orjson.loads(done.stdout.strip().splitlines()[-1])
            assert result["errors"] == [], result
            assert "100.0%" in result["progress"], result
            assert result["keyFormHidden"] is True, result
            assert "free of" in result["health"], result
            assert await asyncio.to_thread(os.path.getsize, shot) > 10_000
            row = await api.call("GET", f"/v1/torrents/{seeder.torrent.info_hash}")
            assert row["paused"] is True
            assert row["save_path"] == f"{workdir}/library/tv"
    finally:
        seeder.close()
