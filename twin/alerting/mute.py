"""One "muted?" interface over silences and inhibitions, like Alertmanager's notify/mute.go."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from twin.alerting.patterns import value_matches
from twin.alerting.rules import InhibitRule, Matchers
from twin.domain.alerts import Alert, Silence


class Muter(Protocol):
    """Says why an alert must not page now (the muting object's id), or None."""

    def mutes(self, alert: Alert, now: datetime) -> str | None: ...


def _value_matches(value: Any, wanted: str) -> bool:
    if isinstance(value, (tuple, list)):  # `via`: any member
        return any(_value_matches(v, wanted) for v in value)
    text = str(value).lower() if isinstance(value, bool) else ("" if value is None else str(value))
    # `~REGEX`: a full match, like Alertmanager's =~, on RE2 (linear time: no pattern stalls).
    return value_matches(text, wanted)


def matches(labels: dict[str, Any], matchers: Matchers) -> bool:
    """All matchers hold; a list means any of its values. Empty matchers match everything."""
    for name, wanted in matchers.items():
        options = wanted if isinstance(wanted, list) else [wanted]
        if not any(_value_matches(labels.get(name), str(option)) for option in options):
            return False
    return True


class Silencer:
    """Mutes alerts matched by an active silence (starts_at <= now < ends_at)."""

    def __init__(self, silences: Iterable[Silence]):
        self.silences = tuple(silences)

    def mutes(self, alert: Alert, now: datetime) -> str | None:
        labels = alert.labels()
        for silence in self.silences:
            if silence.active(now) and matches(labels, silence.matchers):
                return silence.id
        return None


def _related_targets(target: Alert, relation: str) -> tuple[str, ...]:
    """The targets a source alert must be on to explain `target` under `relation`."""
    if relation == "same_target":
        return (target.target,)
    if relation == "via":
        return tuple(target.via)
    return (target.target, *target.via, *target.sources)


class Inhibitor:
    """Mutes open alerts explained by another open alert, by the declared inhibit rules.

    The firing alerts' labels are read once and, per rule, the ones that can be a source are
    indexed by target: a pass over thousands of lane alerts asks only the few alerts on its
    target, via or sources, not every firing alert.
    """

    def __init__(self, rules: Sequence[InhibitRule], firing: Iterable[Alert]):
        self.rules = tuple(rules)
        self.firing = tuple(a for a in firing if a.is_open)
        labels = [a.labels() for a in self.firing]
        self._sources: list[dict[str, list[tuple[int, Alert, dict[str, Any]]]]] = []
        for rule in self.rules:
            by_target: dict[str, list[tuple[int, Alert, dict[str, Any]]]] = {}
            for order, (source, source_labels) in enumerate(zip(self.firing, labels)):
                if matches(source_labels, rule.source):
                    by_target.setdefault(source.target, []).append((order, source, source_labels))
            self._sources.append(by_target)

    def mutes(self, alert: Alert, now: datetime) -> str | None:
        labels = alert.labels()
        for rule, by_target in zip(self.rules, self._sources):
            if not by_target or not matches(labels, rule.target):
                continue
            candidates = sorted(
                {
                    entry[0]: entry
                    for t in _related_targets(alert, rule.relation)
                    for entry in by_target.get(t, ())
                }.values(),
                key=lambda entry: entry[0],
            )
            for _, source, source_labels in candidates:
                if source.id == alert.id:
                    continue
                if all(source_labels.get(e) == labels.get(e) for e in rule.equal):
                    return source.id
        return None


def muted_by(
    alert: Alert, now: datetime, inhibitor: Muter, silencer: Muter
) -> tuple[str | None, str | None]:
    """(inhibited_by, silenced_by) of an alert at `now`."""
    return inhibitor.mutes(alert, now), silencer.mutes(alert, now)
