"""``revaer torrents add --wait``: the real CLI against the real server.

Before the fix ``--paused --wait`` polled forever: a paused torrent never completes.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.e2e.cli import cli_env, run_cli
from tests.e2e.client import V1
from tests.e2e.server import ServerProcess
from tests.support.torrents import synthetic_torrent


async def test_paused_wait_returns(server: ServerProcess, workdir: Path) -> None:
    await server.start()
    async with aiohttp.ClientSession() as http:
        api = await V1.claimed(http, server)
        made = synthetic_torrent("paused-one", size=1 << 20)
        path = workdir / "paused-one.torrent"
        path.write_bytes(made.data)
        env = cli_env(workdir / "home", REVAER_URL=server.url, REVAER_API_KEY=api.key)
        done = await run_cli("torrents", "add", str(path), "--paused", "--wait", env=env, within=30)
        assert done.code == 0, done
        assert f"added {made.info_hash}" in done.out, done.out
        assert "is paused: not waiting" in done.out, done.out
        row = await api.call("GET", f"/v1/torrents/{made.info_hash}")
        assert row["paused"] is True
