"""``telemetry.log_level`` and ``telemetry.log_format`` apply live to the running server's log.

Before the fix the level was fixed at INFO and the format came only from ``--log-format``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from tests.e2e.server import ServerProcess, claim


async def _patch(http: aiohttp.ClientSession, server: ServerProcess, key: str, body: dict[str, Any]) -> None:
    async with http.patch(
        f"{server.url}/v1/config", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as r:
        assert r.status == 200, await r.text()


async def _wait_line(server: ServerProcess, after: int, *words: str, within: float = 10.0) -> int:
    """The index of the first log line after line ``after`` holding every word; fails after ``within`` s."""
    try:
        async with asyncio.timeout(within):
            while True:
                lines = server.log_path.read_text(errors="replace").splitlines()
                for i in range(after, len(lines)):
                    if all(w in lines[i] for w in words):
                        return i
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"no log line with {words} within {within} s:\n{server.log_tail()}") from None


async def test_level_and_format_follow_the_setting(server: ServerProcess) -> None:
    await server.start()
    async with aiohttp.ClientSession() as http:
        key = await claim(http, server)
        # JSON lines to begin with.
        first = await _wait_line(server, 0, '"msg":"listening"')
        await _patch(http, server, key, {"telemetry": {"log_format": "text", "log_level": "info"}})
        text = await _wait_line(server, first, "log settings applied", "log_format=text")
        assert not server.log_path.read_text().splitlines()[text].startswith("{")

        await _patch(http, server, key, {"telemetry": {"log_format": "text", "log_level": "warning"}})
        quiet = await _wait_line(server, text, "log settings applied", "log_level=warning")
        await _patch(http, server, key, {"engine.dht": False})
        await _patch(http, server, key, {"telemetry": {"log_format": "json", "log_level": "debug"}})
        loud = await _wait_line(server, quiet, "log settings applied", '"log_level":"debug"')
        lines = server.log_path.read_text().splitlines()
        # Nothing at info while the level was warning: neither write was logged.
        assert not any("config written" in line for line in lines[quiet + 1 : loud]), lines[quiet:loud]
        assert orjson.loads(lines[loud])["level"] == "info"
