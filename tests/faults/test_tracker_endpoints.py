"""A tracker on 127.0.0.1 reached from a server listening on every interface (real libtorrent).

libtorrent announces from each listen socket. With the default ``0.0.0.0`` and ``[::]`` (one
socket per local address), the loopback socket's announce works while the others cannot reach
127.0.0.1: the IPv6 ones fail at once with ``skipping tracker announce (unreachable)``, another
interface's tries and times out. The tracker list said what the first failing socket said: a
working tracker with ``timed out``, the words seen once after a restart whose torrent did not
reconnect (docs/reliability.md, notes). Now the tracker is what its best endpoint says, as in
qBittorrent 4.6.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from revaer.engine.protocol import AddRequest, TrackerStatus
from tests.support.engine import loopback_engine
from tests.support.torrents import make_torrent, write_random_file
from tests.support.tracker import Tracker

# Another interface's announce to 127.0.0.1 times out: after 3 s instead of libtorrent's 30.
TIMEOUTS = {"tracker_completion_timeout": 3, "tracker_receive_timeout": 3}


def _has_other_ipv4() -> bool:
    """Whether a non-loopback IPv4 address routes (the socket libtorrent would add beside lo)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent
        except OSError:
            return False
        return not s.getsockname()[0].startswith("127.")


async def test_a_working_loopback_tracker_is_not_reported_with_another_sockets_error(tmp_path: Path) -> None:
    if not _has_other_ipv4():
        pytest.skip("no IPv4 interface beside loopback: a single endpoint shows nothing")
    payload = tmp_path / "seed" / "x.bin"
    write_random_file(payload, 1 << 20)
    with Tracker(interval=60) as tracker:
        t = make_torrent(payload, trackers=[tracker.announce_url])
        engine = loopback_engine(listen_interfaces="0.0.0.0:0", **TIMEOUTS)
        try:
            h = engine.add(AddRequest(torrent=t.data, save_path=str(tmp_path / "dl")))
            deadline = time.monotonic() + 30
            while True:  # until every endpoint has had its answer (or its timeout)
                (tr,) = await asyncio.to_thread(engine.trackers, h)
                if tracker.announces >= 1 and tr.status != TrackerStatus.UPDATING:
                    break
                assert time.monotonic() < deadline, tr
                await asyncio.sleep(0.2)
                engine.poll()  # nothing waits on the events; keep the alert queue short
        finally:
            await asyncio.to_thread(engine.shutdown, 5)
    assert (tr.status, tr.message) == (TrackerStatus.WORKING, ""), tr
