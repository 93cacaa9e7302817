"""Move jobs: ``GET /v1/fsjobs``, ``POST /v1/fsjobs/{id}/retry``, ``POST /v1/torrents/{h}/relocate``."""

from __future__ import annotations

from aiohttp import web

from revaer.api.errors import Problem, unprocessable
from revaer.api.keys import CONFIG, DATABASE, POSTPROCESSOR, TORRENTS
from revaer.api.params import info_hash, parse_int, split_hashes
from revaer.api.v1.body import json_response
from revaer.engine.errors import TorrentNotFoundError
from revaer.fsops.jobs import JobNotFoundError, JobNotRetryableError, list_jobs, retry_job

routes = web.RouteTableDef()
"""This module's part of ``/v1`` (added by ``revaer.api.v1.build_v1``)."""

MAX_JOBS = 1000


@routes.get("/fsjobs")
async def jobs_list(request: web.Request) -> web.Response:
    q = request.query
    states = [s.strip() for s in q.get("state", "").split(",") if s.strip()]
    raw = q.get("hash", "")
    hashes = split_hashes(raw, ",")
    if raw.strip() and not hashes:
        raise unprocessable("hash: expected comma-separated info-hashes (40 hex)", field="hash")
    limit = parse_int(q.get("limit"), default=100, field="limit")
    if not 1 <= limit <= MAX_JOBS:
        raise unprocessable(f"limit: expected 1 to {MAX_JOBS}", field="limit")
    try:
        jobs = await list_jobs(request.config_dict[DATABASE].pool, states=states, hashes=hashes, limit=limit)
    except ValueError as e:
        raise unprocessable(str(e), field="state") from None
    return json_response({"jobs": jobs})


@routes.post("/fsjobs/{job_id}/retry")
async def job_retry(request: web.Request) -> web.Response:
    job_id = parse_int(request.match_info["job_id"], default=None, field="job_id")
    try:
        job = await retry_job(request.config_dict[DATABASE].pool, job_id)
    except JobNotFoundError as e:
        raise Problem(404, "job_not_found", "Move job not found", str(e)) from None
    except JobNotRetryableError as e:
        raise Problem(409, "job_not_retryable", "Nothing to retry", str(e)) from None
    request.config_dict[POSTPROCESSOR].wake()
    return json_response({"job": job}, 202)


@routes.post("/torrents/{info_hash}/relocate")
async def relocate(request: web.Request) -> web.Response:
    """Plan the torrent's move by the rules in force now and put it in line (the worker runs it)."""
    app = request.config_dict
    h = info_hash(request.match_info["info_hash"])
    row = app[TORRENTS].get(h)
    if row is None:
        raise TorrentNotFoundError(f"unknown torrent: {h}")
    if row.progress < 1.0:
        raise Problem(
            409, "not_complete", "Not complete", f"{h} is not complete: only a finished torrent moves"
        )
    category = app[TORRENTS].labels_of(h).category
    if not category:
        raise unprocessable(f"{h} has no category: the rules move torrents by category", "no_rule")
    if category not in app[CONFIG].config.category_rules:
        raise unprocessable(f"category {category!r} has no rule in paths.rules", "no_rule")
    ev = await app[POSTPROCESSOR].enqueue(h, row.name)
    pool = app[DATABASE].pool
    if ev is None:
        active = await list_jobs(pool, states=("pending", "moving"), hashes=(h,), limit=1)
        if active:
            return json_response({"job": active[0]}, 202)
        raise Problem(
            409,
            "nothing_to_move",
            "Nothing to move",
            f"{h} is where its rule puts it, or a job to that destination exists already"
            f" (see GET /v1/fsjobs?hash={h}; retry it with POST /v1/fsjobs/ID/retry)",
        )
    jobs = await list_jobs(pool, hashes=(h,), limit=1)
    return json_response({"job": jobs[0]}, 202)
