"""``revaer events`` and the ``--wait`` display, the real CLI against the real server.

Before the fix ``events`` exited 0 without a word when the server stopped and printed a refusal as
raw JSON; the progress line was left without a line break on Ctrl-C or before an error, and a torrent
that was only starting showed "0.0% stalled".
"""

from __future__ import annotations

import signal
from pathlib import Path

import aiohttp

from tests.e2e.cli import Background, cli_env, run_cli
from tests.e2e.client import V1
from tests.e2e.server import ServerProcess
from tests.support.torrents import synthetic_torrent


async def test_events_says_when_the_server_stops(server: ServerProcess, workdir: Path) -> None:
    await server.start()
    async with aiohttp.ClientSession() as http:
        api = await V1.claimed(http, server)
        env = cli_env(workdir / "home", REVAER_URL=server.url, REVAER_API_KEY=api.key)
        refused = await run_cli("events", env={**env, "REVAER_API_KEY": "rvr_wrong"})
        assert refused.code == 1, refused
        assert refused.err.startswith(("revaer: 401: ", "revaer: 403: ")), refused.err
        assert "{" not in refused.err, refused.err

        follower = Background(workdir / "events", "events", env=env)
        try:
            for _ in range(100):  # until the follower is connected and sees an event (bounded)
                await api.call("PATCH", "/v1/config", json={"engine.dht": False})
                try:
                    await follower.wait_output("config.changed", within=0.5)
                    break
                except AssertionError:
                    continue
            await follower.wait_output("config.changed", within=1)
            await server.stop()
            assert await follower.exit_code() == 1
            assert "closed the event stream" in follower.err, follower.err
        finally:
            follower.kill()


async def test_wait_display(server: ServerProcess, workdir: Path) -> None:
    await server.start()
    async with aiohttp.ClientSession() as http:
        api = await V1.claimed(http, server)
        env = cli_env(workdir / "home", REVAER_URL=server.url, REVAER_API_KEY=api.key)
        magnet = synthetic_torrent("nobody-has-this").magnet()
        waiting = Background(workdir / "magnet", "torrents", "add", magnet, "--wait", env=env)
        try:
            await waiting.wait_output("fetching metadata")
            assert "stalled" not in waiting.out
            waiting.proc.send_signal(signal.SIGINT)
            assert await waiting.exit_code() == 0
            assert waiting.out.endswith("\n"), repr(waiting.out)
        finally:
            waiting.kill()

        path = workdir / "no-peers.torrent"
        path.write_bytes(synthetic_torrent("no-peers", size=1 << 20).data)
        waiting = Background(workdir / "file", "torrents", "add", str(path), "--wait", env=env)
        try:
            await waiting.wait_output("finding peers")
            await server.stop()
            assert await waiting.exit_code() == 1
            assert waiting.out.endswith("\n"), repr(waiting.out)
            assert waiting.err.startswith("revaer: cannot reach"), waiting.err
        finally:
            waiting.kill()
