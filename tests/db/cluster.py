"""PostgreSQL clusters a test starts, stops and freezes itself (never the machine's shared server).

``Cluster``: a throwaway cluster made with the system's PostgreSQL binaries (``initdb``/``pg_ctl``,
Debian's /usr/lib/postgresql/<v>/bin), run as the ``postgres`` user when the tests run as root,
listening on 127.0.0.1 and a free port, its data dir under /tmp. ``stop()``/``start()`` are a real
``pg_ctl stop``/``start``: the server goes away and comes back on the same port.

``postmaster_pid()`` and ``freeze()``/``thaw()`` work on any data dir, the embedded one included: a
frozen server is the postmaster and every process it forked stopped, as on a hung host (a
signal to the postmaster's process group would not do: each backend makes a group of its own).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.server import free_port


def system_bin() -> Path | None:
    """The newest system PostgreSQL's bin directory, or None when it is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def freeze(pgdata: Path) -> list[int]:
    """SIGSTOP the postmaster, then every backend (each is a process group of its own); returns them."""
    pid = postmaster_pid(pgdata)
    assert pid is not None, f"no server runs on {pgdata}"
    os.kill(pid, signal.SIGSTOP)  # first: a stopped postmaster forks no new backends
    frozen = [pid]
    for child in _children(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGSTOP)
            frozen.append(child)
    return frozen


def thaw(frozen: list[int]) -> None:
    for pid in reversed(frozen):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


class Cluster:
    """A PostgreSQL cluster of the test's own."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="revaer-pgc-", dir="/tmp"))
        self.pgdata = self.root / "data"
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user is not None:
            shutil.chown(self.root, self._user)
            self.root.chmod(0o755)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self._user is not None:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd="/", stdin=subprocess.DEVNULL, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--no-instructions")

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.pgdata}"
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.root / "log"),
            "-o",
            options,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-m", mode, "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            if postmaster_pid(self.pgdata) is not None:
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    bin_dir = system_bin()
    if bin_dir is None:
        raise RuntimeError("the system's PostgreSQL binaries (initdb, pg_ctl) are not installed")
    c = Cluster(bin_dir)
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.destroy()
