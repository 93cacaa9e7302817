"""``/v1`` access: the setup gate, bearer API keys, CORS."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from revaer.api.errors import Problem
from revaer.api.keys import AUTH_STATE, CONFIG, SETUP, THROTTLE, AuthState
from revaer.api.throttle import Banned, CredentialThrottle, Throttled
from revaer.db.pool import bounded

if TYPE_CHECKING:
    from revaer.config.setup import Setup

# Routes answered without a key: health for probes; setup/apply is how the key is obtained.
PUBLIC = {"/v1/health", "/v1/setup/apply", "/v1/openapi.json"}
KEY_CACHE_SECONDS = 30.0


async def refresh_bootstrapped(state: AuthState, setup: Setup | None) -> bool:
    """Whether the installation is set up (asked of the database until it is, then remembered)."""
    if not state.bootstrapped and setup is not None:
        if state.asking is None or state.asking.done():
            state.asking = asyncio.ensure_future(bounded(setup.is_bootstrapped()))
        # Shielded: one caller going away does not cancel the answer the others wait for.
        state.bootstrapped = await asyncio.shield(state.asking)
    return state.bootstrapped


async def key_ok(
    state: AuthState, setup: Setup | None, key: str, throttle: CredentialThrottle, address: str
) -> bool:
    """Whether ``key`` is a valid API key (verified ones are remembered for a while).

    Counted by ``throttle`` for ``address`` before it is looked at: a banned address is refused
    (``Banned``) whatever it sends, and a wrong key is a failure.
    """
    throttle.check_banned(address)
    digest = hashlib.sha256(key.encode()).hexdigest()
    now = time.monotonic()
    cache = state.key_cache
    until = cache.get(digest)
    if until is not None and until > now:
        return True
    with await throttle.attempt(address) as attempt:
        # Bounded: while the database is away this raises DatabaseUnavailable (503), it does not hang.
        if not attempt.ok(setup is not None and await bounded(setup.verify_api_key(key))):
            cache.pop(digest, None)
            return False
    if len(cache) > 1024:
        cache.clear()
    cache[digest] = now + KEY_CACHE_SECONDS
    return True


def throttled(e: Throttled) -> Problem:
    """The problem for a check refused before it ran: 403 while banned, else 429."""
    headers = {"Retry-After": str(e.retry_after)}
    if isinstance(e, Banned):
        return Problem(403, "banned", "Too many failed attempts", str(e), headers=headers)
    return Problem(429, "too_many_requests", "Too many requests", str(e), headers=headers)


@web.middleware
async def v1_access(request: web.Request, handler: Any) -> web.StreamResponse:
    state, setup = request.config_dict[AUTH_STATE], request.config_dict.get(SETUP)
    path = request.path
    mutating = request.method not in ("GET", "HEAD", "OPTIONS")
    bootstrapped = await refresh_bootstrapped(state, setup)
    if not bootstrapped:
        if mutating and path != "/v1/setup/apply":
            raise Problem(
                409,
                "setup_required",
                "Setup required",
                "this installation is not set up yet: POST /v1/setup/apply with the setup token",
            )
    elif path not in PUBLIC and request.method != "OPTIONS":
        auth = request.headers.get("Authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Problem(
                401,
                "unauthorized",
                "Unauthorized",
                "send the API key as 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": 'Bearer realm="revaer"'},
            )
        try:
            valid = await key_ok(
                state, setup, key.strip(), request.config_dict[THROTTLE], request.remote or ""
            )
        except Throttled as e:
            raise throttled(e) from None
        if not valid:
            raise Problem(403, "forbidden", "Forbidden", "the API key is not valid")
    resp: web.StreamResponse = await handler(request)
    return resp


@web.middleware
async def cors(request: web.Request, handler: Any) -> web.StreamResponse:
    """CORS for the origins listed in ``api.cors_origins`` (none by default; read live)."""
    listener = request.config_dict.get(CONFIG)
    allowed = listener.config.cors_origins if listener is not None else ()
    origin = request.headers.get("Origin")
    ok = origin is not None and (origin in allowed or "*" in allowed)
    if request.method == "OPTIONS" and ok and "Access-Control-Request-Method" in request.headers:
        resp: web.StreamResponse = web.Response(status=204)
    else:
        resp = await handler(request)
    if ok and origin is not None:
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Vary"] = "Origin"
        resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, If-Match, Last-Event-ID"
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, OPTIONS"
        resp.headers["Access-Control-Expose-Headers"] = "ETag"
    return resp
