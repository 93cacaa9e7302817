"""The README's quick start, run verbatim: its shell blocks, in bash, against a server this test starts.

The server runs as ``make run`` would for a user whose home is a scratch directory (the default data
dir under it), on a free port: the CLI finds it through the data dir. ``$MAGNET`` is the one thing
the reader brings; here it is a local seeder's.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import aiohttp

from tests.e2e.cli import cli_env
from tests.e2e.client import V1
from tests.e2e.server import LOOPBACK_CONFIG, REPO, ServerProcess, write_config
from tests.support.engine import Seeder
from tests.support.torrents import file_sha256


def quick_start() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)
    assert blocks, "no shell block in the README's quick start"
    return "\n".join(blocks)


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_readme_quick_start_runs_verbatim(workdir: Path, db_url: str) -> None:
    home = workdir / "home"
    server = ServerProcess(home / ".local/share/revaer", db_url)
    seeder = Seeder(workdir / "peer", 2 << 20)
    try:
        await write_config(db_url, LOOPBACK_CONFIG)
        await server.start()
        env = cli_env(home, MAGNET=f"{seeder.torrent.magnet()}&x.pe=127.0.0.1:{seeder.port}")
        done = await asyncio.to_thread(_bash, quick_start(), env)
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{server.log_tail()}"
        assert "API key (shown once" in done.stdout, done.stdout
        assert seeder.torrent.info_hash in done.stdout, done.stdout
        moved = home / "Media" / "TV" / "payload.bin"
        key = done.stdout.split("API key (shown once, keep it): ", 1)[1].split()[0]
        async with aiohttp.ClientSession() as http:
            api = V1(http, server, key)
            jobs = await api.wait_for("/v1/fsjobs?state=moved", lambda b: b["jobs"], "moved")
        assert jobs["jobs"][0]["destination"] == str(moved)
        assert file_sha256(moved) == file_sha256(seeder.path)
    finally:
        seeder.close()
        server.kill()
