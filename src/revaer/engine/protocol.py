"""The engine boundary: Revaer's own types, no libtorrent names.

The ``Engine`` Protocol is synchronous and non-blocking: commands return at
once, results arrive as events from ``poll()`` and as rows of the status table
(``snapshot()``/``changed_since()``). Everything async lives in the pump.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class TorrentState(enum.StrEnum):
    """What a torrent is doing, in Revaer's words."""

    QUEUED = "queued"
    CHECKING = "checking"
    DOWNLOADING = "downloading"
    SEEDING = "seeding"
    PAUSED = "paused"
    STALLED = "stalled"
    ERROR = "error"
    COMPLETED = "completed"
    MOVING = "moving"


# Index = the engine's numeric state code (src/_engine/core.hpp, enum State).
STATE_BY_CODE: tuple[TorrentState, ...] = (
    TorrentState.QUEUED,
    TorrentState.CHECKING,
    TorrentState.DOWNLOADING,
    TorrentState.SEEDING,
    TorrentState.PAUSED,
    TorrentState.STALLED,
    TorrentState.ERROR,
    TorrentState.COMPLETED,
    TorrentState.MOVING,
)


class QueueMove(enum.IntEnum):
    TOP = 0
    BOTTOM = 1
    UP = 2
    DOWN = 3


@runtime_checkable
class TorrentSummary(Protocol):
    """One torrent's status row: everything a listing needs, read-only."""

    @property
    def state(self) -> TorrentState:
        """Revaer's state."""
        ...

    @property
    def version(self) -> int:
        """Bumped on every change of this row."""
        ...

    @property
    def info_hash(self) -> str:
        """40 hex, lower case: the v1 hash, or the v2 hash truncated (qBittorrent's torrent id)."""
        ...

    @property
    def info_hash_v2(self) -> str:
        """64 hex v2 hash, or empty."""
        ...

    @property
    def name(self) -> str:
        """Torrent name (the info-hash until a magnet's metadata arrives)."""
        ...

    @property
    def save_path(self) -> str:
        """Directory the payload is stored under."""
        ...

    @property
    def current_tracker(self) -> str:
        """URL of the tracker last announced to successfully."""
        ...

    @property
    def error(self) -> str:
        """Error message, empty when none."""
        ...

    @property
    def total_size(self) -> int:
        """Bytes of all files."""
        ...

    @property
    def total_wanted(self) -> int:
        """Bytes of the files selected for download."""
        ...

    @property
    def total_done(self) -> int:
        """Bytes verified on disk."""
        ...

    @property
    def total_wanted_done(self) -> int:
        """Bytes verified on disk of the selected files."""
        ...

    @property
    def progress(self) -> float:
        """0.0..1.0 of the wanted bytes."""
        ...

    @property
    def downloaded_session(self) -> int:
        """Payload bytes downloaded since the torrent was started."""
        ...

    @property
    def uploaded_session(self) -> int:
        """Payload bytes uploaded since the torrent was started."""
        ...

    @property
    def downloaded_total(self) -> int:
        """Payload bytes downloaded over the torrent's life."""
        ...

    @property
    def uploaded_total(self) -> int:
        """Payload bytes uploaded over the torrent's life."""
        ...

    @property
    def download_rate(self) -> int:
        """Payload download rate, bytes/s."""
        ...

    @property
    def upload_rate(self) -> int:
        """Payload upload rate, bytes/s."""
        ...

    @property
    def num_peers(self) -> int:
        """Connected peers, seeds included."""
        ...

    @property
    def num_seeds(self) -> int:
        """Connected seeds."""
        ...

    @property
    def list_peers(self) -> int:
        """Known peers."""
        ...

    @property
    def list_seeds(self) -> int:
        """Known seeds."""
        ...

    @property
    def num_complete(self) -> int:
        """Seeds in the swarm per the tracker, -1 unknown."""
        ...

    @property
    def num_incomplete(self) -> int:
        """Leechers in the swarm per the tracker, -1 unknown."""
        ...

    @property
    def availability(self) -> float:
        """Distributed copies, -1.0 without metadata."""
        ...

    @property
    def paused(self) -> bool:
        """Paused (by the user or by the queue)."""
        ...

    @property
    def auto_managed(self) -> bool:
        """Subject to the queue."""
        ...

    @property
    def sequential(self) -> bool:
        """Pieces are downloaded in order."""
        ...

    @property
    def super_seeding(self) -> bool:
        """Super-seeding mode."""
        ...

    @property
    def has_metadata(self) -> bool:
        """The info dictionary is known."""
        ...

    @property
    def is_finished(self) -> bool:
        """Every wanted piece is on disk."""
        ...

    @property
    def is_seeding(self) -> bool:
        """Every piece is on disk."""
        ...

    @property
    def moving_storage(self) -> bool:
        """A storage move is in progress."""
        ...

    @property
    def need_save_resume(self) -> bool:
        """Resume data changed since it was last saved."""
        ...

    @property
    def upload_mode(self) -> bool:
        """Upload-only after a disk error."""
        ...

    @property
    def is_private(self) -> bool:
        """Private torrent (no DHT/PeX/LSD)."""
        ...

    @property
    def queue_position(self) -> int:
        """Position in the download queue, -1 when not queued."""
        ...

    @property
    def upload_limit(self) -> int:
        """Per-torrent upload limit, bytes/s, -1 unlimited."""
        ...

    @property
    def download_limit(self) -> int:
        """Per-torrent download limit, bytes/s, -1 unlimited."""
        ...

    @property
    def max_connections(self) -> int:
        """Per-torrent connection limit, -1 unlimited."""
        ...

    @property
    def added_time(self) -> int:
        """POSIX time the torrent was added."""
        ...

    @property
    def completed_time(self) -> int:
        """POSIX time it completed, 0 never."""
        ...

    @property
    def last_activity(self) -> int:
        """POSIX time of the last payload transfer, 0 never."""
        ...

    @property
    def last_seen_complete(self) -> int:
        """POSIX time a complete copy was last seen, 0 never."""
        ...

    @property
    def active_duration(self) -> int:
        """Seconds active (started, not paused)."""
        ...

    @property
    def seeding_duration(self) -> int:
        """Seconds seeding."""
        ...

    @property
    def finished_duration(self) -> int:
        """Seconds finished."""
        ...

    @property
    def num_trackers(self) -> int:
        """Number of trackers."""
        ...

    @property
    def piece_length(self) -> int:
        """Piece size in bytes, 0 without metadata."""
        ...

    @property
    def num_pieces(self) -> int:
        """Number of pieces, 0 without metadata."""
        ...

    @property
    def pieces_have(self) -> int:
        """Pieces on disk."""
        ...

    @property
    def checking_resume_data(self) -> bool:
        """Just added: the resume data is still being checked against the files."""
        ...

    @property
    def num_files(self) -> int:
        """Number of files, 0 without metadata."""
        ...


@dataclass(frozen=True, slots=True)
class AddRequest:
    """What to add: exactly one of ``magnet``, ``torrent`` (.torrent bytes) or ``resume`` (resume data)."""

    magnet: str | None = None
    torrent: bytes | None = None
    resume: bytes | None = None
    save_path: str = ""
    name: str = ""
    paused: bool | None = None  # None: the resume data's state, else started
    auto_managed: bool = False
    sequential: bool | None = None
    seed_mode: bool = False  # skip the hash check
    upload_limit: int = -1
    download_limit: int = -1
    max_connections: int = -1


@dataclass(frozen=True, slots=True)
class FileInfo:
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
    url: str
    tier: int
    status: TrackerStatus
    seeds: int
    peers: int
    leeches: int
    downloaded: int
    message: str


@dataclass(frozen=True, slots=True)
class SessionStats:
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
class TorrentAdded:
    info_hash: str
    name: str


@dataclass(frozen=True, slots=True)
class TorrentUpdated:
    summary: TorrentSummary

    @property
    def info_hash(self) -> str:
        return self.summary.info_hash


@dataclass(frozen=True, slots=True)
class TorrentStateChanged:
    info_hash: str
    old: TorrentState
    new: TorrentState


@dataclass(frozen=True, slots=True)
class TorrentCompleted:
    info_hash: str
    name: str


@dataclass(frozen=True, slots=True)
class TorrentRemoved:
    info_hash: str


@dataclass(frozen=True, slots=True)
class TorrentDataDeleted:
    info_hash: str


@dataclass(frozen=True, slots=True)
class TorrentError:
    info_hash: str
    message: str


@dataclass(frozen=True, slots=True)
class TorrentAddFailed:
    info_hash: str
    message: str


@dataclass(frozen=True, slots=True)
class MetadataReceived:
    info_hash: str
    name: str


@dataclass(frozen=True, slots=True)
class ResumeDataSaved:
    info_hash: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class StorageMoved:
    info_hash: str
    path: str


@dataclass(frozen=True, slots=True)
class StorageMoveFailed:
    info_hash: str
    message: str


@dataclass(frozen=True, slots=True)
class ListenFailed:
    message: str


EngineEvent = (
    TorrentAdded
    | TorrentUpdated
    | TorrentStateChanged
    | TorrentCompleted
    | TorrentRemoved
    | TorrentDataDeleted
    | TorrentError
    | TorrentAddFailed
    | MetadataReceived
    | ResumeDataSaved
    | StorageMoved
    | StorageMoveFailed
    | ListenFailed
)


class Engine(Protocol):
    """A torrent engine: synchronous, non-blocking commands plus a status table.

    ``fd`` becomes readable when ``poll()`` has events; ``tick()`` is called on a
    timer to refresh the table. ``shutdown()`` is the one blocking call: it saves
    resume data for every torrent and stops; run it off the event loop.
    """

    @property
    def fd(self) -> int: ...

    @property
    def version(self) -> int: ...

    def add(self, request: AddRequest) -> str: ...
    def pause(self, info_hash: str) -> None: ...
    def resume(self, info_hash: str) -> None: ...
    def remove(self, info_hash: str, with_data: bool = False) -> None: ...
    def recheck(self, info_hash: str) -> None: ...
    def reannounce(self, info_hash: str) -> None: ...
    def set_limits(self, info_hash: str, upload: int, download: int) -> None: ...
    def set_sequential(self, info_hash: str, on: bool) -> None: ...
    def queue(self, info_hash: str, move: QueueMove) -> None: ...
    def move_storage(self, info_hash: str, path: str, reset_only: bool = False) -> None: ...
    def save_resume(self, info_hash: str) -> None: ...
    def save_resume_modified(self) -> int: ...
    def files(self, info_hash: str) -> list[FileInfo]: ...
    def set_file_priorities(self, info_hash: str, priorities: dict[int, int]) -> None: ...
    def trackers(self, info_hash: str) -> list[TrackerInfo]: ...
    def piece_states(self, info_hash: str) -> bytes: ...
    def piece_hashes(self, info_hash: str) -> list[str]: ...
    def stats(self) -> SessionStats: ...
    def apply_settings(self, settings: dict[str, bool | int | str]) -> None: ...

    def snapshot(self) -> Sequence[TorrentSummary]: ...
    def get(self, info_hash: str) -> TorrentSummary | None: ...
    def changed_since(self, version: int) -> Changes: ...

    def tick(self) -> None: ...
    def poll(self) -> list[EngineEvent]: ...
    def shutdown(self, timeout: float = 10.0) -> list[ResumeDataSaved]: ...
