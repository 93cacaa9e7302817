"""Logging: JSON lines (orjson) with stable keys, or plain text for people."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import AsyncIterator
from types import FrameType
from typing import IO, Any

import orjson

from revaer.config.redact import redact_urls
from revaer.tasks import cancel_and_wait

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}

log = logging.getLogger(__name__)

# Asks the loop thread for its stack; ignored by default (nothing dies of one that arrives late).
SAMPLE_SIGNAL = signal.SIGURG


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
        # A URL's password never reaches a log line, whichever field holds it.
        return redact_urls(orjson.dumps(out, default=str).decode())


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = [
            f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
        ]
        return redact_urls(f"{base} {' '.join(extras)}" if extras else base)


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


def apply_log_settings(fmt: str, level: str) -> None:
    """Apply ``telemetry.log_format``/``log_level`` live to the handler ``configure_logging`` set up."""
    root = logging.getLogger()
    wanted = root.getEffectiveLevel() if not level else logging.getLevelName(level.upper())
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    for handler in root.handlers:
        if type(handler.formatter) is not formatter:
            handler.setFormatter(formatter())
    if root.level != wanted:
        root.setLevel(wanted)


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
    logging.getLogger(__name__).info("tracing enabled", extra={"otel_endpoint": redact_urls(endpoint or "")})
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


class LoopMonitor:
    """How late the event loop runs what is due: the worst stall since start and over the last minute.

    A heartbeat task sleeps ``interval`` and measures how late it woke: that lateness is how long
    something kept the loop from running anything else. A stall longer than ``report_over`` is
    logged (``event loop stalled``, ``duration_ms``, ``stack``). The monitor cannot know the
    culprit from inside the loop, so a watchdog thread, while the heartbeat is overdue, signals the
    loop thread (``SAMPLE_SIGNAL``), whose handler records its own Python stack: ``stack`` is where
    the loop thread was, innermost frame last. The stack is read by the thread that owns it: on
    CPython 3.11, walking another thread's frames (``sys._current_frames()`` and ``f_back``) can
    follow a frame that thread has just popped, and crashed the server at startup. Python runs the
    handler between two bytecodes, or when a blocking call returns or is interrupted: code that
    blocks in C while holding the GIL is sampled once it lets go (usually at the caller of the
    blocking call), and ``stack`` is null when the heartbeat ran first. Only the first sample of a
    stall is kept. Stacks are sampled only when the loop runs on the main thread (where Python
    delivers signals).

    A stall is also measured without the time the loop thread was ready to run but the kernel ran
    something else (its run-queue wait, from Linux's ``/proc/thread-self/schedstat``): ``own``
    is what the process itself kept the loop from running (its own work on the loop, a blocking
    call, a lock or the GIL held by one of its threads), whatever else the machine is busy with.
    Without schedstat (not Linux) ``own`` is the stall itself.
    """

    def __init__(self, *, interval: float = 0.05, report_over: float = 0.1, window: float = 60.0) -> None:
        self.interval = interval
        self.report_over = report_over
        self.window = window
        self.worst = 0.0
        self.worst_own = 0.0  # the worst stall less the loop thread's run-queue wait
        self.stalls = 0  # stalls longer than report_over since start
        # (whole second, worst lateness in it), oldest first: the last minute's worst.
        self._recent: deque[tuple[int, float]] = deque()
        self._beat = time.monotonic()
        self._sample: list[str] | None = None
        self._sampled_beat = -1.0  # the heartbeat of the stall a sample was asked for (one per stall)
        self._wanted_beat = -1.0
        self._previous_handler: Any = signal.SIG_DFL
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._beat = time.monotonic()
        self._task = loop.create_task(self._heartbeat(), name="revaer-loop-monitor")
        if threading.current_thread() is not threading.main_thread():
            return  # no signal reaches this thread's Python code: stalls are measured, not sampled
        self._previous_handler = signal.signal(SAMPLE_SIGNAL, self._on_sample_signal)
        self._thread = threading.Thread(
            target=self._watch, args=(threading.get_ident(),), name="revaer-loop-watchdog", daemon=True
        )
        self._thread.start()

    async def close(self) -> None:
        self._stop.set()
        await cancel_and_wait(self._task)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 1.0)
            # SAMPLE_SIGNAL is ignored by default: one still on its way does no harm.
            signal.signal(SAMPLE_SIGNAL, self._previous_handler)

    def last_minute_worst(self) -> float:
        horizon = time.monotonic() - self.window
        return max((worst for second, worst in self._recent if second >= horizon), default=0.0)

    def report(self) -> dict[str, float | int]:
        """What ``/v1/health`` shows under ``loop``."""
        return {
            "worst_ms": round(self.worst * 1000, 1),
            "last_minute_worst_ms": round(self.last_minute_worst() * 1000, 1),
            "worst_own_ms": round(self.worst_own * 1000, 1),
            "stalls": self.stalls,
            "report_over_ms": round(self.report_over * 1000, 1),
        }

    def record(self, late: float, waited: float = 0.0) -> None:
        """One heartbeat ``late`` seconds late, ``waited`` of them on the run queue (public for tests
        of the bookkeeping)."""
        now = time.monotonic()
        self.worst = max(self.worst, late)
        own = max(0.0, late - waited)
        self.worst_own = max(self.worst_own, own)
        second = int(now)
        if self._recent and self._recent[-1][0] == second:
            self._recent[-1] = (second, max(self._recent[-1][1], late))
        else:
            self._recent.append((second, late))
        while self._recent and self._recent[0][0] < now - self.window - 1:
            self._recent.popleft()
        if late > self.report_over:
            self.stalls += 1
            log.warning(
                "event loop stalled",
                extra={
                    "duration_ms": round(late * 1000, 1),
                    "own_ms": round(own * 1000, 1),
                    "stack": self._sample,
                },
            )
        self._sample = None

    async def _heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # schedstat is read outside the measured span: the read itself lets go of the GIL.
            queued = run_queue_wait()
            start = loop.time()
            await asyncio.sleep(self.interval)
            late = max(0.0, loop.time() - start - self.interval)
            self._beat = time.monotonic()
            self.record(late, run_queue_wait() - queued)

    def _watch(self, loop_thread: int) -> None:
        # Polls at a fraction of the threshold; takes at most one sample per stall.
        period = max(0.005, self.report_over / 4)
        while not self._stop.wait(period):
            beat = self._beat
            if beat == self._sampled_beat or time.monotonic() - beat < self.interval + self.report_over:
                continue
            self._sampled_beat = self._wanted_beat = beat
            signal.pthread_kill(loop_thread, SAMPLE_SIGNAL)

    def _on_sample_signal(self, signum: int, frame: FrameType | None) -> None:
        # On the loop thread, inside whatever keeps it from the heartbeat (unless that ended first).
        if frame is not None and self._beat == self._wanted_beat:
            self._sample = _stack(frame)


def run_queue_wait() -> float:
    """Seconds the calling thread has spent ready to run but not running (0.0 without schedstat)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _stack(frame: FrameType, limit: int = 12) -> list[str]:
    return [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_stack(frame, limit=limit)]


async def loop_monitor(app: Any) -> AsyncIterator[None]:
    """The app's cleanup context for the loop-lag monitor (first, so it watches startup too)."""
    from revaer.api.keys import LOOP_MONITOR

    app[LOOP_MONITOR] = monitor = LoopMonitor()
    monitor.start()
    try:
        yield
    finally:
        await monitor.close()


# Allocations (minus frees) between two collections of the youngest generation (Python's default: 700).
GC_THRESHOLD = 50_000


async def settled_collector(app: Any) -> AsyncIterator[None]:
    """The app's last cleanup context: what exists once the server has started is kept out of the
    cyclic garbage collector's way (``gc.freeze()``).

    A full collection walks every object the process holds and keeps the GIL meanwhile, whichever
    thread runs it: with the modules, the services and the restored torrents of a started server
    that was 60-160 ms (measured in ``tests/faults/test_loop_details.py``), and the allocations of
    a few detail requests trigger one. Frozen, those objects are never walked again; a collection
    walks only what was made since, which stays in the low milliseconds. They are not garbage
    (the server holds them until it stops), so nothing is lost by not collecting them. The youngest
    generation is collected less often too (``GC_THRESHOLD``): at 10,000 torrents a third of the
    samples of a stop were the collector.
    """
    del app
    # No collection first: it would itself be such a stall, and what garbage the start left is small.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()  # a process that builds the app again (tests) collects the old one
