"""Request parameter parsers shared by both APIs."""

from __future__ import annotations

import pytest

from revaer.api.params import (
    InvalidInfoHashError,
    ParamError,
    info_hash,
    is_base32_info_hash,
    is_info_hash,
    parse_bool,
    parse_float,
    parse_hashes,
    parse_int,
    split_hashes,
)

H1 = "ab" * 20
H2 = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("text", "lenient", "strict"),
    [
        ("true", True, True),
        ("TRUE", True, True),
        (" false ", False, False),
        ("1", None, True),
        ("0", None, False),
        ("yes", None, ParamError),
        ("", None, ParamError),
        (None, None, ParamError),
    ],
)
def test_parse_bool(text: str | None, lenient: bool | None, strict: bool | type[Exception]) -> None:
    assert parse_bool(text) is lenient
    if isinstance(strict, bool):
        assert parse_bool(text, strict=True) is strict
    else:
        with pytest.raises(strict):
            parse_bool(text, strict=True)


def test_parse_bool_strict_names_the_field() -> None:
    with pytest.raises(ParamError, match="field 'paused' must be true or false") as e:
        parse_bool("maybe", strict=True, field="paused")
    assert e.value.field == "paused"


@pytest.mark.parametrize(
    ("text", "default", "strict", "expected"),
    [
        ("42", 0, True, 42),
        (" -7 ", 0, True, -7),
        ("", 5, True, 5),
        (None, 5, True, 5),
        ("abc", 0, False, 0),  # qBittorrent's toInt
        ("abc", -2, False, -2),
        ("1.5", 3, False, 3),
        ("abc", 0, True, ParamError),
        ("1.5", 0, True, ParamError),
        ("", None, True, ParamError),  # no default: empty is an error
        ("", None, False, ParamError),
        ("8", None, True, 8),
    ],
)
def test_parse_int(
    text: str | None, default: int | None, strict: bool, expected: int | type[Exception]
) -> None:
    if isinstance(expected, int):
        assert parse_int(text, default=default, strict=strict) == expected
    else:
        with pytest.raises(expected):
            parse_int(text, default=default, strict=strict)


@pytest.mark.parametrize(
    ("text", "strict", "expected"),
    [
        ("2.5", True, 2.5),
        ("1e3", True, 1000.0),
        ("", True, -2.0),
        ("x", False, -2.0),
        ("inf", False, -2.0),
        ("nan", False, -2.0),
        ("x", True, ParamError),
        ("inf", True, ParamError),
        ("-inf", True, ParamError),
        ("nan", True, ParamError),
    ],
)
def test_parse_float(text: str, strict: bool, expected: float | type[Exception]) -> None:
    if isinstance(expected, float):
        assert parse_float(text, default=-2.0, strict=strict) == expected
    else:
        with pytest.raises(expected):
            parse_float(text, default=-2.0, strict=strict)


def test_parse_errors_are_value_errors_and_name_the_field() -> None:
    assert issubclass(ParamError, ValueError)
    with pytest.raises(ParamError, match="field 'limit' must be an integer") as e:
        parse_int("x", field="limit")
    assert e.value.field == "limit"
    with pytest.raises(ParamError, match="'x' must be an integer"):
        parse_int("x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all", None),
        (" all ", None),
        (H1, [H1]),
        (H1.upper(), [H1]),
        (f"{H1}|{H2}|{H1}", [H1, H2]),  # repeats dropped, order kept
        (f"{H1}|xyz| |{H2[:-1]}", [H1]),  # not info-hashes: dropped
        ("", []),
        ("all|" + H1, [H1]),
    ],
)
def test_parse_hashes(text: str, expected: list[str] | None) -> None:
    assert parse_hashes(text) == expected


def test_split_hashes_with_another_separator() -> None:
    assert split_hashes(f"{H1}, {H2.upper()},,bad", ",") == [H1, H2]
    assert split_hashes("all", ",") == []


@pytest.mark.parametrize(
    ("text", "hex40", "base32"),
    [
        (H1, True, False),
        (H1.upper(), True, False),
        (H1[:-1], False, False),
        (H1 + "a", False, False),
        ("g" * 40, False, False),
        ("A" * 32, False, True),
        ("a2b3c4d5e6f7" + "a" * 20, False, True),
        ("1" * 32, False, False),  # base32 has no 0, 1, 8, 9
    ],
)
def test_info_hash_shapes(text: str, hex40: bool, base32: bool) -> None:
    assert is_info_hash(text) is hex40
    assert is_base32_info_hash(text) is base32


def test_info_hash() -> None:
    assert info_hash(H1.upper()) == H1
    assert info_hash(f" {H1} ") == H1
    for bad in ("", "xyz", H1[:-1], H1 + "0"):
        with pytest.raises(InvalidInfoHashError, match="not an info-hash"):
            info_hash(bad)
    assert issubclass(InvalidInfoHashError, ParamError)
