"""The engine boundary and its implementations."""

from revaer.engine.errors import (
    DuplicateTorrentError,
    EngineClosedError,
    EngineError,
    InvalidSettingError,
    InvalidTorrentError,
    TorrentNotFoundError,
)
from revaer.engine.protocol import (
    AddRequest,
    Engine,
    QueueMove,
    TorrentState,
    TorrentSummary,
)

__all__ = [
    "AddRequest",
    "DuplicateTorrentError",
    "Engine",
    "EngineClosedError",
    "EngineError",
    "InvalidSettingError",
    "InvalidTorrentError",
    "QueueMove",
    "TorrentNotFoundError",
    "TorrentState",
    "TorrentSummary",
]
