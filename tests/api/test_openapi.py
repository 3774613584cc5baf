"""The JSON API against its own OpenAPI document: every documented route answers with a status
it documents and a body matching the documented schema (a hand-written schemathesis-lite)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jsonschema
from console_world import Console
from fastapi.testclient import TestClient

STREAMS = {"/api/events"}  # server-sent events: an endless stream, checked in the browser test


def _check(doc: dict[str, Any], operation: dict[str, Any], response: Any) -> None:
    documented = operation["responses"]
    assert str(response.status_code) in documented, (
        f"{response.request.method} {response.request.url} answered {response.status_code}, "
        f"documented {sorted(documented)}"
    )
    content = documented[str(response.status_code)].get("content", {}).get("application/json")
    if content is None:
        return
    schema = {**content["schema"], "components": doc["components"]}
    jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)


def test_every_documented_route_answers_as_documented(console: Console) -> None:
    headers = {"Authorization": f"Bearer {console.tokens['alice']}"}
    with TestClient(console.app()) as client:
        doc = client.get("/api/openapi.json").json()
        alert_id = client.get("/api/alerts", headers=headers).json()[0]["id"]
        values = {"incident_id": console.incident_id, "alert_id": alert_id}
        samples = {"target": "SUEZ", "incident": console.incident_id}
        checked = 0
        # GETs first, then the decisions (approve before reject/rollback: those then answer 409).
        order = sorted(
            doc["paths"].items(), key=lambda kv: ("post" in kv[1], "approve" not in kv[0], kv[0])
        )
        for path, operations in order:
            if path in STREAMS:
                continue
            for method, operation in operations.items():
                url = path
                for name, value in values.items():
                    url = url.replace("{" + name + "}", quote(value, safe="/"))
                params = {
                    p["name"]: samples[p["name"]]
                    for p in operation.get("parameters", [])
                    if p["in"] == "query" and p.get("required")
                }
                kwargs: dict[str, Any] = {"params": params, "headers": headers}
                if method == "post":
                    kwargs["json"] = {"comment": "openapi check"}
                response = client.request(method.upper(), url, **kwargs)
                assert response.status_code < 500, response.text
                _check(doc, operation, response)
                # The documented refusals: unauthenticated, and an unknown id where there is one.
                anonymous = client.request(
                    method.upper(), url, params=params, json=kwargs.get("json")
                )
                assert anonymous.status_code == 401
                _check(doc, operation, anonymous)
                if "{incident_id}" in path:
                    missing = client.request(
                        method.upper(), path.replace("{incident_id}", "INC-none"), **kwargs
                    )
                    assert missing.status_code == 404
                    _check(doc, operation, missing)
                checked += 1
    assert checked >= 14, f"only {checked} operations documented"
