from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import Seeder


@pytest.fixture(scope="module")
def seeder64(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeder]:
    """64 MiB seeded by a second libtorrent session on 127.0.0.1."""
    s = Seeder(tmp_path_factory.mktemp("swarm"), 64 * 1024 * 1024)
    yield s
    s.close()


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    d = tmp_path / "downloads"
    d.mkdir()
    return d
