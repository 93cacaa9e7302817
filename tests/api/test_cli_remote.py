"""The CLI as a client of a running server (real HTTP; the server runs over a FakeEngine)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from revaer import cli
from tests.api.conftest import Api
from tests.support.torrents import synthetic_torrent

MAGNET = "magnet:?xt=urn:btih:" + "ef" * 20 + "&dn=cli"


async def run(api: Api, *argv: str, key: bool = True) -> int:
    url = f"http://{api.client.host}:{api.client.port}"
    extra = ["--url", url] + (["--api-key", api.key] if key else [])
    return await asyncio.to_thread(cli.main, [*argv, *extra])


async def test_torrents_commands(ready: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(ready, "torrents", "add", MAGNET, "--category", "tv", "--tags", "a,b") == 0
    assert f"added {'ef' * 20}" in capsys.readouterr().out
    t = synthetic_torrent("from-file", size=1 << 20)
    f = tmp_path / "x.torrent"
    f.write_bytes(t.data)
    assert await run(ready, "torrents", "add", str(f), "--paused") == 0
    assert t.info_hash in capsys.readouterr().out
    assert await run(ready, "torrents", "list") == 0
    out = capsys.readouterr().out
    assert "ef" * 20 in out
    assert "from-file" in out
    assert await run(ready, "torrents", "list", "--category", "tv", "--json") == 0
    assert '"name": "cli"' in capsys.readouterr().out
    assert await run(ready, "torrents", "pause", "ef" * 20) == 0
    assert ready.engine.get("ef" * 20).paused  # type: ignore[union-attr]
    assert await run(ready, "torrents", "resume", "ef" * 20) == 0
    assert await run(ready, "torrents", "remove", "ef" * 20, "--with-data") == 0
    assert ready.engine.get("ef" * 20) is None
    capsys.readouterr()
    # Errors print the server's message and exit non-zero.
    assert await run(ready, "torrents", "pause", "ef" * 20) == 1
    assert "unknown torrent" in capsys.readouterr().err
    assert await run(ready, "torrents", "add", "magnet:?xt=urn:btih:zz") == 1
    assert "invalid magnet" in capsys.readouterr().err
    assert await run(ready, "torrents", "list", key=False) == 1
    assert "401" in capsys.readouterr().err


async def test_config_over_http(ready: Api, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(ready, "config", "set", "api.cors_origins", '["http://x.example"]') == 0
    assert "version" in capsys.readouterr().out
    assert await run(ready, "config", "get", "api.cors_origins") == 0
    assert "http://x.example" in capsys.readouterr().out
    assert await run(ready, "config", "set", "api.cors_origins", "5") == 1
    assert "api.cors_origins" in capsys.readouterr().err


async def test_setup_unlock_over_http(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["setup", "unlock", "--token", "wrong", "--username", "admin", "--password", "correct horse"]
    assert await run(api, *argv, key=False) == 1
    assert "invalid" in capsys.readouterr().err
    argv[3] = api.token
    assert await run(api, *argv, key=False) == 0
    assert "API key" in capsys.readouterr().out


async def test_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    code = await asyncio.to_thread(cli.main, ["torrents", "list", "--url", "http://127.0.0.1:9"])
    assert code == 1
    assert "cannot reach" in capsys.readouterr().err
