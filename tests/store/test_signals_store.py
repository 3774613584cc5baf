"""Signals, quarantine and feed checkpoints round-trip on SQLite and PostgreSQL; saving is idempotent."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from tests.feeds.conftest import SAMPLES, make_network
from twin.domain.signals import SIGNAL_COLUMNS, Quarantined
from twin.feeds.ingest import ingest_path
from twin.store.db import session_scope
from twin.store.signals import (
    get_checkpoint,
    list_checkpoints,
    list_quarantine,
    oversized_quarantine,
    save_quarantine,
    save_signals,
    set_checkpoint,
    signals_between,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    key = frame["target"].fillna("")
    return (
        frame.assign(_t=key)
        .sort_values(["ts", "source", "ref", "_t"], kind="stable")
        .drop(columns="_t")
        .reset_index(drop=True)
    )


@pytest.fixture(scope="module")
def samples():
    return ingest_path(SAMPLES, make_network())


def test_save_samples_then_again_adds_nothing(engine, samples):
    frame = samples.frame
    assert len(frame) > 10 and frame["area"].notna().any() and frame["extras"].notna().any()
    with session_scope(engine) as session:
        assert save_signals(session, frame=frame) == len(frame)
    with session_scope(engine) as session:
        assert save_signals(session, frame=frame) == 0
        # a frame with some rows new and some old: only the new ones count
        assert save_signals(session, frame=frame.iloc[:3]) == 0
    with session_scope(engine) as session:
        stored = signals_between(session, start=None, end=None)
    assert len(stored) == len(frame)


def test_signals_between_equals_saved_rows(engine, samples):
    frame = samples.frame
    with session_scope(engine) as session:
        save_signals(session, frame=frame)
    with session_scope(engine) as session:
        stored = signals_between(session, start=None, end=None)
    assert list(stored.columns) == list(SIGNAL_COLUMNS)
    assert stored.dtypes.equals(frame.dtypes)
    pd.testing.assert_frame_equal(_sorted(stored), _sorted(frame))


def test_signals_between_window_and_target(engine, samples):
    frame = samples.frame
    with session_scope(engine) as session:
        save_signals(session, frame=frame)
    start, end = frame["ts"].min(), frame["ts"].max()
    target = frame["target"].dropna().value_counts().index[0]
    with session_scope(engine) as session:
        window = signals_between(session, start=start.to_pydatetime(), end=end.to_pydatetime())
        one = signals_between(session, start=None, end=None, target=target)
        nothing = signals_between(session, start=T0 + timedelta(days=3650), end=None)
    expected = frame[(frame["ts"] >= start) & (frame["ts"] < end)]
    assert len(window) == len(expected) and (window["ts"] < end).all()
    assert window["ts"].is_monotonic_increasing
    assert len(one) == int((frame["target"] == target).sum()) and set(one["target"]) == {target}
    assert nothing.empty and list(nothing.columns) == list(SIGNAL_COLUMNS)
    assert isinstance(nothing["ts"].dtype, pd.DatetimeTZDtype)


def test_area_row_without_network_is_idempotent(engine):
    # Without a network an area row keeps target None: stored as "" so the unique key still holds.
    frame = ingest_path(SAMPLES / "good.csv").frame
    assert frame["target"].isna().any()
    with session_scope(engine) as session:
        assert save_signals(session, frame=frame) == len(frame)
        assert save_signals(session, frame=frame) == 0
        stored = signals_between(session, start=None, end=None)
    assert stored["target"].isna().sum() == frame["target"].isna().sum()


def test_oversized_text_is_split_off_not_refused(engine, samples):
    frame = samples.frame.copy()
    frame.loc[0, "dimension"] = "x" * 500
    with session_scope(engine) as session, pytest.raises(ValueError, match="oversized_quarantine"):
        save_signals(session, frame=frame)
    kept, bad = oversized_quarantine(frame, "f.jsonl")
    assert len(kept) == len(frame) - 1 and bad[0].field == "dimension"
    with session_scope(engine) as session:
        assert save_signals(session, frame=kept) == len(kept)


def test_quarantine_round_trip_and_idempotent(engine, samples):
    rows = samples.quarantine
    assert len(rows) == 10
    with session_scope(engine) as session:
        assert save_quarantine(session, rows=rows) == len(set(rows))
    with session_scope(engine) as session:
        assert save_quarantine(session, rows=rows) == 0
        changed = Quarantined(
            file=rows[0].file,
            where=rows[0].where,
            field=rows[0].field,
            reason=rows[0].reason,
            raw=rows[0].raw + " (edited)",
        )
        assert save_quarantine(session, rows=[changed]) == 1
    with session_scope(engine) as session:
        stored = list_quarantine(session)
        one_file = list_quarantine(session, file=rows[0].file)
    assert stored[: len(rows)] == rows and stored[-1] == changed
    assert all(r.file == rows[0].file for r in one_file) and changed in one_file


def test_checkpoint_round_trip(engine):
    with session_scope(engine) as session:
        assert get_checkpoint(session, feed="drop", key="feeds/a.jsonl") is None
        set_checkpoint(session, feed="drop", key="feeds/a.jsonl", sha256="a" * 64, at=T0)
        set_checkpoint(session, feed="drop", key="feeds/b.jsonl", offset=1234, at=T0)
        set_checkpoint(
            session,
            feed="cap",
            key="https://example.org/cap",
            etag='"xyz"',
            last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
            last_event_id="e-9",
            at=T0,
        )
    with session_scope(engine) as session:
        later = T0 + timedelta(minutes=5)
        set_checkpoint(
            session, feed="drop", key="feeds/a.jsonl", sha256="b" * 64, offset=99, at=later
        )
    with session_scope(engine) as session:
        a = get_checkpoint(session, feed="drop", key="feeds/a.jsonl")
        web = get_checkpoint(session, feed="cap", key="https://example.org/cap")
        drop = list_checkpoints(session, feed="drop")
    assert a is not None and (a.sha256, a.offset, a.updated_at) == ("b" * 64, 99, later)
    assert web is not None and (web.etag, web.last_event_id) == ('"xyz"', "e-9")
    assert web.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert (
        sorted(drop) == ["feeds/a.jsonl", "feeds/b.jsonl"] and drop["feeds/b.jsonl"].offset == 1234
    )


def _big_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    targets = np.array([f"N{i:04d}" for i in range(500)], dtype=object)
    ts = pd.Series(pd.date_range(T0, periods=n, freq="min", tz="UTC")).dt.as_unit("us")
    return pd.DataFrame(
        {
            "ts": ts,
            "source": pd.Series(["bench"] * n, dtype=object),
            "dimension": pd.Series(["customs"] * n, dtype=object),
            "target": pd.Series(targets[rng.integers(0, len(targets), n)], dtype=object),
            "metric": pd.Series(["clearance_hours"] * n, dtype=object),
            "value": rng.uniform(0, 100, n),
            "effective_at": pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]"),
            "expected_until": pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]"),
            "ref": pd.Series([f"r{i}" for i in range(n)], dtype=object),
            "shipment": pd.Series([None] * n, dtype=object),
            "area": pd.Series([None] * n, dtype=object),
            "supersedes": pd.Series([None] * n, dtype=object),
            "extras": pd.Series([None] * n, dtype=object),
        }
    )


@pytest.mark.slow
def test_save_100k_rows_timing(engine):
    n = 100_000
    frame = _big_frame(n)
    started = time.perf_counter()
    with session_scope(engine) as session:
        inserted = save_signals(session, frame=frame)
    first = time.perf_counter() - started
    started = time.perf_counter()
    with session_scope(engine) as session:
        again = save_signals(session, frame=frame)
    second = time.perf_counter() - started
    started = time.perf_counter()
    with session_scope(engine) as session:
        loaded = signals_between(session, start=None, end=None)
    load = time.perf_counter() - started
    print(
        f"\n{engine.dialect.name}: save {n} rows {first:.2f}s ({n / first:,.0f} rows/s), "
        f"again {second:.2f}s, signals_between {load:.2f}s"
    )
    assert inserted == n and again == 0 and len(loaded) == n


def test_carrier_events_round_trip_once(engine, samples) -> None:
    from twin.store.tracking import save_shipment_events, shipment_events_since

    positions = samples.positions
    assert positions
    with session_scope(engine) as session:
        assert save_shipment_events(session, positions=positions) == len(positions)
    with session_scope(engine) as session:
        assert save_shipment_events(session, positions=list(reversed(positions))) == 0
        back = shipment_events_since(session, since=min(p.at for p in positions))
    # Equipment and transport call ids stay in the signal rows' extras; positions keep the rest.
    kept = [p.model_copy(update={"equipment": None, "transport_call": None}) for p in positions]
    assert back == sorted(kept, key=lambda p: p.at)
    with session_scope(engine) as session:
        assert (
            shipment_events_since(
                session, since=max(p.at for p in positions) + timedelta(seconds=1)
            )
            == []
        )


def test_carrier_events_keep_long_carrier_text(engine) -> None:
    """A carrier's overlong event id or location code is stored as sent: it must not fail the
    feed file's transaction (its signals and checkpoint would then never land)."""
    from twin.domain.signals import ShipmentPosition
    from twin.store.tracking import save_shipment_events, shipment_events_since

    odd = ShipmentPosition(
        source="dcsa",
        event_id="E" * 600,
        at=T0,
        event="ARRI",
        locode="XXLONGLOCATIONCODE",
        shipment="S" * 300,
        references=("S" * 300,),
        vessel="V" * 300,
    )
    with session_scope(engine) as session:
        assert save_shipment_events(session, positions=[odd]) == 1
    with session_scope(engine) as session:
        assert shipment_events_since(session, since=T0) == [odd]
