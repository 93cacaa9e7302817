"""The one rule for a category name and for a tag."""

from __future__ import annotations

import pytest

from revaer.labels import MAX_CATEGORY_LENGTH, normalize_tags, split_tags, valid_category, valid_tag


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
