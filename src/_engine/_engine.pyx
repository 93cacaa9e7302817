# cython: language_level=3, boundscheck=False, wraparound=False, embedsignature=True
# distutils: language = c++
"""revaer._engine: the compiled core over libtorrent-rasterbar.

Lifetimes: an ``Engine`` owns one session. ``drain()`` copies every alert into
plain C++ structs before it returns, so no libtorrent object ever reaches
Python. ``TorrentStatus`` holds a shared pointer to an immutable row of the
status table; holding one never blocks the engine. ``shutdown()`` blocks until
libtorrent has stopped: run it off the event loop. Native objects are counted
(``live_objects()``) so tests can assert that none leaked.
"""

from cython.operator cimport dereference as deref
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool
from libcpp.memory cimport unique_ptr
from libcpp.string cimport string
from libcpp.utility cimport pair
from libcpp.vector cimport vector

from core cimport (
    AddSpec, Changes, Core, Error, Event, FileEntry, ResumeItem, RowPtr, SessionStats, Setting,
    TrackerEntry, libtorrent_version as _lt_version, live_objects as _live_objects,
)

# Event kinds, as drain() reports them.
EV_ADDED = 1
EV_ADD_FAILED = 2
EV_STATE = 3
EV_COMPLETED = 4
EV_REMOVED = 5
EV_DATA_DELETED = 6
EV_ERROR = 7
EV_RESUME_DATA = 8
EV_RESUME_FAILED = 9
EV_METADATA = 10
EV_STORAGE_MOVED = 11
EV_STORAGE_MOVE_FAILED = 12
EV_LISTEN = 13
EV_LISTEN_FAILED = 14

QUEUE_TOP = 0
QUEUE_BOTTOM = 1
QUEUE_UP = 2
QUEUE_DOWN = 3


class EngineError(Exception):
    """libtorrent refused an operation; the message is libtorrent's."""


class InvalidTorrentError(EngineError, ValueError):
    """A magnet link, .torrent file or resume data that cannot be used."""


class InvalidSettingError(EngineError, ValueError):
    """An unknown engine setting or a value of the wrong type."""


class TorrentNotFoundError(EngineError, LookupError):
    """No torrent with that info-hash in this engine."""


class DuplicateTorrentError(EngineError):
    """The torrent is already in this engine."""


class EngineClosedError(EngineError):
    """The engine has been shut down."""


cdef inline str _str(const string& s):
    return s.decode("utf-8", "replace")


cdef inline string _bytes(str s):
    return s.encode("utf-8")


cdef int _check(Error& err, object invalid=InvalidTorrentError) except -1:
    if err.code == 0:
        return 0
    msg = _str(err.message)
    if err.code == 1:
        raise invalid(msg)
    if err.code == 2:
        raise TorrentNotFoundError(msg)
    if err.code == 3:
        raise DuplicateTorrentError(msg)
    if err.code == 5:
        raise EngineClosedError(msg)
    raise EngineError(msg)


cdef vector[Setting] _settings(dict settings) except *:
    cdef vector[Setting] out
    cdef Setting s
    for name, value in settings.items():
        if not isinstance(name, str):
            raise InvalidSettingError(f"engine setting names are strings, got {name!r}")
        s.name = _bytes(name)
        s.s.clear()
        s.i = 0
        if isinstance(value, bool):
            s.kind = 2
            s.i = 1 if value else 0
        elif isinstance(value, int):
            s.kind = 1
            s.i = value
        elif isinstance(value, str):
            s.kind = 0
            s.s = _bytes(value)
        else:
            raise InvalidSettingError(
                f"engine setting {name} must be a bool, int or str, got {type(value).__name__}")
        out.push_back(s)
    return out


cdef object _state_by_code = None


cdef class TorrentStatus:
    """One row of the engine's status table (immutable)."""

    cdef RowPtr row

    def __init__(self) -> None:
        raise TypeError("TorrentStatus rows come from Engine.snapshot()")

    @property
    def state(self) -> object:
        """Revaer's state (revaer.engine.protocol.TorrentState)."""
        global _state_by_code
        if _state_by_code is None:
            from revaer.engine.protocol import STATE_BY_CODE
            _state_by_code = STATE_BY_CODE
        return _state_by_code[self.row.get().state]

    def __repr__(self) -> str:
        return f"<TorrentStatus {self.info_hash} {self.name!r} {self.state} v{self.version}>"

    @property
    def version(self) -> int:
        """Bumped on every change of this row."""
        return self.row.get().version

    @property
    def info_hash(self) -> str:
        """40 hex, lower case: the v1 hash, or the v2 hash truncated (qBittorrent's torrent id)."""
        return _str(self.row.get().info_hash)

    @property
    def info_hash_v2(self) -> str:
        """64 hex v2 hash, or empty."""
        return _str(self.row.get().info_hash_v2)

    @property
    def name(self) -> str:
        """Torrent name (the info-hash until a magnet's metadata arrives)."""
        return _str(self.row.get().name)

    @property
    def save_path(self) -> str:
        """Directory the payload is stored under."""
        return _str(self.row.get().save_path)

    @property
    def current_tracker(self) -> str:
        """URL of the tracker last announced to successfully."""
        return _str(self.row.get().current_tracker)

    @property
    def error(self) -> str:
        """Error message, empty when none."""
        return _str(self.row.get().error)

    @property
    def total_size(self) -> int:
        """Bytes of all files."""
        return self.row.get().total_size

    @property
    def total_wanted(self) -> int:
        """Bytes of the files selected for download."""
        return self.row.get().total_wanted

    @property
    def total_done(self) -> int:
        """Bytes verified on disk."""
        return self.row.get().total_done

    @property
    def total_wanted_done(self) -> int:
        """Bytes verified on disk of the selected files."""
        return self.row.get().total_wanted_done

    @property
    def progress(self) -> float:
        """0.0..1.0 of the wanted bytes."""
        return self.row.get().progress

    @property
    def downloaded_session(self) -> int:
        """Payload bytes downloaded since the torrent was started."""
        return self.row.get().downloaded_session

    @property
    def uploaded_session(self) -> int:
        """Payload bytes uploaded since the torrent was started."""
        return self.row.get().uploaded_session

    @property
    def downloaded_total(self) -> int:
        """Payload bytes downloaded over the torrent's life."""
        return self.row.get().downloaded_total

    @property
    def uploaded_total(self) -> int:
        """Payload bytes uploaded over the torrent's life."""
        return self.row.get().uploaded_total

    @property
    def download_rate(self) -> int:
        """Payload download rate, bytes/s."""
        return self.row.get().download_rate

    @property
    def upload_rate(self) -> int:
        """Payload upload rate, bytes/s."""
        return self.row.get().upload_rate

    @property
    def num_peers(self) -> int:
        """Connected peers, seeds included."""
        return self.row.get().num_peers

    @property
    def num_seeds(self) -> int:
        """Connected seeds."""
        return self.row.get().num_seeds

    @property
    def list_peers(self) -> int:
        """Known peers."""
        return self.row.get().list_peers

    @property
    def list_seeds(self) -> int:
        """Known seeds."""
        return self.row.get().list_seeds

    @property
    def num_complete(self) -> int:
        """Seeds in the swarm per the tracker, -1 unknown."""
        return self.row.get().num_complete

    @property
    def num_incomplete(self) -> int:
        """Leechers in the swarm per the tracker, -1 unknown."""
        return self.row.get().num_incomplete

    @property
    def availability(self) -> float:
        """Distributed copies, -1.0 without metadata."""
        return self.row.get().availability

    @property
    def paused(self) -> bool:
        """Paused (by the user or by the queue)."""
        return self.row.get().paused

    @property
    def auto_managed(self) -> bool:
        """Subject to the queue."""
        return self.row.get().auto_managed

    @property
    def sequential(self) -> bool:
        """Pieces are downloaded in order."""
        return self.row.get().sequential

    @property
    def super_seeding(self) -> bool:
        """Super-seeding mode."""
        return self.row.get().super_seeding

    @property
    def has_metadata(self) -> bool:
        """The info dictionary is known."""
        return self.row.get().has_metadata

    @property
    def is_finished(self) -> bool:
        """Every wanted piece is on disk."""
        return self.row.get().is_finished

    @property
    def is_seeding(self) -> bool:
        """Every piece is on disk."""
        return self.row.get().is_seeding

    @property
    def moving_storage(self) -> bool:
        """A storage move is in progress."""
        return self.row.get().moving_storage

    @property
    def need_save_resume(self) -> bool:
        """Resume data changed since it was last saved."""
        return self.row.get().need_save_resume

    @property
    def upload_mode(self) -> bool:
        """Upload-only after a disk error."""
        return self.row.get().upload_mode

    @property
    def is_private(self) -> bool:
        """Private torrent (no DHT/PeX/LSD)."""
        return self.row.get().is_private

    @property
    def queue_position(self) -> int:
        """Position in the download queue, -1 when not queued."""
        return self.row.get().queue_position

    @property
    def upload_limit(self) -> int:
        """Per-torrent upload limit, bytes/s, -1 unlimited."""
        return self.row.get().upload_limit

    @property
    def download_limit(self) -> int:
        """Per-torrent download limit, bytes/s, -1 unlimited."""
        return self.row.get().download_limit

    @property
    def max_connections(self) -> int:
        """Per-torrent connection limit, -1 unlimited."""
        return self.row.get().max_connections

    @property
    def added_time(self) -> int:
        """POSIX time the torrent was added."""
        return self.row.get().added_time

    @property
    def completed_time(self) -> int:
        """POSIX time it completed, 0 never."""
        return self.row.get().completed_time

    @property
    def last_activity(self) -> int:
        """POSIX time of the last payload transfer, 0 never."""
        return self.row.get().last_activity

    @property
    def last_seen_complete(self) -> int:
        """POSIX time a complete copy was last seen, 0 never."""
        return self.row.get().last_seen_complete

    @property
    def active_duration(self) -> int:
        """Seconds active (started, not paused)."""
        return self.row.get().active_duration

    @property
    def seeding_duration(self) -> int:
        """Seconds seeding."""
        return self.row.get().seeding_duration

    @property
    def finished_duration(self) -> int:
        """Seconds finished."""
        return self.row.get().finished_duration

    @property
    def num_trackers(self) -> int:
        """Number of trackers."""
        return self.row.get().num_trackers

    @property
    def piece_length(self) -> int:
        """Piece size in bytes, 0 without metadata."""
        return self.row.get().piece_length

    @property
    def num_pieces(self) -> int:
        """Number of pieces, 0 without metadata."""
        return self.row.get().num_pieces

    @property
    def pieces_have(self) -> int:
        """Pieces on disk."""
        return self.row.get().pieces_have

    @property
    def checking_resume_data(self) -> bool:
        """Just added: libtorrent is still checking the resume data against the files."""
        return self.row.get().lt_state == 7

    @property
    def num_files(self) -> int:
        """Number of files, 0 without metadata."""
        return self.row.get().num_files


cdef inline TorrentStatus _wrap(const RowPtr& row):
    cdef TorrentStatus st = TorrentStatus.__new__(TorrentStatus)
    st.row = row
    return st


cdef class Engine:
    """One libtorrent session and its status table.

    Every method is synchronous and returns at once: commands are posted to
    libtorrent's thread with the GIL released; the results arrive as events
    from ``drain()`` and as rows of the status table.
    """

    cdef unique_ptr[Core] core

    def __cinit__(self) -> None:
        self.core.reset(new Core())

    def __init__(self, settings: dict | None = None) -> None:
        cdef vector[Setting] v = _settings(dict(settings or {}))
        cdef Error err
        with nogil:
            self.core.get().start(v, err)
        _check(err, InvalidSettingError)

    def __dealloc__(self) -> None:
        with nogil:
            self.core.reset()

    cdef inline Core* _core(self) except NULL:
        if self.core.get() == NULL or self.core.get().closed():
            raise EngineClosedError("engine is closed")
        return self.core.get()

    @property
    def fd(self) -> int:
        """An eventfd that becomes readable when alerts are waiting: call drain()."""
        return self._core().fd()

    @property
    def closed(self) -> bool:
        return self.core.get() == NULL or self.core.get().closed()

    def apply_settings(self, settings: dict) -> None:
        """Apply libtorrent settings by name to the live session."""
        cdef vector[Setting] v = _settings(dict(settings))
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.apply_settings(v, err)
        _check(err, InvalidSettingError)

    def listen_port(self) -> int:
        cdef Error err
        cdef Core* c = self._core()
        cdef int port
        with nogil:
            port = c.listen_port(err)
        _check(err)
        return port

    def add(self, *, magnet: str | None = None, torrent: bytes | None = None,
            resume: bytes | None = None, save_path: str = "", name: str = "",
            paused: bool | None = None, auto_managed: bool = False,
            sequential: bool | None = None, seed_mode: bool = False,
            upload_limit: int = -1, download_limit: int = -1,
            max_connections: int = -1) -> str:
        """Add a torrent from a magnet link, .torrent bytes or resume data.

        Returns the info-hash at once; the torrent appears in the table
        immediately and an EV_ADDED event follows when libtorrent has it.
        ``paused=None`` keeps the state stored in resume data (started otherwise).
        """
        cdef AddSpec spec
        cdef Error err
        cdef string key
        cdef Core* c = self._core()
        given = (magnet is not None) + (torrent is not None) + (resume is not None)
        if given != 1:
            raise InvalidTorrentError("give exactly one of magnet, torrent or resume")
        if magnet is not None:
            spec.magnet = _bytes(magnet)
        if torrent is not None:
            if len(torrent) == 0:
                raise InvalidTorrentError("invalid torrent file: empty")
            spec.torrent = torrent
        if resume is not None:
            if len(resume) == 0:
                raise InvalidTorrentError("invalid resume data: empty")
            spec.resume = resume
        spec.save_path = _bytes(save_path)
        spec.name = _bytes(name)
        spec.paused = -1 if paused is None else (1 if paused else 0)
        if paused is None and resume is None:
            spec.paused = 0
        spec.auto_managed = 1 if auto_managed else 0
        spec.sequential = -1 if sequential is None else (1 if sequential else 0)
        spec.seed_mode = 1 if seed_mode else 0
        spec.upload_limit = upload_limit
        spec.download_limit = download_limit
        spec.max_connections = max_connections
        with nogil:
            key = c.add(spec, err)
        _check(err)
        return _str(key)

    def pause(self, info_hash: str) -> None:
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.pause(h, err)
        _check(err)

    def resume(self, info_hash: str) -> None:
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.resume(h, err)
        _check(err)

    def remove(self, info_hash: str, with_data: bool = False) -> None:
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef cbool wd = with_data
        cdef Core* c = self._core()
        with nogil:
            c.remove(h, wd, err)
        _check(err)

    def recheck(self, info_hash: str) -> None:
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.recheck(h, err)
        _check(err)

    def reannounce(self, info_hash: str) -> None:
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.reannounce(h, err)
        _check(err)

    def set_limits(self, info_hash: str, upload: int, download: int) -> None:
        """Per-torrent rate limits in bytes/s; -1 (or 0) means unlimited."""
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef int up = upload if upload > 0 else -1
        cdef int down = download if download > 0 else -1
        cdef Core* c = self._core()
        with nogil:
            c.set_limits(h, up, down, err)
        _check(err)

    def set_max_connections(self, info_hash: str, max_connections: int) -> None:
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef int m = max_connections
        cdef Core* c = self._core()
        with nogil:
            c.set_max_connections(h, m, err)
        _check(err)

    def set_sequential(self, info_hash: str, on: bool) -> None:
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef cbool o = on
        cdef Core* c = self._core()
        with nogil:
            c.set_sequential(h, o, err)
        _check(err)

    def queue(self, info_hash: str, op: int) -> None:
        """Move in the queue: QUEUE_TOP, QUEUE_BOTTOM, QUEUE_UP or QUEUE_DOWN."""
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef int o = op
        cdef Core* c = self._core()
        with nogil:
            c.queue(h, o, err)
        _check(err, ValueError)

    def move_storage(self, info_hash: str, path: str, reset_only: bool = False) -> None:
        """Move the payload to ``path``; ``reset_only`` when it is already there."""
        cdef string h = _bytes(info_hash.lower())
        cdef string p = _bytes(path)
        cdef Error err
        cdef cbool r = reset_only
        cdef Core* c = self._core()
        with nogil:
            c.move_storage(h, p, r, err)
        _check(err, ValueError)

    def save_resume(self, info_hash: str) -> None:
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.save_resume(h, err)
        _check(err)

    def save_resume_modified(self) -> int:
        """Ask for resume data of every torrent that changed; returns how many."""
        cdef Core* c = self._core()
        cdef int n
        with nogil:
            n = c.save_resume_modified()
        return n

    def connect_peer(self, info_hash: str, ip: str, port: int) -> None:
        cdef string h = _bytes(info_hash.lower())
        cdef string a = _bytes(ip)
        cdef int p = port
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.connect_peer(h, a, p, err)
        _check(err, ValueError)

    def files(self, info_hash: str) -> list:
        """(index, path, size, bytes done, priority, offset) per file; empty without metadata."""
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef vector[FileEntry] v
        cdef Core* c = self._core()
        with nogil:
            v = c.files(h, err)
        _check(err)
        return [(f.index, _str(f.path), f.size, f.done, f.priority, f.offset) for f in v]

    def set_file_priorities(self, info_hash: str, priorities: dict) -> None:
        """Set priorities {file index: 0..7}."""
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef vector[pair[int, int]] v
        for k, p in priorities.items():
            v.push_back(pair[int, int](k, p))
        cdef Core* c = self._core()
        with nogil:
            c.set_file_priorities(h, v, err)
        _check(err, ValueError)

    def trackers(self, info_hash: str) -> list:
        """(url, tier, status, seeds, peers, leeches, downloaded, message) per tracker."""
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef vector[TrackerEntry] v
        cdef Core* c = self._core()
        with nogil:
            v = c.trackers(h, err)
        _check(err)
        return [(t.url.decode("utf-8", "replace"), t.tier, t.status, t.seeds, t.peers, t.leeches,
                 t.downloaded, t.message.decode("utf-8", "replace")) for t in v]

    def piece_states(self, info_hash: str) -> bytes:
        """One byte per piece: 0 missing, 1 being downloaded, 2 on disk; empty without metadata."""
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef string v
        cdef Core* c = self._core()
        with nogil:
            v = c.piece_states(h, err)
        _check(err)
        return bytes(v)

    def piece_hashes(self, info_hash: str) -> list:
        """The v1 SHA-1 hash of every piece, as hex; empty without metadata or for v2-only torrents."""
        cdef string h = _bytes(info_hash.lower())
        cdef Error err
        cdef vector[string] v
        cdef Core* c = self._core()
        with nogil:
            v = c.piece_hashes(h, err)
        _check(err)
        return [x.decode("ascii") for x in v]

    def stats(self) -> dict:
        cdef SessionStats s
        cdef Core* c = self._core()
        with nogil:
            s = c.stats()
        return {
            "download_rate": s.download_rate, "upload_rate": s.upload_rate,
            "downloaded": s.downloaded, "uploaded": s.uploaded,
            "downloaded_wire": s.downloaded_wire, "uploaded_wire": s.uploaded_wire,
            "dht_nodes": s.dht_nodes, "peers_connected": s.peers_connected,
            "num_torrents": s.num_torrents,
            "listen_port": s.listen_port,
        }

    def post_updates(self) -> None:
        """Ask libtorrent for changed torrent rows and session counters (answered via drain())."""
        cdef Core* c = self._core()
        with nogil:
            c.post_updates()

    def drain(self) -> list:
        """Pop every waiting alert; returns (kind, info_hash, text, data, a, b) tuples."""
        cdef vector[Event] v
        cdef Core* c = self.core.get()
        if c == NULL or c.closed():
            return []
        with nogil:
            c.drain(v)
        out = []
        cdef size_t i
        cdef Event* ev
        for i in range(v.size()):
            ev = &v[i]
            out.append((
                ev.kind, _str(ev.info_hash), _str(ev.text),
                <bytes>ev.data if ev.data.size() else None, ev.a, ev.b))
        return out

    def snapshot(self) -> list:
        """Every row of the status table (no libtorrent call)."""
        cdef vector[RowPtr] rows
        cdef Core* c = self._core()
        with nogil:
            rows = c.snapshot()
        cdef list out = [None] * rows.size()
        cdef size_t i
        for i in range(rows.size()):
            out[i] = _wrap(rows[i])
        return out

    def get(self, info_hash: str) -> TorrentStatus | None:
        cdef string h = _bytes(info_hash.lower())
        cdef RowPtr row
        cdef Core* c = self._core()
        with nogil:
            row = c.get(h)
        if row.get() == NULL:
            return None
        return _wrap(row)

    @property
    def version(self) -> int:
        """Version of the last change to the table."""
        return self._core().version()

    def changed_since(self, version: int) -> tuple:
        """(version, resync, changed rows, removed info-hashes) since ``version``.

        ``resync`` is true when removals that old are no longer kept: take a snapshot.
        """
        cdef Changes ch
        cdef int64_t v = version
        cdef Core* c = self._core()
        with nogil:
            ch = c.changed_since(v)
        cdef list rows = [None] * ch.rows.size()
        cdef size_t i
        for i in range(ch.rows.size()):
            rows[i] = _wrap(ch.rows[i])
        return ch.version, ch.resync, rows, [_str(s) for s in ch.removed]

    def shutdown(self, timeout: float = 10.0) -> list:
        """Save resume data for every torrent, then stop the session.

        Blocks (GIL released) until libtorrent has stopped; returns
        (info_hash, resume data) pairs. Later calls return [].
        """
        cdef vector[ResumeItem] items
        cdef int ms = int(timeout * 1000)
        cdef Core* c = self.core.get()
        if c == NULL or c.closed():
            return []
        with nogil:
            items = c.shutdown(ms)
        return [(_str(it.info_hash), <bytes>it.data) for it in items]


def live_objects() -> int:
    """Native objects (engines, status rows) alive in this process."""
    return _live_objects()


def libtorrent_version() -> str:
    return _str(_lt_version())
