"""The typed configuration: every setting key, its default, and its validation.

A setting is a row ``(key, value jsonb)``. Each key below has a parser that
takes the JSON value, checks it and returns the normalized value that is
stored (objects are completed with their defaults). A wrong value raises
``ConfigValidationError`` naming the key (or ``key.field``) and what was
expected; the store validates everything before writing anything.

``Config`` is the typed view of a complete set of values (defaults filled in),
rebuilt whole on every change so readers never see half an update.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from revaer.config import tls
from revaer.config.checks import ConfigValidationError as ConfigValidationError
from revaer.config.checks import Json as Json
from revaer.config.checks import (
    absolute_path,
    expect_bool,
    expect_int,
    expect_object,
    expect_str,
    kind,
    show,
)
from revaer.config.libtorrent_settings import setting_type
from revaer.labels import CATEGORY_RULE, valid_category
from revaer.paths import category_root, is_system_dir

# ---- the settings -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bind:
    """An address to listen on."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_bind(key: str, value: Json) -> Bind:
    text = expect_str(key, value)
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]\s]+):(\d{1,5})", text)
    if m is None:
        raise ConfigValidationError(key, f'expected "host:port" (IPv6 as "[addr]:port"), got {show(text)}')
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    if m.group(1):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigValidationError(
                key, f"expected an IPv6 address in brackets, got {show(host)}"
            ) from None
    if not 1 <= port <= 65535:
        raise ConfigValidationError(key, f"expected a port from 1 to 65535, got {port}")
    return Bind(host, port)


def _server_bind(key: str, value: Json) -> Json:
    parse_bind(key, value)
    return value


def _download_root(key: str, value: Json) -> Json:
    return absolute_path(key, value, allow_empty=True)


def _allowed_roots(key: str, value: Json) -> Json:
    if not isinstance(value, list):
        raise ConfigValidationError(key, f"expected an array of absolute paths, got {kind(value)}")
    return [absolute_path(f"{key}[{i}]", path, allow_empty=False) for i, path in enumerate(value)]


_PLACEHOLDERS = frozenset({"name", "category", "hash"})


def _rules(key: str, value: Json) -> Json:
    obj = expect_object(key, value, {"categories": {}, "allow_system_roots": False})
    cats = obj["categories"]
    allow_system = expect_bool(f"{key}.allow_system_roots", obj["allow_system_roots"])
    ckey = f"{key}.categories"
    if not isinstance(cats, dict):
        raise ConfigValidationError(ckey, f"expected an object (category -> template), got {kind(cats)}")
    for name, template in cats.items():
        tkey = f"{ckey}.{name}"
        if not valid_category(name):
            raise ConfigValidationError(tkey, f"expected a category name of {CATEGORY_RULE}")
        absolute_path(tkey, template, allow_empty=False)
        for placeholder in re.findall(r"\{([^{}]*)\}", template):
            if placeholder not in _PLACEHOLDERS:
                raise ConfigValidationError(
                    tkey,
                    f"unknown placeholder {{{placeholder}}} (expected {{name}}, {{category}} or {{hash}})",
                )
        if template.count("{") != template.count("}"):
            raise ConfigValidationError(tkey, "unbalanced braces in template")
        root = category_root(template)
        if not allow_system and is_system_dir(root):
            raise ConfigValidationError(
                tkey,
                f"the rule's root {root} (what it owns: the part before the first placeholder) is / or"
                f" a system directory; choose a directory of its own, or set {key}.allow_system_roots",
            )
    out: dict[str, Json] = {"categories": dict(cats)}
    if allow_system:
        out["allow_system_roots"] = True
    return out


_TORRENT_DEFAULTS = {"max_conns": 0, "upload_limit": 0, "download_limit": 0}


def _torrent_defaults(key: str, value: Json) -> Json:
    obj = expect_object(key, value, _TORRENT_DEFAULTS)
    for name in obj:
        expect_int(f"{key}.{name}", obj[name], minimum=0)
    return obj


def _listen_interfaces(key: str, value: Json) -> Json:
    text = expect_str(key, value)
    for part in filter(None, (p.strip() for p in text.split(","))):
        if not re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\],\s]+):\d{1,5}s?", part):
            raise ConfigValidationError(
                key, f'expected comma-separated "address:port" entries, got {show(part)}'
            )
    return text


_ENGINE_LIMITS = {"download": 0, "upload": 0, "connections": 800}
# qBittorrent's alternative speed limits (its defaults: 10 KiB/s each way), off until turned on.
_ALT_LIMITS = {"enabled": False, "download": 10240, "upload": 10240}


def _engine_limits(key: str, value: Json) -> Json:
    obj = expect_object(key, value, _ENGINE_LIMITS)
    expect_int(f"{key}.download", obj["download"], minimum=0)
    expect_int(f"{key}.upload", obj["upload"], minimum=0)
    expect_int(f"{key}.connections", obj["connections"], minimum=1)
    return obj


def _banned_ips(key: str, value: Json) -> Json:
    if not isinstance(value, list):
        raise ConfigValidationError(key, f"expected an array of IP addresses, got {kind(value)}")
    out = []
    for i, text in enumerate(value):
        try:
            out.append(str(ipaddress.ip_address(expect_str(f"{key}[{i}]", text).strip())))
        except ValueError:
            raise ConfigValidationError(f"{key}[{i}]", f"expected an IP address, got {show(text)}") from None
    return sorted(set(out))


def _alt_limits(key: str, value: Json) -> Json:
    obj = expect_object(key, value, _ALT_LIMITS)
    expect_bool(f"{key}.enabled", obj["enabled"])
    expect_int(f"{key}.download", obj["download"], minimum=0)
    expect_int(f"{key}.upload", obj["upload"], minimum=0)
    return obj


# Global share limits (qBittorrent's max_ratio, max_seeding_time, max_inactive_seeding_time and
# max_ratio_act): -1 is none; a torrent whose own limit is "use global" (-2) is held to these.
_SHARE_LIMITS = {"ratio": -1, "seeding_minutes": -1, "inactive_minutes": -1, "action": "pause"}
SHARE_ACTIONS = ("pause", "remove", "super_seeding", "remove_with_data")  # qBittorrent's 0..3


def _share_limits(key: str, value: Json) -> Json:
    obj = expect_object(key, value, _SHARE_LIMITS)
    ratio = obj["ratio"]
    if (
        isinstance(ratio, bool)
        or not isinstance(ratio, int | float)
        or not (ratio == -1 or 0 <= ratio <= 9999)
    ):
        raise ConfigValidationError(
            f"{key}.ratio", f"expected -1 or a number from 0 to 9999, got {show(ratio)}"
        )
    for name in ("seeding_minutes", "inactive_minutes"):
        expect_int(f"{key}.{name}", obj[name], minimum=-1, maximum=525600)
    if obj["action"] not in SHARE_ACTIONS:
        raise ConfigValidationError(f"{key}.action", f"expected one of {', '.join(SHARE_ACTIONS)}")
    return obj


# Settings Revaer drives itself: through a typed key, or because the engine depends on them.
_ENGINE_RESERVED = {
    "listen_interfaces": "use engine.listen_interfaces",
    "enable_dht": "use engine.dht",
    "download_rate_limit": "use engine.limits.download",
    "upload_rate_limit": "use engine.limits.upload",
    "connections_limit": "use engine.limits.connections",
    "limit_lan_peers": "use engine.limit_lan_peers",
    "alert_mask": "the engine relies on its own alert mask",
    "alert_queue_size": "the engine relies on its own alert queue size",
}


def _engine_settings(key: str, value: Json) -> Json:
    if not isinstance(value, dict):
        raise ConfigValidationError(
            key, f"expected an object (libtorrent setting -> value), got {kind(value)}"
        )
    for name, v in value.items():
        skey = f"{key}.{name}"
        if name in _ENGINE_RESERVED:
            raise ConfigValidationError(skey, f"not settable here ({_ENGINE_RESERVED[name]})")
        expected = setting_type(name)
        if expected is None:
            raise ConfigValidationError(skey, "unknown libtorrent setting")
        if expected is bool:
            expect_bool(skey, v)
        elif expected is int:
            expect_int(skey, v, minimum=-(2**31), maximum=2**31 - 1)
        else:
            expect_str(skey, v)
    return dict(value)


def _qbittorrent(key: str, value: Json) -> Json:
    obj = expect_object(key, value, {"enabled": None, "bypass_localhost": False})
    if obj["enabled"] is not None:
        expect_bool(f"{key}.enabled", obj["enabled"])
    expect_bool(f"{key}.bypass_localhost", obj["bypass_localhost"])
    return obj


def _cors_origins(key: str, value: Json) -> Json:
    if not isinstance(value, list):
        raise ConfigValidationError(key, f"expected an array of origins, got {kind(value)} {show(value)}")
    for i, origin in enumerate(value):
        expect_str(f"{key}[{i}]", origin)
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ConfigValidationError(
                f"{key}[{i}]", f'expected "*" or an origin like "https://host[:port]", got {show(origin)}'
            )
    return list(value)


_DOMAIN = re.compile(r"[A-Za-z0-9*?](?:[A-Za-z0-9*?.-]{0,252})")


def _server_domains(key: str, value: Json) -> Json:
    if not isinstance(value, list):
        raise ConfigValidationError(key, f"expected an array of host names, got {kind(value)} {show(value)}")
    for i, name in enumerate(value):
        if not _DOMAIN.fullmatch(expect_str(f"{key}[{i}]", name)):
            raise ConfigValidationError(
                f"{key}[{i}]", f'expected a host name or a pattern like "*.example.com", got {show(name)}'
            )
    return [str(v).lower() for v in value]


_LOG_LEVELS = ("debug", "info", "warning", "error")


def _telemetry(key: str, value: Json) -> Json:
    obj = expect_object(key, value, {"log_level": "info", "log_format": "json", "otel_endpoint": None})
    level = expect_str(f"{key}.log_level", obj["log_level"])
    if level not in _LOG_LEVELS:
        raise ConfigValidationError(
            f"{key}.log_level", f"expected one of {', '.join(_LOG_LEVELS)}, got {show(level)}"
        )
    fmt = expect_str(f"{key}.log_format", obj["log_format"])
    if fmt not in ("json", "text"):
        raise ConfigValidationError(f"{key}.log_format", f'expected "json" or "text", got {show(fmt)}')
    endpoint = obj["otel_endpoint"]
    if endpoint is not None and not re.fullmatch(
        r"https?://\S+", expect_str(f"{key}.otel_endpoint", endpoint)
    ):
        raise ConfigValidationError(
            f"{key}.otel_endpoint", f"expected an http(s) URL or null, got {show(endpoint)}"
        )
    return obj


# qBittorrent's default smart episode filters (season/episode and date patterns).
RSS_EPISODE_FILTERS = [
    r"s(\d+)e(\d+)",
    r"(\d+)x(\d+)",
    r"(\d{4}[.\-]\d{1,2}[.\-]\d{1,2})",
    r"(\d{1,2}[.\-]\d{1,2}[.\-]\d{4})",
]
_RSS = {
    "enabled": False,
    "refresh_interval": 30,
    "max_articles_per_feed": 50,
    "auto_download": False,
    "download_repacks": True,
    "smart_episode_filters": RSS_EPISODE_FILTERS,
}


def _rss(key: str, value: Json) -> Json:
    obj = expect_object(key, value, _RSS)
    for name in ("enabled", "auto_download", "download_repacks"):
        expect_bool(f"{key}.{name}", obj[name])
    expect_int(f"{key}.refresh_interval", obj["refresh_interval"], minimum=1, maximum=7 * 24 * 60)
    expect_int(f"{key}.max_articles_per_feed", obj["max_articles_per_feed"], minimum=1, maximum=100_000)
    filters = obj["smart_episode_filters"]
    fkey = f"{key}.smart_episode_filters"
    if not isinstance(filters, list) or len(filters) > 64:
        raise ConfigValidationError(fkey, f"expected an array of regular expressions, got {kind(filters)}")
    for i, pattern in enumerate(filters):
        try:
            re.compile(expect_str(f"{fkey}[{i}]", pattern, allow_empty=False))
        except re.error as e:
            raise ConfigValidationError(f"{fkey}[{i}]", f"not a regular expression: {e}") from None
    return {**obj, "smart_episode_filters": list(filters)}


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting key: its default (a JSON value), its parser, what it means, and whether a change
    applies to a running server (``live``) or at its next start."""

    key: str
    default: Json
    parse: Callable[[str, Json], Json]
    doc: str
    live: bool = True
    # A check of a value being written against the machine (files it names), not run on stored values.
    check: Callable[[str, Json], None] | None = None


SPECS: Mapping[str, SettingSpec] = MappingProxyType(
    {
        s.key: s
        for s in (
            SettingSpec(
                "server.bind",
                "127.0.0.1:7878",
                _server_bind,
                "HTTP listen address (restart to rebind)",
                live=False,
            ),
            SettingSpec(
                "server.tls",
                dict(tls.DEFAULT),
                tls.parse,
                "HTTPS on the HTTP listener: a PEM certificate (chain) and key; switched live",
                check=tls.check,
            ),
            SettingSpec(
                "server.domains",
                [],
                _server_domains,
                "host names the server answers to besides addresses, loopback and single-label names",
            ),
            SettingSpec(
                "paths.download_root", "", _download_root, "where payloads go; empty: <data-dir>/downloads"
            ),
            SettingSpec("paths.allowed_roots", [], _allowed_roots, "more directories clients may save to"),
            SettingSpec("paths.rules", {"categories": {}}, _rules, "destination template per category"),
            SettingSpec(
                "torrent.defaults", dict(_TORRENT_DEFAULTS), _torrent_defaults, "per-torrent defaults"
            ),
            SettingSpec(
                "engine.listen_interfaces",
                "0.0.0.0:6881,[::]:6881",
                _listen_interfaces,
                "peer listen addresses",
            ),
            SettingSpec("engine.dht", True, lambda k, v: expect_bool(k, v), "the DHT"),
            SettingSpec("engine.limits", dict(_ENGINE_LIMITS), _engine_limits, "session-wide limits"),
            SettingSpec(
                "engine.limit_lan_peers",
                False,
                lambda k, v: expect_bool(k, v),
                "the session-wide rate limits hold peers on the local network too",
            ),
            SettingSpec(
                "engine.alt_limits", dict(_ALT_LIMITS), _alt_limits, "alternative session rate limits"
            ),
            SettingSpec("torrent.share_limits", dict(_SHARE_LIMITS), _share_limits, "global share limits"),
            SettingSpec("engine.banned_ips", [], _banned_ips, "peer addresses never connected to"),
            SettingSpec("engine.settings", {}, _engine_settings, "libtorrent settings by name"),
            SettingSpec(
                "compat.qbittorrent",
                {"enabled": None, "bypass_localhost": False},
                _qbittorrent,
                "the qBittorrent-compatible API",
            ),
            SettingSpec("api.cors_origins", [], _cors_origins, "origins allowed by CORS"),
            SettingSpec("rss", dict(_RSS), _rss, "RSS feeds: refresh, article limit, auto-download rules"),
            SettingSpec(
                "telemetry",
                {"log_level": "info", "log_format": "json", "otel_endpoint": None},
                _telemetry,
                "logging (log_level and log_format apply live) and tracing (otel_endpoint: read at start)",
            ),
        )
    }
)


def validate(key: str, value: Json) -> Json:
    """The normalized value to store for ``key``, or ``ConfigValidationError``."""
    spec = SPECS.get(key)
    if spec is None:
        raise ConfigValidationError(key, f"unknown setting (known: {', '.join(sorted(SPECS))})")
    return spec.parse(key, _integral(value))


def _integral(value: Json) -> Json:
    """``2.0`` as ``2``: JSON (and JSON Schema's "integer") do not tell them apart; the parsers do."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def check_write(key: str, value: Json) -> None:
    """What a write of ``key`` (its value validated) must pass besides ``validate``: the files it
    names load (``server.tls``). Stored values are not held to it: a file may go away later."""
    check = SPECS[key].check
    if check is not None:
        check(key, value)


def defaults() -> dict[str, Json]:
    return {k: s.parse(k, s.default) for k, s in SPECS.items()}


# ---- the typed view ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShareLimits:
    """Global share limits: ratio, seeding and inactive seeding minutes (-1 none), and the action."""

    ratio: float = -1
    seeding_minutes: int = -1
    inactive_minutes: int = -1
    action: str = "pause"


@dataclass(frozen=True, slots=True)
class TorrentDefaults:
    """Applied to new torrents; 0 means unlimited."""

    max_conns: int
    upload_limit: int
    download_limit: int


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Session settings; rate limits in bytes/s, 0 unlimited."""

    listen_interfaces: str
    dht: bool
    download_limit: int
    upload_limit: int
    connections_limit: int
    settings: Mapping[str, bool | int | str]
    limit_lan_peers: bool = False
    banned_ips: tuple[str, ...] = ()
    alt_enabled: bool = False
    alt_download_limit: int = 10240
    alt_upload_limit: int = 10240

    @property
    def effective_limits(self) -> tuple[int, int]:
        """(download, upload) in force: the alternative limits while they are enabled."""
        if self.alt_enabled:
            return self.alt_download_limit, self.alt_upload_limit
        return self.download_limit, self.upload_limit


@dataclass(frozen=True, slots=True)
class QbittorrentCompat:
    enabled: bool | None  # None: on for loopback binds only
    bypass_localhost: bool


@dataclass(frozen=True, slots=True)
class Telemetry:
    log_level: str
    log_format: str
    otel_endpoint: str | None


@dataclass(frozen=True, slots=True)
class Tls:
    """HTTPS on the listener (``server.tls``)."""

    enabled: bool = False
    cert_path: str = ""
    key_path: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    """A complete, validated configuration (defaults filled in)."""

    bind: Bind
    download_root: str
    allowed_roots: tuple[str, ...]
    category_rules: Mapping[str, str]
    torrent_defaults: TorrentDefaults
    share_limits: ShareLimits
    engine: EngineConfig
    qbittorrent: QbittorrentCompat
    cors_origins: tuple[str, ...]
    telemetry: Telemetry
    server_domains: tuple[str, ...]
    values: Mapping[str, Json] = field(repr=False)
    tls: Tls = Tls()

    @property
    def qbittorrent_enabled(self) -> bool:
        """The façade is on for loopback binds and off for public ones unless enabled explicitly."""
        return self.qbittorrent_enabled_for(None)

    def qbittorrent_enabled_for(self, bound_loopback: bool | None) -> bool:
        """Whether the façade is on for a server whose bound addresses are all loopback ones
        (``bound_loopback``; None when not known: ``server.bind`` then says)."""
        if self.qbittorrent.enabled is not None:
            return self.qbittorrent.enabled
        return self.bind.is_loopback if bound_loopback is None else bound_loopback

    @classmethod
    def from_values(cls, stored: Mapping[str, Json]) -> Config:
        """Build from stored values (validated again); absent keys take their defaults."""
        v = defaults()
        for key, value in stored.items():
            v[key] = validate(key, value)
        td = v["torrent.defaults"]
        lim = v["engine.limits"]
        alt = v["engine.alt_limits"]
        qb = v["compat.qbittorrent"]
        tel = v["telemetry"]
        return cls(
            bind=parse_bind("server.bind", v["server.bind"]),
            download_root=v["paths.download_root"],
            allowed_roots=tuple(v["paths.allowed_roots"]),
            category_rules=MappingProxyType(dict(v["paths.rules"]["categories"])),
            torrent_defaults=TorrentDefaults(td["max_conns"], td["upload_limit"], td["download_limit"]),
            share_limits=ShareLimits(**v["torrent.share_limits"]),
            engine=EngineConfig(
                listen_interfaces=v["engine.listen_interfaces"],
                dht=v["engine.dht"],
                download_limit=lim["download"],
                upload_limit=lim["upload"],
                connections_limit=lim["connections"],
                settings=MappingProxyType(dict(v["engine.settings"])),
                limit_lan_peers=v["engine.limit_lan_peers"],
                banned_ips=tuple(v["engine.banned_ips"]),
                alt_enabled=alt["enabled"],
                alt_download_limit=alt["download"],
                alt_upload_limit=alt["upload"],
            ),
            qbittorrent=QbittorrentCompat(qb["enabled"], qb["bypass_localhost"]),
            cors_origins=tuple(v["api.cors_origins"]),
            telemetry=Telemetry(tel["log_level"], tel["log_format"], tel["otel_endpoint"]),
            server_domains=tuple(v["server.domains"]),
            values=MappingProxyType(v),
            tls=Tls(**v["server.tls"]),
        )

    @classmethod
    def default(cls) -> Config:
        return cls.from_values({})
