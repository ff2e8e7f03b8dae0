"""One settings object: each subsystem a nested section, read once, under the variables it always had."""

from __future__ import annotations

import pytest

from pingan.core.settings import Settings, get_settings


def test_a_bank_variable_sets_the_bank_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_BANK_BASE_URL", "http://bank.example:8700")
    monkeypatch.setenv("PINGAN_BANK_BACKOFF_MAX_S", "0.5")
    bank = Settings().bank
    assert (bank.base_url, bank.backoff_max_s) == ("http://bank.example:8700", 0.5)


def test_a_bank_mapping_is_given_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_BANK_KEYS", '{"ICBC": "icbc-key"}')
    monkeypatch.setenv("PINGAN_BANK_TIMEOUTS_S", '{"ICBC": 5}')
    bank = Settings().bank
    assert (bank.keys, bank.timeouts_s) == ({"ICBC": "icbc-key"}, {"ICBC": 5.0})


def test_a_warnings_variable_sets_the_warnings_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_WARNINGS_SMS_CHANNEL", "kannel")
    monkeypatch.setenv("PINGAN_WARNINGS_KANNEL_SENDSMS_URL", "http://kannel.example/cgi-bin/sendsms")
    warnings = Settings().warnings
    assert warnings.sms_channel == "kannel"
    assert warnings.kannel_sendsms_url == "http://kannel.example/cgi-bin/sendsms"


def test_top_level_variables_are_not_taken_for_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("PINGAN_DATA_DIR", "elsewhere")
    s = Settings()
    assert (s.database_url, str(s.data_dir)) == ("sqlite:///elsewhere.db", "elsewhere")


def test_settings_are_read_once_until_the_cache_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    first = get_settings()
    monkeypatch.setenv("PINGAN_BANK_CONCURRENCY", "3")
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().bank.concurrency == 3
    monkeypatch.undo()
    get_settings.cache_clear()
