"""The console's JSON API and forms: who may do what, and refusals that change nothing."""

from __future__ import annotations

import re

import itsdangerous.timed
from console_world import PASSWORD, Console, csrf_of, sign_in
from fastapi.testclient import TestClient

from twin.api.app import create_app
from twin.api.auth import SESSION_COOKIE, Sessions
from twin.domain.incidents import IncidentState
from twin.store.db import session_scope
from twin.store.incidents import audit_log, get_incident

S = IncidentState


def bearer(console: Console, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {console.tokens[name]}"}


def stored(console: Console) -> tuple[IncidentState, int]:
    with session_scope(console.db) as session:
        incident = get_incident(session, id=console.incident_id)
        return incident.state, len(audit_log(session, incident_id=incident.id))


def test_approve_over_the_api_is_audited_under_the_user(console: Console) -> None:
    with TestClient(console.app()) as client:
        response = client.post(
            f"/api/incidents/{console.incident_id}/approve",
            json={"comment": "Cape is fine", "expected_state": "proposed"},
            headers=bearer(console, "alice"),
        )
        assert response.status_code == 200, response.text
        assert response.json()["incident"]["state"] == "approved"
        assert "next pass" in response.json()["message"]
        log = client.get(
            f"/api/audit?incident={console.incident_id}", headers=bearer(console, "vic")
        ).json()
    assert [(e["actor"], e["to_state"], e["why"]) for e in log][-1] == (
        "alice",
        "approved",
        "Cape is fine",
    )


def test_unknown_incident_is_404_on_api_and_page(console: Console, browser_client) -> None:  # type: ignore[no-untyped-def]
    before = stored(console)
    with TestClient(console.app()) as client:
        for method, path in (
            ("get", "/api/incidents/INC-nope"),
            ("get", "/api/incidents/INC-nope/diff"),
            ("post", "/api/incidents/INC-nope/approve"),
        ):
            kwargs = {"json": {}} if method == "post" else {}
            response = getattr(client, method)(path, headers=bearer(console, "alice"), **kwargs)
            assert (
                response.status_code == 404
                and "no incident 'INC-nope'" in response.json()["detail"]
            )
    page = browser_client("alice").get("/incidents/INC-nope")
    assert page.status_code == 404 and "no incident" in page.text
    assert stored(console) == before


def test_approving_twice_is_409_and_changes_nothing(console: Console) -> None:
    with TestClient(console.app()) as client:
        url = f"/api/incidents/{console.incident_id}/approve"
        assert client.post(url, json={}, headers=bearer(console, "alice")).status_code == 200
        after_first = stored(console)
        again = client.post(url, json={"comment": "again"}, headers=bearer(console, "root"))
    assert again.status_code == 409
    assert "cannot go from approved to approved" in again.json()["detail"]
    assert stored(console) == after_first == (S.approved, 2)


def test_a_viewer_may_not_decide(console: Console, browser_client) -> None:  # type: ignore[no-untyped-def]
    before = stored(console)
    with TestClient(console.app()) as client:
        for verb in ("approve", "reject", "rollback"):
            response = client.post(
                f"/api/incidents/{console.incident_id}/{verb}",
                json={},
                headers=bearer(console, "vic"),
            )
            assert response.status_code == 403
            assert "vic is a viewer: only approvers and admins may" in response.json()["detail"]
    viewer = browser_client("vic")
    page = viewer.get(f"/incidents/{console.incident_id}")
    assert (
        "only approvers and admins may decide" in page.text and 'id="decide-form"' not in page.text
    )
    form = viewer.post(
        f"/incidents/{console.incident_id}/decide",
        data={
            "action": "approve",
            "csrf_token": csrf_of(page.text),
            "confirm": "yes",
            "state": "proposed",
        },
    )
    assert form.status_code == 403 and "only approvers and admins" in form.text
    assert stored(console) == before


def test_forms_refuse_a_bad_csrf_token_and_a_stale_page(console: Console, browser_client) -> None:  # type: ignore[no-untyped-def]
    alice = browser_client("alice")
    page = alice.get(f"/incidents/{console.incident_id}").text
    url = f"/incidents/{console.incident_id}/decide"
    fields = {"action": "approve", "confirm": "yes", "state": "proposed", "comment": "ok"}
    before = stored(console)
    for token in ("", "forged-token"):
        bad = alice.post(url, data={**fields, "csrf_token": token})
        assert bad.status_code == 403 and "security token is missing or out of date" in bad.text
    # A cookie-authenticated JSON call needs the token in X-CSRF-Token as well.
    assert alice.post(f"/api{url.replace('/decide', '/approve')}", json={}).status_code == 403
    # Someone else rejected it after the page was rendered: the old form is refused.
    with TestClient(console.app()) as other:
        assert (
            other.post(
                f"/api/incidents/{console.incident_id}/reject",
                json={"comment": "no"},
                headers=bearer(console, "root"),
            ).status_code
            == 200
        )
    after_reject = stored(console)
    stale = alice.post(url, data={**fields, "csrf_token": csrf_of(page)})
    assert stale.status_code == 409
    assert "changed since this page was opened: it is now rejected by root" in stale.text
    assert stored(console) == after_reject == (S.rejected, before[1] + 1)


def test_unconfirmed_form_is_refused(console: Console, browser_client) -> None:  # type: ignore[no-untyped-def]
    alice = browser_client("alice")
    page = alice.get(f"/incidents/{console.incident_id}").text
    response = alice.post(
        f"/incidents/{console.incident_id}/decide",
        data={"action": "approve", "csrf_token": csrf_of(page), "state": "proposed"},
    )
    assert response.status_code == 400 and "confirmation" in response.text
    assert stored(console)[0] is S.proposed


def test_form_approve_then_rollback_only_once_applied(console: Console, browser_client) -> None:  # type: ignore[no-untyped-def]
    alice = browser_client("alice")
    page = alice.get(f"/incidents/{console.incident_id}").text
    assert 'value="rollback"' not in page  # nothing to roll back before it is applied
    done = alice.post(
        f"/incidents/{console.incident_id}/decide",
        data={
            "action": "approve",
            "csrf_token": csrf_of(page),
            "state": "proposed",
            "confirm": "yes",
            "comment": "go",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    early = alice.post(
        f"/api/incidents/{console.incident_id}/rollback",
        json={},
        headers={"X-CSRF-Token": csrf_of(page)},
    )
    assert (
        early.status_code == 409
        and "cannot go from approved to rolled_back" in early.json()["detail"]
    )
    assert stored(console) == (S.approved, 2)


def test_sign_in_and_sessions(console: Console) -> None:
    with TestClient(console.app()) as client:
        assert client.get("/api/incidents").status_code == 401
        assert (
            client.get("/api/incidents", headers={"Authorization": "Bearer nope"}).status_code
            == 401
        )
        assert (
            client.get("/api/incidents", headers={"Authorization": "Basic abc"}).status_code == 401
        )
        page = client.get("/incidents", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/incidents"
        token = csrf_of(client.get("/login").text)
        wrong = client.post(
            "/login", data={"username": "alice", "password": "nope", "csrf_token": token}
        )
        assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
        forged = client.post(
            "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "x"}
        )
        assert forged.status_code == 403
        sign_in(client, "alice")
        assert client.get("/api/me").json() == {"name": "alice", "role": "approver"}
        cookie = client.cookies.get(SESSION_COOKIE)
    sessions = Sessions("test-secret", 8 * 3600)
    assert sessions.read(cookie) is not None
    assert sessions.read(cookie[:-2] + "xx") is None  # tampered
    real = itsdangerous.timed.time.time
    itsdangerous.timed.time.time = lambda: real() + 9 * 3600  # type: ignore[assignment]
    try:
        assert sessions.read(cookie) is None  # expired after 8 h
    finally:
        itsdangerous.timed.time.time = real  # type: ignore[assignment]


def test_acknowledge_an_alert(console: Console) -> None:
    with TestClient(console.app()) as client:
        alerts = client.get("/api/alerts?open=true", headers=bearer(console, "vic")).json()
        assert alerts, "the demo opens alerts"
        alert_id = alerts[0]["id"]
        assert (
            client.post(
                f"/api/alerts/{alert_id}/ack", json={}, headers=bearer(console, "vic")
            ).status_code
            == 403
        )
        made = client.post(
            f"/api/alerts/{alert_id}/ack",
            json={"comment": "on it"},
            headers=bearer(console, "alice"),
        )
        assert made.status_code == 200 and made.json()["by"] == "alice"
        acks = client.get(f"/api/alerts/{alert_id}/acks", headers=bearer(console, "vic")).json()
        assert [(a["by"], a["comment"]) for a in acks] == [("alice", "on it")]
        assert (
            client.post(
                "/api/alerts/nope/ack", json={}, headers=bearer(console, "alice")
            ).status_code
            == 404
        )


def test_pages_render_for_a_viewer(console: Console, browser_client) -> None:  # type: ignore[no-untyped-def]
    vic = browser_client("vic")
    overview = vic.get("/").text
    assert re.search(r'id="count-waiting">1<', overview) and console.incident_id in overview
    incident = vic.get(f"/incidents/{console.incident_id}").text
    assert "avoid-closed-chokepoint" in incident and "YTN-RTM-CAPE" in incident
    assert 'data-threshold="critical"' in incident and 'class="series"' in incident
    network_map = vic.get("/map").text
    assert 'class="livemap"' in network_map and "/map/network.geojson" in network_map
    lanes = {
        f["properties"]["id"]: f
        for f in vic.get("/map/network.geojson").json()["features"]
        if f["properties"]["kind"] == "lane"
    }
    assert lanes["YTN-RTM-SUEZ"]["properties"]["places"].endswith("Suez Canal → Rotterdam")
    assert vic.get("/map/land.geojson").json()["geometry"]["type"] == "MultiPolygon"
    assert "SUEZ" in vic.get("/alerts").text
    assert "propose" in vic.get("/audit").text


def test_incident_list_query_agrees_with_the_domain_summary(console: Console) -> None:
    from twin.api.views import summary
    from twin.store.incidents import list_incidents

    with TestClient(console.app()) as client:
        listed = client.get("/api/incidents", headers=bearer(console, "vic")).json()
        only = client.get("/api/incidents?state=applied", headers=bearer(console, "vic")).json()
    with session_scope(console.db) as session:
        expected = [summary(i).model_dump(mode="json") for i in list_incidents(session)]
    assert listed == expected and listed and only == []


def test_api_docs_page_loads_nothing_from_the_internet(console: Console) -> None:
    import re

    with TestClient(console.app()) as client:
        page = client.get("/api/docs", headers=bearer(console, "vic"))
        assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
        assert "<script>" not in page.text, "no inline script (the CSP forbids it)"
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and not [a for a in assets if "://" in a or a.startswith("//")]
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
        starter = client.get("/static/api-docs.js").text
        assert "SwaggerUIBundle" in starter
        spec = re.search(r'url: "([^"]+)"', starter).group(1)
        assert client.get(spec, headers=bearer(console, "vic")).status_code == 200


def test_api_docs_need_sign_in_unless_opened(console: Console) -> None:
    from twin.domain.settings import ServeSettings

    with TestClient(console.app()) as client:
        assert client.get("/api/openapi.json").status_code == 401
        docs = client.get("/api/docs", follow_redirects=False)
        assert docs.status_code == 303 and docs.headers["location"] == "/login?next=/api/docs"
    with TestClient(console.app(serve=ServeSettings(api_docs_public=True))) as client:
        assert client.get("/api/openapi.json").json()["info"]["title"]
        assert client.get("/api/docs").status_code == 200


def test_quarantined_feed_files_page(console: Console, browser_client) -> None:  # type: ignore[no-untyped-def]
    from twin.store.feed_files import hold_file

    vic = browser_client("vic")
    assert 'class="empty">none<' in vic.get("/feeds").text
    with session_scope(console.db) as session:
        hold_file(
            session,
            feed="nws",
            key="/feeds/<deep>.xml",
            sha256="0" * 64,
            reason="XML nested deeper than 32 elements",
            format="cap",
            size=700060,
        )
    page = vic.get("/feeds").text
    assert "XML nested deeper than 32 elements" in page and "700060" in page
    assert "/feeds/&lt;deep&gt;.xml" in page  # escaped, as everything shown


def test_the_map_works_for_a_network_given_by_path(console: Console) -> None:
    path = console.seeded.config.parent / "network.yaml"  # as the daemon's twin.toml names it
    app = create_app(console.url, secret_key="test-secret", network=str(path))
    with TestClient(app) as client:
        client.cookies.clear()
        headers = bearer(console, "vic")
        assert client.get("/api/network", headers=headers).json()["name"] == "console-demo"
        sign_in(client, "vic")
        page = client.get("/map")
        assert page.status_code == 200 and "Network map: console-demo" in page.text
        features = client.get("/map/network.geojson").json()["features"]
        assert {f["properties"]["id"] for f in features if f["properties"]["kind"] == "lane"} == {
            lane.id for lane in console.seeded.network.lanes
        }
