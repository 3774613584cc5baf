"""Replay reports: one self-contained `report.html` (charts inline as PNG) and a `report.md`.

The report shows the scenario's signals, the engine's scores with the alert thresholds drawn,
the alerts, the playbook runs, the re-routes (old lanes → new lanes), the KPIs of blind, news,
engine and hindsight side by side (each defined in a sentence), the warning lead per event, and cost and on-time charts. It needs no network: no
external CSS, script or image; the only addresses in it are the scenario's cited sources.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from twin.alerting.rules import AlertRules
from twin.domain.durations import format_timestamp
from twin.engine.engine import EngineSettings
from twin.replay.recovery import daily_on_time
from twin.replay.scenario import LoadedScenario

RUNS = ("blind", "news", "engine", "hindsight")
COLOURS = {"blind": "#8c8c8c", "news": "#ff7f0e", "engine": "#1f77b4", "hindsight": "#2ca02c"}
KPI_ROWS = (
    "total_cost",
    "transport_cost",
    "lateness_cost",
    "unserved_cost",
    "on_time_rate",
    "late_units",
    "unserved_units",
    "co2e_kg",
)
ENGINE_ROWS = (
    "reroutes",
    "holds",
    "expedites",
    "diversions",
    "mean_event_lead_h",
    "mean_alert_lead_h",
)
# Each run in one sentence, as the report's reader needs it before any number.
RUN_SENTENCES = {
    "blind": "nobody watches: every shipment keeps the plan made when it was booked, knowing "
    "nothing of the risks, and the disruption happens to it.",
    "news": "the planner who reads the news: at each booking it avoids every port, lane or "
    "chokepoint with an open alert (warn or above, the engine's own scorers and rules on the "
    "same signals), and never re-plans freight already booked.",
    "engine": "twin as the daemon runs it: it sees only the scenario's signals as they arrive, "
    "prices the risk into bookings, and its playbooks re-route, hold, expedite and divert "
    "freight under way.",
    "hindsight": "each shipment's cheapest journey with every effect of the scenario known in "
    "advance, planned on the lanes' planned transit times (no one can know a shipment's own "
    "transit draw) and sailed in the same world: what foreknowledge of the disruption is "
    "worth, not something a real system can do.",
}
KPI_NAMES = {
    "total_cost": "Total cost (transport + late penalties)",
    "transport_cost": "Transport cost",
    "lateness_cost": "Late penalties",
    "on_time_rate": "Shipments on time (every part delivered by its due date)",
    "late_units": "Units delivered after their due date",
    "co2e_kg": "CO2e, kg (tonne-km x intensity on every leg; docs/emissions.md)",
    "unserved_cost": "Unserved penalty (units no route carried)",
    "unserved_units": "Units no route carried",
    "reroutes": "Shipments the engine re-routed (path changed)",
    "holds": "Shipments the engine held",
    "expedites": "Shipments whose customs clearance the engine expedited",
    "diversions": "Shipments the engine diverted under way",
    "mean_event_lead_h": "Mean warning lead per disruption (hours before its impact)",
    "mean_alert_lead_h": "Mean warning lead per alert (hours; one event echoed counts often)",
}


# Replays with demand (docs/replay.md): the sales each run's deliveries made, side by side.
STOCK_RUNS = ("blind", "news", "engine", "engine_stock", "hindsight")
STOCK_ROWS = {
    "stock_total_cost": "Cost to the seller (transport + unserved + lost margin + holding)",
    "lost_margin": "Margin of lost sales",
    "holding_cost": "Holding cost (stock on the shelf x value x 25% a year)",
    "fill_rate": "Fill rate (share of demand sold)",
    "lost_units": "Units of demand not on the shelf (lost sales)",
    "stockout_days": "Stock-out days (warehouse x SKU days with a lost sale)",
    "pairs_out": "Warehouse x SKU pairs that ran out at least once",
    "avg_cover_days": "Average cover (units on the shelf / units demanded a day)",
}
STOCK_ENGINE_SENTENCE = (
    "engine_stock is the same engine whose planner prices a shipment's late day by its SKU "
    "lines' stock instead of its priority: the margin the delay would lose where it lands, "
    "less the holding it saves, from the stock on hand, the freight in transit and the "
    "forecast at booking (docs/replay.md). Hindsight minimises transport and late penalties, "
    "not this cost, so it is no bound here."
)


def stock_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The sales table of a replay with stock data (empty without)."""
    if "engine_stock" not in doc:
        return []
    rows = [
        {
            "kpi": key,
            "name": name,
            **{n: doc.get(n, {}).get("stock", {}).get(key) for n in STOCK_RUNS},
        }
        for key, name in STOCK_ROWS.items()
    ]
    rows.append(
        {
            "kpi": "total_cost",
            "name": KPI_NAMES["total_cost"],
            **{n: doc.get(n, {}).get("total_cost") for n in STOCK_RUNS},
        }
    )
    return rows


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display, no window: reports are written headless
    import matplotlib.pyplot as plt

    return plt


# --- charts -------------------------------------------------------------------------------


def scores_chart(
    timeline: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    rules: AlertRules,
    signals: list[datetime],
    effects: list[tuple[datetime, datetime]],
    window: tuple[datetime, datetime] | None = None,
) -> bytes:
    """Per dimension, the highest score each tick, its warn (dashed) and critical (dotted)
    thresholds, alert openings (dots), signal times (ticks below) and effect spans (shaded)."""
    plt = _pyplot()
    dims = sorted({d for row in timeline for d in row.get("max_by_dimension", {})})
    fig, ax = plt.subplots(figsize=(10, 4.2))
    cmap = plt.get_cmap("tab10")
    for start, until in effects:
        ax.axvspan(start, until, color="#d62728", alpha=0.06)
    for i, dim in enumerate(dims):
        colour = cmap(i % 10)
        xs = [_ts(r["at"]) for r in timeline if dim in r.get("max_by_dimension", {})]
        ys = [r["max_by_dimension"][dim] for r in timeline if dim in r.get("max_by_dimension", {})]
        ax.plot(xs, ys, color=colour, lw=1.3, label=dim)
        rule = rules.for_dimension(dim)
        ax.axhline(rule.warn, color=colour, ls="--", lw=0.7, alpha=0.7)
        ax.axhline(rule.critical, color=colour, ls=":", lw=0.9, alpha=0.7)
        opened = [a for a in alerts if a["dimension"] == dim]
        ax.scatter(
            [_ts(a["opened_at"]) for a in opened],
            [a["score"] for a in opened],
            color=colour,
            s=14,
            zorder=3,
        )
    if signals:
        ax.plot(signals, [-0.03] * len(signals), "|", color="black", ms=8, label="signal")
    ax.set_ylim(-0.06, 1.05)
    if window is not None:
        ax.set_xlim(*window)
    ax.set_ylabel("highest score")
    ax.set_title(
        "Scores per dimension (dashed: warn, dotted: critical; dots: alerts opened; "
        "shaded: effects)",
        fontsize=9,
    )
    if dims or signals:
        ax.legend(fontsize=7, loc="upper left", ncol=4)
    fig.autofmt_xdate()
    return _png(fig)


def cost_chart(kpis: Mapping[str, Mapping[str, Any]]) -> bytes:
    """Transport and lateness cost, stacked, per run."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    names = [n for n in RUNS if n in kpis]
    transport = [float(kpis[n].get("transport_cost") or 0) for n in names]
    lateness = [float(kpis[n].get("lateness_cost") or 0) for n in names]
    ax.bar(names, transport, color=[COLOURS[n] for n in names], label="transport")
    ax.bar(names, lateness, bottom=transport, color="#d62728", alpha=0.7, label="lateness")
    for i, n in enumerate(names):
        ax.text(
            i,
            transport[i] + lateness[i],
            f"{transport[i] + lateness[i]:,.0f}",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    low = min(transport) * 0.95 if transport and min(transport) > 0 else 0
    ax.set_ylim(bottom=low)
    ax.set_ylabel("cost")
    ax.set_title("Total cost (axis starts near the lowest transport cost)", fontsize=9)
    ax.legend(fontsize=7)
    return _png(fig)


def on_time_chart(
    runs: Mapping[str, Any],
    start: datetime,
    end: datetime,
    effects: list[tuple[datetime, datetime]],
) -> bytes:
    """Each run's on-time rate of the parts due in the trailing 7 days, per day."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for s, u in effects:
        ax.axvspan(s, u, color="#d62728", alpha=0.06)
    for name in RUNS:
        run = runs.get(name)
        if run is None:
            continue
        # Counted on the day each part was due, so a late part lowers the day it should have
        # arrived, not the day it finally did.
        series = daily_on_time(run.outcomes, start, end, by="due")
        ax.plot(
            [datetime(d.year, d.month, d.day) for d, rate, _ in series if rate is not None],
            [rate for _, rate, _ in series if rate is not None],
            color=COLOURS[name],
            lw=1.3,
            label=name,
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(start, end)
    ax.set_ylabel("on time (parts due, 7-day)")
    ax.set_title(
        "Share of the parts due in the last 7 days that arrived by their due date "
        "(shaded: effects)",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="lower left")
    fig.autofmt_xdate()
    return _png(fig)


# --- the report's data ----------------------------------------------------------------------


def report_data(
    doc: Mapping[str, Any],
    runs: Mapping[str, Any],
    loaded: LoadedScenario,
    settings: EngineSettings | None = None,
) -> dict[str, Any]:
    """Everything the templates show, as plain data (tested without rendering)."""
    scenario = loaded.scenario
    settings = settings or EngineSettings()
    engine = runs.get("engine")
    signals = [
        {
            "at": format_timestamp(s.at),
            "target": s.target or "(area)",
            "dimension": s.dimension,
            "metric": s.metric,
            "value": s.value,
            "note": s.note or "",
        }
        for s in sorted(scenario.signals, key=lambda s: s.at)
    ]
    effects = [
        {
            "at": format_timestamp(e.at),
            "until": format_timestamp(e.until) if e.until else "",
            "target": e.target,
            "kind": e.kind,
            "amount": e.amount,
        }
        for e in sorted(scenario.effects, key=lambda e: e.at)
    ]
    reroutes = [
        {
            "at": r["at"],
            "shipment": r["shipment"],
            "old": " | ".join(" → ".join(p) for p in r["old"]),
            "new": " | ".join(" → ".join(p) for p in r["new"]),
        }
        for r in (getattr(engine, "reroute_log", None) or [])
    ]
    dims = sorted(
        {d for row in (engine.timeline if engine else []) for d in row.get("max_by_dimension", {})}
        | {a["dimension"] for a in doc.get("alerts", [])}
    )
    thresholds = [
        {
            "dimension": d,
            "warn": settings.alerts.for_dimension(d).warn,
            "critical": settings.alerts.for_dimension(d).critical,
            "for_passes": settings.alerts.for_dimension(d).for_passes,
        }
        for d in dims
    ]
    # The alerts table lists the alerts that paged; muted ones (inhibited echoes, silenced) are
    # only counted, whatever the document carries, so the heading's numbers match the rows.
    listed = list(doc.get("alerts", []))
    paged = [a for a in listed if not a.get("muted")]
    muted = int(doc.get("muted_alerts", 0) or 0)
    if any("muted" in a for a in listed):
        muted = len(listed) - len(paged)
    kpi_rows = []
    for key in KPI_ROWS:
        kpi_rows.append(
            {"kpi": key, "name": KPI_NAMES[key], **{n: doc.get(n, {}).get(key) for n in RUNS}}
        )
    for key in ENGINE_ROWS:
        kpi_rows.append(
            {
                "kpi": key,
                "name": KPI_NAMES[key],
                **{n: None for n in RUNS},
                "engine": doc.get("engine", {}).get(key),
            }
        )
    return {
        "name": doc.get("scenario", scenario.name),
        "description": scenario.description,
        "window": f"{format_timestamp(scenario.start)} → {format_timestamp(scenario.end)}",
        "seed": doc.get("seed", scenario.seed),
        "shipments": doc.get("shipments"),
        "signals": signals,
        "effects": effects,
        "alerts": paged,
        "muted_alerts": muted,
        "opened_alerts": len(paged) + muted,
        "runs": [{"name": n, "sentence": RUN_SENTENCES[n]} for n in RUNS],
        "playbook_runs": list(doc.get("playbook_runs", [])),
        "reroutes": reroutes,
        "thresholds": thresholds,
        "kpis": kpi_rows,
        "stock": stock_rows(doc),
        "stock_sentence": STOCK_ENGINE_SENTENCE,
        "saving": doc.get("saving", {}),
        "saving_sentence": saving_sentence(doc.get("saving", {})),
        "events": list(doc.get("events", [])),
        "sources": [s.model_dump() for s in scenario.sources],
    }


def saving_sentence(saving: Mapping[str, Any]) -> str:
    """The savings in words, signs read out ("costs 17,386 more", not "saves -17,386")."""

    def against(value: Any, subject: str, other: str, verb: str = "") -> str:
        if value is None:
            return f"{subject}: –"
        amount = f"{abs(float(value)):,.0f}"
        if float(value) >= 0:
            return f"{subject} {verb}save{'' if verb else 's'} {amount} against {other}"
        return f"{subject} {verb}cost{'' if verb else 's'} {amount} more than {other}"

    disruption = saving.get("disruption_cost")
    share = saving.get("captured_share")
    draws = saving.get("draws_part")
    cost = "–" if disruption is None else f"{float(disruption):,.0f}"
    parts = [
        (
            "What the disruption costs if nobody acts (blind against the same plans without "
            f"the disruption): {cost}"
        ),
        against(saving.get("engine_vs_blind"), "the engine", "blind"),
        against(saving.get("engine_vs_news"), "the engine", "news"),
        against(saving.get("hindsight_vs_blind"), "hindsight", "blind", "would "),
    ]
    if draws is not None:
        parts.append(
            f"knowing each shipment's transit draw too (no policy can) would save {float(draws):,.0f}"
            " more"
        )
    if share is not None:
        parts.append(f"the engine captured {100 * float(share):.0f} % of what hindsight saves")
    return "; ".join(parts) + "."


def kpi_value(key: str, value: Any) -> str:
    """A KPI as a person reads it: rates in per cent, money in whole units."""
    if value is None:
        return "–"
    if key == "on_time_rate":
        return f"{100 * float(value):.1f} %"
    if key == "fill_rate":  # near 100 %: the second decimal is where runs differ
        return f"{100 * float(value):.2f} %"
    if (key.endswith("_cost") or key == "lost_margin") and isinstance(value, (int, float)):
        return f"{value:,.0f}"
    return fmt(value)


MARKDOWN_SPECIAL = str.maketrans(
    {c: f"\\{c}" for c in "\\`*_{}[]<>()#+!|~"} | {"\n": " ", "\r": " "}
)


def md(value: Any) -> str:
    """Text made literal in Markdown (a table cell or a line): special characters escaped,
    line breaks turned into spaces, so a scenario's note cannot break the table or add links."""
    return str(value).translate(MARKDOWN_SPECIAL)


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>twin replay: {{ d.name }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%} .muted{color:#777}
table{display:block;overflow-x:auto;max-width:100%}
@media (max-width:700px){body{margin:1em .6em}}
</style></head><body>
<h1>Replay: {{ d.name }}</h1>
<p>{{ d.description }}</p>
<p class="muted">Window {{ d.window }} · seed {{ d.seed }} · {{ d.shipments }} shipments</p>
<h2>The four runs</h2>
<p>The same shipments go through the same disruption four times:</p>
<ul>{% for r in d.runs %}<li><b>{{ r.name }}</b>: {{ r.sentence }}</li>{% endfor %}</ul>
<h2>Results</h2>
<table><tr><th>measure</th><th>blind</th><th>news</th><th>engine</th><th>hindsight</th></tr>
{% for r in d.kpis %}<tr><td title="{{ r.kpi }}">{{ r.name }}</td><td class="n">{{ kv(r.kpi, r.blind) }}</td>
<td class="n">{{ kv(r.kpi, r.news) }}</td><td class="n">{{ kv(r.kpi, r.engine) }}</td><td class="n">{{ kv(r.kpi, r.hindsight) }}</td></tr>
{% endfor %}</table>
<p class="muted">A shipment is on time when every part of it is delivered by its due date.</p>
<p>{{ d.saving_sentence }}</p>
<h3>Warning lead per disruption</h3>
<table><tr><th>target</th><th>from</th><th>until</th><th>lead (h)</th></tr>
{% for e in d.events %}<tr><td>{{ e.target }}</td><td>{{ e.at }}</td><td>{{ e.until }}</td><td class="n">{{ fmt(e.lead_h) }}</td></tr>
{% else %}<tr><td colspan="4">no effects</td></tr>{% endfor %}</table>
{% if d.stock %}<h3>Sales and stock</h3>
<p>The world sells day by day at each warehouse x SKU; what is not on the shelf is a lost sale. {{ d.stock_sentence }}</p>
<table><tr><th>measure</th><th>blind</th><th>news</th><th>engine</th><th>engine_stock</th><th>hindsight</th></tr>
{% for r in d.stock %}<tr><td title="{{ r.kpi }}">{{ r.name }}</td><td class="n">{{ kv(r.kpi, r.blind) }}</td>
<td class="n">{{ kv(r.kpi, r.news) }}</td><td class="n">{{ kv(r.kpi, r.engine) }}</td><td class="n">{{ kv(r.kpi, r.engine_stock) }}</td><td class="n">{{ kv(r.kpi, r.hindsight) }}</td></tr>
{% endfor %}</table>{% endif %}
<img alt="cost per run" src="data:image/png;base64,{{ charts.cost }}">
<img alt="on-time rate by due date" src="data:image/png;base64,{{ charts.on_time }}">
<h2>Scores and alerts</h2>
<img alt="scores per dimension" src="data:image/png;base64,{{ charts.scores }}">
<table><tr><th>dimension</th><th>warn</th><th>critical</th><th>for (passes)</th></tr>
{% for t in d.thresholds %}<tr><td>{{ t.dimension }}</td><td class="n">{{ t.warn }}</td>
<td class="n">{{ t.critical }}</td><td class="n">{{ t.for_passes }}</td></tr>{% endfor %}</table>
<h3>Alerts that paged: {{ d.alerts|length }}</h3>
<p class="muted">{{ d.opened_alerts }} alerts opened; the {{ d.muted_alerts }} muted ones (echoes inhibited by the alert that explains them, or silenced) are counted here and not listed.</p>
<table><tr><th>opened</th><th>target</th><th>dimension</th><th>severity</th><th>score</th></tr>
{% for a in d.alerts %}<tr><td>{{ a.opened_at }}</td><td>{{ a.target }}</td><td>{{ a.dimension }}</td>
<td>{{ a.severity }}</td><td class="n">{{ a.score }}</td></tr>{% endfor %}</table>
<h2>Playbook runs</h2>
<table><tr><th>at</th><th>playbook</th><th>alert target</th><th>shipments</th><th>cost delta</th><th>approved by</th></tr>
{% for p in d.playbook_runs %}<tr><td>{{ p.at }}</td><td>{{ p.playbook }}</td><td>{{ p.alert_target }}</td>
<td class="n">{{ p.shipments }}</td><td class="n">{{ fmt(p.cost_delta) }}</td><td>{{ p.approved_by }}</td></tr>
{% else %}<tr><td colspan="6">none</td></tr>{% endfor %}</table>
<h2>Re-routes the engine applied</h2>
<table><tr><th>at</th><th>shipment</th><th>old lanes</th><th>new lanes</th></tr>
{% for r in d.reroutes %}<tr><td>{{ r.at }}</td><td>{{ r.shipment }}</td><td>{{ r.old }}</td><td>{{ r.new }}</td></tr>
{% else %}<tr><td colspan="4">none</td></tr>{% endfor %}</table>
<h2>Signals (what the engine saw)</h2>
<table><tr><th>time</th><th>target</th><th>dimension</th><th>metric</th><th>value</th><th>note</th></tr>
{% for s in d.signals %}<tr><td>{{ s.at }}</td><td>{{ s.target }}</td><td>{{ s.dimension }}</td>
<td>{{ s.metric }}</td><td class="n">{{ s.value }}</td><td>{{ s.note }}</td></tr>{% endfor %}</table>
<h2>Effects (ground truth, never read by the engine)</h2>
<table><tr><th>at</th><th>until</th><th>target</th><th>kind</th><th>amount</th></tr>
{% for e in d.effects %}<tr><td>{{ e.at }}</td><td>{{ e.until }}</td><td>{{ e.target }}</td>
<td>{{ e.kind }}</td><td class="n">{{ e.amount }}</td></tr>{% endfor %}</table>
{% if d.sources %}<h2>Sources</h2><ul>{% for s in d.sources %}<li>{{ s.title }}: {{ s.url }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""

MARKDOWN = """# Replay: {{ d.name|md }}

{{ d.description|md }}

Window {{ d.window|md }} · seed {{ d.seed|md }} · {{ d.shipments|md }} shipments

## The four runs

The same shipments go through the same disruption four times:

{% for r in d.runs %}- **{{ r.name }}**: {{ r.sentence|md }}
{% endfor %}
## Results

| measure | blind | news | engine | hindsight |
|---|---:|---:|---:|---:|
{% for r in d.kpis %}| {{ r.name|md }} | {{ kv(r.kpi, r.blind)|md }} | {{ kv(r.kpi, r.news)|md }} | {{ kv(r.kpi, r.engine)|md }} | {{ kv(r.kpi, r.hindsight)|md }} |
{% endfor %}
A shipment is on time when every part of it is delivered by its due date.

{{ d.saving_sentence|md }}

{% if d.stock %}### Sales and stock

The world sells day by day at each warehouse x SKU; what is not on the shelf is a lost sale. {{ d.stock_sentence|md }}

| measure | blind | news | engine | engine_stock | hindsight |
|---|---:|---:|---:|---:|---:|
{% for r in d.stock %}| {{ r.name|md }} | {{ kv(r.kpi, r.blind)|md }} | {{ kv(r.kpi, r.news)|md }} | {{ kv(r.kpi, r.engine)|md }} | {{ kv(r.kpi, r.engine_stock)|md }} | {{ kv(r.kpi, r.hindsight)|md }} |
{% endfor %}
{% endif %}Warning lead per disruption: {% for e in d.events %}{{ e.target|md }} {{ fmt(e.lead_h) }} h{% if not loop.last %}, {% endif %}{% else %}no effects{% endfor %}

![cost per run](charts/cost.png)
![on-time rate by due date](charts/on_time.png)

## Scores and alerts

![scores per dimension](charts/scores.png)

| dimension | warn | critical | for (passes) |
|---|---:|---:|---:|
{% for t in d.thresholds %}| {{ t.dimension|md }} | {{ t.warn }} | {{ t.critical }} | {{ t.for_passes }} |
{% endfor %}
### Alerts that paged: {{ d.alerts|length }}

{{ d.opened_alerts }} alerts opened; the {{ d.muted_alerts }} muted ones (echoes inhibited by the alert that explains them, or silenced) are counted here and not listed.

| opened | target | dimension | severity | score |
|---|---|---|---|---:|
{% for a in d.alerts %}| {{ a.opened_at|md }} | {{ a.target|md }} | {{ a.dimension|md }} | {{ a.severity|md }} | {{ a.score|md }} |
{% endfor %}
## Playbook runs

| at | playbook | alert target | shipments | cost delta | approved by |
|---|---|---|---:|---:|---|
{% for p in d.playbook_runs %}| {{ p.at|md }} | {{ p.playbook|md }} | {{ p.alert_target|md }} | {{ p.shipments|md }} | {{ fmt(p.cost_delta)|md }} | {{ p.approved_by|md }} |
{% endfor %}
## Re-routes the engine applied

| at | shipment | old lanes | new lanes |
|---|---|---|---|
{% for r in d.reroutes %}| {{ r.at|md }} | {{ r.shipment|md }} | {{ r.old|md }} | {{ r.new|md }} |
{% endfor %}
## Signals (what the engine saw)

| time | target | dimension | metric | value | note |
|---|---|---|---|---:|---|
{% for s in d.signals %}| {{ s.at|md }} | {{ s.target|md }} | {{ s.dimension|md }} | {{ s.metric|md }} | {{ s.value|md }} | {{ s.note|md }} |
{% endfor %}
## Effects (ground truth, never read by the engine)

| at | until | target | kind | amount |
|---|---|---|---|---:|
{% for e in d.effects %}| {{ e.at|md }} | {{ e.until|md }} | {{ e.target|md }} | {{ e.kind|md }} | {{ e.amount|md }} |
{% endfor %}
{% if d.sources %}## Sources

{% for s in d.sources %}- {{ s.title|md }}: <{{ s.url }}>
{% endfor %}{% endif %}"""


def write_report(
    doc: Mapping[str, Any],
    runs: Mapping[str, Any] | None,
    loaded: LoadedScenario,
    out_dir: str | Path,
    *,
    settings: EngineSettings | None = None,
) -> list[Path]:
    """Write `report.html` (self-contained) and `report.md` (with `charts/*.png`) to `out_dir`.

    Parameters: `doc` is `replay()`'s document; `runs` its `_runs` (the RunResults; taken from
    `doc["_runs"]` when None); `loaded` the scenario; `settings` the engine settings whose
    alert thresholds are drawn (default: EngineSettings()).

    Returns the paths written. Raises OSError if `out_dir` cannot be written.
    """
    runs = runs if runs is not None else doc.get("_runs", {})
    out = Path(out_dir)
    (out / "charts").mkdir(parents=True, exist_ok=True)
    settings = settings or EngineSettings()
    scenario = loaded.scenario
    data = report_data(doc, runs, loaded, settings)
    effects = [(e.at, e.until or scenario.end) for e in scenario.effects]
    engine = runs.get("engine")
    charts = {
        "scores": scores_chart(
            engine.timeline if engine else [],
            data["alerts"],
            settings.alerts,
            [s.at for s in scenario.signals],
            effects,
            (scenario.start, scenario.end),
        ),
        "cost": cost_chart({n: doc[n] for n in RUNS if n in doc}),
        "on_time": on_time_chart(runs, scenario.start, scenario.end, effects),
    }
    written: list[Path] = []
    for name, png in charts.items():
        path = out / "charts" / f"{name}.png"
        path.write_bytes(png)
        written.append(path)
    env = Environment(
        autoescape=select_autoescape(default_for_string=True), keep_trailing_newline=True
    )
    env.globals["fmt"] = fmt
    env.globals["kv"] = kpi_value
    inline = {k: base64.b64encode(v).decode("ascii") for k, v in charts.items()}
    html = out / "report.html"
    html.write_text(env.from_string(HTML).render(d=data, charts=inline), encoding="utf-8")
    plain = Environment(autoescape=False, keep_trailing_newline=True)
    plain.globals["fmt"] = fmt
    plain.globals["kv"] = kpi_value
    plain.filters["md"] = md
    markdown = out / "report.md"
    markdown.write_text(plain.from_string(MARKDOWN).render(d=data), encoding="utf-8")
    return [html, markdown, *written]
