"""The store: SQLModel tables, keyword-only queries, Alembic migrations (SQLite or PostgreSQL)."""

from twin.store.common import NotFound, SaveReport
from twin.store.db import DEFAULT_DATABASE_URL, database_url, make_engine, session_scope
from twin.store.migrate import current_revisions, head_revisions, upgrade
from twin.store.networks import (
    StoredNetwork,
    delete_network,
    get_network,
    lanes_via,
    list_networks,
    save_network,
)
from twin.store.shipments import (
    ShipmentState,
    get_shipment_states,
    get_shipments,
    save_shipments,
    set_shipment_state,
    set_shipment_states,
)
from twin.store.tables import ShipmentStatus, metadata

__all__ = [
    "DEFAULT_DATABASE_URL",
    "NotFound",
    "SaveReport",
    "ShipmentState",
    "ShipmentStatus",
    "StoredNetwork",
    "current_revisions",
    "database_url",
    "delete_network",
    "get_network",
    "get_shipment_states",
    "get_shipments",
    "head_revisions",
    "lanes_via",
    "list_networks",
    "make_engine",
    "metadata",
    "save_network",
    "save_shipments",
    "session_scope",
    "set_shipment_state",
    "set_shipment_states",
    "upgrade",
]
