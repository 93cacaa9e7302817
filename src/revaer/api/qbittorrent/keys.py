"""The façade's ``web.AppKey``s."""

from aiohttp import web

from revaer.api.qbittorrent.session import Sessions, WebSession

SESSIONS = web.AppKey("qb_sessions", Sessions)
SESSION = web.RequestKey("qb_session", WebSession)
