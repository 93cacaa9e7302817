"""``revaer setup unlock`` reads the password from standard input, not the command line (``ps``).

The real CLI claims a real server; the admin then logs in to ``/api/v2`` with that password.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.e2e.cli import cli_env, run_cli
from tests.e2e.server import ServerProcess

PASSWORD = "a long password from stdin"


async def test_unlock_reads_the_password_from_stdin(server: ServerProcess, workdir: Path) -> None:
    await server.start()
    token = (server.data_dir / "setup-token").read_text().strip()
    env = cli_env(workdir / "home", REVAER_URL=server.url)
    argv = ("setup", "unlock", "--token", token, "--username", "admin")
    empty = await run_cli(*argv, env=env, stdin="")
    assert empty.code == 2, empty
    assert "no password on standard input" in empty.err, empty.err

    done = await run_cli(*argv, env=env, stdin=PASSWORD + "\n")
    assert done.code == 0, done
    assert "API key (shown once" in done.out, done.out
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "admin", "password": PASSWORD}
        async with http.post(f"{server.url}/api/v2/auth/login", data=login) as r:
            assert r.status == 200, await r.text()
            assert await r.text() == "Ok."
