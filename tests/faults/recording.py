"""The real engine, noting the thread each of its detail queries ran on (for the loop's tests)."""

from __future__ import annotations

import threading

from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import FileInfo, TrackerInfo
from tests.support.engine import LOOPBACK


class RecordingEngine(LibtorrentEngine):
    """The real engine on loopback; ``threads[query]`` holds the ids of the threads that asked it."""

    def __init__(self) -> None:
        super().__init__(LOOPBACK)
        self.threads: dict[str, set[int]] = {}

    def _note(self, query: str) -> None:
        self.threads.setdefault(query, set()).add(threading.get_ident())

    def files(self, info_hash: str) -> list[FileInfo]:
        self._note("files")
        return super().files(info_hash)

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        self._note("trackers")
        return super().trackers(info_hash)

    def piece_states(self, info_hash: str) -> bytes:
        self._note("piece_states")
        return super().piece_states(info_hash)

    def piece_hashes(self, info_hash: str) -> list[str]:
        self._note("piece_hashes")
        return super().piece_hashes(info_hash)

    def rename_file(self, info_hash: str, index: int, path: str) -> None:
        self._note("rename_file")
        super().rename_file(info_hash, index, path)
