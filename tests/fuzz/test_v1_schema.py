"""Schemathesis over the live ``/v1/openapi.json``: no 5xx, every answer one the document lists,
and a refused request changed nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import requests
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import LONG, Live
from tests.fuzz.state import fingerprint

# Kept apart: a stream never ends, and a remove or a config change is not a refusal to check.
SKIP = {"events_stream"}


def check_operation(live: Live, http: requests.Session, op: Any) -> str | None:
    """Fuzz one operation; the first failure, if any."""
    documented = op.definition.raw.get("responses", {})
    both = st.one_of(
        op.as_strategy(schemathesis.GenerationMode.POSITIVE),
        op.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )
    state: dict[str, Any] = {"before": fingerprint(http, live.url, live.auth)}

    @settings(settings.get_profile("revaer-fuzz"))
    @given(case=both)
    def check(case: Any) -> None:
        resp = case.call(base_url=live.url, session=http, headers=live.auth, timeout=30)
        where = f"{case.method} {case.formatted_path} -> {resp.status_code}: {resp.text[:200]}"
        assert resp.status_code < 500, where
        assert str(resp.status_code) in documented, f"undocumented answer: {where}"
        after = fingerprint(http, live.url, live.auth)
        if resp.status_code >= 400:
            assert after == state["before"], f"a refusal changed the state: {where}"
        state["before"] = after

    try:
        check()
    except Exception as e:  # a failure, or hypothesis saying it could not reproduce one
        first = e.exceptions[0] if isinstance(e, ExceptionGroup) and e.exceptions else e
        return f"{op.label}: {type(first).__name__}: {(str(first).splitlines() or [''])[0]}"
    return None


def run_schema(live: Live) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{live.url}/v1/openapi.json")
    http = requests.Session()
    problems: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()  # type: ignore[union-attr]
        if op.definition.raw.get("operationId") not in SKIP:
            problem = check_operation(live, http, op)
            if problem is not None:
                problems.append(problem)
    return problems


@LONG
async def test_v1_schema_fuzz(live: Live) -> None:
    problems = await asyncio.to_thread(run_schema, live)
    assert not problems, "\n".join(problems)
