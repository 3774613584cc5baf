"""Lane propagation and the combining of a target's readings, done in plain Python (pandas'
per-operation cost dominated the small frames a replay scores every day), give exactly what the
pandas formulation they replaced gave: the same frame, row order, dtypes and text, on random
score frames with ties, zero scores, lanes with scores of their own, open and closed windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from twin.bench.signals import bench_network
from twin.domain.records import Network
from twin.scoring.config import ScoringConfig
from twin.scoring.propagate import _propagate
from twin.scoring.scorers import SCORE_COLUMNS, _from_ns, _ns, annotate, combine_rows

NOW = pd.Timestamp(datetime(2024, 1, 10, tzinfo=UTC))
DIMENSIONS = ("capacity", "congestion", "customs", "security", "weather")


# --- the pandas formulations (as they were), the reference -----------------------------------


def _reference_links(network: Network) -> pd.DataFrame:
    rows = [
        (lane.id, node, role)
        for lane in network.lanes
        for node, role in [(m, "via") for m in lane.via]
        + [(lane.to, "arrive"), (lane.from_, "depart")]
    ]
    return pd.DataFrame(rows, columns=["lane", "node", "role"])


def _reference_propagate(
    scores: pd.DataFrame, network: Network, config: ScoringConfig
) -> pd.DataFrame:
    is_node = scores["target"].isin(set(network.node_by_id))
    node_scores = scores[is_node & (scores["score"] > 0)]
    own_lanes = scores[~is_node]
    if node_scores.empty or not network.lanes:
        return scores.reset_index(drop=True)
    reach = _reference_links(network).merge(node_scores, left_on="node", right_on="target")
    role, dims = reach["role"].to_numpy(), reach["dimension"]
    arrive = dims.map(config.arrive_factors).fillna(0.0).to_numpy(dtype=float)
    depart = dims.map(config.depart_factors).fillna(0.0).to_numpy(dtype=float)
    reach["factor"] = np.where(
        role == "via", config.via_factor, np.where(role == "arrive", arrive, depart)
    )
    reach["carried"] = reach["score"] * reach["factor"]
    reach = reach[reach["carried"] > 0]
    if reach.empty:
        return scores.reset_index(drop=True)
    reach = reach.sort_values(["carried", "node"], ascending=[False, True], kind="stable")
    detail = [text.split(": ", 1)[-1] for text in reach["explain"]]
    reach["line"] = [
        f"from {n} ({r}{'' if f == 1 else f' x{f:g}'}) {c:.2f}: {d}"
        for n, r, f, c, d in zip(
            reach["node"], reach["role"], reach["factor"], reach["carried"], detail
        )
    ]
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
        "; ".join(lines[k][:3]) + (f"; and {len(lines[k]) - 3} more" if len(lines[k]) > 3 else "")
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


def _reference_combine(rows: pd.DataFrame, at: pd.Timestamp, how: str) -> pd.DataFrame:
    rows = rows.sort_values(["score", "metric"], ascending=[False, True], kind="stable")
    keys = ["target", "dimension"]
    grouped = rows.groupby(keys, sort=True)
    if how == "noisy_or":
        score = 1.0 - (1.0 - rows["score"]).groupby([rows["target"], rows["dimension"]]).prod()
    else:
        score = grouped["score"].max()
    texts: dict[tuple[str, str], list[str]] = {}
    for key, text in zip(zip(rows["target"], rows["dimension"]), rows["explain"]):
        texts.setdefault(key, []).append(text)
    explain = pd.Series({key: "; ".join(parts) for key, parts in texts.items()})
    explain.index.names = keys
    active = rows["score"].to_numpy(dtype=float) > 0
    nat = np.iinfo(np.int64).min
    begin = _ns(rows["starts_at"])
    begin = np.where(begin == nat, at.value, begin)
    end = _ns(rows["until"])
    end = np.where(end == nat, np.iinfo(np.int64).max, end)
    windows = pd.DataFrame(
        {
            "target": rows["target"].to_numpy(),
            "dimension": rows["dimension"].to_numpy(),
            "begin": begin,
            "end": end,
        }
    )[active]
    spans = windows.groupby(keys, sort=True).agg(begin=("begin", "min"), end=("end", "max"))
    out = (
        pd.DataFrame({"score": score.clip(0.0, 1.0), "explain": explain}).join(spans).reset_index()
    )
    out["starts_at"] = _from_ns(out["begin"].where(out["begin"] > at.value))
    out["until"] = _from_ns(out["end"].where(out["end"] < np.iinfo(np.int64).max))
    return out.drop(columns=["begin", "end"])


# --- random inputs ----------------------------------------------------------------------------


def _times(rng: np.random.Generator, n: int) -> pd.Series:
    """Zoned times around NOW (some to the second, some whole hours), a third of them NaT."""
    values = [
        None
        if rng.random() < 0.33
        else NOW
        + timedelta(
            hours=int(rng.integers(-300, 300)),
            seconds=int(rng.integers(0, 2)) * int(rng.integers(0, 3600)),
        )
        for _ in range(n)
    ]
    return pd.Series(pd.to_datetime(values, utc=True)).astype("datetime64[us, UTC]")


def _scores(rng: np.random.Generator, network: Network, nodes: int, lanes: int) -> pd.DataFrame:
    """A score frame as score_signals makes it: one row per (target, dimension), scores on a
    coarse grid (ties), some zero."""
    node_ids = sorted(network.node_by_id)
    lane_ids = sorted(network.lane_by_id)
    keys = {(str(rng.choice(node_ids)), str(rng.choice(DIMENSIONS))) for _ in range(nodes)} | {
        (str(rng.choice(lane_ids)), str(rng.choice(DIMENSIONS))) for _ in range(lanes)
    }
    keys_sorted = sorted(keys)
    n = len(keys_sorted)
    score = rng.integers(0, 5, n) / 4.0
    frame = pd.DataFrame(
        {
            "target": [k[0] for k in keys_sorted],
            "dimension": [k[1] for k in keys_sorted],
            "score": score,
            "explain": [
                f"{k[1]} {s:.2f}: reading {i}" for i, (k, s) in enumerate(zip(keys_sorted, score))
            ],
            "sources": [(k[0],) for k in keys_sorted],
            "starts_at": _times(rng, n).astype("datetime64[ns, UTC]"),
            "until": _times(rng, n).astype("datetime64[ns, UTC]"),
        }
    )
    return annotate(frame, network)


@pytest.fixture(scope="module")
def network() -> Network:
    return bench_network()


@pytest.mark.parametrize("seed", range(12))
def test_propagation_equals_the_pandas_formulation(network: Network, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = _scores(rng, network, nodes=int(rng.integers(1, 40)), lanes=int(rng.integers(0, 60)))
    config = ScoringConfig() if seed % 3 else ScoringConfig(via_factor=0.5)
    got = _propagate(scores, network, config)
    want = _reference_propagate(scores, network, config)
    assert list(got.dtypes) == list(want.dtypes)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert len(got) > len(scores)  # lanes gained risk: the case under test was exercised


def test_propagation_of_lanes_alone_passes_them_through(network: Network) -> None:
    scores = _scores(np.random.default_rng(7), network, nodes=0, lanes=20)
    scores = scores[scores["kind"] == "lane"].reset_index(drop=True)
    got = _propagate(scores, network, ScoringConfig())
    pd.testing.assert_frame_equal(got, _reference_propagate(scores, network, ScoringConfig()))


@pytest.mark.parametrize("how", ["max", "noisy_or"])
@pytest.mark.parametrize("seed", range(10))
def test_combining_equals_the_pandas_formulation(how: str, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 60))
    targets = [f"T{i}" for i in rng.integers(0, 8, n)]
    rows = pd.DataFrame(
        {
            "target": targets,
            "dimension": [str(d) for d in rng.choice(DIMENSIONS[:3], n)],
            "metric": [f"m{i}" for i in rng.integers(0, 4, n)],
            # Coarse scores: ties, and groups whose every reading scores zero (no window).
            "score": rng.integers(0, 4, n) / 3.0,
            "explain": [f"reading {i}" for i in range(n)],
            "starts_at": _times(rng, n).to_numpy(),
            "until": _times(rng, n).to_numpy(),
        }
    )
    got = combine_rows(rows, NOW, how)
    want = _reference_combine(rows, NOW, how)
    assert list(got.dtypes) == list(want.dtypes)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
