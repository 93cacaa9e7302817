"""One-time setup: the token, its single use, concurrent applies, and the credentials it creates."""

from __future__ import annotations

import asyncio
import logging
import stat
from pathlib import Path

import asyncpg
import pytest

from revaer.config.setup import (
    TOKEN_FILE,
    AlreadyBootstrapped,
    InvalidSetupToken,
    Setup,
    hash_secret,
    verify_secret,
)


async def _dump_everything(pool: asyncpg.Pool) -> str:
    """Every row of Revaer's config tables as text, to look for secrets in clear."""
    rows = await pool.fetch(
        "SELECT row_to_json(i)::text AS t FROM revaer_config.installation i "
        "UNION ALL SELECT row_to_json(k)::text FROM revaer_config.api_keys k "
        "UNION ALL SELECT row_to_json(s)::text FROM revaer_config.settings s"
    )
    return "\n".join(r["t"] for r in rows)


async def _installation(pool: asyncpg.Pool) -> dict[str, object]:
    row = await pool.fetchrow("SELECT * FROM revaer_config.installation")
    assert row is not None
    return dict(row)


def test_hashes_are_salted_and_verify() -> None:
    a, b = hash_secret("same secret"), hash_secret("same secret")
    assert a != b
    assert a.startswith("scrypt$")
    assert verify_secret("same secret", a)
    assert verify_secret("same secret", b)
    assert not verify_secret("other", a)
    assert not verify_secret("same secret", None)
    assert not verify_secret("same secret", "garbage")


async def test_token_is_stored_hashed_logged_once_and_written_0600(
    pool: asyncpg.Pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    setup = Setup(pool, tmp_path)
    with caplog.at_level(logging.WARNING, logger="revaer.config.setup"):
        token = await setup.begin()
    assert token is not None
    assert [r for r in caplog.records if getattr(r, "setup_token", None) == token]
    path = tmp_path / TOKEN_FILE
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = await _installation(pool)
    assert stored["is_bootstrapped"] is False
    assert isinstance(stored["setup_token_hash"], str)
    assert stored["setup_token_hash"].startswith("scrypt$")
    assert token not in await _dump_everything(pool)

    # A restart before setup replaces the token: the old one no longer works.
    again = await setup.begin()
    assert again is not None
    assert again != token
    with pytest.raises(InvalidSetupToken):
        await setup.apply(token, "admin", "correct horse")


async def test_apply_claims_the_installation_once(pool: asyncpg.Pool, tmp_path: Path) -> None:
    setup = Setup(pool, tmp_path)
    token = await setup.begin()
    assert token is not None

    before = await _installation(pool)
    with pytest.raises(InvalidSetupToken):
        await setup.apply("not-the-token", "admin", "correct horse")
    assert await _installation(pool) == before
    assert await pool.fetchval("SELECT count(*) FROM revaer_config.api_keys") == 0

    result = await setup.apply(token, "admin", "correct horse")
    assert result.admin_username == "admin"
    assert await setup.is_bootstrapped()
    assert not (tmp_path / TOKEN_FILE).exists()
    stored = await _installation(pool)
    assert stored["setup_token_hash"] is None
    dump = await _dump_everything(pool)
    assert "correct horse" not in dump
    assert result.api_key not in dump
    assert token not in dump

    assert await setup.verify_api_key(result.api_key)
    assert not await setup.verify_api_key(result.api_key[:-1] + ("A" if result.api_key[-1] != "A" else "B"))
    assert not await setup.verify_api_key("rvr_0000000000000000_" + "x" * 43)
    assert not await setup.verify_api_key("nonsense")
    assert await setup.verify_admin("admin", "correct horse")
    assert not await setup.verify_admin("admin", "wrong horse")
    assert not await setup.verify_admin("root", "correct horse")

    # The token is burnt; a second apply is refused and changes nothing.
    after = await _installation(pool)
    with pytest.raises(AlreadyBootstrapped):
        await setup.apply(token, "mallory", "another password")
    assert await _installation(pool) == after
    assert await pool.fetchval("SELECT count(*) FROM revaer_config.api_keys") == 1
    assert await setup.begin() is None  # no new token once set up


async def test_concurrent_applies_exactly_one_wins(pool: asyncpg.Pool) -> None:
    setup = Setup(pool)
    token = await setup.begin()
    assert token is not None
    outcomes = await asyncio.gather(
        *(setup.apply(token, f"admin{i}", "correct horse") for i in range(4)), return_exceptions=True
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, AlreadyBootstrapped) for o in outcomes if isinstance(o, BaseException))
    stored = await _installation(pool)
    assert stored["admin_username"] == winners[0].admin_username
    assert await pool.fetchval("SELECT count(*) FROM revaer_config.api_keys") == 1


async def test_weak_credentials_are_refused_before_anything(pool: asyncpg.Pool) -> None:
    setup = Setup(pool)
    token = await setup.begin()
    assert token is not None
    with pytest.raises(ValueError, match="admin_password"):
        await setup.apply(token, "admin", "short")
    with pytest.raises(ValueError, match="admin_username"):
        await setup.apply(token, "bad name", "correct horse")
    assert not await setup.is_bootstrapped()


async def test_api_keys_can_be_added_and_revoked(pool: asyncpg.Pool) -> None:
    setup = Setup(pool)
    key = await setup.create_api_key("automation")
    assert await setup.verify_api_key(key)
    assert await setup.revoke_api_key(key.split("_")[1])
    assert not await setup.verify_api_key(key)
