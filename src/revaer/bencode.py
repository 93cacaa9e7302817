"""Bencode decoding: the one decoder the shell uses (checking an upload, the FakeEngine reading a .torrent).

Values come back as Python's own: ``int``, ``bytes`` (strings stay bytes), ``list`` and ``dict`` with
``bytes`` keys. Anything malformed raises ``ValueError``; so does nesting deeper than ``max_depth``, so a
hostile upload cannot exhaust the stack.
"""

from __future__ import annotations

MAX_DEPTH = 64


def _parse(data: bytes, i: int, depth: int, max_depth: int) -> tuple[object, int]:
    """The value that starts at ``data[i]`` and the offset just past it."""
    if depth > max_depth:
        raise ValueError("nested too deep")
    c = data[i : i + 1]
    if c == b"i":
        end = data.find(b"e", i)
        if end < 0:
            raise ValueError("truncated integer")
        return int(data[i + 1 : end]), end + 1
    if c == b"l":
        items: list[object] = []
        i += 1
        while data[i : i + 1] != b"e":
            item, i = _parse(data, i, depth + 1, max_depth)
            items.append(item)
        return items, i + 1
    if c == b"d":
        d: dict[bytes, object] = {}
        i += 1
        while data[i : i + 1] != b"e":
            key, i = _parse(data, i, depth + 1, max_depth)
            if not isinstance(key, bytes):
                raise ValueError("dictionary key is not a string")
            d[key], i = _parse(data, i, depth + 1, max_depth)
        return d, i + 1
    if c.isdigit():
        colon = data.find(b":", i)
        if colon < 0:
            raise ValueError("truncated string")
        n = int(data[i:colon])
        start = colon + 1
        if n < 0 or start + n > len(data):
            raise ValueError("truncated string")
        return data[start : start + n], start + n
    if not c:
        raise ValueError("truncated")
    raise ValueError("not bencoded")


def decode(data: bytes, *, max_depth: int = MAX_DEPTH) -> object:
    """The bencoded value ``data`` holds; ValueError when malformed or followed by trailing bytes."""
    try:
        value, end = _parse(data, 0, 0, max_depth)
    except IndexError as e:
        raise ValueError("truncated") from e
    if end != len(data):
        raise ValueError("trailing data")
    return value


def decode_metainfo(
    data: bytes, *, max_depth: int = MAX_DEPTH
) -> tuple[bytes, dict[bytes, object], dict[bytes, object]]:
    """A .torrent: the raw bytes of its top-level ``info`` dictionary (what the info-hash hashes), that
    dictionary decoded, and the whole file decoded; ValueError when malformed or without ``info``."""
    if data[:1] != b"d":
        raise ValueError("missing or invalid 'info' dictionary")
    top: dict[bytes, object] = {}
    span = (0, 0)
    i = 1
    try:
        # The top level is walked here, not in _parse, to know where the info dictionary's bytes lie.
        while data[i : i + 1] != b"e":
            key, i = _parse(data, i, 1, max_depth)
            if not isinstance(key, bytes):
                raise ValueError("dictionary key is not a string")
            start = i
            top[key], i = _parse(data, i, 1, max_depth)
            if key == b"info":
                span = (start, i)
    except IndexError as e:
        raise ValueError("truncated") from e
    # Bytes after the top-level dictionary are not checked: the info-hash depends only on the info span.
    info = top.get(b"info")
    if not isinstance(info, dict):
        raise ValueError("missing or invalid 'info' dictionary")
    return data[span[0] : span[1]], info, top
