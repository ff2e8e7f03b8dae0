"""Settings of the warning channels, read from `PINGAN_WARNINGS_*` environment variables."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pingan.core.settings import get_settings


class WarningSettings(BaseSettings):
    """Which channels deliver warnings, and how to reach their gateways."""

    model_config = SettingsConfigDict(env_prefix="PINGAN_WARNINGS_", env_file=".env", extra="ignore")

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


@lru_cache(maxsize=256)
def dlr_source_allowed(networks: tuple[IPv4Network | IPv6Network, ...], remote: str | None) -> bool:
    """True when `remote` (the caller's address) is inside one of `networks` (cached: a gateway calls
    from a handful of addresses)."""
    if remote is None:
        return False
    try:
        address = ip_address(remote)
    except ValueError:
        return False
    return any(address in n for n in networks)


@lru_cache
def warning_settings() -> WarningSettings:
    """The process-wide warning settings, read once."""
    return WarningSettings()
