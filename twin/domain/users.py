"""Console roles: what a signed-in person may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a console user may do: viewers read, approvers also decide incidents, admins all."""

    viewer = "viewer"
    approver = "approver"
    admin = "admin"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "approver": 1, "admin": 2}[self.value]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank
