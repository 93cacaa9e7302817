"""Every ``web.AppKey`` of the application, in one place."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from revaer.engine.protocol import Engine
from revaer.events import EventBus
from revaer.torrents import TorrentService

if TYPE_CHECKING:
    from revaer.config.listener import ConfigListener
    from revaer.config.setup import Setup
    from revaer.config.store import ConfigStore
    from revaer.db.pool import Database


@dataclass
class Services:
    """What the HTTP handlers use. Built by the composition root (``revaer.app``)."""

    engine: Engine
    bus: EventBus
    torrents: TorrentService
    data_dir: Path
    db: Database | None = None
    store: ConfigStore | None = None
    listener: ConfigListener | None = None
    setup: Setup | None = None
    bootstrapped: bool = True
    started_at: float = field(default_factory=time.monotonic)
    sse_update_interval: float = 1.0
    max_upload: int = 10 * 1024 * 1024
    streams: weakref.WeakSet[web.StreamResponse] = field(default_factory=weakref.WeakSet)
    # Verified API keys, by digest, until the monotonic time given (saves a query per request).
    key_cache: dict[str, float] = field(default_factory=dict)


SERVICES = web.AppKey("services", Services)
