"""Credential checks, counted before they run: the ban on repeated failures and the ceilings.

Every check of a secret sent by a client (a ``/api/v2`` login, a ``/v1`` or ``/api/v2`` API key,
a setup token) takes a place first: ``attempt()`` refuses at once an address that is banned, and
holds back a check while the address's failures plus the checks it has in flight already reach
``max_failures``. So however many requests arrive at the same moment, at most ``max_failures``
wrong secrets from one address are ever evaluated per ban window; the ban then lasts
``ban_duration`` seconds (qBittorrent's 5 and one hour). A success clears the address's
failures, as qBittorrent does.

Checks that run the slow password hash (scrypt, tens of milliseconds of CPU each) also take a
token from one bucket shared by all addresses (``checks_per_second``, bursts of ``burst``): past
it a login answers 429 with ``Retry-After`` and nothing is evaluated, so a flood from many
addresses cannot take the CPU. ``/v1/setup/apply`` has a bucket of its own besides.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from revaer.errors import RefusedError

Clock = Callable[[], float]

MAX_FAILURES = 5
BAN_DURATION = 3600.0
CHECKS_PER_SECOND = 10.0
CHECKS_BURST = 20
SETUP_PER_SECOND = 1.0
SETUP_BURST = 5
MAX_ADDRESSES = 10_000


class Throttled(RefusedError):
    """A check refused before it ran; ``retry_after`` in whole seconds (at least 1)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


class Banned(Throttled):
    """The address failed too often (or has as many checks in flight): refused until the ban ends."""


class Busy(Throttled):
    """Too many checks at once for the server (or for this route): try again shortly."""


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` kept."""

    __slots__ = ("_last", "_tokens", "burst", "clock", "rate")

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._tokens = float(burst)
        self._last = clock()

    def take(self) -> None:
        """One token, or ``Busy`` saying when the next one comes."""
        now = self.clock()
        self._tokens = min(float(self.burst), self._tokens + max(0.0, now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1.0:
            raise Busy("too many credential checks at once", (1.0 - self._tokens) / self.rate)
        self._tokens -= 1.0


@dataclass(slots=True)
class _Address:
    failures: int = 0
    pending: int = 0
    banned_until: float = 0.0
    # Set (and replaced) whenever a check of this address ends: waiting checks look again.
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def settle(self) -> None:
        self.pending -= 1
        self.settled.set()
        self.settled = asyncio.Event()


class Attempt:
    """One reserved check: ``ok(result)`` records how it went; left unsaid (the check raised), the
    place is given back without counting a failure."""

    __slots__ = ("_done", "_entry", "_throttle", "address")

    def __init__(self, throttle: CredentialThrottle, address: str, entry: _Address) -> None:
        self._throttle, self.address, self._entry, self._done = throttle, address, entry, False

    def ok(self, success: bool) -> bool:
        if not self._done:
            self._done = True
            if success:
                self._entry.failures = 0
            else:
                self._throttle.failed(self._entry)
            self._entry.settle()
        return success

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._done:
            self._done = True
            self._entry.settle()


class CredentialThrottle:
    """Failures per address and the ceilings on slow checks, for the whole server."""

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        ban_duration: float = BAN_DURATION,
        checks_per_second: float = CHECKS_PER_SECOND,
        checks_burst: int = CHECKS_BURST,
        setup_per_second: float = SETUP_PER_SECOND,
        setup_burst: int = SETUP_BURST,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.ban_duration = ban_duration
        self.clock = clock
        self.checks = TokenBucket(checks_per_second, checks_burst, self._now)
        self.setup = TokenBucket(setup_per_second, setup_burst, self._now)
        self._addresses: dict[str, _Address] = {}

    def _now(self) -> float:
        return self.clock()

    def _entry(self, address: str) -> _Address:
        entry = self._addresses.get(address)
        if entry is not None and entry.banned_until and self.clock() >= entry.banned_until:
            entry.failures, entry.banned_until = 0, 0.0
        if entry is None:
            if len(self._addresses) >= MAX_ADDRESSES:
                self._forget()
            entry = self._addresses[address] = _Address()
        return entry

    def _forget(self) -> None:
        """Drop the addresses with nothing to remember (no ban, nothing in flight), else the oldest."""
        now = self.clock()
        idle = [a for a, e in self._addresses.items() if e.pending == 0 and e.banned_until <= now]
        for a in idle or list(self._addresses)[: len(self._addresses) // 2]:
            del self._addresses[a]

    def banned(self, address: str) -> float:
        """Seconds left of ``address``'s ban, 0 when it is not banned."""
        entry = self._addresses.get(address)
        if entry is None or not entry.banned_until:
            return 0.0
        return max(0.0, entry.banned_until - self.clock())

    def check_banned(self, address: str) -> None:
        """``Banned`` when ``address`` is banned (nothing reserved)."""
        left = self.banned(address)
        if left > 0:
            raise Banned("too many failed authentication attempts", left)

    async def attempt(
        self, address: str, *, slow: bool = False, bucket: TokenBucket | None = None
    ) -> Attempt:
        """Reserve one check for ``address``; ``slow`` ones also take a token of the shared ceiling,
        ``bucket`` one of a route's own (taken first, so a flood is told to slow down).

        While the address's failures and checks in flight fill its allowance, a check waits for one
        of them to end: after failures it is refused with the ban, after a success it goes on (so
        clients logging in together with the right password all get in)."""
        if bucket is not None:
            bucket.take()
        entry = self._entry(address)
        while True:
            if entry.banned_until:
                left = entry.banned_until - self.clock()
                if left > 0:
                    raise Banned("too many failed authentication attempts", left)
                entry.failures, entry.banned_until = 0, 0.0
            if entry.failures + entry.pending < self.max_failures:
                break
            await entry.settled.wait()
        if slow:
            self.checks.take()
        entry.pending += 1
        return Attempt(self, address, entry)

    def failed(self, entry: _Address) -> None:
        entry.failures += 1
        if entry.failures >= self.max_failures:
            entry.banned_until = self.clock() + self.ban_duration
