"""One server per data directory and per node: a file lock and a database advisory lock.

Two servers over the same data dir would run two engines over the same torrents and resume data;
two servers with the same node name over one database would both claim the node's rows. Both are
refused before anything starts:

- ``DataDirLock``: ``flock`` on ``<data dir>/revaer.lock``, taken first thing (before the embedded
  database, before the engine). The kernel drops it when the process dies, however it dies, so a
  crash never leaves a stale lock. The file says who holds it (pid, host, bind) for the refusal.
- ``NodeLock``: a session-level advisory lock keyed by the node's name, held on a connection of
  its own for the life of the process (a pooled connection would hand the session to others). Its
  ``application_name`` names the holder, so the refusal can say who it is. When that connection
  drops (database restarted, network cut), the lock is gone with it: the lock is taken again on a
  new connection as soon as the database answers; if another process took it meanwhile, this one
  must stop (two engines would now serve the node), and ``on_lost`` is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

import asyncpg
import orjson

from revaer.tasks import Backoff, cancel_and_wait

log = logging.getLogger(__name__)

LOCK_FILE = "revaer.lock"
# The class half of the two-int advisory key ("Revr"); the other half comes from the node's name.
NODE_LOCK_CLASS = 0x52657672


class AlreadyRunning(RuntimeError):
    """Another Revaer holds the data dir or the node; the message is one line naming it."""


class DataDirLock:
    """An exclusive ``flock`` on the data dir's lock file, held until ``release()`` or exit."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, bind: str | None = None) -> None:
        """Take the lock or raise ``AlreadyRunning`` at once (never waits)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read_holder(fd))
            os.close(fd)
            raise AlreadyRunning(
                f"revaer: another server is running on data dir {self.data_dir} ({holder}); not starting"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.update(bind)

    def update(self, bind: str | None) -> None:
        """Rewrite who holds the lock (the bind is known for sure only once listening)."""
        if self._fd is None:
            return
        body = orjson.dumps({"pid": os.getpid(), "host": socket.gethostname(), "bind": bind or "server.bind"})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, body + b"\n", 0)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            # The file stays: removing it would let a third process lock a new inode while a
            # second one still waits on the old one.
            os.ftruncate(fd, 0)
            os.close(fd)


def running_server(data_dir: Path) -> dict[str, object] | None:
    """Who holds ``data_dir``'s lock (pid, host, bind), or None when no server runs on it.

    Never creates anything: a data dir without a lock file has no server."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or {"pid": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> dict[str, object]:
    try:
        raw = os.pread(fd, 4096, 0)
        holder = orjson.loads(raw) if raw.strip() else {}
    except (OSError, orjson.JSONDecodeError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict[str, object]) -> str:
    if not holder:
        return "pid unknown: it is still starting"
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, bind {holder.get('bind', '?')}"


def node_key(node: str) -> int:
    """The object half of the node's advisory key: 31 bits of the name's SHA-256."""
    return int.from_bytes(hashlib.sha256(node.encode()).digest()[:4], "big") & 0x7FFFFFFF


_HOLDER = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


class NodeLock:
    """The node's advisory lock on a dedicated connection, taken again after the connection drops."""

    def __init__(
        self,
        dsn: str,
        node: str,
        *,
        data_dir: Path | None = None,
        on_lost: Callable[[str], None] | None = None,
        keepalive: float = 5.0,
        backoff: Backoff = Backoff(0.1, 2.0),
    ) -> None:
        self.dsn = dsn
        self.node = node
        self.key = node_key(node)
        # What another process sees of this one (application_name is cut at 63 bytes).
        self.holder = f"revaer pid={os.getpid()}@{socket.gethostname()} {data_dir or ''}".strip()[:63]
        self._on_lost = on_lost
        self._keepalive = keepalive
        self._backoff = backoff
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reacquired = 0

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def acquire(self) -> None:
        """Take the lock or raise ``AlreadyRunning``; then keep it for the life of the process."""
        await self._take()
        self._task = asyncio.create_task(self._watch(), name="revaer-node-lock")

    async def _take(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(
            self.dsn,
            timeout=5,
            # Keepalives end the session (and free the lock) soon after this host vanishes, rather
            # than after the kernel's two hours; ignored over a unix socket.
            server_settings={
                "application_name": self.holder,
                "tcp_keepalives_idle": "10",
                "tcp_keepalives_interval": "5",
                "tcp_keepalives_count": "3",
            },
        )
        try:
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", NODE_LOCK_CLASS, self.key)
            if not got:
                other = await conn.fetchval(_HOLDER, NODE_LOCK_CLASS, self.key)
                raise AlreadyRunning(
                    f"revaer: node {self.node!r} is already served on this database "
                    f"by {other or 'another process'}; not starting"
                )
        except BaseException:
            conn.terminate()
            raise
        self._lost.clear()
        conn.add_termination_listener(lambda _c: self._lost.set())
        self._conn = conn

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self._keepalive)
            conn = self._conn
            if not self._lost.is_set() and conn is not None:
                try:
                    await conn.fetchval("SELECT 1", timeout=self._keepalive)
                    continue
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    pass
            log.warning("node lock connection lost; taking the lock again", extra={"node": self.node})
            if conn is not None:
                conn.terminate()
            self._conn = None
            if not await self._retake():
                return

    async def _retake(self) -> bool:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._take()
            except AlreadyRunning as exc:
                log.error("node lock taken by another process", extra={"node": self.node})
                if self._on_lost is not None:
                    self._on_lost(str(exc))
                return False
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.info("node lock: database not back yet", extra={"node": self.node, "error": str(exc)})
                await asyncio.sleep(self._backoff.delay(attempt))
                continue
            self.reacquired += 1
            log.info("node lock taken again", extra={"node": self.node})
            return True

    async def release(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            # Closing the session releases the lock.
            try:
                await asyncio.wait_for(conn.close(), 2)
            except (OSError, TimeoutError, asyncpg.InterfaceError):
                conn.terminate()
