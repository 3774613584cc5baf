"""Build a SPEC 1.1 network from a facility list, a lane-parameter table and real geography.

Pure: the caller reads the files and passes a geodata provider (port and airport look-ups,
sea routes); nothing here touches a file, a package's data or a clock. The rules:

- every export-side port gets sea lanes to every import-side port: the shortest route under
  each of the parameter table's restriction sets, one lane per service (SUEZ, SUNDA, PANAMA, CAPE or
  plain SEA), minus detours that are too long or that pay a canal for no time saved;
- every export-side airport gets an air lane to every import-side airport;
- `links` in the facility file add the lanes geography cannot infer (the rail corridor);
- road lanes join origins to nearby export hubs, import hubs to nearby warehouses and
  distribution warehouses to nearby fulfillment/delivery warehouses, inside one road area.

The export side is every place sharing a road area with an origin; the import side is the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin.domain.problems import InputError, Problem, did_you_mean, pydantic_problems
from twin.domain.records import VIA_KINDS, Lane, Mode, Network, Node, NodeKind, Tier
from twin.network.geo import KM_PER_NM, node_distance_km

HUB_KINDS = (NodeKind.port, NodeKind.airport, NodeKind.rail_terminal)


# --- what the geodata provider gives --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A looked-up place: a port by UN/LOCODE or an airport by IATA code."""

    name: str
    country: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class SeaRoute:
    """A sea route's length, the passages (searoute names) it goes through and, if known, its
    path as (lat, lon) points from origin to destination."""

    nautical_miles: float
    passages: frozenset[str]
    path: tuple[tuple[float, float], ...] = ()


class GeoData(Protocol):
    def port(self, locode: str) -> Place | None: ...

    def airport(self, iata: str) -> Place | None: ...

    def sea_route(
        self,
        origin: tuple[float, float],
        destination: tuple[float, float],
        restrictions: Sequence[str],
    ) -> SeaRoute | None: ...

    def passages(self) -> frozenset[str]:
        """The passage names sea routes may report (what a chokepoint's `passage` may be)."""
        ...


SeaRouteProgress = Callable[[int, int], None]  # (sea routes done, sea routes to do)


# --- the facility file ----------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Facility(_Strict):
    """One facility entry. Ports and airports may leave out coordinates, name and country:
    they are looked up by id (UN/LOCODE or IATA), or by `lookup` where the table lists the place
    under another code. `passage` names the searoute passage a chokepoint stands for."""

    id: str = Field(min_length=1, max_length=120, pattern=r"^[^\s]+$")
    kind: NodeKind
    name: str | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    tier: Tier | None = None
    capacity: float | None = Field(default=None, ge=0)
    handling_days: float | None = Field(default=None, ge=0)
    clearance_days: float | None = Field(default=None, ge=0)
    customs_entry: bool | None = None
    lookup: str | None = None
    passage: str | None = None
    geocodes: dict[str, str | list[str]] | None = None  # as Node.geocodes: {SAME: "048201"}

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class Link(_Strict):
    """Explicit lanes: every `from` × `to` pair by `mode`, optionally `via` borders/chokepoints."""

    mode: Mode
    from_: list[str] = Field(alias="from", min_length=1)
    to: list[str] = Field(min_length=1)
    via: list[str] = []

    @field_validator("from_", "to", "via", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


@dataclass(frozen=True)
class FacilityFile:
    """A parsed facility file; `positions` keep where each entry was, for error messages."""

    file: str
    name: str
    unit: str
    currency: str
    facilities: tuple[Facility, ...]
    positions: tuple[str, ...]
    links: tuple[Link, ...]


def parse_facilities(doc: Any, file: str) -> FacilityFile:
    """Validate a facility document (already parsed YAML). Raises InputError listing every
    problem with the file, the entry (`facilities[3]` and its id) and the field."""
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        raise InputError(
            [Problem(file, "", None, "a facility file must be a mapping with 'facilities'")]
        )
    for key in sorted(
        set(map(str, doc)) - {"name", "unit", "currency", "description", "facilities", "links"}
    ):
        problems.append(Problem(file, "file", key, "unknown top-level key"))
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(
            Problem(file, "file", "name", "a facility file needs a non-empty network name")
        )
        name = "unnamed"
    raw = doc.get("facilities")
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(file, "file", "facilities", "missing or empty 'facilities' list"))
        raw = []
    facilities: list[Facility] = []
    positions: list[str] = []
    for i, item in enumerate(raw):
        where = _where("facility", f"facilities[{i}]", item)
        if not isinstance(item, dict):
            problems.append(Problem(file, where, None, "a facility must be a mapping of fields"))
            continue
        try:
            facilities.append(Facility.model_validate({str(k): v for k, v in item.items()}))
            positions.append(where)
        except ValidationError as exc:
            problems.extend(pydantic_problems(exc, file, where))
    seen: dict[str, str] = {}
    for facility, where in zip(facilities, positions):
        if facility.id in seen:
            problems.append(
                Problem(file, where, "id", f"duplicate id, first at {seen[facility.id]}")
            )
        seen.setdefault(facility.id, where)
    links: list[Link] = []
    raw_links = doc.get("links") or []
    if not isinstance(raw_links, list):
        problems.append(Problem(file, "file", "links", "'links' must be a list"))
        raw_links = []
    for i, item in enumerate(raw_links):
        where = f"links[{i}]"
        try:
            links.append(Link.model_validate(item))
        except ValidationError as exc:
            problems.extend(pydantic_problems(exc, file, where))
    if problems:
        raise InputError(problems)
    return FacilityFile(
        file=file,
        name=name,
        unit=str(doc.get("unit", "cbm")),
        currency=str(doc.get("currency", "USD")),
        facilities=tuple(facilities),
        positions=tuple(positions),
        links=tuple(links),
    )


def _where(kind: str, position: str, item: Any) -> str:
    ident = item.get("id") if isinstance(item, dict) else None
    return f"{kind} {ident} ({position})" if ident not in (None, "") else f"{kind} at {position}"


# --- the parameter table --------------------------------------------------------------------


class CostTime(_Strict):
    """Transit = fixed_days + km / km_per_day (after circuity); cost = fixed + per 1,000 km."""

    circuity: float = Field(default=1.0, ge=1.0)
    km_per_day: float = Field(gt=0)
    fixed_days: float = Field(default=0.0, ge=0)
    min_days: float = Field(default=0.1, gt=0)
    fixed_per_unit: float = Field(default=0.0, ge=0)
    per_1000km_per_unit: float = Field(default=0.0, ge=0)
    capacity: float | None = Field(default=None, ge=0)
    p90_factor: float = Field(default=1.0, ge=1.0)


class AirParams(CostTime):
    """Air is priced per chargeable kg; a unit (cbm) is charged as `chargeable_kg_per_unit` kg."""

    chargeable_kg_per_unit: float = Field(gt=0)
    fixed_per_kg: float = Field(ge=0)
    per_1000km_per_kg: float = Field(ge=0)


class SeaParams(_Strict):
    speed_knots: float = Field(gt=0)
    port_days: float = Field(ge=0)
    fixed_per_unit: float = Field(ge=0)
    per_1000nm_per_unit: float = Field(ge=0)
    canal_fee_per_unit: dict[str, float] = {}
    capacity: float | None = Field(default=None, ge=0)
    p90_factor: float = Field(default=1.0, ge=1.0)
    restriction_sets: list[list[str]] = Field(min_length=1)
    service_names: dict[str, str]  # passage -> service name, first match wins
    default_service: str = "SEA"
    max_detour_ratio: float = Field(default=1.5, ge=1.0)
    canal_dominance_pct: float = Field(default=5.0, ge=0)


class RoadRules(_Strict):
    origin_radius_km: float = Field(gt=0)
    import_radius_km: float = Field(gt=0)
    distribution_radius_km: float = Field(gt=0)


class NodeDefaults(_Strict):
    capacity: float | None = Field(default=None, ge=0)
    handling_days: float = Field(default=0.0, ge=0)
    clearance_days: float = Field(default=0.0, ge=0)


class Parameters(_Strict):
    """The one table of lane and node figures the builder uses (twin/data/lane_parameters.yaml)."""

    sea: SeaParams
    air: AirParams
    rail: CostTime
    road: CostTime
    road_rules: RoadRules
    road_areas: dict[str, list[str]] = {}
    node_defaults: dict[NodeKind, NodeDefaults] = {}
    tier_defaults: dict[Tier, NodeDefaults] = {}
    sources: list[str] = []

    def area(self, country: str | None) -> str | None:
        """The road area of a country: a named group (e.g. the EU) or the country itself."""
        if country is None:
            return None
        for name, members in self.road_areas.items():
            if country in members:
                return name
        return country


def parse_parameters(doc: Any, file: str) -> Parameters:
    """Validate a parameter table; raises InputError naming each bad section and field."""
    if not isinstance(doc, dict):
        raise InputError([Problem(file, "", None, "a parameter table must be a mapping")])
    try:
        return Parameters.model_validate(doc)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, file, "parameters")) from None


# --- sea services ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeaService:
    """One sea service between two ports: its name (SUEZ, CAPE, ...) and route."""

    name: str
    route: SeaRoute


def sea_services(
    origin: tuple[float, float],
    destination: tuple[float, float],
    sea: SeaParams,
    geo: GeoData,
    on_route: Callable[[], None] | None = None,
) -> list[SeaService]:
    """The sea services worth offering between two points, shortest first.

    Each restriction set gives the shortest route avoiding it; routes are named by the first
    passage in `service_names` they go through. A service is dropped when it is more than
    `max_detour_ratio` times the shortest, or when it passes more canals (passages with a
    canal fee) than another service at most `canal_dominance_pct` longer — e.g. Asia to
    Europe by Panama when the Cape, without a canal, is barely longer.
    """
    best: dict[str, SeaService] = {}
    for restrictions in sea.restriction_sets:
        route = geo.sea_route(origin, destination, restrictions)
        if on_route is not None:
            on_route()
        if route is None or route.nautical_miles <= 0:
            continue
        name = next(
            (svc for p, svc in sea.service_names.items() if p in route.passages),
            sea.default_service,
        )
        if name not in best or route.nautical_miles < best[name].route.nautical_miles:
            best[name] = SeaService(name, route)
    if not best:
        return []
    shortest = min(s.route.nautical_miles for s in best.values())
    kept = [s for s in best.values() if s.route.nautical_miles <= sea.max_detour_ratio * shortest]

    def canals(service: SeaService) -> int:
        return sum(1 for p in service.route.passages if p in sea.canal_fee_per_unit)

    slack = 1.0 + sea.canal_dominance_pct / 100.0
    kept = [
        s
        for s in kept
        if not any(
            canals(o) < canals(s) and o.route.nautical_miles <= slack * s.route.nautical_miles
            for o in kept
            if o is not s
        )
    ]
    return sorted(kept, key=lambda s: s.route.nautical_miles)


# --- the builder ----------------------------------------------------------------------------


def sea_route_calls(facilities: FacilityFile, parameters: Parameters) -> int:
    """How many sea routes `build_network` asks the geodata provider for (for progress bars)."""
    areas = _origin_areas(facilities.facilities, parameters)
    ports = [f for f in facilities.facilities if f.kind is NodeKind.port]
    # Ports without a country yet are looked up; the table's country is the code's first letters.
    export = [p for p in ports if parameters.area(p.country or p.id[:2].upper()) in areas]
    return len(export) * (len(ports) - len(export)) * len(parameters.sea.restriction_sets)


def build_network(
    facilities: FacilityFile,
    parameters: Parameters,
    geo: GeoData,
    progress: SeaRouteProgress | None = None,
) -> Network:
    """The network the facility list describes, with lanes from real distances.

    Raises InputError naming the facility file, entry and field for an unknown UN/LOCODE or
    IATA code, missing coordinates or country, a warehouse without a tier, a link naming an
    unknown facility, or a warehouse no lane can reach.
    """
    problems: list[Problem] = []
    nodes = _nodes(facilities, parameters, geo, problems)
    if problems:
        raise InputError(problems)
    by_id = {n.id: n for n in nodes}
    areas = _origin_areas(nodes, parameters)
    hubs = [n for n in nodes if n.kind in HUB_KINDS]
    export = [n for n in hubs if parameters.area(n.country) in areas]
    imports = [n for n in hubs if parameters.area(n.country) not in areas]

    lanes: list[Lane] = []
    passage_of = {f.id: f.passage for f in facilities.facilities if f.passage}
    lanes += _sea_lanes(nodes, passage_of, export, imports, parameters, geo, progress)
    lanes += _air_lanes(export, imports, parameters.air)
    linked = _link_lanes(facilities, by_id, parameters, problems)
    seen: set[str] = {lane.id for lane in lanes}
    for lane in linked:
        if lane.id in seen:
            problems.append(
                Problem(facilities.file, "links", "from", f"lane {lane.id} is made twice")
            )
        seen.add(lane.id)
    lanes += linked
    # A road lane the file links explicitly is not made again by the road rules.
    lanes += [
        lane
        for lane in _road_lanes(nodes, export, imports, parameters, facilities, problems)
        if lane.id not in seen
    ]
    if problems:
        raise InputError(problems)
    return Network(
        name=facilities.name,
        unit=facilities.unit,
        currency=facilities.currency,
        nodes=tuple(nodes),
        lanes=tuple(lanes),
    )


def _origin_areas(items: Sequence[Facility | Node], parameters: Parameters) -> set[str | None]:
    return {parameters.area(f.country) for f in items if f.kind is NodeKind.origin}


def _nodes(
    facilities: FacilityFile, parameters: Parameters, geo: GeoData, problems: list[Problem]
) -> list[Node]:
    file = facilities.file
    out: list[Node] = []
    for f, where in zip(facilities.facilities, facilities.positions):
        name, country, lat, lon = f.name, f.country, f.lat, f.lon
        if f.kind in (NodeKind.port, NodeKind.airport) and (lat is None or lon is None):
            code = f.lookup or f.id
            place = geo.port(code) if f.kind is NodeKind.port else geo.airport(code)
            if place is None:
                table = (
                    "UN/LOCODE in searoute's port table"
                    if f.kind is NodeKind.port
                    else "IATA code in airportsdata"
                )
                problems.append(
                    Problem(
                        file,
                        where,
                        "lookup" if f.lookup else "id",
                        f"unknown {table}: '{code}'; give lat and lon instead",
                    )
                )
                continue
            name, country, lat, lon = (
                name or place.name,
                country or place.country,
                place.lat,
                place.lon,
            )
        missing = [k for k, v in (("lat", lat), ("lon", lon)) if v is None]
        if f.kind is not NodeKind.chokepoint and country is None:
            missing.append("country")
        if f.kind is NodeKind.warehouse and f.tier is None:
            missing.append("tier")
        for key in missing:
            problems.append(Problem(file, where, key, f"required for a {f.kind.value}"))
        if f.passage is not None and f.kind is not NodeKind.chokepoint:
            problems.append(
                Problem(file, where, "passage", "only chokepoints stand for a sea passage")
            )
        elif f.passage is not None and f.passage not in (known := geo.passages()):
            # An unknown name would match no route: the chokepoint silently leaves every lane.
            problems.append(
                Problem(
                    file,
                    where,
                    "passage",
                    f"unknown sea passage {f.passage!r} ({did_you_mean(f.passage, known)})",
                )
            )
        if missing:
            continue
        defaults = parameters.node_defaults.get(f.kind, NodeDefaults())
        if f.kind is NodeKind.warehouse and f.tier in parameters.tier_defaults:
            defaults = parameters.tier_defaults[f.tier]
        out.append(
            Node(
                id=f.id,
                kind=f.kind,
                name=name or f.id,
                country=country,
                lat=lat,
                lon=lon,
                capacity=f.capacity if f.capacity is not None else defaults.capacity,
                tier=f.tier,
                customs_entry=f.customs_entry,
                handling_days=f.handling_days
                if f.handling_days is not None
                else defaults.handling_days,
                clearance_days=f.clearance_days
                if f.clearance_days is not None
                else defaults.clearance_days,
                geocodes=tuple(
                    (scheme, code)
                    for scheme, codes in (f.geocodes or {}).items()
                    for code in ([codes] if isinstance(codes, str) else codes)
                ),
            )
        )
    if not any(f.kind is NodeKind.origin for f in facilities.facilities):
        problems.append(Problem(file, "file", "facilities", "no origin: nothing to ship from"))
    return out


def _sea_lanes(
    nodes: list[Node],
    passage_of: dict[str, str],
    export: list[Node],
    imports: list[Node],
    parameters: Parameters,
    geo: GeoData,
    progress: SeaRouteProgress | None,
) -> list[Lane]:
    sea = parameters.sea
    # Chokepoints in facility order; a lane's `via` lists those whose passage its route takes.
    chokepoints = [n for n in nodes if n.id in passage_of]
    pairs = [
        (a, b)
        for a in export
        if a.kind is NodeKind.port
        for b in imports
        if b.kind is NodeKind.port
    ]
    total = len(pairs) * len(sea.restriction_sets)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    lanes: list[Lane] = []
    for a, b in pairs:
        for service in sea_services(_latlon(a), _latlon(b), sea, geo, tick):
            nm = service.route.nautical_miles
            days = nm / (sea.speed_knots * 24.0) + sea.port_days
            fees = sum(
                fee for p, fee in sea.canal_fee_per_unit.items() if p in service.route.passages
            )
            via = _along(
                service.route,
                [c for c in chokepoints if passage_of[c.id] in service.route.passages],
            )
            lanes.append(
                _lane(
                    f"{a.id}-{b.id}-{service.name}",
                    a,
                    b,
                    Mode.sea,
                    days,
                    sea.fixed_per_unit + sea.per_1000nm_per_unit * nm / 1000.0 + fees,
                    sea.capacity,
                    sea.p90_factor,
                    via,
                    distance_km=nm * KM_PER_NM,  # the route sailed, via included
                )
            )
    return lanes


def _along(route: SeaRoute, places: list[Node]) -> list[str]:
    """Place ids in the order the route passes them (facility order when the path is unknown)."""
    if not route.path:
        return [p.id for p in places]

    def position(place: Node) -> int:
        lat, lon = _latlon(place)
        return min(
            range(len(route.path)),
            key=lambda i: (route.path[i][0] - lat) ** 2 + (route.path[i][1] - lon) ** 2,
        )

    return [p.id for p in sorted(places, key=position)]


def _air_lanes(export: list[Node], imports: list[Node], air: AirParams) -> list[Lane]:
    lanes = []
    for a in (n for n in export if n.kind is NodeKind.airport):
        for b in (n for n in imports if n.kind is NodeKind.airport):
            km = node_distance_km(a, b) * air.circuity
            days = max(air.min_days, air.fixed_days + km / air.km_per_day)
            cost = air.chargeable_kg_per_unit * (
                air.fixed_per_kg + air.per_1000km_per_kg * km / 1000.0
            )
            lanes.append(
                _lane(
                    f"{a.id}-{b.id}-AIR",
                    a,
                    b,
                    Mode.air,
                    days,
                    cost,
                    air.capacity,
                    air.p90_factor,
                    distance_km=km,
                )
            )
    return lanes


def _link_lanes(
    facilities: FacilityFile,
    by_id: dict[str, Node],
    parameters: Parameters,
    problems: list[Problem],
) -> list[Lane]:
    lanes = []
    for i, link in enumerate(facilities.links):
        where = f"links[{i}]"
        bad = False
        for key, ids in (("from", link.from_), ("to", link.to), ("via", link.via)):
            for ident in ids:
                if ident not in by_id:
                    problems.append(
                        Problem(facilities.file, where, key, f"unknown facility '{ident}'")
                    )
                    bad = True
                elif key == "via" and by_id[ident].kind not in VIA_KINDS:
                    problems.append(
                        Problem(
                            facilities.file,
                            where,
                            key,
                            f"'{ident}' is a {by_id[ident].kind.value}, not a chokepoint or border",
                        )
                    )
                    bad = True
        if bad:
            continue
        if link.mode is Mode.sea:
            problems.append(
                Problem(
                    facilities.file,
                    where,
                    "mode",
                    "sea lanes come from sea routes; link air, rail or road",
                )
            )
            continue
        params = _mode_params(link.mode, parameters)
        for a_id in link.from_:
            for b_id in link.to:
                if a_id != b_id:
                    lanes.append(_costed(by_id[a_id], by_id[b_id], link.mode, params, link.via))
    return lanes


def _mode_params(mode: Mode, parameters: Parameters) -> CostTime:
    return {Mode.air: parameters.air, Mode.rail: parameters.rail, Mode.road: parameters.road}[mode]


def _road_lanes(
    nodes: list[Node],
    export: list[Node],
    imports: list[Node],
    parameters: Parameters,
    facilities: FacilityFile,
    problems: list[Problem],
) -> list[Lane]:
    rules, road = parameters.road_rules, parameters.road
    area = parameters.area
    warehouses = [n for n in nodes if n.kind is NodeKind.warehouse]
    distribution = [w for w in warehouses if w.tier is Tier.distribution]
    pairs: dict[tuple[str, str], tuple[Node, Node]] = {}

    def join(
        sources: list[Node],
        targets: list[Node],
        radius: float,
        each_target_nearest: bool,
        each_source_nearest: bool,
    ) -> None:
        # Within the radius, plus the nearest in the same road area so nothing is stranded.
        for t in targets:
            near = [s for s in sources if s.id != t.id and area(s.country) == area(t.country)]
            for s in near:
                if node_distance_km(s, t) <= radius:
                    pairs.setdefault((s.id, t.id), (s, t))
            if each_target_nearest and near:
                s = min(near, key=lambda s: node_distance_km(s, t))
                pairs.setdefault((s.id, t.id), (s, t))
        if each_source_nearest:
            for s in sources:
                near = [t for t in targets if t.id != s.id and area(s.country) == area(t.country)]
                if near:
                    t = min(near, key=lambda t: node_distance_km(s, t))
                    pairs.setdefault((s.id, t.id), (s, t))

    origins = [n for n in nodes if n.kind is NodeKind.origin]
    for o in origins:
        for kind in HUB_KINDS:
            # Each origin reaches its nearest port, airport and rail terminal, however far.
            join([o], [h for h in export if h.kind is kind], rules.origin_radius_km, False, True)
    join(imports, warehouses, rules.import_radius_km, False, True)
    join(
        distribution,
        [w for w in warehouses if w.tier is not Tier.distribution],
        rules.distribution_radius_km,
        True,
        False,
    )
    # Warehouses nothing reaches yet get their nearest import hub.
    reached = {t for _, t in pairs}
    join(imports, [w for w in warehouses if w.id not in reached], math.inf, True, False)
    reached = {t for _, t in pairs}
    where = dict(zip((f.id for f in facilities.facilities), facilities.positions))
    for w in warehouses:
        if w.id not in reached:
            problems.append(
                Problem(
                    facilities.file,
                    where.get(w.id, w.id),
                    "country",
                    "no import port, airport or rail terminal in this warehouse's road area",
                )
            )
    return [_costed(a, b, Mode.road, road) for a, b in pairs.values()]


def _costed(a: Node, b: Node, mode: Mode, params: CostTime, via: Sequence[str] = ()) -> Lane:
    km = node_distance_km(a, b) * params.circuity
    days = max(params.min_days, params.fixed_days + km / params.km_per_day)
    cost = params.fixed_per_unit + params.per_1000km_per_unit * km / 1000.0
    return _lane(
        f"{a.id}-{b.id}-{mode.value.upper()}",
        a,
        b,
        mode,
        days,
        cost,
        params.capacity,
        params.p90_factor,
        via,
        distance_km=km,
    )


def _lane(
    ident: str,
    a: Node,
    b: Node,
    mode: Mode,
    days: float,
    cost: float,
    capacity: float | None,
    p90_factor: float,
    via: Sequence[str] = (),
    distance_km: float | None = None,
) -> Lane:
    transit = round(days, 1)
    data: dict[str, Any] = {
        "id": ident,
        "from": a.id,
        "to": b.id,
        "mode": mode,
        "transit_days": transit,
        "cost_per_unit": round(cost, 2),
    }
    if capacity is not None:
        data["capacity"] = capacity
    if via:
        data["via"] = list(via)
    if p90_factor > 1.0:
        data["transit_days_p90"] = round(transit * p90_factor, 1)
    if distance_km is not None:
        data["distance_km"] = round(distance_km)
    return Lane.model_validate(data)


def _latlon(node: Node) -> tuple[float, float]:
    return (node.lat or 0.0, node.lon or 0.0)
