"""Bearer tokens and roles.

A token reads ``isk_<id>_<secret>``: the id finds the row, the secret (32 random bytes,
URL-safe base64) is checked against the stored SHA-256 with a constant-time compare.
Only the hash is stored; the token is shown once, when it is created.

Roles are ordered: ``viewer`` (read) < ``operator`` (also create subjects, sessions,
protocols, run trials and imports) < ``admin`` (also manage tokens).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from api.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from api.storage.models import ApiToken, utcnow

__all__ = [
    "LAST_USED_RESOLUTION",
    "Role",
    "TOKEN_PREFIX",
    "authenticate",
    "create_token",
    "hash_secret",
    "require_role",
    "revoke_token",
]

TOKEN_PREFIX = "isk"

#: ``last_used_at`` is written at most this often per token, so reads do not turn into writes.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class Role(str, enum.Enum):
    """What a token may do; each role includes the ones before it."""

    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of a token's secret part."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, *, role: Role, name: str = "") -> tuple[ApiToken, str]:
    """Store a new token and return it with its text (the only time the secret is available).

    The caller commits.
    """
    secret = secrets.token_urlsafe(32)
    row = ApiToken(name=name, role=role.value, secret_sha256=hash_secret(secret))
    session.add(row)
    session.flush()
    return row, f"{TOKEN_PREFIX}_{row.id}_{secret}"


def authenticate(session: Session, token: str | None) -> ApiToken:
    """The stored token a bearer token text belongs to.

    Raises
    ------
    AuthenticationError
        When the text is missing, malformed, unknown, revoked or does not match.
    """
    if not token:
        raise AuthenticationError("missing bearer token: send 'Authorization: Bearer <token>'")
    prefix, _, rest = token.partition("_")
    id_text, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not id_text.isdigit() or not secret or len(id_text) > 18:
        raise AuthenticationError("malformed bearer token")
    row = session.get(ApiToken, int(id_text))
    if row is None or not hmac.compare_digest(row.secret_sha256, hash_secret(secret)):
        raise AuthenticationError("invalid or revoked bearer token")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.commit()
    return row


def require_role(token: ApiToken, role: Role) -> None:
    """Raise :class:`PermissionDeniedError` unless the token's role includes ``role``."""
    if Role(token.role).rank < role.rank:
        raise PermissionDeniedError(f"this needs the {role.value} role; the token has {token.role}")


def revoke_token(session: Session, token_id: int) -> None:
    """Delete a token (the caller commits).

    Raises
    ------
    NotFoundError
        When no token has this id.
    """
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError("token", token_id)
    session.delete(row)
