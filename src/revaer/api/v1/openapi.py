"""``GET /v1/openapi.json``: the OpenAPI 3.1 document of ``/v1`` (a test checks it against the router)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from revaer import __version__
from revaer.api.v1.body import json_response
from revaer.config.schema import patch_schema
from revaer.labels import (
    CATEGORY_RULE,
    MAGNET_PATTERN,
    MAGNET_RULE,
    MAGNET_TOPIC,
    MAX_CATEGORY_LENGTH,
    MAX_MAGNET_LENGTH,
    MAX_PATH_LENGTH,
    MAX_TAG_LENGTH,
)


def _problem(desc: str) -> dict[str, Any]:
    return {
        "description": desc,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _json(desc: str, ref: str | None = None, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    sch = {"$ref": f"#/components/schemas/{ref}"} if ref else (schema or {"type": "object"})
    return {"description": desc, "content": {"application/json": {"schema": sch}}}


# The schemas most properties have (shared objects: the document is never mutated).
_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_NUM: dict[str, Any] = {"type": "number"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_STRINGS: dict[str, Any] = {"type": "array", "items": _STR}
_INT_OR_NULL: dict[str, Any] = {"type": ["integer", "null"]}
_STR_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
_NUM_OR_NULL: dict[str, Any] = {"type": ["number", "null"]}
_JOB_ANSWER: dict[str, Any] = {
    "type": "object",
    "properties": {"job": {"$ref": "#/components/schemas/FsJob"}},
}


# The bounds of revaer.labels, so a value the document allows is one the server can store.
_NO_CONTROL = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
_CATEGORY: dict[str, Any] = {
    "type": "string",
    "maxLength": MAX_CATEGORY_LENGTH,
    "pattern": _NO_CONTROL,
    "description": CATEGORY_RULE,
}
_TAG: dict[str, Any] = {"type": "string", "maxLength": MAX_TAG_LENGTH, "pattern": _NO_CONTROL}
_PATH: dict[str, Any] = {"type": "string", "maxLength": MAX_PATH_LENGTH, "pattern": _NO_CONTROL}
_MAGNET: dict[str, Any] = {
    "type": "string",
    "maxLength": MAX_MAGNET_LENGTH,
    "allOf": [{"pattern": MAGNET_PATTERN}, {"pattern": MAGNET_TOPIC}],
    "description": MAGNET_RULE,
}


def _param(name: str, where: str = "query", schema: dict[str, Any] = _STR) -> dict[str, Any]:
    """An optional parameter (a string unless ``schema`` says otherwise)."""
    return {"name": name, "in": where, "schema": schema}


_HASH_PARAM = {
    "name": "info_hash",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{40}$"},
}
_AUTH_ERRORS = {"401": _problem("missing API key"), "403": _problem("wrong API key")}


def _action(name: str, desc: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": desc,
        "operationId": f"torrent_{name}",
        "parameters": [_HASH_PARAM],
        "responses": {
            "200": _json("done", "Torrent" if name != "remove" else None),
            "400": _problem("not an info-hash"),
            "404": _problem("unknown torrent"),
            "409": _problem("setup required"),
            **_AUTH_ERRORS,
        },
    }
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return {"post": op}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Revaer API", "version": __version__},
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Problem": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": _STR,
                    "title": _STR,
                    "status": _INT,
                    "detail": _STR,
                    "field": _STR,
                },
            },
            "Torrent": {
                "type": "object",
                "properties": {
                    "info_hash": _STR,
                    "info_hash_v2": _STR_OR_NULL,
                    "name": _STR,
                    "state": {
                        "type": "string",
                        "enum": [
                            "queued",
                            "checking",
                            "downloading",
                            "seeding",
                            "paused",
                            "stalled",
                            "error",
                            "completed",
                            "moving",
                        ],
                    },
                    "progress": _NUM,
                    "size": _INT,
                    "total_size": _INT,
                    "done": _INT,
                    "download_rate": _INT,
                    "upload_rate": _INT,
                    "downloaded": _INT,
                    "uploaded": _INT,
                    "ratio": _NUM,
                    "eta": _INT_OR_NULL,
                    "peers": _INT,
                    "seeds": _INT,
                    "category": _STR,
                    "tags": _STRINGS,
                    "save_path": _STR,
                    "added_at": _INT_OR_NULL,
                    "completed_at": _INT_OR_NULL,
                    "paused": _BOOL,
                    "sequential": _BOOL,
                    "has_metadata": _BOOL,
                    "queue_position": _INT,
                    "upload_limit": _INT,
                    "download_limit": _INT,
                    "error": _STR_OR_NULL,
                },
            },
            "FsJob": {
                "type": "object",
                "properties": {
                    "id": _INT,
                    "info_hash": _STR,
                    "status": {"type": "string", "enum": ["pending", "moving", "moved", "failed", "skipped"]},
                    "source": _STR,
                    "destination": _STR,
                    "category": _STR,
                    "attempts": _INT,
                    "error": _STR_OR_NULL,
                    "next_attempt_at": _NUM_OR_NULL,
                    "created_at": _NUM,
                    "updated_at": _NUM,
                    "finished_at": _NUM_OR_NULL,
                },
            },
            "AddMagnet": {
                "type": "object",
                "required": ["magnet"],
                "additionalProperties": False,
                "properties": {
                    "magnet": _MAGNET,
                    "category": _CATEGORY,
                    "tags": {"type": "array", "items": _TAG},
                    "save_path": _PATH,
                    "paused": _BOOL,
                    "sequential": _BOOL,
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/v1/health": {
            "get": {
                "summary": "Liveness and readiness",
                "operationId": "health",
                "security": [],
                "responses": {"200": _json("healthy"), "503": _json("degraded: the database is unreachable")},
            }
        },
        "/v1/setup/apply": {
            "post": {
                "summary": "Claim a new installation with its one-time setup token",
                "operationId": "setup_apply",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["setup_token", "admin_username", "admin_password"],
                                "additionalProperties": False,
                                "properties": {
                                    "setup_token": {"type": "string", "maxLength": 1024},
                                    "admin_username": {
                                        "type": "string",
                                        "pattern": "^[A-Za-z0-9._@-]{1,64}$",
                                    },
                                    "admin_password": {"type": "string", "minLength": 8, "maxLength": 1024},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json("the API key, shown once"),
                    "403": _problem("invalid or used token"),
                    "409": _problem("already set up"),
                    "422": _problem("invalid body"),
                    "429": _problem("too many attempts at once (Retry-After)"),
                },
            }
        },
        "/v1/config": {
            "get": {
                "summary": "The configuration (secrets redacted); ETag for If-Match",
                "operationId": "config_get",
                "responses": {"200": _json("configuration"), **_AUTH_ERRORS},
            },
            "patch": {
                "summary": "Change settings (applied live)",
                "operationId": "config_patch",
                "parameters": [{"name": "If-Match", "in": "header", "required": False, "schema": _STR}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": patch_schema()}},
                },
                "responses": {
                    "200": _json("new configuration"),
                    "409": _problem("setup required"),
                    "412": _problem("changed since read"),
                    "422": _problem("invalid setting"),
                    **_AUTH_ERRORS,
                },
            },
        },
        "/v1/torrents": {
            "get": {
                "summary": "List torrents (filtered, paginated, stable order)",
                "operationId": "torrents_list",
                "parameters": [
                    _param("state"),
                    _param("category"),
                    _param("tag"),
                    _param("q"),
                    _param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                    _param("cursor"),
                ],
                "responses": {
                    "200": _json(
                        "a page of torrents",
                        schema={
                            "type": "object",
                            "properties": {
                                "torrents": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Torrent"},
                                },
                                "next_cursor": _STR_OR_NULL,
                            },
                        },
                    ),
                    "422": _problem("invalid filter"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/v1/torrents/add": {
            "post": {
                "summary": "Add a magnet (JSON) or .torrent files (multipart)",
                "operationId": "torrents_add",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/AddMagnet"}},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "torrents": {
                                        "type": "array",
                                        "items": {"type": "string", "format": "binary"},
                                    },
                                    "category": _CATEGORY,
                                    "tags": {
                                        "type": "string",
                                        "description": "comma-separated",
                                        "maxLength": 10_000,
                                    },
                                    "save_path": _PATH,
                                    "paused": _BOOL,
                                },
                            }
                        },
                    },
                },
                "responses": {
                    "201": _json(
                        "added", schema={"type": "object", "properties": {"info_hashes": {"type": "array"}}}
                    ),
                    "409": _problem("duplicate, or setup required"),
                    "413": _problem("upload too large"),
                    "422": _problem("bad magnet, bad torrent file or save path outside the allowed roots"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/v1/torrents/{info_hash}": {
            "get": {
                "summary": "One torrent with its files and trackers",
                "operationId": "torrent_get",
                "parameters": [_HASH_PARAM],
                "responses": {
                    "200": _json("the torrent", "Torrent"),
                    "400": _problem("not an info-hash"),
                    "404": _problem("unknown torrent"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/v1/torrents/{info_hash}/pause": _action("pause", "Pause (idempotent)"),
        "/v1/torrents/{info_hash}/resume": _action("resume", "Resume (idempotent)"),
        "/v1/torrents/{info_hash}/recheck": _action("recheck", "Verify the data on disk"),
        "/v1/torrents/{info_hash}/reannounce": _action("reannounce", "Announce to trackers now"),
        "/v1/torrents/{info_hash}/remove": _action(
            "remove",
            "Remove, optionally with its data",
            {
                "type": "object",
                "properties": {"with_data": _BOOL},
                "additionalProperties": False,
            },
        ),
        "/v1/torrents/{info_hash}/relocate": {
            "post": {
                "summary": "Plan the move by the category rules in force now and put it in line",
                "operationId": "torrent_relocate",
                "parameters": [_HASH_PARAM],
                "responses": {
                    "202": _json("the job planned (or already in line)", schema=_JOB_ANSWER),
                    "400": _problem("not an info-hash"),
                    "404": _problem("unknown torrent"),
                    "409": _problem("not complete, nothing to move, or setup required"),
                    "422": _problem("no category, or no rule for it"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/v1/fsjobs": {
            "get": {
                "summary": "Move jobs, newest first",
                "operationId": "fsjobs_list",
                "parameters": [
                    _param("state"),
                    _param("hash"),
                    _param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                ],
                "responses": {
                    "200": _json(
                        "jobs",
                        schema={
                            "type": "object",
                            "properties": {
                                "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/FsJob"}}
                            },
                        },
                    ),
                    "422": _problem("invalid filter"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/v1/fsjobs/{job_id}/retry": {
            "post": {
                "summary": "Put a failed (or waiting) job back in line, due now",
                "operationId": "fsjob_retry",
                "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": _INT}],
                "responses": {
                    "202": _json("the job, pending", schema=_JOB_ANSWER),
                    "404": _problem("unknown job"),
                    "409": _problem("moving, moved or skipped; or setup required"),
                    "422": _problem("not a job id"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/v1/events/stream": {
            "get": {
                "summary": "Server-Sent Events (Last-Event-ID honoured)",
                "operationId": "events_stream",
                "parameters": [
                    _param("types"),
                    _param("hash"),
                    _param("Last-Event-ID", "header"),
                ],
                "responses": {
                    "200": {"description": "an event stream", "content": {"text/event-stream": {}}},
                    **_AUTH_ERRORS,
                },
            }
        },
        "/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "security": [],
                "responses": {"200": _json("OpenAPI 3.1")},
            }
        },
    },
}


def _complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Every answer an operation can give besides its own: 400 for a malformed request (or a Host
    that does not name the server) on every route, and 413, 415 and 422 where a body is read."""
    for ops in doc["paths"].values():
        for op in ops.values():
            responses = op["responses"]
            responses.setdefault(
                "400", _problem("malformed request, or a Host that does not name the server")
            )
            if "requestBody" in op:
                responses.setdefault("413", _problem("body too large"))
                responses.setdefault("415", _problem("unsupported content type"))
                responses.setdefault("422", _problem("invalid body"))
    return doc


_complete(DOCUMENT)


async def document(request: web.Request) -> web.Response:
    return json_response(DOCUMENT)
