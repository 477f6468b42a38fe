"""Bearer tokens and roles.

A token reads ``isk_<id>_<secret>``: the id finds the row, the secret (32 random bytes,
URL-safe base64) is checked against the stored SHA-256 with a constant-time compare.
Only the hash is stored; the token is shown once, when it is created. A token may expire
(``expires_at``); revoking one deletes its row, so the next request with it is a 401.
The id must be ASCII digits (``str.isdigit`` also takes ``"²"``) and the secret ASCII.

Roles are ordered: ``viewer`` (read) < ``operator`` (also create subjects, sessions,
protocols, run trials and imports) < ``admin`` (also manage tokens).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import logging
import re
import secrets

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.errors import AuthenticationError, ConflictError, NotFoundError, PermissionDeniedError
from api.storage.models import ApiToken, utcnow

__all__ = [
    "LAST_USED_RESOLUTION",
    "REDACTED_LOGGERS",
    "RedactTokens",
    "MAX_TOKEN_ID",
    "Role",
    "TOKEN_PREFIX",
    "authenticate",
    "create_token",
    "hash_secret",
    "install_log_redaction",
    "redact",
    "require_role",
    "revoke_token",
]

TOKEN_PREFIX = "isk"

#: Largest token id (the column is a 32-bit integer).
MAX_TOKEN_ID = 2**31 - 1

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


def create_token(
    session: Session, *, role: Role, name: str = "", expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """Store a new token and return it with its text (the only time the secret is available).

    ``expires_days``: the token is refused that many days from now (``None``: never).
    The caller commits.
    """
    secret = secrets.token_urlsafe(32)
    expires_at = utcnow() + dt.timedelta(days=expires_days) if expires_days is not None else None
    row = ApiToken(name=name, role=role.value, secret_sha256=hash_secret(secret), expires_at=expires_at)
    session.add(row)
    session.flush()
    return row, f"{TOKEN_PREFIX}_{row.id}_{secret}"


def authenticate(session: Session, token: str | None) -> ApiToken:
    """The stored token a bearer token text belongs to.

    Raises
    ------
    AuthenticationError
        When the text is missing, malformed, unknown, revoked, expired or does not match.
    """
    if not token:
        raise AuthenticationError("missing bearer token: send 'Authorization: Bearer <token>'")
    prefix, _, rest = token.partition("_")
    id_text, _, secret = rest.partition("_")
    well_formed = id_text.isascii() and id_text.isdigit() and len(id_text) <= 10 and secret.isascii() and secret
    if prefix != TOKEN_PREFIX or not well_formed or not 0 < int(id_text) <= MAX_TOKEN_ID:
        raise AuthenticationError("malformed bearer token")
    row = session.get(ApiToken, int(id_text))
    if row is None or not hmac.compare_digest(row.secret_sha256, hash_secret(secret)):
        raise AuthenticationError("invalid or revoked bearer token")
    now = utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationError(f"bearer token {row.id} expired at {row.expires_at:%Y-%m-%d %H:%M} UTC")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.commit()
    return row


def require_role(token: ApiToken, role: Role) -> None:
    """Raise :class:`PermissionDeniedError` unless the token's role includes ``role``."""
    if Role(token.role).rank < role.rank:
        raise PermissionDeniedError(f"this needs the {role.value} role; the token has {token.role}")


def revoke_token(session: Session, token_id: int, *, by: ApiToken | None = None) -> ApiToken:
    """Delete a token (the caller commits); returns the deleted row.

    ``by`` is the token asking, when a request asks: the last valid admin token cannot
    revoke itself (the service would have no admin left; ``isokin token`` on the
    server's machine can still do anything).

    Raises
    ------
    NotFoundError
        When no token has this id.
    ConflictError
        When ``by`` revokes itself and is the last admin token that has not expired.
    """
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError("token", token_id)
    if by is not None and by.id == row.id and row.role == Role.admin.value:
        now = utcnow()
        admins = session.scalar(
            select(func.count())
            .select_from(ApiToken)
            .where(ApiToken.role == Role.admin.value, or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
        )
        if (admins or 0) <= 1:
            raise ConflictError(
                f"token {token_id} is the last admin token: create another admin token before revoking this one"
            )
    session.delete(row)
    return row


#: A bearer token's text anywhere in a line (``isk_<id>_<secret>``), or a ``token=`` query value.
_TOKEN_TEXT = re.compile(r"\b(isk_[0-9]+_)[A-Za-z0-9_\-]+|(\btoken=)[^&\s\"']+|(bearer\.)[A-Za-z0-9_\-]+", re.IGNORECASE)
#: Loggers whose lines may quote a request (uvicorn's access and error logs) and the service's own.
REDACTED_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "api", "fastapi")


def redact(text: str) -> str:
    """``text`` with every token secret replaced by ``***`` (the token id stays, for the audit)."""
    return _TOKEN_TEXT.sub(lambda m: f"{m.group(1) or m.group(2) or m.group(3)}***", text)


class RedactTokens(logging.Filter):
    """A logging filter that removes token secrets from each record's message (a URL a client typed included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACTION = RedactTokens()


def install_log_redaction() -> None:
    """Add :class:`RedactTokens` to the loggers of :data:`REDACTED_LOGGERS` (idempotent)."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTION not in logger.filters:
            logger.addFilter(_REDACTION)
