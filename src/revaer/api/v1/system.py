"""Health, setup and configuration routes."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from typing import Any

from aiohttp import web

from revaer import __version__
from revaer.api.auth import refresh_bootstrapped, throttled
from revaer.api.errors import Problem, unprocessable
from revaer.api.keys import (
    API_OPTIONS,
    AUTH_STATE,
    CONFIG_STORE,
    DATABASE,
    LISTENING,
    LOOP_MONITOR,
    REGISTRY,
    RESTORE,
    SETUP,
    THROTTLE,
    TORRENTS,
)
from revaer.api.throttle import Throttled
from revaer.api.v1.body import check_fields, json_object, json_response
from revaer.config.model import ConfigValidationError
from revaer.config.redact import redact, restore
from revaer.config.setup import AlreadyBootstrapped, InvalidSetupToken
from revaer.config.store import ConfigStore, VersionConflict

routes = web.RouteTableDef()
"""This module's part of ``/v1`` (added by ``revaer.api.v1.build_v1``)."""


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    app = request.config_dict
    checks: dict[str, str] = {"engine": "closed" if app[TORRENTS].engine_closed else "ok"}
    status = 200
    db = app.get(DATABASE)
    if db is not None:
        try:
            # Bounded and detached: health answers within half a second even on a frozen server.
            await db.ping(0.5)
            checks["database"] = "ok"
        except Exception as e:
            checks["database"] = f"unreachable: {type(e.__cause__ or e).__name__}"
            status = 503
    else:
        checks["database"] = "none"
    registry = app.get(REGISTRY)
    refused = len(registry.refused) if registry is not None else 0
    # Rows the database refused are isolated (the others are written): degraded, yet serving.
    checks["registry"] = f"{refused} torrents not stored" if refused else "ok"
    body: dict[str, Any] = {
        "status": "ok" if status == 200 and not refused else "degraded",
        "setup": not app[AUTH_STATE].bootstrapped,
        "version": __version__,
        "uptime": round(time.monotonic() - app[API_OPTIONS].started_at, 3),
        "checks": checks,
        # The BitTorrent port actually open (0: none yet), which may not be the configured one.
        "listen_port": app[TORRENTS].stats().listen_port,
    }
    with contextlib.suppress(OSError):
        # Room left where downloads go (statvfs: no I/O on the data itself).
        usage = shutil.disk_usage(app[TORRENTS].download_root)
        body["disk"] = {"free": usage.free, "total": usage.total}
    restore = app.get(RESTORE)
    if restore is not None:  # a start re-adds the stored torrents while serving: how far it is
        body["restore"] = {"running": restore.running, "done": restore.done, "total": restore.total}
    monitor = app.get(LOOP_MONITOR)
    if monitor is not None:  # the event loop's worst stalls (telemetry.LoopMonitor)
        body["loop"] = monitor.report()
    return json_response(body, status)


_SETUP_FIELDS = {"setup_token": str, "admin_username": str, "admin_password": str}


@routes.post("/setup/apply")
async def setup_apply(request: web.Request) -> web.Response:
    state, setup = request.config_dict[AUTH_STATE], request.config_dict.get(SETUP)
    body = await json_object(request)
    check_fields(body, _SETUP_FIELDS, required=tuple(_SETUP_FIELDS), nullable=False)
    throttle = request.config_dict[THROTTLE]
    try:
        # Set up already: refused before any hash is computed. Else counted before the two scrypt
        # runs, and before the database is asked: a route bucket of its own, the address's failures.
        if setup is None or state.bootstrapped:
            raise AlreadyBootstrapped("the installation is already set up")
        throttle.setup.take()
        if await refresh_bootstrapped(state, setup):
            raise AlreadyBootstrapped("the installation is already set up")
        with await throttle.attempt(request.remote or "", slow=True) as attempt:
            try:
                result = await setup.apply(
                    body["setup_token"], body["admin_username"], body["admin_password"]
                )
            except InvalidSetupToken as e:
                attempt.ok(False)
                raise Problem(403, "invalid_setup_token", "Invalid setup token", str(e)) from None
            attempt.ok(True)
    except Throttled as e:
        raise throttled(e) from None
    except AlreadyBootstrapped as e:
        state.bootstrapped = True
        raise Problem(409, "already_set_up", "Already set up", str(e)) from None
    except ValueError as e:
        raise unprocessable(str(e)) from None
    state.bootstrapped = True
    return json_response({"api_key": result.api_key, "admin_username": result.admin_username}, 201)


def _etag(versions: dict[str, int]) -> str:
    digest = hashlib.sha1(repr(sorted(versions.items())).encode()).hexdigest()[:16]
    return f'"{digest}"'


def _store(request: web.Request) -> ConfigStore:
    store = request.config_dict.get(CONFIG_STORE)
    if store is None:
        raise Problem(503, "no_database", "Configuration unavailable", "this server runs without a database")
    return store


async def _current(store: ConfigStore) -> tuple[dict[str, Any], dict[str, int]]:
    current = await store.get_all()
    return {k: v.value for k, v in current.items()}, {k: v.version for k, v in current.items()}


def _restart_required(request: web.Request, values: dict[str, Any]) -> dict[str, Any]:
    """``{"restart_required": {key: why}}`` for stored settings this process cannot apply live."""
    listening = request.config_dict.get(LISTENING)
    bind = listening.bind if listening is not None else None
    if bind is None or values.get("server.bind") in (None, bind):
        return {}
    if listening is not None and listening.from_command_line:
        why = f"this server was started with --bind {bind}, which overrides it"
    else:
        why = f"applies after a restart (this server listens on {bind})"
    return {"restart_required": {"server.bind": why}}


@routes.get("/config")
async def config_get(request: web.Request) -> web.Response:
    values, versions = await _current(_store(request))
    return json_response(
        {"config": redact(values), "versions": versions, **_restart_required(request, values)},
        headers={"ETag": _etag(versions)},
    )


@routes.patch("/config")
async def config_patch(request: web.Request) -> web.Response:
    store = _store(request)
    changes = await json_object(request)
    if not changes:
        raise unprocessable("nothing to change: send an object of settings")
    current, versions = await _current(store)
    # A value sent back as it was shown (a redacted secret) is the current one: unchanged.
    changes = {k: restore(v, current.get(k), k) for k, v in changes.items()}
    expected: dict[str, int] | None = None
    if_match = request.headers.get("If-Match")
    if if_match is not None:
        if if_match.strip() not in (_etag(versions), "*"):
            raise Problem(
                412, "version_conflict", "Precondition failed", "the configuration changed since it was read"
            )
        expected = {k: versions.get(k, 0) for k in changes}
    try:
        # An object value merges into the stored one (RFC 7396): what it does not name stays.
        await store.patch(changes, expected_versions=expected, merge=True)
    except ConfigValidationError as e:
        raise unprocessable(str(e), field=e.key) from None
    except VersionConflict as e:
        raise Problem(412, "version_conflict", "Precondition failed", str(e)) from None
    except ValueError as e:
        raise unprocessable(str(e)) from None
    values, versions = await _current(store)
    return json_response(
        {"config": redact(values), "versions": versions, **_restart_required(request, values)},
        headers={"ETag": _etag(versions)},
    )
