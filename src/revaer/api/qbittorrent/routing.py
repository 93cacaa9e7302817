"""How the façade's routes are registered: reads answer GET and POST, actions POST only.

A module of its own so the route modules can import it at the top (the package's ``__init__``
imports every route module).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def read(router: web.UrlDispatcher, path: str, handler: Handler) -> None:
    """A read endpoint: GET, and POST with the parameters in the body (qbittorrent-api relies on it)."""
    router.add_get(path, handler)
    router.add_post(path, handler)


def action(router: web.UrlDispatcher, path: str, handler: Handler) -> None:
    """An action: POST only (GET answers 405)."""
    router.add_post(path, handler)
