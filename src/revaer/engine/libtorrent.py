"""The engine over libtorrent: a thin adapter from ``revaer._engine`` to the ``Engine`` Protocol."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence

from revaer import __version__, _engine
from revaer.engine.errors import EngineError
from revaer.engine.protocol import (
    STATE_BY_CODE,
    AddRequest,
    Changes,
    EngineEvent,
    FileInfo,
    ListenFailed,
    MetadataReceived,
    PeerInfo,
    PeerRefused,
    QueueMove,
    ResumeDataSaved,
    SessionStats,
    StorageMoved,
    StorageMoveFailed,
    TorrentAdded,
    TorrentAddFailed,
    TorrentCompleted,
    TorrentDataDeleted,
    TorrentFailed,
    TorrentMeta,
    TorrentRemoved,
    TorrentStateChanged,
    TorrentSummary,
    TrackerInfo,
    TrackerStatus,
)

log = logging.getLogger(__name__)

SettingValue = bool | int | str


def _fingerprint() -> str:
    parts = [*__version__.split("."), "0", "0", "0"][:3]
    digits = "".join(p[:1] if p.isdigit() else "0" for p in parts)
    return f"-RV{digits}0-"


# Sensible defaults for a daemon with thousands of torrents; config overrides them by name.
DEFAULT_SETTINGS: dict[str, SettingValue] = {
    "listen_interfaces": "0.0.0.0:6881,[::]:6881",
    "user_agent": f"Revaer/{__version__}",
    "peer_fingerprint": _fingerprint(),
    "enable_dht": True,
    "enable_lsd": True,
    "enable_upnp": True,
    "enable_natpmp": True,
    "enable_incoming_utp": True,
    "enable_outgoing_utp": True,
    "connections_limit": 800,
    "active_downloads": -1,
    "active_seeds": -1,
    "active_limit": -1,
    "active_checking": 1,
    "aio_threads": 4,
}


_K = _engine.EventKind


_Raw = tuple[int, str, str, bytes | None, int, int]  # kind, info-hash, text, data, a, b


def _listening(h: str, text: str, data: bytes | None, a: int, b: int) -> None:
    if b == 0:  # TCP; the uTP socket on the same address says the same
        log.info("engine listening", extra={"address": text, "port": a})


def _ports(interfaces: object) -> frozenset[int]:
    """The ports ``listen_interfaces`` ("addr:port[s],...") asks for."""
    if not isinstance(interfaces, str):
        return frozenset()
    ports = set()
    for part in interfaces.split(","):
        _, sep, port = part.strip().rstrip("s").rpartition(":")
        if sep and port.isdigit():
            ports.add(int(port))
    return frozenset(ports)


def _failed(h: str, text: str, data: bytes | None, a: int, b: int) -> EngineEvent:
    # Disk and file errors say what stopped a download: an operator's first clue.
    log.warning("torrent error", extra={"info_hash": h, "error": text})
    return TorrentFailed(h, text)


_R = _engine.PeerRefusal
# Why a peer was refused, as qBittorrent's peer log says it (``{port}``: the peer's port).
REFUSAL_REASONS: Mapping[int, str] = {
    _R.REFUSED_BANNED: "",
    _R.REFUSED_IP_FILTER: "IP filter",
    _R.REFUSED_PORT_FILTER: "filtered port ({port})",
    _R.REFUSED_I2P_MIXED: "I2P mixed mode restrictions",
    _R.REFUSED_PRIVILEGED_PORT: "privileged port ({port})",
    _R.REFUSED_UTP_DISABLED: "μTP is disabled",
    _R.REFUSED_TCP_DISABLED: "TCP is disabled",
    _R.REFUSED_LOCAL_INTERFACE: "not on the local interface",
    _R.REFUSED_SSRF: "SSRF mitigation",
}


def _refused(h: str, text: str, data: bytes | None, a: int, b: int) -> EngineEvent:
    reason = REFUSAL_REASONS.get(b, "refused").format(port=a)
    return PeerRefused(text, a, b != _R.REFUSED_BANNED, reason)


# How each kind of native event becomes a Revaer event (None: logged only, nothing to publish).
_CONVERTERS: dict[int, Callable[[str, str, bytes | None, int, int], EngineEvent | None]] = {
    _K.EV_ADDED: lambda h, text, data, a, b: TorrentAdded(h, text),
    _K.EV_STATE: lambda h, text, data, a, b: TorrentStateChanged(h, STATE_BY_CODE[a], STATE_BY_CODE[b]),
    _K.EV_COMPLETED: lambda h, text, data, a, b: TorrentCompleted(h, text),
    _K.EV_REMOVED: lambda h, text, data, a, b: TorrentRemoved(h),
    _K.EV_DATA_DELETED: lambda h, text, data, a, b: TorrentDataDeleted(h),
    _K.EV_ERROR: _failed,
    _K.EV_ADD_FAILED: lambda h, text, data, a, b: TorrentAddFailed(h, text),
    _K.EV_RESUME_DATA: lambda h, text, data, a, b: ResumeDataSaved(h, data or b""),
    _K.EV_RESUME_FAILED: lambda h, text, data, a, b: TorrentFailed(h, f"saving resume data failed: {text}"),
    _K.EV_METADATA: lambda h, text, data, a, b: MetadataReceived(h, text),
    _K.EV_STORAGE_MOVED: lambda h, text, data, a, b: StorageMoved(h, text),
    _K.EV_STORAGE_MOVE_FAILED: lambda h, text, data, a, b: StorageMoveFailed(h, text),
    _K.EV_LISTEN: _listening,
    _K.EV_LISTEN_FAILED: lambda h, text, data, a, b: ListenFailed(text),
    _K.EV_PEER_REFUSED: _refused,
}


def _event(raw: _Raw) -> EngineEvent | None:
    kind, h, text, data, a, b = raw
    convert = _CONVERTERS.get(kind)
    return None if convert is None else convert(h, text, data, a, b)


_ADD_FIELDS = dataclasses.fields(AddRequest)
_SOURCE_FIELDS = ("magnet", "torrent", "resume", "renamed_files")


class LibtorrentEngine:
    """The real engine: one libtorrent session owned by ``revaer._engine.Engine``."""

    __slots__ = ("_native", "_wanted_ports")

    # files(), trackers(), piece_states() and piece_hashes() wait for libtorrent's thread with the
    # GIL released and touch nothing of the loop's: callers may run them on a worker thread.
    threaded_queries = True

    def __init__(self, settings: Mapping[str, SettingValue] | None = None) -> None:
        merged = dict(DEFAULT_SETTINGS)
        merged.update(settings or {})
        self._wanted_ports = _ports(merged.get("listen_interfaces"))
        # The extension returns state codes; the shell owns what they mean.
        self._native = _engine.Engine(merged, states=STATE_BY_CODE)

    @property
    def fd(self) -> int:
        return self._native.fd

    @property
    def version(self) -> int:
        return self._native.version

    @property
    def closed(self) -> bool:
        return self._native.closed

    def listen_port(self) -> int:
        return self._native.listen_port()

    def add(self, request: AddRequest) -> str:
        # AddRequest's fields are the extension's keyword arguments, name for name.
        return self._native.add(**{f.name: getattr(request, f.name) for f in _ADD_FIELDS})

    def add_torrents(self, template: AddRequest, torrents: list[bytes]) -> list[str | EngineError]:
        """Add .torrent files with ``template``'s options (its source fields unused), parsed with
        the GIL released once for all: per file its info-hash or the engine's refusal."""
        options = {f.name: getattr(template, f.name) for f in _ADD_FIELDS if f.name not in _SOURCE_FIELDS}
        out = self._native.add_torrents(torrents, **options)
        return [r if isinstance(r, str | EngineError) else EngineError(str(r)) for r in out]

    def pause(self, info_hash: str) -> None:
        self._native.pause(info_hash)

    def resume(self, info_hash: str) -> None:
        self._native.resume(info_hash)

    def remove(self, info_hash: str, with_data: bool = False) -> None:
        self._native.remove(info_hash, with_data)

    def recheck(self, info_hash: str) -> None:
        self._native.recheck(info_hash)

    def reannounce(self, info_hash: str) -> None:
        self._native.reannounce(info_hash)

    def set_limits(self, info_hash: str, upload: int, download: int) -> None:
        self._native.set_limits(info_hash, upload, download)

    def set_sequential(self, info_hash: str, on: bool) -> None:
        self._native.set_sequential(info_hash, on)

    def queue(self, info_hash: str, move: QueueMove) -> None:
        self._native.queue(info_hash, _engine.QueueOp[f"QUEUE_{move.name}"])

    def move_storage(self, info_hash: str, path: str, reset_only: bool = False) -> None:
        self._native.move_storage(info_hash, path, reset_only)

    def save_resume(self, info_hash: str) -> None:
        self._native.save_resume(info_hash)

    def save_resume_modified(self, downloading_only: bool = False) -> int:
        return self._native.save_resume_modified(downloading_only)

    def connect_peer(self, info_hash: str, ip: str, port: int) -> None:
        self._native.connect_peer(info_hash, ip, port)

    def replace_trackers(self, info_hash: str, trackers: Sequence[tuple[str, int]]) -> None:
        self._native.replace_trackers(info_hash, list(trackers))

    def rename_file(self, info_hash: str, index: int, path: str) -> None:
        self._native.rename_file(info_hash, index, path)

    def torrent_file(self, info_hash: str) -> bytes:
        return self._native.torrent_file(info_hash)

    def torrent_meta(self, info_hash: str) -> TorrentMeta:
        comment, creator, date, seeds = self._native.torrent_meta(info_hash)
        return TorrentMeta(comment, creator, date, tuple(seeds))

    def peers(self, info_hash: str) -> list[PeerInfo]:
        return [PeerInfo(*p) for p in self._native.peers(info_hash)]

    def set_banned(self, addresses: Sequence[str]) -> None:
        self._native.set_banned(list(addresses))

    def set_super_seeding(self, info_hash: str, on: bool) -> None:
        self._native.set_super_seeding(info_hash, on)

    def set_first_last_priority(self, info_hash: str, on: bool) -> None:
        self._native.set_first_last_priority(info_hash, on)

    def files(self, info_hash: str) -> list[FileInfo]:
        return [FileInfo(*f) for f in self._native.files(info_hash)]

    def set_file_priorities(self, info_hash: str, priorities: dict[int, int]) -> None:
        self._native.set_file_priorities(info_hash, priorities)

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        return [
            TrackerInfo(url, tier, TrackerStatus(status), seeds, peers, leeches, downloaded, msg)
            for url, tier, status, seeds, peers, leeches, downloaded, msg in self._native.trackers(info_hash)
        ]

    def piece_states(self, info_hash: str) -> bytes:
        """One byte per piece: 0 missing, 1 being downloaded, 2 on disk."""
        return self._native.piece_states(info_hash)

    def piece_hashes(self, info_hash: str) -> list[str]:
        """The v1 SHA-1 hash of every piece, as hex."""
        return self._native.piece_hashes(info_hash)

    def stats(self) -> SessionStats:
        return SessionStats(**self._native.stats())

    def apply_settings(self, settings: dict[str, SettingValue]) -> None:
        if "listen_interfaces" in settings:
            self._wanted_ports = _ports(settings["listen_interfaces"])
        self._native.apply_settings(settings)

    def snapshot(self) -> Sequence[TorrentSummary]:
        return self._native.snapshot()

    def get(self, info_hash: str) -> TorrentSummary | None:
        return self._native.get(info_hash)

    def changed_since(self, version: int) -> Changes:
        v, resync, rows, removed = self._native.changed_since(version)
        return Changes(v, resync, rows, removed)

    def tick(self) -> None:
        self._native.post_updates()

    def poll(self) -> list[EngineEvent]:
        out: list[EngineEvent] = []
        for raw in self._native.drain():
            if raw[0] == _K.EV_LISTEN:
                self._check_port(raw[2], raw[4], raw[5])
            ev = _event(raw)
            if ev is not None:
                out.append(ev)
        return out

    def _check_port(self, address: str, port: int, socket_type: int) -> None:
        # libtorrent takes the next free port when the configured one is taken, and says so only
        # in a listen alert: an operator forwarding the configured port must hear about it.
        wanted = self._wanted_ports
        if socket_type == 0 and wanted and 0 not in wanted and port not in wanted:
            log.warning(
                "the configured BitTorrent port is taken: listening on another one",
                extra={"address": address, "port": port, "configured": sorted(wanted)},
            )

    def shutdown(self, timeout: float = 10.0) -> list[ResumeDataSaved]:
        return [ResumeDataSaved(h, data) for h, data in self._native.shutdown(timeout)]

    def wait_closed(self, timeout: float) -> bool:
        return self._native.wait_closed(timeout)
