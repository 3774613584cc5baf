"""Input problems: where a bad value is and why, collected and reported all at once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: the file, the entry (id or row), the field and why."""

    file: str
    where: str
    field: str | None
    message: str
    severity: str = "error"  # or "warning": reported, but the input still loads

    def __str__(self) -> str:
        parts = [self.file]
        if self.where:
            parts.append(self.where)
        if self.field:
            parts.append(f"field '{self.field}'")
        prefix = ": ".join(parts)
        tag = "" if self.severity == "error" else f"{self.severity}: "
        return f"{prefix}: {tag}{self.message}"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "file": self.file,
            "where": self.where,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


class InputError(ValueError):
    """Raised when an input does not validate; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid input")


def errors_only(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def pydantic_problems(exc: object, file: str, where: str) -> list[Problem]:
    """Translate a pydantic ValidationError into problems naming each field."""
    out: list[Problem] = []
    for err in exc.errors():  # type: ignore[attr-defined]
        loc = [str(part) for part in err.get("loc", ())]
        field = ".".join(loc) if loc else None
        message = str(err.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ")
        if "input" in err and err.get("type") not in ("missing",):
            shown = repr(err["input"])
            if len(shown) > 60:
                shown = shown[:57] + "..."
            message = f"{message} (got {shown})"
        out.append(Problem(file, where, field, message))
    return out


def did_you_mean(word: str, known: Iterable[str], *, listed: int = 12) -> str:
    """A hint for an unknown name: the nearest known one, else (a few of) the known names."""
    names = sorted(set(known))
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if not names:
        return "none is known"
    more = f", … ({len(names)} in all)" if len(names) > listed else ""
    return f"known: {', '.join(names[:listed])}{more}"
