"""``torrent.updated`` on the event stream: updates that change nothing a client shows are held back.

An idle seeding torrent emitted about one update per second while its rate decayed. The coalescer
is driven with an explicit clock here (no wall clock).
"""

from __future__ import annotations

from typing import Any

from revaer.api.v1.events import _Encoded, _Updates

H = "a" * 40


def _row(up: int, uploaded: int = 5_000_000, state: str = "seeding") -> dict[str, Any]:
    return {
        "info_hash": H,
        "state": state,
        "upload_rate": up,
        "download_rate": 0,
        "uploaded": uploaded,
        "eta": None,
        "tags": [],
    }


def _run(rows: list[dict[str, Any]], seconds_each: float = 1.0) -> list[tuple[float, dict[str, Any]]]:
    """Feed one row per second (the engine's pace) through a 1 s coalescer; what was sent, when."""
    u = _Updates(1.0)
    sent: list[tuple[float, dict[str, Any]]] = []
    now = 0.0
    for i, row in enumerate(rows):
        u.add(i, _Encoded("torrent.updated", row), now)
        now += seconds_each
        sent += [(now, p.payload) for _, p in u.due(now)]
    for _ in range(30):  # then nothing new for 30 s
        now += 1.0
        sent += [(now, p.payload) for _, p in u.due(now)]
    return sent


def test_a_decaying_idle_rate_is_not_one_update_per_second() -> None:
    # 20 KiB/s halving every second down to 0: 15 distinct figures, nothing else changes.
    rates = [20_480 >> i for i in range(15)] + [0]
    sent = _run([_row(r) for r in rates])
    assert len(sent) <= 8, [p["upload_rate"] for _, p in sent]
    # The client ends up with the exact figures: the torrent is idle.
    assert sent[-1][1]["upload_rate"] == 0


def test_jitter_under_a_kib_is_held_back_but_arrives() -> None:
    rows = [_row(r) for r in (0, 3, 5, 2, 7, 4, 3, 6, 2, 5, 3, 4)]
    sent = _run(rows)
    assert len(sent) <= 3, [p["upload_rate"] for _, p in sent]
    assert sent[-1][1] is rows[-1]


def test_what_a_client_shows_is_sent_at_once() -> None:
    u = _Updates(1.0)

    def add(seq: int, row: dict[str, Any], now: float) -> None:
        u.add(seq, _Encoded("torrent.updated", row), now)

    add(1, _row(0), 0.0)
    assert len(u.due(1.0)) == 1
    add(2, _row(0, state="paused"), 1.0)
    assert [p.payload["state"] for _, p in u.due(2.0)] == ["paused"]
    add(3, _row(0, uploaded=6_000_000, state="paused"), 2.0)
    assert [p.payload["uploaded"] for _, p in u.due(3.0)] == [6_000_000]
    add(4, _row(900_000, uploaded=7_000_000), 3.0)
    assert len(u.due(4.0)) == 1
    u.forget(H)
    assert u.due(100.0) == []
