"""Compiled loops of the pricing DP (numba): the time-expanded shortest paths of `columns`.

The DP visits each (day, node, start point) once and relaxes the lanes out of the pairs that
improved; written as numpy calls it paid ~30 calls of interpreter and allocation overhead per
day per run for ~1,000 arcs of work, which made pricing most of a congested plan
(docs/planner.md). The rules, and so every value, are those of `columns.time_expanded_costs`;
`tests/optimise/test_pricing_dp.py` checks them against a plain DP that relaxes every arc on
every day.
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.inf


@njit(cache=True, nogil=True)
def reset_nodes(dist: np.ndarray, reached: np.ndarray) -> None:
    """Set dist[:, v, :] back to inf for every node v marked in `reached` (a run writes
    nothing else), so a buffer is clean again without filling all of it."""
    for v in range(dist.shape[1]):
        if reached[v]:
            dist[:, v, :] = INF


@njit(cache=True, nogil=True)
def time_expanded_dp(
    dist: np.ndarray,
    reached: np.ndarray,
    sources: np.ndarray,
    starts: np.ndarray,
    frm: np.ndarray,
    to: np.ndarray,
    dur: np.ndarray,
    cost: np.ndarray,
    out_start: np.ndarray,
    out_lanes: np.ndarray,
    adjust: np.ndarray,
    has_adjust: bool,
    room: np.ndarray,
    daily_room: bool,
    has_room: bool,
    need: np.ndarray,
    bound: np.ndarray,
    has_bound: bool,
    active_start: np.ndarray,
    active: np.ndarray,
    last_day: np.ndarray,
) -> None:
    """Fill `dist` (H+1, nodes, K; all inf on entry) with the least cost of being at each
    node by each day from each start point (sources[k] on day starts[k]); mark in `reached`
    (nodes; all False on entry) every node it wrote to.

    Each day: a start point's source gets 0; a (node, start point) pair keeps the better of
    its value and the day before's (waiting); a pair whose value improved that day (and is
    below its bound, when has_bound) relaxes the lanes out of its node. An unchanged pair's
    arcs cost what they cost when it last improved and arrive later, so waiting at the far
    end already gives that or better — except on a lane whose step cost fell (a capacity
    dual on an earlier day only) or whose room grew: those (`columns.changed_lanes`, by
    day) are relaxed from every pair that day. room is (H+1, lanes) by departure day when
    daily_room, else (1, lanes); an arc with room below need[k] is closed to start point k
    (has_room).
    Only nodes reached so far are visited each day: the others are inf on every day. Start
    point k is followed to day last_day[k] only (later days stay inf; `columns._bound`).
    """
    horizon = dist.shape[0] - 1
    n_nodes = dist.shape[1]
    k = dist.shape[2]
    if k == 0:
        return
    first = starts.min()
    # Per start point, the nodes it has reached, in the order reached: each day visits those
    # only (a chunk's start points reach ~6 times fewer nodes each than all of them together
    # on the XL re-plan, and the day-by-day waiting step was most of a run).
    seen = np.zeros((n_nodes, k), dtype=np.bool_)
    nodes_of = np.empty((k, n_nodes), dtype=np.int64)
    count = np.zeros(k, dtype=np.int64)
    for t in range(first, horizon + 1):
        room_row = t if daily_room else 0
        for j in range(k):
            if starts[j] == t:
                v = sources[j]
                dist[t, v, j] = 0.0
                reached[v] = True
                if not seen[v, j]:
                    seen[v, j] = True
                    nodes_of[j, count[j]] = v
                    count[j] += 1
            if t > last_day[j]:
                continue
            for r in range(count[j]):
                v = nodes_of[j, r]
                cur = dist[t, v, j]
                prev = dist[t - 1, v, j] if t > 0 else INF
                if not cur < prev:
                    dist[t, v, j] = prev
                    continue
                if has_bound and not cur < bound[v, j]:
                    continue
                for i in range(out_start[v], out_start[v + 1]):
                    lane = out_lanes[i]
                    arrive = t + dur[lane]
                    if arrive > horizon or arrive > last_day[j]:
                        continue
                    if has_room and room[room_row, lane] < need[j] - 1e-9:
                        continue
                    step = cost[lane] + adjust[lane, t] if has_adjust else cost[lane]
                    w = to[lane]
                    cand = cur + step
                    if cand < dist[arrive, w, j]:
                        dist[arrive, w, j] = cand
                        reached[w] = True
                        if not seen[w, j]:
                            seen[w, j] = True
                            nodes_of[j, count[j]] = w
                            count[j] += 1
        if t == first:
            continue
        # Lanes whose step cost fell or whose room grew since the day before: relaxed
        # from every pair (an unchanged pair may now get somewhere cheaper, or fit).
        for i in range(active_start[t], active_start[t + 1]):
            lane = active[i]
            v = frm[lane]
            arrive = t + dur[lane]
            if not reached[v] or arrive > horizon:
                continue
            step = cost[lane] + adjust[lane, t] if has_adjust else cost[lane]
            w = to[lane]
            for j in range(k):
                if arrive > last_day[j] or not seen[v, j]:
                    continue
                cur = dist[t, v, j]
                if not cur < INF or (has_bound and not cur < bound[v, j]):
                    continue
                if has_room and room[room_row, lane] < need[j] - 1e-9:
                    continue
                cand = cur + step
                if cand < dist[arrive, w, j]:
                    dist[arrive, w, j] = cand
                    reached[w] = True
                    if not seen[w, j]:
                        seen[w, j] = True
                        nodes_of[j, count[j]] = w
                        count[j] += 1


@njit(cache=True, nogil=True)
def _grow(a: np.ndarray, size: int) -> np.ndarray:
    if size <= a.shape[0]:
        return a
    b = np.empty(max(size, 2 * a.shape[0]), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@njit(cache=True, nogil=True)
def trace(
    dist: np.ndarray,
    key: int,
    source: int,
    dest: int,
    arrival: int,
    frm: np.ndarray,
    dur: np.ndarray,
    cost: np.ndarray,
    in_start: np.ndarray,
    in_lanes: np.ndarray,
    adjust: np.ndarray,
    has_adjust: bool,
    room: np.ndarray,
    daily_room: bool,
    need: float,
) -> np.ndarray:
    """Walk back from (dest, arrival) to the source along arcs whose costs explain `dist`:
    waiting first, else the first lane into the node (in-lane order) that explains its
    value. Returns the legs as rows (lane, departure day), source first; no rows when it
    loses its way (float drift; `columns.trace_route` raises)."""
    lanes = np.empty(32, dtype=np.int64)
    days = np.empty(32, dtype=np.int64)
    n = 0
    t, v = arrival, dest
    val = dist[t, v, key]
    tol = 1e-9 * max(1.0, abs(val))
    while not (v == source and val == 0.0):
        if t > 0 and dist[t - 1, v, key] <= val + tol:
            t -= 1
            val = dist[t, v, key]
            continue
        found = False
        for e in range(in_start[v], in_start[v + 1]):
            lane = in_lanes[e]
            d = dur[lane]
            if t - d < 0:
                continue
            if need > 0.0 and room[t - d if daily_room else 0, lane] < need - 1e-9:
                continue
            step = cost[lane] + adjust[lane, t - d] if has_adjust else cost[lane]
            cand = dist[t - d, frm[lane], key] + step
            if abs(cand - val) <= tol:
                lanes = _grow(lanes, n + 1)
                days = _grow(days, n + 1)
                lanes[n], days[n] = lane, t - d
                n += 1
                t -= d
                v = frm[lane]
                val = dist[t, v, key]
                found = True
                break
        if not found:
            return np.empty((0, 2), dtype=np.int64)
    out = np.empty((n, 2), dtype=np.int64)
    for i in range(n):
        out[i, 0] = lanes[n - 1 - i]
        out[i, 1] = days[n - 1 - i]
    return out
