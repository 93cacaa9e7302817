"""Make real .torrent files (v1) for tests and benchmarks: bencode, piece hashes, magnets."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Bencodable = (
    int | bytes | str | Sequence["Bencodable"] | Mapping[str, "Bencodable"] | Mapping[bytes, "Bencodable"]
)


def bencode(value: Bencodable) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(v: Bencodable, out: list[bytes]) -> None:
    if isinstance(v, bool):
        raise TypeError("bool is not bencodable")
    if isinstance(v, int):
        out.append(b"i%de" % v)
    elif isinstance(v, bytes):
        out.append(b"%d:%s" % (len(v), v))
    elif isinstance(v, str):
        b = v.encode()
        out.append(b"%d:%s" % (len(b), b))
    elif isinstance(v, list | tuple):
        out.append(b"l")
        for x in v:
            _encode(x, out)
        out.append(b"e")
    elif isinstance(v, Mapping):
        out.append(b"d")
        items = sorted(((k.encode() if isinstance(k, str) else k), x) for k, x in v.items())
        for k, x in items:
            _encode(k, out)
            _encode(x, out)
        out.append(b"e")
    else:
        raise TypeError(f"cannot bencode {type(v).__name__}")


@dataclass(frozen=True)
class MadeTorrent:
    data: bytes  # the .torrent file
    info_hash: str  # 40 hex
    name: str
    total_size: int

    def magnet(self, *, with_name: bool = True) -> str:
        m = f"magnet:?xt=urn:btih:{self.info_hash}"
        return f"{m}&dn={self.name}" if with_name else m


def _torrent(
    info: dict[str, Bencodable],
    trackers: Sequence[str],
    total: int,
    extra: Mapping[str, Bencodable] | None = None,
) -> MadeTorrent:
    meta: dict[str, Bencodable] = {"info": info, "created by": "revaer-tests", **(extra or {})}
    if trackers:
        meta["announce"] = trackers[0]
        meta["announce-list"] = [[t] for t in trackers]
    info_bytes = bencode(info)
    name = info["name"]
    assert isinstance(name, str)
    return MadeTorrent(bencode(meta), hashlib.sha1(info_bytes).hexdigest(), name, total)


def make_torrent(
    root: Path,
    *,
    piece_length: int = 256 * 1024,
    trackers: Sequence[str] = (),
    private: bool = False,
    comment: str = "",
    creation_date: int = 0,
) -> MadeTorrent:
    """A v1 torrent of the real file or directory ``root`` (piece hashes over its content); ``comment``
    and ``creation_date`` (Unix seconds) go into the metainfo when given."""
    files: list[tuple[list[str], Path]] = []
    if root.is_dir():
        for p in sorted(root.rglob("*")):
            if p.is_file():
                files.append((list(p.relative_to(root).parts), p))
    else:
        files.append(([root.name], root))
    pieces: list[bytes] = []
    buf = bytearray()
    total = 0
    for _, p in files:
        with p.open("rb") as f:
            while chunk := f.read(1 << 20):
                total += len(chunk)
                buf += chunk
                while len(buf) >= piece_length:
                    pieces.append(hashlib.sha1(buf[:piece_length]).digest())
                    del buf[:piece_length]
    if buf:
        pieces.append(hashlib.sha1(buf).digest())
    info: dict[str, Bencodable] = {
        "name": root.name,
        "piece length": piece_length,
        "pieces": b"".join(pieces),
    }
    if root.is_dir():
        flist: list[Bencodable] = [
            {"length": p.stat().st_size, "path": list[Bencodable](parts)} for parts, p in files
        ]
        info["files"] = flist
    else:
        info["length"] = total
    if private:
        info["private"] = 1
    extra: dict[str, Bencodable] = {}
    if comment:
        extra["comment"] = comment
    if creation_date:
        extra["creation date"] = creation_date
    return _torrent(info, trackers, total, extra)


def synthetic_torrent(
    name: str,
    *,
    size: int = 64 * 1024 * 1024,
    piece_length: int = 1024 * 1024,
    files: int = 1,
    trackers: Sequence[str] = (),
    private: bool = False,
    seed: bytes | None = None,
) -> MadeTorrent:
    """A torrent with random piece hashes and no data behind it (for load tests)."""
    n = max(1, -(-size // piece_length))
    pieces = os.urandom(20 * n) if seed is None else hashlib.sha256(seed).digest()[:20] * n
    info: dict[str, Bencodable] = {"name": name, "piece length": piece_length, "pieces": pieces}
    if seed is not None:
        info["x-seed"] = seed  # keeps deterministic torrents distinct
    if files > 1:
        each = size // files
        multi: list[Bencodable] = [
            {"length": each + (size - each * files if i == files - 1 else 0), "path": [f"part{i:03d}.bin"]}
            for i in range(files)
        ]
        info["files"] = multi
    else:
        info["length"] = size
    if private:
        info["private"] = 1
    return _torrent(info, trackers, size)


def write_random_file(path: Path, size: int, *, chunk: int = 1 << 20) -> None:
    """A file of ``size`` pseudo-random bytes (fast: one random block, varied per chunk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(chunk)
    with path.open("wb") as f:
        written = 0
        i = 0
        while written < size:
            n = min(chunk, size - written)
            # Vary each chunk so pieces differ.
            f.write(i.to_bytes(8, "little") + block[8:n] if n > 8 else block[:n])
            written += n
            i += 1


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def bdecode(data: bytes) -> object:
    """Decode bencoded bytes (dict keys stay bytes)."""

    def parse(i: int) -> tuple[object, int]:
        c = data[i : i + 1]
        if c == b"i":
            j = data.index(b"e", i)
            return int(data[i + 1 : j]), j + 1
        if c in (b"l", b"d"):
            i += 1
            items: list[object] = []
            while data[i : i + 1] != b"e":
                v, i = parse(i)
                items.append(v)
            if c == b"l":
                return items, i + 1
            return dict(zip(items[::2], items[1::2], strict=True)), i + 1
        j = data.index(b":", i)
        n = int(data[i:j])
        return data[j + 1 : j + 1 + n], j + 1 + n

    value, end = parse(0)
    if end != len(data):
        raise ValueError("trailing bytes after bencoded value")
    return value
