"""Read OASIS CAP 1.2 alerts (weather warnings) into `cap_alert` signals.

Value of a CAP signal = SEVERITY[severity] x URGENCY[urgency] x CERTAINTY[certainty], in 0..1
(weights below, documented in docs/signals.md). An alert with several <info> blocks (one per
language, or per hazard) gives each node the largest value of the blocks covering it.

Supersession (`msgType` Update / Cancel, `references` = "sender,identifier,sent" triples):
the referenced alert's rows get `expected_until` cut to the new alert's `sent`, and every node
the referenced alert covered that the new one does not gets a value-0 row at the new `sent`
(a Cancel covers nothing, so all its nodes get 0). These rows carry the new alert's ref and
`supersedes` = the referenced refs, so a scorer that takes the latest value per target and
metric, and one that honours validity windows, both see the alert gone. When the referenced
alert is not in the same ingest, a Cancel zeroes the nodes of its own <area> blocks, if any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from pydantic import ValidationError

from twin.domain.durations import parse_timestamp
from twin.domain.problems import Problem
from twin.domain.signals import Area, Quarantined
from twin.network.areas import NodeLocator

CAP_NAMESPACES = ("urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1")

# Weights: the most dangerous, most imminent, surest alert scores 1. Past urgency means the
# hazard is over ("responsive action is no longer required"), hence 0.
SEVERITY = {"Extreme": 1.0, "Severe": 0.75, "Moderate": 0.5, "Minor": 0.25, "Unknown": 0.25}
URGENCY = {"Immediate": 1.0, "Expected": 0.8, "Future": 0.5, "Past": 0.0, "Unknown": 0.5}
CERTAINTY = {
    "Observed": 1.0,
    "Likely": 0.8,
    "Very Likely": 0.8,  # CAP 1.0 term, still seen in the wild
    "Possible": 0.5,
    "Unlikely": 0.2,
    "Unknown": 0.5,
}
# CAP <category> to signal dimension: security threats score as security, all else as weather.
SECURITY_CATEGORIES = frozenset({"Security"})


@dataclass(frozen=True)
class CapArea:
    """One <area>: its description, its shapes and its geocodes ((scheme, value) pairs)."""

    desc: str
    shapes: tuple[Area, ...]
    geocodes: tuple[tuple[str, str], ...]

    def codes_text(self) -> str:
        return ", ".join(f"{scheme} {value}" for scheme, value in self.geocodes)


@dataclass(frozen=True)
class CapInfo:
    category: str
    event: str
    urgency: str
    severity: str
    certainty: str
    effective: datetime | None
    onset: datetime | None
    expires: datetime | None
    headline: str
    areas: tuple[CapArea, ...]

    @property
    def value(self) -> float:
        return SEVERITY[self.severity] * URGENCY[self.urgency] * CERTAINTY[self.certainty]

    @property
    def dimension(self) -> str:
        return "security" if self.category in SECURITY_CATEGORIES else "weather"


@dataclass(frozen=True)
class CapAlert:
    file: str
    where: str
    sender: str
    identifier: str
    sent: datetime
    sent_text: str
    status: str
    msg_type: str
    references: tuple[str, ...]
    infos: tuple[CapInfo, ...]

    @property
    def ref(self) -> str:
        """The alert's own reference triple, as other alerts' `references` name it."""
        return f"{self.sender},{self.identifier},{self.sent_text}"


@dataclass
class CapRead:
    alerts: list[CapAlert] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    quarantine: list[Quarantined] = field(default_factory=list)
    rows: int = 0


def is_cap(data: bytes) -> bool:
    """Whether XML text declares the CAP namespace (checked on its first few kilobytes)."""
    head = data[:8192]
    return any(ns.encode() in head for ns in CAP_NAMESPACES)


def read_cap(data: bytes, file: str, max_depth: int = 32) -> CapRead:
    """Parse CAP alerts from XML (a single <alert>, or any document holding <alert>s).

    DTDs' entities and external references are refused (defusedxml), so an entity bomb is a
    reported problem, not a hang; so is a document nesting elements deeper than `max_depth`.
    """
    out = CapRead()
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, SyntaxError) as exc:
        out.problems.append(Problem(file, "", None, f"not valid XML: {exc}"))
        out.quarantine.append(
            Quarantined(
                file=file, where="", field=None, reason=f"not valid XML: {exc}", raw=_text(data)
            )
        )
        return out
    if _deeper_than(root, max_depth):
        reason = f"XML nested deeper than {max_depth} elements"
        out.problems.append(Problem(file, "", None, reason))
        out.quarantine.append(
            Quarantined(file=file, where="", field=None, reason=reason, raw=_text(data, 2_000))
        )
        return out
    alerts = [
        el for el in root.iter() if _local(el.tag) == "alert" and _ns(el.tag) in CAP_NAMESPACES
    ]
    if not alerts:
        out.problems.append(Problem(file, "", None, "XML but not a CAP 1.2 alert"))
        out.quarantine.append(
            Quarantined(
                file=file,
                where="",
                field=None,
                reason="XML but not a CAP 1.2 alert",
                raw=_text(data),
            )
        )
        return out
    for index, element in enumerate(alerts):
        out.rows += 1
        where = f"alert {index + 1}" if len(alerts) > 1 else "alert"
        errors: list[tuple[str | None, str]] = []
        alert = _alert(element, file, where, errors)
        if errors:
            ident = _child_text(element, "identifier")
            label = f"alert {ident}" if ident else where
            for name, message in errors:
                out.problems.append(Problem(file, label, name, message))
            out.quarantine.append(
                Quarantined(
                    file=file,
                    where=label,
                    field=errors[0][0],
                    reason="; ".join(f"{n}: {m}" if n else m for n, m in errors),
                    raw=_text(tostring(element, encoding="utf-8")),
                )
            )
            continue
        if alert is not None:
            if alert.status != "Actual":
                out.problems.append(
                    Problem(
                        file,
                        f"alert {alert.identifier}",
                        "status",
                        f"status {alert.status}: not an actual alert, ignored",
                        "warning",
                    )
                )
                continue
            out.alerts.append(alert)
    return out


def _alert(
    el: Element, file: str, where: str, errors: list[tuple[str | None, str]]
) -> CapAlert | None:
    def required(name: str) -> str:
        value = _child_text(el, name)
        if not value:
            errors.append((name, f"missing <{name}>"))
        return value

    identifier, sender, sent_text = required("identifier"), required("sender"), required("sent")
    status, msg_type = required("status"), required("msgType")
    sent = _time(sent_text, "sent", errors) if sent_text else None
    if msg_type and msg_type not in ("Alert", "Update", "Cancel", "Ack", "Error"):
        errors.append(("msgType", f"unknown msgType {msg_type!r}"))
    references = tuple(_child_text(el, "references").split())
    if msg_type in ("Update", "Cancel") and not references:
        errors.append(("references", f"a {msg_type} must name the alerts it replaces"))
    for ref in references:
        if ref.count(",") != 2:
            errors.append(("references", f"{ref!r} is not a 'sender,identifier,sent' triple"))
    infos = []
    for i, info in enumerate(_children(el, "info")):
        parsed = _info(info, f"info[{i}]", errors)
        if parsed is not None:
            infos.append(parsed)
    if errors or sent is None:
        return None
    return CapAlert(
        file=file,
        where=where,
        sender=sender,
        identifier=identifier,
        sent=sent,
        sent_text=sent_text,
        status=status,
        msg_type=msg_type,
        references=references,
        infos=tuple(infos),
    )


def _info(el: Element, label: str, errors: list[tuple[str | None, str]]) -> CapInfo | None:
    before = len(errors)
    picked: dict[str, str] = {}
    for name, table in (("urgency", URGENCY), ("severity", SEVERITY), ("certainty", CERTAINTY)):
        value = _child_text(el, name)
        if value not in table:
            errors.append((f"{label}.{name}", f"must be one of {', '.join(table)} (got {value!r})"))
        picked[name] = value
    times = {}
    for name in ("effective", "onset", "expires"):
        text = _child_text(el, name)
        times[name] = _time(text, f"{label}.{name}", errors) if text else None
    areas: list[CapArea] = []
    for j, area in enumerate(_children(el, "area")):
        shapes: list[Area] = []
        for k, poly in enumerate(_children(area, "polygon")):
            shape = _polygon(poly.text or "", f"{label}.area[{j}].polygon[{k}]", errors)
            if shape is not None:
                shapes.append(shape)
        for k, circle in enumerate(_children(area, "circle")):
            shape = _circle(circle.text or "", f"{label}.area[{j}].circle[{k}]", errors)
            if shape is not None:
                shapes.append(shape)
        codes = []
        for k, geocode in enumerate(_children(area, "geocode")):
            scheme, value = _child_text(geocode, "valueName"), _child_text(geocode, "value")
            if not scheme or not value:
                errors.append(
                    (f"{label}.area[{j}].geocode[{k}]", "a geocode needs <valueName> and <value>")
                )
                continue
            codes.append((scheme, value))
        areas.append(CapArea(_child_text(area, "areaDesc"), tuple(shapes), tuple(codes)))
    if len(errors) > before:
        return None
    return CapInfo(
        category=_child_text(el, "category"),
        event=_child_text(el, "event"),
        urgency=picked["urgency"],
        severity=picked["severity"],
        certainty=picked["certainty"],
        effective=times["effective"],
        onset=times["onset"],
        expires=times["expires"],
        headline=_child_text(el, "headline"),
        areas=tuple(areas),
    )


def _polygon(text: str, label: str, errors: list[tuple[str | None, str]]) -> Area | None:
    try:
        points = []
        for pair in text.split():
            lat, lon = pair.split(",")
            points.append((float(lat), float(lon)))
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()  # CAP polygons are closed; Area does not need the repeat
        return Area(polygon=tuple(points))
    except (ValueError, ValidationError) as exc:
        errors.append((label, f"a polygon is 'lat,lon lat,lon ...' with 3+ points ({_why(exc)})"))
        return None


def _circle(text: str, label: str, errors: list[tuple[str | None, str]]) -> Area | None:
    try:
        centre, radius = text.split()
        lat, lon = centre.split(",")
        return Area(circle=(float(lat), float(lon), float(radius)))
    except (ValueError, ValidationError) as exc:
        errors.append((label, f"a circle is 'lat,lon radius_km' with radius > 0 ({_why(exc)})"))
        return None


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())
    return str(exc)


def _time(text: str, name: str, errors: list[tuple[str | None, str]]) -> datetime | None:
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        errors.append((name, str(exc)))
        return None


def cap_rows(
    alerts: list[CapAlert], locator: NodeLocator | None
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Frame rows for CAP alerts, applying Updates and Cancels in `sent` order.

    With a `locator` (the network's nodes) rows are per node (`target` set): an <area>'s
    polygons and circles hold the nodes inside them; an area given by geocodes alone holds the
    nodes carrying one of its geocodes. An alert none of whose areas holds a node is a warning
    naming its areas and geocodes. Without a network rows keep the shapes (`area` set to the
    Area object) and supersession only ends referenced alerts' windows and zeroes their areas.
    """
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    live: dict[str, dict[str, dict[str, Any]]] = {}  # alert ref -> place key -> its row
    for alert in sorted(alerts, key=lambda a: a.sent):
        if alert.msg_type not in ("Alert", "Update", "Cancel"):
            continue
        places = {} if alert.msg_type == "Cancel" else _places(alert, locator)
        if alert.msg_type != "Cancel" and not places:
            problems.append(_unplaced(alert, locator))
        own: dict[str, dict[str, Any]] = {}
        for key, (info, desc, area) in places.items():
            row = _row(alert, info, desc, key, area, info.value)
            own[key] = row
            rows.append(row)
        for ref in alert.references:
            earlier = live.pop(ref, None)
            if earlier is not None:
                for key, old in earlier.items():
                    if old["expected_until"] is None or old["expected_until"] > alert.sent:
                        old["expected_until"] = alert.sent
                    if key not in places:
                        rows.append(_ended(alert, old, key))
            elif alert.msg_type == "Cancel":
                found = _places(alert, locator)
                for key, (info, desc, area) in found.items():
                    rows.append(_row(alert, info, desc, key, area, 0.0))
                if not found:
                    problems.append(
                        Problem(
                            alert.file,
                            f"alert {alert.identifier}",
                            "references",
                            f"cancels {ref}, which this ingest has not seen and "
                            "the Cancel has no area: the store must end it",
                            "warning",
                        )
                    )
        if alert.msg_type != "Cancel":
            live[alert.ref] = own
    return rows, problems


def _places(
    alert: CapAlert, locator: NodeLocator | None
) -> dict[str, tuple[CapInfo, str, Area | None]]:
    """Each node (or, without a network, each area) with the strongest info covering it.

    An area's shapes, when it has any, say where it is (they are more precise than the
    counties or zones its geocodes name); an area without shapes is placed by its geocodes."""
    best: dict[str, tuple[CapInfo, str, Area | None]] = {}
    for info in alert.infos:
        for area in info.areas:
            keys: list[tuple[str, Area | None]]
            if locator is None:
                keys = [(f"area:{shape.model_dump_json()}", shape) for shape in area.shapes]
            elif area.shapes:
                keys = [(node, None) for shape in area.shapes for node in locator.within(shape)]
            else:
                keys = [(node, None) for node in locator.with_geocodes(area.geocodes)]
            for key, kept in keys:
                if key not in best or info.value > best[key][0].value:
                    best[key] = (info, area.desc, kept)
    return best


def _unplaced(alert: CapAlert, locator: NodeLocator | None) -> Problem:
    areas = [area for info in alert.infos for area in info.areas]
    codes = sorted({f"{s} {v}" for area in areas for s, v in area.geocodes})
    shapes = sum(len(area.shapes) for area in areas)
    if not areas:
        what = "has no <area>"
    elif locator is None:
        what = "is given by geocodes only, which need a network to be placed"
    else:
        what = "holds no node of the network"
    details = []
    if codes:
        shown = ", ".join(codes[:20]) + (f" and {len(codes) - 20} more" if len(codes) > 20 else "")
        details.append(f"geocodes {shown}")
    if shapes:
        details.append(f"{shapes} polygon(s)/circle(s)")
    descs = sorted({a.desc for a in areas if a.desc})
    if descs:
        details.append("areaDesc " + "; ".join(descs)[:200])
    detail = f" ({'; '.join(details)})" if details else ""
    return Problem(
        alert.file,
        f"alert {alert.identifier}",
        "area",
        f"{alert.msg_type.lower()} {what}{detail}: not scored",
        "warning",
    )


def _row(
    alert: CapAlert, info: CapInfo, desc: str, key: str, area: Area | None, value: float
) -> dict[str, Any]:
    extras = {
        "severity": info.severity,
        "urgency": info.urgency,
        "certainty": info.certainty,
        "event": info.event,
        "category": info.category,
        "headline": info.headline,
        "area_desc": desc,
        "msg_type": alert.msg_type,
        "identifier": alert.identifier,
        "onset": info.onset.isoformat() if info.onset else None,
        "expires": info.expires.isoformat() if info.expires else None,
    }
    return {
        "ts": alert.sent,
        "source": alert.sender,
        "dimension": info.dimension,
        "target": None if area is not None else key,
        "_area": area,
        "metric": "cap_alert",
        "value": value,
        "effective_at": info.onset or info.effective,
        "expected_until": info.expires,
        "ref": alert.ref,
        "supersedes": " ".join(alert.references) or None,
        "extras": {k: v for k, v in extras.items() if v not in (None, "")},
    }


def _ended(alert: CapAlert, old: dict[str, Any], key: str) -> dict[str, Any]:
    extras = dict(old["extras"] or {})
    extras.update(msg_type=alert.msg_type, identifier=alert.identifier, ends=old["ref"])
    return {
        **old,
        "ts": alert.sent,
        "value": 0.0,
        "ref": alert.ref,
        "effective_at": alert.sent,
        "expected_until": None,
        "supersedes": " ".join(alert.references),
        "extras": extras,
    }


def _deeper_than(root: Element, limit: int) -> bool:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in element)
    return False


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns(tag: Any) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name]


def _child_text(el: Element, name: str) -> str:
    for child in el:
        if _local(child.tag) == name:
            return " ".join((child.text or "").split())
    return ""


def _text(data: bytes, limit: int = 20_000) -> str:
    return data[:limit].decode("utf-8", errors="replace")
