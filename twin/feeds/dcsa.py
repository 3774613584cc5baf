"""Read DCSA Track & Trace v2.2 events into shipment positions and transit/customs signals.

- TRANSPORT ACT ARRI/DEPA and EQUIPMENT ACT LOAD/DISC/GTIN/GTOT at a UN/LOCODE -> positions.
- TRANSPORT EST ARRI vs the PLN ARRI of the same transport call -> `transit/eta_drift_hours`
  (EST - PLN, hours; positive = late), one signal per EST event.
- SHIPMENT HOLD / RELS on documentTypeCode CUS -> `customs/hold` 1 / 0 for that document,
  placed at the event's own location if it has one, else at the shipment's latest known
  position at or before the event.
- EQUIPMENT ACT INSP -> `customs/inspections` = 1 per event; the sum over a window is the
  number of inspections there.

Events must be in the same ingest as the PLN they are compared with; an EST without one is
reported as a warning and yields no drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from twin.domain.durations import parse_timestamp
from twin.domain.problems import Problem
from twin.domain.signals import Quarantined, ShipmentPosition
from twin.feeds.rows import Unreadable

SOURCE = "dcsa"
EVENT_TYPES = ("SHIPMENT", "TRANSPORT", "EQUIPMENT")
CLASSIFIERS = ("PLN", "EST", "ACT")
CODE_FIELD = {
    "TRANSPORT": "transportEventTypeCode",
    "EQUIPMENT": "equipmentEventTypeCode",
    "SHIPMENT": "shipmentEventTypeCode",
}
POSITION_CODES = {"TRANSPORT": ("ARRI", "DEPA"), "EQUIPMENT": ("LOAD", "DISC", "GTIN", "GTOT")}


@dataclass(frozen=True)
class DcsaEvent:
    file: str
    where: str
    event_id: str
    event_type: str
    classifier: str
    code: str
    at: datetime
    created: datetime | None
    locode: str | None
    call: str | None
    references: tuple[str, ...]
    document_type: str | None
    document_id: str | None
    vessel: str | None
    mode: str | None
    equipment: str | None
    delay_reason: str | None

    @property
    def shipment(self) -> str | None:
        if self.event_type == "SHIPMENT":
            return self.document_id
        return self.references[0] if self.references else None


@dataclass
class DcsaRead:
    events: list[DcsaEvent] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    quarantine: list[Quarantined] = field(default_factory=list)
    rows: int = 0


def is_dcsa_event(obj: Any) -> bool:
    return isinstance(obj, dict) and ("eventType" in obj or "eventClassifierCode" in obj)


def event_list(doc: Any) -> list[Any] | None:
    """The events of a DCSA document: a list of events or {"events": [...]}; else None."""
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        return list(doc["events"])
    if isinstance(doc, list) and doc and is_dcsa_event(doc[0]):
        return doc
    if is_dcsa_event(doc):
        return [doc]
    return None


def read_dcsa(items: list[Any], file: str, wheres: list[str] | None = None) -> DcsaRead:
    """Check DCSA events one by one; a malformed event is quarantined with its field."""
    out = DcsaRead()
    for i, item in enumerate(items):
        out.rows += 1
        where = wheres[i] if wheres else f"event {i}"
        errors: list[tuple[str | None, str]] = []
        event = _event(item, file, where, errors)
        if event is None:
            label = where
            if isinstance(item, dict) and isinstance(item.get("eventID"), str):
                label = f"event {item['eventID']} ({where})"
            for name, message in errors:
                out.problems.append(Problem(file, label, name, message))
            out.quarantine.append(
                Quarantined(
                    file=file,
                    where=label,
                    field=errors[0][0] if errors else None,
                    reason="; ".join(f"{n}: {m}" if n else m for n, m in errors),
                    raw=_dump(item),
                )
            )
            continue
        out.events.append(event)
    return out


def _event(
    item: Any, file: str, where: str, errors: list[tuple[str | None, str]]
) -> DcsaEvent | None:
    if isinstance(item, Unreadable):
        errors.append((None, item.reason))
        return None
    if not isinstance(item, dict):
        errors.append((None, "an event must be a JSON object"))
        return None
    event_id = _text(item, "eventID", errors)
    event_type = _choice(item, "eventType", EVENT_TYPES, errors)
    classifier = _choice(item, "eventClassifierCode", CLASSIFIERS, errors)
    at = _when(item, "eventDateTime", errors, required=True)
    created = _when(item, "eventCreatedDateTime", errors, required=False)
    code = _text(item, CODE_FIELD[event_type], errors) if event_type else ""
    call: dict[str, Any] = {}
    given_call = item.get("transportCall")
    if isinstance(given_call, dict):
        call = given_call
    elif given_call is not None:
        errors.append(("transportCall", "must be an object"))
    locode = _locode(call) or _locode(item.get("eventLocation")) or _locode(item.get("location"))
    if event_type == "TRANSPORT" and code in ("ARRI", "DEPA") and not locode:
        errors.append(("transportCall.UNLocationCode", "a transport event needs its UN/LOCODE"))
    references: list[str] = []
    docs = item.get("documentReferences") or []
    if not isinstance(docs, list):
        errors.append(("documentReferences", "must be a list"))
        docs = []
    # bookings first: a booking reference is what a twin shipment is usually keyed by
    for kind in ("BKG", "TRD"):
        for doc in docs:
            if isinstance(doc, dict) and doc.get("documentReferenceType") == kind:
                value = doc.get("documentReferenceValue")
                if isinstance(value, str) and value.strip():
                    references.append(value.strip())
    for key in ("carrierBookingReference", "transportDocumentReference", "equipmentReference"):
        value = item.get(key)
        if (
            key != "equipmentReference"
            and isinstance(value, str)
            and value
            and value not in references
        ):
            references.append(value)
    document_type = item.get("documentTypeCode")
    document_id = item.get("documentID")
    if event_type == "SHIPMENT":
        if not isinstance(document_type, str) or not document_type:
            errors.append(("documentTypeCode", "a shipment event needs its documentTypeCode"))
        if not isinstance(document_id, str) or not document_id.strip():
            errors.append(("documentID", "a shipment event needs its documentID"))
    if errors:
        return None
    given_vessel = call.get("vessel")
    vessel: dict[str, Any] = given_vessel if isinstance(given_vessel, dict) else {}
    call_key = call.get("transportCallID")
    if not isinstance(call_key, str) or not call_key:
        parts = [
            locode,
            vessel.get("vesselIMONumber"),
            call.get("exportVoyageNumber") or call.get("carrierVoyageNumber"),
            call.get("transportCallSequenceNumber"),
        ]
        call_key = "|".join(str(p) for p in parts if p not in (None, "")) or None
    equipment = item.get("equipmentReference")
    return DcsaEvent(
        file=file,
        where=where,
        event_id=event_id,
        event_type=event_type,
        classifier=classifier,
        code=code,
        at=at,
        created=created,
        locode=locode,
        call=call_key,
        references=tuple(references),
        document_type=document_type if isinstance(document_type, str) else None,
        document_id=document_id.strip() if isinstance(document_id, str) else None,
        vessel=_opt_str(vessel.get("vesselIMONumber") or vessel.get("vesselName")),
        mode=_opt_str(call.get("modeOfTransport") or item.get("modeOfTransportCode")),
        equipment=_opt_str(equipment),
        delay_reason=_opt_str(item.get("delayReasonCode")),
    )


def dcsa_outputs(
    events: list[DcsaEvent], node_ids: set[str] | None
) -> tuple[list[dict[str, Any]], list[ShipmentPosition], list[Problem]]:
    """Signal rows, positions and warnings from checked DCSA events (all files together)."""
    rows: list[dict[str, Any]] = []
    positions: list[ShipmentPosition] = []
    problems: list[Problem] = []
    ordered = sorted(events, key=lambda e: (e.at, e.created or e.at))

    def node_of(locode: str | None) -> str | None:
        return locode  # node ids are UN/LOCODEs; ingest warns about ones the network lacks

    for e in ordered:
        if e.classifier == "ACT" and e.code in POSITION_CODES.get(e.event_type, ()):
            assert e.locode is not None or e.event_type == "EQUIPMENT"
            if e.locode:
                positions.append(
                    ShipmentPosition(
                        source=SOURCE,
                        event_id=e.event_id,
                        at=e.at,
                        event=e.code,
                        locode=e.locode,
                        shipment=e.shipment,
                        references=e.references,
                        node=e.locode if node_ids is not None and e.locode in node_ids else None,
                        mode=e.mode,
                        vessel=e.vessel,
                        equipment=e.equipment,
                        transport_call=e.call,
                    )
                )

    # Planned arrivals per transport call: the most recently issued plan counts.
    planned: dict[str, DcsaEvent] = {}
    for e in events:
        if e.event_type == "TRANSPORT" and e.code == "ARRI" and e.classifier == "PLN" and e.call:
            prev = planned.get(e.call)
            if prev is None or (e.created or e.at) >= (prev.created or prev.at):
                planned[e.call] = e
    for e in ordered:
        if not (e.event_type == "TRANSPORT" and e.code == "ARRI" and e.classifier == "EST"):
            continue
        plan = planned.get(e.call or "")
        if plan is None:
            problems.append(
                Problem(
                    e.file,
                    f"event {e.event_id}",
                    "eventClassifierCode",
                    "estimated arrival without a planned (PLN) arrival for the "
                    "same transport call in this ingest: no ETA drift",
                    "warning",
                )
            )
            continue
        drift = (e.at - plan.at).total_seconds() / 3600.0
        rows.append(
            _row(
                e,
                "transit",
                "eta_drift_hours",
                drift,
                node_of(e.locode),
                ts=e.created or e.at,
                shipment=e.shipment or plan.shipment,
                extras={
                    "transport_call": e.call,
                    "planned": plan.at.isoformat(),
                    "estimated": e.at.isoformat(),
                    "vessel": e.vessel,
                    "delay_reason": e.delay_reason,
                },
            )
        )

    last_seen: dict[str, str] = {}  # document reference -> UN/LOCODE of its latest position
    for e in ordered:
        if e.locode and e.classifier == "ACT" and e.event_type != "SHIPMENT":
            for ref in e.references:
                last_seen[ref] = e.locode
        if e.event_type == "SHIPMENT" and e.document_type == "CUS" and e.code in ("HOLD", "RELS"):
            place = e.locode or last_seen.get(e.document_id or "")
            if place is None:
                problems.append(
                    Problem(
                        e.file,
                        f"event {e.event_id}",
                        "documentID",
                        f"customs {e.code} for {e.document_id}: no location and "
                        "no earlier position; kept without a target",
                        "warning",
                    )
                )
            rows.append(
                _row(
                    e,
                    "customs",
                    "hold",
                    1.0 if e.code == "HOLD" else 0.0,
                    node_of(place),
                    ts=e.at,
                    shipment=e.document_id,
                    extras={"reason": None},
                )
            )
        elif e.event_type == "EQUIPMENT" and e.code == "INSP" and e.classifier == "ACT":
            if e.locode is None:
                problems.append(
                    Problem(
                        e.file,
                        f"event {e.event_id}",
                        "transportCall",
                        "inspection without a location; kept without a target",
                        "warning",
                    )
                )
            rows.append(
                _row(
                    e,
                    "customs",
                    "inspections",
                    1.0,
                    node_of(e.locode),
                    ts=e.at,
                    shipment=e.shipment,
                    extras={"equipment": e.equipment},
                )
            )
    return rows, positions, problems


def _row(
    e: DcsaEvent,
    dimension: str,
    metric: str,
    value: float,
    target: str | None,
    *,
    ts: datetime,
    shipment: str | None,
    extras: dict[str, Any],
) -> dict[str, Any]:
    kept = {k: v for k, v in extras.items() if v is not None}
    kept["event"] = f"{e.event_type} {e.classifier} {e.code}"
    return {
        "ts": ts,
        "source": SOURCE,
        "dimension": dimension,
        "target": target,
        "metric": metric,
        "value": value,
        "effective_at": e.at if ts != e.at else None,
        "expected_until": None,
        "ref": e.event_id,
        "shipment": shipment,
        "extras": kept,
    }


def _text(item: dict[str, Any], name: str, errors: list[tuple[str | None, str]]) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        errors.append(
            (name, "missing" if value is None else f"must be non-empty text (got {value!r})"[:120])
        )
        return ""
    return value.strip()


def _choice(
    item: dict[str, Any], name: str, allowed: tuple[str, ...], errors: list[tuple[str | None, str]]
) -> str:
    value = item.get(name)
    if value not in allowed:
        errors.append((name, f"must be one of {', '.join(allowed)} (got {value!r})"[:160]))
        return ""
    return str(value)


def _when(
    item: dict[str, Any], name: str, errors: list[tuple[str | None, str]], *, required: bool
) -> Any:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        errors.append((name, "missing" if value is None else "must be an ISO 8601 text"))
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        errors.append((name, str(exc)))
        return None


def _locode(place: Any, depth: int = 0) -> str | None:
    if not isinstance(place, dict) or depth > 1:
        return None
    for key in ("UNLocationCode", "unLocationCode"):
        value = place.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().upper()
    return _locode(place.get("location"), depth + 1)


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") and isinstance(value, (str, int)) else None


def _dump(item: Any) -> str:
    try:
        return orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS).decode()[:20_000]
    except (TypeError, orjson.JSONEncodeError):
        return repr(item)[:20_000]
