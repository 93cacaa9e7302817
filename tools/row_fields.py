"""The torrent status row, defined once.

Every place that spells the row out is generated from these tables by
``tools/generate_row.py`` (``make generate``): the C++ struct the status table
holds, its Cython declaration, the ``TorrentStatus`` getters and stub, the
``TorrentSummary`` Protocol and the dataclass the FakeEngine's rows are made of.
To add a field, add a line here, fill it where the row is built
(src/_engine/rows.cpp) and run ``make generate``.
"""

# ruff: noqa: E501  (a table: one field a line reads best)
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One column of the status row.

    ``kind`` names how it crosses to Python: ``str``, ``int``, ``float``,
    ``bool``, ``strs`` (a tuple of str) or ``state`` (Revaer's TorrentState,
    stored as its code). ``default`` is the C++ initialiser and the Python
    default, written as a Python literal (``None``: no default, the field is
    required in the dataclass).
    """

    name: str
    kind: str
    default: str | None
    doc: str
    wide: bool = False  # int: 64 bits in C++


# Order: the dataclass's (info_hash first, it has no default), then the struct's.
# fmt: off
FIELDS: tuple[Field, ...] = (
    Field("info_hash", "str", None, "40 hex, lower case: the v1 hash, or the v2 hash truncated (qBittorrent's torrent id)."),
    Field("state", "state", "QUEUED", "Revaer's state."),
    Field("version", "int", "0", "Bumped on every change of this row.", wide=True),
    Field("info_hash_v2", "str", '""', "64 hex v2 hash, or empty."),
    Field("name", "str", '""', "Torrent name (the info-hash until a magnet's metadata arrives)."),
    Field("save_path", "str", '""', "Directory the payload is stored under."),
    Field("current_tracker", "str", '""', "URL of the tracker last announced to successfully."),
    Field("error", "str", '""', "Error message, empty when none."),
    Field("total_size", "int", "0", "Bytes of all files (pad files excluded).", wide=True),
    Field("total_wanted", "int", "0", "Bytes of the files selected for download.", wide=True),
    Field("total_done", "int", "0", "Bytes verified on disk.", wide=True),
    Field("total_wanted_done", "int", "0", "Bytes verified on disk of the selected files.", wide=True),
    Field("progress", "float", "0.0", "0.0..1.0 of the wanted bytes."),
    Field("downloaded_session", "int", "0", "Payload bytes downloaded since the torrent was started.", wide=True),
    Field("uploaded_session", "int", "0", "Payload bytes uploaded since the torrent was started.", wide=True),
    Field("downloaded_total", "int", "0", "Payload bytes downloaded over the torrent's life.", wide=True),
    Field("uploaded_total", "int", "0", "Payload bytes uploaded over the torrent's life.", wide=True),
    Field("download_rate", "int", "0", "Payload download rate, bytes/s.", wide=True),
    Field("upload_rate", "int", "0", "Payload upload rate, bytes/s.", wide=True),
    Field("num_peers", "int", "0", "Connected peers, seeds included."),
    Field("num_seeds", "int", "0", "Connected seeds."),
    Field("list_peers", "int", "0", "Known peers."),
    Field("list_seeds", "int", "0", "Known seeds."),
    Field("num_complete", "int", "-1", "Seeds in the swarm per the tracker, -1 unknown."),
    Field("num_incomplete", "int", "-1", "Leechers in the swarm per the tracker, -1 unknown."),
    Field("availability", "float", "-1.0", "Distributed copies, -1.0 without metadata."),
    Field("paused", "bool", "False", "Paused (by the user or by the queue)."),
    Field("auto_managed", "bool", "False", "Subject to the queue."),
    Field("sequential", "bool", "False", "Pieces are downloaded in order."),
    Field("super_seeding", "bool", "False", "Super-seeding mode."),
    Field("has_metadata", "bool", "False", "The info dictionary is known."),
    Field("is_finished", "bool", "False", "Every wanted piece is on disk."),
    Field("is_seeding", "bool", "False", "Every piece is on disk."),
    Field("moving_storage", "bool", "False", "A storage move is in progress."),
    Field("need_save_resume", "bool", "False", "Resume data changed since it was last saved."),
    Field("upload_mode", "bool", "False", "Upload-only after a disk error."),
    Field("is_private", "bool", "False", "Private torrent (no DHT/PeX/LSD)."),
    Field("queue_position", "int", "-1", "Position in the download queue, -1 when not queued."),
    Field("upload_limit", "int", "-1", "Per-torrent upload limit, bytes/s, UNLIMITED (-1) when none."),
    Field("download_limit", "int", "-1", "Per-torrent download limit, bytes/s, UNLIMITED (-1) when none."),
    Field("max_connections", "int", "-1", "Per-torrent connection limit, UNLIMITED (-1) when none."),
    Field("added_time", "int", "0", "POSIX time the torrent was added.", wide=True),
    Field("completed_time", "int", "0", "POSIX time it completed, 0 never.", wide=True),
    Field("last_activity", "int", "0", "POSIX time of the last payload transfer, 0 never.", wide=True),
    Field("last_seen_complete", "int", "0", "POSIX time a complete copy was last seen, 0 never.", wide=True),
    Field("active_duration", "int", "0", "Seconds active (started, not paused).", wide=True),
    Field("seeding_duration", "int", "0", "Seconds seeding.", wide=True),
    Field("finished_duration", "int", "0", "Seconds finished.", wide=True),
    Field("num_trackers", "int", "0", "Number of trackers."),
    Field("tracker_urls", "strs", "()", "The torrent's tracker URLs, in tier order, without repeats."),
    Field("piece_length", "int", "0", "Piece size in bytes, 0 without metadata."),
    Field("num_pieces", "int", "0", "Number of pieces, 0 without metadata."),
    Field("pieces_have", "int", "0", "Pieces on disk."),
    Field("checking_resume_data", "bool", "False", "Just added: the resume data is still being checked against the files."),
    Field("num_files", "int", "0", "Number of files, 0 without metadata."),
)
# fmt: on


@dataclass(frozen=True)
class State:
    """One of Revaer's torrent states: its code (the C++ enum) and its name (the StrEnum value)."""

    name: str
    doc: str


# The code of a state is its index here.
STATES: tuple[State, ...] = (
    State("queued", "Paused by the queue; starts when a slot frees."),
    State("checking", "Checking files or resume data."),
    State("downloading", "Downloading, payload arriving."),
    State("seeding", "Every piece on disk, uploading."),
    State("paused", "Paused by the user."),
    State("stalled", "Downloading but nothing arrives."),
    State("error", "Stopped by an error (see the row's ``error``)."),
    State("completed", "Every wanted piece on disk, not seeding every piece."),
    State("moving", "The payload is being moved."),
)
