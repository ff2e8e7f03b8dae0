"""The audit log as a page, for the legal-supervision office (auditor role): filter, page, verify."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from pingan.core.audit import verify_chain
from pingan.core.audit_api import AUDIT_READERS, MAX_ID, AuditFilter, do_list_entries
from pingan.core.deps import DbSession, require_roles
from pingan.core.pages import render
from pingan.core.roles import Actor

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Actor, Depends(require_roles(*AUDIT_READERS))]
PAGE = 100


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    actor: Auditor,
    who: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    object_type: Annotated[str, Query(max_length=64)] = "",
    object_id: Annotated[str, Query(max_length=64)] = "",
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    verify: bool = False,
) -> HTMLResponse:
    """Entries matching the filters, oldest first, a page at a time; optionally the chain's verification."""
    f = AuditFilter(who or None, action or None, object_type or None, object_id or None)
    with session.begin():
        rows = do_list_entries(session, f, actor=actor, after_id=after_id, limit=PAGE)
    chain = verify_chain(session) if verify else None
    raw = {"who": who, "action": action, "object_type": object_type, "object_id": object_id}
    return render(
        request,
        "audit.html",
        rows=rows,
        f=raw,
        next_after_id=rows[-1].id if len(rows) == PAGE else None,
        chain=chain,
    )
