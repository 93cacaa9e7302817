"""RSS feeds and auto-download rules (qBittorrent's ``rss/*``): see ``revaer.rss.service``."""

from revaer.rss.rules import Rule
from revaer.rss.service import RssError, RssService
from revaer.rss.settings import RssSettings

__all__ = ["RssError", "RssService", "RssSettings", "Rule"]
