"""The server process as bound: whether the façade is on follows the address it actually listens on."""

from __future__ import annotations

import aiohttp

from tests.e2e.server import ServerProcess


async def test_facade_off_for_a_public_bind(server: ServerProcess) -> None:
    """``serve --bind 0.0.0.0:P`` with the default config: /api/v2 is off (the config says 127.0.0.1)."""
    server.host = "0.0.0.0"  # a fresh installation, probed for a few seconds on a free port
    await server.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/api/v2/app/version") as r:
            assert (r.status, await r.text()) == (404, "Not Found")
    finally:
        await server.stop()


async def test_facade_on_for_a_loopback_bind(server: ServerProcess) -> None:
    await server.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/api/v2/app/version") as r:
            assert (r.status, await r.text()) == (403, "Forbidden")  # on: it asks for a session
    finally:
        await server.stop()
