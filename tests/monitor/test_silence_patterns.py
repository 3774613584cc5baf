"""Silence and inhibition matchers: `~REGEX` compiled when made (a bad one refused, named), and
matched by RE2 in linear time, so no pattern can stall a monitor pass."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.alerting.mute import matches
from twin.alerting.patterns import BadPattern, compile_pattern, value_matches
from twin.alerting.rules import check_matchers


@pytest.mark.parametrize("pattern", ["(", "[a-", "a{2,1}", "(?=x)y", "(a)\\1", "x" * 1001])
def test_bad_patterns_are_refused_and_named(pattern: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_matchers({"target": ["SUEZ", f"~{pattern}"]}, "silence")
    message = str(refused.value)
    assert message.startswith("silence: target: ~") and pattern[:40] in message
    with pytest.raises(BadPattern):
        compile_pattern(pattern)


def test_a_bad_stored_pattern_matches_nothing() -> None:
    assert not value_matches("SUEZ", "~(")
    assert not matches({"target": "("}, {"target": "~("})


def test_catastrophic_backtracking_pattern_is_fast() -> None:
    # Python's backtracking `re` takes exponential time on this (the issue measured a 119 s
    # pass); RE2 answers in time linear in the text.
    pattern = "~(.*)*(.*)*(.*)*z"
    check_matchers({"target": pattern}, "silence")
    labels = [{"target": "A" * n + "-LANE", "via": ("SUEZ",) * 3} for n in range(20, 2020)]
    # CPU time, not wall time: other work on the machine (parallel test workers) must not
    # make a linear-time match look slow.
    started = time.process_time()
    hits = sum(matches(label, {"target": pattern}) for label in labels)
    took = time.process_time() - started
    assert hits == 0 and took < 1.0, f"{len(labels)} alerts took {took:.2f}s"
    assert matches({"target": "LANE-z"}, {"target": pattern})


@given(
    text=st.text(alphabet="ABSUEZ-_019", max_size=12),
    pattern=st.sampled_from(
        ["SUEZ", "S.*", "[A-Z]+", "(SUEZ|CAPE)-?[0-9]*", "A?B+", ".*-_.*", "[^Z]*", "\\w+"]
    ),
)
def test_re2_full_match_agrees_with_python_re_on_ordinary_patterns(text: str, pattern: str) -> None:
    assert value_matches(text, f"~{pattern}") == (re.fullmatch(pattern, text) is not None)
    assert value_matches(text, pattern) == (text == pattern)
