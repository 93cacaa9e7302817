"""``auth/login`` and ``auth/logout``, and the middleware that guards every other endpoint.

In order: a mismatched ``Origin``/``Referer`` is 401 ``Unauthorized``; then a
session from the ``SID`` cookie, a Revaer API key as ``Authorization: Bearer``
(as qBittorrent 5.2 accepts), or the localhost bypass when it is enabled;
without one, 403 ``Forbidden`` (unknown endpoints included, as qBittorrent
answers before routing). Sonarr's ``Authorization: Basic`` header is ignored.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from revaer.api.auth import key_ok
from revaer.api.keys import API_OPTIONS, AUTH_STATE, CONFIG, SETUP
from revaer.api.params import ParamError
from revaer.api.qbittorrent.errors import FORBIDDEN, QbError, text_response
from revaer.api.qbittorrent.keys import SESSION, SESSIONS
from revaer.api.qbittorrent.session import BANNED_TEXT, WebSession
from revaer.config.model import Config
from revaer.db.pool import is_unavailable

log = logging.getLogger(__name__)

LOGIN_PATH = "/api/v2/auth/login"


def session_of(request: web.Request) -> WebSession:
    return request[SESSION]


def _client_ip(request: web.Request) -> str:
    return request.remote or ""


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _csrf_ok(request: web.Request) -> bool:
    host = request.headers.get("Host", "")
    for header in ("Origin", "Referer"):
        value = request.headers.get(header)
        if value:
            netloc = urlsplit(value).netloc
            if netloc.lower() != host.lower():
                return False
    return True


def _enabled(request: web.Request, config: Config) -> bool:
    """The façade's switch for the address the server listens on (``--bind``, else ``server.bind``)."""
    options = request.config_dict.get(API_OPTIONS)
    bind = options.bind if options is not None and options.bind is not None else config.bind
    return config.qbittorrent_enabled_on(bind)


@web.middleware
async def qb_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        listener = request.config_dict.get(CONFIG)
        if listener is not None and not _enabled(request, listener.config):
            raise QbError(404, "Not Found")  # compat.qbittorrent.enabled, read live
        if not _csrf_ok(request):
            raise QbError(401, "Unauthorized")
        if request.path != LOGIN_PATH:
            session = await _authenticate(request)
            if session is None:
                raise FORBIDDEN
            request[SESSION] = session
        resp: web.StreamResponse = await handler(request)
        return resp
    except QbError as e:
        return e.response()
    except ParamError:
        return text_response("Bad Request", 400)
    except web.HTTPMethodNotAllowed:
        return text_response("Method Not Allowed", 405)
    except web.HTTPNotFound:
        return text_response("Not Found", 404)
    except web.HTTPRequestEntityTooLarge:
        return text_response("Payload Too Large", 413)
    except web.HTTPException:
        raise
    except Exception as e:
        if is_unavailable(e):
            log.warning("database unavailable", extra={"path": request.path, "error": str(e)})
            return text_response("Service Unavailable", 503)
        log.exception("unhandled error", extra={"path": request.path})
        return text_response("Internal Server Error", 500)


async def _authenticate(request: web.Request) -> WebSession | None:
    sessions = request.app[SESSIONS]
    s = sessions.get(request.cookies.get("SID"))
    if s is not None:
        return s
    app = request.config_dict
    auth = request.headers.get("Authorization", "")
    scheme, _, key = auth.partition(" ")
    if (
        scheme.lower() == "bearer"
        and key.strip()
        and await key_ok(app[AUTH_STATE], app.get(SETUP), key.strip())
    ):
        return sessions.keyed("key:" + key.strip())
    listener = app.get(CONFIG)
    if (
        listener is not None
        and listener.config.qbittorrent.bypass_localhost
        and _is_loopback(_client_ip(request))
    ):
        return sessions.keyed("localhost")
    return None


async def login(request: web.Request) -> web.Response:
    sessions = request.app[SESSIONS]
    setup = request.config_dict.get(SETUP)
    if sessions.get(request.cookies.get("SID")) is not None:
        return text_response("Ok.")  # already logged in: qBittorrent does not look at the credentials
    ip = _client_ip(request)
    if sessions.banned(ip):
        return text_response(BANNED_TEXT, 403)
    form = await request.post()
    username = str(form.get("username", ""))
    password = str(form.get("password", ""))
    ok = bool(username) and setup is not None and await setup.verify_admin(username, password)
    if not ok:
        sessions.failed(ip)
        log.warning("webui login failed", extra={"ip": ip})
        return text_response("Fails.")
    sessions.succeeded(ip)
    s = sessions.create()
    resp = text_response("Ok.")
    resp.set_cookie("SID", s.sid, httponly=True, path="/", samesite="Strict")
    return resp


async def logout(request: web.Request) -> web.Response:
    sessions = request.app[SESSIONS]
    sid = request.cookies.get("SID")
    if sid:
        sessions.end(sid)
    resp = text_response("")
    resp.del_cookie("SID", path="/")
    return resp
