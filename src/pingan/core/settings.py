"""One settings object for the whole platform, read from `PINGAN_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Keys that ship in the source tree. They are fine for `make demo` and tests and nowhere else:
# `Settings.check_production_keys` refuses to start a server that still uses one of them.
DEMO_SECRET_KEY = "demo-only-signing-key-change-me-0123456789abcdef"  # noqa: S105 - a public demo key, refused outside demo
DEMO_PII_HMAC_KEY = "demo-only-pii-hmac-key-change-me-0123456789"
DEMO_PII_ENC_KEY = "ZGVtby1vbmx5LXBpaS1lbmMta2V5LWNoYW5nZS1tZSE="  # base64 of 32 bytes


class Settings(BaseSettings):
    """Platform settings; every field can be set as `PINGAN_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="PINGAN_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/pingan.db", description="SQLAlchemy URL of the OLTP store"
    )
    data_dir: Path = Field(default=Path("var"), description="where Parquet stores and generated files live")
    demo: bool = Field(default=False, description="demo mode: allows the built-in demo keys")
    secret_key: str = DEMO_SECRET_KEY
    pii_hmac_key: str = DEMO_PII_HMAC_KEY
    pii_enc_key: str = Field(default=DEMO_PII_ENC_KEY, description="base64 of a 32-byte AES-256-GCM key")
    token_ttl_minutes: int = 30
    max_body_bytes: int = 1_000_000
    upload_retention_days: int = Field(
        default=30, ge=1, description="days an uploaded import file and its quarantine copy are kept"
    )
    api_docs_public: bool | None = Field(
        default=None,
        description="serve /docs and /openapi.json without login; unset: only in demo mode",
    )
    log_json: bool = False

    def uses_demo_keys(self) -> bool:
        """True when any signing or PII key is still the public demo value."""
        return (
            self.secret_key == DEMO_SECRET_KEY
            or self.pii_hmac_key == DEMO_PII_HMAC_KEY
            or self.pii_enc_key == DEMO_PII_ENC_KEY
        )

    def check_production_keys(self) -> None:
        """Refuse to run a server outside demo mode with the public demo keys."""
        if not self.demo and self.uses_demo_keys():
            raise SystemExit(
                "refusing to start: PINGAN_SECRET_KEY, PINGAN_PII_HMAC_KEY and PINGAN_PII_ENC_KEY must be set "
                "to secret values outside demo mode (or set PINGAN_DEMO=1 for a demo)"
            )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
