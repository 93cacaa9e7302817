"""qBittorrent's per-torrent settings that the engine has no command for, kept by the façade.

Force start, share limits, super seeding, first/last piece priority, automatic
management and a display name are accepted and returned as qBittorrent does;
they live in memory (see docs/qbittorrent-compatibility.md). Each record
carries a version stamped on every edit, so item caches rebuild only the
torrents that changed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from aiohttp import web

# qBittorrent's sentinels for share limits.
USE_GLOBAL = -2
NO_LIMIT = -1
MAX_RATIO = 9999.0
MAX_SEEDING_MINUTES = 525600


@dataclass(slots=True)
class Extras:
    """qBittorrent's per-torrent settings that the engine has no command for (defaults as qBittorrent's)."""

    force_start: bool = False
    super_seeding: bool = False
    first_last_piece_prio: bool = False
    ratio_limit: float = USE_GLOBAL
    seeding_time_limit: int = USE_GLOBAL
    inactive_seeding_time_limit: int = USE_GLOBAL
    auto_tmm: bool = False
    name: str = ""  # display name given by torrents/rename (or rename on add); empty: the engine's
    download_path: str = ""  # where it downloads until finished (setDownloadPath, downloadPath on add)
    save_path: str = ""  # where it moves once finished, while it downloads in download_path
    # contentLayout of a magnet added without its file list, applied once the metadata arrives
    # (kept in memory: after a restart before the metadata, the original layout stays).
    layout: str = ""
    version: int = 0  # stamped by TorrentExtras.edit(): item caches compare it


_clock = itertools.count(1)


class TorrentExtras:
    """``Extras`` by info-hash; a torrent without a record has the defaults."""

    __slots__ = ("_by_hash", "_clock")

    _DEFAULT = Extras()

    def __init__(self) -> None:
        self._by_hash: dict[str, Extras] = {}
        self._clock = 0

    def get(self, info_hash: str) -> Extras:
        """The record (read only: do not modify the default that is returned for unknown torrents)."""
        return self._by_hash.get(info_hash, self._DEFAULT)

    @property
    def clock(self) -> int:
        """The newest version stamped on any record (a cheap "did anything change" check)."""
        return self._clock

    def changed_since(self, clock: int) -> list[str]:
        """Info-hashes of the records edited after ``clock``."""
        return [h for h, rec in self._by_hash.items() if rec.version > clock]

    def own_limits(self) -> list[str]:
        """Info-hashes whose own share limits (ratio, seeding or inactive time) set one in force."""
        return [
            h
            for h, rec in self._by_hash.items()
            if max(rec.ratio_limit, rec.seeding_time_limit, rec.inactive_seeding_time_limit) >= 0
        ]

    def edit(self, info_hash: str) -> Extras:
        """The record to change (its version is stamped now, so caches rebuild the torrent's item)."""
        rec = self._by_hash.get(info_hash)
        if rec is None:
            rec = self._by_hash[info_hash] = Extras()
        rec.version = self._clock = next(_clock)
        return rec

    def put(self, info_hash: str, extras: Extras) -> None:
        extras.version = self._clock = next(_clock)
        self._by_hash[info_hash] = extras

    def drop(self, info_hash: str) -> None:
        self._by_hash.pop(info_hash, None)

    def prune(self, alive: set[str]) -> None:
        """Forget torrents that are gone (removed through ``/v1`` or by the engine)."""
        for h in [h for h in self._by_hash if h not in alive]:
            del self._by_hash[h]


EXTRAS = web.AppKey("qb_extras", TorrentExtras)

NO_EXTRAS = Extras()
