"""The seeded demo stock has the properties docs/stock.md promises, measured on its data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from twin.domain.records import NodeKind
from twin.files.networks import load_network
from twin.stock.forecast import history_matrix
from twin.stock.generate import generate_stock


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    network = load_network("demo")[0]
    # The calendar year 2025: the history ends on the last day before `end`.
    return network, generate_stock(network, skus=500, days=365, end=date(2026, 1, 1), seed=7)


@pytest.fixture(scope="module")
def daily(demo) -> pd.Series:  # type: ignore[no-untyped-def]
    _, data = demo
    total = data.history.groupby("date")["units"].sum()
    return total.reindex(pd.date_range("2025-01-01", "2025-12-31"), fill_value=0.0)


def test_sizes_and_reproducibility(demo) -> None:  # type: ignore[no-untyped-def]
    network, data = demo
    warehouses = {n.id for n in network.nodes if n.kind is NodeKind.warehouse}
    assert data.stock["sku"].nunique() == 500
    assert set(data.stock["warehouse"]) == warehouses  # every demo warehouse holds stock
    assert (data.stock["on_hand"] >= 0).all() and (data.stock["cbm_per_unit"] > 0).all()
    again = generate_stock(network, skus=50, days=30, end=date(2026, 1, 1), seed=7)
    same = generate_stock(network, skus=50, days=30, end=date(2026, 1, 1), seed=7)
    other = generate_stock(network, skus=50, days=30, end=date(2026, 1, 1), seed=8)
    pd.testing.assert_frame_equal(again.history, same.history)
    assert not again.history.equals(other.history)


def test_weekly_season(daily: pd.Series) -> None:
    quiet = daily["2025-02-01":"2025-06-30"]
    by_day = quiet.groupby(quiet.index.day_of_week).mean()
    # Monday sells most, Saturday least, by about a third.
    assert by_day.idxmax() == 0 and by_day.idxmin() == 5
    assert 1.15 < by_day[0] / by_day[5] < 1.45


def test_q4_peak_and_summer_event(daily: pd.Series) -> None:
    spring = daily["2025-02-01":"2025-04-30"].mean()
    peak = daily["2025-11-20":"2025-12-20"].mean()
    assert peak / spring > 1.6
    month = daily.groupby(daily.index.month).mean()
    assert month.idxmax() == 12 and month[11] > month[1:10].max()
    event = daily["2025-07-15":"2025-07-16"].mean()
    around = pd.concat([daily["2025-07-01":"2025-07-14"], daily["2025-07-17":"2025-07-31"]])
    assert event / around.mean() > 2.0


def test_long_tail(demo) -> None:  # type: ignore[no-untyped-def]
    _, data = demo
    per_sku = (
        data.history.groupby("sku")["units"].sum().reindex(data.stock["sku"].unique(), fill_value=0)
    )
    ranked = np.sort(per_sku.to_numpy())[::-1]
    top_fifth = ranked[: len(ranked) // 5].sum() / ranked.sum()
    assert top_fifth > 0.6  # a fifth of the SKUs sell most units
    assert ranked[-len(ranked) // 2 :].sum() / ranked.sum() < 0.12  # the tail half sells little
    # Best sellers are stocked in more warehouses than the tail.
    places = data.stock.groupby("sku")["warehouse"].count().reindex(per_sku.index)
    order = per_sku.sort_values(ascending=False).index
    assert places[order[:50]].mean() > 2 * places[order[-250:]].mean()


def test_daily_noise_is_over_dispersed(demo) -> None:  # type: ignore[no-untyped-def]
    _, data = demo
    pairs = pd.MultiIndex.from_frame(data.stock[["warehouse", "sku"]])
    matrix, days = history_matrix(data.history, pairs)
    # Tuesday to Thursday of February to April: a near-constant expected demand per pair.
    keep = (days.month >= 2) & (days.month <= 4) & days.day_of_week.isin([1, 2, 3])
    window = matrix[:, keep]
    mean = window.mean(axis=1)
    busy = mean > 1
    assert busy.sum() > 500
    variance = window[busy].var(axis=1, ddof=1)
    # Poisson noise gives variance = mean; negative-binomial adds mean^2 / size (size 3 here).
    excess = (variance - mean[busy]) / mean[busy] ** 2
    assert np.median(variance / mean[busy]) > 1.3
    assert 0.15 < np.median(excess) < 0.6
