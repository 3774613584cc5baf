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
from twin.scoring.scorers import SCORE_COLUMNS, ScoreResult, annotate, score_signals

# Contributors named in a lane's explanation, strongest first; the rest are counted.
_MAX_NAMED = 3


# The last network's links and the last propagation (one each): the engine rescores the same
# network every day, and on many days its own scores are those of the day before.
_links: tuple[Network, pd.DataFrame] | None = None
_last: tuple[Network, ScoringConfig, pd.DataFrame, pd.DataFrame] | None = None
_KEEP_ROWS = 10_000


def lane_links(network: Network) -> pd.DataFrame:
    """One row per (lane, node, role) with role `via`, `arrive` or `depart` (worked out once
    for the network last asked about; do not modify the frame)."""
    global _links
    if _links is None or _links[0] is not network:
        _links = (network, _lane_links(network))
    return _links[1]


def _lane_links(network: Network) -> pd.DataFrame:
    lanes: list[str] = []
    nodes: list[str] = []
    roles: list[str] = []
    for lane in network.lanes:
        links = [(member, "via") for member in lane.via]
        links += [(lane.to, "arrive"), (lane.from_, "depart")]
        for node, role in links:
            lanes.append(lane.id)
            nodes.append(node)
            roles.append(role)
    return pd.DataFrame({"lane": lanes, "node": nodes, "role": roles})


def _factors(roles: pd.Series, dimensions: pd.Series, config: ScoringConfig) -> np.ndarray:
    via = np.full(len(roles), config.via_factor)
    arrive = dimensions.map(config.arrive_factors).fillna(0.0).to_numpy(dtype=float)
    depart = dimensions.map(config.depart_factors).fillna(0.0).to_numpy(dtype=float)
    role = roles.to_numpy()
    return np.where(role == "via", via, np.where(role == "arrive", arrive, depart))


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
    node_ids = set(network.node_by_id)
    is_node = scores["target"].isin(node_ids)
    node_scores = scores[is_node & (scores["score"] > 0)]
    own_lanes = scores[~is_node]
    if node_scores.empty or not network.lanes:
        return scores.reset_index(drop=True)
    links = lane_links(network)
    reach = links.merge(node_scores, left_on="node", right_on="target")
    reach["factor"] = _factors(reach["role"], reach["dimension"], config)
    reach["carried"] = reach["score"] * reach["factor"]
    reach = reach[reach["carried"] > 0]
    if reach.empty:
        return scores.reset_index(drop=True)
    reach = reach.sort_values(["carried", "node"], ascending=[False, True], kind="stable")
    # Drop the "dimension score:" prefix of the node's explanation: the lane's line repeats it.
    detail = [text.split(": ", 1)[-1] for text in reach["explain"]]
    reach["line"] = [
        f"from {n} ({r}{'' if f == 1 else f' x{f:g}'}) {c:.2f}: {d}"
        for n, r, f, c, d in zip(
            reach["node"], reach["role"], reach["factor"], reach["carried"], detail
        )
    ]
    # Strongest first, so the first row of each (lane, dimension) is the one that counts.
    best = reach.drop_duplicates(["lane", "dimension"], keep="first").sort_values(
        ["lane", "dimension"]
    )
    lines: dict[tuple[str, str], list[str]] = {}
    sources: dict[tuple[str, str], dict[str, None]] = {}
    for key, node, line in zip(
        zip(reach["lane"], reach["dimension"]), reach["node"], reach["line"]
    ):
        lines.setdefault(key, []).append(line)
        sources.setdefault(key, {})[node] = None
    keys = list(zip(best["lane"], best["dimension"]))
    carried = pd.DataFrame(
        {
            "target": best["lane"].to_numpy(),
            "dimension": best["dimension"].to_numpy(),
            "p_score": best["carried"].to_numpy(),
            "p_starts": best["starts_at"].to_numpy(),
            "p_until": best["until"].to_numpy(),
        }
    )
    carried["p_explain"] = [
        "; ".join(lines[k][:_MAX_NAMED])
        + (f"; and {len(lines[k]) - _MAX_NAMED} more" if len(lines[k]) > _MAX_NAMED else "")
        for k in keys
    ]
    carried["p_sources"] = [tuple(sources[k]) for k in keys]
    merged = own_lanes.merge(carried, on=["target", "dimension"], how="outer")
    own = merged["score"].fillna(-1.0).to_numpy(dtype=float)
    prop = merged["p_score"].fillna(-1.0).to_numpy(dtype=float)
    use_prop = prop > own
    out = pd.DataFrame({"target": merged["target"], "dimension": merged["dimension"]})
    out["score"] = np.clip(np.maximum(own, prop), 0.0, 1.0)
    own_text = [t.split(": ", 1)[-1] if isinstance(t, str) else "" for t in merged["explain"]]
    out["explain"] = [
        f"{d} {s:.2f}: "
        + " | ".join(
            x
            for x in (
                f"own: {o}" if isinstance(o, str) and o else "",
                p if isinstance(p, str) else "",
            )
            if x
        )
        for d, s, o, p in zip(out["dimension"], out["score"], own_text, merged["p_explain"])
    ]
    out["sources"] = [
        tuple(
            dict.fromkeys(((t,) if o >= 0 else ()) + (tuple(ps) if isinstance(ps, tuple) else ()))
        )
        for t, o, ps in zip(merged["target"], own, merged["p_sources"])
    ]
    out["starts_at"] = pd.to_datetime(
        merged["p_starts"].where(use_prop, merged["starts_at"]), utc=True
    )
    out["until"] = pd.to_datetime(merged["p_until"].where(use_prop, merged["until"]), utc=True)
    lanes = annotate(out, network)
    nodes = scores[is_node]
    if nodes.empty:
        return lanes
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
