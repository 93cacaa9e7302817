"""Planner: templates, placeholders, normalization, confinement to the category root."""

from __future__ import annotations

import pytest

from revaer.fsops.planner import category_root, plan

H = "ab" * 20


def test_no_rule_no_plan() -> None:
    assert plan({"tv": "/library/tv/{name}"}, category="movies", name="x", info_hash=H) is None
    assert plan({"tv": "/library/tv/{name}"}, category="", name="x", info_hash=H) is None


@pytest.mark.parametrize(
    ("template", "destination"),
    [
        ("/library/tv/{name}", "/library/tv/Show S01"),
        ("/library/tv", "/library/tv/Show S01"),
        ("/library/tv/", "/library/tv/Show S01"),
        ("/library/{category}/{name}", "/library/tv/Show S01"),
        ("/library/tv/{hash}", f"/library/tv/{H}/Show S01"),
        ("/library//tv/./{name}", "/library/tv/Show S01"),
        ("/library/tv/{category}-{name}", "/library/tv/tv-Show S01/Show S01"),
    ],
)
def test_templates(template: str, destination: str) -> None:
    p = plan({"tv": template}, category="tv", name="Show S01", info_hash=H)
    assert p is not None
    assert p.skip is None
    assert p.destination == destination
    assert p.save_path == destination.rsplit("/", 1)[0]


def test_placeholder_inside_a_name_stays_literal() -> None:
    p = plan({"tv": "/lib/{name}"}, category="tv", name="a{hash}b", info_hash=H)
    assert p is not None
    assert p.destination == "/lib/a{hash}b"


@pytest.mark.parametrize(
    ("template", "name", "category"),
    [
        ("/library/tv/{name}", "..", "tv"),
        ("/library/tv/{name}", "../../etc", "tv"),
        ("/library/tv/{name}", "a/../../b", "tv"),
        ("/library/tv/{name}", "", "tv"),
        ("/library/tv/{name}", "x\x00y", "tv"),
        ("/library/{category}/{name}", "x", ".."),
        ("/library/tv/../../{name}", "x", "tv"),
        ("relative/{name}", "x", "tv"),
    ],
)
def test_escapes_are_skipped_with_a_reason(template: str, name: str, category: str) -> None:
    p = plan({category: template}, category=category, name=name, info_hash=H)
    assert p is not None
    assert p.skipped
    assert p.skip


def test_template_without_placeholder_in_last_part_keeps_root() -> None:
    assert category_root("/library/tv/{name}") == "/library/tv"
    assert category_root("/library/{category}/{name}") == "/library"
    assert category_root("/library/tv") == "/library/tv"
