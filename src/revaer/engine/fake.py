"""FakeEngine: the Engine Protocol in memory, with simulated progress.

For unit tests of the shell. It passes the same contract tests as the real
engine (tests/contract): same validation, same exceptions, same event order.

Simulated time comes from an injected clock (``time.monotonic`` by default).
Tests give it a ``ManualClock``: then nothing moves until ``advance()`` is
called, so "nothing changed" holds however slowly the test runs.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from revaer import bencode
from revaer.config.libtorrent_settings import setting_type
from revaer.engine._row import SummaryRow
from revaer.engine.errors import (
    DuplicateTorrentError,
    EngineClosedError,
    InvalidSettingError,
    InvalidTorrentError,
    TorrentNotFoundError,
)
from revaer.engine.fake_edits import FakeEdits
from revaer.engine.protocol import (
    MAX_TRACKERS,
    AddRequest,
    Changes,
    EngineEvent,
    FileInfo,
    PeerRefused,
    QueueMove,
    ResumeDataSaved,
    SessionStats,
    StorageMoved,
    TorrentAdded,
    TorrentCompleted,
    TorrentRemoved,
    TorrentState,
    TorrentStateChanged,
    TorrentSummary,
    TrackerInfo,
    TrackerStatus,
    engine_limit,
)

_ARTICLE = {str: "a string", int: "an integer", bool: "a boolean"}
_BTIH = re.compile(r"(?:^|&)xt=urn:btih:([0-9a-fA-F]{40}|[A-Za-z2-7]{32})(?:&|$)")


@dataclass(frozen=True, slots=True)
class FakeSummary(SummaryRow):
    """A status row of the FakeEngine: the real rows' fields (generated, revaer.engine._row)."""


def _unique(urls: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u for u in urls if u))


def _bound_trackers(n: int) -> None:
    if n > MAX_TRACKERS:
        raise InvalidTorrentError(f"too many trackers: {n} (at most {MAX_TRACKERS})")


def _torrent_trackers(top: dict[bytes, object]) -> tuple[str, ...]:
    """The announce URLs of a .torrent, in tier order (as libtorrent lists them)."""
    urls: list[str] = []
    tiers = top.get(b"announce-list")
    if isinstance(tiers, list):
        for tier in tiers:
            if isinstance(tier, list):
                urls += [u.decode("utf-8", "replace") for u in tier if isinstance(u, bytes)]
    announce = top.get(b"announce")
    if not urls and isinstance(announce, bytes):
        urls.append(announce.decode("utf-8", "replace"))
    return _unique(urls)


@dataclass(frozen=True, slots=True)
class _Source:
    """What an add's magnet, .torrent or resume data says about the torrent."""

    info_hash: str
    name: str
    trackers: tuple[str, ...]
    size: int = 0
    done: int = 0
    files: int = 0
    has_meta: bool = False
    piece_length: int = 0
    hashes: bytes = b""
    save_path: str = ""
    paused: bool = False
    completed: bool = False  # resume data of a finished torrent: no second TorrentCompleted


def _from_magnet(magnet: str) -> _Source:
    if not magnet.startswith("magnet:?"):
        raise InvalidTorrentError("invalid magnet link: unsupported URL protocol")
    m = _BTIH.search(magnet[len("magnet:?") :])
    if m is None:
        raise InvalidTorrentError("invalid magnet link: missing info-hash")
    raw = m.group(1)
    h = raw.lower() if len(raw) == 40 else base64.b32decode(raw.upper()).hex()
    dn = re.search(r"(?:^|&)dn=([^&]*)", magnet[8:])
    query = urllib.parse.parse_qs(magnet[len("magnet:?") :])
    tr_params = query.get("tr", [])
    _bound_trackers(len(tr_params))
    return _Source(h, dn.group(1) if dn else h, _unique(tr_params))


def _from_torrent(data: bytes) -> _Source:
    try:
        info_bytes, info, top = bencode.decode_metainfo(data)
    except ValueError as e:
        raise InvalidTorrentError(f"invalid torrent file: {e}") from None
    for key in (b"name", b"piece length", b"pieces"):
        if key not in info:
            raise InvalidTorrentError(f"invalid torrent file: missing {key.decode()!r}")
    if b"files" not in info and b"length" not in info:
        raise InvalidTorrentError("invalid torrent file: missing 'length' or 'files'")
    h = hashlib.sha1(info_bytes).hexdigest()
    piece_length, hashes = 0, b""
    pl, pieces = info[b"piece length"], info[b"pieces"]
    if isinstance(pl, int) and isinstance(pieces, bytes):
        piece_length, hashes = pl, pieces
    nm = info.get(b"name", b"")
    flist = info.get(b"files")
    if isinstance(flist, list):
        files = len(flist)
        size = sum(int(f.get(b"length", 0)) for f in flist if isinstance(f, dict))
    else:
        files = 1
        length = info.get(b"length", 0)
        size = length if isinstance(length, int) else 0
    trackers = _torrent_trackers(top)
    _bound_trackers(len(trackers))
    return _Source(
        h,
        nm.decode("utf-8", "replace") if isinstance(nm, bytes) else h,
        trackers,
        size=size,
        files=files,
        has_meta=True,
        piece_length=piece_length,
        hashes=hashes,
    )


def _with_file(resumed: _Source, file: _Source) -> _Source:
    """Resume data with the .torrent file it belongs to: the file's metadata, the rest as resumed
    (the real engine's resume data of such a torrent lacks the info dictionary)."""
    if file.info_hash != resumed.info_hash:
        raise InvalidTorrentError("the torrent file is not the one the resume data belongs to")
    return dataclasses.replace(
        resumed,
        size=file.size,
        files=file.files,
        has_meta=True,
        piece_length=file.piece_length,
        hashes=file.hashes,
    )


def _from_resume(blob: bytes) -> _Source:
    try:
        saved = orjson.loads(blob)
        h = str(saved["info_hash"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise InvalidTorrentError("invalid resume data: not FakeEngine resume data") from None
    size, done, has_meta = saved["total_size"], saved["total_done"], saved["has_metadata"]
    return _Source(
        h,
        saved["name"],
        # Stored torrents over the tracker limit keep their first MAX_TRACKERS (as the real engine).
        tuple(saved.get("tracker_urls", ()))[:MAX_TRACKERS],
        size=size,
        done=done,
        files=saved["num_files"],
        has_meta=has_meta,
        save_path=saved["save_path"],
        paused=saved["paused"],
        completed=done >= size and has_meta,
    )


Clock = Callable[[], float]


class ManualClock:
    """A monotonic clock that moves only when told to (``advance``); call it for the time in seconds."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        self._now += seconds


def _wall_clock_of(clock: Clock) -> Clock:
    """Unix time that moves with ``clock``: now, plus the clock's elapsed time from now on."""
    origin, wall_origin = clock(), time.time()
    return lambda: wall_origin + (clock() - origin)


def _pieces_have(done: int, size: int, piece_length: int) -> int:
    if piece_length <= 0 or size <= 0:
        return 0
    if done >= size:
        return -(-size // piece_length)
    return done // piece_length


class FakeEngine(FakeEdits):
    """In-memory engine. ``rate`` is the simulated download speed in bytes/s.

    ``clock`` gives the simulation's monotonic time in seconds (``tick()`` advances the torrents by
    the time since the last tick); ``wall_clock`` gives the Unix time stamped on rows (added and
    completed times). Without a ``wall_clock`` it is derived from ``clock``: the Unix time at
    construction plus the clock's elapsed time (plain ``time.time`` over the default clock).
    """

    def __init__(
        self,
        settings: dict[str, bool | int | str] | None = None,
        *,
        rate: int = 50 * 1024 * 1024,
        clock: Clock = time.monotonic,
        wall_clock: Clock | None = None,
    ) -> None:
        self.rate = rate
        self.clock = clock
        if wall_clock is None:
            wall_clock = time.time if clock is time.monotonic else _wall_clock_of(clock)
        self.wall_clock: Clock = wall_clock
        self.settings: dict[str, bool | int | str] = {}
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._rows: dict[str, FakeSummary] = {}
        self._events: list[EngineEvent] = []
        #: The status table's version: bumped by every row change.
        self.version = 0
        self._tombstones: list[tuple[int, str]] = []
        #: Whether ``shutdown()`` has run.
        self.closed = False
        self._last_tick = clock()
        self._completed: set[str] = set()
        self._piece_hashes: dict[str, list[str]] = {}
        self._sources: dict[str, bytes] = {}  # the .torrent of each torrent added from one
        self._tiers: dict[str, list[int]] = {}  # tracker tiers set by replace_trackers()
        self._renamed: dict[str, dict[int, str]] = {}  # file paths set by rename_file()
        #: The addresses ``set_banned()`` blocks.
        self.banned: tuple[str, ...] = ()
        self.apply_settings(dict(settings or {}))

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def fd(self) -> int:
        """An eventfd that is readable while events wait in ``poll()`` (as the real engine's)."""
        self._check_open()
        return self._fd

    def _check_open(self) -> None:
        if self.closed:
            raise EngineClosedError("engine is closed")

    def _emit(self, ev: EngineEvent) -> None:
        self._events.append(ev)
        os.eventfd_write(self._fd, 1)

    def refuse_peer(self, ip: str, port: int, *, banned: bool = False) -> None:
        """Simulate the session refusing a peer (the real engine does so when incoming TCP is off,
        a filter blocks the address, or the peer sent bad data)."""
        self._check_open()
        self._emit(PeerRefused(ip, port, not banned, "" if banned else "TCP is disabled"))

    def _publish(self, row: FakeSummary, **changes: object) -> FakeSummary:
        self.version += 1
        new = dataclasses.replace(row, version=self.version, **changes)  # type: ignore[arg-type]
        if new.state != row.state and row.info_hash in self._rows:
            self._emit(TorrentStateChanged(row.info_hash, row.state, new.state))
        self._rows[row.info_hash] = new
        return new

    def _row(self, info_hash: str) -> FakeSummary:
        self._check_open()
        h = info_hash.lower()
        row = self._rows.get(h)
        if row is None:
            raise TorrentNotFoundError(f"unknown torrent: {h}")
        return row

    def _running_state(self, row: FakeSummary) -> TorrentState:
        if row.total_done >= row.total_size and row.has_metadata:
            return TorrentState.SEEDING
        return TorrentState.DOWNLOADING if self.rate > 0 and row.has_metadata else TorrentState.STALLED

    # -- commands ---------------------------------------------------------------------------------
    def apply_settings(self, settings: dict[str, bool | int | str]) -> None:
        # As libtorrent does: known names only, each with its own value type.
        for k, v in settings.items():
            if not isinstance(v, bool | int | str):
                raise InvalidSettingError(f"engine setting {k} must be a bool, int or str")
            want = setting_type(k)
            if want is None:
                raise InvalidSettingError(f"unknown engine setting: {k}")
            if type(v) is not want:
                raise InvalidSettingError(f"engine setting {k} expects {_ARTICLE[want]}")
        self.settings.update(settings)

    def add(self, request: AddRequest) -> str:
        self._check_open()
        r = request
        given = sum(x is not None for x in (r.magnet, r.torrent if r.resume is None else None, r.resume))
        if given != 1:
            raise InvalidTorrentError("give exactly one of magnet, torrent or resume")
        if r.magnet is not None:
            p = _from_magnet(r.magnet)
        elif r.resume is not None:
            p = _from_resume(r.resume)
            if r.torrent is not None:
                p = _with_file(p, _from_torrent(r.torrent))
        else:
            assert r.torrent is not None
            p = _from_torrent(r.torrent)
        h, name, size, done, has_meta = p.info_hash, p.name, p.size, p.done, p.has_meta
        trackers, piece_length, hashes = p.trackers, p.piece_length, p.hashes
        save_path = r.save_path or p.save_path
        paused = p.paused if r.paused is None else r.paused
        if p.completed:
            self._completed.add(h)
        if not save_path:
            raise InvalidTorrentError("a save path is required")
        if h in self._rows:
            raise DuplicateTorrentError(f"torrent already exists: {h}")
        self.version += 1
        if hashes:
            self._piece_hashes[h] = [hashes[i : i + 20].hex() for i in range(0, len(hashes), 20)]
        row = FakeSummary(
            info_hash=h,
            version=self.version,
            name=name,
            save_path=save_path,
            total_size=size,
            total_wanted=size,
            total_done=done,
            total_wanted_done=done,
            progress=(done / size) if size else 0.0,
            has_metadata=has_meta,
            num_files=p.files,
            piece_length=piece_length,
            num_pieces=len(hashes) // 20,
            pieces_have=_pieces_have(done, size, piece_length),
            paused=paused,
            state=TorrentState.PAUSED if paused else TorrentState.CHECKING,
            added_time=int(self.wall_clock()),
            upload_limit=engine_limit(r.upload_limit),
            download_limit=engine_limit(r.download_limit),
            max_connections=engine_limit(r.max_connections),
            sequential=bool(r.sequential),
            tracker_urls=trackers,
            num_trackers=len(trackers),
        )
        self._rows[h] = row
        if r.torrent is not None:
            self._sources[h] = r.torrent
        if r.renamed_files:
            self._renamed[h] = dict(r.renamed_files)
        self._emit(TorrentAdded(h, name))
        return h

    def pause(self, info_hash: str) -> None:
        row = self._row(info_hash)
        if not row.paused:
            self._publish(row, paused=True, state=TorrentState.PAUSED, download_rate=0, upload_rate=0)

    def resume(self, info_hash: str) -> None:
        row = self._row(info_hash)
        if row.paused:
            self._publish(row, paused=False, state=TorrentState.CHECKING)

    def remove(self, info_hash: str, with_data: bool = False) -> None:
        row = self._row(info_hash)
        del self._rows[row.info_hash]
        self.version += 1
        self._tombstones.append((self.version, row.info_hash))
        self._completed.discard(row.info_hash)
        for kept in (self._piece_hashes, self._sources, self._tiers, self._renamed):
            kept.pop(row.info_hash, None)
        self._emit(TorrentRemoved(row.info_hash))

    def recheck(self, info_hash: str) -> None:
        row = self._row(info_hash)
        if not row.paused:
            self._publish(row, state=TorrentState.CHECKING)

    def reannounce(self, info_hash: str) -> None:
        self._row(info_hash)

    def set_limits(self, info_hash: str, upload: int, download: int) -> None:
        row = self._row(info_hash)
        self._publish(row, upload_limit=engine_limit(upload), download_limit=engine_limit(download))

    def set_sequential(self, info_hash: str, on: bool) -> None:
        self._publish(self._row(info_hash), sequential=on)

    def queue(self, info_hash: str, move: QueueMove) -> None:
        self._row(info_hash)

    def move_storage(self, info_hash: str, path: str, reset_only: bool = False) -> None:
        if not path:
            raise InvalidTorrentError("a destination path is required")
        row = self._publish(self._row(info_hash), save_path=path)
        self._emit(StorageMoved(row.info_hash, path))

    def _resume_blob(self, row: FakeSummary) -> bytes:
        return orjson.dumps(
            {
                "info_hash": row.info_hash,
                "name": row.name,
                "total_size": row.total_size,
                "total_done": row.total_done,
                "has_metadata": row.has_metadata,
                "num_files": row.num_files,
                "save_path": row.save_path,
                "paused": row.paused,
                "tracker_urls": list(row.tracker_urls),
            }
        )

    def save_resume(self, info_hash: str) -> None:
        row = self._row(info_hash)
        self._emit(ResumeDataSaved(row.info_hash, self._resume_blob(row)))

    def save_resume_modified(self, downloading_only: bool = False) -> int:
        self._check_open()
        rows = [
            r
            for r in self._rows.values()
            if not downloading_only or (r.has_metadata and not r.is_finished and not r.paused)
        ]
        for row in rows:
            self._emit(ResumeDataSaved(row.info_hash, self._resume_blob(row)))
        return len(rows)

    def files(self, info_hash: str) -> list[FileInfo]:
        row = self._row(info_hash)
        if not row.has_metadata:
            return []
        n = max(row.num_files, 1)
        each = row.total_size // n
        out = []
        for i in range(n):
            size = each + (row.total_size - each * n if i == n - 1 else 0)
            done = min(size, max(0, row.total_done - each * i))
            path = self._renamed.get(row.info_hash, {}).get(i) or (
                row.name if n == 1 else f"{row.name}/file{i}"
            )
            out.append(FileInfo(i, path, size, done, 4, each * i))
        return out

    def set_file_priorities(self, info_hash: str, priorities: dict[int, int]) -> None:
        row = self._row(info_hash)
        for i, p in priorities.items():
            if not 0 <= i < max(row.num_files, 1):
                raise InvalidTorrentError("file index out of range")
            if not 0 <= p <= 7:
                raise InvalidTorrentError("file priority must be 0..7")

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        row = self._row(info_hash)
        return [
            TrackerInfo(
                url, tiers[i] if i < len(tiers) else i, TrackerStatus.NOT_CONTACTED, -1, -1, -1, -1, ""
            )
            for tiers in [self._tiers.get(row.info_hash, [])]
            for i, url in enumerate(row.tracker_urls)
        ]

    def piece_states(self, info_hash: str) -> bytes:
        """Pieces arrive in order in the simulation: those on disk first, then the rest missing."""
        row = self._row(info_hash)
        if not row.has_metadata:
            return b""
        return b"\x02" * row.pieces_have + b"\x00" * (row.num_pieces - row.pieces_have)

    def piece_hashes(self, info_hash: str) -> list[str]:
        row = self._row(info_hash)
        return list(self._piece_hashes.get(row.info_hash, []))

    def stats(self) -> SessionStats:
        self._check_open()
        return SessionStats(
            download_rate=sum(r.download_rate for r in self._rows.values()),
            downloaded=sum(r.downloaded_session for r in self._rows.values()),
            num_torrents=len(self._rows),
            peers_connected=sum(r.num_peers for r in self._rows.values()),
        )

    # -- table ------------------------------------------------------------------------------------
    def snapshot(self) -> Sequence[TorrentSummary]:
        self._check_open()
        return list(self._rows.values())

    def get(self, info_hash: str) -> TorrentSummary | None:
        self._check_open()
        return self._rows.get(info_hash.lower())

    def changed_since(self, version: int) -> Changes:
        self._check_open()
        rows = [r for r in self._rows.values() if r.version > version]
        removed = [h for v, h in self._tombstones if v > version]
        return Changes(self.version, False, rows, removed)

    def tick(self) -> None:
        """Advance the simulation by the time since the last tick."""
        self._check_open()
        now = self.clock()
        dt, self._last_tick = now - self._last_tick, now
        for row in list(self._rows.values()):
            if row.paused:
                continue
            if row.state == TorrentState.CHECKING:
                row = self._publish(row, state=self._running_state(row))
            if row.state == TorrentState.DOWNLOADING:
                step = int(self.rate * dt)
                done = min(row.total_size, row.total_done + step)
                finished = done >= row.total_size
                row = self._publish(
                    row,
                    total_done=done,
                    total_wanted_done=done,
                    pieces_have=_pieces_have(done, row.total_size, row.piece_length),
                    progress=done / row.total_size if row.total_size else 1.0,
                    downloaded_session=row.downloaded_session + (done - row.total_done),
                    downloaded_total=row.downloaded_total + (done - row.total_done),
                    download_rate=0 if finished else self.rate,
                    is_finished=finished,
                    is_seeding=finished,
                    need_save_resume=True,
                    state=TorrentState.SEEDING if finished else TorrentState.DOWNLOADING,
                    completed_time=int(self.wall_clock()) if finished else 0,
                )
                if finished and row.info_hash not in self._completed:
                    self._completed.add(row.info_hash)
                    self._emit(TorrentCompleted(row.info_hash, row.name))

    def advance(self, seconds: float) -> None:
        """Move the (manual) clock on by ``seconds`` and tick: the simulated progress of that time."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("advance() needs a clock that can be advanced (ManualClock)")
        advance(seconds)
        self.tick()

    def poll(self) -> list[EngineEvent]:
        if self.closed:
            return []
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self._fd)
        out, self._events = self._events, []
        return out

    def shutdown(self, timeout: float = 10.0) -> list[ResumeDataSaved]:
        if self.closed:
            return []
        saved = [ResumeDataSaved(r.info_hash, self._resume_blob(r)) for r in self._rows.values()]
        self.closed = True
        self._rows.clear()
        os.close(self._fd)
        return saved

    def wait_closed(self, timeout: float) -> bool:
        return self.closed
