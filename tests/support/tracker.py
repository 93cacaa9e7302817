"""A tiny HTTP BitTorrent tracker on 127.0.0.1 for loopback swarms.

It answers ``GET /announce`` with compact peer lists (BEP 3/23) and nothing
else. Peers are learnt from announces (the address is the connection's, the
port the announced one) or registered by hand with ``add_peer`` for a client
that does not announce. Everything is bounded: torrents, peers per torrent and
the request line; it is for tests, not for the internet.

    with Tracker() as tracker:
        torrent = make_torrent(path, trackers=[tracker.announce_url])
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import unquote_to_bytes

from tests.support.torrents import Bencodable, bencode

MAX_TORRENTS = 1024
MAX_PEERS_PER_TORRENT = 256
MAX_PEERS_RETURNED = 50


@dataclass(frozen=True, slots=True)
class Peer:
    ip: str
    port: int
    left: int  # bytes the peer still needs; 0 for a seed


def _parse_query(raw: str) -> dict[str, bytes]:
    """Query string to raw bytes: ``info_hash`` and ``peer_id`` are binary, not UTF-8."""
    out: dict[str, bytes] = {}
    for part in raw.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        out[unquote_to_bytes(key).decode("latin-1")] = unquote_to_bytes(value.replace("+", " "))
    return out


def _failure(reason: str) -> bytes:
    reply: dict[str, Bencodable] = {"failure reason": reason}
    return bencode(reply)


def _compact(peers: list[Peer]) -> bytes:
    return b"".join(socket.inet_aton(p.ip) + p.port.to_bytes(2, "big") for p in peers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tracker: Tracker


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path != "/announce":
            self._reply(404, b"not found")
            return
        body = self.server.tracker.announce(_parse_query(query), self.client_address[0])
        self._reply(200, body)

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Tracker:
    """An HTTP tracker on 127.0.0.1 in a background thread; ``close()`` (or ``with``) stops it."""

    def __init__(self, *, interval: int = 30) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        # info-hash (20 bytes) -> peer key -> Peer
        self._swarms: dict[bytes, dict[bytes, Peer]] = {}
        self.announces = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.tracker = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-tracker", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def announce_url(self) -> str:
        # libtorrent refuses trackers on loopback whose path is not /announce (SSRF mitigation).
        return f"http://127.0.0.1:{self.port}/announce"

    def add_peer(self, info_hash: str, ip: str, port: int, *, seed: bool = True) -> None:
        """Register a peer that does not announce (``info_hash``: 40 hex)."""
        self._store(
            bytes.fromhex(info_hash), f"static:{ip}:{port}".encode(), Peer(ip, port, 0 if seed else 1)
        )

    def forget(self, info_hash: str) -> None:
        """Drop every peer of ``info_hash`` (40 hex), announced or registered."""
        with self._lock:
            self._swarms.pop(bytes.fromhex(info_hash), None)

    def peers(self, info_hash: str) -> list[Peer]:
        """The peers known for ``info_hash`` (40 hex)."""
        with self._lock:
            return list(self._swarms.get(bytes.fromhex(info_hash), {}).values())

    def announce(self, query: dict[str, bytes], client_ip: str) -> bytes:
        """Handle one announce; returns the bencoded response."""
        with self._lock:
            self.announces += 1
        info_hash = query.get("info_hash", b"")
        peer_id = query.get("peer_id", b"")
        if len(info_hash) != 20 or not peer_id:
            return _failure("info_hash and peer_id are required")
        try:
            port = int(query.get("port", b"0"))
            left = int(query.get("left", b"0"))
        except ValueError:
            return _failure("bad port or left")
        if not 0 < port < 65536:
            return _failure("bad port")
        event = query.get("event", b"")
        if event == b"stopped":
            with self._lock:
                self._swarms.get(info_hash, {}).pop(peer_id, None)
            peers: list[Peer] = []
        else:
            if not self._store(info_hash, peer_id, Peer(client_ip, port, left)):
                return _failure("tracker is full")
            with self._lock:
                swarm = self._swarms.get(info_hash, {})
                peers = [p for key, p in swarm.items() if key != peer_id][:MAX_PEERS_RETURNED]
        complete = sum(1 for p in peers if p.left == 0)
        reply: dict[str, Bencodable] = {
            "interval": self.interval,
            "min interval": min(self.interval, 5),
            "complete": complete,
            "incomplete": len(peers) - complete,
            "peers": _compact(peers),
        }
        return bencode(reply)

    def _store(self, info_hash: bytes, key: bytes, peer: Peer) -> bool:
        with self._lock:
            swarm = self._swarms.get(info_hash)
            if swarm is None:
                if len(self._swarms) >= MAX_TORRENTS:
                    return False
                swarm = self._swarms[info_hash] = {}
            if key not in swarm and len(swarm) >= MAX_PEERS_PER_TORRENT:
                return False
            swarm[key] = peer
            return True

    def close(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
