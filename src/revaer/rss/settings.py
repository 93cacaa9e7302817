"""The ``rss`` setting, typed (its keys and defaults are in ``revaer.config.model``)."""

from __future__ import annotations

from dataclasses import dataclass

from revaer.config.model import Config


@dataclass(frozen=True, slots=True)
class RssSettings:
    enabled: bool = False  # feeds refreshed on start, on add and every refresh_interval
    refresh_interval: int = 30  # minutes
    max_articles_per_feed: int = 50
    auto_download: bool = False  # rules add the articles they match
    download_repacks: bool = True  # the smart filter takes a REPACK/PROPER of an episode again
    smart_episode_filters: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> RssSettings:
        v = config.values["rss"]
        return cls(
            enabled=v["enabled"],
            refresh_interval=v["refresh_interval"],
            max_articles_per_feed=v["max_articles_per_feed"],
            auto_download=v["auto_download"],
            download_repacks=v["download_repacks"],
            smart_episode_filters=tuple(v["smart_episode_filters"]),
        )
