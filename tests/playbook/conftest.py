"""Playbook fixtures."""

from __future__ import annotations

import pytest

from playbook_builders import make_alert
from twin.domain.alerts import Alert


@pytest.fixture
def alert() -> Alert:
    return make_alert()
