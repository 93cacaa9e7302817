"""A torrent removed while another thread asks for its details: the query says not found, never a
bare libtorrent exception (which the APIs would answer with 500)."""

from __future__ import annotations

import threading
from pathlib import Path

from revaer.engine.errors import EngineError
from revaer.engine.protocol import AddRequest
from tests.support.engine import drive, loopback_engine
from tests.support.torrents import synthetic_torrent


def test_details_of_a_torrent_removed_meanwhile(tmp_path: Path) -> None:
    engine = loopback_engine()
    try:
        hashes = [
            engine.add(
                AddRequest(torrent=synthetic_torrent(f"t{i}", size=1 << 20).data, save_path=str(tmp_path))
            )
            for i in range(30)
        ]
        drive(engine, lambda _: all(engine.get(h) is not None for h in hashes))
        other: list[BaseException] = []
        queries = [engine.files, engine.trackers, engine.piece_states, engine.piece_hashes]

        def ask(h: str, stop: threading.Event) -> None:
            for _ in range(20_000):
                if stop.is_set():
                    return
                for q in queries:
                    try:
                        q(h)
                    except EngineError:
                        return  # gone: that is the answer
                    except Exception as e:  # what the test looks for
                        other.append(e)
                        return

        for h in hashes:
            stop = threading.Event()
            threads = [threading.Thread(target=ask, args=(h, stop)) for _ in range(3)]
            for t in threads:
                t.start()
            engine.remove(h)
            for t in threads:
                t.join(10)
            stop.set()
        assert other == [], other[:3]
    finally:
        engine.shutdown(5)
