"""The JSON Schema of every setting, for ``PATCH /v1/config`` in the OpenAPI document.

Built from the model: each setting's key, what it means (``doc``), whether it applies live, its
default and, for objects, its fields and their defaults come from ``SPECS``; what is added here is
the bounds each parser enforces (ranges, patterns, enums), in the parser's own constants where it
has them. The schema admits only values ``validate`` accepts (``tests/fuzz/test_config_schema.py``
draws values from it and checks): where a parser looks at more than the form of a value, the schema
is the narrower one, and says so. The one refusal no schema can state is a certificate and key
that do not load (``server.tls`` with ``enabled``): that is checked against the files.
"""

from __future__ import annotations

from typing import Any

from revaer.config.libtorrent_settings import BOOL_SETTINGS, INT_SETTINGS, STRING_SETTINGS
from revaer.config.model import _ENGINE_RESERVED, _LOG_LEVELS, RSS_EPISODE_FILTERS, SHARE_ACTIONS, SPECS
from revaer.labels import MAX_CATEGORY_LENGTH

Schema = dict[str, Any]

INT32 = 2**31 - 1
_PORT = "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# A host name, an IPv4 address, or one of the IPv6 addresses in brackets a server binds to commonly.
_HOST = "([A-Za-z0-9][A-Za-z0-9.-]{0,252}|\\[::\\]|\\[::1\\])"
# An absolute path whose parts are never "..", without control characters.
_ABSOLUTE = "^(/[^/\\x00-\\x1f\\x7f-\\x9f]*)+$"
_PART = "([^/.\\x00-\\x1f\\x7f-\\x9f][^/\\x00-\\x1f\\x7f-\\x9f]*|\\.[^/.\\x00-\\x1f\\x7f-\\x9f]+)"
_SAFE_ABSOLUTE = f"^(/{_PART})+/?$"
# A template's fixed part: no braces (a placeholder is a whole part of its own).
_TPART = "([^/.{}\\x00-\\x1f\\x7f-\\x9f][^/{}\\x00-\\x1f\\x7f-\\x9f]*|\\.[^/.{}\\x00-\\x1f\\x7f-\\x9f]+)"
_CATEGORY_PART = "[A-Za-z0-9_-][A-Za-z0-9 _.-]{0,30}[A-Za-z0-9_-]|[A-Za-z0-9_-]"


def _int(minimum: int, maximum: int = INT32) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def _str(pattern: str | None = None, *, max_length: int | None = None) -> Schema:
    out: Schema = {"type": "string"}
    if pattern is not None:
        out["pattern"] = pattern
    if max_length is not None:
        out["maxLength"] = max_length
    return out


_BOOL: Schema = {"type": "boolean"}
_ABSOLUTE_PATH = _str(_SAFE_ABSOLUTE, max_length=4096)
_PATH_OR_EMPTY: Schema = {"anyOf": [{"const": ""}, _ABSOLUTE_PATH]}


def _object(fields: dict[str, Schema]) -> Schema:
    """An object setting: its fields, each optional (a patch merges into the stored value), no others."""
    return {"type": "object", "properties": fields, "additionalProperties": False}


def _fields() -> dict[str, Schema]:
    template = f"(/{_TPART})*(/(\\{{name\\}}|\\{{category\\}}|\\{{hash\\}}|{_TPART}))*$"
    return {
        "server.bind": _str(f"^{_HOST}:{_PORT}$"),
        "server.tls": {
            **_object({"enabled": _BOOL, "cert_path": _PATH_OR_EMPTY, "key_path": _PATH_OR_EMPTY}),
            # Turned on, it names both files (which must then load: checked against them).
            "if": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]},
            "then": {
                "required": ["cert_path", "key_path"],
                "properties": {"cert_path": _ABSOLUTE_PATH, "key_path": _ABSOLUTE_PATH},
            },
        },
        "server.domains": {
            "type": "array",
            "items": _str("^[A-Za-z0-9*?][A-Za-z0-9*?.-]{0,252}$"),
        },
        "paths.download_root": _PATH_OR_EMPTY,
        "paths.allowed_roots": {"type": "array", "items": _str(_SAFE_ABSOLUTE, max_length=4096)},
        "paths.rules": _object(
            {
                "categories": {
                    "type": "object",
                    "propertyNames": {
                        "pattern": f"^({_CATEGORY_PART})(/({_CATEGORY_PART}))*$",
                        "maxLength": MAX_CATEGORY_LENGTH,
                    },
                    # Below a directory of its own: /srv/library/{name}, not /{name} or /etc/...
                    "additionalProperties": _str(f"^/(srv|media|mnt|data)/library{template}"),
                },
                "allow_system_roots": _BOOL,
            },
        ),
        "torrent.defaults": _object({name: _int(0) for name in SPECS["torrent.defaults"].default}),
        "torrent.share_limits": _object(
            {
                "ratio": {"anyOf": [{"const": -1}, {"type": "number", "minimum": 0, "maximum": 9999}]},
                "seeding_minutes": _int(-1, 525600),
                "inactive_minutes": _int(-1, 525600),
                "action": {"enum": list(SHARE_ACTIONS)},
            },
        ),
        "engine.listen_interfaces": _str(f"^({_HOST}:[0-9]{{1,5}}s?)(,{_HOST}:[0-9]{{1,5}}s?)*$"),
        "engine.dht": _BOOL,
        "engine.limits": _object({"download": _int(0), "upload": _int(0), "connections": _int(1)}),
        "engine.limit_lan_peers": _BOOL,
        "engine.alt_limits": _object({"enabled": _BOOL, "download": _int(0), "upload": _int(0)}),
        "engine.banned_ips": {
            "type": "array",
            "items": {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]},
        },
        "engine.settings": {
            "type": "object",
            "properties": {
                **{n: _BOOL for n in sorted(BOOL_SETTINGS) if n not in _ENGINE_RESERVED},
                **{n: _int(-(2**31)) for n in sorted(INT_SETTINGS) if n not in _ENGINE_RESERVED},
                **{n: _str() for n in sorted(STRING_SETTINGS) if n not in _ENGINE_RESERVED},
            },
            "additionalProperties": False,
        },
        "compat.qbittorrent": _object({"enabled": {"type": ["boolean", "null"]}, "bypass_localhost": _BOOL}),
        "api.cors_origins": {
            "type": "array",
            "items": _str("^(\\*|https?://[^/\\s\\x00-\\x1f\\x7f-\\x9f]+)$"),
        },
        "rss": _object(
            {
                "enabled": _BOOL,
                "refresh_interval": _int(1, 7 * 24 * 60),
                "max_articles_per_feed": _int(1, 100_000),
                "auto_download": _BOOL,
                "download_repacks": _BOOL,
                # Regular expressions: the schema lists qBittorrent's own ones and plain words.
                "smart_episode_filters": {
                    "type": "array",
                    "maxItems": 64,
                    "items": {"anyOf": [{"enum": RSS_EPISODE_FILTERS}, _str("^[A-Za-z0-9 _-]*[A-Za-z0-9]$")]},
                },
            },
        ),
        "telemetry": _object(
            {
                "log_level": {"enum": list(_LOG_LEVELS)},
                "log_format": {"enum": ["json", "text"]},
                "otel_endpoint": {
                    "anyOf": [{"type": "null"}, _str("^https?://[^\\s\\x00-\\x1f\\x7f-\\x9f]+$")]
                },
            },
        ),
    }


def setting_schemas() -> dict[str, Schema]:
    """``{key: schema}`` for every setting, with its description and default from ``SPECS``."""
    fields = _fields()
    missing = set(SPECS) ^ set(fields)
    if missing:
        raise AssertionError(f"settings without a schema (or schemas without a setting): {sorted(missing)}")
    out = {}
    for key, spec in SPECS.items():
        live = "" if spec.live else " (applies at the next start)"
        out[key] = {**fields[key], "description": f"{spec.doc}{live}", "default": spec.default}
    return out


def patch_schema() -> Schema:
    """The body of ``PATCH /v1/config``: some settings, each as its schema says."""
    return {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": setting_schemas(),
    }
