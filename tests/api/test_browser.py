"""The console in a real browser: Debian's Chromium driven by Playwright against a uvicorn server
on 127.0.0.1. Signs in, opens the incident, approves it, sees the plan applied (live, without a
reload) and rolls it back; screenshots of the main pages go to tests/api/artifacts/."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from console_world import PASSWORD, Console

from twin.domain.alerts import Alert
from twin.domain.incidents import IncidentState
from twin.engine.service import run_once
from twin.store.alerts import save_alerts
from twin.store.db import session_scope
from twin.store.incidents import audit_log, get_incident
from twin.store.routes import get_routes

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
S = IncidentState

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="chromium is not installed and could not be (`make browser`: apt-get install chromium)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(console: Console) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        console.app(poll_seconds=0.5),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def engine_pass(console: Console) -> None:
    """The daemon's next pass, for real: `run_once` on the seed's twin.toml (same database,
    network, playbooks, feed folder) applies what people approved and restores rolled-back routes."""
    run_once(console.seeded.config, base=console.seeded.config.parent)


def plan_of_record(console: Console) -> dict[str, list[str]]:
    """Lanes of each shipment's stored route (the plan of record the engine keeps)."""
    with session_scope(console.db) as session:
        routes = get_routes(session, network_name=console.seeded.network.name)
    return {
        sid: [leg.lane for a in assignments for leg in a.legs]
        for sid, assignments in routes.items()
    }


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_sign_in_review_approve_apply_roll_back(console: Console, server: str) -> None:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(15_000)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
        refused: list[str] = []  # what the Content-Security-Policy blocked (must stay empty)
        page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )

        page.goto(server + "/")
        assert "/login" in page.url
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#count-waiting")
        assert page.text_content("#count-waiting") == "1"
        assert page.text_content("#whoami") == "alice (approver)"
        shot(page, "overview")

        # Open the incident from the overview: why, what, what it costs.
        page.click(f"a[href='/incidents/{console.incident_id}']")
        page.wait_for_selector("#plan-diff")
        assert page.text_content("#playbook") == "avoid-closed-chokepoint"
        assert page.locator("svg.chart line.threshold").count() >= 2
        diff = page.text_content("#plan-diff") or ""
        assert "YTN-RTM-SUEZ" in diff and "YTN-RTM-CAPE" in diff
        shot(page, "incident-proposed")

        # Approve, with a comment and the confirmations.
        page.fill("textarea[name=comment]", "Cape detour accepted")
        page.check("input[name=confirm]")
        page.click("button[value=approve]")
        page.wait_for_selector("#flash")
        assert dialogs and dialogs[-1].startswith("APPROVE " + console.incident_id)
        assert "approved" in (page.text_content("h1") or "")
        with session_scope(console.db) as session:
            assert get_incident(session, id=console.incident_id).state is S.approved

        # The engine's next pass (run_once, as the daemon runs it) applies it; the open page
        # shows it without a reload.
        before = plan_of_record(console)
        assert all("YTN-RTM-SUEZ" in lanes for lanes in before.values()) and set(before) == {
            "S1",
            "S2",
        }
        engine_pass(console)
        with session_scope(console.db) as session:
            assert get_incident(session, id=console.incident_id).state is S.applied
            log = audit_log(session, incident_id=console.incident_id)
        assert [(e.actor, e.to_state) for e in log] == [
            ("system", S.proposed),
            ("alice", S.approved),
            ("system", S.applied),
        ]
        assert log[2].why.endswith("approved by alice")  # the engine applies what alice approved
        applied = plan_of_record(console)
        for shipment in ("S1", "S2"):
            assert "YTN-RTM-CAPE" in applied[shipment] and "YTN-RTM-SUEZ" not in applied[shipment]
        page.wait_for_selector("#audit-live td:text-is('apply')")
        page.wait_for_selector("button[value=rollback]")
        shot(page, "incident-applied")

        # Roll it back from the console.
        page.fill("textarea[name=comment]", "Suez reopened early")
        page.check("input[name=confirm]")
        page.click("button[value=rollback]")
        page.wait_for_selector("#flash")
        assert "rolled back" in (page.text_content("h1") or "")

        # The next pass restores the earlier routes in the plan of record.
        engine_pass(console)
        assert plan_of_record(console) == before
        with session_scope(console.db) as session:
            log = audit_log(session, incident_id=console.incident_id)
            final = get_incident(session, id=console.incident_id)
        assert [(e.actor, e.to_state) for e in log] == [
            ("system", S.proposed),
            ("alice", S.approved),
            ("system", S.applied),
            ("alice", S.rolled_back),
        ]
        assert log[1].why == "Cape detour accepted" and log[3].why.startswith(
            "Suez reopened early; restore"
        )
        assert final.state is S.rolled_back and final.decided_by == "alice"

        # A new alert arrives while the overview is open: the counts move without a reload.
        page.goto(server + "/")
        before = int(page.text_content("#count-critical") or "0")
        now = datetime.now(UTC)
        with session_scope(console.db) as session:
            save_alerts(
                session,
                alerts=[
                    Alert(
                        id="USLAX/customs/live",
                        target="USLAX",
                        dimension="customs",
                        severity="critical",
                        score=0.91,
                        peak=0.91,
                        opened_at=now,
                        updated_at=now,
                        explain="clearance_hours=120",
                    )
                ],
            )
        # A locator assertion, not wait_for_function: that evaluates a string in the page,
        # which the console's CSP (no unsafe-eval) rightly refuses.
        playwright_api.expect(page.locator("#count-critical")).to_have_text(str(before + 1))
        assert page.url.rstrip("/") == server  # still the same page: no navigation happened

        for path, name in (("/map", "map"), ("/alerts", "alerts"), ("/audit", "audit")):
            page.goto(server + path)
            page.wait_for_selector("main h1")
            shot(page, name)
        assert (
            page.locator("#audit td.actor:text-is('alice')").count() == 2
        )  # approved, rolled back
        assert page.locator("#audit td.actor:text-is('system')").count() >= 2  # proposed, applied
        page.goto(server + "/incidents")
        page.select_option("select[name=state]", "applied")  # data-autosubmit, no inline handler
        page.wait_for_url("**/incidents?state=applied")
        page.goto(server + "/api/docs")  # Swagger UI, signed in, under the same CSP
        page.wait_for_selector(".swagger-ui .info .title")
        assert refused == [], refused
        browser.close()
