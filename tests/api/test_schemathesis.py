"""Property-based run of the OpenAPI document (schemathesis, in-process ASGI): no 5xx, no off-schema response.

Each case is sent with a fresh admin token (so every route is reachable), on SQLite and
on PostgreSQL. Schemathesis' default checks run (server errors, status codes, content
types, headers, response schemas, invalid requests refused) except
``positive_data_acceptance``: some rules cannot be written in JSON Schema (a protocol
lists each set on both sides; a pattern belongs to its joint), so a body can match the
schema and still get a 422 naming the rule.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from api.security import Role, create_token

#: Examples per operation and database (about 20 operations; the run stays well under a minute).
MAX_EXAMPLES = 30


@pytest.fixture()
def api_schema(app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.auth(refresh_interval=None)
class AdminToken:
    """A new admin token for every case, made directly in the app's database."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        with context.app.state.database.session() as session:
            _, token = create_token(session, role=Role.admin, name="schemathesis")
            session.commit()
        return token

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_response_matches_the_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
