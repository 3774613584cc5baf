"""Scenarios (SPEC 1.5): the schema, cross-checks against a network, and loading from files.

A scenario is a window of simulated time on a network with shipments, the signals the engine
sees and the effects the simulated freight really suffers. Records are typed with pydantic
(unknown fields refused); the checks that span fields, entries or the network are plain
`check_*` functions that collect every problem, so a file reports all its errors at once, each
with the file, the entry (e.g. `effects[2]`) and the field.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twin.domain.durations import format_duration, format_timestamp, parse_duration, parse_timestamp
from twin.domain.problems import InputError, Problem, pydantic_problems
from twin.domain.records import Network
from twin.domain.signals import STANDARD_METRICS, Area, Signal
from twin.files.networks import load_network
from twin.files.scenarios import looks_like_path, read_scenario_document, resolve_relative
from twin.files.shipments import load_shipments
from twin.files.stock import load_stock
from twin.network.areas import resolve_area
from twin.replay.world import detour_lane

# Signals and effects may start up to this long before the window: a closure already in force,
# an advisory issued weeks earlier. Anything earlier is almost surely a typo in the year.
LEAD_ALLOWANCE = timedelta(days=30)
# A replay steps once a tick; more steps than this is a typo (`6m` for `6h`), not a plan.
MAX_TICKS = 20_000
EFFECT_KINDS = (
    "close",
    "capacity_pct",
    "delay_days",
    "clearance_days",
    "carriers_divert",
    "throughput_units_per_day",
)
DEFAULT_SIGNAL_SOURCE = "scenario"

Finite = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


def _zoned(value: Any) -> Any:
    # Naive times are refused: a replay must not depend on the machine's zone. YAML turns
    # unquoted ISO stamps into datetimes already; both forms pass through parse_timestamp.
    if isinstance(value, (str, datetime)):
        return parse_timestamp(value)
    if isinstance(value, date):
        # pydantic reports ValueError as a field problem; a TypeError would escape it
        raise ValueError(f"a date without a time and zone: write {value.isoformat()}T00:00:00Z")  # noqa: TRY004
    return value  # None, or a wrong type pydantic reports


class ScenarioSignal(BaseModel):
    """A SPEC 1.3 signal row in a scenario: `at` (or `ts`) is when the engine sees it; `source`
    defaults to "scenario". Give a `target` (node or lane id) or an `area`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    dimension: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    value: Finite
    target: str | None = Field(default=None, min_length=1)
    area: Area | None = None
    source: str = Field(default=DEFAULT_SIGNAL_SOURCE, min_length=1)
    effective_at: datetime | None = None
    expected_until: datetime | None = None
    ref: str | None = None
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _ts_is_at(cls, data: Any) -> Any:
        # SPEC 1.3 rows say `ts`; scenarios say `at` like effects. Both read the same.
        if isinstance(data, dict) and "ts" in data and "at" not in data:
            data = {("at" if k == "ts" else k): v for k, v in data.items()}
        return data

    @field_validator("at", "effective_at", "expected_until", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _zoned(value)

    def to_signal(self) -> Signal:
        """The domain Signal the engine ingests."""
        return Signal(
            ts=self.at,
            source=self.source,
            dimension=self.dimension,
            target=self.target,
            area=self.area,
            metric=self.metric,
            value=self.value,
            effective_at=self.effective_at,
            expected_until=self.expected_until,
            ref=self.ref,
            note=self.note,
        )


class ScenarioEffect(BaseModel):
    """Ground truth on a node or lane from `at` until `until` (the scenario's end when left
    out): exactly one of `close: true`, `capacity_pct` (0-100 % of normal), `delay_days` (> 0,
    extra time to pass), `clearance_days` (> 0, extra customs time), `carriers_divert`
    (a chokepoint carriers sail round `target` by) or `throughput_units_per_day` (> 0, the
    replay's units a port or airport can serve a day: freight sent there queues). A
    chokepoint's effect acts on every lane through it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    target: str = Field(min_length=1)
    until: datetime | None = None
    close: bool | None = None
    capacity_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    delay_days: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    clearance_days: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    # The carriers' own answer to trouble at a chokepoint: their services through `target`
    # sail round this other chokepoint instead (docs/scenarios.md, "Carriers' detours").
    carriers_divert: str | None = Field(default=None, min_length=1)
    # A first-in-first-out server at a node, in the replay's own units (docs/scenarios.md,
    # "Throughput").
    throughput_units_per_day: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    note: str | None = None

    @field_validator("at", "until", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _zoned(value)

    @property
    def kind(self) -> str:
        """Which of the six kinds this effect is (`close`, `capacity_pct`, ...)."""
        return next(k for k in EFFECT_KINDS if getattr(self, k) is not None)

    @property
    def amount(self) -> float:
        """The effect's size: 0 for a closure (0 % passes), else its number."""
        if self.kind in ("close", "carriers_divert"):
            return 0.0
        return float(getattr(self, self.kind))

    def active(self, at: datetime) -> bool:
        return self.at <= at and (self.until is None or at < self.until)


Market = Literal["US", "EU", "GB", "JP", "AE", "other"]


class GenerateSpec(BaseModel):
    """Shipments drawn by the seeded generator: `per_day` a day for `days` (default: the
    window) with `seed` (default: the scenario's seed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_day: int = Field(gt=0, le=100_000)
    seed: int | None = None
    days: int | None = Field(default=None, gt=0, le=3660)
    markets: tuple[Market, ...] | None = Field(default=None, min_length=1)
    """Only warehouses in these markets (a seller's own trade); default: all, weighted."""


class ShipmentsSpec(BaseModel):
    """Where a scenario's shipments come from: `{generate: {...}}` or a file path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    generate: GenerateSpec | None = None
    path: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _path_text(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> ShipmentsSpec:
        if (self.generate is None) == (self.path is None):
            raise ValueError("give either {generate: {per_day, seed}} or a file path")
        return self


class StockGenerateSpec(BaseModel):
    """A seller's stock and demand drawn for the scenario's shipments
    (twin.replay.demand.generate_scenario_stock): `skus` in the catalogue, `seed` (default:
    the scenario's), `slack_days`: the range of days of cover past each pair's first due
    freight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    skus: int = Field(default=150, gt=0, le=100_000)
    seed: int | None = None
    slack_days: tuple[Finite, Finite] = (0.0, 21.0)

    @model_validator(mode="after")
    def _ordered(self) -> StockGenerateSpec:
        if self.slack_days[0] > self.slack_days[1]:
            raise ValueError("slack_days must be [low, high] with low <= high")
        return self


class StockSpec(BaseModel):
    """Stock and demand for a replay with demand (docs/replay.md): `{generate: {...}}`, or a
    path to stock inputs (docs/stock.md: a folder of CSV files or a YAML file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    generate: StockGenerateSpec | None = None
    path: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _path_text(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> StockSpec:
        if (self.generate is None) == (self.path is None):
            raise ValueError("give either {generate: {skus, seed, slack_days}} or a path")
        return self


class Noise(BaseModel):
    """Randomness a Monte Carlo replay adds round the written scenario (all default to none):
    signal and effect times shifted by up to ± the jitter in hours, signal values scaled by up to
    ± `value_jitter_pct` %, and a share of signals dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_jitter_h: Annotated[float, Field(ge=0, le=24 * 30, allow_inf_nan=False)] = 0.0
    effect_jitter_h: Annotated[float, Field(ge=0, le=24 * 30, allow_inf_nan=False)] = 0.0
    value_jitter_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 0.0
    signal_drop_rate: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0


class Source(BaseModel):
    """A public source the scenario's figures come from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")


class Scenario(BaseModel):
    """A replayable disruption (SPEC 1.5). Build it with `parse_scenario` or `load_scenario`,
    which run the cross-checks; after them every effect has its `until` filled in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    description: str = ""
    network: str = Field(default="demo", min_length=1)
    shipments: ShipmentsSpec = ShipmentsSpec(generate=GenerateSpec(per_day=40))
    start: datetime
    end: datetime
    tick: timedelta = timedelta(hours=6)
    seed: int = 0
    signals: tuple[ScenarioSignal, ...] = ()
    effects: tuple[ScenarioEffect, ...] = ()
    noise: Noise = Noise()
    sources: tuple[Source, ...] = ()
    # A seller's stock and demand: the world sells day by day (twin.replay.demand).
    stock: StockSpec | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _zoned(value)

    @field_validator("tick", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return parse_duration(value)
        return value

    @field_validator("noise", mode="before")
    @classmethod
    def _no_noise(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def window(self) -> timedelta:
        return self.end - self.start

    @property
    def ticks(self) -> int:
        """How many steps a replay takes (the last may be partial)."""
        return math.ceil(self.window / self.tick)

    @property
    def shipment_seed(self) -> int:
        generate = self.shipments.generate
        return generate.seed if generate is not None and generate.seed is not None else self.seed

    @property
    def shipment_days(self) -> int:
        generate = self.shipments.generate
        if generate is not None and generate.days is not None:
            return generate.days
        return max(1, math.ceil(self.window / timedelta(days=1)))

    def signal_records(self) -> list[Signal]:
        """The signals as the engine ingests them, in time order (file order breaks ties)."""
        return [s.to_signal() for s in sorted(self.signals, key=lambda s: s.at)]

    def effects_at(self, at: datetime) -> list[ScenarioEffect]:
        """The effects in force at `at`."""
        return [e for e in self.effects if e.active(at)]

    def summary(self) -> dict[str, Any]:
        """What `twin scenarios show --json` prints."""
        by_target: dict[str, dict[str, int]] = {}
        for effect in self.effects:
            kinds = by_target.setdefault(effect.target, {})
            kinds[effect.kind] = kinds.get(effect.kind, 0) + 1
        signal_targets = Counter(s.target if s.target else "(area)" for s in self.signals)
        shipments: dict[str, Any]
        if self.shipments.generate is not None:
            shipments = {
                "generate": {
                    "per_day": self.shipments.generate.per_day,
                    "seed": self.shipment_seed,
                    "days": self.shipment_days,
                    "markets": list(self.shipments.generate.markets or []),
                }
            }
        else:
            shipments = {"path": self.shipments.path}
        first_signal = min((s.at for s in self.signals), default=None)
        first_effect = min((e.at for e in self.effects), default=None)
        lead_h = None
        if first_signal is not None and first_effect is not None:
            lead_h = round((first_effect - first_signal) / timedelta(hours=1), 1)
        return {
            "name": self.name,
            "network": self.network,
            "window": {
                "start": format_timestamp(self.start),
                "end": format_timestamp(self.end),
                "days": round(self.window / timedelta(days=1), 2),
                "tick": format_duration(self.tick),
                "ticks": self.ticks,
            },
            "seed": self.seed,
            "shipments": shipments,
            "signals": {
                "count": len(self.signals),
                "by_dimension": dict(sorted(Counter(s.dimension for s in self.signals).items())),
                "by_target": dict(sorted(signal_targets.items())),
                "first_at": format_timestamp(first_signal) if first_signal else None,
            },
            "effects": {
                "count": len(self.effects),
                "by_kind": dict(sorted(Counter(e.kind for e in self.effects).items())),
                "by_target": dict(sorted(by_target.items())),
                "first_at": format_timestamp(first_effect) if first_effect else None,
            },
            "first_warning_lead_h": lead_h,
            "noise": self.noise.model_dump(),
            "sources": [s.model_dump() for s in self.sources],
            "stock": self.stock.model_dump() if self.stock is not None else None,
        }


# --- parsing ---------------------------------------------------------------------------------

_LIST_KEYS: dict[str, type[BaseModel]] = {
    "signals": ScenarioSignal,
    "effects": ScenarioEffect,
    "sources": Source,
}


def parse_scenario(
    doc: Any, file: str, network: Network | None = None
) -> tuple[Scenario, list[Problem]]:
    """Validate a scenario document and build the Scenario.

    Parameters: `doc` is the parsed YAML mapping; `file` names it in problems; `network`, when
    given, is the network the scenario's targets must exist in.

    Returns the scenario (every effect's `until` filled in) and its warnings (unknown metrics,
    areas holding no node). Raises InputError listing every error, each with the file, the
    entry (`scenario`, `signals[3]`, `effects[2]`) and the field.

    >>> doc = {"name": "x", "start": "2024-01-01T00:00:00Z", "end": "2024-01-10T00:00:00Z",
    ...        "effects": [{"at": "2024-01-02T00:00:00Z", "target": "USLAX", "delay_days": 2}]}
    >>> scenario, _ = parse_scenario(doc, "x.yaml")
    >>> scenario.effects[0].until.isoformat()
    '2024-01-10T00:00:00+00:00'
    """
    if not isinstance(doc, dict):
        raise InputError([Problem(file, "scenario", None, "a scenario must be a mapping")])
    problems: list[Problem] = []
    doc = {str(k): v for k, v in doc.items()}
    header_doc = {k: v for k, v in doc.items() if k not in _LIST_KEYS}
    header: Scenario | None = None
    try:
        header = Scenario.model_validate(header_doc)
    except ValidationError as exc:
        problems += pydantic_problems(exc, file, "scenario")
        header = _header_without(header_doc, exc)
    header_ok = not problems
    entries: dict[str, list[tuple[str, Any]]] = {}
    for key, model in _LIST_KEYS.items():
        entries[key] = _parse_entries(doc.get(key), key, model, file, problems)
    signals = [(where, s) for where, s in entries["signals"]]
    effects = [(where, e) for where, e in entries["effects"]]

    if header is not None:
        problems += check_window(header, file)
        problems += check_times(header, signals, effects, file)
    problems += check_signals(signals, file)
    problems += check_effects(effects, file)
    if network is not None:
        problems += check_targets(signals, effects, network, file)
    if not header_ok or header is None or any(p.severity == "error" for p in problems):
        raise InputError(problems)

    end = header.end
    scenario = header.model_copy(
        update={
            "signals": tuple(s for _, s in signals),
            "effects": tuple(
                e if e.until is not None else e.model_copy(update={"until": end})
                for _, e in effects
            ),
            "sources": tuple(s for _, s in entries["sources"]),
        }
    )
    return scenario, problems


def _header_without(header_doc: dict[str, Any], exc: ValidationError) -> Scenario | None:
    """The header with its bad fields left to their defaults, so the window and time checks
    still run and report alongside (None if a required field is itself bad)."""
    bad = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
    try:
        return Scenario.model_validate({k: v for k, v in header_doc.items() if k not in bad})
    except ValidationError:
        return None


def _parse_entries(
    value: Any, key: str, model: type[BaseModel], file: str, problems: list[Problem]
) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(file, "scenario", key, f"'{key}' must be a list"))
        return []
    parsed: list[tuple[str, Any]] = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            problems.append(
                Problem(file, where, None, f"must be a mapping (got {type(item).__name__})")
            )
            continue
        try:
            parsed.append((where, model.model_validate(item)))
        except ValidationError as exc:
            problems += pydantic_problems(exc, file, where)
    return parsed


# --- checks: each collects every problem it finds ---------------------------------------------


def check_window(scenario: Scenario, file: str) -> list[Problem]:
    """start before end; a tick that is positive, fits the window and gives a sane step count."""
    problems: list[Problem] = []
    if scenario.end <= scenario.start:
        problems.append(Problem(file, "scenario", "end", "end must be after start"))
        return problems
    if scenario.tick <= timedelta(0):
        problems.append(Problem(file, "scenario", "tick", "tick must be longer than zero"))
        return problems
    if scenario.tick > scenario.window:
        problems.append(
            Problem(
                file,
                "scenario",
                "tick",
                f"tick {format_duration(scenario.tick)} is longer than the window",
            )
        )
    elif scenario.ticks > MAX_TICKS:
        problems.append(
            Problem(
                file,
                "scenario",
                "tick",
                f"tick {format_duration(scenario.tick)} gives {scenario.ticks} steps (at most "
                f"{MAX_TICKS}); use a longer tick or a shorter window",
            )
        )
    elif scenario.window % scenario.tick:
        problems.append(
            Problem(
                file,
                "scenario",
                "tick",
                f"the window is not a whole number of {format_duration(scenario.tick)} ticks; "
                "the last step is short",
                "warning",
            )
        )
    return problems


def check_times(
    scenario: Scenario,
    signals: list[tuple[str, ScenarioSignal]],
    effects: list[tuple[str, ScenarioEffect]],
    file: str,
) -> list[Problem]:
    """Every signal and effect time within [start - 30 d, end]."""
    problems: list[Problem] = []
    earliest, end = scenario.start - LEAD_ALLOWANCE, scenario.end
    span = f"{format_timestamp(earliest)} .. {format_timestamp(end)} (start - 30 d .. end)"

    def outside(when: datetime) -> bool:
        return when < earliest or when > end

    for where, signal in signals:
        if outside(signal.at):
            problems.append(
                Problem(file, where, "at", f"{format_timestamp(signal.at)} is outside {span}")
            )
    for where, effect in effects:
        if outside(effect.at):
            problems.append(
                Problem(file, where, "at", f"{format_timestamp(effect.at)} is outside {span}")
            )
        if effect.until is not None and outside(effect.until):
            problems.append(
                Problem(file, where, "until", f"{format_timestamp(effect.until)} is outside {span}")
            )
    return problems


def check_signals(signals: list[tuple[str, ScenarioSignal]], file: str) -> list[Problem]:
    """A target or an area (not both); a known metric for its dimension (else a warning);
    an announced rule change says when it takes effect."""
    problems: list[Problem] = []
    for where, signal in signals:
        if signal.target is None and signal.area is None:
            problems.append(Problem(file, where, "target", "a signal needs a target or an area"))
        elif signal.target is not None and signal.area is not None:
            problems.append(Problem(file, where, "area", "give a target or an area, not both"))
        known = STANDARD_METRICS.get(signal.dimension)
        if known is None:
            problems.append(
                Problem(
                    file,
                    where,
                    "dimension",
                    f"unknown dimension '{signal.dimension}' (standard: {', '.join(STANDARD_METRICS)}); "
                    "stored but not scored",
                    "warning",
                )
            )
        elif signal.metric not in known:
            problems.append(
                Problem(
                    file,
                    where,
                    "metric",
                    f"unknown {signal.dimension} metric '{signal.metric}' (standard: {', '.join(known)}); "
                    "stored but not scored",
                    "warning",
                )
            )
        if signal.metric == "rule_change" and signal.effective_at is None:
            problems.append(
                Problem(
                    file,
                    where,
                    "effective_at",
                    "a rule_change signal should say when the rule takes effect",
                    "warning",
                )
            )
        if (
            signal.effective_at
            and signal.expected_until
            and signal.expected_until <= signal.effective_at
        ):
            problems.append(Problem(file, where, "expected_until", "must be after effective_at"))
    return problems


def check_effects(effects: list[tuple[str, ScenarioEffect]], file: str) -> list[Problem]:
    """Exactly one kind per effect, `close` only as true, `until` after `at`."""
    problems: list[Problem] = []
    for where, effect in effects:
        given = [k for k in EFFECT_KINDS if getattr(effect, k) is not None]
        if effect.close is False:
            problems.append(
                Problem(file, where, "close", "close must be true (leave it out for no closure)")
            )
        elif len(given) != 1:
            what = "none" if not given else ", ".join(given)
            problems.append(
                Problem(
                    file,
                    where,
                    ", ".join(given) or None,
                    "an effect needs exactly one of close: true, capacity_pct, delay_days, "
                    f"clearance_days, carriers_divert, throughput_units_per_day (got {what})",
                )
            )
        if effect.until is not None and effect.until <= effect.at:
            problems.append(
                Problem(
                    file,
                    where,
                    "until",
                    f"until {format_timestamp(effect.until)} is not after at "
                    f"{format_timestamp(effect.at)}",
                )
            )
    return problems


def check_targets(
    signals: list[tuple[str, ScenarioSignal]],
    effects: list[tuple[str, ScenarioEffect]],
    network: Network,
    file: str,
) -> list[Problem]:
    """Every target a node or lane of the network; an area holding no node is a warning."""
    problems: list[Problem] = []
    known = network.node_by_id.keys() | network.lane_by_id.keys()
    items: list[tuple[str, ScenarioSignal | ScenarioEffect]] = [*signals, *effects]
    for where, item in items:
        target = item.target
        if target is not None and target not in known:
            problems.append(
                Problem(
                    file,
                    where,
                    "target",
                    f"'{target}' is not a node or lane of network '{network.name}'",
                )
            )
    problems += check_detours(effects, network, file)
    problems += check_throughputs(effects, network, file)
    for where, signal in signals:
        if signal.area is not None and not resolve_area(signal.area, network):
            problems.append(
                Problem(
                    file,
                    where,
                    "area",
                    f"the area holds no node of network '{network.name}'",
                    "warning",
                )
            )
    return problems


def check_detours(
    effects: list[tuple[str, ScenarioEffect]], network: Network, file: str
) -> list[Problem]:
    """A `carriers_divert` effect names a chokepoint or border other than its target that some
    service sails; its target is a `via` node; every service through the target with no sister
    service round the detour (same ports: twin.replay.world.detour_lane) is a warning: its
    freight keeps the course booked."""
    problems: list[Problem] = []
    vias = {member for lane in network.lanes for member in lane.via}
    for where, effect in effects:
        detour = effect.carriers_divert
        if detour is None:
            continue
        if effect.target in network.lane_by_id or (
            effect.target in network.node_by_id and effect.target not in vias
        ):
            problems.append(
                Problem(
                    file,
                    where,
                    "target",
                    f"carriers divert round a chokepoint or border: '{effect.target}' is no "
                    "lane's via",
                )
            )
            continue
        if detour == effect.target or detour not in vias:
            problems.append(
                Problem(
                    file,
                    where,
                    "carriers_divert",
                    f"'{detour}' is not another chokepoint or border a lane of network "
                    f"'{network.name}' sails by",
                )
            )
            continue
        through = [lane for lane in network.lanes if effect.target in lane.via]
        stranded = [
            lane.id for lane in through if detour_lane(lane, effect.target, detour, network) is None
        ]
        if stranded:
            problems.append(
                Problem(
                    file,
                    where,
                    "carriers_divert",
                    f"{len(stranded)} of {len(through)} services through {effect.target} have "
                    f"no sister service by {detour} (their freight keeps its course), e.g. "
                    + ", ".join(stranded[:3]),
                    "warning",
                )
            )
    return problems


def check_throughputs(
    effects: list[tuple[str, ScenarioEffect]], network: Network, file: str
) -> list[Problem]:
    """A `throughput_units_per_day` effect throttles a node freight stops at (some lane ends
    there): not a lane, not a chokepoint or border freight only sails by."""
    problems: list[Problem] = []
    stops = {lane.to for lane in network.lanes}
    for where, effect in effects:
        if effect.throughput_units_per_day is None:
            continue
        known = effect.target in network.node_by_id or effect.target in network.lane_by_id
        if known and effect.target not in stops:
            problems.append(
                Problem(
                    file,
                    where,
                    "throughput_units_per_day",
                    f"'{effect.target}' is no node freight stops at (a port or airport some lane "
                    "ends at): a throughput queues freight arriving at a node",
                )
            )
    return problems


# --- loading from files ----------------------------------------------------------------------


@dataclass
class LoadedScenario:
    """A scenario read from a file, with the network it runs on and any warnings."""

    path: Path
    scenario: Scenario
    network: Network
    warnings: list[Problem] = field(default_factory=list)
    shipments_path: Path | None = None
    stock_path: Path | None = None


NetworkCache = dict[str, tuple[Network, list[Problem]]]


def load_scenario(
    path: str | Path,
    *,
    network: str | Path | Network | None = None,
    cache: NetworkCache | None = None,
) -> LoadedScenario:
    """Read, validate and cross-check one scenario file.

    The scenario's `network` (a bundled name, or a path read relative to the scenario's folder
    first) is loaded and every target checked against it; `network` overrides it (a path, a
    bundled name or a loaded Network). A `shipments` path is loaded and checked too. `cache`
    shares loaded networks between calls (validating a folder loads `demo` once).

    Raises InputError listing every problem: schema errors, cross-check errors, a network or
    shipment file that does not load.
    """
    path = Path(path)
    file = str(path)
    doc = read_scenario_document(path)
    problems: list[Problem] = []

    loaded: Network | None = None
    if isinstance(network, Network):
        loaded = network
    else:
        ref = network if network is not None else doc.get("network", "demo")
        if isinstance(ref, (str, Path)) and str(ref).strip():
            loaded = _load_network(str(ref), path.parent, file, problems, cache)
        # else: the schema check below reports the bad `network` field

    scenario: Scenario | None = None
    try:
        scenario, warnings = parse_scenario(doc, file, loaded)
        problems += warnings
    except InputError as exc:
        problems += exc.problems + exc.warnings

    shipments_path: Path | None = None
    raw_shipments = doc.get("shipments")
    if isinstance(raw_shipments, str) and raw_shipments.strip():
        shipments_path = resolve_relative(raw_shipments, path.parent)
        if shipments_path is None:
            problems.append(
                Problem(
                    file,
                    "scenario",
                    "shipments",
                    f"no shipment file '{raw_shipments}' (read relative to "
                    f"{path.parent} and the working directory)",
                )
            )
        elif loaded is not None:
            try:
                _, found = load_shipments(shipments_path, loaded)
                problems += found
            except InputError as exc:
                problems += exc.problems + exc.warnings

    stock_path = _stock_path(doc.get("stock"), path, file, loaded, shipments_path, problems)
    if isinstance(doc.get("name"), str) and doc["name"] != path.stem:
        problems.append(
            Problem(
                file,
                "scenario",
                "name",
                f"name '{doc['name']}' differs from the file name '{path.stem}'",
                "warning",
            )
        )
    if scenario is None or loaded is None or any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return LoadedScenario(path, scenario, loaded, problems, shipments_path, stock_path)


def _stock_path(
    raw: Any,
    path: Path,
    file: str,
    network: Network | None,
    shipments_path: Path | None,
    problems: list[Problem],
) -> Path | None:
    """A scenario's stock inputs given as a path: found and checked (docs/stock.md), against
    the scenario's shipment file when it has one."""
    ref = raw if isinstance(raw, str) else raw.get("path") if isinstance(raw, dict) else None
    if not isinstance(ref, str) or not ref.strip():
        return None
    found = resolve_relative(ref, path.parent)
    if found is None:
        problems.append(
            Problem(
                file,
                "scenario",
                "stock",
                f"no stock inputs '{ref}' (read relative to {path.parent} and the working "
                "directory)",
            )
        )
        return None
    if network is not None:
        try:
            shipments = load_shipments(shipments_path, network)[0] if shipments_path else None
            _, found_problems = load_stock(found, network, shipments)
            problems += found_problems
        except InputError as exc:
            problems += exc.problems + exc.warnings
    return found


def _load_network(
    ref: str, base: Path, file: str, problems: list[Problem], cache: NetworkCache | None
) -> Network | None:
    target: str | Path = ref
    if looks_like_path(ref):
        found = resolve_relative(ref, base)
        if found is None:
            problems.append(
                Problem(
                    file,
                    "scenario",
                    "network",
                    f"no network file '{ref}' (read relative to {base} and the working directory)",
                )
            )
            return None
        target = found
    key = str(Path(target).resolve()) if isinstance(target, Path) else target
    if cache is not None and key in cache:
        return cache[key][0]
    try:
        network, warnings = load_network(target)
    except InputError as exc:
        reasons = "; ".join(str(p) for p in exc.problems[:3]) or "invalid network"
        more = f" (and {len(exc.problems) - 3} more)" if len(exc.problems) > 3 else ""
        problems.append(
            Problem(file, "scenario", "network", f"network '{ref}' does not load: {reasons}{more}")
        )
        return None
    if cache is not None:
        cache[key] = (network, warnings)
    return network
