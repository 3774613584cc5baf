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
        # The decision leads, in the network's currency; routes read as places with mode and
        # days, the lane id on hover.
        with session_scope(console.db) as session:
            proposed = get_incident(session, id=console.incident_id)
        extra = sum(c.new_cost - c.old_cost for c in proposed.diff.changes)
        assert f"+USD {extra:,.0f}" in (page.text_content("#cost-plan") or "")
        assert page.text_content("#cost-nothing") and page.text_content("#cost-net")
        cape = page.locator("#plan-diff .hop[data-lane='YTN-RTM-CAPE']").first
        assert cape.get_attribute("title") == "lane YTN-RTM-CAPE"
        assert cape.text_content() == (
            "Yantian → Strait of Malacca → Cape of Good Hope → Rotterdam, sea 40 d"
        )
        # The map highlights the old route (red, dashed) and the new one (green).
        page.wait_for_selector("#incident-map[data-ready=yes]")
        assert page.get_attribute("#incident-map path[data-lane='YTN-RTM-CAPE']", "stroke") == (
            "#15803d"
        )
        assert page.get_attribute("#incident-map path[data-lane='YTN-RTM-SUEZ']", "stroke") == (
            "#b91c1c"
        )
        shot(page, "incident-proposed")

        # Approve, with a comment and the confirmations.
        page.fill("textarea[name=comment]", "Cape detour accepted")
        page.check("input[name=confirm]")
        page.click("button[value=approve]")
        page.wait_for_selector("#flash")
        assert dialogs and dialogs[-1].startswith("APPROVE " + console.incident_id)
        assert page.text_content("#incident-state") == "approved"
        assert (page.text_content("#flash") or "").startswith("Approved by alice at ")
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
        # The header's state moved with the audit log: no "approved" over an "apply" entry.
        page.wait_for_selector("#incident-state .state-applied")
        # The live refresh kept the map drawn, its routes still highlighted.
        page.wait_for_selector("#incident-map[data-ready=yes]")
        assert page.get_attribute("#incident-map path[data-lane='YTN-RTM-CAPE']", "stroke") == (
            "#15803d"
        )
        shot(page, "incident-applied")

        # Roll it back from the console.
        page.fill("textarea[name=comment]", "Suez reopened early")
        page.check("input[name=confirm]")
        page.click("button[value=rollback]")
        page.wait_for_selector("#flash")
        assert page.text_content("#incident-state") == "rolled back"
        flash = page.text_content("#flash") or ""
        assert "restores 2 shipments to their earlier route (S1, S2)" in flash, flash
        assert "keeps 0 on the new route" in flash

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
            "Suez reopened early; restores 2 shipments"
        )
        assert final.state is S.rolled_back and final.decided_by == "alice"

        # A new alert arrives while the overview is open: the counts move without a reload.
        page.goto(server + "/")
        # The stream is connected (its `hello` seen) before the store changes, so the change
        # below reaches the page as a `change` event.
        page.wait_for_selector("#live-status.on")
        before = int(page.text_content("#count-critical") or "0")
        echoes = page.locator("#affected-critical")
        lanes_before = int((echoes.text_content() or "0").split()[0]) if echoes.count() else 0
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
        # Its lane echoes, inhibited by it, are folded under it: the count counts causes.
        with session_scope(console.db) as session:
            save_alerts(
                session,
                alerts=[
                    Alert(
                        id=f"USLAX-{k}/customs/live",
                        target=f"USLAX-{k}",
                        dimension="customs",
                        severity="critical",
                        score=0.9,
                        peak=0.9,
                        opened_at=now,
                        updated_at=now,
                        kind="lane",
                        inhibited_by="USLAX/customs/live",
                    )
                    for k in range(3)
                ],
            )
        playwright_api.expect(page.locator("#affected-critical")).to_have_text(
            f"{lanes_before + 3} lanes affected"
        )
        assert page.text_content("#count-critical") == str(before + 1)

        for path, name in (("/alerts", "alerts"), ("/audit", "audit")):
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


# Checks run in the page: the page must not scroll sideways, and no two visible labels (chart
# text, map place names) may overlap. Returns what is wrong, in words.
LAYOUT = """() => {
  const problems = [];
  const width = window.innerWidth;
  const page = document.documentElement.scrollWidth;
  if (page > width + 1) {
    const wide = [...document.querySelectorAll("body *")]
      .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest(".scroll, table, .leaflet-container, pre"))
      .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && e.className.baseVal === undefined ? "." + e.className : ""));
    problems.push(`scrolls sideways: ${page}px wide in a ${width}px window (${wide.join(", ")})`);
  }
  const groups = new Map();
  const add = (el, group, what) => {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === "hidden") return;
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push({ r, what });
  };
  document.querySelectorAll("svg text").forEach(t => add(t, t.ownerSVGElement, t.textContent));
  document.querySelectorAll(".leaflet-tooltip.maplabel").forEach(t => add(t, t.closest(".livemap"), t.textContent));
  for (const boxes of groups.values()) {
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].r, b = boxes[j].r;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) problems.push(`labels overlap: "${boxes[i].what}" and "${boxes[j].what}"`);
    }
  }
  return problems;
}"""
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def replay_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real replay report (the short test scenario, three runs), written once for both
    database backends."""
    from twin.files.playbooks import load_playbooks
    from twin.replay.report import write_report
    from twin.replay.run import replay
    from twin.replay.scenario import load_scenario

    root = Path(__file__).resolve().parents[2]
    loaded = load_scenario(root / "tests/replay/data/short-closure.yaml")
    doc = replay(loaded, load_playbooks(root / "playbooks"))
    folder = tmp_path_factory.mktemp("report")
    write_report(doc, None, loaded, folder)
    return folder / "report.html"


def test_every_page_fits_desktop_and_phone(
    console: Console, server: str, replay_report: Path
) -> None:
    report = replay_report
    pages = [
        ("/", "#count-critical"),
        ("/incidents", "main h1"),
        (f"/incidents/{console.incident_id}", "#incident-map[data-ready=yes]"),
        ("/map", "#network-map[data-ready=yes]"),
        ("/alerts", "#alerts"),
        ("/audit", "#audit"),
        ("/api/docs", ".swagger-ui .info .title"),
    ]
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for label, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(20_000)
            errors: list[str] = []
            page.on(
                "console", lambda m, seen=errors: seen.append(m.text) if m.type == "error" else None
            )
            page.on("pageerror", lambda e, seen=errors: seen.append(str(e)))
            page.goto(server + "/login")
            assert page.evaluate(LAYOUT) == [], f"/login at {label} width"
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#count-waiting")
            for path, ready in [*pages, (report.as_uri(), "h1")]:
                page.goto(path if path.startswith("file:") else server + path)
                page.wait_for_selector(ready)
                problems = page.evaluate(LAYOUT)
                if problems or errors:  # the screenshot shows what went wrong
                    name = "report" if path.startswith("file:") else path.strip("/") or "overview"
                    shot(page, f"layout-{label}-{name.replace('/', '-')[:40]}")
                assert problems == [], f"{path} at {label} width ({width}px): {problems}"
                assert errors == [], f"{path} at {label} width: console errors {errors}"
            # The API docs render the OpenAPI 3.1 document (Swagger UI 5), not an error.
            page.goto(server + "/api/docs")
            page.wait_for_selector(".swagger-ui .opblock")
            assert "twin on-call console API" in (page.text_content(".swagger-ui .info") or "")
            assert "Unable to render" not in (page.text_content("body") or "")
            assert page.locator(".swagger-ui .opblock").count() >= 15
            context.close()
        browser.close()
