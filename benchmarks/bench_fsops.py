"""Post-processing moves: a verified cross-filesystem move of 1 GiB beside ``cp``; same-filesystem renames.

Cross-filesystem: a 1 GiB payload (4 files of 256 MiB) on one filesystem is
moved to another by the executor (copy into staging, fsync, checksum every file
against the source, rename into place, remove the source), and copied with
``cp -r`` in the same run (``cp`` neither fsyncs nor verifies; ``cp`` followed
by ``sync`` is printed too). Target: the move's throughput >= 0.8 of ``cp``'s.
Same filesystem: moving 1 MiB and 1 GiB payloads takes the same time (one
rename). Figures are printed, never asserted:

    .venv/bin/python benchmarks/bench_fsops.py [--size-mib 1024] [--rounds 3]
    .venv/bin/python -m pytest benchmarks/bench_fsops.py -s
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from revaer.fsops.executor import CHECKSUM, move_payload

MIB = 1024 * 1024
_OTHER_FS = ("/dev/shm", "/run/user", "/var/tmp", "/tmp")


def _filesystems() -> tuple[Path, Path]:
    here = Path(tempfile.mkdtemp(prefix="revaer-bench-fsops-", dir=Path(__file__).resolve().parent.parent))
    for c in _OTHER_FS:
        p = Path(c)
        if p.is_dir() and os.access(p, os.W_OK) and p.stat().st_dev != here.stat().st_dev:
            return Path(tempfile.mkdtemp(prefix="revaer-bench-fsops-", dir=p)), here
    shutil.rmtree(here)
    raise RuntimeError(f"no second filesystem among {_OTHER_FS}: cannot measure a cross-filesystem move")


def _payload(root: Path, size: int, files: int = 4) -> Path:
    p = root / "Bench Payload"
    p.mkdir(parents=True)
    each = size // files
    block = os.urandom(MIB)
    for i in range(files):
        with (p / f"part {i}.bin").open("wb") as f:
            for j in range(each // MIB):
                f.write(j.to_bytes(8, "little") + block[8:])
    return p


def _timed(fn: object) -> float:
    assert callable(fn)
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(size_mib: int, rounds: int) -> dict[str, float]:
    src_fs, dst_fs = _filesystems()
    size = size_mib * MIB
    try:
        src = _payload(src_fs, size)
        cp_t, cps_t, mv_t = [], [], []
        for r in range(rounds):
            cp_dst = dst_fs / f"cp-{r}"
            cp_t.append(_timed(lambda d=cp_dst: subprocess.run(["cp", "-r", str(src), str(d)], check=True)))
            shutil.rmtree(cp_dst)
            subprocess.run(["sync"], check=True)
            cps_dst = dst_fs / f"cps-{r}"
            cps_t.append(
                _timed(
                    lambda d=cps_dst: (
                        subprocess.run(["cp", "-r", str(src), str(d)], check=True),
                        subprocess.run(["sync"], check=True),
                    )
                )
            )
            shutil.rmtree(cps_dst)
            subprocess.run(["sync"], check=True)
            dst = dst_fs / f"lib-{r}" / src.name
            mv_t.append(_timed(lambda d=dst, t=f"bench-{r}": move_payload(src, d, token=t)))
            # Back to the source filesystem for the next round (not timed).
            move_payload(dst, src, token=f"back-{r}")
            subprocess.run(["sync"], check=True)
        # Same filesystem: a rename, whatever the size.
        small = dst_fs / "small"
        small.mkdir()
        (small / "f.bin").write_bytes(os.urandom(MIB))
        big = dst_fs / "big"
        big.mkdir()
        shutil.copytree(src, big / "payload")
        same_small = _timed(lambda: move_payload(small, dst_fs / "lib-same" / "small", token="s"))
        same_big = _timed(lambda: move_payload(big / "payload", dst_fs / "lib-same" / "big", token="b"))
    finally:
        shutil.rmtree(src_fs, ignore_errors=True)
        shutil.rmtree(dst_fs, ignore_errors=True)
    mib = size / MIB
    cp_rate = mib / statistics.median(cp_t)
    cps_rate = mib / statistics.median(cps_t)
    mv_rate = mib / statistics.median(mv_t)
    print(
        f"\n[bench] cross-filesystem {mib:.0f} MiB ({src_fs.parent} -> {dst_fs.parent}), checksum {CHECKSUM}"
    )
    print(
        f"[bench]   cp -r              {cp_rate:8.1f} MiB/s  "
        f"(median of {rounds}: {statistics.median(cp_t):.3f} s)"
    )
    print(f"[bench]   cp -r && sync      {cps_rate:8.1f} MiB/s  ({statistics.median(cps_t):.3f} s)")
    print(
        f"[bench]   revaer move        {mv_rate:8.1f} MiB/s  ({statistics.median(mv_t):.3f} s; "
        f"copy+fsync+verify+rename+remove)"
    )
    ratio = mv_rate / cp_rate
    verdict = "within target" if ratio >= 0.8 else "MISSES target"
    print(
        f"[bench]   move / cp = {ratio:.2f}, move / (cp+sync) = {mv_rate / cps_rate:.2f}  "
        f"(target >= 0.8 of cp; {verdict})"
    )
    print(
        f"[bench] same-filesystem move: 1 MiB {same_small * 1e3:.3f} ms, "
        f"{mib:.0f} MiB {same_big * 1e3:.3f} ms"
    )
    return {
        "cp": cp_rate,
        "cp_sync": cps_rate,
        "move": mv_rate,
        "same_small": same_small,
        "same_big": same_big,
    }


def test_fsops_move_throughput() -> None:
    figures = measure(1024, 3)
    assert figures["move"] > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    measure(args.size_mib, args.rounds)


if __name__ == "__main__":
    main()
