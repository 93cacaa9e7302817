"""The HTTP APIs: ``/v1`` (native) and ``/api/v2`` (qBittorrent-compatible)."""
