"""Station scoping (辖区) of reads, and the audit entry of every list of personal data read.

An officer sees the reports, warnings and home visits of their own station (派出所). Analysts,
supervisors and auditors see the district by role; an officer sees it only with the district-wide grant
(`pingan users grant-district`). A single record of another station is NotFound, not Forbidden, so
that an officer cannot learn that it exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import Session

from pingan.core import audit
from pingan.core.errors import NotFound
from pingan.core.roles import Actor

NO_STATION_MESSAGE = (
    "您的账户未分配派出所，无法查看数据 your account has no station: ask an admin to assign one"
)


def station_condition(actor: Actor, column: ColumnElement[str] | Any) -> ColumnElement[bool]:
    """The WHERE condition that keeps the rows of `column`'s station within `actor`'s view."""
    if actor.district_wide:
        return true()
    if actor.station_code is None:
        return false()
    condition: ColumnElement[bool] = column == actor.station_code
    return condition


def check_station(actor: Actor, station_code: str | None, *, what: str) -> None:
    """NotFound (naming `what`, as for a missing record) unless `station_code` is within `actor`'s view."""
    if not actor.sees_station(station_code):
        raise NotFound(f"no {what}", field="id")


def scope_of(actor: Actor) -> str:
    """How far `actor`'s reads reach, as the audit log records it."""
    if actor.by_grant:
        return "district_grant"
    if actor.district_wide:
        return "district"
    return f"station:{actor.station_code}" if actor.station_code else "none"


def no_station(actor: Actor) -> bool:
    """Whether `actor` is a station-bound user without a station: they see nothing."""
    return not actor.district_wide and actor.station_code is None


def record_list_read(
    session: Session, *, actor: Actor, listing: str, filters: dict[str, Any], count: int
) -> None:
    """Audit one read of a list of personal data: who, which list, with which filters, how many rows,
    and how far the reader's view reaches (a district-wide read by grant says so). Caller holds the
    read's transaction."""
    audit.record(
        session,
        actor=actor,
        action=f"{listing}.list",
        object_type=listing,
        object_id="list",
        detail={
            "filters": {k: v for k, v in filters.items() if v not in (None, "")},
            "returned": count,
            "scope": scope_of(actor),
        },
    )
