"""The peers the session refuses reach the bus as ``PeerRefused`` (``log/peers`` lists them).

The real engine with incoming TCP turned off refuses a real TCP connection to its listen port;
the FakeEngine is told to refuse one. Both must deliver the same event through the pump.
"""

from __future__ import annotations

import asyncio
import contextlib

from revaer.engine.fake import FakeEngine
from revaer.engine.protocol import PeerRefused
from tests.contract.conftest import Rig
from tests.contract.test_engine_methods import Seen, seen  # noqa: F401  (the fixture)
from tests.support.engine import eventually


async def _refused_connection(rig: Rig, collected: Seen) -> None:
    engine = rig.engine
    if isinstance(engine, FakeEngine):
        engine.refuse_peer("127.0.0.1", 40000)
        return
    engine.apply_settings({"enable_incoming_tcp": False})
    await eventually(lambda: engine.stats().listen_port > 0)
    port = engine.stats().listen_port
    # libtorrent takes the setting on its own thread: connect until a refusal is reported.
    for _ in range(50):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        with contextlib.suppress(AssertionError):
            await eventually(lambda: any(isinstance(e, PeerRefused) for e in collected.events), within=0.5)
            return


async def test_a_refused_peer_is_reported(rig: Rig, seen: Seen) -> None:  # noqa: F811
    await _refused_connection(rig, seen)
    ev = await seen.wait(lambda e: isinstance(e, PeerRefused))
    assert isinstance(ev, PeerRefused)
    assert ev.ip == "127.0.0.1"
    assert ev.port > 0
    assert ev.blocked is True
    assert ev.reason == "TCP is disabled"
