"""Silences from the console: the API (201/403/422/404/409) and the alert page's form (CSRF)."""

from __future__ import annotations

from datetime import datetime, timedelta

from console_world import Console, csrf_of
from fastapi.testclient import TestClient

from twin.store.alerts import list_silences
from twin.store.db import session_scope


def bearer(console: Console, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {console.tokens[name]}"}


def silences(console: Console) -> list:  # type: ignore[type-arg]
    with session_scope(console.db) as session:
        return list_silences(session)


def test_silence_over_the_api_then_expire(console: Console) -> None:
    with TestClient(console.app()) as client:
        made = client.post(
            "/api/silences",
            headers=bearer(console, "alice"),
            json={
                "matchers": {"target": "SUEZ", "dimension": "security"},
                "duration": "6h",
                "comment": "known closure, rerouted",
            },
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["created_by"] == "alice" and body["matchers"] == {
            "target": "SUEZ",
            "dimension": "security",
        }
        span = datetime.fromisoformat(body["ends_at"]) - datetime.fromisoformat(body["starts_at"])
        assert span == timedelta(hours=6)
        active = client.get("/api/silences?active=true", headers=bearer(console, "vic")).json()
        assert [s["id"] for s in active] == [body["id"]]
        # Viewers may not end it; admins may, once.
        url = f"/api/silences/{body['id']}/expire"
        assert client.post(url, json={}, headers=bearer(console, "vic")).status_code == 403
        ended = client.post(url, json={"comment": "Suez open"}, headers=bearer(console, "root"))
        assert ended.status_code == 200, ended.text
        assert (
            "expired by root" in ended.json()["comment"] and "Suez open" in ended.json()["comment"]
        )
        assert client.get("/api/silences?active=true", headers=bearer(console, "vic")).json() == []
        assert client.post(url, json={}, headers=bearer(console, "root")).status_code == 409
        assert (
            client.post(
                "/api/silences/s-nope/expire", json={}, headers=bearer(console, "root")
            ).status_code
            == 404
        )
    [stored] = silences(console)
    assert stored.created_by == "alice" and stored.comment.startswith(
        "known closure, rerouted; expired by root"
    )


def test_a_viewer_may_not_silence(console: Console) -> None:
    with TestClient(console.app()) as client:
        refused = client.post(
            "/api/silences",
            headers=bearer(console, "vic"),
            json={"matchers": {"target": "SUEZ"}, "duration": "1h", "comment": "quiet"},
        )
    assert (
        refused.status_code == 403
        and "only approvers and admins may silence" in refused.json()["detail"]
    )
    assert silences(console) == []


def test_bad_silences_are_422_and_store_nothing(console: Console) -> None:
    bad = [
        {"matchers": {}, "duration": "1h", "comment": "x"},  # matches everything
        {"matchers": {"colour": "red"}, "duration": "1h", "comment": "x"},  # unknown label
        {"matchers": {"target": ""}, "duration": "1h", "comment": "x"},  # empty value
        {"matchers": {"target": "SUEZ"}, "duration": "soon", "comment": "x"},  # not a duration
        {"matchers": {"target": "SUEZ"}, "duration": "90d", "comment": "x"},  # too long
        {"matchers": {"target": "SUEZ"}, "duration": "1h", "comment": "   "},  # no reason
        {"matchers": {"target": "SUEZ"}, "duration": "1h"},  # no comment at all
    ]
    with TestClient(console.app()) as client:
        for body in bad:
            response = client.post("/api/silences", json=body, headers=bearer(console, "alice"))
            assert response.status_code == 422, (body, response.text)
        for pattern in ("~(", "~(a)\\1"):  # not a regex; a backreference (RE2 has none)
            body = {"matchers": {"target": ["SUEZ", pattern]}, "duration": "1h", "comment": "x"}
            response = client.post("/api/silences", json=body, headers=bearer(console, "alice"))
            assert response.status_code == 422, (body, response.text)
            reasons = " ".join(str(d.get("msg")) for d in response.json()["detail"])
            assert f"target: {pattern}: not a regular expression" in reasons
        slow = {"matchers": {"target": "~(.*)*(.*)*(.*)*z"}, "duration": "1h", "comment": "x"}
        assert (
            client.post("/api/silences", json=slow, headers=bearer(console, "alice")).status_code
            == 201
        )
    assert [s.matchers for s in silences(console)] == [{"target": "~(.*)*(.*)*(.*)*z"}]


def test_silence_form_on_the_alert_page(console: Console, browser_client) -> None:  # type: ignore[no-untyped-def]
    alice = browser_client("alice")
    page = alice.get("/alerts").text
    assert 'id="silence-form"' in page
    fields = {"target": "SUEZ", "dimension": "security", "duration": "2h", "comment": "on it"}
    forged = alice.post("/alerts/silences", data={**fields, "csrf_token": "forged"})
    assert forged.status_code == 403 and silences(console) == []
    invalid = alice.post(
        "/alerts/silences", data={**fields, "duration": "whenever", "csrf_token": csrf_of(page)}
    )
    assert (
        invalid.status_code == 422
        and "the silence was not made" in invalid.text
        and silences(console) == []
    )
    done = alice.post(
        "/alerts/silences", data={**fields, "csrf_token": csrf_of(page)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/alerts"
    [made] = silences(console)
    assert (made.created_by, made.matchers, made.comment) == (
        "alice",
        {"target": "SUEZ", "dimension": "security"},
        "on it",
    )
    page = alice.get("/alerts").text
    assert f'data-silence="{made.id}"' in page and f"/alerts/silences/{made.id}/expire" in page
    expired = alice.post(
        f"/alerts/silences/{made.id}/expire",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert expired.status_code == 303
    [ended] = silences(console)
    assert "expired by alice" in ended.comment
    viewer = browser_client("vic")
    assert 'id="silence-form"' not in viewer.get("/alerts").text
    assert (
        viewer.post(
            "/alerts/silences", data={**fields, "csrf_token": csrf_of(viewer.get("/alerts").text)}
        ).status_code
        == 403
    )
