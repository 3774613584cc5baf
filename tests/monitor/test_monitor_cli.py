"""`twin monitor --json` end to end on the demo network: scores, alerts over history, exposure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from twin.cli.app import app

T = datetime(2023, 12, 1, tzinfo=UTC)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_monitor_json(tmp_path):
    lines = []
    for day in range(12):
        incidents = 0 if day < 8 else day - 6  # 2, 3, 4, 5: rising past critical
        lines.append(
            {
                "ts": _stamp(T + timedelta(days=day)),
                "source": "ukmto",
                "dimension": "security",
                "target": "BAB_EL_MANDEB",
                "metric": "incidents_7d",
                "value": incidents,
            }
        )
    lines.append(
        {
            "ts": _stamp(T + timedelta(days=11)),
            "source": "x",
            "dimension": "capacity",
            "target": "SUEZ",
            "metric": "mood",
            "value": 1,
        }
    )
    signals = tmp_path / "signals.jsonl"
    signals.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    shipments = tmp_path / "ships.csv"
    shipments.write_text(
        "id,origin,destination,units,ready_at,due_at\n"
        "S1,CNSHA,NLRTM,10,2023-12-12T00:00:00Z,2024-02-15T00:00:00Z\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "monitor",
            "--network",
            "demo",
            "--signals",
            str(signals),
            "--shipments",
            str(shipments),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["at"] == "2023-12-12T00:00:00Z" and doc["passes"] == 12
    top = {(s["target"], s["dimension"]): s for s in doc["scores"]}
    assert top[("BAB_EL_MANDEB", "security")]["score"] > 0.9
    alerts = {(a["target"], a["dimension"]): a for a in doc["alerts"]}
    parent = alerts[("BAB_EL_MANDEB", "security")]
    assert parent["severity"] == "critical" and parent["inhibited_by"] is None
    lanes = [a for a in doc["alerts"] if a["target"] != "BAB_EL_MANDEB"]
    assert lanes and all(a["inhibited_by"] == parent["id"] for a in lanes)
    # An unknown metric is quarantined when read (twin.scoring.known), named on stderr.
    assert doc["unknown_metrics"] == []
    assert "metric 'mood' is not scored" in result.stderr
    # The cheapest plan goes via Suez: it meets Bab-el-Mandeb part way along the 29.6-day lane.
    (hit,) = [e for e in doc["exposed"] if e["target"] == "BAB_EL_MANDEB"]
    assert hit["shipment"] == "S1" and hit["units"] == 10 and hit["lane"] == "CNSHA-NLRTM-SUEZ"
    assert "2023-12-12" < hit["at"] < "2024-01-11"


def test_monitor_bad_input_exits_2(tmp_path):
    result = CliRunner().invoke(
        app, ["monitor", "--network", "demo", "--signals", str(tmp_path / "none.jsonl"), "--json"]
    )
    assert result.exit_code == 2


def test_monitor_save_then_alerts_list(tmp_path, monkeypatch):
    from twin.store.db import make_engine
    from twin.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'twin.db'}"
    monkeypatch.setenv("TWIN_DATABASE_URL", url)
    upgrade(make_engine(url))
    lines = [
        {
            "ts": _stamp(T + timedelta(days=d)),
            "source": "s",
            "dimension": "capacity",
            "target": "USLAX",
            "metric": "vessels_waiting",
            "value": v,
        }
        for d, v in enumerate([0, 70, 80, 1, 0])
    ]
    signals = tmp_path / "signals.jsonl"
    signals.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    runner = CliRunner()
    saved = runner.invoke(
        app, ["monitor", "--network", "demo", "--signals", str(signals), "--save", "--json"]
    )
    assert saved.exit_code == 0, saved.output
    episodes = json.loads(runner.invoke(app, ["alerts", "list", "--json"]).stdout)
    usl = [e for e in episodes if e["target"] == "USLAX"]
    assert len(usl) == 1 and usl[0]["severity"] == "critical"
    assert (
        usl[0]["opened_at"] == "2023-12-03T00:00:00Z"
        and usl[0]["cleared_at"] == "2023-12-04T00:00:00Z"
    )
    still_open = json.loads(runner.invoke(app, ["alerts", "list", "--open", "--json"]).stdout)
    assert all(e["cleared_at"] is None for e in still_open)


def test_monitor_exposure_follows_the_carriers_actual_events(tmp_path):
    """A DCSA ACT departure in the signals folder re-times the shipment's plan before exposure."""
    folder = tmp_path / "signals"
    folder.mkdir()
    rows = [
        {
            "ts": _stamp(T + timedelta(days=day)),
            "source": "ukmto",
            "dimension": "security",
            "target": "BAB_EL_MANDEB",
            "metric": "incidents_7d",
            "value": 6,
        }
        for day in range(12)
    ]
    (folder / "signals.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    shipments = tmp_path / "ships.csv"
    shipments.write_text(
        "id,origin,destination,units,ready_at,due_at\n"
        "S1,CNSHA,NLRTM,10,2023-12-12T00:00:00Z,2024-02-15T00:00:00Z\n"
    )
    args = [
        "monitor",
        "--network",
        "demo",
        "--signals",
        str(folder),
        "--shipments",
        str(shipments),
        "--json",
    ]

    def passage() -> datetime:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        (hit,) = [e for e in json.loads(result.stdout)["exposed"] if e["target"] == "BAB_EL_MANDEB"]
        return datetime.fromisoformat(hit["at"])

    planned = passage()
    left = T + timedelta(days=10, hours=12)  # half a day before the plan's departure
    (folder / "tnt.json").write_text(
        json.dumps(
            {
                "events": [
                    {
                        "eventID": "D1",
                        "eventCreatedDateTime": _stamp(left),
                        "eventType": "TRANSPORT",
                        "eventClassifierCode": "ACT",
                        "eventDateTime": _stamp(left),
                        "transportEventTypeCode": "DEPA",
                        "documentReferences": [
                            {"documentReferenceType": "BKG", "documentReferenceValue": "S1"}
                        ],
                        "transportCall": {
                            "transportCallID": "C1",
                            "UNLocationCode": "CNSHA",
                            "modeOfTransport": "VESSEL",
                        },
                    }
                ]
            }
        )
    )
    assert passage() == planned - timedelta(hours=12)
