"""Bus events of the post-processing worker, streamed over SSE as ``fsjob.<status>``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATUSES = ("pending", "moving", "moved", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class FsJobEvent:
    """A job changed status. ``error`` is the last error (for ``pending``: the one being retried)."""

    status: str
    job_id: int
    info_hash: str
    source: str
    destination: str
    attempts: int = 0
    error: str | None = None
    retry_at: float | None = None  # POSIX time of the next attempt, for a retry

    def sse(self) -> tuple[str, dict[str, Any]]:
        """The SSE event name and payload."""
        payload: dict[str, Any] = {
            "id": self.job_id,
            "info_hash": self.info_hash,
            "status": self.status,
            "source": self.source,
            "destination": self.destination,
            "attempts": self.attempts,
        }
        if self.error is not None:
            payload["error"] = self.error
        if self.retry_at is not None:
            payload["retry_at"] = self.retry_at
        return f"fsjob.{self.status}", payload
