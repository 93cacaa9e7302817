"""The composition root: ``revaer serve``.

Start-up, in dependency order: database (embedded when ``DATABASE_URL`` is
unset) → migrations → config and its listener → setup gate → engine, registry
and pump (every stored torrent re-added from its resume data) → HTTP. On
SIGINT/SIGTERM the reverse: stop accepting, finish in-flight requests, close
event streams, save resume data for every torrent, close the session, flush
the registry, stop the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from revaer import __version__
from revaer.api.keys import Services, install
from revaer.api.qbittorrent import build_qbittorrent
from revaer.api.v1 import build_v1
from revaer.api.v1.events import close_streams
from revaer.categories import CategoryStore
from revaer.config.engine_bridge import EngineBridge, engine_settings
from revaer.config.listener import ConfigListener
from revaer.config.model import Config, parse_bind
from revaer.config.setup import Setup
from revaer.config.store import ConfigStore
from revaer.db.migrate import migrate_dsn
from revaer.db.pool import data_dir as resolve_data_dir
from revaer.db.pool import open_database
from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.pump import EnginePump
from revaer.events import EventBus
from revaer.fsops import start_postprocessing
from revaer.registry import TorrentRegistry
from revaer.telemetry import configure_logging, configure_tracing, tracing_middleware
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    data_dir: Path
    bind: str | None = None
    database_url: str | None = None
    log_format: str = "json"
    log_level: str = "INFO"
    update_interval: float = 0.5
    resume_interval: float = 30.0


def build_app(services: Services, *, tracing: bool = False) -> web.Application:
    """The aiohttp application over ready services (tests build it over a FakeEngine)."""
    # aiohttp applies the top-level app's body limit: sub-apps cannot raise it.
    app = web.Application(
        middlewares=[tracing_middleware()] if tracing else [],
        client_max_size=services.max_upload + 64 * 1024,
    )
    install(app, services)
    app.add_subapp("/v1", build_v1(services))
    app.add_subapp("/api/v2", build_qbittorrent(services))
    app.on_shutdown.append(close_streams)
    return app


async def start_services(opts: ServeOptions, stack: AsyncExitStack) -> Services:
    """Everything but HTTP, each part registered on ``stack`` so it stops in reverse order."""
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    bus = EventBus()
    stack.callback(bus.close)

    db = await open_database(opts.database_url, opts.data_dir)
    stack.push_async_callback(db.close)
    applied = await migrate_dsn(db.dsn)
    log.info(
        "database ready", extra={"migrations_applied": len(applied), "embedded": db.embedded is not None}
    )

    store = ConfigStore(db.pool)
    listener = ConfigListener(db.dsn, bus=bus)
    await listener.start()
    stack.push_async_callback(listener.close)
    config = listener.config

    setup = Setup(db.pool, opts.data_dir)
    token = await setup.begin()
    bootstrapped = token is None and await setup.is_bootstrapped()

    engine = LibtorrentEngine(engine_settings(config))
    bridge = EngineBridge(engine)
    bridge.attach(listener)
    registry = TorrentRegistry(db.pool, owner=socket.gethostname())
    await registry.start()
    stack.push_async_callback(registry.close)
    download_root = Path(config.download_root) if config.download_root else opts.data_dir / "downloads"
    download_root.mkdir(parents=True, exist_ok=True)
    categories = CategoryStore(db.pool)
    await categories.load()
    torrents = TorrentService(
        engine,
        registry,
        download_root,
        extra_roots=[Path(t.split("{", 1)[0]) for t in config.category_rules.values()],
        categories=categories,
    )

    def follow_paths(cfg: Config, changed: Iterable[str] | None = None) -> None:
        # New adds go to the new download root at once; torrents already added stay where they are.
        torrents.download_root = Path(cfg.download_root) if cfg.download_root else opts.data_dir / "downloads"
        torrents.extra_roots = [Path(t.split("{", 1)[0]) for t in cfg.category_rules.values()]

    listener.add_hook(follow_paths)
    pump = EnginePump(
        engine,
        bus,
        update_interval=opts.update_interval,
        resume_interval=opts.resume_interval,
        on_resume=torrents.on_resume,
        listeners=[torrents.on_event],
    )
    await torrents.restore()
    await pump.start()
    stack.push_async_callback(pump.stop)
    await start_postprocessing(
        stack,
        pool=db.pool,
        engine=engine,
        bus=bus,
        pump=pump,
        listener=listener,
        torrents=torrents,
        registry=registry,
    )

    return Services(
        engine=engine,
        bus=bus,
        torrents=torrents,
        data_dir=opts.data_dir,
        db=db,
        store=store,
        listener=listener,
        setup=setup,
        bootstrapped=bootstrapped,
    )


async def serve(opts: ServeOptions, *, ready: asyncio.Event | None = None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        services = await start_services(opts, stack)
        assert services.listener is not None
        bind = parse_bind("--bind", opts.bind) if opts.bind else services.listener.config.bind
        tracing = configure_tracing(services.listener.config.telemetry.otel_endpoint)
        app = build_app(services, tracing=tracing)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=10, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, bind.host, bind.port, reuse_address=True)
        try:
            await site.start()
            log.info("listening", extra={"bind": str(bind), "version": __version__})
            if ready is not None:
                ready.set()
            await stop.wait()
            log.info("stopping")
        finally:
            # Stop accepting, let in-flight requests finish, end event streams; then the stack
            # saves resume data, closes the session, flushes the registry and stops the database.
            await runner.cleanup()
    log.info("stopped")


def main(args: argparse.Namespace) -> int:
    opts = ServeOptions(
        data_dir=resolve_data_dir(getattr(args, "data_dir", None)),
        bind=getattr(args, "bind", None),
        database_url=getattr(args, "database_url", None),
        log_format=getattr(args, "log_format", None) or "json",
    )
    configure_logging(opts.log_format, opts.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(opts))
    return 0
