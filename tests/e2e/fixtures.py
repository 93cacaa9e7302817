"""Fixtures for tests that run the real server as a child process (tests/e2e, tests/faults).

Imported by the two folders' conftest.py; a module that needs another kind of server (an embedded
database, an external cluster) defines its own ``server`` fixture, which takes precedence.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.server import LOOPBACK_CONFIG, ServerProcess, write_config


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A scratch directory under /tmp (the embedded PostgreSQL's user must be able to traverse it)."""
    d = Path(tempfile.mkdtemp(prefix="revaer-server-", dir="/tmp"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
async def server(workdir: Path, db_url: str) -> AsyncIterator[ServerProcess]:
    """A server (not started) on a fresh database holding the loopback engine config."""
    await write_config(db_url, LOOPBACK_CONFIG)
    s = ServerProcess(workdir / "data", db_url)
    try:
        yield s
    finally:
        s.kill()
