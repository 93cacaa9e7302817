"""The differential: tests passing on qBittorrent and failing on Revaer, grouped by endpoint.

A test is put under the endpoint it exercises: the client spelling in its parameters (most tests
are parametrized over ``torrents_add_trackers`` / ``torrents.add_trackers``), else its own name
in its file's namespace; the library's catalog (``tests/catalog.py``) maps spellings to
``namespace/method``. What matches nothing is grouped by file and test name.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path

from tests.compat.suite import FAILED, PASSED, SKIPPED

# Run in the suite's venv: every spelling of every endpoint, as "namespace/apiMethod".
_CATALOG_DUMP = """
import json
from tests.catalog import CATALOG
out = {}
for e in CATALOG:
    endpoint = f"{e.namespace}/{e.api_method}"
    names = [e.primary, *e.client_aliases, e.interface, *e.interface_aliases]
    names += [f"torrent.{n}" for n in (e.torrent_method, *e.torrent_method_aliases) if n]
    for name in names:
        if name:
            out.setdefault(name, endpoint)
print(json.dumps(out))
"""


def spellings(python: Path, root: Path, env: dict[str, str]) -> dict[str, str]:
    """``{client spelling: namespace/method}`` from the suite's catalog."""
    done = subprocess.run(
        [str(python), "-c", _CATALOG_DUMP], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    found: dict[str, str] = json.loads(done.stdout)
    return found


def endpoint_of(node: str, names: dict[str, str]) -> str:
    """The endpoint a test node id exercises (see the module docstring)."""
    file_part, _, test = node.partition("::")
    stem = Path(file_part).stem.removeprefix("test_")
    func, _, params = test.partition("[")
    for token in re.split(r"[-\[\]]", params):
        for name in (token, f"torrent.{token}"):
            if name in names:
                return names[name]
    short = func.removeprefix("test_")
    namespace = "torrents" if stem == "torrent" else stem
    words = short.split("_")
    for end in range(len(words), 0, -1):
        head = "_".join(words[:end])
        for name in (f"{namespace}_{head}", f"{namespace}_{head.removeprefix(namespace + '_')}", head):
            if name in names:
                return names[name]
    return f"({stem}) {short}"


def differential(qbittorrent: dict[str, str], revaer: dict[str, str]) -> tuple[list[str], list[str]]:
    """Tests that pass on qBittorrent and fail on Revaer; tests qBittorrent skips that fail on Revaer."""
    regressions = sorted(n for n, o in qbittorrent.items() if o == PASSED and revaer.get(n, FAILED) == FAILED)
    beyond = sorted(n for n, o in qbittorrent.items() if o == SKIPPED and revaer.get(n) == FAILED)
    return regressions, beyond


def render(
    qbittorrent: dict[str, str], revaer: dict[str, str], names: dict[str, str], *, command: str
) -> str:
    """The differential as text: totals, then one block per endpoint, largest first."""
    regressions, beyond = differential(qbittorrent, revaer)
    lines = [f"# {command}"]
    for label, results in (("qBittorrent", qbittorrent), ("Revaer", revaer)):
        counts = {o: sum(1 for v in results.values() if v == o) for o in (PASSED, FAILED, SKIPPED)}
        lines.append(f"{label}: {counts[PASSED]} passed, {counts[FAILED]} failed, {counts[SKIPPED]} skipped")
    lines.append(f"differential: {len(regressions)} tests pass on qBittorrent and fail on Revaer")
    lines += _grouped(regressions, names)
    if beyond:
        lines.append(f"also: {len(beyond)} tests qBittorrent skips (its older WebAPI) fail on Revaer")
        lines += _grouped(beyond, names)
    return "\n".join(lines) + "\n"


def _grouped(nodes: list[str], names: dict[str, str]) -> list[str]:
    groups: dict[str, list[str]] = defaultdict(list)
    for node in nodes:
        groups[endpoint_of(node, names)].append(node)
    lines: list[str] = []
    for endpoint, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"  {endpoint} ({len(members)})")
        lines += [f"      {m}" for m in members]
    return lines
