"""The engine with 10,000 torrents: add time, snapshot, changed-since, memory.

10,000 synthetic torrents (random piece hashes, no data): most added paused,
one in a hundred started; one in ten multi-file; one in ten with trackers on
127.0.0.1 ports where nothing listens (connections are refused); a few private.
Targets (the engine issue): add all ≤ 2 s, full snapshot ≤ 5 ms, changed-since
with 100 changed rows ≤ 0.2 ms, process RSS ≤ 200 MB.

The RSS figure comes from a child process that holds only the engine and its
torrents, so pytest and the parent's copies of the .torrent bytes do not count.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.support.engine import LOOPBACK
from tests.support.torrents import synthetic_torrent

from benchmarks.conftest import report, rss_mb
from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import AddRequest, TorrentAdded, TorrentAddFailed

N = 10_000
CHANGED = 100
REPO = Path(__file__).resolve().parent.parent


def refused_ports(n: int) -> list[int]:
    """Ports on 127.0.0.1 with nothing listening: bound, then released."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass(frozen=True, slots=True)
class Item:
    data: bytes
    paused: bool


def make_items(n: int = N) -> list[Item]:
    """The 10,000 torrents: a mix of single/multi-file, tracker/no tracker, public/private."""
    ports = refused_ports(4)
    items: list[Item] = []
    for i in range(n):
        trackers = [f"http://127.0.0.1:{ports[i % 4]}/announce"] if i % 10 == 3 else []
        t = synthetic_torrent(
            f"synthetic-{i:05d}",
            size=(1 + i % 64) * 1024 * 1024,
            piece_length=256 * 1024,
            files=5 if i % 10 == 7 else 1,
            trackers=trackers,
            private=i % 500 == 11,
        )
        items.append(Item(t.data, paused=i % 100 != 50))
    return items


def add_all(engine: LibtorrentEngine, items: list[Item], save_path: str, timeout: float = 120.0) -> float:
    """Add every item; return seconds until the engine reported each one added (or failed)."""
    t0 = time.perf_counter()
    for it in items:
        engine.add(AddRequest(torrent=it.data, save_path=save_path, paused=it.paused))
    done = 0
    deadline = time.monotonic() + timeout
    while done < len(items):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {len(items)} added within {timeout} s")
        done += sum(isinstance(e, TorrentAdded | TorrentAddFailed) for e in engine.poll())
        if done < len(items):
            time.sleep(0.001)
    return time.perf_counter() - t0


def settle(engine: LibtorrentEngine, rounds: int = 3, timeout: float = 60.0) -> None:
    """Tick and poll until the table's version stays put for ``rounds`` ticks in a row (bounded)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    last = engine.version
    while quiet < rounds and time.monotonic() < deadline:
        engine.tick()
        time.sleep(0.25)
        engine.poll()
        quiet = quiet + 1 if engine.version == last else 0
        last = engine.version


def best_of(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(min, median) wall time of ``fn`` in seconds."""
    times: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


@dataclass
class Loaded:
    engine: LibtorrentEngine
    add_seconds: float


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    items = make_items()
    save = tmp_path_factory.mktemp("bench-engine")
    engine = LibtorrentEngine(LOOPBACK)
    try:
        seconds = add_all(engine, items, str(save))
        del items
        settle(engine)
        yield Loaded(engine, seconds)
    finally:
        engine.shutdown(60)


def test_add_10k(loaded: Loaded) -> None:
    rows = loaded.engine.snapshot()
    paused = sum(r.paused for r in rows)
    print(f"\n[bench] {len(rows)} torrents in the table, {paused} paused")
    report(f"add {N:,} torrents until all added", loaded.add_seconds, "s", "≤ 2 s", loaded.add_seconds <= 2.0)


def test_snapshot_10k(loaded: Loaded, benchmark: Any) -> None:
    engine = loaded.engine
    low, med = best_of(engine.snapshot, 50)
    report(
        f"snapshot of {len(engine.snapshot()):,} rows (median of 50)", med * 1e3, "ms", "≤ 5 ms", med <= 0.005
    )
    print(f"[bench]   min {low * 1e3:.3f} ms")
    benchmark(engine.snapshot)


def test_changed_since_100(loaded: Loaded, benchmark: Any) -> None:
    engine = loaded.engine
    settle(engine)
    rows = sorted(engine.snapshot(), key=lambda r: r.info_hash)
    # Rows of paused torrents: nothing else moves them while we measure.
    targets = [r.info_hash for r in rows if r.paused][:CHANGED]
    del rows
    v_before = engine.version
    for h in targets:
        engine.set_limits(h, 512 * 1024, 1024 * 1024)
    engine.tick()
    time.sleep(0.25)
    engine.poll()
    changes = engine.changed_since(v_before)
    n = len(changes.rows)
    del changes
    low, med = best_of(lambda: engine.changed_since(v_before), 200)
    report(
        f"changed_since with {n} changed rows of {N:,} (median of 200)",
        med * 1e3,
        "ms",
        "≤ 0.2 ms",
        med <= 0.0002,
    )
    print(f"[bench]   min {low * 1e3:.4f} ms")
    benchmark(engine.changed_since, v_before)


def test_changed_since_nothing(loaded: Loaded, benchmark: Any) -> None:
    """The idle case a listing poll hits most: nothing changed since the caller's version."""
    engine = loaded.engine
    v = engine.version
    benchmark(engine.changed_since, v)


def _rss_child() -> None:
    """Run in a child process: report RSS before the engine and with 10,000 torrents in it."""
    base = rss_mb()
    items = make_items()
    save = sys.argv[1]
    engine = LibtorrentEngine(LOOPBACK)
    started = rss_mb()
    seconds = add_all(engine, items, save)
    del items
    gc.collect()
    settle(engine)
    out = {
        "base": base,
        "started": started,
        "loaded": rss_mb(),
        "peak": rss_mb(field="VmHWM"),
        "add": seconds,
    }
    engine.shutdown(60)
    print(json.dumps(out), flush=True)


def test_rss_10k(tmp_path: Path) -> None:
    code = "import sys; from benchmarks.bench_engine import _rss_child; _rss_child()"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    loaded = figures["loaded"]
    report(f"process RSS with {N:,} torrents", loaded, "MiB", "≤ 200 MB", loaded * 1.048576 <= 200)
    print(
        f"[bench]   interpreter alone {figures['base']:.1f} MiB, with an empty engine "
        f"{figures['started']:.1f} MiB, peak {figures['peak']:.1f} MiB; add took {figures['add']:.2f} s"
    )
