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
        return self

    def source(self, ident: str | None) -> IntensitySource | None:
        return next((s for s in self.sources if s.id == ident), None)
