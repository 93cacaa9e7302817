"""The executor on real files: same filesystem, across filesystems, faults at every step, collisions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from revaer.fsops.executor import (
    DestinationExistsError,
    MoveError,
    SourceMissingError,
    move_payload,
    removing_path,
    staging_dir,
)
from tests.fsops.conftest import TwoFilesystems, leftovers, make_payload, snapshot

NAMES = ["plain", "with spaces and ünïcødé 😀"]


@pytest.mark.parametrize("multi", [False, True], ids=["single", "multi"])
@pytest.mark.parametrize("name", NAMES)
def test_same_filesystem_rename(tmp_path: Path, name: str, multi: bool) -> None:
    src = make_payload(tmp_path / "downloads", name, multi=multi)
    before = snapshot(src)
    inode = src.stat().st_ino
    dst = tmp_path / "library" / "tv" / name
    result = move_payload(src, dst, token="1")
    assert result.outcome == "renamed"
    assert not src.exists()
    assert snapshot(dst) == before
    assert dst.stat().st_ino == inode  # a rename, not a copy
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("multi", [False, True], ids=["single", "multi"])
@pytest.mark.parametrize("name", NAMES)
def test_cross_filesystem_copy(two_filesystems: TwoFilesystems, name: str, multi: bool) -> None:
    fs = two_filesystems
    assert fs.a.stat().st_dev != fs.b.stat().st_dev
    src = make_payload(fs.a / "downloads", name, multi=multi)
    before = snapshot(src)
    dst = fs.b / "library" / "tv" / name
    result = move_payload(src, dst, token="7")
    assert result.outcome == "copied"
    assert result.files == len(before)
    assert not src.exists()
    assert snapshot(dst) == before
    assert leftovers(fs.a, fs.b) == []


@pytest.mark.parametrize("step", ["copy", "fsync", "verify", "rename", "remove"])
@pytest.mark.parametrize("multi", [False, True], ids=["single", "multi"])
def test_fault_at_each_step_rolls_back(two_filesystems: TwoFilesystems, step: str, multi: bool) -> None:
    fs = two_filesystems
    src = make_payload(fs.a / "dl", "Show S01 ✓", multi=multi)
    before = snapshot(src)
    dst = fs.b / "lib" / "Show S01 ✓"

    def fault(at: str, path: Path) -> None:
        if at == step:
            raise OSError(5, f"injected EIO at {at}")

    with pytest.raises(MoveError) as info:
        move_payload(src, dst, token="3", fault=fault)
    assert info.value.step == step
    assert snapshot(src) == before  # the source is intact
    assert not dst.exists()
    assert leftovers(fs.a, fs.b) == []
    # The fault cleared: the retry succeeds.
    assert move_payload(src, dst, token="3").outcome == "copied"
    assert snapshot(dst) == before
    assert not src.exists()
    assert leftovers(fs.a, fs.b) == []


def test_corrupted_copy_is_caught_by_verification(two_filesystems: TwoFilesystems) -> None:
    fs = two_filesystems
    src = make_payload(fs.a / "dl", "multi", multi=True)
    before = snapshot(src)
    dst = fs.b / "lib" / "multi"

    def corrupt(at: str, path: Path) -> None:
        if at == "verify":
            victim = path / "a file.bin"
            with victim.open("r+b") as f:
                f.seek(1000)
                b = f.read(1)
                f.seek(1000)
                f.write(bytes([b[0] ^ 0xFF]))

    with pytest.raises(MoveError, match="differs from the source") as info:
        move_payload(src, dst, token="4", fault=corrupt)
    assert info.value.step == "verify"
    assert snapshot(src) == before
    assert not dst.exists()
    assert leftovers(fs.a, fs.b) == []


def test_same_filesystem_rename_fault(tmp_path: Path) -> None:
    src = make_payload(tmp_path / "dl", "x", multi=True)
    before = snapshot(src)
    dst = tmp_path / "lib" / "x"

    def fault(at: str, path: Path) -> None:
        raise PermissionError(13, "injected EACCES")

    with pytest.raises(MoveError):
        move_payload(src, dst, token="1", fault=fault)
    assert snapshot(src) == before
    assert not dst.exists()


@pytest.mark.parametrize("cross", [False, True], ids=["same-fs", "cross-fs"])
def test_destination_collision_never_overwritten(
    tmp_path: Path, two_filesystems: TwoFilesystems, cross: bool
) -> None:
    root = two_filesystems.b if cross else tmp_path
    src = make_payload(two_filesystems.a if cross else tmp_path / "dl", "x", multi=True)
    before = snapshot(src)
    dst = make_payload(root / "lib", "x", multi=True)  # different random content
    theirs = snapshot(dst)
    with pytest.raises(DestinationExistsError, match="never overwritten"):
        move_payload(src, dst, token="1")
    assert snapshot(src) == before
    assert snapshot(dst) == theirs


def test_identical_destination_counts_as_done(two_filesystems: TwoFilesystems) -> None:
    fs = two_filesystems
    src = make_payload(fs.a / "dl", "x", multi=True)
    before = snapshot(src)
    dst = fs.b / "lib" / "x"
    dst.parent.mkdir(parents=True)
    os.system(f"cp -a '{src}' '{dst}'")
    assert move_payload(src, dst, token="1").outcome == "identical"
    assert not src.exists()
    assert snapshot(dst) == before


def test_recovery_from_every_crash_point(two_filesystems: TwoFilesystems) -> None:
    fs = two_filesystems
    src = make_payload(fs.a / "dl", "x", multi=True)
    before = snapshot(src)
    dst = fs.b / "lib" / "x"
    # A crash mid-copy: a half-filled staging tree.
    stage = staging_dir(dst, "9")
    (stage / "x").mkdir(parents=True)
    (stage / "x" / "a file.bin").write_bytes(b"partial")
    # ...and a crash mid-removal of an earlier attempt's source copy.
    aside = removing_path(src, "9")
    aside.mkdir()
    (aside / "junk").write_bytes(b"j")
    assert move_payload(src, dst, token="9").outcome == "copied"
    assert snapshot(dst) == before
    assert leftovers(fs.a, fs.b) == []
    # The move already happened (crash before the job was marked): a no-op.
    assert move_payload(src, dst, token="9").outcome == "already_moved"
    with pytest.raises(SourceMissingError):
        move_payload(src, fs.b / "elsewhere" / "x", token="9")
