"""The mediation clocks' lengths come from the settings (`PINGAN_COMMUNITY_*`): the statutory defaults
where the law sets one, and a non-positive length is refused naming the setting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from pingan.community import actions, rules
from pingan.core.auth import User
from pingan.core.settings import CommunitySettings, Settings, get_settings
from tests.command.conftest import T0
from tests.community.conftest import dispute_body


def test_the_default_lengths_are_the_statutes_where_they_set_one() -> None:
    c = rules.DEFAULT_CLOCKS
    assert c.confirmation == timedelta(days=30)  # 人民调解法 art. 33
    assert (c.protection_order, c.protection_order_urgent) == (timedelta(hours=72), timedelta(hours=24))
    assert c.mediation == timedelta(days=30)  # the one-month anchor


def test_a_shorter_mediation_limit_in_the_settings_moves_the_deadline(
    api: TestClient, mediator_wang: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings().model_copy(update={"community": CommunitySettings(mediation_days=10)})
    monkeypatch.setattr(actions, "get_settings", lambda: settings)
    d = api.post("/api/v1/disputes", json=dispute_body()).json()
    mediation = next(c for c in d["clocks"] if c["kind"] == "mediation")
    assert mediation["deadline"].startswith((T0 + timedelta(days=10)).isoformat()[:19])


@pytest.mark.parametrize(
    "name", ["mediation_days", "follow_up_days", "confirmation_days", "dv_warning_hours"]
)
def test_a_non_positive_clock_length_is_refused_naming_the_setting(name: str) -> None:
    with pytest.raises(ValidationError, match=f"PINGAN_COMMUNITY_{name.upper()}"):
        CommunitySettings.model_validate({name: 0})


def test_a_negative_length_in_the_environment_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PINGAN_COMMUNITY_FOLLOW_UP_DAYS", "-1")
    with pytest.raises(ValidationError, match="PINGAN_COMMUNITY_FOLLOW_UP_DAYS"):
        Settings()
