"""What the store's query modules share: save reports, a not-found error, network lookup."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import Session, col

from twin.store.tables.network import NetworkRow

T = TypeVar("T")

# Rows per DELETE ... IN (...): well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 1000


class NotFound(LookupError):
    """Raised when a stored network, shipment or other record of that name does not exist."""


@dataclass
class SaveReport:
    """What one save did, counted per table: rows inserted, updated, unchanged and deleted."""

    network_id: int
    created: bool = False
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.created or any(
            sum(counts.values()) for counts in (self.inserted, self.updated, self.deleted)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "created": self.created,
            "changed": self.changed,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }


def network_id(session: Session, *, name: str, for_update: bool = False) -> int:
    """The id of the stored network `name`; raises NotFound if there is none."""
    query = select(col(NetworkRow.id)).where(col(NetworkRow.name) == name)
    if for_update:
        query = query.with_for_update()
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no stored network named {name!r} (load it with `twin db load-network`)")
    return int(found)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
