"""Pick the playbook for an alert episode: the most specific one whose criteria all hold (pure)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from twin.domain.alerts import Alert
from twin.playbook.schema import Match, Playbook

# The operator table: how a criterion's wanted values are compared with what the alert has.
OPERATORS: dict[str, Callable[[Any, Collection[Any]], bool]] = {
    "in": lambda actual, wanted: actual in wanted,
    "any_in": lambda actual, wanted: any(item in wanted for item in actual),
}


def alert_tags(alert: Alert) -> frozenset[str]:
    """The labels `match.tags` sees: `early`, `kind:K`, `via:ID`, `country:CC`, plus any tags the
    alert record itself carries."""
    tags = {f"kind:{alert.kind}"} if alert.kind else set()
    tags |= {f"via:{node}" for node in alert.via}
    if alert.early:
        tags.add("early")
    if alert.country:
        tags.add(f"country:{alert.country}")
    tags |= set(getattr(alert, "tags", ()) or ())
    return frozenset(tags)


# Criterion -> (what the alert has, operator). A lane alert's kind is `lane`; `targets` also
# matches a node the alerted lane passes, so a playbook for SUEZ fires on lanes via it too.
CRITERIA: dict[str, tuple[Callable[[Alert], Any], str]] = {
    "dimension": (lambda a: a.dimension, "in"),
    "severity": (lambda a: a.severity, "in"),
    "target_kind": (lambda a: a.kind or "lane", "in"),
    "targets": (lambda a: (a.target, *a.via), "any_in"),
    "tags": (alert_tags, "any_in"),
    "countries": (lambda a: a.country, "in"),
}
assert set(CRITERIA) == set(Match.model_fields)


@dataclass(frozen=True)
class Matched:
    """The playbook chosen for an alert, and why (each criterion that held)."""

    playbook: Playbook
    specificity: int
    why: str


def criteria_hold(alert: Alert, match: Match) -> list[str] | None:
    """The criteria of `match` that hold for `alert` as readable reasons; None if any fails."""
    reasons: list[str] = []
    for name in match.constrained():
        extract, operator = CRITERIA[name]
        wanted = getattr(match, name)
        actual = extract(alert)
        if not OPERATORS[operator](actual, wanted):
            return None
        shown = (
            ",".join(sorted(map(str, actual)))
            if isinstance(actual, (tuple, frozenset))
            else str(actual)
        )
        reasons.append(f"{name}={shown}")
    return reasons


def match_alert(alert: Alert, playbooks: Iterable[Playbook]) -> Matched | None:
    """The most specific playbook whose match criteria all hold for `alert`, or None.

    Specificity is the number of criteria a playbook constrains; ties go to the higher
    `priority`, then to the smaller id (so the choice never depends on file order).
    None means no playbook fits: the alert still reaches on-call through its own route.
    """
    candidates: list[tuple[int, int, str, Playbook, list[str]]] = []
    for playbook in playbooks:
        reasons = criteria_hold(alert, playbook.match)
        if reasons is not None:
            candidates.append((len(reasons), playbook.priority, playbook.id, playbook, reasons))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
    specificity, _, _, playbook, reasons = candidates[0]
    why = f"playbook {playbook.id} matched ({'; '.join(reasons) or 'matches any alert'})"
    return Matched(playbook, specificity, why)


def ranked(alert: Alert, playbooks: Sequence[Playbook]) -> list[Playbook]:
    """Every matching playbook, best first (for `twin playbooks test`-style previews)."""
    hits = [(p, criteria_hold(alert, p.match)) for p in playbooks]
    ok = [(p, r) for p, r in hits if r is not None]
    ok.sort(key=lambda pr: (-len(pr[1]), -pr[0].priority, pr[0].id))
    return [p for p, _ in ok]
