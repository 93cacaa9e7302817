"""The OpenAPI document admits no value the server refuses: every ``PATCH /v1/config`` body and
every ``AddMagnet`` magnet it admits is accepted, and samples it refuses are refused.

Bodies are drawn from the document itself (schemathesis' positive mode) and checked against the
config model's own validation (what ``PATCH /v1/config`` runs before it writes: an object value
merged into the current one, then validated and checked); magnets drawn from the document's
pattern go to a real libtorrent engine.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st

from revaer.api.v1.openapi import DOCUMENT
from revaer.config.model import SPECS, ConfigValidationError, check_write, validate
from revaer.config.store import merge_patch
from revaer.config.tls import TlsFilesError
from revaer.engine.errors import DuplicateTorrentError
from revaer.engine.protocol import AddRequest
from revaer.labels import MAGNET_PATTERN, MAGNET_TOPIC, magnet_link
from tests.fuzz.conftest import LONG
from tests.support.engine import loopback_engine


def _operation(operation_id: str) -> Any:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    for result in schema.get_all_operations():
        op = result.ok()  # type: ignore[union-attr]
        if op.definition.raw.get("operationId") == operation_id:
            return op
    raise AssertionError(f"no operation {operation_id}")


def accepted(body: dict[str, Any]) -> None:
    """Raises what the config model would refuse ``body`` with."""
    for key, value in body.items():
        current = validate(key, SPECS[key].default)
        merged = merge_patch(current, value) if isinstance(value, dict) else value
        normalized = validate(key, merged)
        try:
            check_write(key, normalized)
        except TlsFilesError:
            # The one refusal no schema states: certificate files that do not load (said in the
            # setting's description, and refused with the setting named).
            assert key == "server.tls"


@LONG
def test_every_config_patch_the_document_admits_is_accepted() -> None:
    op = _operation("config_patch")

    @settings(settings.get_profile("revaer-fuzz"))
    @given(case=op.as_strategy(schemathesis.GenerationMode.POSITIVE))
    def check(case: Any) -> None:
        accepted(case.body)

    check()
    # The schema's defaults are accepted too.
    accepted({key: schema["default"] for key, schema in op.definition.raw["requestBody"]["content"][
        "application/json"]["schema"]["properties"].items()})  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        {"server.bind": "127.0.0.1:0"},
        {"server.bind": "[::1]:70000"},
        {"server.tls": {"enabled": True}},
        {"engine.limits": {"connections": 0}},
        {"torrent.share_limits": {"ratio": -2}},
        {"torrent.share_limits": {"action": "delete"}},
        {"paths.rules": {"categories": {"tv": "/{name}"}}},
        {"paths.allowed_roots": ["relative"]},
        {"engine.settings": {"alert_mask": 1}},
        {"engine.settings": {"no_such_setting": 1}},
        {"rss": {"smart_episode_filters": ["("]}},
        {"telemetry": {"log_level": "loud"}},
        {"unknown.key": 1},
    ],
)
def test_a_body_the_document_refuses_is_refused(body: dict[str, Any]) -> None:
    schema = DOCUMENT["paths"]["/v1/config"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert not jsonschema_rs.validator_for(schema).is_valid(body)
    with pytest.raises((ConfigValidationError, KeyError)):
        accepted(body)


_MAGNETS = st.from_regex(MAGNET_PATTERN).filter(lambda m: magnet_link(m))


@LONG
def test_every_magnet_the_document_admits_the_engine_takes(tmp_path: Path) -> None:
    schema = DOCUMENT["components"]["schemas"]["AddMagnet"]["properties"]["magnet"]
    assert [p["pattern"] for p in schema["allOf"]] == [MAGNET_PATTERN, MAGNET_TOPIC]
    engine = loopback_engine()
    try:

        @settings(settings.get_profile("revaer-fuzz"))
        @given(link=_MAGNETS)
        def check(link: str) -> None:
            # The engine refuses what it cannot read (raises InvalidTorrentError).
            with contextlib.suppress(DuplicateTorrentError):  # taken before
                engine.add(AddRequest(magnet=link, save_path=str(tmp_path), paused=True))

        check()
        for refused in (
            "magnet:?",
            "magnet:?dn=x",
            "magnet:?xt=urn:btih:123",
            "magnet:?xt=urn:sha1:" + "a" * 64,
        ):
            assert not magnet_link(refused)
    finally:
        engine.shutdown()
