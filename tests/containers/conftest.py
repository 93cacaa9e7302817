"""The container tests (``make dist-test``, ``make image-test``): slow, so outside ``make test``.

They run only when ``REVAER_CONTAINER_TESTS=1`` (the two make targets set it, after building what
they test); otherwise every test here is deselected (not collected as skipped).
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.fixtures import workdir

__all__ = ["workdir"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("REVAER_CONTAINER_TESTS") == "1":
        return
    here = os.path.dirname(__file__)
    mine = [item for item in items if str(item.path).startswith(here)]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [item for item in items if not str(item.path).startswith(here)]
