"""The playbook file format (SPEC 1.4) as pydantic models: unknown keys refused everywhere."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from twin.domain.alerts import Severity
from twin.domain.durations import parse_duration
from twin.domain.problems import InputError, Problem, did_you_mean, pydantic_problems
from twin.domain.records import Mode, NodeKind, Priority
from twin.domain.signals import ALERTED_DIMENSIONS
from twin.playbook import template


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_list(value: Any) -> Any:
    # `dimension: customs` and `dimension: [customs, capacity]` mean the same.
    return [value] if isinstance(value, (str, int, float)) else value


def _templated(value: Any) -> Any:
    problems = template.check_value(value)
    if problems:
        raise ValueError("; ".join(problems))
    return value


def _until(value: str) -> str:
    if value != "clear":
        parse_duration(value)
    return value


Until = Annotated[str, Field(description="`clear` (until the alert clears) or a duration like 12h")]
TargetKind = Literal[
    "origin", "port", "airport", "rail_terminal", "border", "chokepoint", "warehouse", "lane"
]
assert set(TargetKind.__args__) == {k.value for k in NodeKind} | {"lane"}  # type: ignore[attr-defined]


class Match(_Strict):
    """Which alerts a playbook is for; every key given must hold (AND), a list means any of it.

    targets: node or lane ids (the alert's target, or a node its lane passes);
    tags: labels the alert carries (`early`, `kind:port`, `via:SUEZ`, `country:US`).
    """

    dimension: list[str] | None = None
    severity: list[Severity] | None = None
    target_kind: list[TargetKind] | None = None
    targets: list[str] | None = Field(default=None, alias="ids")
    tags: list[str] | None = None
    countries: list[str] | None = None

    _lists = field_validator(
        "dimension", "severity", "target_kind", "targets", "tags", "countries", mode="before"
    )(_as_list)

    @model_validator(mode="after")
    def _not_empty(self) -> Match:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is not None and len(value) == 0:
                raise ValueError(f"'{name}' is an empty list: leave it out to match anything")
        return self

    def constrained(self) -> tuple[str, ...]:
        """The keys this match sets: its specificity is how many there are."""
        return tuple(name for name in type(self).model_fields if getattr(self, name) is not None)


# --- action parameters -------------------------------------------------------------------


class AvoidParams(_Strict):
    """Exclude a node or lane from plans (a chokepoint or border: every lane via it)."""

    target: str = "{{ alert.target }}"
    until: Until = "clear"
    _t = field_validator("target")(_templated)
    _u = field_validator("until")(_until)


class DerateParams(_Strict):
    """Cut the capacity of a node or lane by `by_pct` percent (100 shuts it)."""

    target: str = "{{ alert.target }}"
    by_pct: float = Field(gt=0, le=100)
    until: Until = "clear"
    _t = field_validator("target")(_templated)
    _u = field_validator("until")(_until)


class ReplanParams(_Strict):
    """Re-plan shipments under the constraints the earlier actions set.

    scope: `exposed` (shipments whose route meets the risk), `all` not-yet-departed ones, or
    `inbound`: for a `stock` alert, the freight still to arrive in its chain (the shipments
    feeding the warehouse x SKUs short), priced at the risks that delay it.
    """

    scope: Literal["exposed", "all", "inbound"] = "exposed"
    priorities: list[Priority] | None = None
    max_cost_increase_pct: float | None = Field(default=None, ge=0)
    max_co2e_increase_pct: float | None = Field(default=None, ge=0)
    max_shipments: int | None = Field(default=None, ge=1)


class ShiftModeParams(_Strict):
    """Move exposed shipments of the given priorities off one mode (e.g. sea -> air)."""

    from_: Mode = Field(alias="from")
    to: Mode
    priorities: list[Priority] = Field(
        default_factory=lambda: [Priority.express, Priority.critical]
    )
    max_cost_increase_pct: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _different(self) -> ShiftModeParams:
        if self.from_ == self.to:
            raise ValueError(f"'from' and 'to' are both {self.to.value}")
        return self


class HoldParams(_Strict):
    """Keep exposed, not-yet-departed shipments where they are until the risk clears."""

    priorities: list[Priority] = Field(default_factory=lambda: [Priority.standard])
    until: Until = "clear"
    _u = field_validator("until")(_until)


class ExpediteCustomsParams(_Strict):
    """Buy a shorter clearance (broker priority lane, pre-filing) at a node, for a fee per unit."""

    target: str = "{{ alert.target }}"
    saves_days: float = Field(gt=0)
    cost_per_unit: float = Field(ge=0)
    _t = field_validator("target")(_templated)


ALL_MODES = [Mode.sea, Mode.rail, Mode.road, Mode.air]


class _StockMoveParams(_Strict):
    """Common to the stock moves (docs/stock.md, "Stock moves"): the modes the move may use
    and an optional budget. The moves a playbook lists are weighed together: the optimiser
    chooses among all their candidates (twin.stock.moves), so listing one offers it."""

    modes: list[Mode] = Field(default_factory=lambda: list(ALL_MODES), min_length=1)
    max_cost: float | None = Field(default=None, ge=0)


class SplitParams(_StockMoveParams):
    """Fly apart the urgent SKU lines (a late day of them costs at least `split_at` per cbm)
    of a shipment not yet departed for the short warehouse; the rest stays on its route."""

    modes: list[Mode] = Field(default_factory=lambda: [Mode.air], min_length=1)
    split_at: float = Field(default=4.0, gt=0)


class RedirectParams(_StockMoveParams):
    """Send inbound freight bound for another warehouse of the short one's market (country)
    to it instead: by a port change (a sister sea service) or an onward leg from a node ahead."""


class TransferParams(_StockMoveParams):
    """Move units from a warehouse of the market with spare cover to the short one.

    ready_days: days before the freight leaves the warehouse (pick, load, book a truck)."""

    modes: list[Mode] = Field(
        default_factory=lambda: [Mode.road, Mode.rail, Mode.air], min_length=1
    )
    ready_days: float = Field(default=0.5, ge=0)


class ReplenishParams(_StockMoveParams):
    """Ship new units from an origin by the mode that beats the stock-out at least cost.

    ready_days: days before the freight leaves the origin; origins: where from (default: the
    origins of the SKU's inbound freight, else every origin of the network)."""

    ready_days: float = Field(default=2.0, ge=0)
    origins: list[str] | None = Field(default=None, min_length=1)


STOCK_MOVE_ACTIONS = ("split", "redirect", "transfer", "replenish")


class NotifyParams(_Strict):
    """Tell people: a channel name the daemon configuration maps to a webhook or Alertmanager."""

    channel: str = Field(min_length=1)
    message: str = "{{ alert.severity }} {{ alert.dimension }} risk at {{ alert.target }}"
    _m = field_validator("message")(_templated)


ACTION_PARAMS: dict[str, type[_Strict]] = {
    "avoid": AvoidParams,
    "derate": DerateParams,
    "replan": ReplanParams,
    "shift_mode": ShiftModeParams,
    "hold": HoldParams,
    "expedite_customs": ExpediteCustomsParams,
    "split": SplitParams,
    "redirect": RedirectParams,
    "transfer": TransferParams,
    "replenish": ReplenishParams,
    "notify": NotifyParams,
}


def _step(name: str, params: type[_Strict]) -> Any:
    # One wrapper model per action, so `- avoid: {...}` validates its own keys only.
    model = type(
        f"{params.__name__[:-6]}Step",
        (_Strict,),
        {
            "__annotations__": {name: params},
            "__module__": __name__,
        },
    )
    return Annotated[model, Tag(name)]


def _action_name(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        name = next(iter(value))
        return name if name in ACTION_PARAMS else None
    if isinstance(value, BaseModel):
        return next(iter(type(value).model_fields))
    return None


_KNOWN = ", ".join(ACTION_PARAMS)
if TYPE_CHECKING:
    # Built at run time, so a type checker sees what every step is: a one-field model.
    Step = BaseModel
else:
    Step = Annotated[
        Union[tuple(_step(name, params) for name, params in ACTION_PARAMS.items())],  # noqa: UP007 - built at run time
        Discriminator(
            _action_name,
            custom_error_type="unknown_action",
            custom_error_message=f"each action is one of {_KNOWN}, written `- name: {{params}}`",
        ),
    ]


def step_name(step: BaseModel) -> str:
    return next(iter(type(step).model_fields))


def step_params(step: BaseModel) -> BaseModel:
    return getattr(step, step_name(step))


# --- the playbook --------------------------------------------------------------------------


class Guardrails(_Strict):
    """Limits past which an `auto` playbook waits for an on-call approval instead."""

    max_cost_increase_pct: float | None = Field(default=None, ge=0)
    max_co2e_increase_pct: float | None = Field(default=None, ge=0)
    max_cost_delta: float | None = Field(default=None, ge=0)
    max_shipments: int | None = Field(default=None, ge=1)
    max_eta_increase_days: float | None = Field(default=None, ge=0)


class Playbook(_Strict):
    """One playbook file: which alerts it is for and what to do about them."""

    id: str = Field(min_length=1, max_length=120, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str = Field(min_length=10)
    modelled_on: list[str] = Field(default_factory=list)
    match: Match
    actions: list[Step] = Field(min_length=1)
    approval: Literal["auto", "required"] = "required"
    cooldown: str = "0s"
    expire_after: str = "24h"
    rollback: Literal["on_clear", "never"] = "on_clear"
    priority: int = 0
    shadow: bool = False
    guardrails: Guardrails = Field(default_factory=Guardrails)

    @field_validator("cooldown", "expire_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Playbook:
        names = [step_name(step) for step in self.actions]
        # Re-planning needs a reason to differ from today's plan; a replan with nothing before it
        # is allowed (the risk itself is priced), but two replans would plan twice.
        if names.count("replan") > 1:
            raise ValueError("at most one replan action per playbook")
        twice = sorted({n for n in names if n in STOCK_MOVE_ACTIONS and names.count(n) > 1})
        if twice:
            raise ValueError(f"at most one {twice[0]} action per playbook")
        moves = [n for n in names if n in STOCK_MOVE_ACTIONS]
        dimensions = self.match.dimension
        if moves and dimensions is not None and "stock" not in dimensions:
            raise ValueError(
                f"{', '.join(moves)} answer stock alerts (a warehouse short): match.dimension "
                f"{dimensions} does not include stock"
            )
        return self

    @property
    def cooldown_td(self) -> timedelta:
        return parse_duration(self.cooldown)

    @property
    def expire_after_td(self) -> timedelta:
        return parse_duration(self.expire_after)

    def steps(self) -> list[tuple[str, BaseModel]]:
        return [(step_name(step), step_params(step)) for step in self.actions]

    def max_cost_increase_pct(self) -> float | None:
        """The tightest cost guardrail, wherever it is written (guardrails or an action)."""
        limits = [self.guardrails.max_cost_increase_pct] + [
            getattr(params, "max_cost_increase_pct", None) for _, params in self.steps()
        ]
        given = [limit for limit in limits if limit is not None]
        return min(given) if given else None

    def max_co2e_increase_pct(self) -> float | None:
        """The tightest CO2e guardrail (guardrails or the replan action), if any."""
        limits = [self.guardrails.max_co2e_increase_pct] + [
            getattr(params, "max_co2e_increase_pct", None) for _, params in self.steps()
        ]
        given = [limit for limit in limits if limit is not None]
        return min(given) if given else None


def parse_playbook(document: Any, file: str) -> Playbook:
    """Validate one parsed playbook document; raises InputError naming every bad field."""
    where = str(document.get("id", "")) if isinstance(document, dict) else ""
    if not isinstance(document, dict):
        raise InputError(
            [Problem(file, "", None, "a playbook is a mapping (id, match, actions, ...)")]
        )
    try:
        return Playbook.model_validate(document)
    except ValidationError as exc:
        raise InputError(pydantic_problems(_Located(exc), file, where)) from None


class _Located:
    """A ValidationError whose locations drop the discriminator tag (`actions.1.avoid.target`)
    and whose unknown keys and actions suggest the nearest known name."""

    def __init__(self, exc: ValidationError):
        self.exc = exc

    def errors(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for raw in self.exc.errors():
            loc = list(raw.get("loc", ()))
            if len(loc) >= 4 and loc[0] == "actions" and loc[2] == loc[3]:
                del loc[2]
            err: dict[str, Any] = {**raw, "loc": tuple(loc)}
            if err.get("type") == "extra_forbidden" and loc:
                known = _keys_at(tuple(str(part) for part in loc[:-1]))
                if known:
                    hint = did_you_mean(str(loc[-1]), known)
                    err = {**err, "msg": f"unknown key ({hint})", "type": "unknown_key"}
                    err.pop("input", None)
            elif err.get("type") == "unknown_action":
                given = err.get("input")
                if isinstance(given, dict) and len(given) == 1:
                    name = str(next(iter(given)))
                    err = {
                        **err,
                        "msg": f"unknown action {name!r} ({did_you_mean(name, ACTION_PARAMS)})",
                    }
                    err.pop("input", None)
            out.append(err)
        return out


def _field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _keys_at(path: tuple[str, ...]) -> list[str]:
    """The keys a playbook allows in the mapping at `path` (`()`, `match`, `actions.0.avoid`)."""
    if not path:
        return _field_names(Playbook) + ["ids"]
    if path == ("match",):
        return _field_names(Match) + ["targets"]
    if path == ("guardrails",):
        return _field_names(Guardrails)
    if len(path) == 3 and path[0] == "actions" and path[2] in ACTION_PARAMS:
        return _field_names(ACTION_PARAMS[path[2]])
    return []


def check_playbooks(playbooks: list[tuple[str, Playbook]]) -> list[Problem]:
    """Problems across files: two files with one id."""
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    for file, playbook in playbooks:
        if playbook.id in seen:
            problems.append(
                Problem(
                    file, playbook.id, "id", f"duplicate playbook id (also in {seen[playbook.id]})"
                )
            )
        seen.setdefault(playbook.id, file)
    return problems


def _literal(value: str) -> bool:
    return "{{" not in value


def check_references(
    playbook: Playbook,
    file: str,
    *,
    ids: Collection[str] | None = None,
    channels: Collection[str] | None = None,
    dimensions: Collection[str] = ALERTED_DIMENSIONS,
) -> list[Problem]:
    """Names a playbook uses that the world it runs in does not know: a dimension no signal has,
    a target not in the network (`ids`: its node and lane ids), a channel the daemon does not
    configure. Each would switch the playbook off silently, so each is an error with the nearest
    known name (with no channel configured at all, a warning). None (no network, no
    configuration at hand) skips that check."""
    problems: list[Problem] = []

    def unknown(field: str, message: str, name: str, known: Collection[str]) -> None:
        problems.append(
            Problem(file, playbook.id, field, f"{message} ({did_you_mean(name, known)})")
        )

    for name in playbook.match.dimension or []:
        if name not in dimensions:
            unknown("match.dimension", f"unknown dimension {name!r}", name, dimensions)
    if ids is not None:
        for name in playbook.match.targets or []:
            if name not in ids:
                unknown("match.targets", f"{name!r} is not in the network", name, ids)
    for index, (action, params) in enumerate(playbook.steps()):
        for origin in getattr(params, "origins", None) or ():
            if ids is not None and origin not in ids:
                field = f"actions.{index}.{action}.origins"
                unknown(field, f"{origin!r} is not in the network", origin, ids)
        target = getattr(params, "target", None)
        if ids is not None and isinstance(target, str) and _literal(target) and target not in ids:
            field = f"actions.{index}.{action}.target"
            unknown(field, f"{target!r} is not in the network", target, ids)
        if not isinstance(params, NotifyParams) or channels is None:
            continue
        if params.channel in channels:
            continue
        field = f"actions.{index}.notify.channel"
        if channels:
            unknown(field, f"unknown channel {params.channel!r}", params.channel, channels)
        else:
            # No channel at all is a choice (nothing is paged), not a typo: say so.
            problems.append(
                Problem(
                    file,
                    playbook.id,
                    field,
                    f"channel {params.channel!r} is not configured (no "
                    "[[notify.channels]]): its notifications are recorded, not sent",
                    "warning",
                )
            )
    return problems
