"""Logging: JSON lines (orjson) with stable keys, or plain text for people."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import IO, Any

import orjson

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STANDARD and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = [
            f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
        ]
        return f"{base} {' '.join(extras)}" if extras else base


def configure_logging(fmt: str = "json", level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # aiohttp's access log is noisy at INFO for an API polled every second.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def configure_tracing(endpoint: str | None, *, exporter: Any = None, batch: bool = True) -> bool:
    """Export traces over OTLP/HTTP to ``endpoint`` (the ``otel`` extra); False when off or not installed."""
    if not endpoint and exporter is None:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        logging.getLogger(__name__).warning(
            "telemetry.otel_endpoint is set but OpenTelemetry is not installed: pip install 'revaer[otel]'"
        )
        return False
    from revaer import __version__

    if exporter is None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            logging.getLogger(__name__).warning("the OTLP exporter is missing: pip install 'revaer[otel]'")
            return False
        exporter = OTLPSpanExporter(endpoint=endpoint)
    provider = TracerProvider(
        resource=Resource.create({"service.name": "revaer", "service.version": __version__})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    logging.getLogger(__name__).info("tracing enabled", extra={"otel_endpoint": endpoint})
    return True


def tracing_middleware() -> Any:
    """An aiohttp middleware with one server span per request (only installed when tracing is on)."""
    from aiohttp import web
    from opentelemetry import trace

    tracer = trace.get_tracer("revaer")

    @web.middleware
    async def traced(request: web.Request, handler: Any) -> web.StreamResponse:
        info = request.match_info.route.resource
        route = info.canonical if info is not None else request.path
        with tracer.start_as_current_span(f"{request.method} {route}", kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("http.route", route)
            resp: web.StreamResponse = await handler(request)
            span.set_attribute("http.response.status_code", resp.status)
            return resp

    return traced
