"""The server's recent log, in memory: the records of the process and the peers it blocked or banned.

``LogBook`` is a ``logging.Handler`` the app builder installs on the root logger while the app
runs; it keeps the last ``capacity`` records in a ring with increasing ids, which the
qBittorrent façade serves as ``log/main``. ``PeerLog`` is the ring of ``log/peers``: the peers
the engine refused (``PeerBlocked`` events). Both are bounded, answer "everything after id N" in
one slice, and are safe to write from any thread (logging may happen outside the event loop).
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}

CAPACITY = 20_000  # as many messages as qBittorrent keeps


class MsgType(enum.IntEnum):
    """qBittorrent's message types (``log/main``'s ``type``), which its filters select."""

    NORMAL = 1
    INFO = 2
    WARNING = 4
    CRITICAL = 8


def msg_type(levelno: int) -> MsgType:
    """A Python level in qBittorrent's terms: INFO is normal, DEBUG (when let through) is info,
    WARNING is warning, ERROR and CRITICAL are critical."""
    if levelno >= logging.ERROR:
        return MsgType.CRITICAL
    if levelno >= logging.WARNING:
        return MsgType.WARNING
    if levelno >= logging.INFO:
        return MsgType.NORMAL
    return MsgType.INFO


def _now() -> int:
    return int(time.time())


class _Numbered(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=_Numbered)


class Ring(Generic[T]):
    """The last ``capacity`` entries, ids contiguous and increasing (the oldest fall out)."""

    __slots__ = ("_entries", "_lock", "_next")

    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._entries: deque[T] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._next = 0

    def push(self, build: Callable[[int], T]) -> T:
        """Append the entry ``build(id)`` makes with the next id."""
        with self._lock:
            entry = build(self._next)
            self._next += 1
            self._entries.append(entry)
            return entry

    def after(self, last_known_id: int = -1) -> list[T]:
        """The entries whose id is greater than ``last_known_id``, oldest first."""
        with self._lock:
            if not self._entries:
                return []
            first = self._entries[0].id
            skip = max(0, last_known_id + 1 - first)
            return list(itertools.islice(self._entries, skip, None))

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[T]:
        return iter(self.after())


@dataclass(frozen=True, slots=True)
class LogMessage:
    id: int
    timestamp: int  # seconds since the epoch (what qBittorrent 4.6 sends, though its comment says ms)
    type: MsgType
    message: str


@dataclass(frozen=True, slots=True)
class PeerEntry:
    id: int
    timestamp: int  # seconds since the epoch
    ip: str
    blocked: bool  # True: refused by a filter or a rule; False: banned (sent bad data)
    reason: str


def _text(record: logging.LogRecord) -> str:
    """The record's message, then its structured fields as ``(key=value, ...)``."""
    try:
        text = record.getMessage()
    except (TypeError, ValueError):
        text = str(record.msg)
    fields = [f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")]
    return f"{text} ({', '.join(fields)})" if fields else text


class LogBook(logging.Handler):
    """A logging handler that keeps the recent records for ``log/main``."""

    # NOTSET: what the loggers let through (telemetry.log_level), DEBUG included when it is "debug".
    def __init__(self, capacity: int = CAPACITY, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.messages: Ring[LogMessage] = Ring(capacity)

    def emit(self, record: logging.LogRecord) -> None:
        ts, kind, text = int(record.created), msg_type(record.levelno), _text(record)
        self.messages.push(lambda i: LogMessage(i, ts, kind, text))

    def after(self, last_known_id: int = -1) -> list[LogMessage]:
        return self.messages.after(last_known_id)


class PeerLog:
    """The peers the engine refused, for ``log/peers``."""

    __slots__ = ("entries",)

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.entries: Ring[PeerEntry] = Ring(capacity)

    def add(self, ip: str, *, blocked: bool, reason: str) -> PeerEntry:
        ts = _now()
        return self.entries.push(lambda i: PeerEntry(i, ts, ip, blocked, reason))

    def after(self, last_known_id: int = -1) -> list[PeerEntry]:
        return self.entries.after(last_known_id)
