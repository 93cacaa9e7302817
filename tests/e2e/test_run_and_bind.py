"""``make run ARGS=...`` passes its options to the server, and a ``server.bind`` change says it
applies after a restart: in ``/v1/config``, in the CLI and in the log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import aiohttp

from tests.e2e.cli import cli_env, run_cli
from tests.e2e.client import V1
from tests.e2e.server import LOOPBACK_CONFIG, REPO, ServerProcess, free_port, write_config


def _make_run(args: str, log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``make run ARGS=args`` in a session of its own (so that it can be stopped as a group)."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            ["make", "-s", "run", f"ARGS={args}"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


async def _healthy(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    async with asyncio.timeout(120):
        while True:
            assert proc.poll() is None, _text(log)
            try:
                async with http.get(f"{url}/v1/health") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def test_make_run_takes_args_and_bind_applies_after_restart(workdir: Path, db_url: str) -> None:
    port = free_port()
    await write_config(db_url, {**LOOPBACK_CONFIG, "server.bind": f"127.0.0.1:{port}"})
    server = ServerProcess(workdir / "data", db_url)  # not spawned: make runs it; its address and files
    server.port = port
    log_path = workdir / "make.log"
    args = f"--data-dir {server.data_dir} --database-url {db_url} --log-format text"
    proc = _make_run(args, log_path, cli_env(workdir / "home"))
    try:
        async with aiohttp.ClientSession() as http:
            await _healthy(http, server.url, proc, log_path)
            api = await V1.claimed(http, server)  # the token is in the data dir given in ARGS
            assert "restart_required" not in await api.call("GET", "/v1/config")
            moved = f"127.0.0.1:{free_port()}"
            body = await api.call("PATCH", "/v1/config", json={"server.bind": moved})
            note = body["restart_required"]["server.bind"]
            assert note == f"applies after a restart (this server listens on 127.0.0.1:{port})"
            assert (await api.call("GET", "/v1/config"))["restart_required"] == body["restart_required"]

            env = cli_env(workdir / "home", REVAER_URL=server.url, REVAER_API_KEY=api.key)
            done = await run_cli("config", "set", "server.bind", f'"{moved}"', env=env)
            assert done.code == 0, done
            assert "server.bind applies after a restart" in done.out, done.out
            await api.wait_for(
                "/v1/health",
                lambda _: "server.bind changed: it applies after a restart" in _text(log_path),
                "logged",
                within=10,
            )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 30)
    assert f" listening bind=127.0.0.1:{port}" in _text(log_path)


async def test_a_command_line_bind_is_named(server: ServerProcess) -> None:
    await server.start()
    async with aiohttp.ClientSession() as http:
        api = await V1.claimed(http, server)
        body = await api.call("GET", "/v1/config")
        note = body["restart_required"]["server.bind"]
        assert note == f"this server was started with --bind 127.0.0.1:{server.port}, which overrides it"
