"""Every ``web.AppKey`` of the application, in one place.

The composition root (``revaer.app``) stores each service on the root application under its key as
the app starts; handlers of the sub-applications read them with ``request.config_dict[KEY]`` (which
looks through the parent apps). ``ENGINE``, ``PUMP`` and ``REGISTRY`` are for the composition root
and tests only: handlers reach torrents through ``TORRENTS``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from revaer.api.throttle import CredentialThrottle
from revaer.engine.protocol import Engine
from revaer.events import EventBus
from revaer.logbook import LogBook, PeerLog
from revaer.restore import Restore
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
    started_at: float = field(default_factory=time.monotonic)
    sse_update_interval: float = 1.0
    max_upload: int = 10 * 1024 * 1024


@dataclass(slots=True)
class Listening:
    """Where this process listens (unset until it does; in-process test apps note their own sockets).

    ``bind`` is the address asked for (``--bind`` or ``server.bind``), ``addresses`` the sockets the
    runner actually listens on: the façade's default is decided from those.
    """

    bind: str | None = None
    # Given on the command line (--bind), which overrides server.bind for this run.
    from_command_line: bool = False
    addresses: list[tuple[str, int]] = field(default_factory=list)

    def note(self, addresses: list[Any]) -> None:
        """``addresses``: the runner's (``web.BaseRunner.addresses``: socket names)."""
        self.addresses = [(str(a[0]), int(a[1])) for a in addresses if isinstance(a, tuple)]

    @property
    def loopback(self) -> bool | None:
        """Whether every bound address is a loopback one; None before the server listens."""
        if not self.addresses:
            return None
        return all(_loopback(host) for host, _ in self.addresses)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass(slots=True)
class AuthState:
    """Mutable state of the access checks: the setup gate and verified API keys."""

    bootstrapped: bool = False
    # Verified API keys, by digest, until the monotonic time given (saves a query per request).
    key_cache: dict[str, float] = field(default_factory=dict)
    # The query asking whether the installation is set up, shared by the requests that arrive
    # while it runs (a flood before set-up costs one query at a time, not one each).
    asking: asyncio.Future[bool] | None = None


# ---- the services (one each) ---------------------------------------------------------------------
TORRENTS = web.AppKey("torrents", TorrentService)
# The stored torrents being re-added after a start (the API serves meanwhile).
RESTORE = web.AppKey("restore", Restore)
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
AUTH_STATE = web.AppKey("auth_state", AuthState)
THROTTLE = web.AppKey("throttle", CredentialThrottle)  # credential checks, counted before they run
LISTENING = web.AppKey("listening", Listening)  # where the server is bound (serve() notes it)
LOOP_MONITOR = web.AppKey("loop_monitor", LoopMonitor)  # the event loop's stalls (health)
STREAMS: web.AppKey[weakref.WeakSet[web.StreamResponse]] = web.AppKey("streams")
LISTING: web.AppKey[Listing] = web.AppKey("qb_listing")  # the façade's items and fragments
RESPONSES: web.AppKey[ResponseCache] = web.AppKey("qb_info_responses")  # whole torrents/info bodies
# ---- the server's log and RSS (log/*, rss/*) -----------------------------------------------------
LOGBOOK = web.AppKey("logbook", LogBook)  # recent log records (log/main)
PEER_LOG = web.AppKey("peer_log", PeerLog)  # peers the engine refused (log/peers)
RSS: web.AppKey[RssService] = web.AppKey("rss")
