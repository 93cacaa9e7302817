"""Move jobs as an operator sees them: listed (by state, by torrent) and retried.

The worker (``worker.PostProcessor``) runs the ``fs_jobs`` rows; this module only reads them and
puts a ``failed`` (or waiting) job back in line, due now, with its attempts counted from zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revaer.errors import RefusedError, UsageError
from revaer.fsops.events import STATUSES


class JobNotFoundError(UsageError, LookupError):
    """No move job has that id."""


class JobNotRetryableError(RefusedError):
    """The job is moving, done or skipped: there is nothing to retry."""


RETRYABLE = ("failed", "pending")

_SELECT = """
SELECT id, info_hash, status::text AS status, source, destination, category, attempts, last_error,
       extract(epoch FROM next_attempt_at)::float8 AS next_attempt_at,
       extract(epoch FROM created_at)::float8 AS created_at,
       extract(epoch FROM updated_at)::float8 AS updated_at,
       extract(epoch FROM finished_at)::float8 AS finished_at
  FROM revaer_runtime.fs_jobs
"""


def job_json(r: Any) -> dict[str, Any]:
    """A job row as the API shows it (times in POSIX seconds)."""
    status = r["status"]
    return {
        "id": r["id"],
        "info_hash": r["info_hash"],
        "status": status,
        "source": r["source"],
        "destination": r["destination"],
        "category": r["category"],
        "attempts": r["attempts"],
        "error": r["last_error"],
        "next_attempt_at": r["next_attempt_at"] if status == "pending" else None,
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        "finished_at": r["finished_at"],
    }


async def list_jobs(
    pool: Any, *, states: Sequence[str] = (), hashes: Sequence[str] = (), limit: int = 100
) -> list[dict[str, Any]]:
    """The newest jobs first, of the given states and torrents (all when empty)."""
    unknown = sorted(set(states) - set(STATUSES))
    if unknown:
        raise ValueError(f"unknown job state '{unknown[0]}' (known: {', '.join(STATUSES)})")
    rows = await pool.fetch(
        _SELECT
        + """ WHERE (cardinality($1::text[]) = 0 OR status::text = ANY($1::text[]))
                AND (cardinality($2::text[]) = 0 OR info_hash = ANY($2::text[]))
              ORDER BY id DESC LIMIT $3""",
        list(states),
        list(hashes),
        limit,
    )
    return [job_json(r) for r in rows]


async def retry_job(pool: Any, job_id: int) -> dict[str, Any]:
    """Put a failed (or waiting) job back in line, due now; the job as it is then."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(_SELECT + " WHERE id = $1 FOR UPDATE", job_id)
        if row is None:
            raise JobNotFoundError(f"no move job {job_id}")
        if row["status"] not in RETRYABLE:
            raise JobNotRetryableError(
                f"move job {job_id} is {row['status']}: only a failed or waiting job can be retried"
            )
        active = await conn.fetchval(
            """SELECT id FROM revaer_runtime.fs_jobs
                WHERE info_hash = $1 AND id <> $2 AND status IN ('pending', 'moving') LIMIT 1""",
            row["info_hash"],
            job_id,
        )
        if active is not None:
            raise JobNotRetryableError(f"the torrent already has move job {active} in line")
        await conn.execute(
            """UPDATE revaer_runtime.fs_jobs
                  SET status = 'pending', attempts = 0, next_attempt_at = now(), finished_at = NULL,
                      updated_at = now()
                WHERE id = $1""",
            job_id,
        )
        updated = await conn.fetchrow(_SELECT + " WHERE id = $1", job_id)
    return job_json(updated)
