"""An action's answer shows the state the action produced, not the one before it.

Before the fix ``POST /v1/torrents/{h}/pause`` answered ``"paused": false`` with the old state, and
only a later GET showed the torrent paused.
"""

from __future__ import annotations

import aiohttp

from tests.e2e.client import V1
from tests.e2e.server import ServerProcess
from tests.support.torrents import synthetic_torrent


async def test_pause_and_resume_answer_the_new_state(server: ServerProcess) -> None:
    await server.start()
    async with aiohttp.ClientSession() as http:
        api = await V1.claimed(http, server)
        # No peer has it: it stays downloading (stalled), never finishing on its own.
        h = await api.add_file(synthetic_torrent("nobody-has-it", size=4 << 20).data)
        await api.wait_for(f"/v1/torrents/{h}", lambda t: t["state"] != "checking", "started", within=10)
        for _ in range(3):
            paused = await api.call("POST", f"/v1/torrents/{h}/pause")
            assert paused["paused"] is True, paused
            assert paused["state"] == "paused", paused
            assert (await api.call("GET", f"/v1/torrents/{h}"))["state"] == "paused"
            resumed = await api.call("POST", f"/v1/torrents/{h}/resume")
            assert resumed["paused"] is False, resumed
            assert resumed["state"] != "paused", resumed
