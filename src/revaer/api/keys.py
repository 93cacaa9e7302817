"""Every ``web.AppKey`` of the application, in one place.

The composition root (``revaer.app``) stores each service on the root application under its key as
the app starts; handlers of the sub-applications read them with ``request.config_dict[KEY]`` (which
looks through the parent apps). ``ENGINE``, ``PUMP`` and ``REGISTRY`` are for the composition root
and tests only: handlers reach torrents through ``TORRENTS``.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from revaer.config.model import Bind
from revaer.engine.protocol import Engine
from revaer.events import EventBus
from revaer.logbook import LogBook, PeerLog
from revaer.telemetry import LoopMonitor
from revaer.torrents import TorrentService

if TYPE_CHECKING:
    from revaer.api.qbittorrent.info import ResponseCache
    from revaer.api.qbittorrent.listing import Listing
    from revaer.config.listener import ConfigListener
    from revaer.config.setup import Setup
    from revaer.config.store import ConfigStore
    from revaer.db.pool import Database
    from revaer.engine.pump import EnginePump
    from revaer.fsops.worker import PostProcessor
    from revaer.registry import TorrentRegistry
    from revaer.rss.service import RssService


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """Fixed options of the HTTP layer, set when the app is built."""

    data_dir: Path
    # The address given by --bind, which overrides server.bind (and decides the façade's default).
    bind: Bind | None = None
    started_at: float = field(default_factory=time.monotonic)
    sse_update_interval: float = 1.0
    max_upload: int = 10 * 1024 * 1024


@dataclass(slots=True)
class Listening:
    """The HTTP address this process listens on (None until it does; in-process test apps never do)."""

    bind: str | None = None
    # Given on the command line (--bind), which overrides server.bind for this run.
    from_command_line: bool = False


@dataclass(slots=True)
class AuthState:
    """Mutable state of the access checks: the setup gate and verified API keys."""

    bootstrapped: bool = False
    # Verified API keys, by digest, until the monotonic time given (saves a query per request).
    key_cache: dict[str, float] = field(default_factory=dict)


# ---- the services (one each) ---------------------------------------------------------------------
TORRENTS = web.AppKey("torrents", TorrentService)
BUS = web.AppKey("bus", EventBus)
DATABASE: web.AppKey[Database] = web.AppKey("database")
CONFIG_STORE: web.AppKey[ConfigStore] = web.AppKey("config_store")
CONFIG: web.AppKey[ConfigListener] = web.AppKey("config")
SETUP: web.AppKey[Setup] = web.AppKey("setup")
# ---- the composition root's own (not for handlers) ----------------------------------------------
ENGINE: web.AppKey[Engine] = web.AppKey("engine")
PUMP: web.AppKey[EnginePump] = web.AppKey("pump")
REGISTRY: web.AppKey[TorrentRegistry] = web.AppKey("registry")
POSTPROCESSOR: web.AppKey[PostProcessor] = web.AppKey("postprocessor")  # the move jobs' worker
# ---- HTTP-layer state ----------------------------------------------------------------------------
API_OPTIONS = web.AppKey("api_options", ApiOptions)
LISTENING = web.AppKey("listening", Listening)
AUTH_STATE = web.AppKey("auth_state", AuthState)
LOOP_MONITOR = web.AppKey("loop_monitor", LoopMonitor)  # the event loop's stalls (health)
STREAMS: web.AppKey[weakref.WeakSet[web.StreamResponse]] = web.AppKey("streams")
LISTING: web.AppKey[Listing] = web.AppKey("qb_listing")  # the façade's items and fragments
RESPONSES: web.AppKey[ResponseCache] = web.AppKey("qb_info_responses")  # whole torrents/info bodies
# ---- the server's log and RSS (log/*, rss/*) -----------------------------------------------------
LOGBOOK = web.AppKey("logbook", LogBook)  # recent log records (log/main)
PEER_LOG = web.AppKey("peer_log", PeerLog)  # peers the engine refused (log/peers)
RSS: web.AppKey[RssService] = web.AppKey("rss")
