"""The one rule for a category name and for a tag."""

from __future__ import annotations

import pytest

from revaer.labels import (
    MAX_CATEGORY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TAG_LENGTH,
    normalize_tags,
    split_tags,
    valid_category,
    valid_magnet,
    valid_name,
    valid_path,
    valid_tag,
)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("tv", True),
        ("tv-sonarr", True),
        ("Movies 4K", True),
        ("tv/anime", True),  # a subcategory
        ("a/b/c", True),
        ("séries", True),
        ("..x", True),
        ("x" * MAX_CATEGORY_LENGTH, True),
        ("", False),
        ("x" * (MAX_CATEGORY_LENGTH + 1), False),
        (" spaced", False),
        ("spaced ", False),
        ("/abs", False),
        ("trail/", False),
        ("a//b", False),
        (".", False),
        ("..", False),
        ("../x", False),
        ("a/../b", False),
        ("a/./b", False),
        ("back\\slash", False),
        ("nul\x00", False),
        ("new\nline", False),
        ("tab\there", False),
        ("del\x7f", False),
        ("c1\x85", False),
        ("lone\ud800", False),
    ],
)
def test_category_name_rule(name: str, valid: bool) -> None:
    assert valid_category(name) is valid


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("hd", True),
        ("two words", True),
        ("a/b", True),
        ("", False),
        (" hd", False),
        ("hd ", False),
        ("a,b", False),
        ("nul\x00", False),
        ("bell\x07", False),
        ("lone\udfff", False),
        ("t" * MAX_TAG_LENGTH, True),
        ("t" * (MAX_TAG_LENGTH + 1), False),
    ],
)
def test_tag_rule(tag: str, valid: bool) -> None:
    assert valid_tag(tag) is valid


@pytest.mark.parametrize(
    ("text", "tags"),
    [("", []), ("a", ["a"]), ("a, b", ["a", "b"]), (" a ,, b ,", ["a", "b"]), ("a,a", ["a", "a"])],
)
def test_split_tags(text: str, tags: list[str]) -> None:
    assert split_tags(text) == tags


@pytest.mark.parametrize(
    ("given", "tags"),
    [((), ()), ((" a", "b ", "a", ""), ("a", "b")), (("z", "y", "z"), ("z", "y"))],
)
def test_normalize_tags(given: tuple[str, ...], tags: tuple[str, ...]) -> None:
    assert normalize_tags(given) == tags


def test_name_path_and_magnet_rules() -> None:
    assert valid_name("Ubuntu 24.04 [x64]")
    assert valid_name("n" * MAX_NAME_LENGTH)
    assert not valid_name("")
    assert not valid_name("n" * (MAX_NAME_LENGTH + 1))
    assert not valid_name("a\x00b")
    assert valid_path("/srv/séries/a b")
    assert not valid_path("/srv/a\x1bb")
    assert not valid_path("/srv/\ud800")
    assert valid_magnet("magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=x%00y")  # escaped is text
    assert not valid_magnet("magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=x\x00y")
