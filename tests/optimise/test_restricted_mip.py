"""The incumbent's MIP over the routes the LP or the dive takes only (a big master's
restricted master heuristic) never changes what the planner proves."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.optimise.oracles import Case, request_for, time_expanded_optimum
from tests.optimise.test_mixed_exact import shared_lane_cases
from tests.optimise.test_oracle_time_expanded import check_plan_is_feasible
from twin.domain.plans import PlanStatus
from twin.optimise import SolveOptions, plan


# The shared-lane mixes leave the LP split (so the incumbent MIP runs) in about half the draws.
@settings(max_examples=60, deadline=None)
@given(shared_lane_cases())
def test_a_restricted_incumbent_mip_still_reaches_the_proven_optimum(case: Case) -> None:
    request = request_for(case)
    # Every master counts as big: the MIP always keeps only the LP's and the dive's routes.
    result = plan(case.view, request, SolveOptions(time_limit_s=30, mip_restrict_columns=0))
    assert result.status is PlanStatus.optimal
    check_plan_is_feasible(case, result)
    assert result.objective == pytest.approx(time_expanded_optimum(case), rel=1e-6, abs=1e-6)
