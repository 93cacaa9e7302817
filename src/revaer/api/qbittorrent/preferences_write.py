"""``app/setPreferences``: qBittorrent preferences written to Revaer's config, or kept where it has none.

A preference Revaer has a setting for is written to the config store (one
transaction for the whole request) and applied live by the config hot reload,
like any other config change: ``save_path`` → ``paths.download_root``, ``dht``
→ ``engine.dht``, ``dl_limit``/``up_limit``/``max_connec`` →
``engine.limits``, ``alt_dl_limit``/``alt_up_limit`` → ``engine.alt_limits``,
``max_connec_per_torrent`` → ``torrent.defaults``,
``listen_port`` → the port of ``engine.listen_interfaces``,
``bypass_local_auth`` → ``compat.qbittorrent.bypass_localhost``, ``use_https``,
``web_ui_https_cert_path``/``key_path`` → ``server.tls`` (HTTPS on the listener, switched live;
refused unless the certificate and key load), ``limit_lan_peers`` →
``engine.limit_lan_peers``, a few session switches → ``engine.settings`` (see
``ENGINE_SETTINGS``), and the ``rss_*`` preferences → ``rss``. Any other
preference is kept as given in ``QbPreferences`` (in memory) and returned by
``app/preferences``; it changes nothing else, except ``queueing_enabled``,
which turns the queue actions on (409 without it, as qBittorrent answers).

qBittorrent ignores what it cannot parse; Revaer refuses a wrong-typed value
of a preference it stores in the config with 400 and writes nothing, and a
preference asking for something it does not do (``UNHONOURED``) likewise.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from revaer.api.keys import CONFIG, CONFIG_STORE, TORRENTS
from revaer.api.qbittorrent.errors import FORBIDDEN, QbError, bad_request, text_response
from revaer.api.qbittorrent.keys import SESSION
from revaer.config.model import SHARE_ACTIONS, Config, ConfigValidationError
from revaer.paths import PathNotAllowedError

log = logging.getLogger(__name__)

Json = Any

# qBittorrent preference -> (libtorrent setting in engine.settings, value type).
ENGINE_SETTINGS: Mapping[str, tuple[str, type]] = {
    "upnp": ("enable_upnp", bool),
    "lsd": ("enable_lsd", bool),
    "anonymous_mode": ("anonymous_mode", bool),
    "max_active_downloads": ("active_downloads", int),
    "max_active_uploads": ("active_seeds", int),
    "max_active_torrents": ("active_limit", int),
    "dont_count_slow_torrents": ("dont_count_slow_torrents", bool),
    "enable_multi_connections_from_same_ip": ("allow_multiple_connections_per_ip", bool),
}

UNLIMITED_CONNECTIONS = 2**31 - 1
MAX_KEPT = 512  # preferences kept in memory
MAX_TEXT = 4096
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
WAIT_FOR_RELOAD = 5.0


class QbPreferences:
    """qBittorrent preferences Revaer has no setting for: kept as given, returned by ``app/preferences``."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[str, Json] = {}

    @property
    def queueing_enabled(self) -> bool:
        """Off unless a client turns it on: Revaer's torrents are not held back by a queue."""
        return self.values.get("queueing_enabled") is True

    @property
    def start_paused(self) -> bool:
        return self.values.get("start_paused_enabled") is True

    def update(self, values: Mapping[str, Json]) -> None:
        for k, v in values.items():
            if k in self.values or len(self.values) < MAX_KEPT:
                self.values[k] = v


PREFERENCES = web.AppKey("qb_preferences", QbPreferences)


def _bool(key: str, v: Json) -> bool:
    if not isinstance(v, bool):
        raise bad_request(f"'{key}' must be a boolean")
    return v


def _int(key: str, v: Json) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise bad_request(f"'{key}' must be an integer")
    return v


def _str(key: str, v: Json) -> str:
    if not isinstance(v, str):
        raise bad_request(f"'{key}' must be a string")
    return v


def _keepable(v: Json) -> bool:
    if isinstance(v, bool | int | float) or v is None:
        return True
    if isinstance(v, str):
        return len(v) <= MAX_TEXT
    if isinstance(v, dict):  # scan_dirs
        return len(v) <= 64 and all(isinstance(k, str) and _keepable(x) for k, x in v.items())
    return False


def _with_port(interfaces: str, port: int) -> str:
    parts = [p.strip() for p in interfaces.split(",") if p.strip()]
    return ",".join(re.sub(r":\d{1,5}(s?)$", rf":{port}\1", p) for p in parts) or f"0.0.0.0:{port}"


class _Changes:
    """The config changes of one ``setPreferences``: whole values, or fields of object values."""

    __slots__ = ("config", "values")

    def __init__(self, config: Config) -> None:
        self.config = config
        self.values: dict[str, Json] = {}

    def set(self, key: str, value: Json) -> None:
        self.values[key] = value

    def field(self, key: str, name: str, value: Json) -> None:
        """One field of an object setting; the others keep their current values."""
        if key not in self.values:
            self.values[key] = dict(self.config.values[key])
        self.values[key][name] = value


def _max_connec(ch: _Changes, k: str, v: Json) -> None:
    n = _int(k, v)
    ch.field("engine.limits", "connections", n if n > 0 else UNLIMITED_CONNECTIONS)


def _listen_port(ch: _Changes, k: str, v: Json) -> None:
    port = _int(k, v)
    if not 0 <= port <= 65535:
        raise bad_request(f"'{k}' must be a port")
    if port:  # 0: qBittorrent picks a random port; Revaer keeps its own
        ch.set("engine.listen_interfaces", _with_port(ch.config.engine.listen_interfaces, port))


def _engine_setting(ch: _Changes, k: str, v: Json) -> None:
    name, kind = ENGINE_SETTINGS[k]
    ch.field("engine.settings", name, _bool(k, v) if kind is bool else _int(k, v))


# qBittorrent preference -> how it changes the config (400 on a wrong type).
_MAPPED: Mapping[str, Callable[[_Changes, str, Json], None]] = {
    "save_path": lambda ch, k, v: ch.set("paths.download_root", _str(k, v).strip().rstrip("/") or "/"),
    "dht": lambda ch, k, v: ch.set("engine.dht", _bool(k, v)),
    "limit_lan_peers": lambda ch, k, v: ch.set("engine.limit_lan_peers", _bool(k, v)),
    "dl_limit": lambda ch, k, v: ch.field("engine.limits", "download", max(_int(k, v), 0)),
    "up_limit": lambda ch, k, v: ch.field("engine.limits", "upload", max(_int(k, v), 0)),
    "alt_dl_limit": lambda ch, k, v: ch.field("engine.alt_limits", "download", max(_int(k, v), 0)),
    "alt_up_limit": lambda ch, k, v: ch.field("engine.alt_limits", "upload", max(_int(k, v), 0)),
    "max_connec": _max_connec,
    "max_connec_per_torrent": lambda ch, k, v: ch.field("torrent.defaults", "max_conns", max(_int(k, v), 0)),
    "listen_port": _listen_port,
    "bypass_local_auth": lambda ch, k, v: ch.field("compat.qbittorrent", "bypass_localhost", _bool(k, v)),
    "use_https": lambda ch, k, v: ch.field("server.tls", "enabled", _bool(k, v)),
    "web_ui_https_cert_path": lambda ch, k, v: ch.field("server.tls", "cert_path", _str(k, v).strip()),
    "web_ui_https_key_path": lambda ch, k, v: ch.field("server.tls", "key_path", _str(k, v).strip()),
    "banned_IPs": lambda ch, k, v: ch.set(
        "engine.banned_ips", [a.strip() for a in _str(k, v).split("\n") if a.strip()]
    ),
    **dict.fromkeys(ENGINE_SETTINGS, _engine_setting),
    # ---- RSS (the rss setting) ----
    "rss_auto_downloading_enabled": lambda ch, k, v: ch.field("rss", "auto_download", _bool(k, v)),
    "rss_download_repack_proper_episodes": lambda ch, k, v: ch.field("rss", "download_repacks", _bool(k, v)),
    "rss_max_articles_per_feed": lambda ch, k, v: ch.field("rss", "max_articles_per_feed", _int(k, v)),
    "rss_processing_enabled": lambda ch, k, v: ch.field("rss", "enabled", _bool(k, v)),
    "rss_refresh_interval": lambda ch, k, v: ch.field("rss", "refresh_interval", _int(k, v)),
    "rss_smart_episode_filters": lambda ch, k, v: ch.field(
        "rss", "smart_episode_filters", [x for x in _str(k, v).splitlines() if x.strip()]
    ),
}


# qBittorrent's global share-limit preferences -> the field of torrent.share_limits, and the value an
# enabled limit takes when the request gives none (qBittorrent's own defaults).
_SHARE_PREFS: Mapping[str, tuple[str, float]] = {
    "max_ratio": ("ratio", 1.0),
    "max_seeding_time": ("seeding_minutes", 1440),
    "max_inactive_seeding_time": ("inactive_minutes", 1440),
}
SHARE_PREF_KEYS = frozenset([*_SHARE_PREFS, *(f"{k}_enabled" for k in _SHARE_PREFS), "max_ratio_act"])


def _share_limits(ch: _Changes, prefs: Mapping[str, Json]) -> None:
    """``max_ratio(_enabled)``, ``max_seeding_time(_enabled)``, ``max_inactive_seeding_time(_enabled)``
    and ``max_ratio_act`` → ``torrent.share_limits`` (a disabled limit is stored as -1)."""
    current = ch.config.share_limits
    for pref, (name, default) in _SHARE_PREFS.items():
        enabled, value = prefs.get(f"{pref}_enabled"), prefs.get(pref)
        if enabled is None and value is None:
            continue
        was = getattr(current, name)
        on = was >= 0 if enabled is None else _bool(f"{pref}_enabled", enabled)
        if value is None:
            value = was if was >= 0 else default
        elif name == "ratio":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad_request(f"'{pref}' must be a number")
        else:
            value = _int(pref, value)
        if value < 0:  # qBittorrent: a negative limit is no limit
            on = False
        ch.field("torrent.share_limits", name, min(value, 9999 if name == "ratio" else 525600) if on else -1)
    if "max_ratio_act" in prefs:
        act = _int("max_ratio_act", prefs["max_ratio_act"])
        if not 0 <= act < len(SHARE_ACTIONS):
            raise bad_request("'max_ratio_act' must be 0 to 3")
        ch.field("torrent.share_limits", "action", SHARE_ACTIONS[act])


# Preferences for things Revaer does not do (schedule speed limits, reach peers through
# a proxy, update a dynamic DNS name, send mail, run programs, copy .torrent files, watch folders,
# serve another web UI, use I2P, a global temporary path): the value that leaves them off is accepted,
# any other is refused rather than kept as if it were honoured.
UNHONOURED: Mapping[str, tuple[Json, ...]] = {
    "scheduler_enabled": (False,),
    "proxy_type": (0, -1, "None"),
    "dyndns_enabled": (False,),
    "mail_notification_enabled": (False,),
    "autorun_enabled": (False,),
    "autorun_on_torrent_added_enabled": (False,),
    "export_dir": ("",),
    "export_dir_fin": ("",),
    "scan_dirs": ({},),
    "alternative_webui_enabled": (False,),
    "i2p_enabled": (False,),
    "temp_path_enabled": (False,),
}


def _refuse_unhonoured(prefs: Mapping[str, Json]) -> None:
    for k, allowed in UNHONOURED.items():
        if k in prefs and not any(prefs[k] == a and type(prefs[k]) is type(a) for a in allowed):
            raise bad_request(f"Unsupported preference: {k}")


def plan(prefs: Mapping[str, Json], config: Config) -> tuple[dict[str, Json], dict[str, Json]]:
    """``(config changes, preferences to keep)`` for a ``setPreferences`` object; 400 on a wrong type."""
    _refuse_unhonoured(prefs)
    changes = _Changes(config)
    kept: dict[str, Json] = {}
    _share_limits(changes, prefs)
    for k, v in prefs.items():
        if k in SHARE_PREF_KEYS:
            continue
        apply = _MAPPED.get(k)
        if apply is not None:
            apply(changes, k, v)
        elif _KEY.match(k) and _keepable(v):
            kept[k] = v
    return changes.values, kept


def from_config(config: Config, download_root: Path) -> dict[str, Json]:
    """The preferences that come from the config, in qBittorrent's terms (for ``app/preferences``)."""
    e = config.engine
    ports = re.findall(r":(\d{1,5})s?(?:,|$)", e.listen_interfaces)
    out: dict[str, Json] = {
        "save_path": config.download_root or str(download_root),
        "dht": e.dht,
        "limit_lan_peers": e.limit_lan_peers,
        "dl_limit": e.download_limit,
        "up_limit": e.upload_limit,
        "alt_dl_limit": e.alt_download_limit,
        "alt_up_limit": e.alt_upload_limit,
        "max_connec": -1 if e.connections_limit >= UNLIMITED_CONNECTIONS else e.connections_limit,
        "max_connec_per_torrent": config.torrent_defaults.max_conns or -1,
        "bypass_local_auth": config.qbittorrent.bypass_localhost,
        "banned_IPs": "\n".join(e.banned_ips),
        "use_https": config.tls.enabled,
        "web_ui_https_cert_path": config.tls.cert_path,
        "web_ui_https_key_path": config.tls.key_path,
    }
    share = config.share_limits
    for pref, (name, _) in _SHARE_PREFS.items():
        value = getattr(share, name)
        out[f"{pref}_enabled"] = value >= 0
        out[pref] = value if value >= 0 else -1
    out["max_ratio_act"] = SHARE_ACTIONS.index(share.action)
    if ports:
        out["listen_port"] = int(ports[0])
    rss = config.values["rss"]
    out.update(
        rss_processing_enabled=rss["enabled"],
        rss_refresh_interval=rss["refresh_interval"],
        rss_max_articles_per_feed=rss["max_articles_per_feed"],
        rss_auto_downloading_enabled=rss["auto_download"],
        rss_download_repack_proper_episodes=rss["download_repacks"],
        rss_smart_episode_filters="\n".join(rss["smart_episode_filters"]),
    )
    for qb, (name, _) in ENGINE_SETTINGS.items():
        if name in e.settings:
            out[qb] = e.settings[name]
    return out


def _widens(request: web.Request, changes: Mapping[str, Json], config: Config) -> bool:
    """Whether ``changes`` would let more in: a download root outside the current roots, or the
    localhost bypass turned on."""
    root = changes.get("paths.download_root")
    if root is not None:
        try:
            request.config_dict[TORRENTS].confine(root)
        except PathNotAllowedError:
            return True
    qb = changes.get("compat.qbittorrent")
    return qb is not None and qb.get("bypass_localhost") and not config.qbittorrent.bypass_localhost


async def set_preferences(request: web.Request) -> web.Response:
    query = dict(request.query)
    form = await request.post() if request.can_read_body else {}
    raw = form.get("json", query.get("json"))
    if not isinstance(raw, str):
        raise bad_request()
    try:
        prefs = orjson.loads(raw)
    except orjson.JSONDecodeError:
        prefs = None
    if not isinstance(prefs, dict):
        return text_response("")  # qBittorrent reads anything else as an empty object
    listener, store = request.config_dict.get(CONFIG), request.config_dict.get(CONFIG_STORE)
    config = listener.config if listener is not None else Config.default()
    changes, kept = plan(prefs, config)
    if not request[SESSION].credentialed and _widens(request, changes, config):
        # The localhost bypass is no credential: a page that reached the server (DNS rebinding, a
        # local process) must not lift the path confinement or open the bypass wider.
        log.warning("preferences refused: widening without credentials", extra={"config": sorted(changes)})
        raise FORBIDDEN
    if changes:
        if store is None:
            raise QbError(409, "Preferences cannot be stored")
        try:
            versions = await store.patch(changes)
        except ConfigValidationError as e:
            raise bad_request(f"Invalid preference: {e.reason}") from None
        if listener is not None:
            # The next app/preferences should see the change: wait for the hot reload to have it.
            try:
                async with asyncio.timeout(WAIT_FOR_RELOAD):
                    for key, version in versions.items():
                        await listener.wait_for(key, version)
            except TimeoutError:
                log.warning("config reload is late", extra={"keys": sorted(versions)})
    request.app[PREFERENCES].update(kept)
    log.info("preferences set", extra={"config": sorted(changes), "kept": sorted(kept)})
    return text_response("")
