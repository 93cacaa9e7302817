"""Auto-download rules: qBittorrent's rule object, and whether an article matches it.

A rule's fields are qBittorrent's (``rss/setRule``'s ``ruleDef``): ``mustContain`` and
``mustNotContain`` (wildcards, or one regular expression each with ``useRegex``; ``|`` separates
alternatives), ``episodeFilter`` (``1x2;8-15;20-``), ``affectedFeeds`` (feed URLs),
``assignedCategory``, ``savePath``, ``addPaused`` (null: the default), ``ignoreDays`` (no match
within that many days of the last one), ``smartFilter`` (an episode is taken once; a REPACK or
PROPER again if the settings say so), with ``lastMatch`` and ``previouslyMatchedEpisodes`` kept
as the rule runs. Matching is case-insensitive, as in qBittorrent.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

Json = Any

_WHITESPACE = re.compile(r"\s+")
_EPISODE_FILTER = re.compile(r"^(\d{1,4})x(.*;)$")
_SEASON_EPISODE = re.compile(r"\bs0?(\d{1,4})[ -_.]?e(0?\d{1,4})(?:\D|\b)", re.IGNORECASE)
_CROSS_EPISODE = re.compile(r"\b(\d{1,4})x(0?\d{1,4})(?:\D|\b)", re.IGNORECASE)
MAX_EPISODES = 10_000  # previouslyMatchedEpisodes kept per rule
CONTENT_LAYOUTS = ("Original", "Subfolder", "NoSubfolder")


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str, regex: bool) -> re.Pattern[str] | None:
    """A case-insensitive pattern; a wildcard (``*``, ``?``) becomes a regex. None when invalid."""
    if not regex:
        pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error:
        return None


def _date_text(d: dt.datetime | None) -> str:
    return "" if d is None else email.utils.format_datetime(d)


def _parse_date(text: Json) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        d = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def _strings(v: Json) -> list[str]:
    if isinstance(v, str):
        return [v] if v else []
    if isinstance(v, list):
        return [x for x in v if isinstance(x, str) and x]
    return []


def _int(v: Json) -> int:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0


@dataclass(frozen=True, slots=True)
class Rule:
    """One auto-download rule (immutable; ``accepted`` gives the rule after a match)."""

    name: str
    enabled: bool = True
    use_regex: bool = False
    must_contain: str = ""
    must_not_contain: str = ""
    episode_filter: str = ""
    feeds: tuple[str, ...] = ()
    save_path: str = ""
    category: str = ""
    add_paused: bool | None = None
    last_match: dt.datetime | None = None
    ignore_days: int = 0
    smart_filter: bool = False
    episodes: tuple[str, ...] = field(default=())
    # qBittorrent's content layout for the add (Original, Subfolder, NoSubfolder); None: the default.
    content_layout: str | None = None

    @classmethod
    def from_json(cls, name: str, obj: Mapping[str, Json]) -> Rule:
        """A rule from qBittorrent's object; fields of the wrong type take their defaults, as there."""

        def text(key: str) -> str:
            v = obj.get(key)
            return v if isinstance(v, str) else ""

        def flag(key: str, default: bool) -> bool:
            v = obj.get(key)
            return v if isinstance(v, bool) else default

        paused = obj.get("addPaused")
        layout = obj.get("torrentContentLayout")
        return cls(
            name=name,
            enabled=flag("enabled", True),
            use_regex=flag("useRegex", False),
            must_contain=text("mustContain"),
            must_not_contain=text("mustNotContain"),
            episode_filter=text("episodeFilter"),
            feeds=tuple(_strings(obj.get("affectedFeeds"))),
            save_path=text("savePath"),
            category=text("assignedCategory"),
            add_paused=paused if isinstance(paused, bool) else None,
            last_match=_parse_date(obj.get("lastMatch")),
            ignore_days=max(0, _int(obj.get("ignoreDays"))),
            smart_filter=flag("smartFilter", False),
            episodes=tuple(_strings(obj.get("previouslyMatchedEpisodes"))[-MAX_EPISODES:]),
            content_layout=layout if layout in CONTENT_LAYOUTS else None,
        )

    def to_json(self) -> dict[str, Json]:
        """qBittorrent's object for ``rss/rules``."""
        return {
            "enabled": self.enabled,
            "useRegex": self.use_regex,
            "mustContain": self.must_contain,
            "mustNotContain": self.must_not_contain,
            "episodeFilter": self.episode_filter,
            "affectedFeeds": list(self.feeds),
            "savePath": self.save_path,
            "assignedCategory": self.category,
            "lastMatch": _date_text(self.last_match),
            "ignoreDays": self.ignore_days,
            "addPaused": self.add_paused,
            "smartFilter": self.smart_filter,
            "previouslyMatchedEpisodes": list(self.episodes),
            "torrentContentLayout": self.content_layout,
        }

    def renamed(self, name: str) -> Rule:
        return replace(self, name=name)

    # ---- matching ---------------------------------------------------------------------------------
    def _expressions(self, tokens: str) -> list[str]:
        if not tokens:
            return []
        return [tokens] if self.use_regex else [t for t in tokens.split("|")]

    def _matches_expression(self, title: str, expression: str) -> bool:
        if not expression:
            return True  # "a|" matches everything, as a regex would
        if self.use_regex:
            rx = _compiled(expression, True)
            return rx is not None and rx.search(title) is not None
        # Every whitespace-separated wildcard must be found, in any order.
        for token in _WHITESPACE.split(expression.strip()):
            rx = _compiled(token, False)
            if token and (rx is None or rx.search(title) is None):
                return False
        return True

    def _must_contain(self, title: str) -> bool:
        exprs = self._expressions(self.must_contain)
        return not exprs or any(self._matches_expression(title, e) for e in exprs)

    def _must_not_contain(self, title: str) -> bool:
        exprs = self._expressions(self.must_not_contain)
        return not exprs or not any(self._matches_expression(title, e) for e in exprs)

    def _episode(self, title: str) -> bool:
        if not self.episode_filter:
            return True
        m = _EPISODE_FILTER.match(self.episode_filter)
        if m is None:
            return False
        season = int(m.group(1))
        return any(_episode_matches(title, season, ep) for ep in m.group(2).split(";") if ep)

    def matches(
        self, article: Article, episode_patterns: Sequence[str] = (), *, repacks: bool = True
    ) -> bool:
        """Whether the rule takes ``article`` (its title, and its date against ``ignoreDays``)."""
        last, days = self.last_match, self.ignore_days
        if days > 0 and last is not None and article.date < last + dt.timedelta(days=days):
            return False
        title = article.title
        if not (self._must_contain(title) and self._must_not_contain(title) and self._episode(title)):
            return False
        if not self.smart_filter:
            return True
        episode = episode_name(title, episode_patterns)
        if not episode or episode not in self.episodes:
            return True
        return repacks and re.search("REPACK|PROPER", title, re.IGNORECASE) is not None

    def accepted(self, article: Article, episode_patterns: Sequence[str] = ()) -> Rule:
        """The rule after it took ``article``: its last match and, with the smart filter, the episode."""
        episodes = self.episodes
        if self.smart_filter:
            episode = episode_name(article.title, episode_patterns)
            if episode and episode not in episodes:
                episodes = (*episodes, episode)[-MAX_EPISODES:]
        return replace(self, last_match=article.date, episodes=episodes)


def _episode_matches(title: str, season: int, episode: str) -> bool:
    episode = episode.lstrip("0") or "0" if episode[:1] == "0" else episode
    if "-" not in episode:
        if not episode.isdigit():
            return False
        rx = _compiled(rf"\b(?:s0?{season}[ -_.]?e0?{episode}|{season}x0?{episode})(?:\D|\b)", True)
        return rx is not None and rx.search(title) is not None
    m = _SEASON_EPISODE.search(title) or _CROSS_EPISODE.search(title)
    if m is None:
        return False
    theirs_season, theirs_episode = int(m.group(1)), int(m.group(2))
    first, _, last = episode.partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        return False
    if not last:  # "8-": from episode 8 on, and every later season
        return (theirs_season == season and theirs_episode >= int(first)) or theirs_season > season
    if int(first) > int(last):
        return False
    return theirs_season == season and int(first) <= theirs_episode <= int(last)


def episode_name(title: str, patterns: Sequence[str]) -> str:
    """The episode a title names (``1x2``, or a date), by the smart episode filters; "" if none."""
    if not patterns:
        return ""
    rx = _compiled("|".join(f"(?:{p})" for p in patterns), True)
    m = rx.search(title) if rx is not None else None
    if m is None:
        return ""
    parts = [str(int(g)) if g.isdigit() else g for g in m.groups() if g]
    return "x".join(parts)


@dataclass(frozen=True, slots=True)
class Article:
    """What a rule looks at: the article's title and date."""

    title: str
    date: dt.datetime


def rules_for_feed(rules: Iterable[Rule], url: str) -> list[Rule]:
    """The enabled rules that watch the feed at ``url``."""
    return [r for r in rules if r.enabled and url in r.feeds]
