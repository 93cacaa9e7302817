"""The composition root: ``build_app()`` and ``revaer serve``.

``build_app`` returns the aiohttp application; every service is started by
aiohttp itself, one ``cleanup_ctx`` generator per part, in dependency order:
event bus → database (embedded when ``DATABASE_URL`` is unset) → migrations →
config store and listener → setup gate → engine, registry, torrent service and
pump (every stored torrent re-added from its resume data) → post-processing →
HTTP state. Each part is stored under its ``web.AppKey`` (``revaer.api.keys``)
and stopped in reverse order when the app is cleaned up.

Before any of it, ``main`` takes the data dir's lock (``revaer.db.lock``): a second server on the
same data dir exits at once with one line naming the first. Right after the database, the node's
advisory lock does the same for a second server with the same node name on the same database. A
part that cannot go on (the embedded database could not be restarted, the node lock was taken by
another process) asks ``serve`` to stop through ``FATAL``; the process then exits non-zero.

On SIGINT/SIGTERM ``serve`` cleans the runner up, which is the shutdown order:
stop accepting, close event streams and let in-flight requests finish, then
the parts in reverse: stop post-processing, save resume data for every torrent
and close the session, flush the registry, close the listener, stop the
database.

Tests build the app with the same function: they inject the engine
(``engine_factory``, a FakeEngine) and their database (``database``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from revaer import __version__
from revaer.api.keys import (
    API_OPTIONS,
    AUTH_STATE,
    BUS,
    CONFIG,
    CONFIG_STORE,
    DATABASE,
    ENGINE,
    LISTENING,
    LOGBOOK,
    PEER_LOG,
    POSTPROCESSOR,
    PUMP,
    REGISTRY,
    RESTORE,
    RSS,
    SETUP,
    STREAMS,
    THROTTLE,
    TORRENTS,
    ApiOptions,
    AuthState,
    Listening,
)
from revaer.api.qbittorrent import build_qbittorrent, download_paths, extras_store, share_limits
from revaer.api.qbittorrent.add import resolve_links
from revaer.api.qbittorrent.share_limits import INTERVAL
from revaer.api.restoring import restore_gate
from revaer.api.security import add_security_headers, host_check
from revaer.api.site import HttpListener
from revaer.api.statuspage import add_status_page
from revaer.api.throttle import CredentialThrottle
from revaer.api.v1 import build_v1
from revaer.api.v1.events import close_streams
from revaer.categories import CategoryStore
from revaer.config.engine_bridge import EngineBridge, engine_settings
from revaer.config.listener import ConfigListener
from revaer.config.model import Config, parse_bind
from revaer.config.setup import Setup
from revaer.config.store import ConfigStore
from revaer.db.lock import AlreadyRunning, DataDirLock, NodeLock
from revaer.db.migrate import migrate_dsn
from revaer.db.pool import Database, open_database
from revaer.db.pool import data_dir as resolve_data_dir
from revaer.db.supervisor import EmbeddedSupervisor
from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import Engine, EngineEvent, PeerRefused
from revaer.engine.pump import TEARDOWN_WAIT, EnginePump, PumpIntervals
from revaer.events import EventBus
from revaer.fsops import postprocessing
from revaer.logbook import LogBook, PeerLog
from revaer.paths import category_roots, is_system_dir
from revaer.registry import TorrentRegistry
from revaer.restore import Hold, Restore, stop_on_failure
from revaer.rss import RssService, RssSettings
from revaer.rss.download import RuleDownloader
from revaer.rss.store import RssStore
from revaer.tasks import Spawned
from revaer.telemetry import (
    apply_log_settings,
    configure_logging,
    configure_tracing,
    loop_monitor,
    settled_collector,
    tracing_middleware,
)
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)

EngineFactory = Callable[[Config], Engine]


@dataclass(frozen=True)
class ServeOptions:
    """What the server is started with (the command line's part; the rest is the stored config)."""

    data_dir: Path
    bind: str | None = None
    database_url: str | None = None
    # None: ``telemetry.log_format`` (live); given on the command line, it wins over the setting.
    log_format: str | None = None
    log_level: str = "INFO"
    # How often the engine is asked for fresh rows; None: never by itself (the caller steps the pump).
    update_interval: float | None = 0.5
    resume_interval: float = 30.0
    # This node's name in the shared torrent table (default: the host name).
    owner: str | None = None
    registry_flush_interval: float = 0.2
    sse_update_interval: float = 1.0
    max_upload: int = 10 * 1024 * 1024
    # Awaited after every batch of stored torrents re-added (tests hold the restore half-way).
    restore_hold: Hold | None = None


class Fatal:
    """The server must stop with an error; the first message given is the reason."""

    def __init__(self) -> None:
        self.message: str | None = None
        self.event = asyncio.Event()

    def __call__(self, message: str) -> None:
        if self.message is None:
            self.message = message
            log.critical("fatal: stopping the server", extra={"reason": message})
        self.event.set()


FATAL = web.AppKey("fatal", Fatal)


def libtorrent_engine(config: Config) -> Engine:
    """The real engine, with the session settings ``config`` asks for."""
    return LibtorrentEngine(engine_settings(config))


def build_app(
    options: ServeOptions,
    *,
    engine_factory: EngineFactory = libtorrent_engine,
    database: Database | None = None,
) -> web.Application:
    """The whole server as an aiohttp application; its services start when the app starts.

    ``engine_factory`` makes the engine from the loaded config; ``database`` is used instead of
    opening one from ``options`` (and is left open on cleanup: its owner closes it).
    """
    # aiohttp applies the top-level app's body limit: sub-apps cannot raise it.
    client_max_size = options.max_upload + 64 * 1024
    app = web.Application(client_max_size=client_max_size, middlewares=[host_check, restore_gate])
    app.on_response_prepare.append(add_security_headers)
    app[FATAL] = Fatal()
    app[LISTENING] = Listening()
    app[THROTTLE] = CredentialThrottle()
    v1 = build_v1(client_max_size)
    qb = build_qbittorrent(client_max_size)
    app.cleanup_ctx.extend(
        [
            _logbook,  # first: log/main has every record of the start
            loop_monitor,  # it also watches the other parts start (stored torrents restored)
            _event_bus,
            _database(options, database),
            _node_lock(options, own=database is None),
            _migrations,
            _config(options),
            _setup_gate(options),
            _engine(options, engine_factory),
            _peer_log,
            _postprocessing(qb),
            extras_store.keeper(qb),  # after the engine restored the torrents
            # No timer when the pump has none either (tests step both by hand).
            share_limits.watcher(qb, INTERVAL if options.update_interval is not None else None),
            _rss(options),
            _http_state(options),
            settled_collector,  # last: everything started is kept out of the collector's way
        ]
    )
    app.add_subapp("/v1", v1)
    app.add_subapp("/api/v2", qb)
    add_status_page(app)
    app.on_shutdown.append(close_streams)
    return app


Part = Callable[[web.Application], AsyncIterator[None]]


async def _logbook(app: web.Application) -> AsyncIterator[None]:
    # The records of this app, as long as it runs (log/main); the peers the engine refused (log/peers).
    app[LOGBOOK] = book = LogBook()
    app[PEER_LOG] = PeerLog()
    root = logging.getLogger()
    root.addHandler(book)
    try:
        yield
    finally:
        root.removeHandler(book)


async def _event_bus(app: web.Application) -> AsyncIterator[None]:
    app[BUS] = bus = EventBus()
    yield
    bus.close()


def _database(options: ServeOptions, given: Database | None) -> Part:
    async def database(app: web.Application) -> AsyncIterator[None]:
        options.data_dir.mkdir(parents=True, exist_ok=True)
        if given is not None:
            app[DATABASE] = given
            yield
            return
        app[DATABASE] = db = await open_database(options.database_url, options.data_dir)
        try:
            if db.embedded is None:
                yield
                return
            # Nobody else would notice the embedded server dying: restart it, or stop the server.
            async with EmbeddedSupervisor(db.embedded, on_fatal=app[FATAL]):
                yield
        finally:
            await db.close()

    return database


def _node_lock(options: ServeOptions, *, own: bool) -> Part:
    async def node_lock(app: web.Application) -> AsyncIterator[None]:
        if not own:
            # A caller handing in its database (tests) owns the process and its guards.
            yield
            return
        lock = NodeLock(
            app[DATABASE].dsn,
            options.owner or socket.gethostname(),
            data_dir=options.data_dir,
            on_lost=app[FATAL],
        )
        await lock.acquire()
        try:
            yield
        finally:
            await lock.release()

    return node_lock


async def _migrations(app: web.Application) -> AsyncIterator[None]:
    db = app[DATABASE]
    applied = await migrate_dsn(db.dsn)
    log.info(
        "database ready", extra={"migrations_applied": len(applied), "embedded": db.embedded is not None}
    )
    yield


def _config(options: ServeOptions) -> Part:
    async def config(app: web.Application) -> AsyncIterator[None]:
        db = app[DATABASE]
        app[CONFIG_STORE] = ConfigStore(db.pool)
        async with ConfigListener(db.dsn, bus=app[BUS]) as listener:
            app[CONFIG] = listener
            # Middlewares of the root app may still be added: it freezes once started.
            if configure_tracing(listener.config.telemetry.otel_endpoint):
                app.middlewares.append(tracing_middleware())
            yield

    return config


def _setup_gate(options: ServeOptions) -> Part:
    async def setup_gate(app: web.Application) -> AsyncIterator[None]:
        setup = Setup(app[DATABASE].pool, options.data_dir)
        token = await setup.begin()
        app[SETUP] = setup
        app[AUTH_STATE] = AuthState(bootstrapped=token is None and await setup.is_bootstrapped())
        yield

    return setup_gate


def _engine(options: ServeOptions, engine_factory: EngineFactory) -> Part:
    async def engine_part(app: web.Application) -> AsyncIterator[None]:
        listener = app[CONFIG]
        pool = app[DATABASE].pool
        config = listener.config
        engine = engine_factory(config)
        app[ENGINE] = engine
        bridge = EngineBridge(engine)
        bridge.attach(listener)
        registry = TorrentRegistry(
            pool, owner=options.owner or socket.gethostname(), flush_interval=options.registry_flush_interval
        )
        await registry.start()
        try:
            categories = CategoryStore(pool)
            await categories.load()

            def download_root(cfg: Config) -> Path:
                return Path(cfg.download_root) if cfg.download_root else options.data_dir / "downloads"

            def extra_roots(cfg: Config) -> list[Path]:
                return [*map(Path, cfg.allowed_roots), *category_roots(cfg.category_rules.values())]

            def warn_system_roots(cfg: Config) -> None:
                for root in extra_roots(cfg):
                    if is_system_dir(str(root)):
                        # Allowed explicitly (paths.rules.allow_system_roots), yet worth saying.
                        log.warning("a category rule owns a system directory", extra={"root": str(root)})

            download_root(config).mkdir(parents=True, exist_ok=True)
            torrents = TorrentService(
                engine,
                registry,
                download_root(config),
                extra_roots=extra_roots(config),
                categories=categories,
                # Every add gets torrent.defaults where it sets no limit (current after a hot reload).
                add_defaults=bridge.with_defaults,
            )

            def follow_paths(cfg: Config, changed: Iterable[str] | None = None) -> None:
                # New adds go to the new download root at once; torrents already added stay where they are.
                torrents.set_roots(download_root(cfg), extra_roots(cfg))
                if changed is None or "paths.rules" in changed:
                    warn_system_roots(cfg)

            warn_system_roots(config)

            listener.add_hook(follow_paths)
            pump = EnginePump(
                engine,
                app[BUS],
                intervals=PumpIntervals(update=options.update_interval, resume=options.resume_interval),
                on_resume=torrents.on_resume,
                listeners=[torrents.on_event],
            )
            # From their resume data, or (acknowledged before their first one) their .torrent/magnet:
            # read and re-added while the server already serves (ADR 0015).
            app[RESTORE] = progress = Restore(options.restore_hold)
            bridge.restore = progress  # new default limits wait for every torrent
            progress.begin()
            await pump.start()
            restoring = asyncio.create_task(torrents.restore(progress), name="revaer-restore")
            restoring.add_done_callback(stop_on_failure(app[FATAL]))
            app[TORRENTS] = torrents
            app[PUMP] = pump
            app[REGISTRY] = registry
            try:
                yield
            finally:
                # The embedded database writes its dirty pages while the engine saves: its shutdown
                # checkpoint, which the stop waits for, then has little left.
                early = asyncio.ensure_future(app[DATABASE].checkpoint())
                # The torrents not re-added yet stay stored as they are, for the next start.
                progress.stop()
                with contextlib.suppress(Exception):  # said by _restore_failed
                    await restoring
                # Saves resume data for every torrent (into the registry) and closes the session;
                # its teardown is waited for at the very end (serve).
                await pump.stop(teardown_wait=0)
                await early
        finally:
            await registry.close()

    return engine_part


async def _peer_log(app: web.Application) -> AsyncIterator[None]:
    # The peers the engine refuses go to log/peers.
    peers = app[PEER_LOG]

    def record(ev: EngineEvent) -> None:
        if isinstance(ev, PeerRefused):
            peers.add(ev.ip, blocked=ev.blocked, reason=ev.reason)

    app[PUMP].listeners.append(record)
    yield


def _postprocessing(qb: web.Application) -> Part:
    async def postprocessing_part(app: web.Application) -> AsyncIterator[None]:
        async with postprocessing(
            pool=app[DATABASE].pool,
            engine=app[ENGINE],
            bus=app[BUS],
            pump=app[PUMP],
            listener=app[CONFIG],
            torrents=app[TORRENTS],
            registry=app[REGISTRY],
            ready=app[RESTORE].wait,
        ) as worker:
            app[POSTPROCESSOR] = worker
            # Torrents that downloaded in a download path move to their save path (the façade's).
            moves = Spawned()
            app[PUMP].listeners.append(download_paths.mover(qb, app[TORRENTS], worker, moves))
            yield
            await moves.close()

    return postprocessing_part


def _rss(options: ServeOptions) -> Part:
    async def rss(app: web.Application) -> AsyncIterator[None]:
        listener = app[CONFIG]
        download = RuleDownloader(
            app[TORRENTS], resolve_links, max_size=options.max_upload, ready=app[RESTORE].wait
        )
        service = RssService(
            RssStore(app[DATABASE].pool), RssSettings.from_config(listener.config), download=download
        )

        def follow(cfg: Config, changed: Iterable[str] | None = None) -> None:
            service.apply_settings(RssSettings.from_config(cfg))

        listener.add_hook(follow)
        async with service:
            app[RSS] = service
            yield

    return rss


def _http_state(options: ServeOptions) -> Part:
    async def http_state(app: web.Application) -> AsyncIterator[None]:
        app[API_OPTIONS] = ApiOptions(
            data_dir=options.data_dir,
            sse_update_interval=options.sse_update_interval,
            max_upload=options.max_upload,
        )
        app[STREAMS] = weakref.WeakSet[web.StreamResponse]()
        yield

    return http_state


def _note_restart_settings(app: web.Application, listening: str) -> None:
    """Say in the log when ``server.bind`` changes: the HTTP address applies after a restart."""

    def note(cfg: Config, changed: Iterable[str] | None = None) -> None:
        if changed is not None and "server.bind" in changed and str(cfg.bind) != listening:
            log.warning(
                "server.bind changed: it applies after a restart",
                extra={"server_bind": str(cfg.bind), "listening": listening},
            )

    app[CONFIG].add_hook(note)


def _follow_log_settings(app: web.Application, opts: ServeOptions) -> None:
    """``telemetry.log_level``/``log_format`` now and after every change (``--log-format`` wins)."""
    listener = app[CONFIG]
    current: list[tuple[str, str]] = []

    def apply(cfg: Config, changed: Iterable[str] | None = None) -> None:
        now = (opts.log_format or cfg.telemetry.log_format, cfg.telemetry.log_level)
        if current == [now]:
            return
        first = not current
        current[:] = [now]
        apply_log_settings(*now)
        if not first:
            # Said at the new level's floor, so the line that changes the logging is always seen.
            level = max(logging.INFO, logging.getLevelName(now[1].upper()))
            log.log(level, "log settings applied", extra={"log_format": now[0], "log_level": now[1]})

    apply(listener.config)
    listener.add_hook(apply)


@dataclass(frozen=True, slots=True)
class Stopped:
    """How ``serve`` ended: ``reason`` the server had to stop (None: asked to), and whether the
    engine's session was still tearing down (everything a restart needs is stored: ADR 0015)."""

    reason: str | None
    teardown_pending: bool = False


async def serve(
    opts: ServeOptions, *, ready: asyncio.Event | None = None, lock: DataDirLock | None = None
) -> Stopped:
    """Run until SIGINT/SIGTERM, or until the server has to stop."""
    loop = asyncio.get_running_loop()
    app = build_app(opts)
    stop = app[FATAL].event
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=10, access_log=None)
    try:
        await runner.setup()  # starts every service (the app's cleanup contexts)
        _follow_log_settings(app, opts)
        bind = parse_bind("--bind", opts.bind) if opts.bind else app[CONFIG].config.bind
        listener = HttpListener(runner, bind)  # HTTPS when server.tls says so, switched live
        try:
            await listener.start(app[CONFIG].config.tls)
        except OSError as exc:
            app[FATAL](
                f"cannot listen on {bind}: {exc.strerror or exc}; stop what uses that address or"
                " choose another with --bind HOST:PORT (or the server.bind setting)"
            )
            return Stopped(app[FATAL].message)
        app[LISTENING].note(runner.addresses)  # the façade's default follows the address bound
        if lock is not None:
            lock.update(str(bind))
        app[LISTENING].bind = str(bind)
        app[LISTENING].from_command_line = bool(opts.bind)
        _note_restart_settings(app, str(bind))
        app[CONFIG].add_hook(listener.follow)
        log.info("listening", extra={"bind": str(bind), "version": __version__, "https": listener.tls_on})
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping")
    finally:
        # Stop accepting, end event streams, let in-flight requests finish; then the services stop
        # in reverse: resume data saved, session closed, registry flushed, database stopped.
        # Also after a failed start: the parts that did start are stopped.
        try:
            await runner.cleanup()
        except Exception:
            if app[FATAL].message is None:
                raise
            # Stopping for a fatal reason (the database is gone for good): parts that cannot flush
            # say so in the log; the reason is what the process exits with.
            log.exception("clean-up after a fatal error failed")
    pump, pending = app.get(PUMP), False
    if pump is not None and pump.teardown_pending:
        # libtorrent's teardown went on beside the registry's flush and the database's stop.
        pending = not await asyncio.to_thread(pump.engine.wait_closed, TEARDOWN_WAIT)
    log.info("stopped", extra={"teardown_done": not pending})
    return Stopped(app[FATAL].message, pending)


def main(args: argparse.Namespace, *, lock: DataDirLock | None = None) -> int:
    """``revaer serve``; ``lock``: the data dir's lock when the caller took it already."""
    opts = ServeOptions(
        data_dir=resolve_data_dir(getattr(args, "data_dir", None)),
        bind=getattr(args, "bind", None),
        database_url=getattr(args, "database_url", None),
        log_format=getattr(args, "log_format", None),
    )
    if lock is None:
        # First of all, before the embedded database or the engine touch the data dir.
        lock = DataDirLock(opts.data_dir)
        try:
            lock.acquire(opts.bind)
        except AlreadyRunning as exc:
            print(exc, file=sys.stderr)
            return 1
    configure_logging(opts.log_format or "json", opts.log_level)
    stopped = Stopped(None)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            stopped = asyncio.run(serve(opts, lock=lock))
    except AlreadyRunning as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        lock.release()
    code = 0
    if stopped.reason is not None:
        print(f"revaer: {stopped.reason}", file=sys.stderr)
        code = 1
    if stopped.teardown_pending:
        # libtorrent is still telling trackers and closing files: not waited for, since the resume
        # data and every row are committed and the database stopped (ADR 0015).
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
