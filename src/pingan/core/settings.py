"""One settings object for the whole platform, read once from `PINGAN_*` environment variables.

Each subsystem's settings are a nested section named by the variables' second word:
`PINGAN_BANK_BASE_URL` is `settings.bank.base_url`, `PINGAN_WARNINGS_SMS_CHANNEL` is
`settings.warnings.sms_channel`. A section's dictionaries are given as JSON
(`PINGAN_BANK_KEYS='{"ICBC": "..."}'`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Keys that ship in the source tree. They are fine for `make demo` and tests and nowhere else:
# `Settings.check_production_keys` refuses to start a server that still uses one of them.
DEMO_SECRET_KEY = "demo-only-signing-key-change-me-0123456789abcdef"  # noqa: S105 - a public demo key, refused outside demo
DEMO_PII_HMAC_KEY = "demo-only-pii-hmac-key-change-me-0123456789"
DEMO_PII_ENC_KEY = "ZGVtby1vbmx5LXBpaS1lbmMta2V5LWNoYW5nZS1tZSE="  # base64 of 32 bytes
DEMO_BANK_KEY_SEED = "demo-only-bank-key-seed-change-me"
DEMO_AUDIT_KEY = "demo-only-audit-chain-key-change-me-0123456789"


class BankSettings(BaseModel):
    """Bank-interface settings (`PINGAN_BANK_*`)."""

    base_url: str = Field(default="http://127.0.0.1:8700", description="where the banks (or bank-sim) listen")
    callback_url: str = Field(
        default="http://127.0.0.1:8000/bank-interface/callbacks", description="where banks send results"
    )
    key_seed: str = Field(
        default=DEMO_BANK_KEY_SEED, description="derives per-bank keys when `keys` lacks one"
    )
    keys: dict[str, str] = Field(default_factory=dict, description="per-bank signing keys, by bank code")
    timeout_s: float = 2.0
    timeouts_s: dict[str, float] = Field(default_factory=dict, description="per-bank timeouts, by bank code")
    breaker_failures: int = 5
    breaker_open_s: float = 5.0
    backoff_base_s: float = 0.1
    backoff_max_s: float = 10.0
    concurrency: int = 64
    lease_s: float = Field(
        default=30.0,
        description="how long a sender's claim on an outbox message lasts; after it another sender may take it",
    )


class WarningSettings(BaseModel):
    """Which channels deliver warnings, and how to reach their gateways (`PINGAN_WARNINGS_*`)."""

    sms_channel: Literal["outbox", "kannel"] = "outbox"
    voice_channel: Literal["outbox", "sip"] = "outbox"
    kannel_sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    kannel_username: str = "pingan"
    kannel_password: str = ""
    sms_sender: str = "96110"
    # Where Kannel can reach pingan's DLR endpoint (the web app mounts it under /sms-gateway).
    callback_base_url: str = "http://127.0.0.1:8000"
    dlr_secret: str = Field(
        default="", description="HMAC key of dlr-url tokens; derived from PINGAN_SECRET_KEY when empty"
    )
    # The addresses (IPs or CIDR networks, comma-separated) Kannel calls back from: the DLR type is not
    # covered by the dlr-url's token (Kannel fills it in), so only the gateway hosts may post reports.
    dlr_sources: str = "127.0.0.1/32,::1/128"
    sip_peer_host: str = "127.0.0.1"
    sip_peer_port: int = 5060
    sip_local_host: str = "127.0.0.1"
    sms_rate_per_s: float = 1000.0
    sms_concurrency: int = 64
    calls_per_s: float = 20.0
    call_concurrency: int = 64

    def dlr_key(self) -> bytes:
        """The key that signs and verifies dlr-url tokens."""
        if self.dlr_secret:
            return self.dlr_secret.encode()
        return hmac.new(get_settings().secret_key.encode(), b"pingan.warnings.dlr", hashlib.sha256).digest()

    def dlr_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The networks DLRs may come from; a bad entry is refused naming the setting."""
        out = []
        for raw in self.dlr_sources.split(","):
            if not raw.strip():
                continue
            try:
                out.append(ip_network(raw.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"PINGAN_WARNINGS_DLR_SOURCES: {raw.strip()!r} is not an IP address or network"
                ) from None
        return tuple(out)


class CommandSettings(BaseModel):
    """The 110 targets and the attach rule of the command platform (`PINGAN_COMMAND_*`).

    Targets are seconds by priority code ("1" most urgent). The 110 working rules: a call signed off
    (签收) within 30 s, a unit on scene within 5 minutes in urban areas and 10 in suburban ones, and
    feedback within 30 minutes of arriving. A routine call (priority 3) gets twice the on-scene time.
    """

    sign_off_s: dict[str, int] = Field(default_factory=lambda: {"1": 30, "2": 30, "3": 30})
    on_scene_urban_s: dict[str, int] = Field(default_factory=lambda: {"1": 300, "2": 300, "3": 600})
    on_scene_suburban_s: dict[str, int] = Field(default_factory=lambda: {"1": 600, "2": 600, "3": 1200})
    feedback_s: dict[str, int] = Field(default_factory=lambda: {"1": 1800, "2": 1800, "3": 1800})
    # Stations whose area is suburban (10-minute on-scene target); every other station is urban.
    suburban_stations: list[str] = Field(default_factory=lambda: ["WH-JTQ", "WH-JHQ", "WH-CQ"])
    attach_radius_m: float = Field(default=200.0, gt=0, description="a call this close to an open incident")
    attach_window_min: int = Field(default=30, gt=0, description="... of the same type, this recent")
    # Which engine routes the units to an incident: scipy in-process (the default on every database),
    # or pgRouting in PostgreSQL where the extension is installed (docs/command.md has both figures).
    routing_engine: Literal["scipy", "pgrouting"] = "scipy"

    @model_validator(mode="after")
    def _every_priority_has_its_targets(self) -> CommandSettings:
        for name in ("sign_off_s", "on_scene_urban_s", "on_scene_suburban_s", "feedback_s"):
            table = getattr(self, name)
            missing = sorted({"1", "2", "3"} - set(table))
            if missing or any(v <= 0 for v in table.values()):
                raise ValueError(
                    f"PINGAN_COMMAND_{name.upper()}: give a positive number of seconds for priorities 1, 2 and 3"
                )
        return self


class SensorSettings(BaseModel):
    """The MQTT link to sensors and officer devices (`PINGAN_SENSORS_*`), docs/mqtt.md."""

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    # Every topic pingan reads or writes starts with this level, so that one broker can carry several
    # systems (or several test runs) side by side without one reading the other's messages.
    topic_root: str = Field(default="pingan", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    # A fixed client id with a persistent session: the broker keeps QoS 1 messages for the ingest
    # while it is away, and hands them over when it reconnects under the same id.
    client_id: str = Field(default="pingan-ingest", min_length=1, max_length=64)
    max_payload_bytes: int = Field(default=8192, gt=0, description="a larger message is refused")
    replay_window_s: int = Field(
        default=900, gt=0, description="a message stamped further than this from now is refused"
    )
    dedup_window_s: int = Field(default=300, gt=0, description="one incident per device and alarm type")
    confirm_window_s: int = Field(default=120, gt=0, description="a second smoke sensor confirms within")
    position_retention_days: int = Field(default=30, ge=1, description="officer position history kept")
    false_alarm_demote_at: float = Field(
        default=0.8, gt=0, le=1, description="a device this often false is demoted one priority"
    )
    false_alarm_min_outcomes: int = Field(default=5, ge=1, description="... after this many outcomes")
    # The ingest writes messages in batches, one transaction each, and acknowledges them after it.
    batch_max: int = Field(default=1000, ge=1, le=10000, description="messages in one transaction at most")
    batch_wait_ms: int = Field(default=50, ge=0, le=5000, description="a batch waits this long for more")


class TrafficSettings(BaseModel):
    """Traffic safety (`PINGAN_TRAFFIC_*`): when an accident is major, and how far a point may lie
    from the nearest road segment and still be placed on it."""

    # 重大事故: three or more deaths (the brigade's reporting threshold for a major accident).
    major_deaths: int = Field(default=3, ge=1)
    snap_limit_m: float = Field(default=50.0, gt=0)


class CommunitySettings(BaseModel):
    """Community mediation's clocks (`PINGAN_COMMUNITY_*`): each length, and how early each warns. The
    defaults are the statute's where it sets one; the rest are this project's assumptions."""

    # The anchor: mediation finished within a month of intake, counted as 30 days.
    mediation_days: int = Field(default=30, description="mediation limit from intake (one month)")
    # 人民调解法 art. 31 (the committee supervises the agreement): the 15 days are an assumption.
    follow_up_days: int = Field(default=15, description="follow-up visit after the agreement")
    # 人民调解法 art. 33: judicial confirmation applied for within 30 days of the agreement.
    confirmation_days: int = Field(default=30, description="judicial-confirmation window (art. 33)")
    # 反家庭暴力法 art. 16 (告诫书): the law sets no hours; 72 h from intake is an assumption.
    dv_warning_hours: int = Field(default=72, description="written warning in a domestic-violence case")
    # 反家庭暴力法 art. 28: the protection order decided within 72 h, within 24 h when urgent.
    protection_order_hours: int = Field(default=72, description="protection-order decision (art. 28)")
    protection_order_urgent_hours: int = Field(default=24, description="urgent protection order (art. 28)")
    warn_days: int = Field(default=5, description="day clocks warn this many days ahead")
    warn_hours: int = Field(default=12, description="hour clocks warn this many hours ahead")

    @model_validator(mode="after")
    def _positive(self) -> CommunitySettings:
        for name in type(self).model_fields:
            if getattr(self, name) <= 0:
                raise ValueError(f"PINGAN_COMMUNITY_{name.upper()}: a clock length is a positive number")
        return self


class Settings(BaseSettings):
    """Platform settings; every field can be set as `PINGAN_<NAME>`, a section's as `PINGAN_<SECTION>_<NAME>`."""

    model_config = SettingsConfigDict(
        env_prefix="PINGAN_",
        env_file=".env",
        extra="ignore",
        # `PINGAN_BANK_BASE_URL` → bank.base_url: split once after the section's name, so the
        # fields' own underscores stay theirs.
        env_nested_delimiter="_",
        env_nested_max_split=1,
    )

    database_url: str = Field(
        default="sqlite:///var/pingan.db", description="SQLAlchemy URL of the OLTP store"
    )
    data_dir: Path = Field(default=Path("var"), description="where Parquet stores and generated files live")
    demo: bool = Field(default=False, description="demo mode: allows the built-in demo keys")
    secret_key: str = DEMO_SECRET_KEY
    pii_hmac_key: str = DEMO_PII_HMAC_KEY
    pii_enc_key: str = Field(default=DEMO_PII_ENC_KEY, description="base64 of a 32-byte AES-256-GCM key")
    audit_key: str = Field(
        default=DEMO_AUDIT_KEY,
        description="HMAC key of the audit chain and its checkpoints; kept outside the database",
    )
    token_ttl_minutes: int = 30
    max_body_bytes: int = 1_000_000
    property_photo_dir: Path = Field(
        default=Path("var/property_photos"),
        description="where photos of seized property are stored (the database keeps their hash and path)",
    )
    property_approval_valid_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="days an approval to return or dispose of seized property stays valid (local policy, not law)",
    )
    upload_retention_days: int = Field(
        default=30, ge=1, description="days an uploaded import file and its quarantine copy are kept"
    )
    api_docs_public: bool | None = Field(
        default=None,
        description="serve /docs and /openapi.json without login; unset: only in demo mode",
    )
    log_json: bool = False
    timezone: str = Field(
        default="Asia/Shanghai",
        description="the district's time zone (IANA name): pages show times in it; the API keeps UTC",
    )
    bank: BankSettings = Field(default_factory=BankSettings)
    warnings: WarningSettings = Field(default_factory=WarningSettings)
    command: CommandSettings = Field(default_factory=CommandSettings)
    sensors: SensorSettings = Field(default_factory=SensorSettings)
    traffic: TrafficSettings = Field(default_factory=TrafficSettings)
    community: CommunitySettings = Field(default_factory=CommunitySettings)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"PINGAN_TIMEZONE: {value!r} is not an IANA time zone") from None
        return value

    def uses_demo_keys(self) -> bool:
        """True when any signing or PII key is still the public demo value."""
        return (
            self.secret_key == DEMO_SECRET_KEY
            or self.pii_hmac_key == DEMO_PII_HMAC_KEY
            or self.pii_enc_key == DEMO_PII_ENC_KEY
            or self.audit_key == DEMO_AUDIT_KEY
        )

    def bank_key_problems(self, bank_codes: Iterable[str]) -> list[str]:
        """Why each of these banks' keys is unfit outside demo mode: missing, or derived from the demo seed."""
        problems = []
        for code in bank_codes:
            demo_derived = hmac.new(
                DEMO_BANK_KEY_SEED.encode(), f"bank-key:{code}".encode(), hashlib.sha256
            ).digest()
            configured = self.bank.keys.get(code)
            if configured is None and self.bank.key_seed == DEMO_BANK_KEY_SEED:
                problems.append(f"{code}: no key (set PINGAN_BANK_KEYS, or a secret PINGAN_BANK_KEY_SEED)")
            elif configured is not None and configured.encode("utf-8", "surrogateescape") in (
                demo_derived,
                demo_derived.hex().encode(),
            ):
                problems.append(f"{code}: its key derives from the published demo seed")
        return problems

    def check_production_keys(self, bank_codes: Iterable[str] = ()) -> None:
        """Refuse to run a server outside demo mode with the public demo keys, or any bank without its own key."""
        if self.demo:
            return
        if self.uses_demo_keys():
            raise SystemExit(
                "refusing to start: PINGAN_SECRET_KEY, PINGAN_PII_HMAC_KEY, PINGAN_PII_ENC_KEY and PINGAN_AUDIT_KEY "
                "must be set to secret values outside demo mode (or set PINGAN_DEMO=1 for a demo)"
            )
        if problems := self.bank_key_problems(bank_codes):
            raise SystemExit("refusing to start: bank keys unfit outside demo mode: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once (`get_settings.cache_clear()` reads them again)."""
    return Settings()
