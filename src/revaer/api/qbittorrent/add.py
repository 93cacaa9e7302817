"""``torrents/add``: magnets and http(s) links in ``urls``, .torrent files in multipart ``torrents``.

Answers as qBittorrent 4.x: ``Ok.`` when at least one torrent was added,
``Fails.`` when none was (nothing given, a bad link, a duplicate, a save path
outside the download roots); 415 ``Error: '<file>' is not a valid torrent
file.`` for an upload that is not a torrent. Unlike qBittorrent, every
uploaded file is checked before anything is added, so a 415 adds nothing; and
a link is fetched before answering (at most ``MAX_URLS`` links, each within
``FETCH_TIMEOUT`` seconds and the upload size limit), so ``Ok.`` means the
torrent is there. An http(s) link that redirects to a magnet is followed.
Option values that do not parse take qBittorrent's defaults, as it does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Sequence

import aiohttp
from aiohttp import hdrs, web
from yarl import URL

from revaer import bencode
from revaer.api.keys import API_OPTIONS, TORRENTS
from revaer.api.params import is_base32_info_hash, is_info_hash, parse_bool, parse_float, parse_int
from revaer.api.qbittorrent.actions import clamp_minutes, clamp_ratio
from revaer.api.qbittorrent.content_layout import layout_of, renamed_files
from revaer.api.qbittorrent.errors import QbError, text_response
from revaer.api.qbittorrent.extras import EXTRAS, USE_GLOBAL, Extras
from revaer.api.qbittorrent.preferences_write import PREFERENCES
from revaer.categories import CategoryError
from revaer.labels import split_tags, valid_category, valid_magnet, valid_name, valid_path, valid_tag
from revaer.paths import PathNotAllowedError
from revaer.registry import TorrentNotStored
from revaer.torrent_adds import AddItem
from revaer.torrents import AddOptions, TorrentService

log = logging.getLogger(__name__)

MAX_URLS = 100
FETCH_TIMEOUT = 30.0
MAX_REDIRECTS = 5

# ---- is it a torrent? ---------------------------------------------------------------------------


def is_torrent(data: bytes) -> bool:
    """A metainfo file with an info dictionary libtorrent can load (v1, v2 or hybrid)."""
    try:
        top = bencode.decode(data)
    except ValueError:
        return False
    if not isinstance(top, dict):
        return False
    info = top.get(b"info")
    if not isinstance(info, dict) or not isinstance(info.get(b"name"), bytes):
        return False
    piece_length = info.get(b"piece length")
    if not isinstance(piece_length, int) or not 0 < piece_length <= MAX_PIECE_LENGTH:
        return False
    if info.get(b"meta version") == 2:
        return isinstance(info.get(b"file tree"), dict)
    return _v1_ok(info, piece_length)


def _first_invalid(files: list[tuple[str, bytes]]) -> str | None:
    """The name of the first upload that is not a torrent, or None."""
    return next((name for name, data in files if not is_torrent(data)), None)


# libtorrent's own bounds (file_storage::max_file_size, max_num_pieces): a file past them is
# refused when it is loaded, so it is not a torrent here either.
MAX_FILE_SIZE = (1 << 48) - 1
MAX_PIECES = (1 << 30) - 1
MAX_PIECE_LENGTH = 1 << 29


def _v1_ok(info: dict[bytes, object], piece_length: int) -> bool:
    """A v1 info dictionary whose sizes and piece hashes agree, within libtorrent's bounds."""
    pieces = info.get(b"pieces")
    if not isinstance(pieces, bytes) or len(pieces) % 20:
        return False
    files = info.get(b"files")
    if isinstance(files, list):
        sizes = [f.get(b"length") if isinstance(f, dict) else None for f in files]
    else:
        sizes = [info.get(b"length")]
    if not sizes or not all(isinstance(n, int) and 0 <= n <= MAX_FILE_SIZE for n in sizes):
        return False
    total = sum(n for n in sizes if isinstance(n, int))
    count = -(-total // piece_length)
    return count <= MAX_PIECES and len(pieces) == 20 * count


# ---- links --------------------------------------------------------------------------------------


async def _fetch(http: aiohttp.ClientSession, url: str, limit: int) -> str | bytes | None:
    """The .torrent behind an http(s) link (bytes), a magnet it redirects to (str), or None."""
    for _ in range(MAX_REDIRECTS + 1):
        if not url.lower().startswith(("http://", "https://")):
            return url if url.startswith("magnet:") else None
        async with http.get(url, allow_redirects=False) as r:
            if r.status in (301, 302, 303, 307, 308) and "Location" in r.headers:
                url = str(r.url.join(URL(r.headers["Location"])))
                continue
            if r.status != 200:
                log.info("torrent link refused", extra={"url": url, "status": r.status})
                return None
            data = bytearray()
            async for chunk in r.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:
                    log.info("torrent link too large", extra={"url": url, "limit": limit})
                    return None
            return bytes(data)
    return None


async def _resolve(urls: Sequence[str], limit: int) -> list[tuple[str | None, bytes | None]]:
    """``(magnet, torrent bytes)`` for each link that yields one; the others are dropped."""
    out: list[tuple[str | None, bytes | None]] = []
    http: aiohttp.ClientSession | None = None
    try:
        for url in urls:
            if not valid_magnet(url):
                log.info("torrent link refused: not storable text", extra={"length": len(url)})
            elif url.startswith("magnet:"):
                out.append((url, None))
            elif is_info_hash(url) or is_base32_info_hash(url):  # a bare info-hash, as qBittorrent accepts
                out.append((f"magnet:?xt=urn:btih:{url}", None))
            elif url.lower().startswith(("http://", "https://")):
                if http is None:
                    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT))
                try:
                    got = await _fetch(http, url, limit)
                except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                    log.info("torrent link failed", extra={"url": url, "error": str(e)})
                    continue
                if isinstance(got, str):
                    out.append((got, None))
                elif got is not None and await asyncio.to_thread(is_torrent, got):
                    out.append((None, got))
    finally:
        if http is not None:
            await http.close()
    return out


# Links to torrents, resolved as torrents/add does (RSS rules add through it too).
resolve_links = _resolve


# ---- options ------------------------------------------------------------------------------------


def _check_text(f: dict[str, str]) -> None:
    """Refuse names, labels and paths that could not be stored (qBittorrent's texts where it has one).

    qBittorrent would drop an invalid category or tag and add the torrent anyway; refusing keeps a
    value PostgreSQL refuses (a NUL, a lone surrogate, an unbounded length) out of the registry.
    """
    category = f.get("category", "")
    if category and not valid_category(category):
        raise QbError(409, "Incorrect category name")
    if not all(valid_tag(t) for t in split_tags(f.get("tags", ""))):
        raise QbError(400, "Incorrect tag name")
    name = f.get("rename", "").strip()
    if name and not valid_name(name):
        raise QbError(409, "Incorrect torrent name")


def _options(
    torrents: TorrentService, f: dict[str, str], start_paused: bool
) -> tuple[AddOptions, Extras] | None:
    """Add options and the per-torrent record; None when the save path is refused."""
    _check_text(f)
    auto_tmm = parse_bool(f.get("autoTMM")) or False
    save_path: str | None = None
    raw = f.get("savepath", "").strip()
    if not valid_path(raw):
        log.warning("add refused: save path is not storable text", extra={"length": len(raw)})
        return None
    if raw and not auto_tmm:
        try:
            save_path = torrents.confine(raw)
        except PathNotAllowedError:
            log.warning("add refused: save path outside the roots", extra={"save_path": raw})
            return None
    stopped = parse_bool(f.get("stopped"))
    paused = parse_bool(f.get("paused")) if stopped is None else stopped
    up = parse_int(f.get("upLimit"), default=-1, strict=False)
    down = parse_int(f.get("dlLimit"), default=-1, strict=False)
    name = f.get("rename", "").strip()
    download_path = ""
    raw_download = f.get("downloadPath", "").strip()
    if raw_download and parse_bool(f.get("useDownloadPath")) is not False:
        try:
            download_path = torrents.confine(raw_download)
        except PathNotAllowedError:
            log.warning("add refused: download path outside the roots", extra={"download_path": raw_download})
            return None
    final = save_path or torrents.save_path_for(None, f.get("category", "")) if download_path else ""
    options = AddOptions(
        category=f.get("category", ""),
        tags=tuple(split_tags(f.get("tags", ""))),
        save_path=download_path or save_path,
        paused=start_paused if paused is None else paused,
        sequential=parse_bool(f.get("sequentialDownload")) or False,
        seed_mode=parse_bool(f.get("skip_checking")) or False,
        upload_limit=up if up > 0 else -1,
        download_limit=down if down > 0 else -1,
        name=name,
    )
    extras = Extras(
        first_last_piece_prio=parse_bool(f.get("firstLastPiecePrio")) or False,
        ratio_limit=clamp_ratio(parse_float(f.get("ratioLimit"), default=USE_GLOBAL, strict=False)),
        seeding_time_limit=clamp_minutes(
            parse_int(f.get("seedingTimeLimit"), default=USE_GLOBAL, strict=False)
        ),
        inactive_seeding_time_limit=clamp_minutes(
            parse_int(f.get("inactiveSeedingTimeLimit"), default=USE_GLOBAL, strict=False)
        ),
        auto_tmm=auto_tmm,
        name=name,
        download_path=download_path,
        save_path=final,
    )
    return options, extras


# ---- the handler --------------------------------------------------------------------------------


_DISPOSITION = re.compile(r';\s*(name|filename)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', re.IGNORECASE)


def _disposition(header: str) -> tuple[str, str | None]:
    """``name`` and ``filename`` of a form part (aiohttp's own parser is slow for many parts)."""
    name, filename = "", None
    for m in _DISPOSITION.finditer(header):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        if "\\" in value:
            value = re.sub(r"\\(.)", r"\1", value)
        if m.group(1).lower() == "name":
            name = value
        else:
            filename = value
    return name, filename


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def split_multipart(body: bytes, boundary: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart body: (lower-case headers, content).

    Found with ``bytes.find`` instead of aiohttp's streaming reader, which scans each part in small
    steps, and each content sliced out of the body once (200 .torrent files of an add are ~2 MB):
    an add of hundreds of .torrent files is several times faster this way. The body is already
    bounded by the upload limit, and a delimiter never occurs inside a part's content.
    """
    delimiter = b"--" + boundary
    parts: list[tuple[dict[str, str], bytes]] = []
    at = body.find(delimiter)
    while at >= 0:
        start = at + len(delimiter)
        if body.startswith(b"--", start):
            break  # the closing delimiter
        if body.startswith(b"\r\n", start):
            start += 2
        at = body.find(delimiter, start)
        end = len(body) if at < 0 else at
        head_end = body.find(b"\r\n\r\n", start, end)
        if head_end < 0:
            raise QbError(400, "Bad Request")
        if body.endswith(b"\r\n", head_end + 4, end):
            end -= 2
        headers: dict[str, str] = {}
        for line in body[start:head_end].split(b"\r\n"):
            key, colon, value = line.partition(b":")
            if colon:
                headers[key.strip().lower().decode("latin-1")] = value.strip().decode("utf-8", "replace")
        parts.append((headers, body[head_end + 4 : end]))
    return parts


async def _read_form(request: web.Request) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """Query and form fields, and the uploaded files (the body is bounded by the upload limit: 413)."""
    fields: dict[str, str] = dict(request.query)
    files: list[tuple[str, bytes]] = []
    if not request.can_read_body:
        return fields, files
    # The header read as it is: aiohttp's ``content_type`` parses it with the email package, which
    # cost a tenth of a one-file add's time.
    content_type = request.headers.get(hdrs.CONTENT_TYPE, "")
    if not content_type.lstrip().lower().startswith("multipart/"):
        form = await request.post()
        fields.update((k, v) for k, v in form.items() if isinstance(v, str))
        return fields, files
    m = _BOUNDARY.search(content_type)
    if m is None:
        raise QbError(400, "Bad Request")
    for headers, content in split_multipart(await request.read(), m.group(1).encode("latin-1")):
        name, filename = _disposition(headers.get("content-disposition", ""))
        kind = headers.get("content-type", "text/plain").split(";")[0].strip().lower()
        if filename is not None or kind not in ("text/plain", ""):
            files.append((filename or name, content))
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


async def add(request: web.Request) -> web.Response:
    torrents = request.config_dict[TORRENTS]
    fields, files = await _read_form(request)
    urls = [u.strip() for u in fields.get("urls", "").split("\n") if u.strip()]

    def check() -> None:
        # Every file is checked first, off the loop (decoding a .torrent of 2,000 files takes
        # ~8 ms): a 415 adds nothing, and comes before any other refusal.
        bad = _first_invalid(files)
        if bad is not None:
            raise QbError(415, f"Error: '{bad}' is not a valid torrent file.")

    try:
        planned = (
            None
            if len(urls) > MAX_URLS
            else _options(torrents, fields, request.app[PREFERENCES].start_paused)
        )
    except QbError:
        await asyncio.to_thread(check)
        raise
    if planned is None:
        await asyncio.to_thread(check)
        if len(urls) > MAX_URLS:
            log.info("add refused: too many links", extra={"count": len(urls), "max": MAX_URLS})
        return text_response("Fails.")
    options, extras = planned
    stored_extras = extras != Extras()
    layout = layout_of(fields)
    items: list[AddItem] = [(None, data, renamed_files(data, layout)) for _, data in files]
    if urls:
        await asyncio.to_thread(check)  # before any link is fetched
        resolved = await _resolve(urls, request.config_dict[API_OPTIONS].max_upload)
        items += [(m, b, renamed_files(b, layout) if b else ()) for m, b in resolved]
    try:
        # Each chunk's rows start committing while the next is added; "Ok." waits for them all.
        results = await torrents.add_many(
            items, options, check=None if urls else check, chunk_added=torrents.start_commit
        )
    except (PathNotAllowedError, CategoryError) as e:
        log.info("add failed", extra={"error": str(e)})
        return text_response("Fails.")
    added = [h for h in results if isinstance(h, str)]
    for (magnet, _, _), h in zip(items, results, strict=True):
        # firstLastPiecePrio reaches libtorrent once it has the torrent (extras_store.applier).
        # A magnet's layout waits for its file list (content_layout.lay_out).
        pending = layout if magnet is not None and layout != "Original" else ""
        # A torrent without a record has the defaults: no record, and no write of one before "Ok.".
        if isinstance(h, str) and (stored_extras or pending):
            request.app[EXTRAS].put(h, dataclasses.replace(extras, layout=pending))
    # "Ok." only once the rows are committed (concurrent adds share the commit).
    try:
        await torrents.commit(added)
    except TorrentNotStored as e:
        for h in e.refused:
            request.app[EXTRAS].drop(h)
        added = [h for h in added if h not in e.refused]
    return text_response("Ok." if added else "Fails.")
