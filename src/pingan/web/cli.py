"""`pingan serve`: the web server."""

from __future__ import annotations


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
) -> None:
    """Run the web server."""
    import uvicorn

    from pingan.antifraud.banks.directory import BANKS_BY_CODE
    from pingan.core.settings import get_settings

    get_settings().check_production_keys(bank_codes=BANKS_BY_CODE)
    uvicorn.run("pingan.web.main:app", host=host, port=port, reload=reload)
