"""The FakeEngine's per-torrent edits and .torrent reads (peers, trackers, file names, export).

A mixin of ``FakeEngine`` (kept apart so each module stays one job): it simulates what the real
engine's ``edits.cpp`` does, on the rows and the .torrent bytes the fake was added with.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from revaer import bencode
from revaer.engine.errors import EngineRefusedError, InvalidSettingError, InvalidTorrentError
from revaer.engine.protocol import MAX_TRACKERS, PeerInfo, TorrentMeta

if TYPE_CHECKING:
    from revaer.engine.fake import FakeSummary


class _Host(Protocol):
    _sources: dict[str, bytes]
    _tiers: dict[str, list[int]]
    _renamed: dict[str, dict[int, str]]
    banned: tuple[str, ...]

    def _row(self, info_hash: str) -> FakeSummary: ...
    def _publish(self, row: FakeSummary, **changes: object) -> FakeSummary: ...


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


class FakeEdits:
    """``connect_peer``, ``replace_trackers``, ``rename_file``, ``torrent_file``, ``torrent_meta``."""

    def connect_peer(self: _Host, info_hash: str, ip: str, port: int) -> None:
        self._row(info_hash)
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidTorrentError(f"invalid peer address: {ip}") from None
        if not 0 < port <= 65535:
            raise InvalidTorrentError("invalid peer port")

    def replace_trackers(self: _Host, info_hash: str, trackers: Sequence[tuple[str, int]]) -> None:
        row = self._row(info_hash)
        if len(trackers) > MAX_TRACKERS:
            raise InvalidTorrentError("too many trackers")
        if any(not url for url, _ in trackers):
            raise InvalidTorrentError("a tracker URL is empty")
        urls: list[str] = []
        tiers: list[int] = []
        for url, tier in trackers:
            if url not in urls:
                urls.append(url)
                tiers.append(min(max(tier, 0), 255))
        self._tiers[row.info_hash] = tiers
        self._publish(row, tracker_urls=tuple(urls), num_trackers=len(urls))

    def rename_file(self: _Host, info_hash: str, index: int, path: str) -> None:
        row = self._row(info_hash)
        if not row.has_metadata:
            raise EngineRefusedError("the torrent has no metadata yet")
        if not 0 <= index < max(row.num_files, 1):
            raise InvalidTorrentError("file index out of range")
        if not path:
            raise InvalidTorrentError("the new path is empty")
        self._renamed.setdefault(row.info_hash, {})[index] = path

    def peers(self: _Host, info_hash: str) -> list[PeerInfo]:
        """The simulation has no swarm: no peers."""
        self._row(info_hash)
        return []

    def set_banned(self: _Host, addresses: Sequence[str]) -> None:
        try:
            self.banned = tuple(str(ipaddress.ip_address(a)) for a in addresses)
        except ValueError as e:
            raise InvalidSettingError(f"invalid address: {e}") from None

    def set_super_seeding(self: _Host, info_hash: str, on: bool) -> None:
        self._publish(self._row(info_hash), super_seeding=on)

    def set_first_last_priority(self: _Host, info_hash: str, on: bool) -> None:
        """The fake downloads in order anyway: only the refusal without metadata is simulated."""
        if not self._row(info_hash).has_metadata:
            raise EngineRefusedError("the torrent has no metadata yet")

    def torrent_file(self: _Host, info_hash: str) -> bytes:
        """The .torrent the fake was added with (the fake does not rewrite its trackers)."""
        row = self._row(info_hash)
        data = self._sources.get(row.info_hash)
        if data is None:
            raise EngineRefusedError("the torrent has no metadata yet")
        return data

    def torrent_meta(self: _Host, info_hash: str) -> TorrentMeta:
        row = self._row(info_hash)
        data = self._sources.get(row.info_hash)
        if data is None:
            return TorrentMeta()
        _, _, top = bencode.decode_metainfo(data)
        date = top.get(b"creation date")
        seeds = top.get(b"url-list", [])
        if isinstance(seeds, bytes):
            seeds = [seeds]
        return TorrentMeta(
            _text(top.get(b"comment")),
            _text(top.get(b"created by")),
            date if isinstance(date, int) and date > 0 else -1,
            tuple(_text(u) for u in seeds) if isinstance(seeds, list) else (),
        )
