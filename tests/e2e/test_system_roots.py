"""A category rule may not own ``/`` or a system directory unless the rules say so explicitly.

Before the fix the template ``"/{name}"`` silently made ``/`` an allowed root, after which
``--save-path /etc`` was accepted.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.e2e.cli import cli_env, run_cli
from tests.e2e.client import V1
from tests.e2e.server import ServerProcess
from tests.support.torrents import synthetic_torrent


async def test_system_roots_are_refused_unless_allowed(server: ServerProcess, workdir: Path) -> None:
    await server.start()
    async with aiohttp.ClientSession() as http:
        api = await V1.claimed(http, server)
        for template in ("/{name}", "/etc/{category}", "/usr/share/x-{name}"):
            body = {"paths.rules": {"categories": {"all": template}}}
            refused = await api.call("PATCH", "/v1/config", 422, json=body)
            assert refused["field"] == "paths.rules.categories.all", refused
            assert "allow_system_roots" in refused["detail"], refused
        env = cli_env(workdir / "home", REVAER_URL=server.url, REVAER_API_KEY=api.key)
        done = await run_cli("config", "set", "paths.rules", '{"categories": {"all": "/{name}"}}', env=env)
        assert done.code == 1, done
        assert "system directory" in done.err, done.err
        # Nothing was written: /etc is still no place to save to.
        made = synthetic_torrent("etc-bound", size=1 << 20)
        form = aiohttp.FormData()
        form.add_field("torrents", made.data, filename="t.torrent", content_type="application/x-bittorrent")
        form.add_field("save_path", "/etc")
        await api.call("POST", "/v1/torrents/add", 422, data=form)
        # A rule of its own is fine.
        await api.call("PATCH", "/v1/config", json={"paths.rules": {"categories": {"tv": "/srv/tv/{name}"}}})

        allowed = {"categories": {"all": "/{name}"}, "allow_system_roots": True}
        got = await api.call("PATCH", "/v1/config", json={"paths.rules": allowed})
        assert got["config"]["paths.rules"]["allow_system_roots"] is True
        await api.wait_for(
            "/v1/health",
            lambda _: "a category rule owns a system directory" in server.log_path.read_text(),
            "warned",
            within=10,
        )
