"""Categories and tags: ``torrents/categories`` ... ``removeTags``, over the rows ``/v1`` uses too.

A category's save path is confined to the download roots (a relative one is
taken under the download root, as qBittorrent takes it under its default save
path); one outside them is refused with qBittorrent's 409 text for a failed
create or edit, and nothing is written.
"""

from __future__ import annotations

from aiohttp import web

from revaer.api.keys import TORRENTS
from revaer.api.qbittorrent.actions import OK, json_response, params, require, targets
from revaer.api.qbittorrent.errors import QbError, bad_request, text_response
from revaer.categories import Category, CategoryError
from revaer.labels import normalize_tags, split_tags, valid_category, valid_path, valid_tag
from revaer.paths import PathNotAllowedError
from revaer.torrents import TorrentService


def _save_path(torrents: TorrentService, raw: str) -> str | None:
    """The category save path to store ("" for none), or None when it is refused."""
    path = raw.strip()
    if not path:
        return ""
    if not valid_path(path):
        return None
    try:
        return torrents.confine(path, relative=True)
    except PathNotAllowedError:
        return None


def _tags(text: str) -> tuple[str, ...]:
    """The tags of a comma-separated list; 400 when one is invalid.

    qBittorrent skips an invalid tag; once split and stripped, the only ones left invalid hold
    control characters or lone surrogates or are too long, which no client means to send, and
    refusing them says so instead of answering as if they were stored.
    """
    tags = normalize_tags(split_tags(text))
    if not all(valid_tag(t) for t in tags):
        raise QbError(400, "Incorrect tag name")
    return tags


def _download_path(torrents: TorrentService, p: dict[str, str], refused: QbError) -> str | None:
    """A category's download path from ``downloadPath``/``downloadPathEnabled``: None when neither
    is given, "" when turned off; ``refused`` outside the roots."""
    enabled = p.get("downloadPathEnabled", "").strip().lower()
    path = p.get("downloadPath", "").strip()
    if enabled == "false":
        return ""
    if not path:
        return None
    confined = _save_path(torrents, path)
    if confined is None:
        raise refused
    return confined


def _category_json(name: str, cat: Category) -> dict[str, object]:
    out: dict[str, object] = {"name": name, "savePath": cat.save_path}
    if cat.download_path is not None:
        out["download_path"] = cat.download_path or False  # qBittorrent: false when turned off
    return out


async def categories(request: web.Request) -> web.Response:
    cats = request.config_dict[TORRENTS].categories.categories
    return json_response({name: _category_json(name, cats[name]) for name in sorted(cats)})


async def _store_category(request: web.Request, *, create: bool) -> web.Response:
    """``createCategory`` (a new name) or ``editCategory`` (a known one's save path)."""
    p = await params(request)
    require(p, "category", *(() if create else ("savePath",)))
    name = p["category"]
    if not name:
        raise bad_request("Category cannot be empty")
    if create and not valid_category(name):
        raise QbError(409, "Incorrect category name")
    torrents = request.config_dict[TORRENTS]
    store = torrents.categories
    save_path = _save_path(torrents, p.get("savePath", ""))
    refused = QbError(409, f"Unable to {'create' if create else 'edit'} category")
    if save_path is None or (name in store.categories) == create:
        raise refused
    download_path = _download_path(torrents, p, refused)
    try:
        await (store.create_category if create else store.edit_category)(name, save_path, download_path)
    except CategoryError:
        raise refused from None
    return text_response(OK)


async def create_category(request: web.Request) -> web.Response:
    return await _store_category(request, create=True)


async def edit_category(request: web.Request) -> web.Response:
    return await _store_category(request, create=False)


async def remove_categories(request: web.Request) -> web.Response:
    p = await params(request)
    require(p, "categories")
    names = [n for n in p["categories"].split("\n") if n]
    await request.config_dict[TORRENTS].remove_categories(names)
    return text_response(OK)


async def set_category(request: web.Request) -> web.Response:
    torrents = request.config_dict[TORRENTS]
    p = await params(request)
    require(p, "hashes", "category")
    category = p["category"]
    hashes = targets(torrents, p["hashes"])
    if hashes and category and category not in torrents.categories.categories:
        raise QbError(409, "Incorrect category name")
    for h in hashes:
        torrents.set_labels(h, category=category)
    await torrents.commit()  # label changes reach the database through the registry's batch
    return text_response(OK)


async def tags(request: web.Request) -> web.Response:
    return json_response(sorted(request.config_dict[TORRENTS].categories.tags))


async def create_tags(request: web.Request) -> web.Response:
    p = await params(request)
    require(p, "tags")
    await request.config_dict[TORRENTS].categories.create_tags(_tags(p["tags"]))
    return text_response(OK)


async def delete_tags(request: web.Request) -> web.Response:
    p = await params(request)
    require(p, "tags")
    torrents = request.config_dict[TORRENTS]
    await torrents.delete_tags(split_tags(p["tags"]))
    await torrents.commit()
    return text_response(OK)


async def add_tags(request: web.Request) -> web.Response:
    torrents = request.config_dict[TORRENTS]
    p = await params(request)
    require(p, "hashes", "tags")
    new = _tags(p["tags"])
    if new:
        for h in targets(torrents, p["hashes"]):
            cur = torrents.labels_of(h).tags
            torrents.set_labels(h, tags=[*cur, *(t for t in new if t not in cur)])
        await torrents.commit()
    return text_response(OK)


async def remove_tags(request: web.Request) -> web.Response:
    torrents = request.config_dict[TORRENTS]
    p = await params(request)
    require(p, "hashes")
    gone = set(split_tags(p.get("tags", "")))
    for h in targets(torrents, p["hashes"]):
        cur = torrents.labels_of(h).tags
        torrents.set_labels(h, tags=[t for t in cur if t not in gone] if gone else [])
    await torrents.commit()
    return text_response(OK)
