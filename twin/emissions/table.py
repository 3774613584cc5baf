"""The emission intensity table: per mode and class, g CO2e per tonne-km with its scope.

Validated here (pure); read from YAML by twin.files.emissions. Scopes follow ISO 14083 and
the GLEC Framework: WTW (well-to-wheel) = WTT (well-to-tank) + TTW (tank-to-wheel).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twin.domain.records import Mode

Scope = Literal["wtw", "ttw"]


class IntensitySource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    quoted_by: str | None = None
    url: str | None = None
    year: int


class IntensityClass(BaseModel):
    """One vessel, aircraft or vehicle class: the published figures, in g CO2e per tonne-km."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = ""
    wtw: float | None = Field(default=None, ge=0)
    ttw: float | None = Field(default=None, ge=0)
    wtt: float | None = Field(default=None, ge=0)
    source: str | None = None
    notes: str = ""

    @field_validator("wtw", "ttw", "wtt")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _sourced(self) -> IntensityClass:
        if (self.wtw, self.ttw, self.wtt) != (None, None, None) and not self.source:
            raise ValueError("an intensity needs a `source` (an id from `sources`)")
        return self

    def intensity(self) -> tuple[float, Scope] | None:
        """The figure to use and its scope: WTW, else WTT + TTW, else TTW; None if unknown."""
        if self.wtw is not None:
            return self.wtw, "wtw"
        if self.ttw is not None and self.wtt is not None:
            # Rounded: the published halves have at most 5 decimals (kg), so the sum is exact.
            return round(self.ttw + self.wtt, 6), "wtw"
        if self.ttw is not None:
            return self.ttw, "ttw"
        return None


class SourcedFigure(BaseModel):
    """One published number and the id of the source it was read from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float = Field(gt=0)
    source: str = Field(min_length=1)
    notes: str = ""

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class TradeLane(BaseModel):
    """A container trade lane's published per-TEU intensity, turned into g per tonne-km.

    Container carriers publish g CO2 per TEU-km on a trade lane (Clean Cargo, the GLEC
    Framework's container defaults); ISO 14083 counts tonne-km. The per-TEU figure at nominal
    capacity is divided by the utilisation and the tonnes a loaded TEU carries, and multiplied
    by the distance factor (the route sailed against the shortest one), each with its source:

        TTW (g/t km) = per TEU-km / utilisation / tonnes per TEU x distance factor

    The WTT part is the named class's WTT in proportion to its TTW (the same fuel)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    mode: Mode
    # Two regions, each a list of ISO country codes (2 letters) or port ids (UN/LOCODE); a
    # lane between a node of one and a node of the other, either way, is on this trade lane.
    between: tuple[tuple[str, ...], tuple[str, ...]]
    year: int
    co2_g_per_teu_km: SourcedFigure
    utilisation: SourcedFigure
    tonnes_per_teu: SourcedFigure
    distance_factor: SourcedFigure
    wtt_as_class: str = Field(min_length=1)
    notes: str = ""

    @field_validator("between")
    @classmethod
    def _regions(cls, value: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        if any(not region for region in value):
            raise ValueError("each region needs at least one country code or port id")
        return tuple(tuple(code.strip().upper() for code in region) for region in value)

    @field_validator("utilisation")
    @classmethod
    def _share(cls, value: SourcedFigure) -> SourcedFigure:
        if value.value > 1:
            raise ValueError("utilisation is a share of capacity, at most 1")
        return value

    @field_validator("distance_factor")
    @classmethod
    def _uplift(cls, value: SourcedFigure) -> SourcedFigure:
        if value.value < 1:
            raise ValueError("a distance factor lengthens the shortest route: at least 1")
        return value

    def ttw_g_per_tkm(self) -> float:
        return (
            self.co2_g_per_teu_km.value
            / self.utilisation.value
            / self.tonnes_per_teu.value
            * self.distance_factor.value
        )

    def connects(self, a: tuple[str, str | None], b: tuple[str, str | None]) -> bool:
        """Whether nodes a and b, each (id, country), lie one in each region, either way."""
        first, second = ({*r} for r in self.between)

        def inside(node: tuple[str, str | None], region: set[str]) -> bool:
            return node[0].upper() in region or (node[1] or "").upper() in region

        return (inside(a, first) and inside(b, second)) or (inside(a, second) and inside(b, first))


class ModeIntensities(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_class: str
    classes: dict[str, IntensityClass]

    @model_validator(mode="after")
    def _default_known(self) -> ModeIntensities:
        if self.default_class not in self.classes:
            raise ValueError(f"default_class '{self.default_class}' is not one of `classes`")
        return self


class EmissionTable(BaseModel):
    """Intensities per mode, the default shipment density and the fall-back circuity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: tuple[IntensitySource, ...]
    default_kg_per_cbm: float = Field(gt=0)
    circuity: dict[Mode, float]
    modes: dict[Mode, ModeIntensities]
    trade_lanes: dict[str, TradeLane] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> EmissionTable:
        missing = [m.value for m in Mode if m not in self.modes or m not in self.circuity]
        if missing:
            raise ValueError(f"every mode needs `modes` and `circuity` entries: {missing}")
        known = {s.id for s in self.sources}
        for mode, entry in self.modes.items():
            for name, cls in entry.classes.items():
                if cls.source is not None and cls.source not in known:
                    raise ValueError(
                        f"modes.{mode.value}.classes.{name}.source '{cls.source}' "
                        "is not an id in `sources`"
                    )
        for name, trade in self.trade_lanes.items():
            for field in ("co2_g_per_teu_km", "utilisation", "tonnes_per_teu", "distance_factor"):
                figure: SourcedFigure = getattr(trade, field)
                if figure.source not in known:
                    raise ValueError(
                        f"trade_lanes.{name}.{field}.source '{figure.source}' "
                        "is not an id in `sources`"
                    )
            base = self.modes[trade.mode].classes.get(trade.wtt_as_class)
            if base is None or not base.ttw or base.wtt is None:
                raise ValueError(
                    f"trade_lanes.{name}.wtt_as_class '{trade.wtt_as_class}' must be a "
                    f"{trade.mode.value} class with `ttw` and `wtt`"
                )
        return self

    def trade_lane_class(self, name: str) -> IntensityClass:
        """The trade lane's intensity as a class: its derived TTW and the WTT in the named
        class's proportion (validated on load to exist)."""
        trade = self.trade_lanes[name]
        base = self.modes[trade.mode].classes[trade.wtt_as_class]
        wtt_per_ttw = (base.wtt or 0.0) / (base.ttw or 1.0)  # both present: checked on load
        ttw = trade.ttw_g_per_tkm()
        return IntensityClass(
            label=trade.label,
            ttw=round(ttw, 6),
            wtt=round(ttw * wtt_per_ttw, 6),
            source=trade.co2_g_per_teu_km.source,
        )

    def trade_lane_for(
        self, mode: Mode, a: tuple[str, str | None], b: tuple[str, str | None]
    ) -> str | None:
        """The first trade lane of this mode that nodes a and b, each (id, country), are on."""
        return next(
            (n for n, t in self.trade_lanes.items() if t.mode == mode and t.connects(a, b)),
            None,
        )

    def source(self, ident: str | None) -> IntensitySource | None:
        return next((s for s in self.sources if s.id == ident), None)
