"""Console users and their API tokens: who may sign in, with which role (viewer, approver, admin)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from twin.store.tables.base import UTCDateTime

NAME_LENGTH = 120


class UserRow(SQLModel, table=True):
    """One console user. `password_hash` is an Argon2id hash (salted, slow); empty: no password
    sign-in (a script user with API tokens only)."""

    __tablename__ = "users"

    name: str = Field(sa_type=sa.String(NAME_LENGTH), primary_key=True)
    role: str = Field(sa_type=sa.String(20))
    password_hash: str = Field(default="", sa_type=sa.Text)
    disabled: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)


class ApiTokenRow(SQLModel, table=True):
    """One API token of a user, kept as its SHA-256 (a token is random, so a fast hash is safe)."""

    __tablename__ = "api_tokens"

    token_sha256: str = Field(sa_type=sa.String(64), primary_key=True)
    user_name: str = Field(
        sa_type=sa.String(NAME_LENGTH),
        sa_column_args=[sa.ForeignKey("users.name", ondelete="CASCADE")],
        index=True,
    )
    label: str = Field(default="", sa_type=sa.String(NAME_LENGTH))
    created_at: datetime = Field(sa_type=UTCDateTime)


class SessionRow(SQLModel, table=True):
    """One signed-in browser session, kept so signing out, a password change or revoking a user
    ends it on the server. The cookie carries the random session id; only its SHA-256 is kept."""

    __tablename__ = "console_sessions"

    id_sha256: str = Field(sa_type=sa.String(64), primary_key=True)
    user_name: str = Field(
        sa_type=sa.String(NAME_LENGTH),
        sa_column_args=[sa.ForeignKey("users.name", ondelete="CASCADE")],
        index=True,
    )
    csrf: str = Field(sa_type=sa.String(64))
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
