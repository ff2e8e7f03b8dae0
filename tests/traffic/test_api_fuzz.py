"""The traffic API fuzzed from its OpenAPI schema with a traffic officer's token, over a small stored
road graph (the whole-API fuzz uses an analyst, whom these routes refuse): no request gets a 500."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from pingan.command.roads import Roads
from pingan.core.auth import User, issue_token
from pingan.web.app import create_app

APP = create_app()
schema = schemathesis.openapi.from_dict(APP.openapi()).include(tag="traffic")
schema.app = APP


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_traffic_request_gets_a_server_error(
    case: schemathesis.Case, officer_sun: User, grid: Roads
) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {issue_token(officer_sun)}"},
        checks=[not_a_server_error],
        timeout=60,  # slow on a loaded machine is not a 500 (schemathesis's default is 10 s)
    )
