"""The stock projection against hand-counted days and a plain day-by-day loop."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from twin.stock.projection import NO_STOCKOUT, project

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_hand_counted_pair() -> None:
    # 10 on hand, 3 a day, 6 arriving on day 2, 8 days:
    # end of day 0: 7, 1: 4, 2: 4+6-3 = 7, 3: 4, 4: 1, 5: 1 sold 2 lost, 6: 3 lost, 7: 3 lost.
    demand = np.full((1, 8), 3.0)
    inbound = np.zeros((1, 8))
    inbound[0, 2] = 6.0
    p = project([10.0], demand, inbound, [5.0], NOW)
    assert p.stock[0].tolist() == [7, 4, 7, 4, 1, 0, 0, 0]
    assert p.sold[0].tolist() == [3, 3, 3, 3, 3, 1, 0, 0]
    assert p.lost[0].tolist() == [0, 0, 0, 0, 0, 2, 3, 3]
    assert p.stockout_day[0] == 5
    assert p.days_short[0] == 3
    assert p.units_lost[0] == 8
    assert p.margin_lost[0] == 40  # 8 units x 5 margin
    assert p.cover_days[0] == 3  # 10 on hand alone covers days 0-2 (9 units), not day 3


def test_inbound_arriving_after_a_shortage_refills_the_shelf() -> None:
    # 2 on hand, 2 a day, 10 arrive on day 3: out on days 1 and 2, back on day 3.
    demand = np.full((1, 6), 2.0)
    inbound = np.zeros((1, 6))
    inbound[0, 3] = 10.0
    p = project([2.0], demand, inbound, [1.0], NOW)
    assert p.lost[0].tolist() == [0, 2, 2, 0, 0, 0]
    assert p.stock[0].tolist() == [0, 0, 0, 8, 6, 4]
    assert p.stockout_day[0] == 1
    assert p.days_short[0] == 2


def test_no_stockout_and_many_pairs_at_once() -> None:
    demand = np.array([[1.0, 1.0, 1.0], [5.0, 0.0, 5.0]])
    p = project([10.0, 5.0], demand, np.zeros((2, 3)), [1.0, 2.0], NOW)
    assert p.stockout_day.tolist() == [NO_STOCKOUT, 2]
    assert p.cover_days.tolist() == [3, 2]
    assert p.units_lost.tolist() == [0.0, 5.0]
    assert p.margin_lost.tolist() == [0.0, 10.0]


def test_bad_shapes_and_negative_values_are_refused() -> None:
    with pytest.raises(ValueError, match="inbound"):
        project([1.0], np.ones((1, 3)), np.ones((1, 2)), [1.0], NOW)
    with pytest.raises(ValueError, match="demand"):
        project([1.0], -np.ones((1, 3)), np.ones((1, 3)), [1.0], NOW)
    with pytest.raises(ValueError, match="on_hand"):
        project([-1.0], np.ones((1, 3)), np.ones((1, 3)), [1.0], NOW)


def _loop(start: float, demand: np.ndarray, inbound: np.ndarray) -> tuple[list[float], list[float]]:
    stock, sold = start, []
    ends = []
    for d, i in zip(demand, inbound):
        available = stock + i
        s = min(available, d)
        sold.append(s)
        stock = available - s
        ends.append(stock)
    return sold, ends


amounts = st.floats(0, 1000, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda p: st.integers(1, 30).flatmap(
            lambda h: st.tuples(
                arrays(np.float64, p, elements=amounts),
                arrays(np.float64, (p, h), elements=amounts),
                arrays(np.float64, (p, h), elements=amounts),
            )
        )
    )
)
def test_conservation_and_the_day_by_day_loop(case: tuple[np.ndarray, ...]) -> None:
    on_hand, demand, inbound = case
    p = project(on_hand, demand, inbound, np.ones(len(on_hand)), NOW)
    scale = 1e-9 * (1 + on_hand.sum() + demand.sum() + inbound.sum())
    # On hand + inbound - sold - end stock = 0; lost = demand - sold; nothing negative.
    balance = on_hand + inbound.sum(axis=1) - p.sold.sum(axis=1) - p.stock[:, -1]
    assert np.all(np.abs(balance) <= scale * 10)
    assert np.allclose(p.lost, demand - p.sold, atol=scale)
    assert np.all(p.stock >= 0) and np.all(p.sold >= -scale) and np.all(p.lost >= -scale)
    assert np.all(p.sold <= demand + scale)
    for k in range(len(on_hand)):
        sold, ends = _loop(on_hand[k], demand[k], inbound[k])
        assert np.allclose(p.sold[k], sold, atol=scale * 10)
        assert np.allclose(p.stock[k], ends, atol=scale * 10)


def test_blocks_of_pairs_give_the_same_projection(monkeypatch: pytest.MonkeyPatch) -> None:
    from twin.stock import projection

    rng = np.random.default_rng(3)
    on_hand = rng.integers(0, 50, 11).astype(float)
    demand = rng.gamma(1.0, 3.0, (11, 20))
    inbound = np.where(rng.random((11, 20)) < 0.1, 30.0, 0.0)
    whole = project(on_hand, demand, inbound, np.ones(11), NOW)
    monkeypatch.setattr(projection, "BLOCK", 3)
    blocked = project(on_hand, demand, inbound, np.ones(11), NOW)
    assert np.array_equal(whole.stock, blocked.stock)
    assert np.array_equal(whole.lost, blocked.lost)
    assert np.array_equal(whole.cover_days, blocked.cover_days)
    for k in range(11):
        _, ends = _loop(on_hand[k], demand[k], inbound[k])
        assert np.allclose(blocked.stock[k], ends)


def test_units_leaving_come_off_the_shelf_from_their_day() -> None:
    # 100 on hand, 10 sold a day; a transfer takes 30 on day 2. Counted by hand: end stock
    # 90, 80, 40, 30, 20, 10, 0, then nothing left to sell from day 7 (3 days, 30 units short
    # over 10 days), where without the transfer the 100 last the 10 days exactly.
    demand = np.full((1, 10), 10.0)
    outflow = np.zeros((1, 10))
    outflow[0, 2] = 30.0
    inbound = np.zeros((1, 10))
    stays = project([100.0], demand, inbound, [2.0], NOW)
    leaves = project([100.0], demand, inbound, [2.0], NOW, outflow=outflow)
    assert leaves.stock[0].tolist() == [90, 80, 40, 30, 20, 10, 0, 0, 0, 0]
    # Exactly the 30 fewer from day 2 on, until the shelf would have run dry anyway.
    assert stays.stock[0] - leaves.stock[0] == pytest.approx([0, 0, 30, 30, 30, 30, 30, 20, 10, 0])
    assert (leaves.stockout_day[0], leaves.days_short[0], leaves.units_lost[0]) == (7, 3, 30)
    assert (stays.days_short[0], leaves.margin_lost[0]) == (0, 60)
    # Cover: what is on hand serves sales and the transfer for 7 days, 3 fewer (30 units).
    assert (stays.cover_days[0], leaves.cover_days[0]) == (10, 7)
    with pytest.raises(ValueError, match="outflow"):
        project([1.0], demand[:, :3], inbound[:, :3], [1.0], NOW, outflow=-np.ones((1, 3)))


def _loop_out(
    start: float, demand: np.ndarray, inbound: np.ndarray, outflow: np.ndarray
) -> list[float]:
    """Day by day: what leaves goes first (what the shelf lacks for it is not made up), then sales."""
    stock, ends = start, []
    for d, i, o in zip(demand, inbound, outflow):
        available = max(stock + i - o, 0.0)
        stock = available - min(available, d)
        ends.append(stock)
    return ends


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda p: st.integers(1, 20).flatmap(
            lambda h: st.tuples(
                arrays(np.float64, p, elements=amounts),
                arrays(np.float64, (p, h), elements=amounts),
                arrays(np.float64, (p, h), elements=amounts),
                arrays(np.float64, (p, h), elements=amounts),
            )
        )
    )
)
def test_units_leaving_match_the_day_by_day_loop(case: tuple[np.ndarray, ...]) -> None:
    on_hand, demand, inbound, outflow = case
    p = project(on_hand, demand, inbound, np.ones(len(on_hand)), NOW, outflow=outflow)
    scale = 1e-9 * (1 + on_hand.sum() + demand.sum() + inbound.sum() + outflow.sum())
    for k in range(len(on_hand)):
        assert np.allclose(
            p.stock[k], _loop_out(on_hand[k], demand[k], inbound[k], outflow[k]), atol=scale * 10
        )
    assert np.all(p.stock >= 0) and np.all(p.lost >= -scale) and np.all(p.sold <= demand + scale)
