"""Revaer: a torrent daemon with a compiled libtorrent core."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("revaer")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]
