"""Console users: add, read, check a password or an API token, keep browser sessions, and take
access back (disable, enable, delete, revoke). Keyword-only, like every query module.

Passwords are hashed with Argon2id (argon2-cffi: a random salt per hash, slow and memory-hard);
API tokens are random 32-byte strings kept as their SHA-256, shown once when made. A browser
session is a row (the SHA-256 of the cookie's random id, the CSRF token, the expiry): deleting
the row ends the session on the server whatever the browser keeps.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from twin.domain.users import Role
from twin.store.common import NotFound
from twin.store.tables.users import ApiTokenRow, SessionRow, UserRow

USERS = UserRow.__table__  # type: ignore[attr-defined]
TOKENS = ApiTokenRow.__table__  # type: ignore[attr-defined]
SESSIONS = SessionRow.__table__  # type: ignore[attr-defined]
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
    """Create user `name`, or with `replace` reset it: new role and password, and its sessions
    and API tokens end (the old credentials stop working). Raises UserExists."""
    found = session.execute(select(USERS.c.name).where(USERS.c.name == name)).scalar_one_or_none()
    values = {"role": role.value, "password_hash": hash_password(password) if password else ""}
    if found is not None:
        if not replace:
            raise UserExists(f"user {name!r} exists (use --replace to change its role or password)")
        session.execute(update(USERS).where(USERS.c.name == name).values(**values))
        revoke(session, name=name)
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


def stored_credentials(session: Session, *, name: str) -> tuple[User | None, str]:
    """(the user if it may sign in with a password, its Argon2id hash or a dummy one): read
    quickly, so the slow check can run after the database connection is given back."""
    row = session.execute(select(USERS).where(USERS.c.name == name)).first()
    if row is None or not row.password_hash:
        return None, _DUMMY_HASH
    return (None if row.disabled else _user(row)), row.password_hash


def password_matches(stored: str, password: str) -> bool:
    """Argon2id verification (slow on purpose: ~50 ms and 64 MiB)."""
    try:
        return bool(_HASHER.verify(stored, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password(session: Session, *, name: str, password: str) -> User | None:
    """The user if `password` is theirs and they are enabled, else None (same cost either way)."""
    user, stored = stored_credentials(session, name=name)
    matched = password_matches(stored, password)
    return user if matched else None


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


def set_disabled(session: Session, *, name: str, disabled: bool) -> User:
    """Disable (sessions end; tokens stop working) or enable user `name`. Raises NotFound."""
    user = get_user(session, name=name)
    session.execute(update(USERS).where(USERS.c.name == name).values(disabled=disabled))
    if disabled:
        end_sessions(session, name=name)
    return User(name=user.name, role=user.role, disabled=disabled)


def delete_user(session: Session, *, name: str) -> User:
    """Remove user `name` with its tokens and sessions (audit entries keep the name)."""
    user = get_user(session, name=name)
    revoke(session, name=name)
    session.execute(delete(USERS).where(USERS.c.name == name))
    return user


def revoke(session: Session, *, name: str) -> tuple[int, int]:
    """End every API token and session of user `name`: (tokens revoked, sessions ended)."""
    tokens = _deleted(session.execute(delete(TOKENS).where(TOKENS.c.user_name == name)))
    return tokens, end_sessions(session, name=name)


def add_session(
    session: Session, *, name: str, session_id: str, csrf: str, at: datetime, expires: datetime
) -> None:
    """Record a browser session of user `name` (expired ones are swept at the same time)."""
    session.execute(delete(SESSIONS).where(SESSIONS.c.expires_at <= at))
    session.execute(
        insert(SESSIONS),
        [
            {
                "id_sha256": token_digest(session_id),
                "user_name": name,
                "csrf": csrf,
                "created_at": at,
                "expires_at": expires,
            }
        ],
    )


def session_user(session: Session, *, session_id: str, at: datetime) -> tuple[User, str] | None:
    """(the enabled user, the session's CSRF token) of a live session, else None."""
    row = session.execute(
        select(USERS.c.name, USERS.c.role, USERS.c.disabled, SESSIONS.c.csrf)
        .join(SESSIONS, SESSIONS.c.user_name == USERS.c.name)
        .where(SESSIONS.c.id_sha256 == token_digest(session_id), SESSIONS.c.expires_at > at)
    ).first()
    if row is None or row.disabled:
        return None
    return _user(row), str(row.csrf)


def end_session(session: Session, *, session_id: str) -> None:
    session.execute(delete(SESSIONS).where(SESSIONS.c.id_sha256 == token_digest(session_id)))


def end_sessions(session: Session, *, name: str) -> int:
    """End every session of user `name`; how many there were."""
    return _deleted(session.execute(delete(SESSIONS).where(SESSIONS.c.user_name == name)))


def _deleted(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
