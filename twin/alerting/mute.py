"""One "muted?" interface over silences and inhibitions, like Alertmanager's notify/mute.go."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from twin.alerting.rules import InhibitRule, Matchers
from twin.domain.alerts import Alert, Silence


class Muter(Protocol):
    """Says why an alert must not page now (the muting object's id), or None."""

    def mutes(self, alert: Alert, now: datetime) -> str | None: ...


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _value_matches(value: Any, wanted: str) -> bool:
    if isinstance(value, (tuple, list)):  # `via`: any member
        return any(_value_matches(v, wanted) for v in value)
    text = str(value).lower() if isinstance(value, bool) else ("" if value is None else str(value))
    if wanted.startswith("~"):  # `~REGEX`: a full match, like Alertmanager's =~
        try:
            return _regex(wanted[1:]).fullmatch(text) is not None
        except re.error:
            return False
    return text == wanted


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


def _related(source: Alert, target: Alert, relation: str) -> bool:
    if relation == "same_target":
        return source.target == target.target
    if relation == "via":
        return source.target in target.via
    return source.target == target.target or source.target in target.via or source.target in target.sources


class Inhibitor:
    """Mutes open alerts explained by another open alert, by the declared inhibit rules."""

    def __init__(self, rules: Sequence[InhibitRule], firing: Iterable[Alert]):
        self.rules = tuple(rules)
        self.firing = tuple(a for a in firing if a.is_open)

    def mutes(self, alert: Alert, now: datetime) -> str | None:
        labels = alert.labels()
        for rule in self.rules:
            if not matches(labels, rule.target):
                continue
            for source in self.firing:
                if source.id == alert.id or not matches(source.labels(), rule.source):
                    continue
                if not _related(source, alert, rule.relation):
                    continue
                if all(source.labels().get(e) == labels.get(e) for e in rule.equal):
                    return source.id
        return None


def muted_by(alert: Alert, now: datetime, inhibitor: Muter, silencer: Muter) -> tuple[str | None, str | None]:
    """(inhibited_by, silenced_by) of an alert at `now`."""
    return inhibitor.mutes(alert, now), silencer.mutes(alert, now)
