"""``python -m tests.compat``: the qbittorrent-api suite against Revaer and against qbittorrent-nox.

Each server is started fresh on 127.0.0.1: Revaer on a new database (migrated, the loopback engine
config written, setup applied so the façade logs in as the admin), qbittorrent-nox with a new
profile and ``/etc`` mounted read-only in a mount namespace of its own (the suite checks that the
server refuses to read or write there; run as root it otherwise could). The differential (tests
passing on qBittorrent and failing on Revaer, by endpoint) is printed and written to
``<work>/differential.txt``; each side's outcomes to ``<work>/<side>.json``.

    python -m tests.compat                          # both servers, the whole suite (~15 min)
    python -m tests.compat --cached tests/test_torrents.py -k trackers
                                                    # Revaer only, qBittorrent from its last full run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shlex
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import asyncpg

from revaer.db.migrate import migrate_dsn
from tests.compat import suite
from tests.compat.differential import render, spellings
from tests.conftest import with_database
from tests.e2e.server import LOOPBACK_CONFIG, PASSWORD, ServerProcess, claim, write_config
from tests.support.qbittorrent import QBittorrent

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/postgres"
# /etc read-only for qbittorrent-nox alone: a private mount namespace and a read-only bind mount.
READ_ONLY_ETC = [
    "unshare",
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount --bind /etc /etc && mount -o remount,bind,ro /etc && exec "$@"',
    "sh",
]


@contextlib.asynccontextmanager
async def revaer(work: Path) -> AsyncIterator[suite.Target]:
    """A fresh Revaer on a database of its own (dropped afterwards)."""
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE
    name = f"revaer_compat_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        await admin.close()
    url = with_database(server_url, name)
    home = work / "revaer"
    shutil.rmtree(home, ignore_errors=True)
    server = ServerProcess(home / "data", url)
    try:
        await migrate_dsn(url)
        # qBittorrent saves anywhere; the suite's category and move paths are under /tmp and (relative
        # paths it makes absolute) under its own directory: the admin allows both.
        allowed = ["/tmp", str(work / "qbittorrent-api")]
        await write_config(url, {**LOOPBACK_CONFIG, "paths.allowed_roots": allowed})
        await server.start()
        async with aiohttp.ClientSession() as http:
            await claim(http, server)
        downloads = home / "data" / "downloads"
        yield suite.Target("revaer", server.port, "admin", PASSWORD, "v4.6.7", downloads / "pytest")
    finally:
        with contextlib.suppress(AssertionError):
            await server.stop()
        server.kill()
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.contextmanager
def qbittorrent(work: Path) -> Iterator[suite.Target]:
    """A fresh qbittorrent-nox (its default credentials), ``/etc`` read-only when run as root."""
    home = work / "qbittorrent"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    wrapper = READ_ONLY_ETC if os.geteuid() == 0 else []
    with QBittorrent(home, wrapper=wrapper, local_auth=True) as qb:
        version = qb.version.strip()
        basetemp = qb.downloads / "pytest"
        yield suite.Target("qbittorrent", qb.webui_port, "admin", "adminadmin", version, basetemp)


def _run(python: Path, root: Path, target: suite.Target, work: Path, selection: list[str]) -> dict[str, str]:
    suite.point_at(root, target.port)
    print(f"running the suite against {target.name} {target.version} on port {target.port}", flush=True)
    results = suite.run(python, root, target, work / f"{target.name}.xml", selection)
    # Only a full run becomes the cache that --cached reads.
    name = f"{target.name}-selection" if selection else target.name
    (work / f"{name}.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    return results


async def _against_revaer(python: Path, root: Path, work: Path, selection: list[str]) -> dict[str, str]:
    async with revaer(work) as target:
        return await asyncio.to_thread(_run, python, root, target, work, selection)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.compat", description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "compat", help="work dir")
    parser.add_argument(
        "--cached", action="store_true", help="run Revaer only; qBittorrent's outcomes from its last full run"
    )
    # Everything else goes to pytest (test files, -k ...); by default the whole suite.
    args, selection = parser.parse_known_args(argv)
    args.selection = selection
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    python = suite.suite_python(work)
    cache = work / "qbittorrent.json"
    with suite.StaticServer(work / "static") as static:
        root = suite.prepare(work, static)
        if args.cached:
            if not cache.exists():
                parser.error(f"--cached: no {cache} yet (run once without it)")
            qb_results: dict[str, str] = json.loads(cache.read_text())
        else:
            with qbittorrent(work) as target:
                qb_results = _run(python, root, target, work, args.selection)
            root = suite.prepare(work, static)
        revaer_results = asyncio.run(_against_revaer(python, root, work, args.selection))
    if args.selection:  # a subset: compare only what ran on both sides
        qb_results = {n: o for n, o in qb_results.items() if n in revaer_results}
    names = spellings(python, root, {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(root / "src")})
    command = shlex.join(["python", "-m", "tests.compat", *argv])
    text = render(qb_results, revaer_results, names, command=command)
    (work / "differential.txt").write_text(text)
    sys.stdout.write(text)
    print(f"written to {work / 'differential.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
