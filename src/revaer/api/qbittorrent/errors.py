"""qBittorrent's error dialect: plain text bodies with its status codes."""

from __future__ import annotations

from aiohttp import web

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "X-XSS-Protection": "1; mode=block",
    "Referrer-Policy": "same-origin",
}


class QbError(Exception):
    """Answered as ``status`` with the plain-text ``text``."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text

    def response(self) -> web.Response:
        return text_response(self.text, self.status)


def text_response(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/plain", charset="UTF-8", headers=HEADERS)


def bad_request(text: str = "Bad Request") -> QbError:
    return QbError(400, text)


FORBIDDEN = QbError(403, "Forbidden")
NOT_FOUND = QbError(404, "Not Found")
