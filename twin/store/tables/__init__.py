"""Every store table, one module per concept; importing this package fills the shared metadata."""

from twin.store.tables.base import metadata  # first: sets the naming convention
from twin.store.tables.network import LaneRow, LaneViaRow, NetworkRow, NodeRow
from twin.store.tables.shipments import ShipmentRow, ShipmentStatus
from twin.store.tables.incidents import AuditRow, IncidentRow, NotificationAttemptRow, PlanChangeRow

# Later concepts (signals, scores, alerts, incidents, plans) add one import line here.

__all__ = [
    "AuditRow",
    "IncidentRow",
    "NotificationAttemptRow",
    "PlanChangeRow",
    "LaneRow",
    "LaneViaRow",
    "NetworkRow",
    "NodeRow",
    "ShipmentRow",
    "ShipmentStatus",
    "metadata",
]
