"""Hypothesis over every ``/api/v2`` endpoint's form fields, on the live server: no 5xx, and a
refused request (4xx, or qBittorrent's ``Fails.``) changed nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from revaer.api.qbittorrent import ACTIONS, READS
from tests.fuzz.conftest import EXAMPLES, LONG, Live
from tests.fuzz.state import fingerprint

# Logging in with wrong credentials bans the address (the suite's own): kept out.
ENDPOINTS = sorted((set(READS) | set(ACTIONS)) - {"/auth/login", "/auth/logout"})
FIELDS = [
    "hashes", "hash", "category", "categories", "tags", "tag", "limit", "offset", "filter", "sort",
    "reverse", "rid", "savePath", "location", "name", "id", "indexes", "priority", "value",
    "deleteFiles", "ratioLimit", "seedingTimeLimit", "inactiveSeedingTimeLimit", "urls", "json",
    "paused", "stopped", "autoTMM", "upLimit", "dlLimit", "rename", "skip_checking", "root_folder",
]  # fmt: skip
SEEDED = ["a" * 40, "b" * 40, "c" * 40]  # torrents that exist while the suite runs

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # surrogates cannot be sent
numbers = st.integers(min_value=-(2**70), max_value=2**70).map(str)
hashes = st.lists(st.sampled_from([*SEEDED, "d" * 40, "A" * 40, "zz"]), max_size=4).map("|".join)
special = st.sampled_from(
    ["", "all", "-1", "-2", "0", "1", "true", "false", "NaN", "inf", "1e309", "\x00", "t\x00g", "a,b", "/",
     "/etc", "..", "../..", "x" * 5000,
     '{"save_path": "/"}', '{"dht": "yes"}', "[]", "magnet:?xt=urn:btih:zz"]
)  # fmt: skip
values = st.one_of(text, numbers, hashes, special)
forms = st.dictionaries(st.one_of(st.sampled_from(FIELDS), text), values, max_size=6)


def seed(http: requests.Session, live: Live) -> None:
    urls = "\n".join(f"magnet:?xt=urn:btih:{h}&dn=fuzz{i}" for i, h in enumerate(SEEDED))
    r = http.post(f"{live.url}/api/v2/torrents/add", data={"urls": urls, "paused": "true"}, headers=live.auth)
    assert r.status_code == 200, r.text  # "Fails." when every one is still there


def run_forms(live: Live) -> None:
    http = requests.Session()
    seed(http, live)
    state: dict[str, Any] = {"before": fingerprint(http, live.url, live.auth)}

    @settings(settings.get_profile("revaer-fuzz"), max_examples=EXAMPLES * 8)
    @given(endpoint=st.sampled_from(ENDPOINTS), form=forms, as_query=st.booleans())
    def check(endpoint: str, form: dict[str, str], as_query: bool) -> None:
        url = f"{live.url}/api/v2{endpoint}"
        if as_query and endpoint in READS:
            r = http.get(url, params=form, headers=live.auth, timeout=60)
        else:
            r = http.post(url, data=form, headers=live.auth, timeout=60)
        where = f"{endpoint} {form!r} -> {r.status_code}: {r.text[:200]}"
        assert r.status_code < 500, where
        after = fingerprint(http, live.url, live.auth)
        if r.status_code >= 400 or r.text == "Fails.":
            assert after == state["before"], f"a refusal changed the state: {where}"
        state["before"] = after
        if endpoint == "/torrents/delete" and r.status_code == 200:
            seed(http, live)  # keep torrents to act on
            state["before"] = fingerprint(http, live.url, live.auth)

    check()


@LONG
async def test_qb_forms_fuzz(live: Live) -> None:
    await asyncio.to_thread(run_forms, live)
