"""A tiny, code-free template language for playbook parameters: `{{ alert.target }}` and nothing more.

No expressions, filters, loops or attribute walks beyond one level: a playbook file can name
a value of the alert, never run code. Unknown names are caught when the playbook loads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from twin.domain.alerts import Alert

# One placeholder: `{{ alert.attr }}`, spaces optional.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Anything that looks like template syntax but is not a placeholder (`{%`, `{{ x|y }}`, ...).
SUSPICIOUS = re.compile(r"\{\{|\}\}|\{%|%\}|\{#")

# What a template may name; each value is taken from the alert when the playbook fires.
ALERT_FIELDS: tuple[str, ...] = (
    "id",
    "target",
    "dimension",
    "severity",
    "score",
    "peak",
    "kind",
    "country",
    "opened_at",
    "explain",
    "via",
)
VARIABLES: Mapping[str, tuple[str, ...]] = {"alert": ALERT_FIELDS}


class TemplateError(ValueError):
    """Raised when a template names an unknown variable or uses syntax other than `{{ a.b }}`."""


def check(text: str) -> list[str]:
    """Every reason `text` is not a valid template (empty when it is)."""
    problems: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        root, attr = match.groups()
        if root not in VARIABLES:
            problems.append(f"unknown variable {root!r} in {match.group(0)!r} (use alert.*)")
        elif attr not in VARIABLES[root]:
            known = ", ".join(VARIABLES[root])
            problems.append(f"unknown field {root}.{attr} in {match.group(0)!r} (known: {known})")
    leftover = PLACEHOLDER.sub("", text)
    if SUSPICIOUS.search(leftover):
        problems.append(
            f"only {{{{ alert.field }}}} placeholders are allowed, no expressions (got {text!r})"
        )
    return problems


def alert_values(alert: Alert) -> dict[str, Any]:
    """The values templates see, as plain text-able values."""
    values: dict[str, Any] = {name: getattr(alert, name) for name in ALERT_FIELDS}
    values["severity"] = alert.severity.value
    values["opened_at"] = alert.opened_at.isoformat().replace("+00:00", "Z")
    values["via"] = ",".join(alert.via)
    values["country"] = alert.country or ""
    return values


def render(text: str, alert: Alert) -> str:
    """Fill the placeholders of `text` from `alert`.

    Raises TemplateError if the template is not valid (see `check`).

    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 1, 2, tzinfo=timezone.utc)
    >>> a = Alert(id="A1", target="SUEZ", dimension="security", severity="critical", score=0.9,
    ...           peak=0.9, opened_at=t, updated_at=t)
    >>> render("avoid {{ alert.target }}", a)
    'avoid SUEZ'
    """
    problems = check(text)
    if problems:
        raise TemplateError("; ".join(problems))
    values = {"alert": alert_values(alert)}
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)][m.group(2)]), text)


def render_value(value: Any, alert: Alert) -> Any:
    """Render every string inside a parameter value (lists and mappings walked)."""
    if isinstance(value, str):
        return render(value, alert)
    if isinstance(value, list):
        return [render_value(item, alert) for item in value]
    if isinstance(value, tuple):
        return tuple(render_value(item, alert) for item in value)
    if isinstance(value, dict):
        return {key: render_value(item, alert) for key, item in value.items()}
    return value


def check_value(value: Any) -> list[str]:
    """Every template problem anywhere inside a parameter value."""
    if isinstance(value, str):
        return check(value)
    if isinstance(value, (list, tuple)):
        return [p for item in value for p in check_value(item)]
    if isinstance(value, dict):
        return [p for item in value.values() for p in check_value(item)]
    return []
