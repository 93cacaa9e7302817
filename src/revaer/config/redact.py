"""Secrets out of what is shown and logged, and back in when a shown value is written back.

A setting whose key names a secret (``proxy_password``, ``…token``, ``api_key``…) is shown as
``***``; a URL's password (``https://user:password@host``) is shown as ``https://user:***@host``,
in settings and in every log line. A client that reads the configuration and writes it back as
shown (``PATCH /v1/config``) must not store the placeholder: ``restore`` puts the current value
back wherever a value written equals what the current one is shown as.
"""

from __future__ import annotations

import re
from typing import Any, Final

REDACTED: Final = "***"
_SECRET = re.compile(r"password|secret|token|api_key|apikey|credential|passkey", re.IGNORECASE)
# scheme://user:password@  (the password part: up to the '@' that ends the authority)
_URL_PASSWORD = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^/\s@]*@")


def redact_urls(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text) if "@" in text else text


def redact(value: Any, key: str = "") -> Any:
    """``value`` (a setting, under ``key``) as it may be shown."""
    if _SECRET.search(key) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        return redact_urls(value)
    return value


def restore(written: Any, current: Any, key: str = "") -> Any:
    """``written`` with the current value put back wherever ``written`` is the current value as
    shown (a placeholder sent back means "unchanged")."""
    if isinstance(written, dict) and isinstance(current, dict):
        return {k: restore(v, current.get(k), k) for k, v in written.items()}
    if current is not None and written != current and written == redact(current, key):
        return current
    return written
