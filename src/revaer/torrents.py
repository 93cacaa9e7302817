"""Torrents as users see them: the engine's rows plus category and tags, persisted in the registry.

Both HTTP APIs (``/v1`` and the qBittorrent façade) go through ``TorrentService``:
it checks save paths against the allowed roots, adds to the engine, records
the torrent in the database, and keeps the database current from the engine's
events (state, completion, resume data) so a restart re-adds every torrent
from its resume data without re-downloading.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from revaer.categories import CategoryStore, check_tags
from revaer.db.pool import DatabaseUnavailable
from revaer.engine import offloop
from revaer.engine.errors import EngineError, TorrentNotFoundError
from revaer.engine.protocol import (
    AddRequest,
    Changes,
    Engine,
    EngineEvent,
    FileInfo,
    MetadataReceived,
    PeerInfo,
    QueueMove,
    ResumeDataSaved,
    SessionStats,
    StorageMoved,
    TorrentAdded,
    TorrentCompleted,
    TorrentMeta,
    TorrentRemoved,
    TorrentStateChanged,
    TorrentSummary,
    TrackerInfo,
)
from revaer.labels import Labels, normalize_tags
from revaer.memory import RELEASER
from revaer.paths import confine
from revaer.registry import TorrentNotStored, TorrentRegistry
from revaer.restore import Restore, Stored, split_stored
from revaer.torrent_adds import AddOptions, AddsMixin

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["AddOptions", "TorrentService"]


# How long an acknowledgement may wait for the database (answered 503 ``no_database`` after it).
COMMIT_TIMEOUT = 5.0


def _outcome_logged(fut: asyncio.Future[None]) -> None:
    # A commit no longer waited for: its failure is the registry's to retry and log, not the loop's.
    if not fut.cancelled():
        fut.exception()


class TorrentService(AddsMixin):
    """The torrents of this node: the engine's rows with their labels, kept in the registry.

    Every change goes through a method here, never to the engine directly, so
    the bookkeeping (labels, the listing index, the registry, the log) cannot
    be skipped. Commands on one torrent raise ``TorrentNotFoundError`` for an
    unknown info-hash.
    """

    __slots__ = (
        "_add_defaults",
        "_categories",
        "_commit_timeout",
        "_download_root",
        "_early",
        "_engine",
        "_extra_roots",
        "_keys",
        "_label_clock",
        "_labels",
        "_labels_view",
        "_order",
        "_registry",
        "_restored",
    )

    def __init__(
        self,
        engine: Engine,
        registry: TorrentRegistry | None,
        download_root: Path,
        extra_roots: Iterable[Path] = (),
        categories: CategoryStore | None = None,
        add_defaults: Callable[[AddRequest], AddRequest] | None = None,
        commit_timeout: float = COMMIT_TIMEOUT,
    ) -> None:
        self._engine = engine
        # Fills in what an add leaves unset from the config's torrent.defaults (the engine bridge's).
        self._add_defaults = add_defaults
        self._commit_timeout = commit_timeout
        self._registry = registry
        self._download_root = download_root
        self._extra_roots = list(extra_roots)
        self._categories = categories if categories is not None else CategoryStore()
        self._labels: dict[str, Labels] = {}
        self._labels_view: Mapping[str, Labels] = MappingProxyType(self._labels)
        self._label_clock = 0
        # Every torrent's listing key (added_time, info_hash), kept sorted: a listing page is a slice.
        self._order: list[tuple[int, str]] = []
        self._keys: dict[str, tuple[int, str]] = {}
        self._restored: set[str] = set()  # restored from stored resume data, not yet added by libtorrent
        self._early: set[str] = set()  # added by the engine, not booked yet (torrent_adds)

    # -- read-only state --------------------------------------------------------------------------
    @property
    def labels(self) -> Mapping[str, Labels]:
        """Labels by info-hash (a live, read-only view; torrents without labels may be missing)."""
        return self._labels_view

    @property
    def label_clock(self) -> int:
        """The newest version stamped on any ``Labels`` (a cheap "did any label change" check)."""
        return self._label_clock

    @property
    def order(self) -> Sequence[tuple[int, str]]:
        """Every torrent's ``(added_time, info_hash)``, sorted: the listing order (read only)."""
        return self._order

    @property
    def categories(self) -> CategoryStore:
        return self._categories

    @property
    def engine_closed(self) -> bool:
        """Whether the engine has shut down (health reports it)."""
        return bool(getattr(self._engine, "closed", False))

    def labels_of(self, h: str) -> Labels:
        """The torrent's labels (empty ones for a torrent without)."""
        return self._labels.get(h) or Labels()

    def _track(self, h: str) -> None:
        if h in self._keys:
            return
        row = self._engine.get(h)
        key = (row.added_time if row is not None else 0, h)
        self._keys[h] = key
        bisect.insort(self._order, key)

    def _untrack(self, h: str) -> None:
        key = self._keys.pop(h, None)
        if key is not None:
            i = bisect.bisect_left(self._order, key)
            if i < len(self._order) and self._order[i] == key:
                del self._order[i]

    def _adopt(self, h: str, category: str, tags: Iterable[str]) -> None:
        self._labels[h] = lab = Labels(category, tuple(tags))
        self._stamp(lab)

    def _stamp(self, lab: Labels) -> None:
        self._label_clock += 1
        lab.version = self._label_clock

    # -- paths ------------------------------------------------------------------------------------
    @property
    def download_root(self) -> Path:
        """Where torrents go without a save path of their own."""
        return self._download_root

    @property
    def extra_roots(self) -> list[Path]:
        """The category rules' roots (a copy)."""
        return list(self._extra_roots)

    @property
    def roots(self) -> list[Path]:
        """Every directory user paths may lie in: the download root and the category rules' roots."""
        return [self._download_root, *self._extra_roots]

    def set_roots(self, download_root: Path, extra_roots: Iterable[Path]) -> None:
        """New roots (a config change): new adds use them at once; added torrents stay where they are."""
        self._download_root = download_root
        self._extra_roots = list(extra_roots)

    def confine(self, path: str, *, relative: bool = False) -> str:
        """``path`` normalized and confined to the roots (else PathNotAllowedError); with ``relative``,
        a relative path is taken under the download root (as qBittorrent takes category paths)."""
        if relative and path and not os.path.isabs(path):
            path = os.path.join(self._download_root, path)
        return confine(path, self.roots)

    def make_location(self, path: str) -> str:
        """``path`` confined to the roots and created (PathNotAllowedError, OSError): a move target."""
        confined = confine(path, self.roots)
        os.makedirs(confined, exist_ok=True)
        return confined

    def save_path_for(self, requested: str | None, category: str) -> str:
        """The requested path (confined to the roots), else the category's, else the download root's."""
        if requested:
            return confine(requested, self.roots)
        cat = self._categories.categories.get(category) if category else None
        if cat is not None and cat.save_path:
            return confine(cat.save_path, self.roots)
        base = self._download_root
        return str(base / category) if category else str(base)

    # -- commands ---------------------------------------------------------------------------------
    def remove(self, h: str, with_data: bool = False) -> None:
        self._engine.remove(h, with_data)
        self._labels.pop(h.lower(), None)
        self._untrack(h.lower())
        if self._registry is not None:
            self._registry.deleted(h.lower())
        log.info("torrent removed", extra={"info_hash": h.lower(), "with_data": with_data})

    def start_commit(self, hashes: Sequence[str]) -> None:
        """Start committing ``hashes`` (the adds so far of a request that adds more): the database
        writes them while the request adds the rest. Acknowledge only after ``commit()``, which
        waits for these too."""
        if self._registry is not None and hashes:
            early = asyncio.ensure_future(self._registry.commit([h.lower() for h in hashes]))
            early.add_done_callback(_outcome_logged)

    async def commit(self, hashes: Sequence[str] = ()) -> None:
        """Wait until every change made so far is committed to the database (acknowledge after this).

        Adds and removals are in the registry's next flush, which concurrent requests share. A torrent
        among ``hashes`` whose row the database refused is removed again (what is not stored must not
        run either) and ``TorrentNotStored`` raised.
        """
        if self._registry is None:
            return
        added = [h.lower() for h in hashes]
        # Not cancelled on time-out: the registry's flush runs to its end (cancelling one half-way
        # would leave its batch in doubt); the outcome is only no longer waited for.
        waiting = asyncio.ensure_future(self._registry.commit(added))
        done, _ = await asyncio.wait({waiting}, timeout=self._commit_timeout)
        if waiting not in done:
            waiting.add_done_callback(_outcome_logged)
            # The database is away: what was not acknowledged must not run. Other changes (labels)
            # stay queued and are written once it is back.
            for h in added:
                with contextlib.suppress(EngineError):
                    self.remove(h)
            raise DatabaseUnavailable(
                f"the database did not commit within {self._commit_timeout:g} s; try again"
            )
        try:
            waiting.result()
        except TorrentNotStored as e:
            for h in e.refused:
                with contextlib.suppress(EngineError):
                    self.remove(h)
            raise

    def set_labels(self, h: str, *, category: str | None = None, tags: Iterable[str] | None = None) -> None:
        h = h.lower()
        if self._engine.get(h) is None:
            raise TorrentNotFoundError(f"unknown torrent: {h}")
        cur = self._labels.setdefault(h, Labels())
        if category is not None:
            self._categories.ensure_category(category)
            cur.category = category
        if tags is not None:
            new = normalize_tags(tags)
            check_tags(new)
            cur.tags = new
            self._categories.ensure_tags(cur.tags)
        self._stamp(cur)
        if self._registry is not None:
            self._registry.labels(h, cur.category, cur.tags)

    async def remove_categories(self, names: Iterable[str]) -> list[str]:
        """Remove categories; their torrents become uncategorized."""
        gone = set(await self._categories.remove_categories(names))
        for lab in self._labels.values():
            if lab.category in gone:
                lab.category = ""  # the database does the same (ON DELETE SET NULL)
                self._stamp(lab)
        return sorted(gone)

    async def delete_tags(self, names: Iterable[str]) -> list[str]:
        """Delete tags, from every torrent too."""
        gone = set(await self._categories.delete_tags(names))
        for h, lab in self._labels.items():
            if gone & set(lab.tags):
                lab.tags = tuple(t for t in lab.tags if t not in gone)
                self._stamp(lab)
                if self._registry is not None:
                    self._registry.labels(h, lab.category, lab.tags)
        return sorted(gone)

    # -- per-torrent commands -----------------------------------------------------------------------
    def existing(self, hashes: Iterable[str] | None) -> list[str]:
        """The info-hashes among ``hashes`` that name a torrent (in their order); None: every torrent."""
        if hashes is None:
            return [r.info_hash for r in self._engine.snapshot()]
        return [h for h in hashes if self._engine.get(h) is not None]

    def _row(self, h: str) -> TorrentSummary:
        row = self._engine.get(h)
        if row is None:
            raise TorrentNotFoundError(f"unknown torrent: {h}")
        return row

    @staticmethod
    def _run(command: Callable[[str], None], h: str, done: str) -> None:
        command(h)
        log.debug(done, extra={"info_hash": h})

    def pause(self, h: str) -> None:
        """Stop transferring (the torrent stays, paused)."""
        self._run(self._engine.pause, h, "torrent paused")

    def resume(self, h: str) -> None:
        """Start transferring again."""
        self._run(self._engine.resume, h, "torrent resumed")

    def recheck(self, h: str) -> None:
        """Check the torrent's files against its piece hashes."""
        self._run(self._engine.recheck, h, "torrent recheck started")

    def reannounce(self, h: str) -> None:
        """Announce to every tracker now."""
        self._run(self._engine.reannounce, h, "torrent reannounced")

    def set_limits(self, h: str, *, upload: int | None = None, download: int | None = None) -> None:
        """Per-torrent rate limits in bytes/s (−1: unlimited); None keeps a limit as it is."""
        row = self._row(h)
        up = row.upload_limit if upload is None else upload
        down = row.download_limit if download is None else download
        self._engine.set_limits(h, up, down)
        log.debug("torrent limits set", extra={"info_hash": h, "upload": up, "download": down})

    def set_sequential(self, h: str, on: bool) -> None:
        """Download pieces in order (for streaming) or rarest first."""
        self._engine.set_sequential(h, on)
        log.debug("torrent sequential set", extra={"info_hash": h, "sequential": on})

    def toggle_sequential(self, h: str) -> bool:
        """Flip sequential download; the new setting."""
        on = not self._row(h).sequential
        self.set_sequential(h, on)
        return on

    def queue(self, h: str, move: QueueMove) -> None:
        """Move the torrent in the engine's queue."""
        self._engine.queue(h, move)
        log.debug("torrent queue move", extra={"info_hash": h, "move": move.name})

    def move_storage(self, h: str, path: str) -> None:
        """Move the torrent's files to ``path`` (confined to the roots; PathNotAllowedError).

        The registry learns the new path from the engine's ``StorageMoved``, once the move is done.
        """
        target = confine(path, self.roots)
        self._engine.move_storage(h, target)
        log.info("torrent storage move", extra={"info_hash": h, "path": target})

    def set_file_priorities(self, h: str, priorities: dict[int, int]) -> None:
        """Priorities (libtorrent's 0-7) of files by index; the others keep theirs."""
        self._engine.set_file_priorities(h, priorities)
        log.debug("torrent file priorities set", extra={"info_hash": h, "files": len(priorities)})

    def apply_session_settings(self, settings: dict[str, bool | int | str]) -> None:
        """Session-wide engine settings by name (InvalidSettingError for an unknown or wrong one)."""
        self._engine.apply_settings(settings)
        log.info("session settings applied", extra={"settings": sorted(settings)})

    # -- restart ----------------------------------------------------------------------------------
    async def _load_stored(self) -> Stored:
        if self._registry is None:
            return [], []
        stored = await split_stored(await self._registry.load(), self._adopt, self._add_defaults)
        self._restored = {h for h, _ in stored[0]}
        return stored

    async def restore(self, progress: Restore | None = None) -> int:
        """Re-add every stored torrent in its last state: from its resume data (and .torrent file),
        else (acknowledged before its first resume data) from its source. The rows are read once
        (the labels of all are known before the first add); the engine parses them in batches off
        the loop (10,000 torrents: ~3 s of parsing) while the server serves: ``progress``, begun
        by the caller, counts them."""
        if progress is None:
            progress = Restore()
            progress.begin()
        try:
            resumed, sourced = await self._load_stored()
            progress.total = len(resumed) + len(sourced)
            n = await self._add_all(resumed, progress)
            m = await self._add_all(sourced, progress)
            # Every stored torrent's resume data and source were held at once: their pages go back.
            RELEASER.freed(sum(len(r.resume or b"") + len(r.torrent or b"") for _, r in resumed + sourced))
        finally:
            progress.finish()
        log.info("torrents restored", extra={"count": n, "from_source": m})
        return n + m

    async def _add_all(self, requests: list[tuple[str, AddRequest]], progress: Restore) -> int:
        n = 0
        async for added in progress.batches(self._engine, requests):
            for h, error in added:
                if error is None:
                    self._track(h)
                    n += 1
                else:
                    self._restored.discard(h)
                    log.error("restoring torrent failed", extra={"info_hash": h, "error": error})
        return n

    # -- engine events ----------------------------------------------------------------------------
    def on_event(self, ev: EngineEvent) -> None:
        """Keep the registry current (a pump listener: never misses an event, never blocks)."""
        reg = self._registry
        if isinstance(ev, TorrentAdded | MetadataReceived):
            if isinstance(ev, TorrentAdded) and ev.info_hash in self._restored:
                self._restored.discard(ev.info_hash)
                return  # its stored row and resume data are what it was just restored from
            if ev.info_hash not in self._labels:
                self._early.add(ev.info_hash)  # handled once it is booked (its add's chunk)
                return
            self._on_added(ev.info_hash)
        elif reg is None:
            return
        elif isinstance(ev, TorrentStateChanged):
            reg.state(ev.info_hash, ev.new.value)
        elif isinstance(ev, TorrentCompleted):
            reg.completed(ev.info_hash, time.time())
        elif isinstance(ev, StorageMoved):
            row = self._engine.get(ev.info_hash)
            reg.name_path(ev.info_hash, row.name if row else "", ev.path)
            self._engine.save_resume(ev.info_hash)
        elif isinstance(ev, TorrentRemoved):
            self._early.discard(ev.info_hash)
            self._labels.pop(ev.info_hash, None)
            self._untrack(ev.info_hash)

    def _on_added(self, h: str) -> None:
        # Resume data at once, so a crash right after the add does not lose the torrent.
        with contextlib.suppress(EngineError):
            self._engine.save_resume(h)
        row = self._engine.get(h)
        if self._registry is not None and row is not None:
            self._registry.name_path(h, row.name, row.save_path)

    def on_resume(self, ev: ResumeDataSaved) -> None:
        # Known torrents only: resume data of a torrent removed meanwhile must not resurrect it.
        if self._registry is not None and ev.info_hash in self._labels:
            self._registry.store_resume(ev.info_hash, ev.data)

    # -- reads ------------------------------------------------------------------------------------
    # The API reads torrents through these, never through the engine: the service is the boundary.
    def snapshot(self) -> Sequence[TorrentSummary]:
        """Every torrent's current row."""
        return self._engine.snapshot()

    def changed_since(self, version: int) -> Changes:
        """The rows changed after ``version`` of the engine's table (and the hashes removed)."""
        return self._engine.changed_since(version)

    @property
    def table_version(self) -> int:
        """The engine table's version: bumped by every row change."""
        return self._engine.version

    def get(self, info_hash: str) -> TorrentSummary | None:
        """One torrent's row, or None."""
        return self._engine.get(info_hash)

    # One torrent's details wait for libtorrent's own thread: never on the loop (engine.offloop).
    async def _query(self, read: Callable[[str], T], info_hash: str) -> T:
        return await offloop.query(self._engine, read, info_hash)

    async def files(self, info_hash: str) -> list[FileInfo]:
        """The torrent's files (empty without metadata), asked off the loop."""
        return await self._query(self._engine.files, info_hash)

    async def trackers(self, info_hash: str) -> list[TrackerInfo]:
        """The torrent's trackers with their status, asked off the loop."""
        return await self._query(self._engine.trackers, info_hash)

    async def piece_states(self, info_hash: str) -> bytes:
        """One byte per piece (0 missing, 1 downloading, 2 on disk), asked off the loop."""
        return await self._query(self._engine.piece_states, info_hash)

    async def piece_hashes(self, info_hash: str) -> list[str]:
        """The v1 hash of every piece as hex, asked off the loop."""
        return await self._query(self._engine.piece_hashes, info_hash)

    async def torrent_file(self, info_hash: str) -> bytes:
        """The .torrent file (bencoded), made off the loop."""
        return await self._query(self._engine.torrent_file, info_hash)

    async def torrent_meta(self, info_hash: str) -> TorrentMeta:
        """What the .torrent says (comment, creator, date, web seeds), asked off the loop."""
        return await self._query(self._engine.torrent_meta, info_hash)

    def replace_trackers(self, h: str, trackers: Sequence[tuple[str, int]]) -> None:
        self._engine.replace_trackers(h, trackers)
        log.info("torrent trackers set", extra={"info_hash": h, "trackers": len(trackers)})

    async def rename_files(self, h: str, moves: Sequence[tuple[int, str]]) -> None:
        """Rename files (index, new path); each rename asks libtorrent's thread for the torrent's
        metadata and waits, so a folder's worth runs off the loop, in order."""

        def rename(h: str) -> None:
            for index, path in moves:
                self._engine.rename_file(h, index, path)
                log.info("torrent file renamed", extra={"info_hash": h, "file": index, "path": path})

        await self._query(rename, h)

    def connect_peer(self, h: str, ip: str, port: int) -> None:
        self._engine.connect_peer(h, ip, port)

    async def peers(self, h: str) -> list[PeerInfo]:
        """The torrent's connected peers, asked off the loop."""
        return await self._query(self._engine.peers, h)

    def set_super_seeding(self, h: str, on: bool) -> None:
        self._engine.set_super_seeding(h, on)

    def set_first_last_priority(self, h: str, on: bool) -> None:
        self._engine.set_first_last_priority(h, on)

    def stats(self) -> SessionStats:
        """Session-wide transfer statistics."""
        return self._engine.stats()
