"""Read the emission intensity table (twin/data/emission_intensities.yaml or a user's own)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from twin.domain.problems import InputError, Problem, pydantic_problems
from twin.emissions.table import EmissionTable
from twin.files.tables import read_yaml

BUNDLED_TABLE = Path(__file__).resolve().parent.parent / "data" / "emission_intensities.yaml"


def load_emission_table(path: str | Path | None = None) -> EmissionTable:
    """The table at `path` (default: the bundled GLEC/ISO 14083 defaults); InputError naming
    the file and field on anything invalid."""
    path = Path(path) if path is not None else BUNDLED_TABLE
    if path == BUNDLED_TABLE:
        return _bundled()
    return _load(path)


@lru_cache(maxsize=1)
def _bundled() -> EmissionTable:
    return _load(BUNDLED_TABLE)


def _load(path: Path) -> EmissionTable:
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise InputError([Problem(str(path), "table", None, "must be a mapping")])
    try:
        return EmissionTable.model_validate(doc)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, str(path), "emission table")) from None
