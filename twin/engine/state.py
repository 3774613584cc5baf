"""The engine state: everything the engine keeps between ticks, as one typed record.

The daemon loads it from the store and saves it back each pass (twin/engine/stored.py); a
replay keeps it in memory. Either way the engine is built from it (`Engine.from_state`) and
read back from it (`engine.state()`): nothing else sets the engine's attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from twin.alerting.episodes import AlertState
from twin.domain.incidents import Incident, Notification
from twin.domain.plans import Routes
from twin.domain.records import Shipment
from twin.network.graph import WhatIf
from twin.playbook.actions import InForce
from twin.scoring.scorers import empty_scores, signals_frame

Cooldown = tuple[str, str]  # (playbook id, alert target)


def empty_signal_frame() -> pd.DataFrame:
    return signals_frame([])


@dataclass
class EngineState:
    """What the engine knows and has decided.

    shipments: the active shipments, by id.
    routes: the plan of record: each shipment's routes (timed legs).
    alert_state: open alert episodes, the monitors' hysteresis, people's silences and acks.
    incidents: the incidents the engine still acts on or remembers (for cooldowns), by id.
    cooldowns: (playbook, alert target) -> when that playbook last acted on that target.
    in_force: what applied incidents keep in force: avoided and derated nodes and lanes, held
        shipments (twin.playbook.actions.InForce), in the order they were applied.
    history: the signal rows the scorer reads (trimmed to the configured history).
    scores: the risk scores of the last scoring, made at `scored_at` (None: not yet scored);
        `fresh_signals`: signals arrived since (the next tick scores again).
    outbox: notifications the engine's playbooks sent, (incident id, notification), in order.
    """

    shipments: dict[str, Shipment] = field(default_factory=dict)
    routes: dict[str, Routes] = field(default_factory=dict)
    alert_state: AlertState = field(default_factory=AlertState)
    incidents: dict[str, Incident] = field(default_factory=dict)
    cooldowns: dict[Cooldown, datetime] = field(default_factory=dict)
    in_force: tuple[InForce, ...] = ()
    history: pd.DataFrame = field(default_factory=empty_signal_frame)
    scores: pd.DataFrame = field(default_factory=empty_scores)
    scored_at: datetime | None = None
    fresh_signals: bool = False
    outbox: tuple[tuple[str, Notification], ...] = ()

    @property
    def holds(self) -> dict[str, str]:
        """Held shipments -> the incident that holds them."""
        return {item.target: item.incident for item in self.in_force if item.holds}

    def constraints(self) -> WhatIf:
        """The constraints in force, merged: what every plan and re-plan is made under."""
        merged = WhatIf()
        for item in self.in_force:
            merged = merged.merged(item.whatif)
        return merged
