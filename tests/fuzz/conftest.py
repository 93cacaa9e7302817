"""The fuzz suite's server: the real server process, set up, and how long each property runs.

``make test`` runs a quick bounded pass; ``make fuzz`` sets ``REVAER_FUZZ_EXAMPLES`` for a long one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from hypothesis import HealthCheck, settings

from tests.e2e.fixtures import server, workdir
from tests.e2e.server import ServerProcess, claim

__all__ = ["live", "server", "workdir"]

# Examples per property (per operation for the schema suite): quick by default.
EXAMPLES = int(os.environ.get("REVAER_FUZZ_EXAMPLES", "25"))
# A live property's time grows with its examples: the async tests' 60 s would cut a long run short.
LONG = pytest.mark.timeout(120 + 6 * EXAMPLES)

settings.register_profile(
    "revaer-fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 100,  # the quick pass is the same every run; the long one explores
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    database=None,
)


@dataclass(frozen=True)
class Live:
    """The running server: its URL and an API key."""

    url: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
async def live(server: ServerProcess) -> AsyncIterator[Live]:
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            key = await claim(http, server)
        yield Live(server.url, key)
    finally:
        await server.stop()
