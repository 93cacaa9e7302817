"""Installation state: the one-time setup token, the admin credential and API keys.

Until an owner claims it, an installation is not bootstrapped. Each start in
that state generates a fresh one-time token, stores only its salted scrypt hash,
logs the token once and writes it to ``<data-dir>/setup-token`` (mode 0600).
``apply()`` checks the token in constant time and, in one transaction, stores
the admin credential (scrypt), creates an API key (only a hash is stored; the
key is returned once), burns the token and flips the installation to
bootstrapped. The installation row is locked for the check, so of concurrent
applies exactly one wins; a wrong or reused token, or a second apply, changes
nothing.

Hashes: the token and the admin password go through scrypt (the password may be
weak; scrypt is in the standard library). API keys are 256-bit random secrets
checked on every request, so they are stored as SHA-256: a slow hash adds
nothing against guessing a random secret and would cost every request.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from revaer.errors import UsageError

log = logging.getLogger(__name__)

TOKEN_FILE = "setup-token"

_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SCRYPT_LEN = 32
_API_KEY_RE = re.compile(r"^rvr_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_MIN_PASSWORD = 8
_MAX_PASSWORD = 1024


class SetupError(UsageError):
    """Setup refused; nothing was changed."""


class AlreadyBootstrapped(SetupError):
    """The installation was already set up."""


class InvalidSetupToken(SetupError):
    """The token is wrong, was already used, or none is pending."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for ``secret`` with a fresh random salt."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_SCRYPT_LEN, maxmem=64 << 20
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, encoded: str | None) -> bool:
    """Whether ``secret`` matches ``encoded``; costs one scrypt even when there is nothing to match."""
    try:
        scheme, n, r, p, salt_text, digest_text = (encoded or "").split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        n_, r_, p_ = int(n), int(r), int(p)
        salt, expected = _unb64(salt_text), _unb64(digest_text)
    except ValueError:
        # Same work as a real check, so a missing hash is not told apart by timing.
        n_, r_, p_, salt, expected = _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, b"\0" * 16, b""
        encoded = None
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=n_, r=r_, p=p_, dklen=len(expected) or _SCRYPT_LEN, maxmem=64 << 20
    )
    return hmac.compare_digest(digest, expected) and encoded is not None


def _api_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SetupResult:
    """What ``apply()`` hands back once: the API key in clear."""

    admin_username: str
    api_key: str


class Setup:
    """The installation row and credentials, over an asyncpg pool."""

    __slots__ = ("_data_dir", "_pool")

    def __init__(self, pool: asyncpg.Pool, data_dir: Path | None = None) -> None:
        self._pool = pool
        self._data_dir = data_dir

    @property
    def token_path(self) -> Path | None:
        return None if self._data_dir is None else self._data_dir / TOKEN_FILE

    async def is_bootstrapped(self) -> bool:
        return bool(await self._pool.fetchval("SELECT is_bootstrapped FROM revaer_config.installation"))

    async def begin(self) -> str | None:
        """On a start: a fresh one-time token when not bootstrapped (logged and written once), else None."""
        if await self.is_bootstrapped():
            self._remove_token_file()
            return None
        # Hex: never starts with "-", so it passes safely as a command-line argument.
        token = secrets.token_hex(16)
        token_hash = await asyncio.to_thread(hash_secret, token)
        updated = await self._pool.fetchval(
            "UPDATE revaer_config.installation SET setup_token_hash = $1, setup_token_created_at = now() "
            "WHERE NOT is_bootstrapped RETURNING true",
            token_hash,
        )
        if not updated:  # set up by someone else in the meantime
            return None
        path = self.token_path
        if path is not None:
            _write_private(path, token + "\n")
        # Shown once, so an operator can claim the installation from the log alone.
        log.warning(
            "setup required: one-time setup token %s (apply it with `revaer setup unlock --token` "
            "or POST /v1/setup/apply)",
            token,
            extra={"setup_token": token, "token_file": str(path) if path else None},
        )
        return token

    async def apply(self, token: str, admin_username: str, admin_password: str) -> SetupResult:
        """Claim the installation; refused (changing nothing) for a wrong/used token or a second apply."""
        if not _USERNAME_RE.match(admin_username):
            raise ValueError("admin_username: expected 1-64 characters among letters, digits and ._@-")
        if len(admin_password) < _MIN_PASSWORD:
            raise ValueError(f"admin_password: expected at least {_MIN_PASSWORD} characters")
        if len(admin_password) > _MAX_PASSWORD or len(token) > _MAX_PASSWORD:
            raise ValueError(f"admin_password, setup_token: expected at most {_MAX_PASSWORD} characters")
        if await self.is_bootstrapped():
            raise AlreadyBootstrapped("the installation is already set up")  # before any scrypt
        password_hash = await asyncio.to_thread(hash_secret, admin_password)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT is_bootstrapped, setup_token_hash FROM revaer_config.installation FOR UPDATE"
            )
            if row is None or row["is_bootstrapped"]:
                # Still spend the scrypt, so "already set up" and "wrong token" take the same time.
                await asyncio.to_thread(verify_secret, token, None)
                raise AlreadyBootstrapped("the installation is already set up")
            if not await asyncio.to_thread(verify_secret, token, row["setup_token_hash"]):
                raise InvalidSetupToken("invalid or already used setup token")
            await conn.execute(
                "UPDATE revaer_config.installation SET is_bootstrapped = true, setup_token_hash = NULL, "
                "setup_token_created_at = NULL, admin_username = $1, admin_password_hash = $2, "
                "bootstrapped_at = now()",
                admin_username,
                password_hash,
            )
            await conn.execute(
                "INSERT INTO revaer_config.api_keys (key_id, secret_hash, label) VALUES ($1, $2, 'setup')",
                key_id,
                _api_secret_hash(secret),
            )
        self._remove_token_file()
        log.info("installation set up", extra={"admin_username": admin_username, "api_key_id": key_id})
        return SetupResult(admin_username, f"rvr_{key_id}_{secret}")

    async def create_api_key(self, label: str = "") -> str:
        """A new API key (returned once; only its hash is kept)."""
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        await self._pool.execute(
            "INSERT INTO revaer_config.api_keys (key_id, secret_hash, label) VALUES ($1, $2, $3)",
            key_id,
            _api_secret_hash(secret),
            label,
        )
        return f"rvr_{key_id}_{secret}"

    async def revoke_api_key(self, key_id: str) -> bool:
        done = await self._pool.fetchval(
            "UPDATE revaer_config.api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL "
            "RETURNING true",
            key_id,
        )
        return bool(done)

    async def verify_api_key(self, api_key: str) -> bool:
        """Whether ``api_key`` is a live key (for ``Authorization: Bearer``)."""
        m = _API_KEY_RE.match(api_key)
        if m is None:
            return False
        stored = await self._pool.fetchval(
            "SELECT secret_hash FROM revaer_config.api_keys WHERE key_id = $1 AND revoked_at IS NULL",
            m.group(1),
        )
        # Compare even when the id is unknown, so timing does not tell ids apart.
        return hmac.compare_digest(_api_secret_hash(m.group(2)), stored or "0" * 64) and stored is not None

    async def verify_admin(self, username: str, password: str) -> bool:
        """Whether ``username``/``password`` are the admin's (the qBittorrent-compatible login)."""
        row = await self._pool.fetchrow(
            "SELECT admin_username, admin_password_hash FROM revaer_config.installation WHERE is_bootstrapped"
        )
        stored_user = row["admin_username"] if row else ""
        stored_hash = row["admin_password_hash"] if row else None
        password_ok = await asyncio.to_thread(verify_secret, password, stored_hash)
        user_ok = hmac.compare_digest(username.encode(), (stored_user or "").encode())
        return password_ok and user_ok and row is not None

    def _remove_token_file(self) -> None:
        path = self.token_path
        if path is not None:
            path.unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, atomically (never readable by others, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
