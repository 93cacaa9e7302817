"""Moving a payload (one file or one folder) without ever losing or half-writing it.

Same filesystem: one ``rename`` that never replaces (``renameat2`` with
``RENAME_NOREPLACE``), then the parent directories are fsynced.

Another filesystem:

1. copy into ``<destination's parent>/.revaer-staging-<token>/`` (the
   destination's filesystem), hashing the source as it is read;
2. fsync every file and directory of the staging tree;
3. read every staged file back and compare its checksum with the source's;
4. rename the staged payload into place (never replacing) and fsync the parent;
5. remove the source: rename it aside to ``.revaer-removing-<token>`` (atomic,
   so a crash never leaves a half-deleted source at the source path), then
   delete that.

Any failure before step 5 rolls back: the staging directory is removed (and a
payload already renamed into place is taken back out), the source is untouched.
A destination that already exists is never overwritten; when it is
byte-identical to the source the move counts as done (that is also how a move
interrupted between steps 4 and 5 finishes). ``recover`` removes what a crashed
move left behind; running ``move_payload`` again then finishes or redoes it.

Every step calls ``fault(step, path)`` first, so tests can inject errors.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from revaer.errors import RefusedError

log = logging.getLogger(__name__)

STAGING_PREFIX = ".revaer-staging-"
REMOVING_PREFIX = ".revaer-removing-"
CHUNK = 8 * 1024 * 1024
# Start writing back dirty pages every this many bytes, so the final fsync has little left to do.
WRITEBACK_EVERY = 64 * 1024 * 1024

Fault = Callable[[str, Path], None]
Progress = Callable[[int], None]


class MoveError(RefusedError):
    """A move failed at ``step``; the source is intact and nothing is left behind."""

    retryable = True

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step


class DestinationExistsError(MoveError):
    """Something different is already at the destination; it is never overwritten."""

    retryable = False


class SourceMissingError(MoveError):
    """Neither the source nor the destination holds the payload."""


@dataclass(frozen=True, slots=True)
class MoveResult:
    """How the payload got there: ``renamed``, ``copied``, ``identical`` or ``already_moved``."""

    outcome: str
    files: int = 0
    bytes: int = 0


# ---- checksums ----------------------------------------------------------------------------------


class _Hasher(Protocol):
    def update(self, data: bytes | memoryview | bytearray, /) -> None: ...
    def digest(self) -> bytes: ...


def _hash_factory() -> tuple[str, Callable[[], _Hasher]]:
    # xxh3-128 runs at memory speed; SHA-256 (hardware-assisted where available) when it is missing.
    try:
        import xxhash
    except ImportError:  # pragma: no cover - depends on the installation
        import hashlib

        return "sha256", hashlib.sha256
    return "xxh3-128", xxhash.xxh3_128


CHECKSUM, _new_hash = _hash_factory()


# ---- system calls -------------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_SYNC_FILE_RANGE_WRITE = 2
_libc = ctypes.CDLL(None, use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)
if _renameat2 is not None:
    _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    _renameat2.restype = ctypes.c_int
_sync_file_range = getattr(_libc, "sync_file_range", None)
if _sync_file_range is not None:
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    _sync_file_range.restype = ctypes.c_int


def rename_noreplace(src: Path, dst: Path) -> None:
    """Atomic rename that fails with ``FileExistsError`` instead of replacing ``dst``."""
    if _renameat2 is not None:
        rc = _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS):  # EINVAL: the filesystem lacks RENAME_NOREPLACE
            raise OSError(err, os.strerror(err), str(src), None, str(dst))
    # Fallback: check then rename (a race with another writer remains possible here).
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


def _start_writeback(fd: int, offset: int, length: int) -> None:
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- trees --------------------------------------------------------------------------------------


def _walk(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Every entry under ``root`` (itself first), parents before children, without following links."""
    st = root.lstat()
    yield root, st
    if stat.S_ISDIR(st.st_mode):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            base = Path(dirpath)
            for name in sorted(dirnames) + sorted(filenames):
                p = base / name
                yield p, p.lstat()


def _files(root: Path) -> dict[Path, os.stat_result]:
    """Regular files under ``root`` by relative path; refuses links and special files."""
    out: dict[Path, os.stat_result] = {}
    for p, st in _walk(root):
        if stat.S_ISREG(st.st_mode):
            out[p.relative_to(root)] = st
        elif not stat.S_ISDIR(st.st_mode):
            raise MoveError("copy", f"{p} is neither a regular file nor a directory")
    return out


def _same_bytes(a: Path, b: Path) -> bool:
    with a.open("rb", buffering=0) as fa, b.open("rb", buffering=0) as fb:
        while True:
            x = fa.read(CHUNK)
            y = fb.read(CHUNK)
            if x != y:
                return False
            if not x:
                return True


def identical(a: Path, b: Path) -> bool:
    """Same kind, same files (names, sizes, bytes) under both."""
    try:
        if a.is_dir() != b.is_dir():
            return False
        fa, fb = _files(a), _files(b)
    except (OSError, MoveError):
        return False
    if fa.keys() != fb.keys() or any(fa[k].st_size != fb[k].st_size for k in fa):
        return False
    return all(_same_bytes(a / k if k.parts else a, b / k if k.parts else b) for k in fa)


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def staging_dir(destination: Path, token: str) -> Path:
    return destination.parent / f"{STAGING_PREFIX}{token}"


def removing_path(source: Path, token: str) -> Path:
    return source.parent / f"{REMOVING_PREFIX}{token}"


# ---- the move -----------------------------------------------------------------------------------


def _no_fault(step: str, path: Path) -> None:
    return None


def _copy_file(src: Path, dst: Path, progress: Progress | None) -> bytes:
    """Copy one file (never replacing ``dst``), returning the checksum of the source.

    The bytes move inside the kernel (``sendfile``) while a second thread reads
    and hashes the source, so the copy costs about what ``cp`` costs; dirty
    pages are pushed to disk as the copy goes so the final fsync is short.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="revaer-checksum") as pool:
        source_sum = pool.submit(_checksum, src)
        with src.open("rb", buffering=0) as fi, dst.open("xb", buffering=0) as fo:
            inp, out = fi.fileno(), fo.fileno()
            offset = flushed = 0
            while n := os.sendfile(out, inp, offset, CHUNK):
                offset += n
                if offset - flushed >= WRITEBACK_EVERY:
                    _start_writeback(out, flushed, offset - flushed)
                    flushed = offset
                if progress is not None:
                    progress(n)
        digest = source_sum.result()
    shutil.copystat(src, dst)
    return digest


def _checksum(path: Path) -> bytes:
    h = _new_hash()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.digest()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover(source: Path, destination: Path, token: str) -> None:
    """Remove what an interrupted move with ``token`` left: its staging tree and a half-removed source."""
    for leftover in (staging_dir(destination, token), removing_path(source, token)):
        if os.path.lexists(leftover):
            log.info("removing leftover of an interrupted move", extra={"path": str(leftover)})
            _remove_tree(leftover)


def move_payload(
    source: Path,
    destination: Path,
    *,
    token: str,
    fault: Fault | None = None,
    progress: Progress | None = None,
) -> MoveResult:
    """Move ``source`` (a file or folder) to ``destination``; see the module docstring."""
    fault = fault or _no_fault
    recover(source, destination, token)
    src_exists = os.path.lexists(source)
    if os.path.lexists(destination):
        if src_exists and identical(source, destination):
            _remove_source(source, token, fault)
            return MoveResult("identical")
        if not src_exists:
            return MoveResult("already_moved")
        raise DestinationExistsError(
            "check", f"{destination} already exists and differs from {source}; it is never overwritten"
        )
    if not src_exists:
        raise SourceMissingError("check", f"the payload is neither at {source} nor at {destination}")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MoveError("rename", f"cannot create {destination.parent}: {e}") from e
    try:
        fault("rename", destination)
        rename_noreplace(source, destination)
    except OSError as e:
        if e.errno == errno.EEXIST or (e.errno == errno.ENOTEMPTY and os.path.lexists(destination)):
            raise DestinationExistsError("rename", f"{destination} appeared meanwhile") from e
        if e.errno != errno.EXDEV:
            raise MoveError("rename", str(e)) from e
    else:
        for d in {destination.parent, source.parent}:
            with contextlib.suppress(OSError):
                fsync_dir(d)
        return MoveResult("renamed")
    return _copy_across(source, destination, token, fault, progress)


def _copy_across(
    source: Path, destination: Path, token: str, fault: Fault, progress: Progress | None
) -> MoveResult:
    staging = staging_dir(destination, token)
    staged = staging / destination.name
    placed = False
    try:
        sums, total = _stage_copy(source, staging, staged, fault, progress)
        _fsync_staged(staging, staged, fault)
        _verify_staged(source, staged, sums, fault)
        try:
            fault("rename", destination)
            rename_noreplace(staged, destination)
            placed = True
            fsync_dir(destination.parent)
        except OSError as e:
            if not placed and e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise DestinationExistsError("rename", f"{destination} appeared meanwhile") from e
            raise MoveError("rename", str(e)) from e
        _remove_source(source, token, fault)
    except BaseException:
        # Roll back: nothing of ours stays at the destination, the source is as it was.
        if placed and os.path.lexists(source):
            with contextlib.suppress(OSError):
                rename_noreplace(destination, staged)
        with contextlib.suppress(OSError):
            _remove_tree(staging)
        raise
    with contextlib.suppress(OSError):
        staging.rmdir()
    return MoveResult("copied", len(sums), total)


def _stage_copy(
    source: Path, staging: Path, staged: Path, fault: Fault, progress: Progress | None
) -> tuple[dict[Path, bytes], int]:
    """Copy ``source`` to ``staged`` in a new ``staging`` dir: each file's checksum, and the bytes copied."""
    sums: dict[Path, bytes] = {}
    total = 0
    try:
        staging.mkdir()
        fault("copy", source)
        for p, st in _walk(source):
            rel = p.relative_to(source)
            target = staged / rel if rel.parts else staged
            if stat.S_ISDIR(st.st_mode):
                target.mkdir()
            elif stat.S_ISREG(st.st_mode):
                sums[rel] = _copy_file(p, target, progress)
                total += st.st_size
            else:
                raise MoveError("copy", f"{p} is neither a regular file nor a directory")
    except OSError as e:
        raise MoveError("copy", str(e)) from e
    return sums, total


def _fsync_staged(staging: Path, staged: Path, fault: Fault) -> None:
    """Every staged file, then every directory deepest first, on disk before the copy is trusted."""
    try:
        fault("fsync", staged)
        dirs = [staging]
        for p, st in _walk(staged):
            if stat.S_ISDIR(st.st_mode):
                dirs.append(p)
            else:
                _fsync_file(p)
        for d in reversed(dirs):
            fsync_dir(d)
    except OSError as e:
        raise MoveError("fsync", str(e)) from e


def _verify_staged(source: Path, staged: Path, sums: dict[Path, bytes], fault: Fault) -> None:
    """Read the copy back: each file must have the checksum its source had while copied."""
    try:
        fault("verify", staged)
        for rel, want in sums.items():
            got = _checksum(staged / rel if rel.parts else staged)
            if got != want:
                raise MoveError("verify", f"the copy of {source / rel} differs from the source")
    except OSError as e:
        raise MoveError("verify", str(e)) from e


def _remove_source(source: Path, token: str, fault: Fault) -> None:
    aside = removing_path(source, token)
    try:
        fault("remove", source)
        rename_noreplace(source, aside)
    except OSError as e:
        raise MoveError("remove", str(e)) from e
    with contextlib.suppress(OSError):
        fsync_dir(source.parent)
    try:
        _remove_tree(aside)
    except OSError as e:
        # The payload is safe at its destination; the leftover goes at the next recovery.
        log.warning("could not delete the moved source", extra={"path": str(aside), "error": str(e)})
