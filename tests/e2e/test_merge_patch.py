"""Object settings merge (JSON Merge Patch, RFC 7396) on ``PATCH /v1/config`` and ``config set``.

Before the fix ``config set engine.limits '{"download": 1}'`` reset ``connections`` to its default.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson

from tests.e2e.cli import cli_env, run_cli
from tests.e2e.client import V1
from tests.e2e.server import ServerProcess


async def test_objects_merge_and_null_removes(server: ServerProcess, workdir: Path, db_url: str) -> None:
    await server.start()
    async with aiohttp.ClientSession() as http:
        api = await V1.claimed(http, server)
        await api.call("PATCH", "/v1/config", json={"engine.limits": {"connections": 200}})
        got = await api.call("PATCH", "/v1/config", json={"engine.limits": {"download": 1}})
        assert got["config"]["engine.limits"] == {"download": 1, "upload": 0, "connections": 200}

        rules = {"categories": {"tv": "/srv/tv/{name}", "movies": "/srv/movies/{name}"}}
        await api.call("PATCH", "/v1/config", json={"paths.rules": rules})
        got = await api.call("PATCH", "/v1/config", json={"paths.rules": {"categories": {"tv": None}}})
        assert got["config"]["paths.rules"] == {"categories": {"movies": "/srv/movies/{name}"}}
        # A refused merge changes nothing.
        await api.call("PATCH", "/v1/config", 422, json={"engine.limits": {"connections": 0}})
        assert (await api.call("GET", "/v1/config"))["config"]["engine.limits"]["connections"] == 200

        # The CLI straight on the database, then over HTTP: the same merge.
        home = workdir / "home"
        done = await run_cli(
            "config", "set", "engine.limits", '{"upload": 5}', "--database-url", db_url, env=cli_env(home)
        )
        assert done.code == 0, done
        assert '"connections":200' in done.out, done.out
        env = cli_env(home, REVAER_URL=server.url, REVAER_API_KEY=api.key)
        done = await run_cli("config", "set", "engine.limits", '{"download": null}', env=env)
        assert done.code == 0, done
        done = await run_cli("config", "get", "engine.limits", env=env)
        assert orjson.loads(done.out) == {"download": 0, "upload": 5, "connections": 200}
