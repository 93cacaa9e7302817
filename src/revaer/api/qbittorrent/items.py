"""Engine rows as qBittorrent 4.6.7 serializes torrents (``torrents/info``, ``sync/maindata``).

Pure conversions: a row, its labels and the façade's extras in, the item dict or its JSON
fragment out; no HTTP and no services here (the listing that keeps them is ``listing.py``).

Conventions follow qBittorrent's ``serialize_torrent.cpp`` and ``TorrentImpl``:
``hash`` is the lower-case info-hash; ``ratio`` is -1 at 9999 or more; ``eta``
8640000 means infinite; per-torrent rate limits are 0 when unlimited; share
limits are -2 ("use global") and their effective values -1 (disabled, as
Revaer has no share limits); ``priority`` is the queue position + 1, or 0 for
finished torrents. Floats that are whole numbers are written as integers, as
Qt's JSON writer does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson

from revaer.api.qbittorrent.extras import NO_EXTRAS, USE_GLOBAL, Extras
from revaer.config.model import ShareLimits
from revaer.engine._row import FIELD_BITS
from revaer.engine.protocol import TorrentState, TorrentSummary
from revaer.labels import Labels

MAX_ETA = 8640000
MAX_RATIO = 9999.0

Item = dict[str, Any]

# Every key of a torrents/info item in qBittorrent 4.6.7, in its (sorted) order.
ITEM_KEYS: tuple[str, ...] = (
    "added_on",
    "amount_left",
    "auto_tmm",
    "availability",
    "category",
    "completed",
    "completion_on",
    "content_path",
    "dl_limit",
    "dlspeed",
    "download_path",
    "downloaded",
    "downloaded_session",
    "eta",
    "f_l_piece_prio",
    "force_start",
    "hash",
    "inactive_seeding_time_limit",
    "infohash_v1",
    "infohash_v2",
    "last_activity",
    "magnet_uri",
    "max_inactive_seeding_time",
    "max_ratio",
    "max_seeding_time",
    "name",
    "num_complete",
    "num_incomplete",
    "num_leechs",
    "num_seeds",
    "priority",
    "progress",
    "ratio",
    "ratio_limit",
    "save_path",
    "seeding_time",
    "seeding_time_limit",
    "seen_complete",
    "seq_dl",
    "size",
    "state",
    "super_seeding",
    "tags",
    "time_active",
    "total_size",
    "tracker",
    "trackers_count",
    "up_limit",
    "uploaded",
    "uploaded_session",
    "upspeed",
)


def number(x: float) -> int | float:
    """A float as Qt writes it: whole numbers without a fraction."""
    return int(x) if float(x).is_integer() else x


def is_seed(row: TorrentSummary) -> bool:
    """Every wanted piece is on disk (qBittorrent's ``isFinished``, seeding or not)."""
    return row.is_seeding or row.is_finished


def qb_state(row: TorrentSummary, force_start: bool = False) -> str:
    """qBittorrent's state name for a row (``TorrentImpl::updateState``).

    In qBittorrent's order: moving, then errors (a missing file is ``missingFiles``), then
    ``checkingResumeData`` for a torrent just added, then torrents without metadata, then
    checking, then the transfer states. ``queued*`` means paused by the engine's queue (paused
    and auto-managed); ``force_start`` is qBittorrent's per-torrent flag (kept by the façade): a
    running torrent with it is ``forced*``.
    """
    st = row.state
    if st is TorrentState.MOVING or row.moving_storage:
        return "moving"
    if st is TorrentState.ERROR or row.error:
        err = row.error.lower()
        return "missingFiles" if "no such file" in err or "not found" in err else "error"
    paused = row.paused and not row.auto_managed  # by the user; row.paused alone: by the queue too
    if row.checking_resume_data and not paused:
        return "checkingResumeData"
    if not row.has_metadata:
        return "pausedDL" if paused else "queuedDL" if row.paused else "metaDL"
    seed = is_seed(row)
    if st is TorrentState.CHECKING and not paused:
        return "checkingUP" if seed else "checkingDL"
    return _transfer_state(row, seed, paused, force_start)


# (downloading, seeding) names of the states that do not depend on the rates.
_PAUSED_STATE = ("pausedDL", "pausedUP")
_QUEUED_STATE = ("queuedDL", "queuedUP")
_FORCED_STATE = ("forcedDL", "forcedUP")


def _transfer_state(row: TorrentSummary, seed: bool, paused: bool, force_start: bool) -> str:
    if paused:
        return _PAUSED_STATE[seed]
    if row.paused:
        return _QUEUED_STATE[seed]
    if force_start:
        return _FORCED_STATE[seed]
    if seed:
        return "uploading" if row.upload_rate > 0 else "stalledUP"
    return "downloading" if row.download_rate > 0 else "stalledDL"


def real_ratio(row: TorrentSummary) -> float:
    """``TorrentImpl::realRatio``: uploaded / downloaded, capped at 9999."""
    up = row.uploaded_total
    down = row.downloaded_total
    if down < row.total_done * 0.01:
        down = row.total_done
    if down == 0:
        return 0.0 if up == 0 else MAX_RATIO
    r = up / down
    return MAX_RATIO if r > MAX_RATIO else r


def ratio_value(row: TorrentSummary) -> int | float:
    """The ratio as items show it: -1 at 9999 or more."""
    r = real_ratio(row)
    return -1 if r >= MAX_RATIO else number(r)


def eta(row: TorrentSummary) -> int:
    """Seconds until done; 8640000 when paused, seeding (no share limits) or not downloading."""
    if row.paused or is_seed(row) or row.download_rate <= 0:
        return MAX_ETA
    left = row.total_wanted - row.total_wanted_done
    return min(MAX_ETA, left // row.download_rate)


def priority(row: TorrentSummary) -> int:
    """The queue position + 1 for unfinished torrents, 0 for finished (or unqueued) ones."""
    pos = row.queue_position
    return 0 if pos < 0 or is_seed(row) else pos + 1


def limit(value: int) -> int:
    """A per-torrent rate limit as torrents/info shows it: 0 when unlimited."""
    return value if value > 0 else 0


def content_path(row: TorrentSummary) -> str:
    # Single file: the file under the save path; multi-file: the root folder. Without metadata: none.
    if not row.has_metadata:
        return ""
    base = row.save_path.rstrip("/") or "/"
    return f"{base}/{row.name}" if base != "/" else f"/{row.name}"


_UNRESERVED = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!.~*()")


def lt_escape(text: str) -> str:
    """libtorrent's ``escape_string`` (lower-case hex), as in the magnet links qBittorrent shows."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02x}" for b in text.encode("utf-8"))


def magnet_uri(row: TorrentSummary, trackers: tuple[str, ...]) -> str:
    """``lt::make_magnet_uri``: the v1 hash (and v2 as btmh), the name, every tracker."""
    return _magnet(row.info_hash, row.info_hash_v2, row.name, trackers)


@functools.lru_cache(maxsize=32768)
def _magnet(info_hash: str, info_hash_v2: str, name: str, trackers: tuple[str, ...]) -> str:
    # Rebuilt items of a torrent mostly carry the same magnet: escaping it again is the costliest
    # part of an item, so the result is kept while the inputs stay the same.
    parts = []
    if info_hash and (not info_hash_v2 or info_hash != info_hash_v2[:40]):
        parts.append(f"xt=urn:btih:{info_hash}")
    if info_hash_v2:
        parts.append(f"xt=urn:btmh:1220{info_hash_v2}")
    if name:
        parts.append(f"dn={lt_escape(name)}")
    parts.extend(f"tr={lt_escape(url)}" for url in trackers)
    return "magnet:?" + "&".join(parts)


def v1_hash(row: TorrentSummary) -> str:
    """The v1 info-hash, or empty for a v2-only torrent (whose id is the truncated v2 hash)."""
    if row.info_hash_v2 and row.info_hash == row.info_hash_v2[:40]:
        return ""
    return row.info_hash


NO_GLOBAL_LIMITS = ShareLimits()


def _effective(own: float, global_: float) -> float:
    """A torrent's limit in force, as qBittorrent reports it in ``max_*``: the global one when the
    torrent's is "use global" (-2), -1 for none."""
    value = global_ if own == USE_GLOBAL else own
    return value if value >= 0 else -1


# How each key of an item is made, from (row, labels, extras, global share limits), with the row
# fields it reads: an item whose row changed is updated in the keys that read a changed field
# (``update_item``), everything else is kept. Labels and extras are read by the keys that do not
# list them here too; an item whose labels or extras changed is built again (``build_item``).
_Make = Callable[[TorrentSummary, Labels, Extras, ShareLimits], Any]


def _num_incomplete(row: TorrentSummary) -> int:
    return row.num_incomplete if row.num_incomplete > -1 else max(0, row.list_peers - row.list_seeds)


_STATE_FIELDS = (
    "state",
    "moving_storage",
    "error",
    "paused",
    "auto_managed",
    "checking_resume_data",
    "has_metadata",
    "is_seeding",
    "is_finished",
    "upload_rate",
    "download_rate",
)
_SEED_FIELDS = ("is_seeding", "is_finished")

# fmt: off
_KEYS: tuple[tuple[str, _Make, tuple[str, ...]], ...] = (
    ("added_on", lambda r, lab, x, s: r.added_time, ("added_time",)),
    ("amount_left", lambda r, lab, x, s: max(0, r.total_wanted - r.total_wanted_done), ("total_wanted", "total_wanted_done")),  # noqa: E501
    ("auto_tmm", lambda r, lab, x, s: x.auto_tmm, ()),
    ("availability", lambda r, lab, x, s: number(r.availability) if r.availability > 0 else 0, ("availability",)),  # noqa: E501
    ("category", lambda r, lab, x, s: lab.category, ()),
    ("completed", lambda r, lab, x, s: r.total_wanted_done, ("total_wanted_done",)),
    ("completion_on", lambda r, lab, x, s: r.completed_time, ("completed_time",)),
    ("content_path", lambda r, lab, x, s: content_path(r), ("has_metadata", "save_path", "name")),
    ("dl_limit", lambda r, lab, x, s: limit(r.download_limit), ("download_limit",)),
    ("dlspeed", lambda r, lab, x, s: r.download_rate, ("download_rate",)),
    ("download_path", lambda r, lab, x, s: x.download_path, ()),
    ("downloaded", lambda r, lab, x, s: r.downloaded_total, ("downloaded_total",)),
    ("downloaded_session", lambda r, lab, x, s: r.downloaded_session, ("downloaded_session",)),
    ("eta", lambda r, lab, x, s: eta(r), ("paused", "download_rate", "total_wanted", "total_wanted_done", *_SEED_FIELDS)),  # noqa: E501
    ("f_l_piece_prio", lambda r, lab, x, s: x.first_last_piece_prio, ()),
    ("force_start", lambda r, lab, x, s: x.force_start, ()),
    ("hash", lambda r, lab, x, s: r.info_hash, ("info_hash",)),
    ("inactive_seeding_time_limit", lambda r, lab, x, s: x.inactive_seeding_time_limit, ()),
    ("infohash_v1", lambda r, lab, x, s: v1_hash(r), ("info_hash", "info_hash_v2")),
    ("infohash_v2", lambda r, lab, x, s: r.info_hash_v2, ("info_hash_v2",)),
    ("last_activity", lambda r, lab, x, s: r.last_activity or r.added_time, ("last_activity", "added_time")),
    ("magnet_uri", lambda r, lab, x, s: magnet_uri(r, r.tracker_urls), ("info_hash", "info_hash_v2", "name", "tracker_urls")),  # noqa: E501
    ("max_inactive_seeding_time", lambda r, lab, x, s: int(_effective(x.inactive_seeding_time_limit, s.inactive_minutes)), ()),  # noqa: E501
    ("max_ratio", lambda r, lab, x, s: number(_effective(x.ratio_limit, s.ratio)), ()),
    ("max_seeding_time", lambda r, lab, x, s: int(_effective(x.seeding_time_limit, s.seeding_minutes)), ()),
    ("name", lambda r, lab, x, s: x.name or r.name, ("name",)),
    ("num_complete", lambda r, lab, x, s: r.num_complete if r.num_complete > -1 else r.list_seeds, ("num_complete", "list_seeds")),  # noqa: E501
    ("num_incomplete", lambda r, lab, x, s: _num_incomplete(r), ("num_incomplete", "list_peers", "list_seeds")),  # noqa: E501
    ("num_leechs", lambda r, lab, x, s: max(0, r.num_peers - r.num_seeds), ("num_peers", "num_seeds")),
    ("num_seeds", lambda r, lab, x, s: r.num_seeds, ("num_seeds",)),
    ("priority", lambda r, lab, x, s: priority(r), ("queue_position", *_SEED_FIELDS)),
    ("progress", lambda r, lab, x, s: number(r.progress) if r.has_metadata else 0, ("progress", "has_metadata")),  # noqa: E501
    ("ratio", lambda r, lab, x, s: ratio_value(r), ("uploaded_total", "downloaded_total", "total_done")),
    ("ratio_limit", lambda r, lab, x, s: number(x.ratio_limit), ()),
    ("save_path", lambda r, lab, x, s: x.save_path or r.save_path, ("save_path",)),
    ("seeding_time", lambda r, lab, x, s: r.seeding_duration, ("seeding_duration",)),
    ("seeding_time_limit", lambda r, lab, x, s: x.seeding_time_limit, ()),
    ("seen_complete", lambda r, lab, x, s: r.last_seen_complete, ("last_seen_complete",)),
    ("seq_dl", lambda r, lab, x, s: r.sequential, ("sequential",)),
    ("size", lambda r, lab, x, s: r.total_wanted if r.has_metadata else 0, ("total_wanted", "has_metadata")),
    ("state", lambda r, lab, x, s: qb_state(r, x.force_start), _STATE_FIELDS),
    ("super_seeding", lambda r, lab, x, s: r.super_seeding or x.super_seeding, ("super_seeding",)),
    ("tags", lambda r, lab, x, s: ", ".join(lab.tags), ()),
    ("time_active", lambda r, lab, x, s: r.active_duration, ("active_duration",)),
    ("total_size", lambda r, lab, x, s: r.total_size if r.has_metadata else -1, ("total_size", "has_metadata")),  # noqa: E501
    ("tracker", lambda r, lab, x, s: r.current_tracker, ("current_tracker",)),
    ("trackers_count", lambda r, lab, x, s: r.num_trackers, ("num_trackers",)),
    ("up_limit", lambda r, lab, x, s: limit(r.upload_limit), ("upload_limit",)),
    ("uploaded", lambda r, lab, x, s: r.uploaded_total, ("uploaded_total",)),
    ("uploaded_session", lambda r, lab, x, s: r.uploaded_session, ("uploaded_session",)),
    ("upspeed", lambda r, lab, x, s: r.upload_rate, ("upload_rate",)),
)
# fmt: on
_MAKERS: tuple[tuple[str, _Make], ...] = tuple((k, make) for k, make, _ in _KEYS)
# Per key, the FIELD_BITS of the row fields it reads.
KEY_FIELDS: dict[str, int] = {k: sum(FIELD_BITS[f] for f in set(fields)) for k, _, fields in _KEYS}


def build_item(
    row: TorrentSummary,
    labels: Labels,
    extras: Extras = NO_EXTRAS,
    share: ShareLimits = NO_GLOBAL_LIMITS,
) -> Item:
    """The 51-key item of one torrent (``extras``: the qBittorrent-only settings the façade keeps;
    ``share``: the global share limits, which ``max_ratio`` and the ``max_*`` times report for a
    torrent that uses them). Trackers (``magnet_uri``) are the row's ``tracker_urls``."""
    return {k: make(row, labels, extras, share) for k, make in _MAKERS}


@functools.lru_cache(maxsize=1024)
def _affected(mask: int) -> tuple[tuple[str, _Make], ...]:
    """The keys that read a field of ``mask`` (a ``changed_fields`` value; few distinct ones occur)."""
    return tuple((k, make) for k, make, _ in _KEYS if KEY_FIELDS[k] & mask)


def update_item(
    old: Item,
    old_row: TorrentSummary,
    row: TorrentSummary,
    labels: Labels,
    extras: Extras = NO_EXTRAS,
    share: ShareLimits = NO_GLOBAL_LIMITS,
) -> tuple[Item, tuple[str, ...]]:
    """``old`` (built from ``old_row`` with the same labels, extras and share limits) for ``row``,
    and the keys whose value changed: only the keys that read a field the engine says changed
    (``changed_fields``, compared in the extension) are made again. ``old`` itself, and no keys,
    when nothing shown changed. Equal to ``build_item(row, ...)``."""
    mask = row.changed_fields(old_row)
    if not mask:
        return old, ()
    new: Item | None = None
    changed: list[str] = []
    for k, make in _affected(mask):
        value = make(row, labels, extras, share)
        if value != old[k] or type(value) is not type(old[k]):
            if new is None:
                new = dict(old)
            new[k] = value
            changed.append(k)
    return (old, ()) if new is None else (new, tuple(changed))


def _exact(data: bytes) -> bytes:
    """A copy of exactly ``len(data)`` bytes. orjson's output keeps the capacity of its working
    buffer (about 16 KiB): kept for 10,000 torrents that would be 160 MB instead of 12."""
    return memoryview(data).tobytes()


def fragment(item: Item) -> bytes:
    """The item's JSON, as ``torrents/info`` lists it (an exact-size copy: fragments are kept)."""
    return _exact(orjson.dumps(item))


def keyed_fragment(item: Item, encoded: bytes | None = None) -> bytes:
    """``"<hash>":{item without hash}``, as ``sync/maindata`` lists torrents: cut from the item's
    JSON (``encoded`` when it is at hand), not encoded again. The first ``"hash":"<hash>",`` is the
    key: inside a JSON string every ``"`` is escaped, and ``hash`` is never the last key."""
    h = item["hash"].encode()
    data = encoded if encoded is not None else orjson.dumps(item)
    key = b'"hash":"' + h + b'",'
    cut = data.index(key)
    return b"".join((b'"', h, b'":', data[:cut], data[cut + len(key) :]))


def without_hash(item: Item) -> Item:
    """The item as ``sync/maindata`` keys it: by hash, so without ``hash`` inside."""
    return {k: v for k, v in item.items() if k != "hash"}
