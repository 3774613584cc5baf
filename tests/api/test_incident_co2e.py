"""The console's incident page shows the plan's CO2e, in total and per shipment."""

from __future__ import annotations

import re

from console_world import Console


def test_incident_page_shows_co2e(console: Console, browser_client) -> None:  # type: ignore[no-untyped-def]
    page = browser_client("alice").get(f"/incidents/{console.incident_id}")
    assert page.status_code == 200, page.text[:500]
    assert 'id="co2e-plan"' in page.text and "kg CO2e" in page.text
    assert "CO2e Δ (kg)" in page.text
    assert re.search(r'class="num co2e">[+-]\d', page.text)
