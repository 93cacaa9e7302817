"""How the façade's endpoints are registered: reads answer GET and POST, actions POST only.

A module of its own (not the package ``__init__``) so that handler modules can import it at the
top without an import cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def read(router: web.UrlDispatcher, path: str, handler: Handler) -> None:
    """A read endpoint: GET, and POST with the parameters in the body (qbittorrent-api relies on it)."""
    router.add_get(path, handler)
    router.add_post(path, handler)


def action(router: web.UrlDispatcher, path: str, handler: Handler) -> None:
    """An action: POST only (GET answers 405)."""
    router.add_post(path, handler)


def add_routes(
    router: web.UrlDispatcher,
    *,
    reads: Mapping[str, Handler] | None = None,
    actions: Mapping[str, Handler] | None = None,
) -> None:
    """Register a module's table of read endpoints and actions (path -> handler)."""
    for path, handler in (reads or {}).items():
        read(router, path, handler)
    for path, handler in (actions or {}).items():
        action(router, path, handler)
