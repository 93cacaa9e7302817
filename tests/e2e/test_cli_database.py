"""The CLI never creates a database, and reaches the one the running server uses.

Before the fix, ``config set`` without ``--data-dir`` created an embedded PostgreSQL in the default
data dir, wrote there and printed success while the server (on another data dir) never saw it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tests.e2e.cli import cli_env, run_cli
from tests.e2e.server import LOOPBACK_CONFIG, ServerProcess, claim, write_config

RULES = '{"categories": {"tv": "/srv/library/tv/{name}"}}'


async def _config(http: aiohttp.ClientSession, server: ServerProcess, key: str) -> Any:
    async with http.get(f"{server.url}/v1/config", headers={"Authorization": f"Bearer {key}"}) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["config"]


async def test_no_database_is_refused_and_nothing_is_created(workdir: Path) -> None:
    home = workdir / "home"
    elsewhere = workdir / "elsewhere"
    for argv in (("config", "set", "paths.rules", RULES), ("config", "get")):
        done = await run_cli(*argv, env=cli_env(home))
        assert done.code == 1, done
        assert "no Revaer database in" in done.err, done.err
        assert "--data-dir" in done.err, done.err
        assert str(home) in done.err, done.err
    done = await run_cli("config", "get", env=cli_env(home, REVAER_DATA_DIR=str(elsewhere)))
    assert done.code == 1, done
    assert str(elsewhere) in done.err, done
    assert not (home / ".local/share/revaer/pg").exists()
    assert not elsewhere.exists()


async def test_reaches_the_embedded_database_of_the_server(workdir: Path) -> None:
    server = ServerProcess(workdir / "data", "")
    try:
        await server.start(within=60)
        async with aiohttp.ClientSession() as http:
            key = await claim(http, server)
            env = cli_env(workdir / "home", REVAER_DATA_DIR=str(server.data_dir))
            done = await run_cli("config", "set", "paths.rules", RULES, env=env)
            assert done.code == 0, done
            assert (await _config(http, server, key))["paths.rules"] == orjson.loads(RULES)
        assert not (workdir / "home/.local/share/revaer").exists()
    finally:
        server.kill()


async def test_goes_through_the_server_on_an_external_database(
    server: ServerProcess, workdir: Path, db_url: str
) -> None:
    await write_config(db_url, LOOPBACK_CONFIG)
    await server.start()
    async with aiohttp.ClientSession() as http:
        key = await claim(http, server)
        env = cli_env(workdir / "home", REVAER_API_KEY=key)
        done = await run_cli(
            "config", "set", "paths.rules", RULES, "--data-dir", str(server.data_dir), env=env
        )
        assert done.code == 0, done
        assert (await _config(http, server, key))["paths.rules"] == orjson.loads(RULES)
        done = await run_cli("config", "get", "paths.rules", "--data-dir", str(server.data_dir), env=env)
        assert done.code == 0, done
        assert orjson.loads(done.out) == orjson.loads(RULES), done
    assert not (server.data_dir / "pg").exists()
    assert not (workdir / "home/.local/share/revaer").exists()
