"""The community API fuzzed from its OpenAPI schema with a supervisor's token (the whole-API fuzz
uses an analyst, whom these routes refuse before reading the request): no request gets a 500."""

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
schema = schemathesis.openapi.from_dict(APP.openapi()).include(tag="community")
schema.app = APP


@pytest.fixture
def supervisor_fuzz(district: None) -> User:
    return make_user("supervisor_fuzz", Role.SUPERVISOR)


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_community_request_gets_a_server_error(case: schemathesis.Case, supervisor_fuzz: User) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {issue_token(supervisor_fuzz)}"},
        checks=[not_a_server_error],
        # On a loaded machine a call may take longer than schemathesis's 10 s default: slow is not a 500.
        timeout=60,
    )
