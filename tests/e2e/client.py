"""A small ``/v1`` client of a ``ServerProcess`` for the end-to-end tests: the claimed API key and
helpers that check the status and return the JSON body."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.e2e.server import ServerProcess, claim


class V1:
    def __init__(self, http: aiohttp.ClientSession, server: ServerProcess, key: str) -> None:
        self.http = http
        self.server = server
        self.key = key
        self.auth = {"Authorization": f"Bearer {key}"}

    @classmethod
    async def claimed(cls, http: aiohttp.ClientSession, server: ServerProcess) -> V1:
        return cls(http, server, await claim(http, server))

    async def call(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        async with self.http.request(method, self.server.url + path, headers=self.auth, **kwargs) as r:
            text = await r.text()
            assert r.status == status, f"{method} {path}: {r.status} {text}"
            return await r.json(content_type=None) if text else None

    async def add_file(self, data: bytes, **fields: str) -> str:
        form = aiohttp.FormData()
        form.add_field("torrents", data, filename="t.torrent", content_type="application/x-bittorrent")
        for k, v in fields.items():
            form.add_field(k, v)
        body = await self.call("POST", "/v1/torrents/add", 201, data=form)
        h: str = body["info_hashes"][0]
        return h

    async def wait_for(self, path: str, pred: Callable[[Any], bool], what: str, within: float = 30.0) -> Any:
        """Poll ``GET path`` until ``pred(body)``; fails after ``within`` seconds."""
        body: Any = None
        try:
            async with asyncio.timeout(within):
                while True:
                    body = await self.call("GET", path)
                    if pred(body):
                        return body
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"{path}: not {what} within {within} s: {body}") from None
