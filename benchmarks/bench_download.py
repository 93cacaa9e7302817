"""Loopback download of a 256 MiB torrent: the engine beside qbittorrent-nox, same seeder, same run.

One libtorrent seeder (a second ``LibtorrentEngine``, seed mode) serves the
payload on 127.0.0.1. The torrent announces to a tiny tracker that lists only
the seeder, because qbittorrent-nox cannot be told to connect to a peer. The
engine and qBittorrent then download it in turn (alternating who goes first,
``ROUNDS`` each), never at the same time, each into a fresh directory.

Two figures per download, in MB/s (10^6 bytes):
- end to end: payload size over the time from the add request until the client
  itself reports every piece on disk (both polled every ``POLL`` seconds;
  qBittorrent refreshes its rows every 50 ms here);
- on the wire: the payload over the time the seeder was sending it, from the
  seeder's own session counters (the same yardstick for both clients).
Target: ours / qBittorrent ≥ 0.9 (the engine issue).
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.support.engine import LOOPBACK
from tests.support.qbittorrent import QBittorrent, is_seeding
from tests.support.torrents import MadeTorrent, file_sha256, make_torrent, write_random_file
from tests.support.tracker import Tracker

from benchmarks.conftest import drive, report
from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import AddRequest

SIZE = 256 * 1024 * 1024
PIECE = 1024 * 1024
ROUNDS = 3
POLL = 0.05
TIMEOUT = 120.0
MB = 1e6


@dataclass
class Run:
    client: str
    seconds: float  # add request → the client reports the payload complete
    wire_rate: float  # payload bytes/s the seeder sent, from its first byte to its last
    latency: float  # add request → the seeder's first byte (within a poll)

    @property
    def rate(self) -> float:
        return SIZE / self.seconds


@dataclass
class Swarm:
    root: Path
    source: Path
    torrent: MadeTorrent
    tracker: Tracker
    seeder: LibtorrentEngine
    qbt: QBittorrent
    digest: str
    runs: list[Run] = field(default_factory=list)


class SeederWatch:
    """Samples the seeder's session counter of payload bytes sent.

    Torrent rows refresh about once a second while bytes flow, too coarse for a
    transfer of a second or two; the session counters are read at the moment
    ``tick()`` asks for them, so each sample is stamped with that moment.
    """

    def __init__(self, seeder: LibtorrentEngine) -> None:
        self.seeder = seeder
        self.asked: float | None = None  # when the pending sample was asked for
        self.base: int | None = None
        self.idle: float | None = None  # last sample before the first byte went out
        self.full: float | None = None  # first sample with the whole payload sent

    def sample(self) -> None:
        self.seeder.poll()
        if self.asked is not None:
            sent = self.seeder.stats().uploaded
            if self.base is None:
                self.base = sent
            elif sent == self.base:
                self.idle = self.asked
            elif self.full is None and sent - self.base >= SIZE:
                self.full = self.asked
        self.asked = time.perf_counter()
        self.seeder.tick()

    def rate(self) -> float:
        if self.idle is None or self.full is None or self.full <= self.idle:
            return 0.0
        return SIZE / (self.full - self.idle)


def _timed(
    swarm: Swarm, start: Callable[[], None], done: Callable[[], bool], what: str
) -> tuple[float, float, float]:
    """Run ``start``; poll ``done`` every POLL s; return (seconds, seeder wire rate, start latency)."""
    watch = SeederWatch(swarm.seeder)
    for _ in range(2):  # a baseline sample answered before the start
        watch.sample()
        time.sleep(POLL)
    watch.sample()
    t0 = time.perf_counter()
    start()
    deadline = time.monotonic() + TIMEOUT
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not complete within {TIMEOUT} s")
        time.sleep(POLL)
        watch.sample()
    seconds = time.perf_counter() - t0
    # The counter sample lags by one poll: take a few more (bounded).
    for _ in range(10):
        if watch.full is not None:
            break
        time.sleep(POLL)
        watch.sample()
    latency = watch.idle - t0 if watch.idle is not None else 0.0
    return seconds, watch.rate(), latency


def _only_the_seeder(swarm: Swarm) -> None:
    swarm.tracker.forget(swarm.torrent.info_hash)
    swarm.tracker.add_peer(swarm.torrent.info_hash, "127.0.0.1", swarm.seeder.listen_port())


def download_with_engine(swarm: Swarm, n: int) -> Run:
    _only_the_seeder(swarm)
    target = swarm.root / f"ours-{n}"
    engine = LibtorrentEngine(LOOPBACK)
    try:
        h = swarm.torrent.info_hash

        def start() -> None:
            engine.add(AddRequest(torrent=swarm.torrent.data, save_path=str(target)))

        def done() -> bool:
            engine.tick()
            engine.poll()
            row = engine.get(h)
            return row is not None and row.is_seeding

        seconds, wire, latency = _timed(swarm, start, done, "engine download")
    finally:
        engine.shutdown(10)
    assert file_sha256(target / swarm.source.name) == swarm.digest, "the engine's copy differs"
    shutil.rmtree(target)
    return Run("revaer", seconds, wire, latency)


def download_with_qbittorrent(swarm: Swarm, n: int) -> Run:
    _only_the_seeder(swarm)
    target = swarm.root / f"qbt-{n}"
    target.mkdir()
    h = swarm.torrent.info_hash

    def done() -> bool:
        row = swarm.qbt.torrent(h)
        return row is not None and is_seeding(row)

    seconds, wire, latency = _timed(
        swarm, lambda: swarm.qbt.add_torrent(swarm.torrent.data, target), done, "qBittorrent"
    )
    assert file_sha256(target / swarm.source.name) == swarm.digest, "qBittorrent's copy differs"
    swarm.qbt.remove(h, delete_files=True)
    # Wait until it is gone so the next add is a new torrent (bounded).
    for _ in range(100):
        if swarm.qbt.torrent(h) is None:
            break
        time.sleep(0.05)
    shutil.rmtree(target, ignore_errors=True)
    return Run("qbittorrent-nox", seconds, wire, latency)


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swarm]:
    root = tmp_path_factory.mktemp("bench-download")
    source = root / "seed" / "payload-256m.bin"
    write_random_file(source, SIZE)
    digest = file_sha256(source)
    try:
        with Tracker(interval=60) as tracker:
            torrent = make_torrent(source, piece_length=PIECE, trackers=[tracker.announce_url])
            seeder = LibtorrentEngine(LOOPBACK)
            try:
                h = seeder.add(AddRequest(torrent=torrent.data, save_path=str(source.parent), seed_mode=True))
                drive(seeder, lambda: (r := seeder.get(h)) is not None and r.is_seeding, what="seeder ready")
                with QBittorrent(root / "qbt", refresh_ms=50) as qbt:
                    yield Swarm(root, source, torrent, tracker, seeder, qbt, digest)
            finally:
                seeder.shutdown(10)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_download_256mib_beside_qbittorrent(swarm: Swarm) -> None:
    print(f"\n[bench] {SIZE // (1024 * 1024)} MiB over 127.0.0.1 from one libtorrent seeder, {ROUNDS} rounds")
    for n in range(ROUNDS):
        order = (download_with_engine, download_with_qbittorrent)
        for step in order if n % 2 == 0 else order[::-1]:
            run = step(swarm, n)
            swarm.runs.append(run)
            print(
                f"[bench]   round {n + 1} {run.client:16s} {run.seconds:6.2f} s  "
                f"{run.rate / MB:7.1f} MB/s end to end, {run.wire_rate / MB:7.1f} MB/s on the wire, "
                f"first byte after {run.latency:.2f} s",
                flush=True,
            )

    def median(client: str, key: Callable[[Run], float]) -> float:
        return statistics.median(key(r) for r in swarm.runs if r.client == client)

    ours = median("revaer", lambda r: r.rate)
    theirs = median("qbittorrent-nox", lambda r: r.rate)
    ours_wire = median("revaer", lambda r: r.wire_rate)
    theirs_wire = median("qbittorrent-nox", lambda r: r.wire_rate)
    for client, end, wire in (("revaer", ours, ours_wire), ("qbittorrent-nox", theirs, theirs_wire)):
        print(
            f"[bench] {client:16s} median {end / MB:7.1f} MB/s end to end, {wire / MB:7.1f} MB/s on the wire"
        )
    ratio = ours / theirs
    report("download throughput ours/qBittorrent (end to end)", ratio, "x", "≥ 0.9", ratio >= 0.9)
    if theirs_wire > 0:
        wire_ratio = ours_wire / theirs_wire
        report(
            "download throughput ours/qBittorrent (on the wire)", wire_ratio, "x", "≥ 0.9", wire_ratio >= 0.9
        )
