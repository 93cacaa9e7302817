"""Categories and tags: ``torrents/categories`` ... ``removeTags``, over the rows ``/v1`` uses too.

A category's save path is confined to the download roots (a relative one is
taken under the download root, as qBittorrent takes it under its default save
path); one outside them is refused with qBittorrent's 409 text for a failed
create or edit, and nothing is written.
"""

from __future__ import annotations

import os

from aiohttp import web

from revaer.api.keys import SERVICES, Services
from revaer.api.qbittorrent.actions import OK, json_response, params, require, targets
from revaer.api.qbittorrent.errors import QbError, bad_request, text_response
from revaer.categories import CategoryError, valid_category, valid_tag
from revaer.torrents import PathNotAllowedError, confine


def _save_path(s: Services, raw: str) -> str | None:
    """The category save path to store ("" for none), or None when it is refused."""
    path = raw.strip()
    if not path:
        return ""
    if not os.path.isabs(path):
        path = os.path.join(s.torrents.download_root, path)
    try:
        return confine(path, s.torrents.roots)
    except PathNotAllowedError:
        return None


def _tags(text: str) -> list[str]:
    """The valid tags of a comma-separated list (qBittorrent skips the invalid ones)."""
    out: list[str] = []
    for t in text.split(","):
        t = t.strip()
        if valid_tag(t) and t not in out:
            out.append(t)
    return out


async def categories(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    cats = s.torrents.categories.categories
    return json_response({name: {"name": name, "savePath": cats[name].save_path} for name in sorted(cats)})


async def create_category(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "category")
    name = p["category"]
    if not name:
        raise bad_request("Category cannot be empty")
    if not valid_category(name):
        raise QbError(409, "Incorrect category name")
    save_path = _save_path(s, p.get("savePath", ""))
    if save_path is None or name in s.torrents.categories.categories:
        raise QbError(409, "Unable to create category")
    try:
        await s.torrents.categories.create_category(name, save_path)
    except CategoryError:
        raise QbError(409, "Unable to create category") from None
    return text_response(OK)


async def edit_category(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "category", "savePath")
    name = p["category"]
    if not name:
        raise bad_request("Category cannot be empty")
    save_path = _save_path(s, p["savePath"])
    if save_path is None or name not in s.torrents.categories.categories:
        raise QbError(409, "Unable to edit category")
    try:
        await s.torrents.categories.edit_category(name, save_path)
    except CategoryError:
        raise QbError(409, "Unable to edit category") from None
    return text_response(OK)


async def remove_categories(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "categories")
    names = [n for n in p["categories"].split("\n") if n]
    await s.torrents.remove_categories(names)
    return text_response(OK)


async def set_category(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes", "category")
    category = p["category"]
    hashes = targets(s, p["hashes"])
    if hashes and category and category not in s.torrents.categories.categories:
        raise QbError(409, "Incorrect category name")
    for h in hashes:
        s.torrents.set_labels(h, category=category)
    return text_response(OK)


async def tags(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    return json_response(sorted(s.torrents.categories.tags))


async def create_tags(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "tags")
    await s.torrents.categories.create_tags(_tags(p["tags"]))
    return text_response(OK)


async def delete_tags(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "tags")
    await s.torrents.delete_tags([t.strip() for t in p["tags"].split(",") if t.strip()])
    return text_response(OK)


async def add_tags(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes", "tags")
    new = _tags(p["tags"])
    if new:
        for h in targets(s, p["hashes"]):
            cur = s.torrents.labels_of(h).tags
            s.torrents.set_labels(h, tags=[*cur, *(t for t in new if t not in cur)])
    return text_response(OK)


async def remove_tags(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes")
    gone = {t.strip() for t in p.get("tags", "").split(",") if t.strip()}
    for h in targets(s, p["hashes"]):
        cur = s.torrents.labels_of(h).tags
        s.torrents.set_labels(h, tags=[t for t in cur if t not in gone] if gone else [])
    return text_response(OK)


def register(router: web.UrlDispatcher) -> None:
    from revaer.api.qbittorrent import action, read

    read(router, "/torrents/categories", categories)
    read(router, "/torrents/tags", tags)
    for path, handler in (
        ("createCategory", create_category),
        ("editCategory", edit_category),
        ("removeCategories", remove_categories),
        ("setCategory", set_category),
        ("createTags", create_tags),
        ("deleteTags", delete_tags),
        ("addTags", add_tags),
        ("removeTags", remove_tags),
    ):
        action(router, f"/torrents/{path}", handler)
