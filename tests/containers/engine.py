"""Running containers with podman (or docker) for the container tests, every wait bounded.

The engine, its flags, the image under test and the Debian 12 base come from the environment the
Makefile exports (``CONTAINER``, ``CONTAINER_FLAGS``, ``IMAGE``, ``BASE``).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.engine import Seeder
from tests.support.torrents import file_sha256

REPO = Path(__file__).resolve().parents[2]
ENGINE = os.environ.get("CONTAINER", "podman")
FLAGS = shlex.split(os.environ.get("CONTAINER_FLAGS", ""))
IMAGE = os.environ.get("IMAGE", "localhost/revaer:latest")
BASE = os.environ.get("BASE", "debian:bookworm-slim")


def run(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``<engine> <flags> args...``; its output, or an AssertionError quoting it."""
    cmd = [ENGINE, *FLAGS, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        output = proc.stdout[-3000:] + proc.stderr[-3000:]
        raise AssertionError(f"{shlex.join(cmd)}: exit {proc.returncode}\n{output}")
    return proc


class Container:
    """One detached container; ``remove()`` always, even after a failed test."""

    def __init__(self, name: str) -> None:
        self.name = name

    def start(self, image: str, args: Sequence[str] = (), *, options: Sequence[str] = ()) -> None:
        run("run", "-d", "--name", self.name, "--network=host", *options, image, *args)

    def exec(self, *cmd: str) -> str:
        return run("exec", self.name, *cmd, timeout=60).stdout

    def logs(self) -> str:
        proc = run("logs", self.name, check=False, timeout=60)
        return "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])

    def state(self) -> dict[str, Any]:
        out = run("inspect", self.name, "--format", "{{.State.Running}} {{.State.ExitCode}}", timeout=60)
        running, code = out.stdout.split()
        return {"running": running == "true", "exit_code": int(code)}

    def stop(self, timeout: int = 30) -> int:
        """SIGTERM (the image's stop signal), then the exit code; killed only after ``timeout`` s."""
        run("stop", "-t", str(timeout), self.name, timeout=timeout + 60)
        state = self.state()
        assert not state["running"], "still running after stop"
        code: int = state["exit_code"]
        return code

    def remove(self) -> None:
        run("rm", "-f", "-v", self.name, check=False, timeout=120)  # with its anonymous volumes


async def wait_healthy(container: Container, url: str, *, within: float = 120.0) -> dict[str, Any]:
    """Poll ``url``/v1/health until it answers 200; fails quoting the container's log."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{url}/v1/health", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        body: dict[str, Any] = await r.json()
                        return body
            except (aiohttp.ClientError, TimeoutError):
                pass
            if not container.state()["running"]:
                raise AssertionError(f"container exited while starting:\n{container.logs()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy within {within} s:\n{container.logs()}")
            await asyncio.sleep(0.2)


async def claim(http: aiohttp.ClientSession, url: str, token: str, password: str) -> str:
    """Claim the installation with its setup token as ``admin``; the API key."""
    body = {"setup_token": token, "admin_username": "admin", "admin_password": password}
    async with http.post(f"{url}/v1/setup/apply", json=body) as r:
        assert r.status == 201, await r.text()
        key: str = (await r.json())["api_key"]
        return key


async def download_from(
    http: aiohttp.ClientSession, url: str, seeder: Seeder, auth: dict[str, str], box: Container, root: str
) -> None:
    """Add the seeder's magnet (naming the seeder as its peer), wait until it seeds, and compare the
    payload's sha256 in the container (under ``root``) with the seeder's."""
    magnet = f"{seeder.torrent.magnet()}&x.pe=127.0.0.1:{seeder.port}"
    async with http.post(f"{url}/v1/torrents/add", json={"magnet": magnet}, headers=auth) as r:
        assert r.status == 201, await r.text()
    await wait_seeding(http, url, seeder.info_hash, auth)
    digest = box.exec("sha256sum", f"{root}/{seeder.path.name}").split()[0]
    assert digest == file_sha256(seeder.path)


async def wait_seeding(
    http: aiohttp.ClientSession, url: str, info_hash: str, auth: dict[str, str], *, within: float = 120.0
) -> dict[str, Any]:
    """Poll the torrent until it has all its data and seeds; fails with its last row."""
    body: dict[str, Any] = {}
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with http.get(f"{url}/v1/torrents/{info_hash}", headers=auth) as r:
            if r.status == 200:
                body = await r.json()
                if body["state"] == "seeding" and body["progress"] == 1.0:
                    return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"torrent not seeding within {within} s: {body}")
