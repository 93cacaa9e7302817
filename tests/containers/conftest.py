"""The container tests (``make dist-test``, ``make image-test``): slow, so outside ``make test``.

They run only when ``REVAER_CONTAINER_TESTS=1`` (the two make targets set it, after building what
they test); otherwise every test here is skipped, saying how to run it.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.fixtures import workdir

__all__ = ["workdir"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("REVAER_CONTAINER_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="container test: run by `make dist-test` / `make image-test`")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(skip)
