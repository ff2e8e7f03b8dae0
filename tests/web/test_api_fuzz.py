"""Property-based fuzzing of the whole API from its OpenAPI schema (schemathesis): with an analyst's
token, no request the schema allows, or nearly allows, gets a 500.

Bounded in examples per operation so that the run stays within two minutes on both databases.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from pingan.core.auth import User, issue_token
from pingan.core.roles import Role
from pingan.web.app import create_app
from tests.conftest import make_user

APP = create_app()
# From the app itself: outside demo mode /openapi.json needs a login, which the import cannot have.
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


@pytest.fixture
def analyst(database: str, station_yulin: object) -> User:
    return make_user("analyst_fuzz", Role.ANTIFRAUD_ANALYST)


@schema.parametrize()
# Derandomized: CI runs the same examples every time, so a landing never hangs on a lucky draw; run
# it with more examples, and without derandomize, to explore further.
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: schemathesis.Case, analyst: User) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {issue_token(analyst)}"},
        checks=[not_a_server_error],
        # A generated batch may hold many reports of hundreds of transfers each: on a loaded CI
        # machine that takes longer than schemathesis's 10 s default, and slow is not a 500.
        timeout=60,
    )
