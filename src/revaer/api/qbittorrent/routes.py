"""How the façade's endpoints are registered: reads answer GET and POST, actions POST only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(
    router: web.UrlDispatcher, *, reads: Mapping[str, Handler], actions: Mapping[str, Handler]
) -> None:
    """Register the tables of read endpoints and actions (path -> handler).

    A read answers GET, and POST with the parameters in the body (qbittorrent-api relies on it);
    an action answers POST only (GET answers 405).
    """
    for path, handler in reads.items():
        router.add_get(path, handler)
        router.add_post(path, handler)
    for path, handler in actions.items():
        router.add_post(path, handler)
