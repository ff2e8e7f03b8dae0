"""ASGI entry point: `uvicorn pingan.web.main:app`."""

from pingan.core.logging import configure_logging
from pingan.core.settings import get_settings
from pingan.web.app import create_app

configure_logging(json=get_settings().log_json)
app = create_app()
