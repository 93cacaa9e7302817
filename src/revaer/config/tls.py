"""The HTTPS listener's certificate and key (the ``server.tls`` setting).

``server_context`` loads them into a server-side ``ssl.SSLContext``: the files must be readable
PEM of at most ``MAX_FILE_SIZE`` bytes (qBittorrent's bound) and the key must belong to the
certificate. A write of ``server.tls`` that turns it on is refused unless they load (``check``);
a server that starts with files that no longer load serves plain HTTP and says so at error level,
as qBittorrent falls back.
"""

from __future__ import annotations

import ssl

from revaer.config.checks import ConfigValidationError, Json, absolute_path, expect_bool, expect_object

MAX_FILE_SIZE = 1024 * 1024
DEFAULT: Json = {"enabled": False, "cert_path": "", "key_path": ""}


def parse(key: str, value: Json) -> Json:
    """``server.tls``: whether HTTPS is on, and the absolute paths of the PEM files (needed when on)."""
    obj = expect_object(key, value, DEFAULT)
    on = expect_bool(f"{key}.enabled", obj["enabled"])
    for name in ("cert_path", "key_path"):
        absolute_path(f"{key}.{name}", obj[name], allow_empty=not on)
    return obj


class TlsFilesError(ConfigValidationError):
    """The certificate or key named by ``server.tls`` cannot be used."""


def _readable(key: str, path: str) -> None:
    try:
        with open(path, "rb") as f:
            size = len(f.read(MAX_FILE_SIZE + 1))
    except OSError as e:
        raise TlsFilesError(key, f"cannot read {path}: {e.strerror or e}") from None
    if size > MAX_FILE_SIZE:
        raise TlsFilesError(key, f"{path} is larger than {MAX_FILE_SIZE} bytes")


def _no_password() -> bytes:
    # An encrypted key would otherwise make OpenSSL ask for its password on the terminal.
    return b""


def server_context(cert_path: str, key_path: str, *, key: str = "server.tls") -> ssl.SSLContext:
    """A TLS server context with the certificate chain and key; ``TlsFilesError`` when they do not
    load (unreadable, too large, not PEM, encrypted, or a key that is not the certificate's)."""
    _readable(f"{key}.cert_path", cert_path)
    _readable(f"{key}.key_path", key_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path, password=_no_password)
    except (ssl.SSLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or str(e)
        raise TlsFilesError(
            key, f"the certificate {cert_path} and key {key_path} do not load: {reason}"
        ) from None
    return context


def check(key: str, value: Json) -> None:
    """A write of ``server.tls`` (already validated) that turns HTTPS on must name files that load."""
    if value["enabled"]:
        server_context(value["cert_path"], value["key_path"], key=key)
