"""The embedded PostgreSQL, watched and restarted when it dies.

The embedded server is a child of nobody in particular (``pg_ctl`` detaches it), so without a
watcher its death goes unnoticed: every request would fail until someone restarted Revaer. The
supervisor checks the postmaster's process every ``interval`` seconds; when it is gone it starts
the server again, with exponential backoff between attempts (the dead postmaster's backends may
need a moment to exit and release the shared memory). After ``retries`` failed attempts it gives
up and calls ``on_fatal``: a server without its database cannot keep its promises, and a clear
exit is better than serving errors forever. The pool, the config listener and the registry find
the new server on their own (they reconnect).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from revaer.db.embedded import EmbeddedPostgres, EmbeddedPostgresError, process_alive
from revaer.tasks import Backoff, Running, cancel_and_wait

log = logging.getLogger(__name__)


def _reason(exc: BaseException) -> str:
    """The line that says why: the server log's last FATAL when pg_ctl quoted it, else the first."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    fatal = [line for line in lines if "FATAL" in line]
    return (fatal or lines or [type(exc).__name__])[-1 if fatal else 0]


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How the supervisor watches the postmaster and how hard it tries to bring it back."""

    interval: float = 0.5
    retries: int = 6
    backoff: Backoff = Backoff(0.25, 8.0)
    start_timeout: int = 30


class EmbeddedSupervisor(Running):
    """Restarts ``server`` when its postmaster dies; ``on_fatal`` when it cannot."""

    def __init__(
        self,
        server: EmbeddedPostgres,
        *,
        on_fatal: Callable[[str], None],
        policy: RestartPolicy = RestartPolicy(),
    ) -> None:
        self.server = server
        self._on_fatal = on_fatal
        self._policy = policy
        self._task: asyncio.Task[None] | None = None
        self.pid: int | None = None
        self.restarts = 0

    async def start(self) -> None:
        self.pid = self.server.postmaster_pid()
        self._task = asyncio.create_task(self._run(), name="revaer-embedded-supervisor")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._policy.interval)
            pid = self.pid
            if pid is not None and process_alive(pid):
                continue
            log.error("embedded PostgreSQL is gone; restarting it", extra={"pid": pid})
            if not await self._restart():
                return

    async def _restart(self) -> bool:
        policy = self._policy
        error = ""
        for attempt in range(1, policy.retries + 1):
            try:
                await asyncio.to_thread(self.server.start, timeout=policy.start_timeout)
            except (EmbeddedPostgresError, OSError) as exc:
                error = _reason(exc)
                delay = policy.backoff.delay(attempt)
                log.warning(
                    "embedded PostgreSQL restart failed",
                    extra={"attempt": attempt, "retry_in": delay, "error": error},
                )
                await asyncio.sleep(delay)
                continue
            self.pid = self.server.postmaster_pid()
            self.restarts += 1
            log.info("embedded PostgreSQL restarted", extra={"pid": self.pid, "attempt": attempt})
            return True
        self._on_fatal(
            f"the embedded PostgreSQL in {self.server.pgdata} could not be restarted "
            f"after {policy.retries} attempts: {error}"
        )
        return False
