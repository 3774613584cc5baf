"""Risk scores in [0, 1] per node and lane and dimension from a frame of signals at a given `now`.

Input is the feeds' DataFrame (one row per reading: ts, source, dimension, target, metric,
value, effective_at, expected_until, ref). Only the latest reading per (target, metric) counts,
except where a rule needs history (the customs clearance baseline, chokepoint transits).
Everything is vectorised with pandas: the frame is grouped once, each metric scored as an array.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from twin.domain.alerts import RiskScore
from twin.domain.records import Network
from twin.domain.signals import Signal
from twin.scoring.config import ScoringConfig

FRAME_COLUMNS = (
    "ts",
    "source",
    "dimension",
    "target",
    "metric",
    "value",
    "effective_at",
    "expected_until",
    "ref",
    "shipment",
)
SCORE_COLUMNS = (
    "target",
    "dimension",
    "score",
    "explain",
    "kind",
    "country",
    "via",
    "sources",
    "starts_at",
    "until",
)
_TIME_COLUMNS = ("ts", "effective_at", "expected_until")


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one pass (columns SCORE_COLUMNS) and what was left out, and why.

    ignored counts rows by reason: malformed (no target, metric, number or time), future (ts
    after now), unknown_target, stale, ended (expected_until passed), superseded (a later
    reading of the same target and metric exists).
    """

    frame: pd.DataFrame
    at: datetime
    unknown_metrics: tuple[str, ...] = ()
    unknown_targets: tuple[str, ...] = ()
    ignored: dict[str, int] = field(default_factory=dict)

    def risk_scores(self) -> list[RiskScore]:
        return to_risk_scores(self.frame, self.at)


def signals_frame(signals: Iterable[Signal | dict[str, Any]]) -> pd.DataFrame:
    """The feeds' frame shape from Signal records (or plain dicts), for tests and small callers."""
    rows = []
    for item in signals:
        data = item.model_dump() if isinstance(item, Signal) else dict(item)
        rows.append({column: data.get(column) for column in FRAME_COLUMNS})
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    for column in _TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    return frame


def empty_scores() -> pd.DataFrame:
    return _empty_scores().copy()


@cache
def _empty_scores() -> pd.DataFrame:
    # Built once (a dozen typed columns cost more than a small pass's scoring): callers copy.
    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in SCORE_COLUMNS})
    frame["score"] = frame["score"].astype(float)
    for column in ("starts_at", "until"):
        frame[column] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame


def _utc(now: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(now)
    if stamp.tzinfo is None:
        raise ValueError("now must carry a zone")
    return stamp.tz_convert("UTC")


def _one_time(value: Any) -> pd.Timestamp:
    # Anything but a zoned time or ISO text (numbers, naive times, junk) is no time at all.
    if isinstance(value, str):
        stamp = pd.to_datetime(value, utc=False, errors="coerce", format="ISO8601")
    elif isinstance(value, datetime):
        stamp = pd.Timestamp(value)
    else:
        return pd.NaT
    if stamp is pd.NaT or stamp.tzinfo is None:
        return pd.NaT
    return stamp.tz_convert("UTC")


def _times(column: pd.Series) -> pd.Series:
    """A column as datetime64[ns, UTC]; naive or unreadable values become NaT."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    if pd.api.types.is_datetime64_dtype(column.dtype):
        return pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns, UTC]")
    zoned_text = column.map(
        lambda v: (
            isinstance(v, str)
            and len(v) > 10
            and (v.endswith(("Z", "z")) or "+" in v[10:] or "-" in v[10:])
        )
    )
    if len(column) and zoned_text.all():
        try:  # fast path: a whole column of zoned ISO text
            return pd.to_datetime(column, utc=True, format="ISO8601").astype("datetime64[ns, UTC]")
        except (ValueError, TypeError, OverflowError):
            pass
    values = [_one_time(v) for v in column]
    return pd.Series(pd.to_datetime(values, utc=True), index=column.index).astype(
        "datetime64[ns, UTC]"
    )


def _is_text(column: pd.Series) -> pd.Series:
    # Ids repeat a lot: check each distinct value once, then look the rows up (hashed, in C).
    distinct = pd.unique(column.dropna())
    good = [v for v in distinct if isinstance(v, str) and v != ""]
    return column.isin(good)


def clean_readings(
    frame: pd.DataFrame, now: datetime, network: Network
) -> tuple[pd.DataFrame, dict[str, int], tuple[str, ...]]:
    """Rows that can be scored at `now`: well-formed, on a known node or lane, not after now.

    Malformed rows are counted and dropped, never raised on: a bad feed must not stop a pass.
    """
    at = _utc(now)
    data, malformed, on_network = _well_formed(frame, network)
    ignored = {"malformed": malformed}
    future = data["ts"] > at
    ignored["future"] = int(future.sum())
    data = data[~future]
    on_network = on_network[~future]
    unknown_targets = tuple(sorted(set(data.loc[~on_network, "target"])))
    ignored["unknown_target"] = int((~on_network).sum())
    data = data[on_network]
    data["value"] = data["value"].astype(float)
    return data, ignored, unknown_targets


# The last small frame cleaned (a copy), its network and what cleaning it gave: a daemon scores
# the same history again and again between new readings (71 of the replay bench's 94 passes),
# and what is well-formed, and on the network, does not depend on the time of the pass. Large
# frames (a bulk monitor run) are not kept: there the rows' own work dominates, and a copy
# would double their memory.
_last_cleaned: tuple[pd.DataFrame, Network, tuple[pd.DataFrame, int, pd.Series]] | None = None
_KEEP_ROWS = 10_000


def _well_formed(frame: pd.DataFrame, network: Network) -> tuple[pd.DataFrame, int, pd.Series]:
    """The well-formed rows, typed; how many were not; which rows are on the network (do not
    modify what it returns)."""
    global _last_cleaned
    last = _last_cleaned
    if last is not None and last[1] is network and last[0].equals(frame):
        return last[2]
    # Column by column, then one frame: assigning into a frame one column at a time costs more
    # than the cleaning itself on the small frames a daemon scores every pass.
    columns = {
        column: frame[column]
        if column in frame.columns
        else pd.Series(None, index=frame.index, dtype=object)
        for column in FRAME_COLUMNS
    }
    for column in _TIME_COLUMNS:
        columns[column] = _times(columns[column])
    columns["value"] = pd.to_numeric(columns["value"], errors="coerce")
    for column in ("target", "metric", "dimension"):
        values = columns[column]
        columns[column] = values.where(values.notna(), None)
    data = pd.DataFrame(columns, index=frame.index)
    ok = data["ts"].notna() & np.isfinite(data["value"].to_numpy(dtype=float, na_value=np.nan))
    for column in ("target", "metric", "dimension"):
        ok &= _is_text(data[column])
    data = data[ok]
    known = set(network.node_by_id) | set(network.lane_by_id)
    cleaned = (data, int((~ok).sum()), data["target"].isin(known))
    _last_cleaned = (frame.copy(), network, cleaned) if len(frame) <= _KEEP_ROWS else None
    return cleaned


def _latest(history: pd.DataFrame) -> pd.DataFrame:
    """The last reading of each (target, metric) by ts; among equal stamps the later row wins."""
    if history.empty:
        return history
    target_codes, _ = pd.factorize(history["target"])
    metric_codes, metrics = pd.factorize(history["metric"])
    key = target_codes.astype(np.int64) * max(len(metrics), 1) + metric_codes
    stamps = _ns(history["ts"])
    order = np.lexsort((np.arange(len(key)), stamps, key))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = key[order][1:] != key[order][:-1]
    return history.iloc[np.sort(order[last])]


def _shipment_event_counts(
    history: pd.DataFrame, at: pd.Timestamp, config: ScoringConfig
) -> pd.DataFrame:
    """DCSA customs events are about single shipments; score them as counts per entry, as of
    `at`: `hold` = shipments whose latest hold event there (within holds_window) is a HOLD,
    `inspections` = inspections there within inspections_window. One reading per entry at `at`."""
    events = history["metric"].isin(("hold", "inspections"))
    if not events.any():
        return history
    rows, counted = history[events], []
    for metric, window in (
        ("hold", config.holds_window),
        ("inspections", config.inspections_window),
    ):
        part = rows[(rows["metric"] == metric) & (rows["ts"] >= at - window)]
        if part.empty:
            continue
        if metric == "hold":
            # The latest event of each shipment at the entry (input order breaks equal stamps).
            who = part["shipment"].where(part["shipment"].notna(), part["ref"]).astype(str)
            part = (
                part.assign(_who=who)
                .sort_values("ts", kind="stable")
                .groupby(["target", "_who"], sort=False)
                .tail(1)
                .drop(columns="_who")
            )
        totals = part.groupby("target", sort=True).agg(
            value=("value", "sum"), dimension=("dimension", "first"), source=("source", "first")
        )
        counted.append(
            pd.DataFrame(
                {
                    "target": totals.index,
                    "dimension": totals["dimension"].to_numpy(),
                    "metric": metric,
                    "value": totals["value"].to_numpy(dtype=float),
                    "ts": at,
                    "source": totals["source"].to_numpy(),
                    "ref": [f"{metric}-count:{t}" for t in totals.index],
                }
            )
        )
    kept = history[~events]
    if not counted:
        return kept
    derived = pd.concat(counted, ignore_index=True).reindex(columns=history.columns)
    first = int(history.index.max()) + 1  # fresh labels: later steps select rows by label
    derived.index = pd.RangeIndex(first, first + len(derived))
    for column in _TIME_COLUMNS:  # keep the frame's time dtypes through the concat
        derived[column] = derived[column].astype(history[column].dtype)
    return pd.concat([kept, derived])


def _ramp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def _baseline(
    history: pd.DataFrame, latest: pd.DataFrame, metric: str, config: ScoringConfig
) -> tuple[pd.Series, pd.Series]:
    """Median and count per target of the readings in the window before each target's latest."""
    rows = history[history["metric"] == metric][["target", "ts", "value"]]
    last = latest[["target", "ts"]].rename(columns={"ts": "last_ts"})
    rows = rows.merge(last, on="target")
    rows = rows[
        (rows["ts"] < rows["last_ts"]) & (rows["ts"] >= rows["last_ts"] - config.baseline_window)
    ]
    grouped = rows.groupby("target")["value"]
    return grouped.median(), grouped.count()


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _score_metric(
    metric: str,
    part: pd.DataFrame,
    history: pd.DataFrame,
    network: Network,
    at: pd.Timestamp,
    config: ScoringConfig,
) -> tuple[np.ndarray, list[str]]:
    """Raw scores (before the lead factor) and explanations for the latest rows of one metric."""
    values = part["value"].to_numpy(dtype=float)
    if metric in ("clearance_hours", "transits_per_day"):
        median, count = _baseline(history, part, metric, config)
        targets = part["target"]
        n = targets.map(count).fillna(0).astype(int).to_numpy()
        hist = targets.map(median).to_numpy(dtype=float)
        has_history = n >= config.baseline_min_readings
        if metric == "clearance_hours":
            stated = np.array(
                [
                    network.node_by_id[t].clearance_days * 24.0 if t in network.node_by_id else 0.0
                    for t in targets
                ],
                dtype=float,
            )
            fallback = np.where(stated > 0, stated, config.clearance_hours_default)
            basis = np.where(
                has_history,
                "median of previous readings",
                np.where(stated > 0, "node's clearance_days", "default"),
            )
            base = np.maximum(np.where(has_history, hist, fallback), 1e-6)
            ratio = values / base
            scores = _ramp(ratio, config.clearance_ratio.low, config.clearance_ratio.high)
            explain = [
                f"clearance_hours={_fmt(v)} vs baseline {_fmt(b)} h ({why}{f', n={k}' if h else ''}) = {r:.2f}x -> {s:.2f}"
                for v, b, why, k, h, r, s in zip(values, base, basis, n, has_history, ratio, scores)
            ]
            return scores, explain
        configured = targets.map(config.transits_normal).to_numpy(dtype=float)
        listed = ~np.isnan(configured)
        normal = np.where(listed, configured, np.where(has_history, hist, config.transits_default))
        normal = np.maximum(normal, 1e-6)
        basis = np.where(
            listed,
            "configured normal",
            np.where(has_history, "median of previous readings", "default normal"),
        )
        drop = 1.0 - values / normal
        scores = _ramp(drop, config.transits_drop.low, config.transits_drop.high)
        explain = [
            f"transits_per_day={_fmt(v)} vs {_fmt(m)} ({why}), {d:.0%} lost -> {s:.2f}"
            for v, m, why, d, s in zip(values, normal, basis, drop, scores)
        ]
        return scores, explain
    if metric == "rule_change":
        scores = np.clip(values, 0.0, 1.0)
        return scores, [f"rule_change announced, impact {_fmt(v)}" for v in values]
    if metric == "cap_alert":
        scores = np.clip(values, 0.0, 1.0)
        return scores, [f"cap_alert {_fmt(v)} (CAP warning in force)" for v in values]
    if metric == "incidents_7d":
        age_days = ((at - part["ts"]).dt.total_seconds() / 86400.0).to_numpy(dtype=float)
        half = config.incidents_half_life.total_seconds() / 86400.0
        decayed = np.maximum(values, 0.0) * np.power(0.5, age_days / half)
        scores = 1.0 - np.exp(-decayed / config.incidents_scale)
        explain = [
            f"incidents_7d={_fmt(v)} reported {a:.1f} d ago, decayed to {d:.2f} -> {s:.2f}"
            for v, a, d, s in zip(values, age_days, decayed, scores)
        ]
        return scores, explain
    if metric in ("hold", "inspections"):
        ramp = config.ramps[metric]
        scores = _ramp(values, ramp.low, ramp.high)
        if metric == "hold":
            explain = [
                f"{_fmt(v)} shipment(s) held by customs (DCSA HOLD without RELS, last "
                f"{config.holds_window.days} d) (0 at {_fmt(ramp.low)}, 1 at {_fmt(ramp.high)}) -> {s:.2f}"
                for v, s in zip(values, scores)
            ]
        else:
            explain = [
                f"{_fmt(v)} inspection(s) in {config.inspections_window.days} d (DCSA INSP) "
                f"(0 at {_fmt(ramp.low)}, 1 at {_fmt(ramp.high)}) -> {s:.2f}"
                for v, s in zip(values, scores)
            ]
        return scores, explain
    if metric == "advisory_level":
        scores = np.interp(values, [0, 1, 2, 3, 4], list(config.advisory_scores))
        return scores, [f"advisory_level={_fmt(v)} -> {s:.2f}" for v, s in zip(values, scores)]
    ramp = config.ramps[metric]
    scores = _ramp(values, ramp.low, ramp.high)
    explain = [
        f"{metric}={_fmt(v)} (0 at {_fmt(ramp.low)}, 1 at {_fmt(ramp.high)}) -> {s:.2f}"
        for v, s in zip(values, scores)
    ]
    return scores, explain


def _ns(times: pd.Series) -> np.ndarray:
    """Zone-aware times as int64 UTC nanoseconds (NaT = int64 min)."""
    utc = pd.to_datetime(times, utc=True).astype("datetime64[ns, UTC]")
    return utc.dt.tz_convert(None).to_numpy().astype("int64")


def _from_ns(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, unit="ns", utc=True)


def _hours(delta: pd.Series) -> np.ndarray:
    return (delta.dt.total_seconds() / 3600.0).to_numpy(dtype=float)


def _score_rows(
    frame: pd.DataFrame, network: Network, now: datetime, config: ScoringConfig
) -> tuple[pd.DataFrame, dict[str, int], tuple[str, ...], tuple[str, ...]]:
    at = _utc(now)
    history, ignored, unknown_targets = clean_readings(frame, now, network)
    known = config.known_metrics
    metric_known = history["metric"].isin(known)
    unknown_metrics = tuple(sorted(set(history.loc[~metric_known, "metric"])))
    history = _shipment_event_counts(history[metric_known], at, config)
    # Latest per (target, metric): a stable sort keeps input order among equal stamps, last wins.
    latest = _latest(history)
    ignored["superseded"] = len(history) - len(latest)
    limits = {m: config.staleness_for(m).total_seconds() for m in pd.unique(latest["metric"])}
    stale_s = latest["metric"].map(limits).astype(float)
    # An announced change goes stale from when it takes effect, not from the announcement.
    anchor = latest["ts"].where(
        latest["effective_at"].isna() | (latest["effective_at"] <= latest["ts"]),
        latest["effective_at"],
    )
    fresh = ((at - anchor).dt.total_seconds() <= stale_s).astype(bool)
    ignored["stale"] = int((~fresh).sum())
    latest = latest[fresh]
    if latest.empty:  # nothing in force (often, between events): no windows to work out
        ignored["ended"] = 0
        return _no_rows(), ignored, unknown_metrics, unknown_targets
    # When the condition is in force: from effective_at (a rule change with none: from ts), until
    # expected_until, else the metric's own window (rule changes settle, CAP alerts expire, other
    # readings go stale).
    starts = latest["effective_at"]
    until = latest["expected_until"].copy()
    is_rule = latest["metric"] == "rule_change"
    is_cap = latest["metric"] == "cap_alert"
    begins = starts.fillna(latest["ts"])
    until = until.where(until.notna() | ~is_rule, begins + config.rule_change_settle)
    until = until.where(until.notna() | ~is_cap, begins + config.cap_default_duration)
    # An operational reading (a queue, a clearance time, a blockage) holds until it would go
    # stale: it is not assumed to last for ever. Security situations are: attacks and
    # advisories persist until a reading says otherwise.
    persists = latest["dimension"] == "security"
    until = until.where(
        until.notna() | persists, anchor[fresh] + pd.to_timedelta(stale_s[fresh], unit="s")
    )
    ended = until.notna() & (until <= at)
    ignored["ended"] = int(ended.sum())
    latest = latest[~ended]
    until = until[~ended]
    starts = starts[~ended]

    parts: list[pd.DataFrame] = []
    for metric, part in latest.groupby("metric", sort=True):
        raw, explain = _score_metric(str(metric), part, history, network, at, config)
        to_effect = np.nan_to_num(_hours(part["effective_at"] - at), nan=0.0)
        if str(metric) in config.forecast_metrics:
            # A forecast firms up as it nears: value x (1 - time to effect / lead), 0 before.
            lead_h = config.lead_for(str(metric)).total_seconds() / 3600.0
            factor = (
                np.clip(1.0 - np.maximum(to_effect, 0.0) / lead_h, 0.0, 1.0)
                if lead_h > 0
                else (to_effect <= 0).astype(float)
            )
            ahead = f"lead {lead_h:.0f} h"
        else:
            # An announced change scores what it will do, from when it starts (starts_at),
            # as soon as freight could meet it.
            horizon_h = config.announce_horizon.total_seconds() / 3600.0
            factor = (to_effect <= horizon_h).astype(float)
            ahead = "announced"
        scores = np.clip(raw * factor, 0.0, 1.0)
        notes = [
            e if t <= 0 else f"{e}; takes effect in {t:.0f} h ({ahead}) -> {s:.2f}"
            for e, t, s in zip(explain, to_effect, scores)
        ]
        parts.append(
            pd.DataFrame(
                {
                    "target": part["target"].to_numpy(),
                    "dimension": part["dimension"].to_numpy(),
                    "metric": str(metric),
                    "score": scores,
                    "explain": notes,
                    "starts_at": starts[part.index].where(starts[part.index] > at).to_numpy(),
                    "until": until[part.index].to_numpy(),
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True) if parts else _no_rows()
    return rows, ignored, unknown_metrics, unknown_targets


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "target": [],
            "dimension": [],
            "metric": [],
            "score": [],
            "explain": [],
            "starts_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "until": pd.Series(dtype="datetime64[ns, UTC]"),
        }
    )


@cache
def _no_scores() -> pd.DataFrame:
    return _empty_scores().drop(columns=["kind", "country", "via", "sources"])


def combine_rows(rows: pd.DataFrame, at: pd.Timestamp, how: str) -> pd.DataFrame:
    """One score per (target, dimension): max or 1 - prod(1 - s); when in force: from the
    earliest contributing start (NaT = already) to the latest contributing end (NaT = open)."""
    if rows.empty:
        return _no_scores().copy()
    # Plain Python over the rows: a pass has a few dozen at most, where pandas' sorts and
    # group-bys cost far more than the arithmetic.
    scores = rows["score"].tolist()
    metrics = rows["metric"].tolist()
    explains = rows["explain"].tolist()
    begins = _ns(rows["starts_at"]).tolist()
    ends = _ns(rows["until"]).tolist()
    groups: dict[tuple[str, str], list[int]] = {}
    for row, key in enumerate(zip(rows["target"].tolist(), rows["dimension"].tolist())):
        groups.setdefault(key, []).append(row)
    # Within a group the strongest first (ties by metric, then input order): its line leads.
    by_strength = {
        key: sorted(members, key=lambda r: (-scores[r], metrics[r]))
        for key, members in groups.items()
    }
    nat, never = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    targets: list[str] = []
    dimensions: list[str] = []
    combined: list[float] = []
    texts: list[str] = []
    starts: list[float] = []
    until: list[float] = []
    for key in sorted(by_strength):
        members = by_strength[key]
        if how == "noisy_or":
            left = 1.0
            for row in members:
                left *= 1.0 - scores[row]
            score = 1.0 - left
        else:
            score = max(scores[row] for row in members)
        targets.append(key[0])
        dimensions.append(key[1])
        combined.append(min(max(score, 0.0), 1.0))
        texts.append("; ".join(explains[row] for row in members))
        # Windows in int64 nanoseconds: NaT start = already (now), NaT end = open (int64 max).
        active = [row for row in members if scores[row] > 0]
        starts.append(
            min(at.value if begins[r] == nat else begins[r] for r in active) if active else np.nan
        )
        until.append(
            max(never if ends[r] == nat else ends[r] for r in active) if active else np.nan
        )
    # A group with no active row has no window (NaN: the times go through float64 then, as a
    # join with missing rows makes them).
    kind = float if any(math.isnan(a) for a in starts) else np.int64
    begin = np.array(starts, dtype=kind)
    end = np.array(until, dtype=kind)
    return pd.DataFrame(
        {
            "target": targets,
            "dimension": dimensions,
            "score": np.array(combined, dtype=float),
            "explain": texts,
            "starts_at": _from_ns(pd.Series(begin).where(begin > at.value)),
            "until": _from_ns(pd.Series(end).where(end < never)),
        }
    )


def score_signals(
    frame: pd.DataFrame, network: Network, now: datetime, config: ScoringConfig | None = None
) -> ScoreResult:
    """Score every node and lane with readings, per dimension, at `now` (own readings only;
    `twin.scoring.propagate.propagate` then carries node risk onto lanes).

    Parameters
    ----------
    frame : the feeds' signal frame (FRAME_COLUMNS; missing columns are treated as empty).
    network : the twin's network; readings on other targets are ignored and reported.
    now : the time of the pass (zone-aware). Readings stamped after it are not seen yet.
    config : scoring parameters (defaults documented in docs/monitoring.md).

    Never raises on malformed rows: they are counted in `ScoreResult.ignored`.

    >>> from datetime import datetime, timezone
    >>> from twin.domain.records import Network, Node
    >>> net = Network(name="x", nodes=(Node(id="P", kind="port"),), lanes=())
    >>> t = datetime(2024, 1, 2, tzinfo=timezone.utc)
    >>> f = signals_frame([{"ts": t, "source": "s", "dimension": "capacity", "target": "P",
    ...                     "metric": "utilization", "value": 0.925}])
    >>> round(float(score_signals(f, net, t).frame["score"][0]), 3)
    0.5
    """
    config = config or ScoringConfig()
    at = _utc(now)
    rows, ignored, unknown_metrics, unknown_targets = _score_rows(frame, network, now, config)
    combined = combine_rows(rows, at, config.combine)
    combined["explain"] = [
        f"{d} {s:.2f}: {e}"
        for d, s, e in zip(combined["dimension"], combined["score"], combined["explain"])
    ]
    combined["sources"] = [(t,) for t in combined["target"]]
    return ScoreResult(
        frame=annotate(combined, network),
        at=at.to_pydatetime(),
        unknown_metrics=unknown_metrics,
        unknown_targets=unknown_targets,
        ignored=ignored,
    )


def annotate(scores: pd.DataFrame, network: Network) -> pd.DataFrame:
    """Add kind, country and via of each target (labels that alert matchers use)."""
    nodes, lanes = network.node_by_id, network.lane_by_id
    kinds: list[str] = []
    countries: list[str | None] = []
    vias: list[tuple[str, ...]] = []
    for target in scores["target"]:
        if target in nodes:
            node = nodes[target]
            kinds.append(node.kind.value)
            countries.append(node.country)
            vias.append(())
        else:
            lane = lanes.get(target)
            kinds.append("lane")
            countries.append(
                nodes[lane.to].country if lane is not None and lane.to in nodes else None
            )
            vias.append(tuple(lane.via) if lane is not None else ())
    labels = {"kind": kinds, "country": countries, "via": vias}
    # One frame built from the columns (copying a frame, adding three and reordering costs
    # more than the labels on a day's few hundred rows).
    return pd.DataFrame(
        {
            column: labels[column] if column in labels else scores[column].array
            for column in SCORE_COLUMNS
        },
        copy=True,
    )


def _maybe_time(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def to_risk_scores(frame: pd.DataFrame, at: datetime) -> list[RiskScore]:
    """Typed records of a score frame, sorted by target then dimension."""
    out = []
    # The stock dimension's rows carry the warehouse position behind the score (twin.stock).
    has_stock = "stock" in frame.columns
    for row in frame.sort_values(["target", "dimension"]).itertuples(index=False):
        stock = row.stock if has_stock and not _missing(row.stock) else None
        out.append(
            RiskScore(
                target=row.target,
                dimension=row.dimension,
                score=float(row.score),
                explain=row.explain,
                at=at,
                kind=row.kind,
                country=row.country if isinstance(row.country, str) else None,
                via=tuple(row.via),
                sources=tuple(row.sources),
                starts_at=_maybe_time(row.starts_at),
                until=_maybe_time(row.until),
                stock=stock,
            )
        )
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
