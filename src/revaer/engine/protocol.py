"""The engine boundary: Revaer's own types, no libtorrent names.

The ``Engine`` Protocol is synchronous and non-blocking: commands return at
once, results arrive as events from ``poll()`` and as rows of the status table
(``snapshot()``/``changed_since()``). Everything async lives in the pump.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from revaer.engine._row import STATE_BY_CODE as STATE_BY_CODE
from revaer.engine._row import TorrentState as TorrentState
from revaer.engine._row import TorrentSummary as TorrentSummary

UNLIMITED: Final = -1
"""A per-torrent rate or connection limit that does not limit.

libtorrent's own value (``add_torrent_params``, ``torrent_handle::upload_limit()``) and qBittorrent's
for torrents/properties and setShareLimits. Every limit the engine takes treats any value <= 0 as
unlimited, as libtorrent and qBittorrent do on input, and every limit it reports is a positive
number or ``UNLIMITED``. The config stores "no limit" as 0 (libtorrent's session settings and
qBittorrent's preferences do); ``engine_limit`` is the one conversion.
"""


MAX_TRACKERS: Final = 500
"""The most trackers one torrent may bring (the extension's ``MAX_TRACKERS`` in core.hpp says the same).

A magnet or .torrent with more is refused (``InvalidTorrentError``: the API's 422, the façade's
``Fails.``); resume data with more (a torrent stored before the bound) keeps its first
``MAX_TRACKERS``. libtorrent's add costs time quadratic in the tracker count on the session's
thread (10,000 trackers: ~30 s, while every synchronous call into the session waits).
"""


def engine_limit(value: int) -> int:
    """The engine's spelling of a limit: ``value`` when positive, else ``UNLIMITED``."""
    return value if value > 0 else UNLIMITED


class QueueMove(enum.IntEnum):
    """Where ``Engine.queue()`` moves a torrent in the download queue."""

    TOP = 0
    BOTTOM = 1
    UP = 2
    DOWN = 3


@dataclass(frozen=True, slots=True)
class AddRequest:
    """What to add: exactly one of ``magnet``, ``torrent`` (.torrent bytes) or ``resume`` (resume data).

    ``resume`` may come with ``torrent``, the .torrent file it belongs to: resume data of a torrent
    added from a .torrent file is saved without the info dictionary (the registry keeps the file).
    """

    magnet: str | None = None
    torrent: bytes | None = None
    resume: bytes | None = None
    save_path: str = ""
    name: str = ""
    paused: bool | None = None  # None: the resume data's state, else started
    auto_managed: bool = False
    sequential: bool | None = None
    seed_mode: bool = False  # skip the hash check
    upload_limit: int = UNLIMITED
    download_limit: int = UNLIMITED
    max_connections: int = UNLIMITED
    # Files laid out under other paths than the .torrent's: (index, path relative to the save path).
    renamed_files: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One file of a torrent: index, path under the save path, size, bytes on disk, priority 0..7, offset."""

    index: int
    path: str
    size: int
    done: int
    priority: int
    offset: int

    @property
    def progress(self) -> float:
        return 1.0 if self.size == 0 else self.done / self.size


class TrackerStatus(enum.IntEnum):
    """qBittorrent's tracker status codes."""

    DISABLED = 0
    NOT_CONTACTED = 1
    WORKING = 2
    UPDATING = 3
    NOT_WORKING = 4


@dataclass(frozen=True, slots=True)
class TrackerInfo:
    """One tracker of a torrent and how its last announce went (seeds/peers/leeches/downloaded -1 unknown)."""

    url: str
    tier: int
    status: TrackerStatus
    seeds: int
    peers: int
    leeches: int
    downloaded: int
    message: str


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """One connected peer: address, client name, qBittorrent's flag letters, over uTP or TCP, its
    progress 0..1, payload rates in bytes/s and bytes exchanged."""

    ip: str
    port: int
    client: str
    flags: str
    utp: bool
    progress: float
    download_rate: int
    upload_rate: int
    downloaded: int
    uploaded: int


@dataclass(frozen=True, slots=True)
class TorrentMeta:
    """What a torrent's .torrent says beyond the status row: empty (and -1) without metadata."""

    comment: str = ""
    creator: str = ""
    creation_date: int = -1
    web_seeds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionStats:
    """Session-wide counters: rates in bytes/s, byte counts since the session started."""

    download_rate: int = 0
    upload_rate: int = 0
    downloaded: int = 0
    uploaded: int = 0
    downloaded_wire: int = 0
    uploaded_wire: int = 0
    dht_nodes: int = 0
    peers_connected: int = 0
    num_torrents: int = 0
    listen_port: int = 0


@dataclass(frozen=True, slots=True)
class Changes:
    """Rows changed and info-hashes removed since a version; ``resync``: take a snapshot instead."""

    version: int
    resync: bool
    rows: Sequence[TorrentSummary]
    removed: Sequence[str]


# ---- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Torrent:
    info_hash: str


@dataclass(frozen=True, slots=True)
class _TorrentNamed(_Torrent):
    name: str


@dataclass(frozen=True, slots=True)
class _TorrentMessage(_Torrent):
    message: str


@dataclass(frozen=True, slots=True)
class TorrentAdded(_TorrentNamed):
    """The engine has the torrent (it was listed from the moment ``add()`` returned)."""


@dataclass(frozen=True, slots=True)
class TorrentUpdated:
    """A row of the status table changed (published by the pump, not by engines)."""

    summary: TorrentSummary

    @property
    def info_hash(self) -> str:
        return self.summary.info_hash


@dataclass(frozen=True, slots=True)
class TorrentStateChanged(_Torrent):
    """The torrent went from one state to another."""

    old: TorrentState
    new: TorrentState


@dataclass(frozen=True, slots=True)
class TorrentCompleted(_TorrentNamed):
    """Every wanted piece was downloaded (not raised for data that was complete when added)."""


@dataclass(frozen=True, slots=True)
class TorrentRemoved(_Torrent):
    """The torrent is gone from the engine."""


@dataclass(frozen=True, slots=True)
class TorrentDataDeleted(_Torrent):
    """The files of a torrent removed ``with_data`` are deleted."""


@dataclass(frozen=True, slots=True)
class TorrentFailed(_TorrentMessage):
    """A torrent hit an error (disk, tracker, resume data); it may have stopped."""


@dataclass(frozen=True, slots=True)
class TorrentAddFailed(_TorrentMessage):
    """The engine could not add a torrent that ``add()`` accepted; it is gone from the table."""


@dataclass(frozen=True, slots=True)
class MetadataReceived(_TorrentNamed):
    """A magnet link's info dictionary arrived: name, files and pieces are known now."""


@dataclass(frozen=True, slots=True)
class ResumeDataSaved(_Torrent):
    """Resume data of a torrent, as ``save_resume()`` or ``shutdown()`` asked for it."""

    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class StorageMoved(_Torrent):
    """The payload is now under ``path``."""

    path: str


@dataclass(frozen=True, slots=True)
class StorageMoveFailed(_TorrentMessage):
    """A storage move failed; the payload stays where it was."""


@dataclass(frozen=True, slots=True)
class PeerRefused:
    """The session refused a peer: ``blocked`` before it connected (a filter, a disabled
    protocol), or banned (it sent bad data). ``reason`` says why, in qBittorrent's words."""

    ip: str
    port: int
    blocked: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ListenFailed:
    """The session could not listen on an address."""

    message: str


EngineEvent = (
    TorrentAdded
    | TorrentUpdated
    | TorrentStateChanged
    | TorrentCompleted
    | TorrentRemoved
    | TorrentDataDeleted
    | TorrentFailed
    | TorrentAddFailed
    | MetadataReceived
    | ResumeDataSaved
    | StorageMoved
    | StorageMoveFailed
    | ListenFailed
    | PeerRefused
)


class Engine(Protocol):
    """A torrent engine: synchronous, non-blocking commands plus a status table.

    ``fd`` becomes readable when ``poll()`` has events; ``tick()`` is called on a
    timer to refresh the table. ``shutdown()`` is the one blocking call: it saves
    resume data for every torrent and stops; run it off the event loop.

    Info-hashes are 40 hex (any case on input, lower case on output). A command on an
    unknown info-hash raises ``TorrentNotFoundError``; bad input raises a usage error
    (``InvalidTorrentError``/``InvalidSettingError``, both ``ValueError``); any call but
    ``poll()``/``shutdown()`` after ``shutdown()`` raises ``EngineClosedError``.
    """

    @property
    def fd(self) -> int:
        """A file descriptor that becomes readable when ``poll()`` has events (for ``add_reader``)."""
        ...

    @property
    def version(self) -> int:
        """The version of the status table's last change (see ``changed_since()``)."""
        ...

    def add(self, request: AddRequest) -> str:
        """Add a torrent; returns its info-hash at once (listed at once, ``TorrentAdded`` follows)."""
        ...

    def pause(self, info_hash: str) -> None:
        """Pause the torrent (and take it out of the queue); pausing a paused torrent is fine."""
        ...

    def resume(self, info_hash: str) -> None:
        """Start a paused torrent again."""
        ...

    def remove(self, info_hash: str, with_data: bool = False) -> None:
        """Remove the torrent at once (gone from the table; ``TorrentRemoved`` follows); with its files."""
        ...

    def recheck(self, info_hash: str) -> None:
        """Check the torrent's files against its piece hashes."""
        ...

    def reannounce(self, info_hash: str) -> None:
        """Announce to the torrent's trackers now."""
        ...

    def set_limits(self, info_hash: str, upload: int, download: int) -> None:
        """Per-torrent rate limits in bytes/s; any value <= 0 is ``UNLIMITED``. The row shows them at once."""
        ...

    def set_sequential(self, info_hash: str, on: bool) -> None:
        """Download the torrent's pieces in order (or not)."""
        ...

    def queue(self, info_hash: str, move: QueueMove) -> None:
        """Move the torrent in the download queue."""
        ...

    def move_storage(self, info_hash: str, path: str, reset_only: bool = False) -> None:
        """Move the payload under ``path`` (``StorageMoved``/``StorageMoveFailed`` follows).

        ``reset_only``: the payload is already there; only the save path changes.
        An empty ``path`` is a usage error.
        """
        ...

    def save_resume(self, info_hash: str) -> None:
        """Ask for the torrent's resume data; a ``ResumeDataSaved`` event carries it."""
        ...

    def save_resume_modified(self, downloading_only: bool = False) -> int:
        """Ask for resume data of every torrent changed since its last save; returns how many.

        With ``downloading_only``, only of those still downloading (not finished, not paused, with
        metadata): the frequent save that bounds what a crash costs.
        """
        ...

    def files(self, info_hash: str) -> list[FileInfo]:
        """The torrent's files (pad files excluded); empty without metadata."""
        ...

    def set_file_priorities(self, info_hash: str, priorities: dict[int, int]) -> None:
        """Set file priorities ``{file index: 0..7}``; a bad index or priority is a usage error."""
        ...

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        """The torrent's trackers with their announce status (one torrent's query; not for listings)."""
        ...

    def piece_states(self, info_hash: str) -> bytes:
        """One byte per piece: 0 missing, 1 being downloaded, 2 on disk; empty without metadata."""
        ...

    def connect_peer(self, info_hash: str, ip: str, port: int) -> None:
        """Connect the torrent to the peer at ``ip``:``port``; a bad address or port is a usage error."""
        ...

    def replace_trackers(self, info_hash: str, trackers: Sequence[tuple[str, int]]) -> None:
        """Set the torrent's whole tracker list, (url, tier) in order; the row shows it at once.

        An empty URL or more than ``MAX_TRACKERS`` is a usage error.
        """
        ...

    def rename_file(self, info_hash: str, index: int, path: str) -> None:
        """Rename (or move within the torrent) file ``index`` to the relative ``path``; ``files()``
        shows it once done. A bad index or an empty path is a usage error; no metadata: refused."""
        ...

    def torrent_file(self, info_hash: str) -> bytes:
        """The torrent's .torrent (its info dictionary as added, its trackers); no metadata: refused."""
        ...

    def torrent_meta(self, info_hash: str) -> TorrentMeta:
        """The .torrent's comment, creator, creation date and web seeds."""
        ...

    def peers(self, info_hash: str) -> list[PeerInfo]:
        """The torrent's connected peers (one torrent's query; not for listings)."""
        ...

    def set_banned(self, addresses: Sequence[str]) -> None:
        """Block exactly these peer IP addresses; a malformed one is ``InvalidSettingError``."""
        ...

    def set_super_seeding(self, info_hash: str, on: bool) -> None:
        """Super seeding (BEP 16) on or off; the row's ``super_seeding`` shows it at once."""
        ...

    def set_first_last_priority(self, info_hash: str, on: bool) -> None:
        """The first and last piece of each wanted file downloaded first (or not); no metadata: refused."""
        ...

    def piece_hashes(self, info_hash: str) -> list[str]:
        """The v1 SHA-1 hash of every piece, 40 hex each; empty without metadata."""
        ...

    def stats(self) -> SessionStats:
        """Session-wide counters as of the last ``tick()``."""
        ...

    def apply_settings(self, settings: dict[str, bool | int | str]) -> None:
        """Apply libtorrent settings by name; an unknown name or a wrong type is ``InvalidSettingError``."""
        ...

    def snapshot(self) -> Sequence[TorrentSummary]:
        """Every row of the status table (no engine round trip)."""
        ...

    def get(self, info_hash: str) -> TorrentSummary | None:
        """The row of one torrent, or None when the engine has no such torrent."""
        ...

    def changed_since(self, version: int) -> Changes:
        """Rows changed and info-hashes removed since ``version`` (a value of ``version`` seen earlier)."""
        ...

    def tick(self) -> None:
        """Refresh the status table and the session counters (called on a timer)."""
        ...

    def poll(self) -> list[EngineEvent]:
        """Every event waiting, oldest first; never blocks; [] once shut down."""
        ...

    def shutdown(self, timeout: float = 10.0) -> list[ResumeDataSaved]:
        """Save resume data for every torrent (up to ``timeout`` s), stop, return it. Blocks; idempotent."""
        ...

    def wait_closed(self, timeout: float) -> bool:
        """After ``shutdown()``: whether the session's teardown (trackers told, files closed) ended
        within ``timeout`` s. Blocks up to ``timeout``; nothing a restart needs waits for it."""
        ...
