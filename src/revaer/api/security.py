"""What every request and response of the server goes through, before any API: the ``Host`` check
and the security headers.

The ``Host`` check stops DNS rebinding: a page on ``attacker.example`` whose name was made to point
at 127.0.0.1 talks to the server with ``Host: attacker.example``, and would otherwise be taken for a
local client (the localhost bypass, a same-origin ``Origin``). As qBittorrent's host-header
validation does, a request is answered only when its ``Host`` names the server: an IP address
(the address bound, the one the client reached, or any address literal, which no rebinding can
produce), a loopback name (``localhost``, ``*.localhost``), a single-label name (a container's or a
LAN host's, resolved by local DNS, not by an attacker's), or a name listed in ``server.domains``
(wildcards as ``*.example.com``; ``"*"`` turns the check off). Anything else is refused before any
handler runs: 401 ``Unauthorized`` on ``/api/v2`` (qBittorrent's answer), problem+json 400
``invalid_host`` elsewhere.

The headers (qBittorrent's WebUI set, Content-Security-Policy included) are added to every
response, streams and error pages too, through the root app's ``on_response_prepare`` signal.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from revaer.api.errors import Problem
from revaer.api.keys import CONFIG
from revaer.api.qbittorrent.errors import text_response

log = logging.getLogger(__name__)

# qBittorrent's WebUI policy: only the server's own scripts, styles and images (inline ones for
# the pages it serves), no plugins, forms posting only to itself, no framing by other sites.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "script-src 'self' 'unsafe-inline'; object-src 'none'; form-action 'self'; "
    "frame-ancestors 'self'; base-uri 'self'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "X-XSS-Protection": "1; mode=block",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the security headers on every response (a handler's own win)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_allowed(host: str, domains: Iterable[str]) -> bool:
    """Whether a request's ``Host`` value names this server (see the module's docstring)."""
    return _host_allowed(host, tuple(domains))


@functools.lru_cache(maxsize=256)
def _host_allowed(host: str, domains: tuple[str, ...]) -> bool:
    # Every request asks, clients send one or two Host values: parsing them each time was a tenth
    # of a small request's time.
    try:
        name = urlsplit("//" + host).hostname
    except ValueError:
        return False
    if not name:
        return False
    name = name.rstrip(".")
    if _is_ip(name) or name == "localhost" or name.endswith(".localhost") or "." not in name:
        return True
    return any(d == "*" or fnmatch.fnmatchcase(name, d.lower()) for d in domains)


@web.middleware
async def host_check(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse a request whose ``Host`` does not name the server, before any handler."""
    host = request.headers.get("Host")
    if host is not None:
        listener = request.config_dict.get(CONFIG)
        domains = listener.config.server_domains if listener is not None else ()
        if not host_allowed(host, domains):
            log.warning("request refused: unknown Host", extra={"host": host[:200], "path": request.path})
            if request.path.startswith("/api/v2/") or request.path == "/api/v2":
                return text_response("Unauthorized", 401)
            return Problem(
                400,
                "invalid_host",
                "Invalid Host header",
                "the Host header does not name this server (add the name to server.domains)",
            ).response()
    resp: web.StreamResponse = await handler(request)
    return resp
