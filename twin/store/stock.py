"""The stock position as the last monitor pass projected it (the console's stock page).

Kept as one JSON document per pass in the named-state table (`alert_state`, row `stock`),
replaced each pass: the page shows the latest projection, and history lives in the `stock`
dimension's scores and alert episodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select
from sqlmodel import Session

from twin.domain.alerts import Zoned
from twin.domain.stock import WarehouseStock
from twin.store.tables.alerts import AlertStateRow
from twin.store.tables.base import table_of

ROW = "stock"


class StoredStock(BaseModel):
    """The warehouses' positions at `at` (most margin at risk first)."""

    model_config = ConfigDict(frozen=True)

    at: Zoned
    currency: str = "USD"
    warehouses: tuple[WarehouseStock, ...] = ()


def save_stock_position(
    session: Session, *, warehouses: Sequence[WarehouseStock], at: datetime, currency: str
) -> None:
    """Replace the stored stock position with this pass's."""
    doc = StoredStock(
        at=at,
        currency=currency,
        warehouses=tuple(
            sorted(warehouses, key=lambda w: (-w.margin_at_risk, -w.skus_short, w.warehouse))
        ),
    )
    table = table_of(AlertStateRow)
    session.execute(table.delete().where(table.c.name == ROW))
    session.execute(
        insert(table), [{"name": ROW, "state": doc.model_dump(mode="json"), "updated_at": at}]
    )


def load_stock_position(session: Session) -> StoredStock | None:
    """The last pass's stock position, or None when no pass projected stock yet."""
    table = table_of(AlertStateRow)
    found = session.execute(select(table.c.state).where(table.c.name == ROW)).scalar_one_or_none()
    return None if found is None else StoredStock.model_validate(found)
