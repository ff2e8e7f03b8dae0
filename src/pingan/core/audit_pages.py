"""The audit log as pages, for the legal-supervision office (auditor role): the log with its filters
and the chain's verification (`/audit`), and the history of reveals of protected values
(`/audit/reveals`). Every read here is itself audited.

Times in the forms are the district's local time (`PINGAN_TIMEZONE`), as the pages show them; they
are turned into UTC before the query.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from pingan.core.audit import AuditEntry, ChainReport, verify_chain
from pingan.core.audit_api import AUDIT_READERS, MAX_ID, AuditFilter, do_list_entries, do_list_reveals
from pingan.core.deps import DbSession, require_roles
from pingan.core.errors import Invalid
from pingan.core.i18n import _
from pingan.core.pages import district_zone, render
from pingan.core.roles import Actor

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Actor, Depends(require_roles(*AUDIT_READERS))]
PAGE = 100
Short = Annotated[str, Query(max_length=64)]
LocalTime = Annotated[str, Query(max_length=32, description="district local time, YYYY-MM-DDTHH:MM")]


def local_to_utc(value: str, field: str) -> datetime | None:
    """A time typed in the district's zone (`2026-12-06T10:41`, or a date alone) as UTC; blank is None."""
    if not value.strip():
        return None
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(_("Give a date and time such as 2026-12-06 10:41."), field=field) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=district_zone())
    return local.astimezone(UTC)


def _filters(who: str, since: str, until: str, **exact: str) -> tuple[AuditFilter, dict[str, str]]:
    """The filter for the query and the field errors of the form (the time fields can be mistyped)."""
    errors: dict[str, str] = {}
    bounds: dict[str, datetime | None] = {}
    for name, raw in (("since", since), ("until", until)):
        try:
            bounds[name] = local_to_utc(raw, name)
        except Invalid as exc:
            errors[name], bounds[name] = exc.message, None
    if bounds["since"] and bounds["until"] and bounds["until"] <= bounds["since"]:
        errors["until"] = _("The end of the range comes after its start.")
    given = {k: (v or None) for k, v in exact.items()}
    f = AuditFilter(
        who or None,
        given.get("action"),
        given.get("object_type"),
        given.get("object_id"),
        bounds["since"],
        bounds["until"],
    )
    return f, errors


def _detail(entry: AuditEntry) -> dict[str, Any]:
    try:
        detail = json.loads(entry.detail)
    except ValueError:
        return {"detail": entry.detail}
    return detail if isinstance(detail, dict) else {"detail": detail}


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    actor: Auditor,
    who: Short = "",
    action: Short = "",
    object_type: Short = "",
    object_id: Short = "",
    since: LocalTime = "",
    until: LocalTime = "",
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    verify: bool = False,
) -> HTMLResponse:
    """Entries matching the filters, oldest first, a page at a time; and, when asked, the chain's
    verification: how many entries were checked, and whether it holds or where it breaks."""
    f, errors = _filters(who, since, until, action=action, object_type=object_type, object_id=object_id)
    raw = {
        "who": who, "action": action, "object_type": object_type, "object_id": object_id,
        "since": since, "until": until,
    }  # fmt: skip
    rows: list[AuditEntry] = []
    if not errors:
        with session.begin():
            rows = do_list_entries(session, f, actor=actor, after_id=after_id, limit=PAGE)
    chain: ChainReport | None = None
    if verify:
        with session.begin():
            chain = verify_chain(session)
    return render(
        request,
        "audit.html",
        422 if errors else 200,
        rows=rows,
        f=raw,
        errors=errors,
        next_after_id=rows[-1].id if len(rows) == PAGE else None,
        chain=chain,
    )


@router.get("/audit/reveals", response_class=HTMLResponse)
def reveals_page(
    request: Request,
    session: DbSession,
    actor: Auditor,
    who: Short = "",
    since: LocalTime = "",
    until: LocalTime = "",
    before_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HTMLResponse:
    """Who revealed which protected value, when, and for which purpose; newest first, a page at a time."""
    f, errors = _filters(who, since, until)
    rows: list[AuditEntry] = []
    if not errors:
        with session.begin():
            rows = do_list_reveals(session, f, actor=actor, after_id=before_id, limit=PAGE)
    reveals = [(e, _detail(e)) for e in rows]
    return render(
        request,
        "audit_reveals.html",
        422 if errors else 200,
        reveals=reveals,
        f={"who": who, "since": since, "until": until},
        errors=errors,
        next_before_id=rows[-1].id if len(rows) == PAGE else None,
    )
