"""``contentLayout`` on ``torrents/add`` (and the older ``root_folder``): where a torrent's files go
under its save path, as qBittorrent lays them out.

- ``Original``: as the .torrent says (a multi-file torrent in a folder of its name);
- ``Subfolder``: always in a folder (a single file goes into a folder named after it, without
  its extension);
- ``NoSubfolder``: never (a multi-file torrent's files directly in the save path).

The layout is given to the engine as the files' paths when the torrent is added; a magnet has no
file list yet, so it keeps the original layout.
"""

from __future__ import annotations

from revaer import bencode

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


def renamed_files(torrent: bytes, layout: str) -> tuple[tuple[int, str], ...]:
    """(file index, path under the save path) of the files ``layout`` moves; () for none."""
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
        if layout != "Subfolder" or not isinstance(info.get(b"length"), int):
            return ()
        stem = name.rsplit(".", 1)[0] if "." in name.strip(".") else name
        return ((0, f"{stem}/{name}"),)
    if layout != "NoSubfolder":
        return ()
    out = []
    for index, entry in enumerate(files):
        if not isinstance(entry, dict) or b"p" in entry.get(b"attr", b""):
            continue  # a pad file keeps its place
        parts = entry.get(b"path")
        if isinstance(parts, list) and parts:
            out.append((index, "/".join(_text(p) for p in parts)))
    return tuple(out)
