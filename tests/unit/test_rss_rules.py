"""The rule matcher: qBittorrent's wildcard, regex, episode filter, ignoreDays and smart filter."""

from __future__ import annotations

import datetime as dt

import pytest

from revaer.config.model import RSS_EPISODE_FILTERS
from revaer.rss.rules import Article, Rule, episode_name

DAY = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def matches(rule: Rule, title: str, date: dt.datetime = DAY, *, repacks: bool = True) -> bool:
    return rule.matches(Article(title, date), RSS_EPISODE_FILTERS, repacks=repacks)


@pytest.mark.parametrize(
    ("must", "title", "expected"),
    [
        ("", "anything", True),
        ("show", "The SHOW S01E01", True),  # case-insensitive
        ("show 1080p", "1080p Show", True),  # every word, any order
        ("show 1080p", "Show 720p", False),
        ("sh?w*p", "show 1080p", True),
        ("movie|show", "Show", True),  # alternatives
        ("movie|", "Show", True),  # an empty alternative matches everything
    ],
)
def test_must_contain_wildcards(must: str, title: str, expected: bool) -> None:
    assert matches(Rule("r", must_contain=must), title) is expected


def test_must_not_contain_and_regex() -> None:
    rule = Rule("r", must_contain="show", must_not_contain="720p|cam")
    assert matches(rule, "Show 1080p")
    assert not matches(rule, "Show 720p")
    assert not matches(rule, "Show CAM")
    rx = Rule("r", use_regex=True, must_contain=r"^show\.s\d+e\d+", must_not_contain=r"(?i)hdtv")
    assert matches(rx, "Show.S01E02.WEB")
    assert not matches(rx, "Show.S01E02.HDTV")
    assert not matches(Rule("r", use_regex=True, must_contain="("), "anything")  # invalid: no match


@pytest.mark.parametrize(
    ("flt", "title", "expected"),
    [
        ("1x2;", "Show S01E02", True),
        ("1x2;", "Show 1x02", True),
        ("1x2;", "Show S01E03", False),
        ("1x2-4;", "Show S01E03", True),
        ("1x2-4;", "Show S01E05", False),
        ("1x8-;", "Show S01E09", True),
        ("1x8-;", "Show S02E01", True),  # later seasons too
        ("1x8-;", "Show S01E07", False),
        ("1x2;5;", "Show S01E05", True),
        ("1x4-2;", "Show S01E03", False),  # a backwards range is ignored
        ("bad", "Show S01E02", False),
    ],
)
def test_episode_filter(flt: str, title: str, expected: bool) -> None:
    assert matches(Rule("r", episode_filter=flt), title) is expected


def test_ignore_days_after_a_match() -> None:
    rule = Rule("r", ignore_days=2).accepted(Article("a", DAY))
    assert rule.last_match == DAY
    assert not matches(rule, "b", DAY + dt.timedelta(days=1))
    assert matches(rule, "b", DAY + dt.timedelta(days=2))


def test_smart_filter_takes_an_episode_once_and_repacks_again() -> None:
    rule = Rule("r", smart_filter=True)
    assert episode_name("Show S01E02 1080p", RSS_EPISODE_FILTERS) == "1x2"
    assert episode_name("News 2026.12.01", RSS_EPISODE_FILTERS) == "2026.12.01"
    assert matches(rule, "Show S01E02 1080p")
    taken = rule.accepted(Article("Show S01E02 1080p", DAY), RSS_EPISODE_FILTERS)
    assert taken.episodes == ("1x2",)
    assert not matches(taken, "Show S01E02 720p")
    assert matches(taken, "Show S01E02 REPACK")
    assert not matches(taken, "Show S01E02 PROPER", repacks=False)
    assert matches(taken, "Show S01E03")
    assert matches(taken, "No episode here")


def test_json_round_trip_and_wrong_types() -> None:
    obj = {
        "enabled": True,
        "useRegex": False,
        "mustContain": "a",
        "mustNotContain": "b",
        "episodeFilter": "1x1;",
        "affectedFeeds": ["http://x/feed"],
        "savePath": "/data/tv",
        "assignedCategory": "tv",
        "lastMatch": "Tue, 01 Dec 2026 00:00:00 +0000",
        "ignoreDays": 3,
        "addPaused": False,
        "smartFilter": True,
        "previouslyMatchedEpisodes": ["1x1"],
        "torrentContentLayout": "Subfolder",
    }
    rule = Rule.from_json("r", obj)
    assert rule.to_json() == obj
    assert Rule.from_json("r", {"affectedFeeds": "http://one"}).feeds == ("http://one",)
    odd = Rule.from_json("r", {"enabled": "yes", "ignoreDays": "3", "addPaused": 1, "lastMatch": "never"})
    assert odd.enabled is True
    assert odd.ignore_days == 0
    assert odd.add_paused is None
    assert odd.last_match is None
