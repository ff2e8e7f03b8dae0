"""A real pingan server process and a real headless Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import serve


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`pingan serve` on a fresh SQLite file, seeded with the demo stations and users."""
    with serve(tmp_path_factory.mktemp("live")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium_browser: Any) -> Any:
    return chromium_browser
