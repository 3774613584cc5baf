"""Read the daemon's `twin.toml` (SPEC 1.6): TOML, the TWIN_DATABASE_URL override, and the
`[scoring]` / `[alerts]` tables checked against the scoring and alerting models.

    from twin.files.config import alert_rules, load_config, scoring_config
    config = load_config("twin.toml")          # TwinConfig, defaults filled; InputError otherwise
    scoring = scoring_config(config)           # ScoringConfig of the [scoring] table
    rules = alert_rules(config)                # AlertRules of the [alerts] table
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.alerting.rules import AlertRules
from twin.domain.durations import format_duration
from twin.domain.problems import InputError, Problem
from twin.domain.settings import TwinConfig, config_problems
from twin.files.limits import current_limits, nesting_deeper_than
from twin.files.tables import read_text
from twin.scoring.config import ScoringConfig

DATABASE_ENV = "TWIN_DATABASE_URL"
DEMO_CONFIG = "data/demo.toml"


def demo_config_path() -> Path:
    """The bundled demo daemon configuration (network demo, a feed watching `feeds/*`)."""
    return Path(str(resources.files("twin").joinpath(DEMO_CONFIG)))


def parse_config(
    text: str, file: str = "twin.toml", environ: Mapping[str, str] | None = None
) -> TwinConfig:
    """Validate the text of a twin.toml; raises InputError listing every problem at once
    (TOML syntax; unknown keys; bad values of any table, [scoring] and [alerts] included).

    TWIN_DATABASE_URL in `environ` (default: the process environment), when set, replaces
    `database_url`.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        where = f"line {found.group(1)}, column {found.group(2)}" if found else ""
        reason = message[: found.start()].strip() if found else message
        raise InputError([Problem(file, where, None, f"not valid TOML: {reason}")]) from None
    except RecursionError:
        raise InputError([Problem(file, "", None, "not valid TOML: nested too deeply")]) from None
    depth = current_limits().depth
    if nesting_deeper_than(data, depth):
        raise InputError([Problem(file, "", None, f"refused: nested deeper than {depth} levels")])
    env = os.environ if environ is None else environ
    override = env.get(DATABASE_ENV, "").strip()
    if override:
        data["database_url"] = override

    problems: list[Problem] = []
    config: TwinConfig | None = None
    try:
        config = TwinConfig.from_mapping(data, file)
    except InputError as exc:
        problems += exc.problems
    problems += _table_problems(data, "scoring", ScoringConfig, file)
    problems += _table_problems(data, "alerts", AlertRules, file)
    if problems or config is None:
        raise InputError(problems)
    return config


def load_config(path: str | Path) -> TwinConfig:
    """Read and validate a twin.toml file (see `parse_config`)."""
    file = Path(path)
    return parse_config(read_text(file), str(file))


def _table_problems(data: dict[str, Any], name: str, model: Any, file: str) -> list[Problem]:
    table = data.get(name)
    if not isinstance(table, dict):
        return []  # absent (defaults), or not a table: TwinConfig already said so
    try:
        model.from_mapping(table)
    except ValidationError as exc:
        return config_problems(exc, file, model, prefix=(name,))
    except (TypeError, AttributeError, ValueError) as exc:  # e.g. ramps that are not tables
        return [Problem(file, f"[{name}]", None, str(exc))]
    return []


def scoring_config(config: TwinConfig) -> ScoringConfig:
    """The scoring parameters of `config` (its [scoring] table over the defaults)."""
    return ScoringConfig.from_mapping(config.scoring)


def alert_rules(config: TwinConfig) -> AlertRules:
    """The alert rules of `config` (its [alerts] table over the defaults)."""
    return AlertRules.from_mapping(config.alerts)


def resolved(config: TwinConfig) -> dict[str, Any]:
    """The whole configuration as plain JSON data with every default filled in, [scoring] and
    [alerts] included (durations as text like `5m`)."""
    doc = config.model_dump(mode="json")
    doc["scoring"] = _plain(scoring_config(config).model_dump())
    doc["alerts"] = _plain(alert_rules(config).model_dump())
    return doc


def _plain(value: Any) -> Any:
    # Durations written back the way twin.toml takes them (`3d`), not ISO 8601 (`P3D`).
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):  # e.g. scoring's forecast_metrics: sorted, as TOML
        return sorted(_plain(v) for v in value)
    return value


__all__ = [
    "DATABASE_ENV",
    "alert_rules",
    "demo_config_path",
    "load_config",
    "parse_config",
    "resolved",
    "scoring_config",
]
