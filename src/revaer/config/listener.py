"""The live configuration: an in-process cache kept current by LISTEN/NOTIFY.

LISTEN runs on a dedicated connection, never a pooled one (a pool resets its
connections with ``UNLISTEN *`` when they are released). One task owns that
connection and handles, in order, the notifications the trigger sends
(``revaer_config_changed``: key, version and usually the value). When the
connection dies (server restart, ``pg_terminate_backend``, a silent network
drop noticed by the keepalive query), the task reconnects with exponential
backoff, LISTENs again and then reloads every setting: notifications sent
while it was down are lost, the reload catches up on them. Listening before
reloading means a change committed in between is seen at least once; versions
make seeing it twice harmless.

On every change the cache is replaced whole (readers never see half an update),
``ConfigChanged(key, version)`` is published on the event bus, and the hooks
(for example the engine bridge) are called with the new config and the keys
that changed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import asyncpg
import orjson

from revaer.config.model import SPECS, Config, ConfigValidationError, Json, validate
from revaer.db.pool import connect as db_connect
from revaer.events import ConfigChanged, EventBus
from revaer.tasks import Backoff, Running, Spawned, cancel_and_wait

log = logging.getLogger(__name__)

CHANNEL = "revaer_config_changed"

Hook = Callable[[Config, frozenset[str]], Awaitable[None] | None]
Connector = Callable[[], Awaitable[asyncpg.Connection]]


class _Lost:
    """Queue marker: the listening connection is gone."""


_LOST = _Lost()


class ConfigListener(Running):
    """Keeps ``config`` (and each key's version) equal to the database's, within milliseconds."""

    def __init__(
        self,
        dsn: str | None = None,
        *,
        bus: EventBus | None = None,
        connect: Connector | None = None,
        backoff: Backoff = Backoff(0.05, 5.0, jitter=0.2),
        keepalive: float = 10.0,
    ) -> None:
        if connect is None:
            if dsn is None:
                raise ValueError("ConfigListener needs a dsn or a connect function")
            dsn_: str = dsn

            async def connect() -> asyncpg.Connection:
                return await db_connect(dsn_)

        self._connect = connect
        self._bus = bus
        self._backoff = backoff
        self._keepalive = keepalive
        self._hooks: list[Hook] = []
        self._hook_tasks = Spawned()
        self._conn: asyncpg.Connection | None = None
        self._queue: asyncio.Queue[Mapping[str, Any] | _Lost] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._values: dict[str, Json] = {}
        self._changed = asyncio.Event()
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self.config: Config = Config.default()
        self.versions: dict[str, int] = dict.fromkeys(SPECS, 0)
        self.reconnects = 0

    # ---- public surface -----------------------------------------------------------------------

    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(config, changed_keys)`` after every change (sync or async)."""
        self._hooks.append(hook)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listening connection (None while disconnected)."""
        conn = self._conn
        return None if conn is None or conn.is_closed() else conn.get_server_pid()

    def version(self, key: str) -> int:
        return self.versions.get(key, 0)

    async def start(self) -> None:
        """Connect, LISTEN and load everything; raises if the first connection fails."""
        await self._open()
        self._task = asyncio.create_task(self._run(), name="config-listener")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await self._hook_tasks.close()
        await self._drop_connection()

    async def wait_for(self, key: str, version: int) -> None:
        """Return once the cache holds ``key`` at ``version`` or later."""
        while self.versions.get(key, 0) < version:
            await self._changed.wait()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def wait_disconnected(self) -> None:
        await self._disconnected.wait()

    async def __aenter__(self) -> ConfigListener:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- connection ---------------------------------------------------------------------------

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        if not isinstance(payload, str):
            return
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("unreadable config notification", extra={"payload": payload[:200]})
            return
        self._queue.put_nowait(msg)

    def _on_terminate(self, conn: object) -> None:
        if conn is self._conn:
            self._queue.put_nowait(_LOST)

    async def _open(self) -> None:
        conn = await self._connect()
        try:
            conn.add_termination_listener(self._on_terminate)
            await conn.add_listener(CHANNEL, self._on_notify)
            self._conn = conn
            # Drop what was queued for the previous connection: the reload below supersedes it.
            while not self._queue.empty():
                self._queue.get_nowait()
            await self._reload(conn)
        except BaseException:
            self._conn = None
            conn.terminate()
            raise
        self._disconnected.clear()
        self._connected.set()
        log.info("config listener connected", extra={"backend_pid": conn.get_server_pid()})

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._connected.clear()
        self._disconnected.set()
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def _reconnect(self) -> None:
        await self._drop_connection()
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._open()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                delay = self._backoff.delay(attempt)
                log.warning(
                    "config listener reconnect failed",
                    extra={"attempt": attempt, "retry_in": round(delay, 3), "error": str(exc)},
                )
                await asyncio.sleep(delay)
            else:
                self.reconnects += 1
                return

    # ---- the loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), self._keepalive)
            except TimeoutError:
                item = None
            conn = self._conn
            try:
                if conn is None or isinstance(item, _Lost):
                    raise ConnectionError("listening connection lost")
                if item is None:
                    await conn.fetchval("SELECT 1", timeout=self._keepalive)
                else:
                    await self._apply_notification(conn, item)
            except (
                OSError,
                ConnectionError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                TimeoutError,
            ) as exc:
                log.warning("config listener disconnected", extra={"error": str(exc)})
                await self._reconnect()

    async def _apply_notification(self, conn: asyncpg.Connection, msg: Mapping[str, Any]) -> None:
        key = msg.get("key")
        version = msg.get("version")
        if not isinstance(key, str) or not isinstance(version, int) or key not in SPECS:
            return
        if version == 0:
            self._apply({key: (SPECS[key].default, 0)})
            return
        if version <= self.versions.get(key, 0):
            return  # already seen (a reload got there first)
        if "value" in msg:
            value, version = msg["value"], version
        else:
            row = await conn.fetchrow("SELECT value, version FROM revaer_config.settings WHERE key = $1", key)
            if row is None:
                value, version = SPECS[key].default, 0
            else:
                value, version = row["value"], row["version"]
        self._apply({key: (value, version)})

    async def _reload(self, conn: asyncpg.Connection) -> None:
        rows = await conn.fetch("SELECT key, value, version FROM revaer_config.settings")
        stored = {r["key"]: (r["value"], r["version"]) for r in rows if r["key"] in SPECS}
        updates: dict[str, tuple[Json, int]] = {}
        for key, spec in SPECS.items():
            value, version = stored.get(key, (spec.default, 0))
            if version != self.versions.get(key, 0) or key not in self._values:
                updates[key] = (value, version)
        self._apply(updates, announce=self._values.keys() & updates.keys())

    def _apply(self, updates: Mapping[str, tuple[Json, int]], announce: Iterable[str] | None = None) -> None:
        """Install new values; ``announce``: which keys to report (all by default)."""
        values = dict(self._values)
        accepted: dict[str, int] = {}
        for key, (value, version) in updates.items():
            try:
                values[key] = validate(key, value)
            except ConfigValidationError as exc:
                # A value another version of Revaer accepted: keep what we have rather than stop.
                log.error(
                    "invalid stored setting ignored",
                    extra={"key": key, "version": version, "error": str(exc)},
                )
                continue
            accepted[key] = version
        if not accepted:
            return
        self.config = Config.from_values(values)
        self._values = values
        self.versions.update(accepted)
        changed = frozenset(accepted if announce is None else set(announce) & accepted.keys())
        for key in sorted(changed):
            log.info("config changed", extra={"key": key, "version": accepted[key]})
            if self._bus is not None:
                self._bus.publish(ConfigChanged(key, accepted[key]))
        event, self._changed = self._changed, asyncio.Event()
        event.set()
        if changed:
            for hook in self._hooks:
                self._call_hook(hook, changed)

    def _call_hook(self, hook: Hook, changed: frozenset[str]) -> None:
        try:
            result = hook(self.config, changed)
        except Exception:
            log.exception("config hook failed", extra={"keys": sorted(changed)})
            return
        if inspect.isawaitable(result):
            self._hook_tasks.spawn(result).add_done_callback(_log_hook_failure)


def _log_hook_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("config hook failed", exc_info=task.exception())
