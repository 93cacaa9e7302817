"""Helpers for tests that drive a real or fake engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import AddRequest, Engine, EngineEvent
from tests.support.torrents import MadeTorrent, make_torrent, write_random_file

# A session for loopback swarms: no discovery, no port mapping, TCP only (uTP is ~10x slower on
# loopback), several peers on 127.0.0.1.
LOOPBACK: dict[str, bool | int | str] = {
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "enable_incoming_utp": False,
    "enable_outgoing_utp": False,
    "allow_multiple_connections_per_ip": True,
}


def loopback_engine(**overrides: bool | int | str) -> LibtorrentEngine:
    return LibtorrentEngine({**LOOPBACK, **overrides})


def drive(
    engine: Engine,
    until: Callable[[list[EngineEvent]], bool],
    *,
    timeout: float = 60.0,
    interval: float = 0.1,
    events: list[EngineEvent] | None = None,
) -> list[EngineEvent]:
    """Tick and poll ``engine`` until ``until(events)`` holds; fails after ``timeout`` seconds."""
    seen = events if events is not None else []
    deadline = time.monotonic() + timeout
    while True:
        engine.tick()
        time.sleep(interval)
        seen.extend(engine.poll())
        if until(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s; events: {seen[-20:]}")


async def eventually(pred: Callable[[], bool], *, within: float = 30.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + within
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {within} s")
        await asyncio.sleep(interval)


class Seeder:
    """A second libtorrent session seeding a generated payload on 127.0.0.1."""

    def __init__(
        self, root: Path, size: int, *, name: str = "payload.bin", piece_length: int = 256 * 1024
    ) -> None:
        self.dir = root / "seed"
        path = self.dir / name
        write_random_file(path, size)
        self.path = path
        self.torrent: MadeTorrent = make_torrent(path, piece_length=piece_length)
        self.engine = loopback_engine()
        self.info_hash = self.engine.add(
            AddRequest(torrent=self.torrent.data, save_path=str(self.dir), seed_mode=True)
        )
        drive(
            self.engine, lambda _: bool((r := self.engine.get(self.info_hash)) and r.is_seeding), timeout=30
        )
        self.port = self.engine.listen_port()

    def close(self) -> None:
        self.engine.shutdown(5)
