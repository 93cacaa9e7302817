from __future__ import annotations

import io
import logging

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from revaer.telemetry import JsonFormatter, TextFormatter, configure_tracing, tracing_middleware


def _record(msg: str, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("revaer.test")
    return logger.makeRecord("revaer.test", logging.INFO, __file__, 1, msg, (), None, extra=extra)


def test_json_lines_have_stable_keys_and_fields() -> None:
    line = JsonFormatter().format(_record("torrent added", info_hash="ab" * 20, paused=False))
    data = orjson.loads(line)
    assert list(data)[:4] == ["ts", "level", "logger", "msg"]
    assert data["level"] == "info"
    assert data["logger"] == "revaer.test"
    assert data["msg"] == "torrent added"
    assert data["info_hash"] == "ab" * 20
    assert data["paused"] is False
    assert "\n" not in line


def test_text_format_for_people() -> None:
    line = TextFormatter().format(_record("torrent added", info_hash="cd" * 20))
    assert "INFO" in line
    assert "torrent added" in line
    assert f"info_hash={'cd' * 20}" in line


def test_configure_logging_writes_json_lines() -> None:
    from revaer.telemetry import configure_logging

    buf = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("json", "INFO", stream=buf)
        logging.getLogger("revaer.x").info("hello", extra={"n": 1})
        assert orjson.loads(buf.getvalue().splitlines()[-1])["n"] == 1
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_tracing_is_off_without_an_endpoint() -> None:
    assert configure_tracing(None) is False


async def test_one_server_span_per_request() -> None:
    exporter = InMemorySpanExporter()
    assert configure_tracing("memory", exporter=exporter, batch=False)

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application(middlewares=[tracing_middleware()])
    app.router.add_get("/v1/things/{id}", hello)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/v1/things/7")).status == 200
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET /v1/things/{id}"
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 200
    assert span.resource.attributes["service.name"] == "revaer"
