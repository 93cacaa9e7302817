"""A headless ``qbittorrent-nox`` as a foreign peer on 127.0.0.1.

It runs with a temporary ``--profile`` whose ini is written first: listening on
loopback only, DHT/LSD/PeX/UPnP off, TCP only, the legal notice accepted, the
WebUI on a free port with localhost auth off. Talk to it through its WebAPI
(``urllib``, blocking, with timeouts). ``close()`` asks it to shut down and
kills it if it does not exit; use it as a context manager so that always runs.

qBittorrent has no API to connect to a peer: a peer it should reach must be
announced by a tracker (``tests.support.tracker``) or connect to it first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

BINARY = "qbittorrent-nox"

# States qBittorrent reports once every piece is on disk.
SEEDING_STATES = frozenset({"uploading", "stalledUP", "queuedUP", "forcedUP", "pausedUP", "checkingUP"})

TorrentInfo = dict[str, Any]


class QBittorrentError(RuntimeError):
    """qbittorrent-nox is missing, did not start, or refused a request."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_binary() -> str:
    """The path of qbittorrent-nox, or a QBittorrentError that says how to install it."""
    path = shutil.which(BINARY)
    if path is None:
        raise QBittorrentError(f"{BINARY} is not installed: run `make dev` (apt-get install qbittorrent-nox)")
    return path


def write_config(
    profile: Path,
    *,
    listen_port: int,
    webui_port: int,
    save_path: Path,
    refresh_ms: int = 100,
    local_auth: bool = False,
) -> Path:
    """Write qBittorrent.conf under ``profile`` for a loopback-only, headless instance."""
    conf = profile / "qBittorrent" / "config" / "qBittorrent.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        "\n".join(
            [
                "[LegalNotice]",
                "Accepted=true",
                "",
                "[BitTorrent]",
                "Session\\Interface=lo",
                "Session\\InterfaceName=lo",
                "Session\\InterfaceAddress=127.0.0.1",
                f"Session\\Port={listen_port}",
                "Session\\DHTEnabled=false",
                "Session\\LSDEnabled=false",
                "Session\\PeXEnabled=false",
                "Session\\MultiConnectionsPerIp=true",
                "Session\\QueueingSystemEnabled=false",
                "Session\\BTProtocol=TCP",
                "Session\\AddTorrentPaused=false",
                "Session\\TempPathEnabled=false",
                f"Session\\DefaultSavePath={save_path}",
                # Its status rows are refreshed on this timer (1500 ms by default).
                f"Session\\RefreshInterval={refresh_ms}",
                "",
                "[Network]",
                "PortForwardingEnabled=false",
                "",
                "[Preferences]",
                "WebUI\\Address=127.0.0.1",
                f"WebUI\\Port={webui_port}",
                f"WebUI\\LocalHostAuth={'true' if local_auth else 'false'}",
                "WebUI\\UseUPnP=false",
                "WebUI\\CSRFProtection=false",
                "WebUI\\HostHeaderValidation=false",
                "Connection\\ResolvePeerCountries=false",
                "General\\UseRandomPort=false",
                "",
            ]
        )
    )
    return conf


class QBittorrent:
    """One qbittorrent-nox process with its own profile under ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        start_timeout: float = 30.0,
        refresh_ms: int = 100,
        wrapper: Sequence[str] = (),
        local_auth: bool = False,
    ) -> None:
        """``wrapper``: a command that runs the binary (its arguments follow), e.g. ``unshare``;
        ``local_auth``: loopback clients must log in too (this client logs in with the default
        ``admin``/``adminadmin``)."""
        self.local_auth = local_auth
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        self.binary = find_binary()
        self.root = root
        self.profile = root / "profile"
        self.downloads = root / "downloads"
        self.downloads.mkdir(parents=True, exist_ok=True)
        self.listen_port = free_port()
        self.webui_port = free_port()
        self.base = f"http://127.0.0.1:{self.webui_port}/api/v2"
        write_config(
            self.profile,
            listen_port=self.listen_port,
            webui_port=self.webui_port,
            save_path=self.downloads,
            refresh_ms=refresh_ms,
            local_auth=local_auth,
        )
        self.log_path = root / "qbittorrent.log"
        self._wrapper = tuple(wrapper)
        self._log = self.log_path.open("ab")
        self.proc: subprocess.Popen[bytes] | None = None
        self.version = ""
        self.start(start_timeout)

    # ---- process ------------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Start the process over this profile (again, after ``terminate``) until its WebUI answers."""
        if self._log.closed:
            self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*self._wrapper, self.binary, f"--profile={self.profile}"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "HOME": str(self.root), "QT_QPA_PLATFORM": "offscreen"},
        )
        try:
            self.version = self._wait_ready(timeout)
        except BaseException:
            self.close()
            raise

    def terminate(self, timeout: float = 120.0) -> None:
        """SIGTERM, as a service manager stops it, and wait until it has exited (its resume data
        written); the profile stays for ``start``."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=timeout)

    def _wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise QBittorrentError(f"{BINARY} exited at start:\n{self.log_text()}")
            try:
                if self.local_auth:
                    self._log_in()
                return self._request("GET", "app/version", timeout=2.0).decode()
            except (urllib.error.URLError, OSError) as e:
                last = e
            time.sleep(0.1)
        raise QBittorrentError(f"{BINARY} WebUI did not answer in {timeout} s ({last}):\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def close(self, timeout: float = 10.0) -> None:
        """Shut down through the API; kill the process if it is still alive after ``timeout``."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(urllib.error.URLError, OSError):
                self._request("POST", "app/shutdown", timeout=2.0)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if not self._log.closed:
            self._log.close()

    def __enter__(self) -> QBittorrent:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- WebAPI -------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        endpoint: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        timeout: float = 10.0,
    ) -> bytes:
        url = f"{self.base}/{endpoint}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, data=body, method=method)
        if content_type:
            req.add_header("Content-Type", content_type)
        with self._opener.open(req, timeout=timeout) as resp:
            data: bytes = resp.read()
            return data

    def _log_in(self) -> None:
        body = urllib.parse.urlencode({"username": "admin", "password": "adminadmin"}).encode()
        reply = self._request(
            "POST", "auth/login", body=body, content_type="application/x-www-form-urlencoded", timeout=2.0
        )
        if reply.strip() != b"Ok.":
            raise QBittorrentError(f"auth/login refused: {reply!r}")

    def add_torrent(
        self, torrent: bytes, save_path: Path, *, paused: bool = False, skip_checking: bool = False
    ) -> None:
        """POST /torrents/add with the .torrent bytes (multipart, as the WebUI does)."""
        boundary = uuid.uuid4().hex
        fields = {
            "savepath": str(save_path),
            "paused": "true" if paused else "false",
            "skip_checking": "true" if skip_checking else "false",
            "autoTMM": "false",
        }
        parts: list[bytes] = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="torrents"; filename="t.torrent"\r\n'
            "Content-Type: application/x-bittorrent\r\n\r\n".encode()
            + torrent
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        reply = self._request(
            "POST",
            "torrents/add",
            body=b"".join(parts),
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        if reply.strip() != b"Ok.":
            raise QBittorrentError(f"torrents/add refused: {reply!r}")

    def torrents(self, hashes: str | None = None) -> list[TorrentInfo]:
        """GET /torrents/info (all, or the ``|``-separated ``hashes``)."""
        query = {"hashes": hashes} if hashes else None
        rows = json.loads(self._request("GET", "torrents/info", query=query))
        assert isinstance(rows, list)
        return rows

    def torrent(self, info_hash: str) -> TorrentInfo | None:
        rows = self.torrents(info_hash)
        return rows[0] if rows else None

    def wait_torrent(
        self,
        info_hash: str,
        until: Callable[[TorrentInfo], bool],
        *,
        timeout: float,
        interval: float = 0.1,
    ) -> TorrentInfo:
        """Poll /torrents/info until ``until(row)`` holds; QBittorrentError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        row: TorrentInfo | None = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise QBittorrentError(f"{BINARY} exited:\n{self.log_text()}")
            row = self.torrent(info_hash)
            if row is not None and until(row):
                return row
            time.sleep(interval)
        raise QBittorrentError(f"torrent {info_hash} did not get there in {timeout} s; last row: {row}")

    def remove(self, info_hash: str, *, delete_files: bool = True) -> None:
        body = urllib.parse.urlencode(
            {"hashes": info_hash, "deleteFiles": "true" if delete_files else "false"}
        ).encode()
        self._request("POST", "torrents/delete", body=body, content_type="application/x-www-form-urlencoded")


def is_seeding(row: TorrentInfo) -> bool:
    """Every piece is on disk and qBittorrent is in an upload state."""
    return float(row.get("progress", 0.0)) >= 1.0 and row.get("state") in SEEDING_STATES
