"""The JSON API fuzzed from its own OpenAPI document with schemathesis: for every documented
operation, generated requests (valid and invalid paths, queries and bodies, signed in as an
admin) never get a 500, and every response has a documented status, content type and a body
valid against the documented schema. Anonymous calls get the documented 401. On SQLite and on
PostgreSQL (the `console` fixture runs both)."""

from __future__ import annotations

import time
from typing import Any

import schemathesis
from console_world import Console
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

STREAMS = {"/api/events"}  # server-sent events: an endless stream, checked in the browser test
EXAMPLES = 20  # per operation: the whole run stays well under a minute per backend
# A schema-valid body may still break a rule JSON Schema cannot state (a duration such as "6h"
# up to 30 days, matcher labels and patterns, a comment of more than spaces): those get the
# documented 422 with the reason, so "valid data must be accepted" does not apply.
RULES_BEYOND_THE_SCHEMA = [schemathesis.checks.positive_data_acceptance]


def test_the_api_fuzzed_from_its_openapi_document(console: Console) -> None:
    app = console.app()
    headers = {"Authorization": f"Bearer {console.tokens['root']}"}
    # No NUL characters in generated text: the API refuses them in every string with 422
    # before any route (tests/api/test_access.py), which the document does not spell out.
    config = schemathesis.Config.from_dict({"generation": {"allow-x00": False}})
    schema = schemathesis.openapi.from_asgi(
        "/api/openapi.json", app, config=config, headers=headers
    )
    started, checked, calls = time.monotonic(), [], 0
    for found in schema.get_all_operations():
        operation = found.ok()
        if operation.path in STREAMS:
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(headers=headers, excluded_checks=RULES_BEYOND_THE_SCHEMA)

        fuzz()
        checked.append(operation.label)
    assert len(checked) >= 14, f"only {len(checked)} operations documented: {checked}"
    assert calls >= len(checked) * 5, f"only {calls} requests"
    took = time.monotonic() - started
    assert took < 60, f"the fuzzing took {took:.0f}s"


def test_anonymous_calls_get_the_documented_401(console: Console) -> None:
    headers = {"Authorization": f"Bearer {console.tokens['root']}"}
    with TestClient(console.app()) as client:
        doc = client.get("/api/openapi.json", headers=headers).json()
        for path, operations in doc["paths"].items():
            url = (
                path.replace("{incident_id}", console.incident_id)
                .replace("{alert_id}", "A")
                .replace("{silence_id}", "S")
            )
            for method, operation in operations.items():
                answer = client.request(method.upper(), url, json={"comment": "x"})
                assert answer.status_code == 401, (method, path, answer.status_code)
                assert "401" in operation["responses"], (method, path)
