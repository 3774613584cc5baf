"""The alerting state machine: one pure pass `evaluate(state, scores, now, rules)`.

Per (target, dimension) key: a `for` count of consecutive passes at or above warn opens an
episode; severity escalates within it (never falls back) and the peak is kept; it clears only
below `clear_below` (hysteresis); after clearing the key stays quiet for `cooldown`. A rising
trend opens a `warn` early with the predicted crossing time. Then inhibitions and silences mark
open alerts muted. The state is plain data (pydantic, JSON round-trip) that the store persists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from twin.alerting.mute import Inhibitor, Silencer
from twin.alerting.rules import AlertRules, InhibitRule, TrendRule
from twin.domain.alerts import Acknowledgement, Alert, RiskScore, Severity, Silence, Zoned
from twin.domain.durations import format_timestamp, parse_timestamp
from twin.scoring.scorers import to_risk_scores


class KeyState(BaseModel):
    """What a key remembers between passes."""

    model_config = ConfigDict(frozen=True)

    target: str
    dimension: str
    breaches: int = 0
    history: tuple[tuple[Zoned, float], ...] = ()
    open_id: str | None = None
    last_cleared_at: Zoned | None = None


class AlertState(BaseModel):
    """Everything the alerting needs to carry on after a restart: key memories, open episodes,
    silences and acknowledgements. Cleared episodes leave the state in a `cleared` event."""

    model_config = ConfigDict(frozen=True)

    keys: dict[str, KeyState] = Field(default_factory=dict)
    alerts: dict[str, Alert] = Field(default_factory=dict)
    silences: tuple[Silence, ...] = ()
    acks: tuple[Acknowledgement, ...] = ()
    last_at: Zoned | None = None

    @property
    def open_alerts(self) -> list[Alert]:
        return sorted(self.alerts.values(), key=lambda a: (a.opened_at, a.id))


class AlertEvent(BaseModel):
    """What changed in a pass: an episode opened, escalated or cleared (muted ones say why)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["opened", "escalated", "cleared"]
    at: Zoned
    alert: Alert

    @property
    def pages(self) -> bool:
        """Whether a notifier should page for it: not muted, and not a clear."""
        return self.kind != "cleared" and not self.alert.muted


def key_of(target: str, dimension: str) -> str:
    return f"{dimension}:{target}"


def episode_id(target: str, dimension: str, opened_at: datetime) -> str:
    return f"{target}/{dimension}/{format_timestamp(opened_at)}"


def forecast_crossing(
    history: Iterable[tuple[datetime, float]], level: float, now: datetime, trend: TrendRule
) -> datetime | None:
    """When a least-squares line through the history reaches `level`, if it rises, fits well
    (r^2 >= min_r2) and gets there within the horizon; None otherwise. A line already above the
    level gives `now`."""
    points = [(t, s) for t, s in history if now - trend.window <= t <= now]
    if len(points) < trend.min_points:
        return None
    x = np.array([(t - now).total_seconds() / 3600.0 for t, _ in points])
    y = np.array([s for _, s in points], dtype=float)
    if np.ptp(x) <= 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    if not np.isfinite(slope) or slope <= 0:
        return None
    fitted = slope * x + intercept
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - fitted) ** 2)) / total if total > 0 else 0.0
    if r2 < trend.min_r2:
        return None
    hours = max(0.0, (level - intercept) / slope)
    if hours > trend.horizon.total_seconds() / 3600.0:
        return None
    return now + timedelta(hours=float(hours))


def _scores_by_key(
    scores: Iterable[RiskScore] | pd.DataFrame, now: datetime
) -> dict[str, RiskScore]:
    records = to_risk_scores(scores, now) if isinstance(scores, pd.DataFrame) else scores
    return {key_of(s.target, s.dimension): s for s in records}


def _new_alert(
    score: RiskScore,
    severity: Severity,
    now: datetime,
    *,
    early: bool = False,
    forecast: datetime | None = None,
) -> Alert:
    return Alert(
        id=episode_id(score.target, score.dimension, now),
        target=score.target,
        dimension=score.dimension,
        severity=severity,
        score=score.score,
        peak=score.score,
        opened_at=now,
        updated_at=now,
        explain=score.explain,
        kind=score.kind,
        country=score.country,
        via=score.via,
        sources=score.sources,
        early=early,
        forecast_cross_at=forecast,
        starts_at=score.starts_at,
        until=score.until,
        stock=score.stock,
    )


def evaluate(
    state: AlertState,
    scores: Iterable[RiskScore] | pd.DataFrame,
    now: datetime,
    rules: AlertRules | None = None,
) -> tuple[AlertState, list[AlertEvent]]:
    """One alerting pass at `now` over this pass's scores; returns the new state and events.

    A key with no score this pass counts as 0 (its readings went stale or stopped): open
    episodes then clear by the usual hysteresis. Pure: the same inputs give the same outputs.
    Passes must move forward in time; an older `now` than the state's last pass is ignored
    (returns the state unchanged and no events), and the same `now` again is that pass made
    again: it counts once toward a rule's `for_passes`.
    """
    rules = rules or AlertRules()
    now = parse_timestamp(now)  # as the state keeps it (zoned, UTC)
    if state.last_at is not None and now < state.last_at:
        return state, []
    # A pass made again at the same `now` (a pass re-run, a clock that did not move) takes the
    # place of the one before it: it is the same pass, and counts once toward `for_passes`.
    again = state.last_at is not None and now == state.last_at
    by_key = _scores_by_key(scores, now)
    keys = dict(state.keys)
    alerts = dict(state.alerts)
    events: list[AlertEvent] = []
    trend = rules.trend
    window_start = now - trend.window
    for key in sorted(set(by_key) | set(keys)):
        remembered = keys.get(key)
        item = by_key.get(key)
        if item is None:
            assert remembered is not None
            item = RiskScore(
                target=remembered.target,
                dimension=remembered.dimension,
                score=0.0,
                at=now,
                explain=f"{remembered.dimension} 0.00: no current readings",
            )
        value = item.score
        rule = rules.for_dimension(item.dimension)
        memory = remembered or KeyState(target=item.target, dimension=item.dimension)
        history = (*(p for p in memory.history if window_start < p[0] < now), (now, value))
        if value < rule.warn:
            breaches = 0
        elif again:  # already counted, unless that run of this pass was below warn
            breaches = max(memory.breaches, 1)
        else:
            breaches = memory.breaches + 1
        open_id, last_cleared = memory.open_id, memory.last_cleared_at
        current = alerts.get(open_id) if open_id else None
        if current is not None:
            severity = current.severity
            if value >= rule.critical and severity is not Severity.critical:
                severity = Severity.critical
            forecast = current.forecast_cross_at
            if severity is Severity.warn and trend.enabled:
                forecast = forecast_crossing(history, rule.critical, now, trend) or (
                    current.forecast_cross_at if current.early else None
                )
            still_predicted = (
                current.early
                and trend.enabled
                and value >= trend.min_score
                and forecast_crossing(history, rule.warn, now, trend) is not None
            )
            if value < rule.clear_below and not still_predicted:
                cleared = current.model_copy(
                    update={"score": value, "updated_at": now, "cleared_at": now}
                )
                del alerts[current.id]
                events.append(AlertEvent(kind="cleared", at=now, alert=cleared))
                open_id, last_cleared, breaches = None, now, 0
            else:
                updated = current.model_copy(
                    update={
                        "severity": severity,
                        "score": value,
                        "peak": max(current.peak, value),
                        "updated_at": now,
                        "explain": item.explain if value > 0 else current.explain,
                        "forecast_cross_at": forecast,
                        "via": item.via or current.via,
                        "sources": tuple(dict.fromkeys(current.sources + item.sources)),
                        "starts_at": item.starts_at if value > 0 else current.starts_at,
                        "until": item.until if value > 0 else current.until,
                        "stock": item.stock or current.stock,
                    }
                )
                alerts[current.id] = updated
                if severity is not current.severity:
                    events.append(AlertEvent(kind="escalated", at=now, alert=updated))
        else:
            cooling = last_cleared is not None and now < last_cleared + rule.cooldown
            opened: Alert | None = None
            if not cooling and breaches >= rule.for_passes:
                severity = Severity.critical if value >= rule.critical else Severity.warn
                forecast = (
                    forecast_crossing(history, rule.critical, now, trend)
                    if severity is Severity.warn and trend.enabled
                    else None
                )
                opened = _new_alert(item, severity, now, forecast=forecast)
            elif not cooling and trend.enabled and trend.min_score <= value < rule.warn:
                cross = forecast_crossing(history, rule.warn, now, trend)
                if cross is not None:
                    opened = _new_alert(item, Severity.warn, now, early=True, forecast=cross)
            if opened is not None:
                alerts[opened.id] = opened
                open_id = opened.id
                events.append(AlertEvent(kind="opened", at=now, alert=opened))
        cooling = last_cleared is not None and now < last_cleared + rule.cooldown
        # Forget keys gone quiet (no score now, all-zero history, nothing open, no cooldown) to
        # keep the state small; scored zeros are kept: a trend needs them.
        if (
            key not in by_key
            and open_id is None
            and not cooling
            and not any(s > 0 for _, s in history)
        ):
            keys.pop(key, None)
            continue
        # Built from validated parts (`now` is in UTC, the rest comes from validated records):
        # validating again would re-parse every remembered time stamp, every key, every pass.
        keys[key] = KeyState.model_construct(
            target=item.target,
            dimension=item.dimension,
            breaches=breaches,
            history=history,
            open_id=open_id,
            last_cleared_at=last_cleared,
        )
    silences = tuple(s for s in state.silences if s.ends_at > now)
    alerts = _apply_mutes(alerts, silences, rules, now)
    # Events report the mute status the alert has after this pass.
    events = [
        e if e.alert.id not in alerts else e.model_copy(update={"alert": alerts[e.alert.id]})
        for e in events
    ]
    new_state = AlertState(
        keys=keys, alerts=alerts, silences=silences, acks=state.acks, last_at=now
    )
    return new_state, events


# The last pass's inhibitions and what they were worked out from. Which alert explains which
# depends only on the rules and on the open alerts (ids, labels, sources, in order), not on the
# time; from one 6-hour pass to the next that set rarely changes.
_last_inhibitions: tuple[list[InhibitRule], tuple[object, ...], dict[str, str | None]] | None = None


def _inhibitions(
    alerts: Mapping[str, Alert], rules: AlertRules, now: datetime
) -> dict[str, str | None]:
    """Per alert id, the open alert that inhibits it (None: none does); an inhibition holds
    while both alerts are open (`Inhibitor` reads no time)."""
    global _last_inhibitions
    seen = tuple((a.id, a.is_open, tuple(a.labels().items()), a.sources) for a in alerts.values())
    last = _last_inhibitions
    if (
        last is not None
        and last[1] == seen
        and (last[0] is rules.inhibit or last[0] == rules.inhibit)
    ):
        return last[2]  # read-only: callers look ids up
    inhibitor = Inhibitor(rules.inhibit, alerts.values())
    found = {alert_id: inhibitor.mutes(alert, now) for alert_id, alert in alerts.items()}
    _last_inhibitions = (rules.inhibit, seen, found)
    return found


def _apply_mutes(
    alerts: Mapping[str, Alert], silences: Iterable[Silence], rules: AlertRules, now: datetime
) -> dict[str, Alert]:
    inhibitions = _inhibitions(alerts, rules, now)
    silencer = Silencer(silences)
    out = {}
    for alert_id, alert in alerts.items():
        inhibited, silenced = inhibitions[alert_id], silencer.mutes(alert, now)
        if (inhibited, silenced) != (alert.inhibited_by, alert.silenced_by):
            alert = alert.model_copy(update={"inhibited_by": inhibited, "silenced_by": silenced})
        out[alert_id] = alert
    return out


def add_silence(
    state: AlertState,
    silence: Silence,
    rules: AlertRules | None = None,
    now: datetime | None = None,
) -> AlertState:
    """The state with `silence` added (replacing one of the same id); open alerts re-muted at
    `now` when given."""
    silences = tuple(s for s in state.silences if s.id != silence.id) + (silence,)
    alerts = dict(state.alerts)
    if now is not None:
        alerts = _apply_mutes(alerts, silences, rules or AlertRules(), now)
    return state.model_copy(update={"silences": silences, "alerts": alerts})


def expire_silence(state: AlertState, silence_id: str) -> AlertState:
    return state.model_copy(
        update={"silences": tuple(s for s in state.silences if s.id != silence_id)}
    )


def acknowledge(state: AlertState, ack: Acknowledgement) -> AlertState:
    """Record "I'm on it" on an open alert. Raises KeyError if no open alert has that id."""
    if ack.alert_id not in state.alerts:
        raise KeyError(f"no open alert {ack.alert_id!r}")
    alerts = dict(state.alerts)
    alerts[ack.alert_id] = alerts[ack.alert_id].model_copy(
        update={"acked_by": ack.by, "acked_at": ack.at}
    )
    return state.model_copy(update={"alerts": alerts, "acks": state.acks + (ack,)})


def set_lead_time(alert: Alert, impact_at: datetime) -> Alert:
    """The alert with its warning lead time: hours from opened_at to the real impact (negative
    when the alert came after the impact)."""
    return alert.model_copy(
        update={"warning_lead_h": round((impact_at - alert.opened_at).total_seconds() / 3600.0, 3)}
    )


def set_lead_times(alerts: Iterable[Alert], impacts: Mapping[str, datetime]) -> list[Alert]:
    """Lead times for alerts whose target (or a source of its risk, or a via member) has an
    impact time in `impacts` (target id -> when the real impact began); others unchanged."""
    out = []
    for alert in alerts:
        hits = [impacts[t] for t in (alert.target, *alert.sources, *alert.via) if t in impacts]
        out.append(set_lead_time(alert, min(hits)) if hits else alert)
    return out
