"""Names say what they are: no two public types share a name, and a proposal's status is typed."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest
from pydantic import ValidationError

from twin.domain.incidents import PlanDiff
from twin.domain.plans import PROPOSAL_STATUSES, PlanStatus, ProposalStatus, worse_status
from twin.playbook.actions import Proposal

ROOT = Path(__file__).resolve().parents[2] / "twin"
# Clashes allowed for now (name: the modules defining it): none left.
PENDING: dict[str, set[str]] = {}


def _public_types() -> dict[str, set[str]]:
    """Classes and type aliases (CamelCase names bound at module level), by name."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                name = node.name
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
            else:
                continue
            if name[:1].isupper() and not name.isupper():
                found[name].add(str(path.relative_to(ROOT.parent)))
    return found


def test_no_two_public_types_share_a_name() -> None:
    clashes = {name: where for name, where in _public_types().items() if len(where) > 1}
    for name in ("Progress", "Effect", "Routes"):
        assert name not in clashes
    assert {n: w for n, w in clashes.items() if PENDING.get(n) != w} == {}


def test_proposal_statuses_are_the_planner_s_and_none() -> None:
    assert set(PROPOSAL_STATUSES) == {"none"} | {s.value for s in PlanStatus}
    assert PROPOSAL_STATUSES[:2] == ("none", "optimal")


@pytest.mark.parametrize(
    ("current", "planned", "expected"),
    [
        ("none", PlanStatus.optimal, "optimal"),
        ("optimal", PlanStatus.optimal, "optimal"),
        ("optimal", PlanStatus.feasible, "feasible"),
        ("infeasible", PlanStatus.optimal, "infeasible"),
        ("feasible", PlanStatus.error, "error"),
        ("error", PlanStatus.time_limit, "error"),
    ],
)
def test_one_bad_solve_makes_the_proposal_worse(
    current: ProposalStatus, planned: PlanStatus, expected: ProposalStatus
) -> None:
    assert worse_status(current, planned) == expected


def test_an_unknown_status_is_rejected() -> None:
    assert Proposal().status == "none"
    with pytest.raises(ValidationError, match="status"):
        PlanDiff(status="great")  # type: ignore[arg-type]
