"""The status page at ``/``: one HTML file and its script (``revaer/web/``), no build step.

The page itself holds nothing secret and needs no key; everything it shows comes from ``/v1`` with
the API key the user gives it (kept in the tab's session storage).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB = Path(__file__).resolve().parent.parent / "web"
_FILES = {"/": ("index.html", "text/html"), "/status.js": ("status.js", "text/javascript")}


async def _serve(request: web.Request) -> web.StreamResponse:
    name, content_type = _FILES[request.path]
    return web.FileResponse(
        WEB / name, headers={"Content-Type": f"{content_type}; charset=utf-8", "Cache-Control": "no-cache"}
    )


def add_status_page(app: web.Application) -> None:
    """Serve the page and its script from the root app."""
    for path in _FILES:
        app.router.add_get(path, _serve)
