"""The HTTP listener: plain HTTP, or HTTPS with the ``server.tls`` certificate, switched live.

One listener serves everything (``/v1``, ``/api/v2``, the status page), so HTTPS is on for all of
them or for none. When ``server.tls`` changes the listening socket is closed and opened again on the
same address with the new context (connections already open finish what they do on the old one),
as qBittorrent switches its WebUI after ``app/setPreferences`` with ``use_https``. Certificate files
that do not load at start or at a switch leave the listener on plain HTTP, said at error level
(qBittorrent: "HTTPS setup failed, fallback to HTTP"); a write naming such files is refused before it
is stored (``revaer.config.tls.check``), so that happens only when the files changed afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable

from aiohttp import web

from revaer.config.model import Bind, Config, Tls
from revaer.config.tls import TlsFilesError, server_context

log = logging.getLogger(__name__)


def tls_context(tls: Tls) -> ssl.SSLContext | None:
    """The context ``tls`` asks for; None for plain HTTP (also when the files do not load)."""
    if not tls.enabled:
        return None
    try:
        return server_context(tls.cert_path, tls.key_path)
    except TlsFilesError as e:
        log.error("HTTPS setup failed, serving plain HTTP", extra={"reason": e.reason})
        return None


class HttpListener:
    """The runner's one site on ``bind``; ``switch`` reopens it with another TLS context."""

    __slots__ = ("_bind", "_lock", "_runner", "_site", "tls_on")

    def __init__(self, runner: web.BaseRunner, bind: Bind) -> None:
        self._runner = runner
        self._bind = bind
        self._site: web.TCPSite | None = None
        self._lock = asyncio.Lock()
        self.tls_on = False

    async def start(self, tls: Tls) -> None:
        """Listen (``OSError`` when the address cannot be bound)."""
        async with self._lock:
            await self._open(tls)

    async def _open(self, tls: Tls) -> None:
        context = tls_context(tls)
        site = web.TCPSite(
            self._runner, self._bind.host, self._bind.port, reuse_address=True, ssl_context=context
        )
        await site.start()
        self._site, self.tls_on = site, context is not None

    async def switch(self, tls: Tls) -> None:
        """Close the listening socket and listen again with ``tls`` (every write of ``server.tls``
        does, the same value too: that is how a certificate renewed in place is taken)."""
        async with self._lock:
            if self._site is None:
                return
            if self._bind.port == 0:  # keep the port the system chose
                port = next((a[1] for a in self._runner.addresses if isinstance(a, tuple)), 0)
                self._bind = Bind(self._bind.host, port)
            await self._site.stop()
            self._site = None
            try:
                await self._open(tls)
            except OSError:
                log.exception(
                    "cannot listen again after a server.tls change", extra={"bind": str(self._bind)}
                )
                raise
            log.info("listening again", extra={"bind": str(self._bind), "https": self.tls_on})

    def follow(self, cfg: Config, changed: frozenset[str]) -> Awaitable[None] | None:
        """A config hook: switch when ``server.tls`` changed."""
        return self.switch(cfg.tls) if "server.tls" in changed else None
