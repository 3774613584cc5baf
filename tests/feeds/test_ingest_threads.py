"""A folder's files parsed on several threads load exactly what one thread loads, in order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from twin.domain.records import Network
from twin.feeds import ingest

SAMPLES = Path(__file__).parent / "samples"


def test_threaded_read_equals_one_at_a_time(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every sample (good and bad rows, CSV, JSON Lines, CAP, DCSA): what loads, what is
    # quarantined and why, and each file's report must not depend on how many threads read.
    monkeypatch.setattr(ingest, "READ_THREADS", 1)
    one = ingest.ingest_path(SAMPLES, network)
    monkeypatch.setattr(ingest, "READ_THREADS", 4)
    many = ingest.ingest_path(SAMPLES, network)
    assert len(one.files) == len(list(SAMPLES.iterdir())) and len(one.frame) > 0
    assert one.quarantine  # the bad samples are there
    pd.testing.assert_frame_equal(one.frame, many.frame)
    assert one.files == many.files
    assert one.quarantine == many.quarantine
    assert one.problems == many.problems
    assert one.positions == many.positions
