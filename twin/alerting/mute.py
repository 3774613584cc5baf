"""One "muted?" interface over silences and inhibitions, like Alertmanager's notify/mute.go."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
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


# An alert's labels and a set of matchers as hashable keys: an alerting pass asks the same
# questions of the same labels every tick (tens of alerts, a few rules), so each answer is
# worked out once. Labels come from a validated Alert, so each has one type (`early` a bool,
# `via` a tuple): equal keys read alike.
_LabelKey = tuple[tuple[str, Any], ...]
_MatcherKey = tuple[tuple[str, tuple[str, ...]], ...]


def _label_key(alert: Alert) -> _LabelKey:
    return tuple(alert.labels().items())


def _matcher_key(matchers: Matchers) -> _MatcherKey:
    return tuple(
        (name, tuple(str(o) for o in (wanted if isinstance(wanted, list) else [wanted])))
        for name, wanted in matchers.items()
    )


@lru_cache(maxsize=16384)
def _labels_match(labels: _LabelKey, matchers: _MatcherKey) -> bool:
    """`matches` on keys (answers cached)."""
    found = dict(labels)
    return all(
        any(_value_matches(found.get(name), option) for option in options)
        for name, options in matchers
    )


class Silencer:
    """Mutes alerts matched by an active silence (starts_at <= now < ends_at)."""

    def __init__(self, silences: Iterable[Silence]):
        self.silences = tuple(silences)

    def mutes(self, alert: Alert, now: datetime) -> str | None:
        if not self.silences:
            return None
        labels = _label_key(alert)
        for silence in self.silences:
            if silence.active(now) and _labels_match(labels, _matcher_key(silence.matchers)):
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
        self._targets = [_matcher_key(rule.target) for rule in self.rules]
        self.firing = tuple(a for a in firing if a.is_open)
        keys = [_label_key(a) for a in self.firing]
        self._sources: list[dict[str, list[tuple[int, Alert, dict[str, Any]]]]] = []
        for rule in self.rules:
            source_key = _matcher_key(rule.source)
            by_target: dict[str, list[tuple[int, Alert, dict[str, Any]]]] = {}
            for order, (source, key) in enumerate(zip(self.firing, keys)):
                if _labels_match(key, source_key):
                    by_target.setdefault(source.target, []).append((order, source, dict(key)))
            self._sources.append(by_target)

    def mutes(self, alert: Alert, now: datetime) -> str | None:
        key = _label_key(alert)
        labels: dict[str, Any] | None = None
        for target_key, rule, by_target in zip(self._targets, self.rules, self._sources):
            if not by_target or not _labels_match(key, target_key):
                continue
            labels = labels if labels is not None else dict(key)
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
