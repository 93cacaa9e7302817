"""Fixtures of the browser tests: the real server as a child process (``make browser`` runs them)."""

from tests.e2e.fixtures import server, workdir

__all__ = ["server", "workdir"]
