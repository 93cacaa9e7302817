"""A second process for the hot-reload test: prints every config change its cache sees.

``python -m tests.db.config_child DATABASE_URL`` prints ``ready`` once it
listens, then one JSON line ``{"key", "version", "value"}`` per ``ConfigChanged``
event, taking the value from its own cache. It exits when stdin closes.
"""

from __future__ import annotations

import asyncio
import sys

import orjson

from revaer.config.listener import ConfigListener
from revaer.events import ConfigChanged, Envelope, EventBus


async def main(dsn: str) -> None:
    bus = EventBus()
    loop = asyncio.get_running_loop()
    async with ConfigListener(dsn, bus=bus) as listener:
        sub = bus.subscribe()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        stdin_closed = loop.run_in_executor(None, sys.stdin.read)
        while True:
            get = asyncio.ensure_future(sub.get())
            done, _ = await asyncio.wait({get, stdin_closed}, return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                return
            item = get.result()
            if isinstance(item, Envelope) and isinstance(item.event, ConfigChanged):
                key = item.event.key
                line = {"key": key, "version": item.event.version, "value": listener.config.values[key]}
                sys.stdout.write(orjson.dumps(line).decode() + "\n")
                sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
