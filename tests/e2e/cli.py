"""The real CLI (``python -m revaer ...``) as a child process, for the end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.server import REPO

# Variables that would point the CLI somewhere: each test names what it means explicitly.
_POINTERS = ("DATABASE_URL", "REVAER_URL", "REVAER_DATA_DIR", "REVAER_API_KEY")


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without the CLI's pointers, ``HOME`` at ``home`` (so the default
    data dir is a scratch one), and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _POINTERS and not k.startswith("XDG_")}
    env["HOME"] = str(home)
    env.update(extra)
    return env


async def run_cli(*argv: str, env: dict[str, str], stdin: str | None = None, within: float = 60.0) -> Done:
    """Run ``python -m revaer argv...`` to its end (bounded); its exit status and output."""

    def go() -> Done:
        done = subprocess.run(
            [sys.executable, "-m", "revaer", *argv],
            cwd=REPO,
            env=env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=within,
            check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    return await asyncio.to_thread(go)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Background:
    """``python -m revaer argv...`` running on its own, its output in files read as it goes."""

    def __init__(self, workdir: Path, *argv: str, env: dict[str, str]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.out_path = workdir / "cli.out"
        self.err_path = workdir / "cli.err"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "revaer", *argv],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                # As from a terminal: a shell without job control starts background commands (a
                # suite run with `&`) with SIGINT ignored, and the child would inherit that.
                preexec_fn=_default_sigint,
            )

    @property
    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def err(self) -> str:
        return self.err_path.read_text(errors="replace")

    async def wait_output(self, text: str, within: float = 20.0) -> None:
        """Until stdout holds ``text``; fails after ``within`` seconds or when the process ends."""
        try:
            async with asyncio.timeout(within):
                while text not in self.out:
                    assert self.proc.poll() is None, (
                        f"exited {self.proc.returncode}: {self.out!r} {self.err!r}"
                    )
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"no {text!r} within {within} s: {self.out!r} {self.err!r}") from None

    async def exit_code(self, within: float = 20.0) -> int:
        try:
            async with asyncio.timeout(within):
                return await asyncio.to_thread(self.proc.wait)
        except TimeoutError:
            raise AssertionError(f"still running after {within} s: {self.out!r} {self.err!r}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
