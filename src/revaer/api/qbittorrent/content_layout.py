"""``contentLayout`` on ``torrents/add`` (and the older ``root_folder``): where a torrent's files go
under its save path, as qBittorrent lays them out.

- ``Original``: as the .torrent says (a multi-file torrent in a folder of its name);
- ``Subfolder``: always in a folder (a single file goes into a folder named after it, without
  its extension);
- ``NoSubfolder``: never (a multi-file torrent's files directly in the save path).

The layout is given to the engine as the files' paths when the torrent is added. A magnet has no
file list yet: its layout is kept with the torrent's record (``Extras.layout``) and applied by
renaming its files in the engine once the metadata arrives (``lay_out``), before any piece is
written. Both go through ``layout_paths``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from revaer import bencode
from revaer.api.qbittorrent.extras import TorrentExtras
from revaer.engine.errors import EngineError
from revaer.tasks import Spawned
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)

LAYOUTS = ("Original", "Subfolder", "NoSubfolder")


def layout_of(fields: dict[str, str]) -> str:
    """The layout an add asks for: ``contentLayout``, else ``root_folder=false`` as NoSubfolder."""
    layout = fields.get("contentLayout", "")
    if layout in LAYOUTS:
        return layout
    if fields.get("root_folder", "").lower() == "false":
        return "NoSubfolder"
    return "Original"


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


def layout_paths(paths: Sequence[str | None], single: bool, layout: str) -> tuple[tuple[int, str], ...]:
    """(file index, new path under the save path) of the files ``layout`` moves, from their paths
    as the torrent lays them out (``single``: one file, its path its name; None: a pad file, which
    keeps its place)."""
    if layout == "Subfolder" and single and paths and paths[0]:
        name = paths[0]
        stem = name.rsplit(".", 1)[0] if "." in name.strip(".") else name
        return ((0, f"{stem}/{name}"),)
    if layout != "NoSubfolder" or single:
        return ()
    return tuple((i, p.split("/", 1)[1]) for i, p in enumerate(paths) if p is not None and "/" in p)


def renamed_files(torrent: bytes, layout: str) -> tuple[tuple[int, str], ...]:
    """(file index, path under the save path) of the files ``layout`` moves in a .torrent; () for none."""
    if layout == "Original":
        return ()
    try:
        _, info, _ = bencode.decode_metainfo(torrent)
    except ValueError:
        return ()
    name = _text(info.get(b"name"))
    files = info.get(b"files")
    if not name:
        return ()
    if not isinstance(files, list):  # one file
        return layout_paths([name], True, layout) if isinstance(info.get(b"length"), int) else ()
    paths: list[str | None] = []
    for entry in files:
        parts = entry.get(b"path") if isinstance(entry, dict) else None
        pad = not isinstance(entry, dict) or b"p" in entry.get(b"attr", b"")
        ok = isinstance(parts, list) and parts and not pad
        paths.append("/".join([name, *(_text(p) for p in parts)]) if ok else None)  # type: ignore[union-attr]
    return layout_paths(paths, False, layout)


async def _rename(torrents: TorrentService, h: str, layout: str) -> None:
    files = await torrents.files(h)
    # libtorrent names pad files .pad/<size>; a one-file torrent's only path has no folder.
    paths = [None if f.path.startswith(".pad/") else f.path for f in files]
    single = len(files) == 1 and "/" not in files[0].path
    try:
        await torrents.rename_files(h, list(layout_paths(paths, single, layout)))
    except EngineError as e:  # removed meanwhile
        log.info("content layout not applied", extra={"info_hash": h, "error": str(e)})


def lay_out(torrents: TorrentService, extras: TorrentExtras, h: str, renames: Spawned) -> None:
    """The metadata of a magnet arrived: lay its files out as its add asked (once), in a task of
    ``renames`` (its owner's)."""
    rec = extras.get(h)
    if not rec.layout:
        return
    layout, rec.layout = rec.layout, ""
    renames.spawn(_rename(torrents, h, layout))
