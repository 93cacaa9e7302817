"""The operator CLI, straight on the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from revaer import __version__
from revaer.cli import main
from revaer.config.setup import TOKEN_FILE, Setup
from revaer.db.pool import create_pool
from tests.conftest import TestDatabases


def _begin_setup(url: str, data_dir: Path) -> str:
    async def run() -> str:
        pool = await create_pool(url, max_size=1)
        try:
            token = await Setup(pool, data_dir).begin()
            assert token is not None
            return token
        finally:
            await pool.close()

    return asyncio.run(run())


@pytest.fixture
def url(test_databases: TestDatabases) -> str:
    return asyncio.run(test_databases.create())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_config_get_and_set(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "get", "server.bind", "--database-url", url]) == 0
    assert orjson.loads(capsys.readouterr().out) == "127.0.0.1:7878"

    assert main(["config", "set", "engine.limits", '{"download": 1000}', "--database-url", url]) == 0
    assert "version 1" in capsys.readouterr().out
    assert main(["config", "get", "engine.limits", "--with-version", "--database-url", url]) == 0
    got = orjson.loads(capsys.readouterr().out)
    assert got == {"value": {"download": 1000, "upload": 0, "connections": 800}, "version": 1}

    assert main(["config", "get", "--database-url", url]) == 0
    everything = orjson.loads(capsys.readouterr().out)
    assert everything["engine.limits"]["download"] == 1000
    assert everything["server.bind"] == "127.0.0.1:7878"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["engine.dht", "yes"], "must be JSON"),
        (["engine.dht", '"yes"'], "engine.dht: expected a boolean"),
        (["no.such", "1"], "no.such: unknown setting"),
        (["engine.dht", "true", "--expect-version", "3"], "expected version 3, found 0"),
    ],
)
def test_config_set_refusals(
    url: str, args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "set", *args, "--database-url", url]) == 1
    assert says in capsys.readouterr().err


def test_setup_unlock(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = _begin_setup(url, tmp_path)
    common = [
        "--username",
        "admin",
        "--password",
        "correct horse",
        "--database-url",
        url,
        "--data-dir",
        str(tmp_path),
    ]
    assert main(["setup", "unlock", "--token", "wrong", *common]) == 1
    assert "invalid or already used setup token" in capsys.readouterr().err
    assert main(["setup", "unlock", "--token", token, *common]) == 0
    out = capsys.readouterr().out
    assert "API key" in out
    assert "rvr_" in out
    assert not (tmp_path / TOKEN_FILE).exists()
    assert main(["setup", "unlock", "--token", token, *common]) == 1
    assert "already set up" in capsys.readouterr().err
