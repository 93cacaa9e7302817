"""The real CLI (``python -m revaer ...``) as a child process, for the end-to-end tests."""

from __future__ import annotations

import asyncio
import os
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
