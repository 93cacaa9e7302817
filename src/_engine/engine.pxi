# The Engine extension type. Included by _engine.pyx.


# The commands that take only an info-hash (Engine._act).
cdef enum _Act:
    ACT_PAUSE
    ACT_RESUME
    ACT_RECHECK
    ACT_REANNOUNCE
    ACT_SAVE_RESUME


cdef class Engine:
    """One libtorrent session and its status table.

    Every method is synchronous and returns at once: commands are posted to
    libtorrent's thread with the GIL released; the results arrive as events
    from ``drain()`` and as rows of the status table. ``states`` maps the
    engine's state codes to the objects ``TorrentStatus.state`` returns (the
    shell passes ``STATE_BY_CODE``), so the extension imports no shell types.
    """

    cdef unique_ptr[Core] core
    cdef tuple states

    def __cinit__(self) -> None:
        self.core.reset(new Core())

    def __init__(self, settings: dict | None = None, *, states: tuple) -> None:
        cdef vector[Setting] v = _settings(dict(settings or {}))
        cdef Error err
        self.states = tuple(states)
        with nogil:
            self.core.get().start(v, err)
        _check(err, InvalidSettingError)

    def __dealloc__(self) -> None:
        cdef Core* c = self.core.get()
        if c == NULL:
            return
        if c.fd() >= 0 and not c.closed():
            # Still torn down below (a session never outlives its Engine), but without the
            # resume data shutdown() would have saved: say so.
            _warnings.warn(f"unclosed revaer._engine.Engine (fd {c.fd()}): call shutdown()",
                           ResourceWarning, stacklevel=1)
        with nogil:
            self.core.reset()

    cdef inline Core* _core(self) except NULL:
        if self.core.get() == NULL or self.core.get().closed():
            raise EngineClosedError("engine is closed")
        return self.core.get()

    cdef int _act(self, str info_hash, _Act act) except -1:
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            if act == ACT_PAUSE:
                c.pause(h, err)
            elif act == ACT_RESUME:
                c.resume(h, err)
            elif act == ACT_RECHECK:
                c.recheck(h, err)
            elif act == ACT_REANNOUNCE:
                c.reannounce(h, err)
            else:
                c.save_resume(h, err)
        return _check(err)

    @property
    def fd(self) -> int:
        """An eventfd that becomes readable when alerts are waiting: call drain()."""
        return self._core().fd()

    @property
    def closed(self) -> bool:
        """True once shutdown() has run."""
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
        """The TCP port the session listens on."""
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
            upload_limit: int = UNLIMITED, download_limit: int = UNLIMITED,
            max_connections: int = UNLIMITED, renamed_files: tuple = ()) -> str:
        """Add a torrent from a magnet link, .torrent bytes or resume data.

        Returns the info-hash at once; the torrent appears in the table
        immediately and an EV_ADDED event follows when libtorrent has it.
        ``paused=None`` keeps the state stored in resume data (started otherwise).
        Resume data may come with the .torrent bytes it belongs to: a torrent
        added from (or restored with) its .torrent file saves its resume data
        without the info dictionary, the caller keeping the file.
        """
        cdef AddSpec spec
        cdef Error err
        cdef string key
        cdef Core* c = self._core()
        given = (magnet is not None) + (torrent is not None and resume is None) + (resume is not None)
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
        for index, path in renamed_files:
            spec.renamed_files.push_back(pair[int, string](index, _bytes(path)))
        with nogil:
            key = c.add(spec, err)
        _check(err)
        return _str(key)

    def add_torrents(self, torrents: list, **options) -> list:
        """Add .torrent files (bytes) with the same options, as ``add()`` adds each, the GIL
        released once for all of them (not once per file, which a busy event loop makes wait for
        the GIL again each time). ``options``: add()'s keyword arguments but the source ones. Per file
        its info-hash, or the exception ``add()`` would raise."""
        cdef AddSpec spec
        cdef vector[AddSpec] specs
        cdef vector[Error] errs
        cdef vector[string] keys
        cdef Core* c = self._core()
        cdef size_t i, n = len(torrents)
        paused = options.get("paused")
        sequential = options.get("sequential")
        spec.save_path = _bytes(options.get("save_path", ""))
        spec.name = _bytes(options.get("name", ""))
        spec.paused = 0 if paused is None else (1 if paused else 0)
        spec.auto_managed = 1 if options.get("auto_managed") else 0
        spec.sequential = -1 if sequential is None else (1 if sequential else 0)
        spec.seed_mode = 1 if options.get("seed_mode") else 0
        spec.upload_limit = options.get("upload_limit", UNLIMITED)
        spec.download_limit = options.get("download_limit", UNLIMITED)
        spec.max_connections = options.get("max_connections", UNLIMITED)
        for torrent in torrents:
            spec.torrent = torrent
            specs.push_back(spec)
        errs.resize(n)
        keys.resize(n)
        with nogil:
            for i in range(n):
                keys[i] = c.add(specs[i], errs[i])
        out = []
        for i in range(n):
            try:
                _check(errs[i])
                out.append(_str(keys[i]))
            except Exception as e:
                out.append(e)
        return out

    def pause(self, info_hash: str) -> None:
        """Pause the torrent (and take it out of the queue)."""
        self._act(info_hash, ACT_PAUSE)

    def resume(self, info_hash: str) -> None:
        """Start the torrent again."""
        self._act(info_hash, ACT_RESUME)

    def remove(self, info_hash: str, with_data: bool = False) -> None:
        """Remove the torrent from the session (and its files when ``with_data``)."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef cbool wd = with_data
        cdef Core* c = self._core()
        with nogil:
            c.remove(h, wd, err)
        _check(err)

    def recheck(self, info_hash: str) -> None:
        """Check the torrent's files against its piece hashes."""
        self._act(info_hash, ACT_RECHECK)

    def reannounce(self, info_hash: str) -> None:
        """Announce to every tracker now."""
        self._act(info_hash, ACT_REANNOUNCE)

    def set_limits(self, info_hash: str, upload: int, download: int) -> None:
        """Per-torrent rate limits in bytes/s; UNLIMITED (or any value <= 0) means none."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef int up = upload if upload > 0 else UNLIMITED
        cdef int down = download if download > 0 else UNLIMITED
        cdef Core* c = self._core()
        with nogil:
            c.set_limits(h, up, down, err)
        _check(err)

    def set_max_connections(self, info_hash: str, max_connections: int) -> None:
        """Per-torrent connection limit; UNLIMITED (or any value <= 0) means none."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef int m = max_connections if max_connections > 0 else UNLIMITED
        cdef Core* c = self._core()
        with nogil:
            c.set_max_connections(h, m, err)
        _check(err)

    def set_sequential(self, info_hash: str, on: bool) -> None:
        """Download pieces in order (or not)."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef cbool o = on
        cdef Core* c = self._core()
        with nogil:
            c.set_sequential(h, o, err)
        _check(err)

    def queue(self, info_hash: str, op: int) -> None:
        """Move in the queue: QUEUE_TOP, QUEUE_BOTTOM, QUEUE_UP or QUEUE_DOWN."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef int o = op
        cdef Core* c = self._core()
        with nogil:
            c.queue(h, o, err)
        _check(err)

    def move_storage(self, info_hash: str, path: str, reset_only: bool = False) -> None:
        """Move the payload to ``path``; ``reset_only`` when it is already there."""
        cdef string h = _hash(info_hash)
        cdef string p = _bytes(path)
        cdef Error err
        cdef cbool r = reset_only
        cdef Core* c = self._core()
        with nogil:
            c.move_storage(h, p, r, err)
        _check(err)

    def save_resume(self, info_hash: str) -> None:
        """Ask for the torrent's resume data (an EV_RESUME_DATA event follows)."""
        self._act(info_hash, ACT_SAVE_RESUME)

    def save_resume_modified(self, downloading_only: bool = False) -> int:
        """Ask for resume data of every torrent that changed (or of those still downloading); returns how many."""
        cdef Core* c = self._core()
        cdef int n
        cdef cbool d = downloading_only
        with nogil:
            n = c.save_resume_modified(d)
        return n

    def connect_peer(self, info_hash: str, ip: str, port: int) -> None:
        """Connect the torrent to a peer at ``ip``:``port``."""
        cdef string h = _hash(info_hash)
        cdef string a = _bytes(ip)
        cdef int p = port
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.connect_peer(h, a, p, err)
        _check(err)

    def files(self, info_hash: str) -> list:
        """(index, path, size, bytes done, priority, offset) per file; empty without metadata."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef vector[FileEntry] v
        cdef Core* c = self._core()
        with nogil:
            v = c.files(h, err)
        _check(err)
        return [(f.index, _str(f.path), f.size, f.done, f.priority, f.offset) for f in v]

    def set_file_priorities(self, info_hash: str, priorities: dict) -> None:
        """Set priorities {file index: 0..7}."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef vector[pair[int, int]] v
        for k, p in priorities.items():
            v.push_back(pair[int, int](k, p))
        cdef Core* c = self._core()
        with nogil:
            c.set_file_priorities(h, v, err)
        _check(err)

    def trackers(self, info_hash: str) -> list:
        """(url, tier, status, seeds, peers, leeches, downloaded, message) per tracker."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef vector[TrackerEntry] v
        cdef Core* c = self._core()
        with nogil:
            v = c.trackers(h, err)
        _check(err)
        return [(_str(t.url), t.tier, t.status, t.seeds, t.peers, t.leeches, t.downloaded, _str(t.message))
                for t in v]

    def piece_states(self, info_hash: str) -> bytes:
        """One byte per piece: 0 missing, 1 being downloaded, 2 on disk; empty without metadata."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef string v
        cdef Core* c = self._core()
        with nogil:
            v = c.piece_states(h, err)
        _check(err)
        return bytes(v)

    def piece_hashes(self, info_hash: str) -> list:
        """The v1 SHA-1 hash of every piece, as hex; empty without metadata or for v2-only torrents."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef vector[string] v
        cdef Core* c = self._core()
        with nogil:
            v = c.piece_hashes(h, err)
        _check(err)
        return [x.decode("ascii") for x in v]

    def replace_trackers(self, info_hash: str, trackers: list) -> None:
        """Set the torrent's whole tracker list, (url, tier) pairs in order."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef vector[pair[string, int]] v
        for url, tier in trackers:
            v.push_back(pair[string, int](_bytes(url), tier))
        cdef Core* c = self._core()
        with nogil:
            c.replace_trackers(h, v, err)
        _check(err)

    def rename_file(self, info_hash: str, index: int, path: str) -> None:
        """Rename file ``index`` to ``path`` (relative to the save path; libtorrent renames it on disk
        in the background, ``files()`` shows the new path once it has)."""
        cdef string h = _hash(info_hash)
        cdef string p = _bytes(path)
        cdef int i = index
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.rename_file(h, i, p, err)
        _check(err)

    def torrent_file(self, info_hash: str) -> bytes:
        """The torrent's .torrent file (current trackers and web seeds)."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef string v
        cdef Core* c = self._core()
        with nogil:
            v = c.torrent_file(h, err)
        _check(err)
        return bytes(v)

    def peers(self, info_hash: str) -> list:
        """(ip, port, client, flags, utp, progress, down rate, up rate, downloaded, uploaded) per peer."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef vector[PeerEntry] v
        cdef Core* c = self._core()
        with nogil:
            v = c.peers(h, err)
        _check(err)
        return [(_str(p.ip), p.port, _str(p.client), _str(p.flags), p.utp, p.progress, p.download_rate,
                 p.upload_rate, p.downloaded, p.uploaded) for p in v]

    def set_banned(self, addresses: list) -> None:
        """Block exactly these peer addresses (the session's IP filter)."""
        cdef vector[string] v
        for a in addresses:
            v.push_back(_bytes(a))
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.set_banned(v, err)
        _check(err, InvalidSettingError)

    def set_super_seeding(self, info_hash: str, on: bool) -> None:
        """Super seeding (BEP 16) on or off; the row shows it at once."""
        cdef string h = _hash(info_hash)
        cdef cbool o = on
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.set_super_seeding(h, o, err)
        _check(err)

    def set_first_last_priority(self, info_hash: str, on: bool) -> None:
        """The first and last piece of each wanted file first (or back to the file's priority)."""
        cdef string h = _hash(info_hash)
        cdef cbool o = on
        cdef Error err
        cdef Core* c = self._core()
        with nogil:
            c.set_first_last_priority(h, o, err)
        _check(err)

    def torrent_meta(self, info_hash: str) -> tuple:
        """(comment, creator, creation date or -1, web seed URLs) of the torrent's .torrent."""
        cdef string h = _hash(info_hash)
        cdef Error err
        cdef TorrentMeta m
        cdef Core* c = self._core()
        with nogil:
            m = c.torrent_meta(h, err)
        _check(err)
        return _str(m.comment), _str(m.creator), m.creation_date, list(_strs(m.web_seeds))

    def stats(self) -> dict:
        """Session-wide counters (as of the last post_updates())."""
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

    cdef list _wrap_all(self, const vector[RowPtr]& rows):
        cdef list out = [None] * rows.size()
        cdef size_t i
        for i in range(rows.size()):
            out[i] = _wrap(rows[i], self.states)
        return out

    def snapshot(self) -> list:
        """Every row of the status table (no libtorrent call)."""
        cdef vector[RowPtr] rows
        cdef Core* c = self._core()
        with nogil:
            rows = c.snapshot()
        return self._wrap_all(rows)

    def get(self, info_hash: str) -> TorrentStatus | None:
        """The row of one torrent, or None (no libtorrent call)."""
        cdef string h = _hash(info_hash)
        cdef RowPtr row
        cdef Core* c = self._core()
        with nogil:
            row = c.get(h)
        if row.get() == NULL:
            return None
        return _wrap(row, self.states)

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
        return ch.version, ch.resync, self._wrap_all(ch.rows), [_str(s) for s in ch.removed]

    def shutdown(self, timeout: float = 10.0) -> list:
        """Save resume data for every torrent, then stop the session.

        Blocks (GIL released) while the resume data is saved; returns
        (info_hash, resume data) pairs. Later calls return []. libtorrent's
        teardown goes on in a thread of its own: see wait_closed().
        """
        cdef vector[ResumeItem] items
        cdef int ms = int(timeout * 1000)
        cdef Core* c = self.core.get()
        if c == NULL or c.closed():
            return []
        with nogil:
            items = c.shutdown(ms)
        return [(_str(it.info_hash), <bytes>it.data) for it in items]

    def wait_closed(self, timeout: float) -> bool:
        """After shutdown(): whether libtorrent's teardown finished within ``timeout`` s.

        Blocks (GIL released) up to ``timeout``. Collecting the engine waits for the teardown.
        """
        cdef int ms = int(timeout * 1000)
        cdef Core* c = self.core.get()
        cdef cbool done
        if c == NULL:
            return True
        with nogil:
            done = c.wait_closed(ms)
        return done
