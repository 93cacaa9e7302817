from __future__ import annotations

import asyncio

from revaer.events import Envelope, EventBus, Lagged


async def test_fan_out_in_order() -> None:
    bus = EventBus()
    a, b = bus.subscribe(), bus.subscribe()
    ids = [bus.publish(i) for i in range(3)]
    assert ids == [1, 2, 3]
    for sub in (a, b):
        got = [await sub.get() for _ in range(3)]
        assert got == [Envelope(1, 0), Envelope(2, 1), Envelope(3, 2)]
    assert bus.subscribers == 2
    a.close()
    assert bus.subscribers == 1


async def test_slow_subscriber_gets_lagged_after_what_was_queued_and_never_blocks() -> None:
    bus = EventBus(queue_size=4)
    slow = bus.subscribe()
    fast = bus.subscribe(queue_size=100)
    for i in range(10):
        bus.publish(i)  # returns at once although `slow` is full
    got = [slow.get_nowait() for _ in range(5)]
    assert got[:4] == [Envelope(i + 1, i) for i in range(4)]
    assert got[4] == Lagged(6)
    assert slow.get_nowait() is None
    # After the marker, new events flow again.
    bus.publish("next")
    assert slow.get_nowait() == Envelope(11, "next")
    assert fast.pending() == 11


async def test_events_published_while_lagging_are_not_delivered_before_the_marker() -> None:
    bus = EventBus(queue_size=2)
    sub = bus.subscribe()
    for i in range(3):
        bus.publish(i)
    assert sub.get_nowait() == Envelope(1, 0)
    bus.publish(3)  # there is room again, but the subscriber has not seen the gap yet
    assert sub.get_nowait() == Envelope(2, 1)
    assert sub.get_nowait() == Lagged(2)


async def test_get_waits_and_close_ends_iteration() -> None:
    bus = EventBus()
    sub = bus.subscribe()

    async def consume() -> list[object]:
        return [item async for item in sub]

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    bus.publish("x")
    await asyncio.sleep(0)
    bus.close()
    assert await asyncio.wait_for(task, 1) == [Envelope(1, "x")]


def test_since_for_last_event_id() -> None:
    bus = EventBus(history=3)
    for i in range(5):
        bus.publish(i)
    assert bus.since(5) == []
    assert bus.since(3) == [Envelope(4, 3), Envelope(5, 4)]
    assert bus.since(2) == [Envelope(3, 2), Envelope(4, 3), Envelope(5, 4)]
    assert bus.since(1) is None  # event 2 is gone: the client must resync


def test_ids_carry_the_epoch_and_replay_only_our_own() -> None:
    bus = EventBus(history=3, epoch="e1")
    for i in range(5):
        bus.publish(i)
    assert bus.last_event_id == "e1:5"
    assert bus.replay("e1:5") == []
    assert bus.replay("e1:3") == [Envelope(4, 3), Envelope(5, 4)]
    assert bus.replay("e1:1") is None  # older than the ring
    assert bus.replay("e0:3") is None  # another process's (before a restart)
    assert bus.replay("3") is None  # a bare number: not an id of ours
    assert bus.replay("e1:9") is None  # never numbered here
    assert bus.replay("e1:x") is None
    assert bus.replay("") is None


def test_zero_means_nothing_seen_yet() -> None:
    bus = EventBus(history=3)
    bus.publish("a")
    assert bus.replay("0") == [Envelope(1, "a")]
    for i in range(5):
        bus.publish(i)
    assert bus.replay("0") is None  # the start is gone from the ring


def test_every_bus_has_a_new_epoch() -> None:
    epochs = {EventBus().epoch for _ in range(20)}
    assert len(epochs) == 20
