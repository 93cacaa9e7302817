"""Errors in each API's dialect: ``application/problem+json`` for ``/v1``.

A request parameter that does not parse (``ParamError``) is a 422 naming the field, except an
info-hash in the path, which is a 400 ``invalid_hash`` (the URL itself is wrong).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from revaer.api.params import InvalidInfoHashError, ParamError
from revaer.categories import CategoryError
from revaer.db.pool import is_unavailable
from revaer.engine.errors import (
    DuplicateTorrentError,
    EngineClosedError,
    InvalidSettingError,
    InvalidTorrentError,
    TorrentNotFoundError,
)
from revaer.paths import PathNotAllowedError

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"


class Problem(Exception):
    """An error answered as RFC 9457 problem details."""

    def __init__(
        self,
        status: int,
        type_: str,
        title: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.headers = headers
        self.status = status
        self.type = type_
        self.title = title
        self.detail = detail or title
        self.extra = extra

    def response(self) -> web.Response:
        body = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": _encodable(self.detail),
            **{k: _encodable(v) if isinstance(v, str) else v for k, v in self.extra.items()},
        }
        return web.Response(
            status=self.status, body=orjson.dumps(body), content_type=PROBLEM, headers=self.headers
        )


def _encodable(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate (a client's undecodable byte quoted back) escaped."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


def bad_request(detail: str, **extra: Any) -> Problem:
    return Problem(400, "bad_request", "Bad request", detail, **extra)


def unprocessable(detail: str, type_: str = "validation_error", **extra: Any) -> Problem:
    return Problem(422, type_, "Unprocessable entity", detail, **extra)


_HTTP_TYPES = {
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


def problem_for(exc: BaseException) -> Problem | None:
    """The problem for a domain exception, or None when it is not one of ours."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, InvalidInfoHashError):
        return Problem(400, "invalid_hash", "Invalid info-hash", str(exc))
    if isinstance(exc, ParamError):
        return unprocessable(str(exc), **({"field": exc.field} if exc.field is not None else {}))
    if isinstance(exc, TorrentNotFoundError):
        return Problem(404, "torrent_not_found", "Torrent not found", str(exc))
    if isinstance(exc, DuplicateTorrentError):
        return Problem(409, "duplicate_torrent", "Torrent already exists", str(exc))
    if isinstance(exc, InvalidTorrentError):
        return unprocessable(str(exc), "invalid_torrent")
    if isinstance(exc, InvalidSettingError):
        return unprocessable(str(exc), "invalid_setting")
    if isinstance(exc, CategoryError):
        return unprocessable(str(exc), "invalid_label")
    if isinstance(exc, PathNotAllowedError):
        return unprocessable(str(exc), "path_not_allowed")
    if isinstance(exc, EngineClosedError):
        return Problem(503, "engine_unavailable", "Engine unavailable", str(exc))
    if is_unavailable(exc):
        log.warning("database unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
        return no_database(str(exc) or type(exc).__name__)
    return None


def no_database(detail: str) -> Problem:
    """The database is away (restarting, stopped, unreachable): try again shortly."""
    return Problem(
        503,
        "no_database",
        "Database unavailable",
        f"the database is unavailable; try again shortly ({detail})",
        headers={"Retry-After": "1"},
    )


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        resp: web.StreamResponse = await handler(request)
        return resp
    except web.HTTPException as e:
        if e.status < 400:
            raise
        type_, title = _HTTP_TYPES.get(e.status, ("http_error", e.reason))
        headers = {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None
        return Problem(e.status, type_, title, e.text or e.reason, headers=headers).response()
    except Exception as e:
        p = problem_for(e)
        if p is not None:
            return p.response()
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return Problem(
            500, "internal_error", "Internal server error", "the server failed; see its log"
        ).response()
