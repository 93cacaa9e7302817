"""Torrents as users see them: the engine's rows plus category and tags, persisted in the registry.

Both HTTP APIs (``/v1`` and the qBittorrent façade) go through ``TorrentService``:
it checks save paths against the allowed roots, adds to the engine, records
the torrent in the database, and keeps the database current from the engine's
events (state, completion, resume data) so a restart re-adds every torrent
from its resume data without re-downloading.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from revaer.categories import CategoryStore
from revaer.engine.errors import EngineError, TorrentNotFoundError
from revaer.engine.protocol import (
    AddRequest,
    Changes,
    Engine,
    EngineEvent,
    FileInfo,
    MetadataReceived,
    ResumeDataSaved,
    SessionStats,
    StorageMoved,
    TorrentAdded,
    TorrentCompleted,
    TorrentRemoved,
    TorrentStateChanged,
    TorrentSummary,
    TrackerInfo,
)
from revaer.registry import TorrentRegistry

log = logging.getLogger(__name__)


class PathNotAllowedError(ValueError):
    """A save path outside the configured roots."""


@dataclass(slots=True)
class Labels:
    category: str = ""
    tags: tuple[str, ...] = ()
    # Bumped from TorrentService.label_clock on every change: with the engine row's version it tells a
    # cache (serialized items, sync deltas) whether a torrent changed, without comparing contents.
    version: int = 0


@dataclass(frozen=True, slots=True)
class AddOptions:
    category: str = ""
    tags: tuple[str, ...] = ()
    save_path: str | None = None
    paused: bool = False
    sequential: bool = False
    seed_mode: bool = False
    upload_limit: int = -1
    download_limit: int = -1
    name: str = ""


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for t in tags:
        t = t.strip()
        if t and t not in out:
            out.append(t)
    return tuple(out)


def confine(path: str, roots: Sequence[Path]) -> str:
    """``path`` normalized, if it lies within one of ``roots``; else PathNotAllowedError."""
    if not path or "\x00" in path:
        raise PathNotAllowedError("save path is empty or invalid")
    if not os.path.isabs(path):
        raise PathNotAllowedError(f"save path must be absolute: {path}")
    norm = Path(os.path.normpath(path))
    for root in roots:
        r = Path(os.path.normpath(root))
        if norm == r or r in norm.parents:
            return str(norm)
    allowed = ", ".join(str(r) for r in roots) or "none configured"
    raise PathNotAllowedError(f"save path {path} is outside the allowed roots ({allowed})")


@dataclass
class TorrentService:
    engine: Engine
    registry: TorrentRegistry | None
    download_root: Path
    extra_roots: list[Path] = field(default_factory=list)
    labels: dict[str, Labels] = field(default_factory=dict)
    categories: CategoryStore = field(default_factory=CategoryStore)
    label_clock: int = 0
    # Every torrent's listing key (added_time, info_hash), kept sorted: a listing page is a slice.
    order: list[tuple[int, str]] = field(default_factory=list)
    _keys: dict[str, tuple[int, str]] = field(default_factory=dict)
    # Fills in what an add leaves unset from the config's torrent.defaults (the engine bridge's).
    add_defaults: Callable[[AddRequest], AddRequest] | None = None

    def _track(self, h: str) -> None:
        if h in self._keys:
            return
        row = self.engine.get(h)
        key = (row.added_time if row is not None else 0, h)
        self._keys[h] = key
        bisect.insort(self.order, key)

    def _untrack(self, h: str) -> None:
        key = self._keys.pop(h, None)
        if key is not None:
            i = bisect.bisect_left(self.order, key)
            if i < len(self.order) and self.order[i] == key:
                del self.order[i]

    def _stamp(self, lab: Labels) -> None:
        self.label_clock += 1
        lab.version = self.label_clock

    # -- paths ------------------------------------------------------------------------------------
    @property
    def roots(self) -> list[Path]:
        return [self.download_root, *self.extra_roots]

    def save_path_for(self, requested: str | None, category: str) -> str:
        """The requested path (confined to the roots), else the category's, else the download root's."""
        if requested:
            return confine(requested, self.roots)
        cat = self.categories.categories.get(category) if category else None
        if cat is not None and cat.save_path:
            return confine(cat.save_path, self.roots)
        base = self.download_root
        return str(base / category) if category else str(base)

    # -- commands ---------------------------------------------------------------------------------
    def add(
        self,
        *,
        magnet: str | None = None,
        torrent: bytes | None = None,
        options: AddOptions = AddOptions(),
    ) -> str:
        o = options
        tags = normalize_tags(o.tags)
        save_path = self.save_path_for(o.save_path, o.category)
        self.categories.ensure_category(o.category)
        request = AddRequest(
            magnet=magnet,
            torrent=torrent,
            save_path=save_path,
            name=o.name,
            paused=o.paused,
            sequential=o.sequential,
            seed_mode=o.seed_mode,
            upload_limit=o.upload_limit,
            download_limit=o.download_limit,
        )
        if self.add_defaults is not None:
            request = self.add_defaults(request)
        h = self.engine.add(request)
        self.labels[h] = lab = Labels(o.category, tags)
        self._stamp(lab)
        self._track(h)
        self.categories.ensure_tags(tags)
        row = self.engine.get(h)
        if self.registry is not None:
            self.registry.added(
                h,
                name=row.name if row else h,
                save_path=save_path,
                category=o.category,
                tags=tags,
                added_at=float(row.added_time) if row and row.added_time else time.time(),
                info_hash_v2=row.info_hash_v2 if row else None,
            )
        log.info("torrent added", extra={"info_hash": h, "category": o.category, "paused": o.paused})
        return h

    def remove(self, h: str, with_data: bool = False) -> None:
        self.engine.remove(h, with_data)
        self.labels.pop(h.lower(), None)
        self._untrack(h.lower())
        if self.registry is not None:
            self.registry.deleted(h.lower())
        log.info("torrent removed", extra={"info_hash": h.lower(), "with_data": with_data})

    def set_labels(self, h: str, *, category: str | None = None, tags: Iterable[str] | None = None) -> None:
        h = h.lower()
        if self.engine.get(h) is None:
            raise TorrentNotFoundError(f"unknown torrent: {h}")
        cur = self.labels.setdefault(h, Labels())
        if category is not None:
            self.categories.ensure_category(category)
            cur.category = category
        if tags is not None:
            cur.tags = normalize_tags(tags)
            self.categories.ensure_tags(cur.tags)
        self._stamp(cur)
        if self.registry is not None:
            self.registry.labels(h, cur.category, cur.tags)

    async def remove_categories(self, names: Iterable[str]) -> list[str]:
        """Remove categories; their torrents become uncategorized."""
        gone = set(await self.categories.remove_categories(names))
        for lab in self.labels.values():
            if lab.category in gone:
                lab.category = ""  # the database does the same (ON DELETE SET NULL)
                self._stamp(lab)
        return sorted(gone)

    async def delete_tags(self, names: Iterable[str]) -> list[str]:
        """Delete tags, from every torrent too."""
        gone = set(await self.categories.delete_tags(names))
        for h, lab in self.labels.items():
            if gone & set(lab.tags):
                lab.tags = tuple(t for t in lab.tags if t not in gone)
                self._stamp(lab)
                if self.registry is not None:
                    self.registry.labels(h, lab.category, lab.tags)
        return sorted(gone)

    def labels_of(self, h: str) -> Labels:
        return self.labels.get(h) or Labels()

    # -- restart ----------------------------------------------------------------------------------
    async def restore(self) -> int:
        """Re-add every stored torrent from its resume data, in its last state."""
        if self.registry is None:
            return 0
        n = 0
        for t in await self.registry.load():
            self.labels[t.info_hash] = lab = Labels(t.category, t.tags)
            self._stamp(lab)
            if t.resume_data is None:
                log.warning(
                    "torrent has no resume data yet, cannot restore", extra={"info_hash": t.info_hash}
                )
                continue
            try:
                self._track(self.engine.add(AddRequest(resume=t.resume_data)))
                n += 1
            except EngineError as e:
                log.error("restoring torrent failed", extra={"info_hash": t.info_hash, "error": str(e)})
        log.info("torrents restored", extra={"count": n})
        return n

    # -- engine events ----------------------------------------------------------------------------
    def on_event(self, ev: EngineEvent) -> None:
        """Keep the registry current (a pump listener: never misses an event, never blocks)."""
        reg = self.registry
        if isinstance(ev, TorrentAdded | MetadataReceived):
            # Resume data at once, so a crash right after the add does not lose the torrent.
            with contextlib.suppress(EngineError):
                self.engine.save_resume(ev.info_hash)
            row = self.engine.get(ev.info_hash)
            if reg is not None and row is not None:
                reg.name_path(ev.info_hash, row.name, row.save_path)
        elif reg is None:
            return
        elif isinstance(ev, TorrentStateChanged):
            reg.state(ev.info_hash, ev.new.value)
        elif isinstance(ev, TorrentCompleted):
            reg.completed(ev.info_hash, time.time())
        elif isinstance(ev, StorageMoved):
            row = self.engine.get(ev.info_hash)
            reg.name_path(ev.info_hash, row.name if row else "", ev.path)
            self.engine.save_resume(ev.info_hash)
        elif isinstance(ev, TorrentRemoved):
            self.labels.pop(ev.info_hash, None)
            self._untrack(ev.info_hash)

    def on_resume(self, ev: ResumeDataSaved) -> None:
        # Known torrents only: resume data of a torrent removed meanwhile must not resurrect it.
        if self.registry is not None and ev.info_hash in self.labels:
            self.registry.resume(ev.info_hash, ev.data)

    # -- reads ------------------------------------------------------------------------------------
    # The API reads torrents through these, never through the engine: the service is the boundary.
    def rows(self) -> Sequence[TorrentSummary]:
        return self.engine.snapshot()

    def snapshot(self) -> Sequence[TorrentSummary]:
        """Every torrent's current row."""
        return self.engine.snapshot()

    def changed_since(self, version: int) -> Changes:
        """The rows changed after ``version`` of the engine's table (and the hashes removed)."""
        return self.engine.changed_since(version)

    @property
    def table_version(self) -> int:
        """The engine table's version: bumped by every row change."""
        return self.engine.version

    def get(self, info_hash: str) -> TorrentSummary | None:
        """One torrent's row, or None."""
        return self.engine.get(info_hash)

    def files(self, info_hash: str) -> list[FileInfo]:
        return self.engine.files(info_hash)

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        return self.engine.trackers(info_hash)

    def piece_states(self, info_hash: str) -> bytes:
        return self.engine.piece_states(info_hash)

    def piece_hashes(self, info_hash: str) -> list[str]:
        return self.engine.piece_hashes(info_hash)

    def stats(self) -> SessionStats:
        """Session-wide transfer statistics."""
        return self.engine.stats()
