"""Carry node risk onto lanes: a chokepoint or border in a lane's `via`, and the lane's two ends.

Rule (attenuation in ScoringConfig): a node in `via` gives the lane its score x via_factor (1.0:
a closed Suez closes every lane through it); the node a lane arrives at gives score x
arrive_factors[dimension] (customs at the port of entry delays every lane into it); the node it
leaves gives score x depart_factors[dimension]. The lane's score is max(own, propagated), its
explanation names where the risk came from.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from twin.domain.records import Network
from twin.scoring.config import ScoringConfig
from twin.scoring.scorers import (
    SCORE_COLUMNS,
    ScoreResult,
    _from_ns,
    _ns,
    annotate,
    score_signals,
)

# Contributors named in a lane's explanation, strongest first; the rest are counted.
_MAX_NAMED = 3


# The last network's links and the last propagation (one each): the engine rescores the same
# network every day, and on many days its own scores are those of the day before.
_links: tuple[Network, dict[str, list[tuple[str, str]]]] | None = None
_last: tuple[Network, ScoringConfig, pd.DataFrame, pd.DataFrame] | None = None
_KEEP_ROWS = 10_000


def lane_links(network: Network) -> dict[str, list[tuple[str, str]]]:
    """Node -> the (lane, role) pairs it touches, role `via`, `arrive` or `depart`, in lane
    order (worked out once for the network last asked about; do not modify it)."""
    global _links
    if _links is None or _links[0] is not network:
        _links = (network, _lane_links(network))
    return _links[1]


def _lane_links(network: Network) -> dict[str, list[tuple[str, str]]]:
    links: dict[str, list[tuple[str, str]]] = {}
    for lane in network.lanes:
        touched = [(member, "via") for member in lane.via]
        touched += [(lane.to, "arrive"), (lane.from_, "depart")]
        for node, role in touched:
            links.setdefault(node, []).append((lane.id, role))
    return links


def _factor(role: str, dimension: str, config: ScoringConfig) -> float:
    if role == "via":
        return config.via_factor
    factors = config.arrive_factors if role == "arrive" else config.depart_factors
    return float(factors.get(dimension, 0.0))


def propagate(
    scores: pd.DataFrame, network: Network, config: ScoringConfig | None = None
) -> pd.DataFrame:
    """Node scores plus lane scores = max(own, propagated from via members and lane ends).

    `scores` is a score frame (SCORE_COLUMNS) of own readings, as made by `score_signals`.
    Node rows pass through unchanged; lane rows gain the risk of the nodes they touch.
    """
    global _last
    config = config or ScoringConfig()
    if (
        _last is not None
        and _last[0] is network
        and (_last[1] is config or _last[1] == config)
        and _last[2].equals(scores)
    ):
        return _last[3].copy()
    out = _propagate(scores, network, config)
    # Kept for small frames only (a bulk run's copies would cost more than they save).
    _last = (network, config, scores.copy(), out.copy()) if len(scores) <= _KEEP_ROWS else None
    return out


def _propagate(scores: pd.DataFrame, network: Network, config: ScoringConfig) -> pd.DataFrame:
    # Plain Python over the rows: a day's frame has a few node scores and a few hundred lanes,
    # where pandas' merges and sorts cost far more than the arithmetic.
    nodes_by_id = network.node_by_id
    targets = scores["target"].tolist()
    dimensions = scores["dimension"].tolist()
    values = scores["score"].tolist()
    explains = scores["explain"].tolist()
    starts = _ns(scores["starts_at"])
    until = _ns(scores["until"])
    is_node = [t in nodes_by_id for t in targets]
    node_rows: dict[str, list[int]] = {}
    for row, (target, on_node, value) in enumerate(zip(targets, is_node, values)):
        if on_node and value > 0:
            node_rows.setdefault(target, []).append(row)
    if not node_rows or not network.lanes:
        return scores.reset_index(drop=True)
    # Each node's risk reaching each lane it touches: (carried, node, lane, dimension, line,
    # row), in link order (lanes in network order) and each node's rows in frame order.
    reach: list[tuple[float, str, str, str, str, int]] = []
    for node, links in lane_links(network).items():
        rows = node_rows.get(node)
        if rows is None:
            continue
        for lane, role in links:
            for row in rows:
                dimension = dimensions[row]
                factor = _factor(role, dimension, config)
                carried = values[row] * factor
                if carried > 0:
                    # Drop the "dimension score:" prefix of the node's explanation: the
                    # lane's line repeats it.
                    detail = explains[row].split(": ", 1)[-1]
                    scale = "" if factor == 1 else f" x{factor:g}"
                    line = f"from {node} ({role}{scale}) {carried:.2f}: {detail}"
                    reach.append((carried, node, lane, dimension, line, row))
    if not reach:
        return scores.reset_index(drop=True)
    # Strongest first (ties by node), so the first line of each (lane, dimension) counts.
    reach.sort(key=lambda r: (-r[0], r[1]))
    best: dict[tuple[str, str], tuple[float, int]] = {}
    lines: dict[tuple[str, str], list[str]] = {}
    sources: dict[tuple[str, str], dict[str, None]] = {}
    for carried, node, lane, dimension, line, row in reach:
        key = (lane, dimension)
        best.setdefault(key, (carried, row))
        lines.setdefault(key, []).append(line)
        sources.setdefault(key, {})[node] = None
    own = {
        (target, dimension): row
        for row, (target, dimension, on_node) in enumerate(zip(targets, dimensions, is_node))
        if not on_node
    }
    out_target: list[str] = []
    out_dimension: list[str] = []
    out_score: list[float] = []
    out_explain: list[str] = []
    out_sources: list[tuple[str, ...]] = []
    out_starts: list[int] = []
    out_until: list[int] = []
    for key in sorted(own.keys() | best.keys()):
        lane, dimension = key
        mine = own.get(key)
        carried = best.get(key)
        own_score = values[mine] if mine is not None else -1.0
        prop_score = carried[0] if carried is not None else -1.0
        score = min(max(own_score, prop_score, 0.0), 1.0)
        parts = []
        if mine is not None:
            text = explains[mine]
            own_text = text.split(": ", 1)[-1] if isinstance(text, str) else ""
            if own_text:
                parts.append(f"own: {own_text}")
        if carried is not None:
            named = lines[key]
            more = len(named) - _MAX_NAMED
            parts.append("; ".join(named[:_MAX_NAMED]) + (f"; and {more} more" if more > 0 else ""))
        out_target.append(lane)
        out_dimension.append(dimension)
        out_score.append(score)
        out_explain.append(f"{dimension} {score:.2f}: " + " | ".join(parts))
        from_own = (lane,) if mine is not None else ()
        from_nodes = tuple(sources[key]) if carried is not None else ()
        out_sources.append(tuple(dict.fromkeys(from_own + from_nodes)))
        # The window of whichever counts: the carried risk where it is stronger than own.
        window_row = carried[1] if carried is not None and prop_score > own_score else mine
        assert window_row is not None
        out_starts.append(int(starts[window_row]))
        out_until.append(int(until[window_row]))
    lanes = pd.DataFrame(
        {
            "target": out_target,
            "dimension": out_dimension,
            "score": np.array(out_score, dtype=float),
            "explain": out_explain,
            "sources": out_sources,
            "starts_at": _from_ns(pd.Series(out_starts, dtype=np.int64)),
            "until": _from_ns(pd.Series(out_until, dtype=np.int64)),
        }
    )
    lanes = annotate(lanes, network)
    if not any(is_node):
        return lanes
    nodes = scores[np.array(is_node)]
    return pd.concat([nodes[list(SCORE_COLUMNS)], lanes], ignore_index=True)


def assess(
    frame: pd.DataFrame, network: Network, now: datetime, config: ScoringConfig | None = None
) -> ScoreResult:
    """Score every node and lane at `now`, then propagate: the monitors' one pass.

    The result's frame holds nodes with their own scores and lanes with max(own, propagated).
    """
    config = config or ScoringConfig()
    result = score_signals(frame, network, now, config)
    return ScoreResult(
        frame=propagate(result.frame, network, config),
        at=result.at,
        unknown_metrics=result.unknown_metrics,
        unknown_targets=result.unknown_targets,
        ignored=result.ignored,
    )
