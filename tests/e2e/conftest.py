"""Fixtures of the end-to-end tests: the real server as a child process."""

from tests.e2e.fixtures import server, workdir

__all__ = ["server", "workdir"]
