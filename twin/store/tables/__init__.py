"""Every store table, one module per concept; importing this package fills the shared metadata."""
# ruff: noqa: I001 - base must be imported first (it sets the naming convention)

from twin.store.tables.base import metadata  # first: sets the naming convention
from twin.store.tables.network import LaneRow, LaneViaRow, NetworkRow, NodeRow
from twin.store.tables.shipments import ShipmentRow, ShipmentStatus
from twin.store.tables.incidents import AuditRow, IncidentRow, NotificationAttemptRow, PlanChangeRow
from twin.store.tables.alerts import (
    AcknowledgementRow,
    AlertEpisodeRow,
    AlertStateRow,
    RiskScoreRow,
    SilenceRow,
)
from twin.store.tables.signals import (
    FeedCheckpointRow,
    QuarantinedFileRow,
    QuarantineRow,
    ShipmentEventRow,
    SignalRow,
)
from twin.store.tables.routes import OutboxRow, PlanRouteRow
from twin.store.tables.users import ApiTokenRow, SessionRow, UserRow

# Later concepts (signals, scores, alerts, incidents, plans) add one import line here.

__all__ = [
    "AcknowledgementRow",
    "AlertEpisodeRow",
    "AlertStateRow",
    "ApiTokenRow",
    "AuditRow",
    "FeedCheckpointRow",
    "IncidentRow",
    "LaneRow",
    "LaneViaRow",
    "NetworkRow",
    "NodeRow",
    "NotificationAttemptRow",
    "OutboxRow",
    "PlanChangeRow",
    "PlanRouteRow",
    "QuarantineRow",
    "QuarantinedFileRow",
    "RiskScoreRow",
    "SessionRow",
    "ShipmentEventRow",
    "ShipmentRow",
    "ShipmentStatus",
    "SignalRow",
    "SilenceRow",
    "UserRow",
    "metadata",
]
