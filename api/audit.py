"""The audit trail: one append-only row per write request (who, what, when, result), never a body.

The route's token dependency leaves the caller's token in the request state
(:func:`remember_caller`); :class:`~api.middleware.AuditTrail` builds an
:class:`AuditRecord` once the response is sent and :func:`record_audit` stores it. The
resource is the route's path template, so no path text a client typed is stored; the id
is the path's (``/subjects/3`` -> ``3``) or, for a 201, the ``id`` of the created
resource. ``isokin token create`` and ``revoke`` are recorded too (method ``CLI``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from api.storage.database import Database
from api.storage.models import ApiToken, AuditEvent

__all__ = ["AUDITED_METHODS", "AuditRecord", "record_audit", "remember_caller"]

#: HTTP methods that change something.
AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STATE_KEY = "audit_caller"


def remember_caller(scope: Scope, token: ApiToken) -> None:
    """Note the authenticated caller of a request for its audit row."""
    scope.setdefault("state", {})[_STATE_KEY] = (token.id, token.name, token.role)


def _created_id(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("id") if body else None
    except (ValueError, AttributeError):
        return None
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _template(path: str, params: dict[str, Any]) -> str:
    """The path with each path parameter's segment named (``/api/v1/subjects/3`` -> ``.../{subject_id}``)."""
    segments = path.split("/")
    for name, value in params.items():
        for i in range(len(segments) - 1, -1, -1):
            if segments[i] == str(value):
                segments[i] = "{" + name + "}"
                break
    return "/".join(segments)


@dataclass(frozen=True)
class AuditRecord:
    """What one audit row says (see :class:`~api.storage.models.AuditEvent`)."""

    method: str
    resource: str
    resource_id: str | None
    status: int
    token_id: int | None = None
    token_name: str | None = None
    role: str | None = None
    client: str | None = None

    @classmethod
    def of(cls, scope: Scope, status: int, created_body: bytes = b"") -> AuditRecord:
        """The record of an answered request: its route template, path ids and caller."""
        params: dict[str, Any] = scope.get("path_params") or {}
        resource = _template(str(scope.get("path", "")), params) if scope.get("route") is not None else "(no route)"
        resource_id = ",".join(str(v) for v in params.values())[:64] or None
        if status == 201:
            resource_id = _created_id(created_body) or resource_id
        caller = (scope.get("state") or {}).get(_STATE_KEY)
        token_id, token_name, role = caller if caller else (None, None, None)
        client = scope.get("client")
        return cls(
            method=str(scope.get("method", "?"))[:8],
            resource=resource[:200],
            resource_id=resource_id,
            status=status,
            token_id=token_id,
            token_name=token_name,
            role=role,
            client=str(client[0])[:64] if client else None,
        )


def record_audit(database: Database, record: AuditRecord) -> None:
    """Append one row to the audit trail (its own transaction)."""
    with database.session() as session:
        session.add(
            AuditEvent(
                token_id=record.token_id,
                token_name=record.token_name,
                role=record.role,
                method=record.method,
                resource=record.resource,
                resource_id=record.resource_id,
                status=record.status,
                client=record.client,
            )
        )
        session.commit()
