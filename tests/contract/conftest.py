from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from revaer.engine.fake import FakeEngine
from revaer.engine.protocol import Engine
from revaer.engine.pump import EnginePump, PumpIntervals
from revaer.events import EventBus
from tests.support.engine import loopback_engine

EngineFactory = Callable[[], Engine]


@dataclass
class Rig:
    engine: Engine
    bus: EventBus
    pump: EnginePump
    make: EngineFactory  # another engine of the same kind


@pytest.fixture(params=["fake", "libtorrent"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """One engine of each kind, driven by a real pump and bus: the contract tests run on both."""
    make: EngineFactory = FakeEngine if request.param == "fake" else loopback_engine
    engine = make()
    bus = EventBus()
    pump = EnginePump(engine, bus, intervals=PumpIntervals(update=0.05))
    await pump.start()
    yield Rig(engine, bus, pump, make)
    await pump.stop(resume_timeout=5)
    bus.close()
