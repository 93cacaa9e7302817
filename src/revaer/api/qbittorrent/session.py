"""WebUI sessions (the ``SID`` cookie), as qBittorrent keeps them, bounded in number and in state."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SESSION_TIMEOUT = 3600.0  # qBittorrent's WebUI\\SessionTimeout default
MAX_SESSIONS = 128
MAX_SYNC_STATES = 16
MAX_KEYED = 1024
BANNED_TEXT = "Your IP address has been banned after too many failed authentication attempts."


@dataclass(slots=True)
class WebSession:
    """One client's session; ``sync`` holds its sync/maindata state (rid and what it was sent).

    ``credentialed``: opened with the admin's password or an API key (not the localhost bypass).
    """

    sid: str
    last_seen: float = field(default_factory=time.monotonic)
    sync: dict[str, Any] = field(default_factory=dict)
    credentialed: bool = True


class Sessions:
    """Sessions by SID, expiring after ``timeout`` seconds of inactivity.

    Bounded: at most ``max_sessions`` live sessions (a new login evicts the one idle longest), and
    at most ``max_sync`` of them keep sync state (each holds what it was last sent, which grows
    with the number of torrents): the one that synced least recently loses it and gets a full
    update on its next ``sync/maindata``, as a client with an unknown ``rid`` does. Failed logins
    are counted by ``revaer.api.throttle``.
    """

    def __init__(
        self,
        *,
        timeout: float = SESSION_TIMEOUT,
        max_sessions: int = MAX_SESSIONS,
        max_sync: int = MAX_SYNC_STATES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.max_sessions = max_sessions
        self.max_sync = max_sync
        self.clock = clock
        # In order of last use (least recent first): eviction takes from the front.
        self._by_sid: OrderedDict[str, WebSession] = OrderedDict()
        # Sessions of bearer keys and of the localhost bypass, so sync/maindata keeps state for them too.
        self._keyed: OrderedDict[str, WebSession] = OrderedDict()
        self._syncing: OrderedDict[int, WebSession] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_sid)

    @property
    def syncing(self) -> int:
        """How many sessions hold sync state."""
        return len(self._syncing)

    def create(self) -> WebSession:
        self._expire()
        while len(self._by_sid) >= self.max_sessions:
            _, oldest = self._by_sid.popitem(last=False)
            self._drop_sync(oldest)
        s = WebSession(secrets.token_urlsafe(24)[:32], last_seen=self.clock())
        self._by_sid[s.sid] = s
        return s

    def get(self, sid: str | None) -> WebSession | None:
        if not sid:
            return None
        s = self._by_sid.get(sid)
        if s is None:
            return None
        now = self.clock()
        if now - s.last_seen > self.timeout:
            self.end(sid)
            return None
        s.last_seen = now
        self._by_sid.move_to_end(sid)
        return s

    def keyed(self, key: str, *, credentialed: bool) -> WebSession:
        s = self._keyed.get(key)
        if s is None:
            while len(self._keyed) >= MAX_KEYED:
                self._drop_sync(self._keyed.popitem(last=False)[1])
            s = self._keyed[key] = WebSession(key, credentialed=credentialed)
        s.last_seen = self.clock()
        self._keyed.move_to_end(key)
        return s

    def end(self, sid: str) -> None:
        s = self._by_sid.pop(sid, None)
        if s is not None:
            self._drop_sync(s)

    def syncs(self, s: WebSession) -> dict[str, Any]:
        """``s``'s sync state, kept among the ``max_sync`` most recent (others lose theirs)."""
        self._syncing[id(s)] = s
        self._syncing.move_to_end(id(s))
        while len(self._syncing) > self.max_sync:
            _, old = self._syncing.popitem(last=False)
            old.sync.clear()
        return s.sync

    def _drop_sync(self, s: WebSession) -> None:
        s.sync.clear()
        self._syncing.pop(id(s), None)

    def _expire(self) -> None:
        now = self.clock()
        while self._by_sid:
            sid, s = next(iter(self._by_sid.items()))
            if now - s.last_seen <= self.timeout:
                break
            self.end(sid)
