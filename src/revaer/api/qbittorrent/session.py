"""WebUI sessions (the ``SID`` cookie) and the ban on repeated failed logins, as qBittorrent does them."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

SESSION_TIMEOUT = 3600.0
BAN_AFTER_FAILURES = 5
BAN_DURATION = 3600.0
BANNED_TEXT = "Your IP address has been banned after too many failed authentication attempts."


@dataclass(slots=True)
class WebSession:
    """One client's session; ``sync`` holds its sync/maindata state (rid and what it was sent)."""

    sid: str
    last_seen: float = field(default_factory=time.monotonic)
    sync: dict[str, Any] = field(default_factory=dict)


class Sessions:
    """Sessions by SID, expiring after ``timeout`` seconds of inactivity; failed logins per IP."""

    def __init__(
        self,
        *,
        timeout: float = SESSION_TIMEOUT,
        ban_after: int = BAN_AFTER_FAILURES,
        ban_duration: float = BAN_DURATION,
    ) -> None:
        self.timeout = timeout
        self.ban_after = ban_after
        self.ban_duration = ban_duration
        self._by_sid: dict[str, WebSession] = {}
        self._failures: dict[str, int] = {}
        self._banned_until: dict[str, float] = {}
        # Sessions of bearer keys and of the localhost bypass, so sync/maindata keeps state for them too.
        self._keyed: dict[str, WebSession] = {}

    def create(self) -> WebSession:
        self._expire()
        s = WebSession(secrets.token_urlsafe(24)[:32])
        self._by_sid[s.sid] = s
        return s

    def get(self, sid: str | None) -> WebSession | None:
        if not sid:
            return None
        s = self._by_sid.get(sid)
        if s is None:
            return None
        now = time.monotonic()
        if now - s.last_seen > self.timeout:
            del self._by_sid[sid]
            return None
        s.last_seen = now
        return s

    def keyed(self, key: str) -> WebSession:
        s = self._keyed.get(key)
        if s is None:
            if len(self._keyed) > 1024:
                self._keyed.clear()
            s = self._keyed[key] = WebSession(key)
        s.last_seen = time.monotonic()
        return s

    def end(self, sid: str) -> None:
        self._by_sid.pop(sid, None)

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [k for k, s in self._by_sid.items() if now - s.last_seen > self.timeout]:
            del self._by_sid[sid]

    # -- failed logins ----------------------------------------------------------------------------
    def banned(self, ip: str) -> bool:
        until = self._banned_until.get(ip)
        if until is None:
            return False
        if time.monotonic() >= until:
            del self._banned_until[ip]
            self._failures.pop(ip, None)
            return False
        return True

    def failed(self, ip: str) -> None:
        n = self._failures.get(ip, 0) + 1
        self._failures[ip] = n
        if n >= self.ban_after:
            self._banned_until[ip] = time.monotonic() + self.ban_duration

    def succeeded(self, ip: str) -> None:
        self._failures.pop(ip, None)
