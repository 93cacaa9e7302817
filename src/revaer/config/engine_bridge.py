"""Applies the engine part of the config to a live engine, on start and on every hot reload.

Session settings are sent as a diff against what was last applied, so a change
of one key touches one libtorrent setting. ``torrent.defaults`` rate limits
follow into live torrents that still run with the previous defaults; a torrent
given limits of its own keeps them. New torrents get the current defaults in
every limit their add leaves unset (``with_defaults()``, which the torrent
service applies on every add); connection limits apply to new torrents only.

A setting removed from ``engine.settings`` keeps its current value until the
next start: libtorrent has no "reset to default" by name.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypedDict

from revaer.config.listener import ConfigListener
from revaer.config.model import Config, TorrentDefaults
from revaer.engine.protocol import AddRequest, Engine, engine_limit

if TYPE_CHECKING:
    from revaer.restore import Restore

log = logging.getLogger(__name__)

SettingValue = bool | int | str


def engine_settings(config: Config) -> dict[str, SettingValue]:
    """The libtorrent settings (by name) that ``config`` asks for."""
    e = config.engine
    out: dict[str, SettingValue] = dict(e.settings)
    download, upload = e.effective_limits
    out.update(
        listen_interfaces=e.listen_interfaces,
        enable_dht=e.dht,
        download_rate_limit=download,
        upload_rate_limit=upload,
        connections_limit=e.connections_limit,
        limit_lan_peers=e.limit_lan_peers,
    )
    return out


class AddDefaults(TypedDict):
    """``AddRequest`` keyword arguments from ``torrent.defaults``."""

    upload_limit: int
    download_limit: int
    max_connections: int


def add_defaults(config: Config) -> AddDefaults:
    """Keyword arguments for an ``AddRequest`` that carry ``torrent.defaults``."""
    d = config.torrent_defaults
    return {
        "upload_limit": engine_limit(d.upload_limit),
        "download_limit": engine_limit(d.download_limit),
        "max_connections": engine_limit(d.max_conns),
    }


class EngineBridge:
    """Keeps one engine's session settings and default limits equal to the config."""

    __slots__ = ("_applied", "_banned", "_defaults", "_engine", "_held", "restore")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._banned: tuple[str, ...] = ()
        self._applied: dict[str, SettingValue] = {}
        self._defaults: TorrentDefaults | None = None
        #: The stored torrents being re-added: new default limits wait until every one is back.
        self.restore: Restore | None = None
        self._held: TorrentDefaults | None = None

    @property
    def applied(self) -> dict[str, SettingValue]:
        """The settings this bridge has applied so far."""
        return dict(self._applied)

    def with_defaults(self, request: AddRequest) -> AddRequest:
        """``request`` with the current ``torrent.defaults`` in each limit it leaves unset (negative)."""
        d = self._defaults
        if d is None:
            return request
        return dataclasses.replace(
            request,
            upload_limit=request.upload_limit if request.upload_limit >= 0 else engine_limit(d.upload_limit),
            download_limit=(
                request.download_limit if request.download_limit >= 0 else engine_limit(d.download_limit)
            ),
            max_connections=(
                request.max_connections if request.max_connections >= 0 else engine_limit(d.max_conns)
            ),
        )

    def attach(self, listener: ConfigListener) -> None:
        """Apply the listener's current config now and every change from now on."""
        self.apply(listener.config)
        listener.add_hook(self.apply)

    def apply(self, config: Config, changed: Iterable[str] | None = None) -> None:
        """Bring the engine in line with ``config`` (``changed`` is informative only)."""
        wanted = engine_settings(config)
        diff = {k: v for k, v in wanted.items() if k not in self._applied or self._applied[k] != v}
        if diff:
            try:
                self._engine.apply_settings(diff)
            except ValueError as exc:
                # Validation should have caught it; an engine of another libtorrent version may still refuse.
                log.error("engine refused settings", extra={"settings": sorted(diff), "error": str(exc)})
            else:
                self._applied.update(diff)
                log.info("engine settings applied", extra={"settings": sorted(diff)})
        self._apply_torrent_defaults(config.torrent_defaults)
        if config.engine.banned_ips != self._banned:
            self._engine.set_banned(config.engine.banned_ips)
            self._banned = config.engine.banned_ips
            log.info("banned peers applied", extra={"count": len(self._banned)})

    def _apply_torrent_defaults(self, new: TorrentDefaults) -> None:
        if self._defaults is not None and self.restore is not None and self.restore.running:
            # Torrents not restored yet would keep the old limits: applied once all are back.
            if self._held is None:
                self.restore.after(self._release)
            self._held = new
            return
        old, self._defaults = self._defaults, new
        if old is None or (old.upload_limit, old.download_limit) == (new.upload_limit, new.download_limit):
            return
        moved = 0
        for row in self._engine.snapshot():
            follows = (row.upload_limit, row.download_limit) == (
                engine_limit(old.upload_limit),
                engine_limit(old.download_limit),
            )
            if follows:
                self._engine.set_limits(
                    row.info_hash, engine_limit(new.upload_limit), engine_limit(new.download_limit)
                )
                moved += 1
        log.info("torrent default limits applied", extra={"torrents": moved})

    def _release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._apply_torrent_defaults(held)
