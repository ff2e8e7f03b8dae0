"""The names that pages show for codes and usernames: a station's name (玉林派出所) for its code, a
person's display name (李敏) for their username.

A page names many stations and officers, and its template has no database session at hand. The
bureau's few hundred names are read in one query each and kept in the process for a minute
(`NAMES_TTL_S`); a change made through this process (`do_upsert_station`, `do_add_user`) drops them
at once, and one made by another process shows within the minute. A code or username that nothing
has is shown as it is.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from pingan.core.db import get_engine, read_transaction

NAMES_TTL_S = 60.0


@dataclass
class _Names:
    engine: Engine | None = None
    loaded_at: float = float("-inf")
    stations: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)


_cache = _Names()
_lock = threading.Lock()


def _names() -> _Names:
    global _cache
    engine = get_engine()
    cached = _cache
    if cached.engine is engine and time.monotonic() - cached.loaded_at < NAMES_TTL_S:
        return cached
    from pingan.core.auth import User  # auth imports this module
    from pingan.core.org import Station  # org imports this module

    with _lock, read_transaction() as session:
        stations = {code: name for code, name in session.execute(select(Station.code, Station.name))}
        people = {u: d or u for u, d in session.execute(select(User.username, User.display_name))}
        _cache = _Names(engine, time.monotonic(), stations, people)
    return _cache


def station(code: str | None) -> str:
    """The station's name for its code ("" for none; the code itself where no station has it)."""
    if not code:
        return ""
    return _names().stations.get(code, code)


def person(username: str | None) -> str:
    """The person's display name for their username ("" for none; the username where no user has it)."""
    if not username:
        return ""
    return _names().people.get(username, username)


def forget() -> None:
    """Drop the names kept, so that the next page reads them again (after a station or user changes)."""
    global _cache
    _cache = _Names()
