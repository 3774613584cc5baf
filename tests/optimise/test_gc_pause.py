"""Cyclic garbage collection is paused while plans are made and restored after the last."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from twin.optimise.pipeline import gc_paused


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_during_nested_plans_and_back_on_after_the_last(collector_on: None) -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer plan is still being made
    assert gc.isenabled()


def test_back_on_after_a_plan_that_raised(collector_on: None) -> None:
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("solver failed")
    assert gc.isenabled()


def test_left_off_when_the_caller_had_it_off(collector_on: None) -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
