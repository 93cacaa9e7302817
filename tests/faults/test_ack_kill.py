"""An acknowledged add survives SIGKILL.

The real server as a child process; eight clients (four on ``/v1``, four on ``/api/v2``) add
distinct .torrent files; right after the ``N_ACKS``-th acknowledgement the server is SIGKILLed,
then started again on the same data dir and database. Every acknowledged info-hash must be
listed. Before the fix, adds were answered before the registry's background flush (every 0.2 s)
and before any resume data existed, so the last ones were gone after the restart.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.e2e.server import PASSWORD, ServerProcess, claim
from tests.support.torrents import MadeTorrent, synthetic_torrent

N_ACKS = 200
CLIENTS = 8
PER_CLIENT = 60  # bounds the load: at most CLIENTS * PER_CLIENT adds


def _form(t: MadeTorrent) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("torrents", t.data, filename=f"{t.name}.torrent", content_type="application/x-bittorrent")
    return form


class Adds:
    """The acknowledged info-hashes, and the moment there are enough of them."""

    def __init__(self) -> None:
        self.acked: list[str] = []
        self.enough = asyncio.Event()

    def ack(self, h: str) -> None:
        self.acked.append(h)
        if len(self.acked) >= N_ACKS:
            self.enough.set()


async def _client(url: str, qb: bool, key: str, torrents: list[MadeTorrent], adds: Adds) -> None:
    # unsafe: keep the SID cookie of an IP-address host.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), cookie_jar=jar) as http:
        if qb:
            r = await http.post(f"{url}/api/v2/auth/login", data={"username": "admin", "password": PASSWORD})
            assert await r.text() == "Ok."
        for t in torrents:
            if adds.enough.is_set():
                return
            try:
                if qb:
                    async with http.post(f"{url}/api/v2/torrents/add", data=_form(t)) as r:
                        ok = r.status == 200 and await r.text() == "Ok."
                else:
                    headers = {"Authorization": f"Bearer {key}"}
                    async with http.post(f"{url}/v1/torrents/add", data=_form(t), headers=headers) as r:
                        ok = r.status == 201 and (await r.json())["info_hashes"] == [t.info_hash]
            except (aiohttp.ClientError, TimeoutError):
                return  # the server is gone
            assert ok, f"add of {t.name} not acknowledged"
            adds.ack(t.info_hash)


async def _listed(http: aiohttp.ClientSession, url: str, key: str) -> set[str]:
    r = await http.get(
        f"{url}/v1/torrents", params={"limit": "1000"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status == 200, await r.text()
    body: dict[str, Any] = await r.json()
    assert body["next_cursor"] is None
    return {t["info_hash"] for t in body["torrents"]}


async def test_every_acknowledged_add_survives_sigkill(server: ServerProcess) -> None:
    made = [synthetic_torrent(f"ack-kill-{i:04d}", size=1 << 20) for i in range(CLIENTS * PER_CLIENT)]
    await server.start()
    async with aiohttp.ClientSession() as http:
        key = await claim(http, server)
    adds = Adds()
    clients = [
        asyncio.create_task(_client(server.url, i % 2 == 1, key, made[i::CLIENTS], adds))
        for i in range(CLIENTS)
    ]
    waiter = asyncio.create_task(adds.enough.wait())
    await asyncio.wait([waiter, *clients], timeout=60, return_when=asyncio.FIRST_COMPLETED)
    for c in clients:
        if c.done():
            c.result()  # a client that failed says why
    assert adds.enough.is_set(), f"only {len(adds.acked)} adds acknowledged:\n{server.log_tail()}"
    acked = set(adds.acked)  # what was acknowledged before the kill
    server.kill()  # SIGKILL: no shutdown, no final flush
    await asyncio.gather(*clients)
    acked |= set(adds.acked)  # answers read completely before the process died count too

    await server.start()
    async with aiohttp.ClientSession() as http:
        listed = await _listed(http, server.url, key)
    missing = acked - listed
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged torrents lost:\n{server.log_tail()}"
