"""``revaer``: the server (``serve``, the default), a client of a running server, and operator commands.

``torrents ...`` and ``events`` talk to a running server over HTTP
(``--url``/``$REVAER_URL``, ``--api-key``/``$REVAER_API_KEY``; see ``revaer.remote``).
``config get/set`` and ``setup unlock`` do the same when ``--url`` or
``$REVAER_URL`` is given; otherwise they talk to PostgreSQL directly
(``--database-url`` or ``$DATABASE_URL``; without either, the embedded server in
the data dir, started for the command and stopped after it unless a server
already runs it), so they work whether or not a Revaer server is running; a
running server sees their changes through NOTIFY. They never create a database:
a data dir where no server has run is refused with where they looked, and a
server running on the data dir over a database of its own is reached over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import orjson

from revaer import __version__, remote

if TYPE_CHECKING:
    from revaer.db.pool import Database

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
# Settings a running server cannot apply live.
RESTART_SETTINGS = frozenset({"server.bind"})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revaer", description="A torrent daemon with PostgreSQL configuration."
    )
    parser.add_argument("--version", action="version", version=f"revaer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def db_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--database-url", help="PostgreSQL URL (default: $DATABASE_URL, else the embedded server)"
        )
        p.add_argument(
            "--data-dir", help="data directory (default: $REVAER_DATA_DIR, else the user data dir)"
        )

    serve = sub.add_parser("serve", help="run the server (the default)")
    serve.add_argument(
        "--data-dir", help="data directory (default: $REVAER_DATA_DIR, else the user data dir)"
    )
    serve.add_argument("--bind", help="HTTP address host:port (overrides server.bind)")
    serve.add_argument(
        "--database-url", help="PostgreSQL URL (default: $DATABASE_URL, else the embedded server)"
    )
    serve.add_argument(
        "--log-format",
        choices=("json", "text"),
        default=None,
        help="log lines as JSON or text (default: the telemetry.log_format setting)",
    )

    config = sub.add_parser("config", help="read or write settings")
    csub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    get = csub.add_parser("get", help="print one setting, or all of them, as JSON")
    get.add_argument("key", nargs="?")
    get.add_argument("--with-version", action="store_true", help="print {value, version} objects")
    db_options(get)
    remote.add_remote_options(get)
    set_ = csub.add_parser(
        "set", help="write one setting (a JSON value; an object merges into the stored one, RFC 7396)"
    )
    set_.add_argument("key")
    set_.add_argument("value", metavar="JSON")
    set_.add_argument(
        "--expect-version", type=int, help="refuse unless the stored version is this (0: unset)"
    )
    db_options(set_)
    remote.add_remote_options(set_)

    setup = sub.add_parser("setup", help="claim a new installation")
    ssub = setup.add_subparsers(dest="setup_command", metavar="ACTION", required=True)
    unlock = ssub.add_parser("unlock", help="apply the one-time setup token")
    unlock.add_argument("--token", required=True)
    unlock.add_argument("--username", required=True)
    unlock.add_argument(
        "--password",
        help="the admin password (visible to every user in ps: by default it is asked for, or read"
        " from the first line of standard input when that is not a terminal)",
    )
    db_options(unlock)
    remote.add_remote_options(unlock)
    remote.add_torrents_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``revaer`` and ``python -m revaer``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in (None, "serve"):
        if args.command is None:
            args.data_dir = None
            args.bind = None
            args.database_url = None
            args.log_format = None
        from revaer.db.lock import AlreadyRunning, DataDirLock

        # The data dir's lock first of all, before the server's (slower) imports: a second server
        # is refused at once, before it touches anything.
        lock = DataDirLock(_data_dir(args))
        try:
            lock.acquire(args.bind)
        except AlreadyRunning as exc:
            print(exc, file=sys.stderr)
            return EXIT_REFUSED
        except OSError as exc:
            print(f"revaer: cannot lock the data dir: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        from revaer.app import main as serve_main  # type: ignore[import-not-found,unused-ignore]
        from revaer.memory import limit_arenas

        # Before any thread starts: one malloc arena per core, not glibc's eight (ADR 0017).
        limit_arenas()

        return int(serve_main(args, lock=lock))
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command == "torrents":
        return remote.run(args, ("torrents", args.torrents_command))
    if args.command == "jobs":
        return remote.run(args, ("jobs", args.jobs_command))
    if args.command == "events":
        return remote.run(args, ("events", None))
    if args.command == "setup" and args.password is None:
        password = _read_password()
        if password is None:
            return EXIT_USAGE
        args.password = password
    if args.command in ("config", "setup"):
        route = _route(args)
        if route is not None:
            return route
    if args.command == "config":
        if args.config_command == "get":
            return _run_db(args, lambda db: _config_get(db, args.key, args.with_version, sys.stdout))
        return _run_db(
            args, lambda db: _config_set(db, args.key, args.value, args.expect_version, sys.stdout)
        )
    if args.command == "setup":
        data = _data_dir(args)
        return _run_db(args, lambda db: _setup_unlock(db, args.token, args.username, args.password, data))
    parser.print_usage(sys.stderr)
    return EXIT_USAGE


def _read_password() -> str | None:
    """The admin password from a prompt (typed twice), or the first line of a non-terminal stdin."""
    import getpass

    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            print("revaer: no password on standard input (give it on the first line)", file=sys.stderr)
            return None
        return line
    try:
        first = getpass.getpass("admin password: ")
        again = getpass.getpass("again: ")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return None
    if first != again:
        print("revaer: the two passwords differ", file=sys.stderr)
        return None
    return first


def _route(args: argparse.Namespace) -> int | None:
    """Run ``config``/``setup`` over HTTP when that is the way to the server's database (the exit
    status), refuse when there is no database to talk to, None: straight to the database.

    The CLI never creates a database: without ``--url``/``--database-url`` (or their variables) it
    uses the data dir's embedded PostgreSQL only if a server made one there, and goes through the
    server running on the data dir when that server's database is elsewhere."""
    from revaer.db.lock import running_server

    command = (args.command, args.config_command if args.command == "config" else args.setup_command)
    if getattr(args, "url", None) or os.environ.get("REVAER_URL"):
        return remote.run(args, command)
    if args.database_url or os.environ.get("DATABASE_URL"):
        return None
    data = _data_dir(args)
    pgdata = data / "pg"
    holder = running_server(data)
    if holder is not None and not (pgdata / "postmaster.pid").exists():
        # A server runs on this data dir over a database named on its command line: go through it.
        url = remote.url_of_bind(holder.get("bind"))
        if url is None:
            print(f"revaer: the server on {data} is still starting; try again in a moment", file=sys.stderr)
            return EXIT_REFUSED
        args.url = url
        return remote.run(args, command)
    if (pgdata / "PG_VERSION").exists():
        return None
    print(
        f"revaer: no Revaer database in {data} (no server has run with this data dir, and none runs"
        " on it); point the command at the server's: --data-dir DIR or $REVAER_DATA_DIR (the"
        " server's data dir), --url URL or $REVAER_URL (a running server), or --database-url URL or"
        " $DATABASE_URL",
        file=sys.stderr,
    )
    return EXIT_REFUSED


def _data_dir(args: argparse.Namespace) -> Path:
    from revaer.db.pool import data_dir

    return data_dir(args.data_dir)


def _run_db(args: argparse.Namespace, action: Callable[[Database], Awaitable[int]]) -> int:
    from revaer.db.embedded import EmbeddedPostgresError
    from revaer.db.migrate import MigrationError

    async def run() -> int:
        from revaer.db.migrate import migrate_dsn
        from revaer.db.pool import open_database

        db = await open_database(args.database_url, _data_dir(args), min_size=1, max_size=2)
        try:
            await migrate_dsn(db.dsn)
            return await action(db)
        finally:
            await db.close()

    try:
        return asyncio.run(run())
    except (OSError, EmbeddedPostgresError, MigrationError) as exc:
        print(f"revaer: {exc}", file=sys.stderr)
        return EXIT_REFUSED


def _dump(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


async def _config_get(db: Database, key: str | None, with_version: bool, out: TextIO) -> int:
    from revaer.config.model import ConfigValidationError
    from revaer.config.store import ConfigStore

    store = ConfigStore(db.pool)
    try:
        if key is not None:
            item = await store.get(key)
            print(
                _dump({"value": item.value, "version": item.version} if with_version else item.value),
                file=out,
            )
            return EXIT_OK
    except ConfigValidationError as exc:
        print(f"revaer: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    everything = await store.get_all()
    if with_version:
        print(_dump({k: {"value": v.value, "version": v.version} for k, v in everything.items()}), file=out)
    else:
        print(_dump({k: v.value for k, v in everything.items()}), file=out)
    return EXIT_OK


async def _config_set(db: Database, key: str, text: str, expect: int | None, out: TextIO) -> int:
    from revaer.config.model import ConfigValidationError
    from revaer.config.store import ConfigStore, VersionConflict

    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        print(f"revaer: {key}: the value must be JSON (strings in double quotes): {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        versions = await ConfigStore(db.pool).patch(
            {key: value}, expected_versions=None if expect is None else {key: expect}, merge=True
        )
        version = versions[key]
        stored = (await ConfigStore(db.pool).get(key)).value
    except (ConfigValidationError, VersionConflict) as exc:
        print(f"revaer: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"{key} = {orjson.dumps(stored).decode()} (version {version})", file=out)
    if key in RESTART_SETTINGS:
        print(f"{key} applies after a restart of the server", file=out)
    return EXIT_OK


async def _setup_unlock(db: Database, token: str, username: str, password: str, data: Path) -> int:
    from revaer.config.setup import Setup, SetupError

    try:
        result = await Setup(db.pool, data).apply(token, username, password)
    except (SetupError, ValueError) as exc:
        print(f"revaer: setup refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"installation set up; admin: {result.admin_username}")
    print(f"API key (shown once, keep it): {result.api_key}")
    return EXIT_OK
