"""The one bencode decoder: what an upload check and the FakeEngine read a .torrent with."""

from __future__ import annotations

import hashlib

import pytest

from revaer import bencode
from tests.support.torrents import synthetic_torrent


def test_values() -> None:
    assert bencode.decode(b"d1:ai-3e1:bl4:spamee") == {b"a": -3, b"b": [b"spam"]}


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (b"", "truncated"),
        (b"l", "truncated"),
        (b"i1", "truncated integer"),
        (b"5:ab", "truncated string"),
        (b"5", "truncated string"),
        (b"di1e1:ae", "dictionary key is not a string"),
        (b"x", "not bencoded"),
        (b"i1ei2e", "trailing data"),
    ],
)
def test_malformed_input(bad: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=f"^{says}$"):
        bencode.decode(bad)


def test_nesting_is_bounded() -> None:
    with pytest.raises(ValueError, match="nested too deep"):
        bencode.decode(b"l" * 100 + b"e" * 100)
    assert bencode.decode(b"l" * 10 + b"e" * 10, max_depth=10) == [[[[[[[[[[]]]]]]]]]]


def test_metainfo_span_is_what_the_info_hash_hashes() -> None:
    made = synthetic_torrent("span", size=3 * 16384, piece_length=16384, files=2, trackers=("http://t/a",))
    raw, info, top = bencode.decode_metainfo(made.data)
    assert hashlib.sha1(raw).hexdigest() == made.info_hash
    assert info[b"name"] == b"span"
    assert top[b"announce"] == b"http://t/a"
    with pytest.raises(ValueError, match="info"):
        bencode.decode_metainfo(b"d3:fooi1ee")
