"""Adding torrents: ``TorrentService``'s add commands (a mixin), one torrent or a request's many.

The real engine parses each .torrent with the GIL released: a request's adds go to the engine on a
worker thread (``threaded_queries``), in chunks, and only the bookkeeping (labels, the listing
order, the registry's row) is done on the loop, once per chunk. What a request shares (tags, save
path, the config's defaults) is worked out once for it, not once per torrent.

An engine event about a torrent the loop has not booked yet (its ``TorrentAdded`` drained while the
rest of its chunk was still being parsed) waits in ``_early`` until the torrent is booked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from revaer.categories import CategoryError, CategoryStore, check_tags
from revaer.engine.errors import EngineError
from revaer.engine.protocol import AddRequest, Engine
from revaer.labels import Labels, normalize_tags, valid_category
from revaer.registry import TorrentRegistry, source_bytes

log = logging.getLogger(__name__)

# (magnet, .torrent bytes, renamed files) of one torrent of a request.
AddItem = tuple[str | None, bytes | None, tuple[tuple[int, str], ...]]
# Torrents per trip to the engine's worker thread: the loop books a chunk in a few ms.
ADD_CHUNK = 100


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
    renamed_files: tuple[tuple[int, str], ...] = ()  # (file index, path): a content layout


def engine_adds(
    engine: Engine, template: AddRequest, items: Sequence[AddItem], check: Callable[[], None] | None = None
) -> list[str | EngineError]:
    """Each item added as ``template`` says: its info-hash, or the engine's refusal. ``check`` runs
    first; what it raises is raised before anything is added."""
    if check is not None:
        check()
    many = getattr(engine, "add_torrents", None)
    if many is not None and all(m is None and t is not None and not r for m, t, r in items):
        # .torrent files alone, as they come (the real engine): parsed in one go without the GIL.
        done: list[str | EngineError] = many(template, [t for _, t, _ in items])
        return done
    out: list[str | EngineError] = []
    for magnet, torrent, renamed in items:
        request = dataclasses.replace(
            template, magnet=magnet, torrent=torrent, renamed_files=renamed or template.renamed_files
        )
        try:
            out.append(engine.add(request))
        except EngineError as e:
            out.append(e)
    return out


class AddsMixin:
    """``add`` and ``add_many`` of ``TorrentService`` (the attributes are the service's)."""

    __slots__ = ()

    _engine: Engine
    _registry: TorrentRegistry | None
    _categories: CategoryStore
    _labels: dict[str, Labels]
    _add_defaults: Callable[[AddRequest], AddRequest] | None
    _early: set[str]

    def save_path_for(self, requested: str | None, category: str) -> str:
        raise NotImplementedError

    def _track(self, h: str) -> None:
        raise NotImplementedError

    def _stamp(self, lab: Labels) -> None:
        raise NotImplementedError

    def _on_added(self, h: str) -> None:
        raise NotImplementedError

    def _template(self, o: AddOptions) -> tuple[AddRequest, tuple[str, ...]]:
        """The engine request an add with ``o`` makes (without its source), and its tags; raises
        ``CategoryError`` or ``PathNotAllowedError`` for options no torrent can be added with."""
        tags = normalize_tags(o.tags)
        check_tags(tags)
        save_path = self.save_path_for(o.save_path, o.category)
        if o.category and not valid_category(o.category):
            raise CategoryError(f"invalid category name: {o.category!r}")
        request = AddRequest(
            save_path=save_path,
            name=o.name,
            paused=o.paused,
            sequential=o.sequential,
            seed_mode=o.seed_mode,
            upload_limit=o.upload_limit,
            download_limit=o.download_limit,
            renamed_files=o.renamed_files,
        )
        if self._add_defaults is not None:
            request = self._add_defaults(request)
        return request, tags

    def _book(
        self, h: str, o: AddOptions, tags: tuple[str, ...], save_path: str, source: bytes | None
    ) -> None:
        """What the service keeps of a torrent the engine has just taken."""
        # Only once the engine took it: a refused add leaves no category behind.
        self._categories.ensure_category(o.category)
        self._labels[h] = lab = Labels(o.category, tags)
        self._stamp(lab)
        self._track(h)
        self._categories.ensure_tags(tags)
        if self._registry is not None:
            row = self._engine.get(h)
            self._registry.added(
                h,
                name=row.name if row else h,
                save_path=save_path,
                category=o.category,
                tags=tags,
                added_at=float(row.added_time) if row and row.added_time else time.time(),
                info_hash_v2=row.info_hash_v2 if row else None,
                source=source,
                paused=o.paused,
            )
        if h in self._early:
            self._early.discard(h)
            self._on_added(h)

    def add(
        self,
        *,
        magnet: str | None = None,
        torrent: bytes | None = None,
        options: AddOptions = AddOptions(),
    ) -> str:
        template, tags = self._template(options)
        h = self._engine.add(dataclasses.replace(template, magnet=magnet, torrent=torrent))
        self._book(
            h, options, tags, template.save_path, torrent if torrent is not None else source_bytes(magnet)
        )
        log.debug("torrent added", extra={"info_hash": h, "category": options.category})
        return h

    async def add_many(
        self,
        items: Sequence[AddItem],
        options: AddOptions,
        *,
        check: Callable[[], None] | None = None,
        chunk_added: Callable[[list[str]], object] | None = None,
    ) -> list[str | EngineError]:
        """Add ``items`` with ``options``: per item its info-hash or the engine's refusal. ``check``
        runs first, off the loop; what it raises is raised with nothing added. ``chunk_added`` is
        called with each chunk's added info-hashes once they are booked (to start their commit).
        Raises ``CategoryError`` or ``PathNotAllowedError`` (nothing added) for unusable options."""
        template, tags = self._template(options)
        out: list[str | EngineError] = []
        for start in range(0, max(len(items), 1), ADD_CHUNK):
            chunk = items[start : start + ADD_CHUNK]
            book = functools.partial(
                self._book_chunk, chunk=chunk, o=options, tags=tags, save_path=template.save_path
            )
            results, added = await self._engine_chunk(template, chunk, check if start == 0 else None, book)
            out += results
            if chunk_added is not None and added:
                chunk_added(added)
        refused = sum(not isinstance(r, str) for r in out)
        log.debug("torrents added", extra={"count": len(out) - refused, "refused": refused})
        return out

    async def _engine_chunk(
        self,
        template: AddRequest,
        chunk: Sequence[AddItem],
        check: Callable[[], None] | None,
        book: Callable[[Sequence[str | EngineError]], list[str]],
    ) -> tuple[list[str | EngineError], list[str]]:
        """The chunk's engine results and the info-hashes booked."""
        if not getattr(self._engine, "threaded_queries", False):
            results = engine_adds(self._engine, template, chunk, check)
            return results, book(results)
        job = asyncio.get_running_loop().run_in_executor(
            None, engine_adds, self._engine, template, chunk, check
        )
        try:
            results = await asyncio.shield(job)
        except asyncio.CancelledError:
            # The engine has them (or soon will): they are booked all the same, though not waited for.
            job.add_done_callback(lambda f: None if f.cancelled() or f.exception() else book(f.result()))
            raise
        return results, book(results)

    def _book_chunk(
        self,
        results: Sequence[str | EngineError],
        *,
        chunk: Sequence[AddItem],
        o: AddOptions,
        tags: tuple[str, ...],
        save_path: str,
    ) -> list[str]:
        added: list[str] = []
        for r, (magnet, torrent, _) in zip(results, chunk, strict=True):
            if isinstance(r, str):
                self._book(r, o, tags, save_path, torrent if torrent is not None else source_bytes(magnet))
                added.append(r)
            else:
                log.debug("add refused by the engine", extra={"error": str(r)})
        return added
