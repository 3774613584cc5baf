"""Offline geodata (UN/LOCODE ports and sea routes from searoute, IATA airports from
airportsdata) and the facility and parameter files `twin network build` reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from twin.files.tables import read_yaml
from twin.network.build import (
    FacilityFile,
    Parameters,
    Place,
    SeaRoute,
    parse_facilities,
    parse_parameters,
)

BUNDLED_PARAMETERS = "data/lane_parameters.yaml"

# searoute's passage for the route round southern Africa; some routes pass the Cape without
# searoute listing it, so the geometry is checked too (see `_rounds_the_cape`).
CAPE_PASSAGE = "south_africa"


class OfflineGeoData:
    """The geodata the network builder needs, read from packages installed with twin.

    Ports come from the UN/LOCODE table searoute ships (the first row wins where a code is
    listed twice); airports from airportsdata's IATA table; sea routes from searoute's
    maritime network. Nothing here touches the internet.
    """

    def __init__(self) -> None:
        self.route_calls = 0

    def port(self, locode: str) -> Place | None:
        return _ports().get(locode.upper())

    def airport(self, iata: str) -> Place | None:
        return _airports().get(iata.upper())

    def sea_route(
        self,
        origin: tuple[float, float],
        destination: tuple[float, float],
        restrictions: Sequence[str],
    ) -> SeaRoute | None:
        """The shortest sea route between two (lat, lon) points avoiding `restrictions`
        (searoute passage names), or None when the restrictions leave no route."""
        import searoute

        self.route_calls += 1
        # searoute keeps the restrictions of its previous call when given None: always pass a
        # fresh explicit list.
        feature = searoute.searoute(
            [origin[1], origin[0]],
            [destination[1], destination[0]],
            units="naut",
            restrictions=list(restrictions),
            return_passages=True,
        )
        props = feature["properties"]
        length = float(props.get("length") or 0.0)
        coords = feature["geometry"]["coordinates"]
        if not coords or length == float("inf"):
            return None
        passages = set(props.get("traversed_passages") or ())
        if _rounds_the_cape(coords):
            passages.add(CAPE_PASSAGE)
        path = tuple((float(lat), float(lon)) for lon, lat in coords)
        return SeaRoute(nautical_miles=length, passages=frozenset(passages), path=path)

    def passages(self) -> frozenset[str]:
        return _passages()


@cache
def _passages() -> frozenset[str]:
    # The passages searoute's maritime network marks on its edges (its own restriction names).
    text = (
        resources.files("searoute")
        .joinpath("data", "marnet_searoute.geojson")
        .read_text(encoding="utf-8")
    )
    names = {
        str(feature["properties"]["passage"])
        for feature in json.loads(text)["features"]
        if (feature.get("properties") or {}).get("passage")
    }
    return frozenset(names | {CAPE_PASSAGE})


def _rounds_the_cape(coords: Sequence[Sequence[float]]) -> bool:
    # South of 30°S between 10°E and 35°E a ship is rounding southern Africa.
    return any(lat <= -30.0 and 10.0 <= lon <= 35.0 for lon, lat in coords)


@cache
def _ports() -> dict[str, Place]:
    text = resources.files("searoute").joinpath("data", "ports.geojson").read_text(encoding="utf-8")
    table: dict[str, Place] = {}
    for feature in json.loads(text)["features"]:
        props: dict[str, Any] = feature["properties"]
        code = str(props.get("port") or "").upper()
        if len(code) != 5 or code in table:
            continue
        lon, lat = feature["geometry"]["coordinates"][:2]
        # A UN/LOCODE starts with the ISO 3166 country code; searoute's `cty` is a country name.
        table[code] = Place(
            name=str(props.get("name") or code),
            country=code[:2],
            lat=round(float(lat), 5),
            lon=round(float(lon), 5),
        )
    return table


@cache
def _airports() -> dict[str, Place]:
    import airportsdata

    return {
        code: Place(
            name=str(row["name"]),
            country=str(row["country"]),
            lat=round(float(row["lat"]), 5),
            lon=round(float(row["lon"]), 5),
        )
        for code, row in airportsdata.load("IATA").items()
    }


def read_facilities(path: Path) -> FacilityFile:
    """A facility file, validated; InputError names the file, entry and field of each problem."""
    return parse_facilities(read_yaml(path), str(path))


def read_lane_parameters(path: Path | None = None) -> Parameters:
    """The lane parameter table at `path`, or the one bundled with twin."""
    if path is None:
        path = Path(str(resources.files("twin").joinpath(BUNDLED_PARAMETERS)))
    return parse_parameters(read_yaml(path), str(path))
