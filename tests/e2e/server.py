"""``python -m revaer serve`` as a child process, for the end-to-end tests.

The child runs the installed package with the test's interpreter, from the
repository root, on 127.0.0.1 and a free port, with its log in a file of the
data dir (a pipe nobody reads would fill and stall it). Every wait is bounded
and a failure quotes the end of that log.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import aiohttp

from revaer.config.store import ConfigStore
from revaer.db.pool import create_pool

REPO = Path(__file__).resolve().parents[2]

# The engine on loopback only: no discovery, no port mapping, TCP only (uTP is slow on loopback),
# several peers on 127.0.0.1. Written into the database before the server starts.
LOOPBACK_CONFIG: dict[str, Any] = {
    "engine.listen_interfaces": "127.0.0.1:0",
    "engine.dht": False,
    "engine.settings": {
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
    },
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def write_config(database_url: str, values: dict[str, Any]) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        await ConfigStore(pool).patch(values)
    finally:
        await pool.close()


class ServerProcess:
    """One run of the server on ``data_dir`` and ``database_url`` (empty: its embedded PostgreSQL);
    start it again for a restart."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = 0
        self.host = "127.0.0.1"  # the address bound (the tests reach it on 127.0.0.1 either way)
        self.proc: subprocess.Popen[bytes] | None = None
        # Set when the server serves HTTPS (server.tls): the client context that trusts its certificate.
        self.tls: ssl.SSLContext | None = None
        self.log_path = data_dir / "server.log"
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def spawn(self) -> None:
        """Start the child process (``start`` also waits for it to answer)."""
        assert self.proc is None, "already running"
        self.port = free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        args = ["--data-dir", str(self.data_dir), "--bind", f"{self.host}:{self.port}"]
        if self.database_url:
            env = dict(os.environ)
            args += ["--database-url", self.database_url]
        else:  # no database URL: the server runs its embedded PostgreSQL in the data dir
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REVAER_DATA_DIR")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "revaer", "serve", *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def start(self, *, within: float = 20.0) -> dict[str, Any]:
        """Start the child and wait until ``/v1/health`` answers; returns the health body."""
        self.spawn()
        assert self.proc is not None
        deadline = time.monotonic() + within
        retries = 3
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.poll() is not None and retries and self._port_was_taken():
                    # The free port was taken between free_port() and the bind (the engine's own
                    # ephemeral listen port can be the very one): another port, a bounded number of times.
                    retries -= 1
                    self._reap()
                    self.spawn()
                    continue
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"server exited with {self.proc.returncode} while starting:\n{self.log_tail()}"
                    )
                try:
                    health = f"{self.url}/v1/health"
                    wait = aiohttp.ClientTimeout(total=2)
                    async with http.get(health, ssl=self.tls or True, timeout=wait) as r:
                        if r.status == 200:
                            body: dict[str, Any] = await r.json()
                            return body
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError(f"server not healthy within {within} s:\n{self.log_tail()}")
                await asyncio.sleep(0.05)

    def _port_was_taken(self) -> bool:
        return f"revaer: cannot listen on 127.0.0.1:{self.port}:" in self.log_tail(5)

    async def stop(self, sig: signal.Signals = signal.SIGTERM, *, within: float = 10.0) -> int:
        """Send ``sig`` and wait for the exit; fails (and kills it) after ``within`` seconds."""
        assert self.proc is not None, "not running"
        self.proc.send_signal(sig)
        deadline = time.monotonic() + within
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"server still running {within} s after {sig.name}:\n{self.log_tail()}")
            await asyncio.sleep(0.02)
        code = self.proc.returncode
        self._reap()
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reap()

    def _reap(self) -> None:
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


PASSWORD = "correct horse battery"


async def claim(http: aiohttp.ClientSession, server: ServerProcess) -> str:
    """Claim the fresh installation as ``admin``/``PASSWORD`` with its setup token; the API key."""
    token = (server.data_dir / "setup-token").read_text().strip()
    body = {"setup_token": token, "admin_username": "admin", "admin_password": PASSWORD}
    async with http.post(f"{server.url}/v1/setup/apply", json=body) as r:
        assert r.status == 201, await r.text()
        key: str = (await r.json())["api_key"]
        return key
