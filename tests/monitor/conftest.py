"""Fixtures for the monitor tests."""

from __future__ import annotations

import pytest
from monitor_helpers import make_net

from twin.domain.records import Network


@pytest.fixture
def net() -> Network:
    return make_net()
