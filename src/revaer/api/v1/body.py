"""Reading and checking JSON bodies: unknown fields and wrong types are 422s naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from revaer.api.errors import Problem, bad_request, unprocessable

_NAMES = {str: "a string", bool: "a boolean", int: "an integer", list: "a list", dict: "an object"}


async def json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise Problem(415, "unsupported_media_type", "Unsupported media type", "send application/json")
    raw = await request.read()
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise bad_request(f"malformed JSON: {e}") from None
    if not isinstance(value, dict):
        raise unprocessable("the body must be a JSON object")
    return value


def check_fields(
    body: Mapping[str, Any],
    fields: Mapping[str, type],
    required: tuple[str, ...] = (),
    *,
    nullable: bool = True,
) -> None:
    """422 naming the field for an unknown field, a missing required one, or a value of the wrong
    type; null passes for an optional field unless ``nullable`` is False, never for a required one."""
    for k in body:
        if k not in fields:
            raise unprocessable(f"unknown field '{k}' (known: {', '.join(fields)})", field=k)
    for k in required:
        if k not in body:
            raise unprocessable(f"field '{k}' is required", field=k)
    for k, t in fields.items():
        if k in body and body[k] is None and (k in required or not nullable):
            raise unprocessable(f"field '{k}' must be {_NAMES[t]}, not null", field=k)
        if k in body and body[k] is not None:
            v = body[k]
            ok = isinstance(v, t) and not (t is int and isinstance(v, bool))
            if ok and t is list:
                ok = all(isinstance(x, str) for x in v)
            if not ok:
                raise unprocessable(
                    f"field '{k}' must be {_NAMES[t]}{' of strings' if t is list else ''}", field=k
                )


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )
