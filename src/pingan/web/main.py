"""ASGI entry point: `uvicorn pingan.web.main:app`. Refuses the public demo keys outside demo mode."""

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.core.logging import configure_logging
from pingan.core.settings import get_settings
from pingan.web.app import create_app

_settings = get_settings()
# Checked here, not only in `pingan serve`, so that any ASGI server started on this module refuses too.
_settings.check_production_keys(bank_codes=BANKS_BY_CODE)
configure_logging(json=_settings.log_json)
app = create_app()
