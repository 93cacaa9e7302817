"""What a refused request must leave as it was: the config, the torrents, categories and tags."""

from __future__ import annotations

from typing import Any

import requests


def fingerprint(http: requests.Session, url: str, auth: dict[str, str]) -> tuple[Any, ...]:
    """The server's state as both APIs show it (sorted, so equal states compare equal)."""
    config = http.get(f"{url}/v1/config", headers=auth, timeout=30).json()
    torrents = http.get(f"{url}/api/v2/torrents/info", headers=auth, timeout=30).json()
    categories = http.get(f"{url}/api/v2/torrents/categories", headers=auth, timeout=30).json()
    tags = http.get(f"{url}/api/v2/torrents/tags", headers=auth, timeout=30).json()
    rows = sorted(
        (t["hash"], t["category"], t["tags"], t["save_path"], t["up_limit"], t["dl_limit"], t["name"])
        for t in torrents
    )
    return (config["versions"], rows, sorted(categories.items()), sorted(tags))
