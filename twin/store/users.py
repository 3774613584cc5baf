"""Console users: add, read, check a password or an API token (keyword-only, like every query module).

Passwords are hashed with Argon2id (argon2-cffi: a random salt per hash, slow and memory-hard);
API tokens are random 32-byte strings kept as their SHA-256, shown once when made.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import insert, select, update
from sqlmodel import Session

from twin.domain.users import Role
from twin.store.common import NotFound
from twin.store.tables.users import ApiTokenRow, UserRow

USERS = UserRow.__table__  # type: ignore[attr-defined]
TOKENS = ApiTokenRow.__table__  # type: ignore[attr-defined]
_HASHER = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile defaults
# Checked against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("twin-not-a-user")


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    disabled: bool = False


class UserExists(ValueError):
    """Raised when adding a user whose name is taken."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: object) -> User:
    return User(name=row.name, role=Role(row.role), disabled=row.disabled)  # type: ignore[attr-defined]


def add_user(
    session: Session,
    *,
    name: str,
    role: Role,
    password: str | None,
    at: datetime,
    replace: bool = False,
) -> User:
    """Create user `name` (or, with `replace`, set its role and password). Raises UserExists."""
    found = session.execute(select(USERS.c.name).where(USERS.c.name == name)).scalar_one_or_none()
    values = {"role": role.value, "password_hash": hash_password(password) if password else ""}
    if found is not None:
        if not replace:
            raise UserExists(f"user {name!r} exists (use --replace to change its role or password)")
        session.execute(update(USERS).where(USERS.c.name == name).values(**values))
    else:
        session.execute(
            insert(USERS), [{"name": name, "created_at": at, "disabled": False, **values}]
        )
    return User(name=name, role=role)


def get_user(session: Session, *, name: str) -> User:
    row = session.execute(select(USERS).where(USERS.c.name == name)).first()
    if row is None:
        raise NotFound(f"no user {name!r} (add one with `twin users add`)")
    return _user(row)


def list_users(session: Session) -> list[User]:
    return [_user(r) for r in session.execute(select(USERS).order_by(USERS.c.name))]


def check_password(session: Session, *, name: str, password: str) -> User | None:
    """The user if `password` is theirs and they are enabled, else None (same cost either way)."""
    row = session.execute(select(USERS).where(USERS.c.name == name)).first()
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or not row.password_hash or row.disabled:
        return None
    return _user(row)


def add_token(session: Session, *, name: str, at: datetime, label: str = "") -> str:
    """A new API token for user `name` (returned once; only its digest is stored)."""
    get_user(session, name=name)
    token = "twin_" + secrets.token_urlsafe(32)
    session.execute(
        insert(TOKENS),
        [
            {
                "token_sha256": token_digest(token),
                "user_name": name,
                "label": label,
                "created_at": at,
            }
        ],
    )
    return token


def check_token(session: Session, *, token: str) -> User | None:
    """The enabled user whose API token this is, else None."""
    row = session.execute(
        select(USERS)
        .join(TOKENS, TOKENS.c.user_name == USERS.c.name)
        .where(TOKENS.c.token_sha256 == token_digest(token))
    ).first()
    if row is None or row.disabled:
        return None
    return _user(row)
