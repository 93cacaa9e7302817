# VERSION: 1.0
# A search plugin that finds nothing, served locally so the compatibility run needs no internet.
from typing import ClassVar


class therarbg:  # qBittorrent names the class after the file
    url = "http://127.0.0.1"
    name = "therarbg"
    supported_categories: ClassVar[dict[str, str]] = {"all": "0"}

    def search(self, what: str, cat: str = "all") -> None:
        return None
