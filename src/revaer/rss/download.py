"""What a rule's match becomes: a torrent added through ``TorrentService``, committed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from revaer.errors import RevaerError
from revaer.registry import TorrentNotStored
from revaer.rss.rules import Rule
from revaer.torrents import AddOptions, TorrentService

log = logging.getLogger(__name__)

# links -> (magnet, .torrent bytes) for each link that yields a torrent (the add endpoint's fetcher).
Resolve = Callable[[Sequence[str], int], Awaitable[list[tuple[str | None, bytes | None]]]]


class RuleDownloader:
    """Adds the torrent behind an article's link with the rule's category, save path and paused flag."""

    def __init__(
        self,
        torrents: TorrentService,
        resolve: Resolve,
        *,
        max_size: int,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.torrents = torrents
        # Awaited before an add: after a start, the stored torrents are all restored first.
        self.ready = ready
        self.resolve = resolve
        self.max_size = max_size

    async def __call__(self, link: str, rule: Rule) -> None:
        found = await self.resolve([link], self.max_size)
        if not found:
            log.warning(f"Failed to download the torrent of '{link}' (RSS rule '{rule.name}')")
            return
        magnet, blob = found[0]
        options = AddOptions(
            category=rule.category,
            save_path=rule.save_path or None,
            paused=bool(rule.add_paused),
        )
        if self.ready is not None:
            await self.ready()
        try:
            h = self.torrents.add(magnet=magnet, torrent=blob, options=options)
            await self.torrents.commit([h])
        except (RevaerError, TorrentNotStored) as e:
            log.warning(f"Couldn't add the torrent of '{link}' (RSS rule '{rule.name}'): {e}")
            return
        log.info(f"Added new torrent {h} by the RSS rule '{rule.name}'", extra={"category": rule.category})
