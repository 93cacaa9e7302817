"""Path policy: confinement to the roots, and a category rule's root."""

from __future__ import annotations

from pathlib import Path

import pytest

from revaer.paths import PathNotAllowedError, category_root, category_roots, confine, normalize

ROOTS = [Path("/data"), Path("/library/tv")]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/data", "/data"),  # a root itself
        ("/data/", "/data"),
        ("/data/movies", "/data/movies"),
        ("/data/./movies//x/", "/data/movies/x"),
        ("/data/a/../b", "/data/b"),  # '..' that stays inside
        ("/data/a/..", "/data"),
        ("//data/x", "/data/x"),  # two leading slashes are one on Linux
        ("///data", "/data"),
        ("/library/tv/Show", "/library/tv/Show"),
        ("/data/..hidden", "/data/..hidden"),  # a name starting with dots is not '..'
    ],
)
def test_confine_accepts_paths_inside_a_root(path: str, expected: str) -> None:
    assert confine(path, ROOTS) == expected


@pytest.mark.parametrize(
    "path",
    [
        "",
        "relative/dir",
        "data/x",
        "./data",
        "../data",
        "/",
        "/etc",
        "/data/../etc",  # '..' escapes
        "/data/../../data/../etc",
        "/library/tv/../movies",
        "/database",  # a prefix of the text, not a child of the root
        "/data-old/x",
        "/library/tvshows",
        "/library",  # the parent of a root
        "/data/\x00x",
        "\x00",
    ],
)
def test_confine_refuses_paths_outside_every_root(path: str) -> None:
    with pytest.raises(PathNotAllowedError):
        confine(path, ROOTS)


def test_confine_is_lexical_and_needs_a_root() -> None:
    # Nothing is looked up on disk: a path that does not exist is judged the same.
    assert confine("/data/not/there/yet", ROOTS) == "/data/not/there/yet"
    with pytest.raises(PathNotAllowedError, match="none configured"):
        confine("/data", [])
    # Roots are normalized too.
    assert confine("/srv/x", [Path("/srv/./")]) == "/srv/x"
    assert issubclass(PathNotAllowedError, ValueError)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/a//b/", "/a/b"), ("//a", "/a"), ("/a/./b/../c", "/a/c"), ("/", "/"), ("/..", "/")],
)
def test_normalize(path: str, expected: str) -> None:
    assert normalize(path) == expected


@pytest.mark.parametrize(
    ("template", "root"),
    [
        ("/library/tv/{name}", "/library/tv"),
        ("/library/{category}/{name}", "/library"),
        ("/library/tv", "/library/tv"),
        ("/library/tv/", "/library/tv"),
        ("/library/tv-{name}", "/library"),  # a component with a placeholder is not part of the root
        ("/library/tv/{hash}/x", "/library/tv"),
        ("/{name}", "/"),
        ("/library//tv/./{name}", "/library/tv"),
    ],
)
def test_category_root(template: str, root: str) -> None:
    assert category_root(template) == root


def test_category_roots_once_each_in_order() -> None:
    templates = ["/library/tv/{name}", "/library/movies/{name}", "/library/tv/{hash}"]
    assert category_roots(templates) == [Path("/library/tv"), Path("/library/movies")]
    assert category_roots([]) == []
