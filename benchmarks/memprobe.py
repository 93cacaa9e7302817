"""Runs ``python -m revaer`` with a memory probe: on SIGUSR2 the process writes where its memory is.

    python -m benchmarks.memprobe serve --data-dir D ...     # as ``python -m revaer serve``

The profile (JSON) goes to ``$REVAER_MEMPROBE_OUT`` (one file, replaced each time):

- ``smaps``: ``/proc/self/smaps_rollup`` (kB): Rss, Pss, Anonymous, ...;
- ``malloc``: glibc's ``mallinfo2`` (bytes in use / free in the heap, mmapped) and the number of
  arenas from ``malloc_info``; the C++ side (libtorrent, the status table) and Python's objects over
  512 bytes are in there, Python's small objects are in pymalloc's own arenas (not in malloc);
- ``python``: ``sys.getallocatedblocks``, objects tracked by the GC by type (top 30), and with
  ``REVAER_MEMPROBE_TRACE=1`` (tracemalloc from the start: slower, larger) the traced total and the
  top 30 lines by size;
- ``holders``: every object of a ``revaer`` class, each attribute that is a container: its length
  and deep size (the registry's queue, the service's mirrors, the façade's caches, ...).

Benchmarks only: nothing of this is in the server.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import re
import runpy
import signal
import sys
import tracemalloc
from collections import Counter
from types import FrameType
from typing import Any

import orjson


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_libc = ctypes.CDLL("libc.so.6")
_libc.mallinfo2.restype = _Mallinfo2
_libc.open_memstream.restype = ctypes.c_void_p
_libc.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
_libc.fclose.argtypes = [ctypes.c_void_p]
_libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]


def malloc_info() -> str:
    buf, size = ctypes.c_char_p(), ctypes.c_size_t()
    stream = _libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    _libc.malloc_info(0, stream)
    _libc.fclose(stream)
    text = (buf.value or b"").decode()
    _libc.free(buf)
    return text


def malloc() -> dict[str, int]:
    m = _libc.mallinfo2()
    out = {field[0]: int(getattr(m, field[0])) for field in _Mallinfo2._fields_}
    info = malloc_info()
    out["arenas"] = len(re.findall(r"<heap nr=", info))
    # Per arena: bytes the arena holds from the system (its "current" size).
    heaps = re.findall(r'<heap nr="(\d+)">.*?<system type="current" size="(\d+)"/>', info, re.S)
    out["arena_sizes"] = [int(s) for _, s in heaps]  # type: ignore[assignment]
    return out


def smaps() -> dict[str, int]:
    out = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                out[parts[0][:-1]] = int(parts[1])
    return out


def deep_size(obj: object, seen: set[int], depth: int = 0) -> int:
    """Bytes of obj and of what it holds (containers, revaer objects' attributes); each object once."""
    if id(obj) in seen or isinstance(obj, type) or depth > 12:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj, 0)
    if isinstance(obj, dict):
        for k, v in obj.items():
            size += deep_size(k, seen, depth + 1) + deep_size(v, seen, depth + 1)
    elif isinstance(obj, list | tuple | set | frozenset):
        for v in obj:
            size += deep_size(v, seen, depth + 1)
    elif type(obj).__module__.startswith("revaer"):
        for v in _attrs(obj).values():
            size += deep_size(v, seen, depth + 1)
    return size


def _attrs(obj: object) -> dict[str, Any]:
    out: dict[str, Any] = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            with contextlib.suppress(AttributeError):
                out[name] = getattr(obj, name)
    return out


def holders(objects: list[object]) -> list[dict[str, Any]]:
    """Containers of more than 100 items held by revaer objects, by deep size."""
    out = []
    seen: set[int] = set()
    for obj in objects:
        if not type(obj).__module__.startswith("revaer") or isinstance(obj, type):
            continue
        for name, v in _attrs(obj).items():
            with contextlib.suppress(TypeError):
                if not isinstance(v, str | bytes) and len(v) > 100:
                    out.append(
                        {
                            "owner": f"{type(obj).__module__}.{type(obj).__qualname__}",
                            "attr": name,
                            "len": len(v),
                            "deep_bytes": deep_size(v, seen),
                        }
                    )
    return sorted(out, key=lambda h: -h["deep_bytes"])


def profile() -> dict[str, Any]:
    gc.collect()
    objects = gc.get_objects()
    by_type = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
    python: dict[str, Any] = {
        "allocated_blocks": sys.getallocatedblocks(),
        "gc_objects": len(objects),
        "by_type": by_type.most_common(30),
    }
    if tracemalloc.is_tracing():
        snap = tracemalloc.take_snapshot()
        stats = snap.statistics("lineno")
        python["traced"] = tracemalloc.get_traced_memory()[0]
        python["top"] = [[str(s.traceback[0]), s.size, s.count] for s in stats[:30]]
    out = {"smaps": smaps(), "malloc": malloc(), "python": python, "holders": holders(objects)}
    del objects
    return out


def _on_signal(signum: int, frame: FrameType | None) -> None:
    path = os.environ["REVAER_MEMPROBE_OUT"]
    data = orjson.dumps(profile())
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    if os.environ.get("REVAER_MEMPROBE_EXIT") == "1":  # under heaptrack: what is live now is "leaked"
        os._exit(0)


def main() -> None:
    if os.environ.get("REVAER_MEMPROBE_TRACE") == "1":
        tracemalloc.start(1)
    signal.signal(signal.SIGUSR2, _on_signal)
    sys.argv = ["revaer", *sys.argv[1:]]
    runpy.run_module("revaer", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
