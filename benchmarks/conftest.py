"""Benchmarks: collected from ``bench_*.py`` (kept out of ``make test``), run by ``make bench``.

Figures are printed next to their targets (run with ``-s``) and never asserted:
a slow machine must not fail a build. Shared helpers live here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.engine import LOOPBACK

from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import EngineEvent

__all__ = ["LOOPBACK", "drive", "report", "rss_mb"]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # A file named on the command line is collected by pytest itself.
    if parent.session.isinitpath(file_path):
        return None
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def drive(
    engine: LibtorrentEngine,
    until: Callable[[], bool],
    *,
    events: list[EngineEvent] | None = None,
    timeout: float = 60.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Tick and poll ``engine`` until ``until()`` holds; RuntimeError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        engine.tick()
        time.sleep(interval)
        got = engine.poll()
        if events is not None:
            events.extend(got)
        if until():
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not reached within {timeout} s")


def rss_mb(status: str = "/proc/self/status", field: str = "VmRSS") -> float:
    """Resident set size (or another ``Vm*`` field) in MiB, from /proc."""
    with open(status) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in {status}")


def report(name: str, value: float, unit: str, target: str, ok: bool) -> None:
    """Print one figure beside its target."""
    verdict = "within target" if ok else "MISSES target"
    print(f"\n[bench] {name}: {value:,.3f} {unit}  (target {target}; {verdict})", flush=True)
