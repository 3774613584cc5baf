"""Which signal rows the scorers can use: a target in the network and a metric they score.

A row naming `SEUZ` or `windkt` would be stored and never scored: detection silently off for
it. Feeds call `unscorable` to quarantine such rows with the reason and the nearest known name.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from twin.domain.problems import did_you_mean
from twin.domain.records import Network
from twin.scoring.config import ScoringConfig


def scored_metrics(config: ScoringConfig | None = None) -> frozenset[str]:
    """The metrics a scoring configuration scores (its ramps and the special rules)."""
    return (config or ScoringConfig()).known_metrics


def unscorable(
    frame: pd.DataFrame,
    network: Network | None,
    metrics: Collection[str],
) -> pd.Series:
    """Per row of a signal frame (columns `target`, `metric`), why it cannot be scored, or None.

    A target is checked only where there is one and a network to check it against (an area
    signal read without a network has none yet).
    """
    reasons = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if frame.empty:
        return reasons
    known_metrics = set(metrics)
    metric_reason = {
        name: f"metric {name!r} is not scored ({did_you_mean(str(name), known_metrics)})"
        for name in frame["metric"].dropna().unique()
        if name not in known_metrics
    }
    if metric_reason:
        bad = frame["metric"].map(metric_reason)
        reasons = reasons.where(bad.isna(), bad)
    if network is not None:
        ids = set(network.node_by_id) | set(network.lane_by_id)
        target_reason = {
            name: f"target {name!r} is not a node or lane of network {network.name} "
            f"({did_you_mean(str(name), ids)})"
            for name in frame["target"].dropna().unique()
            if name not in ids
        }
        if target_reason:
            bad = frame["target"].map(target_reason)
            both = bad.notna() & reasons.notna()
            reasons = reasons.where(bad.isna(), bad)
            reasons[both] = bad[both] + "; " + frame.loc[both, "metric"].map(metric_reason)
    return reasons
