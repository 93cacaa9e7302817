"""``rss/*``: feeds and folders, articles and read marks, auto-download rules (``revaer.rss``).

As qBittorrent 4.6.7 (WebAPI 2.9.3): a missing parameter is 400; a refused tree change is 409
with qBittorrent's words (``Item doesn't exist: x.``); a refresh or a read mark of an unknown item
changes nothing and answers 200. Objects come in key order (folders list their items by name), as
qBittorrent's JSON objects do. Where qBittorrent would store a rule whose ``ruleDef`` is not a
JSON object (as an empty rule), Revaer answers 400 and stores nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import orjson
from aiohttp import web

from revaer.api.keys import RSS
from revaer.api.params import parse_bool
from revaer.api.qbittorrent.errors import QbError, bad_request, text_response
from revaer.api.qbittorrent.reading import json_response, params
from revaer.rss import RssError, RssService, Rule


def _service(request: web.Request) -> RssService:
    service = request.config_dict.get(RSS)
    if service is None:
        raise QbError(409, "RSS is not available")
    return service


async def _required(request: web.Request, *names: str) -> tuple[Mapping[str, str], list[str]]:
    p = await params(request)
    values = [p.get(n) for n in names]
    if any(v is None for v in values):
        raise bad_request()
    return p, [v.strip() for v in values if v is not None]


def _ok() -> web.Response:
    return text_response("")


async def _change(
    request: web.Request, names: tuple[str, ...], apply: Callable[[RssService, list[str]], Awaitable[None]]
) -> web.Response:
    """A tree change: 400 without its parameters, 409 with qBittorrent's words when refused."""
    _, values = await _required(request, *names)
    try:
        await apply(_service(request), values)
    except RssError as e:
        raise QbError(409, str(e)) from None
    return _ok()


async def add_folder(request: web.Request) -> web.Response:
    return await _change(request, ("path",), lambda s, v: s.add_folder(v[0]))


async def add_feed(request: web.Request) -> web.Response:
    # Without a path the feed is named by its URL (then by its title, once fetched).
    return await _change(request, ("url", "path"), lambda s, v: s.add_feed(v[0], v[1] or v[0]))


async def set_feed_url(request: web.Request) -> web.Response:
    return await _change(request, ("path", "url"), lambda s, v: s.set_feed_url(v[0], v[1]))


async def remove_item(request: web.Request) -> web.Response:
    return await _change(request, ("path",), lambda s, v: s.remove(v[0]))


async def move_item(request: web.Request) -> web.Response:
    return await _change(request, ("itemPath", "destPath"), lambda s, v: s.move(v[0], v[1]))


async def items(request: web.Request) -> web.Response:
    p = await params(request)
    tree = _service(request).tree(with_data=parse_bool(p.get("withData")) is True)
    return json_response(tree, sort_keys=True)


async def mark_as_read(request: web.Request) -> web.Response:
    p, (path,) = await _required(request, "itemPath")
    await _service(request).mark_read(path, p.get("articleId"))
    return _ok()


async def refresh_item(request: web.Request) -> web.Response:
    _, (path,) = await _required(request, "itemPath")
    _service(request).refresh(path)
    return _ok()


async def set_rule(request: web.Request) -> web.Response:
    _, (name, definition) = await _required(request, "ruleName", "ruleDef")
    try:
        obj = orjson.loads(definition)
    except orjson.JSONDecodeError:
        obj = None
    if not name or not isinstance(obj, dict):
        raise bad_request()
    await _service(request).set_rule(Rule.from_json(name, obj))
    return _ok()


async def rename_rule(request: web.Request) -> web.Response:
    _, (old, new) = await _required(request, "ruleName", "newRuleName")
    await _service(request).rename_rule(old, new)
    return _ok()


async def remove_rule(request: web.Request) -> web.Response:
    _, (name,) = await _required(request, "ruleName")
    await _service(request).remove_rule(name)
    return _ok()


async def rules(request: web.Request) -> web.Response:
    rules = {name: r.to_json() for name, r in _service(request).rules.items()}
    return json_response(rules, sort_keys=True)


async def matching_articles(request: web.Request) -> web.Response:
    _, (name,) = await _required(request, "ruleName")
    return json_response(_service(request).matching(name), sort_keys=True)
