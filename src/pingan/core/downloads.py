"""Bulletin downloads (PDF, XLSX): the response that carries the file, and the audit entry that every
bulletin download records in the transaction that read its figures (`bulletin.export`: the bulletin,
its filters, the format, the rows counted and how far the reader's view reaches)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from fastapi.responses import Response
from sqlalchemy.orm import Session

from pingan.core import audit
from pingan.core.roles import Actor
from pingan.core.scoping import scope_of

BulletinFormat = Literal["pdf", "xlsx"]
BULLETIN_MEDIA: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def record_bulletin_export(
    session: Session,
    *,
    actor: Actor,
    object_id: str,
    filters: Mapping[str, Any],
    fmt: BulletinFormat,
    rows: int,
) -> None:
    """Audit one bulletin download. Caller holds the transaction in which the figures were read."""
    audit.record(
        session,
        actor=actor,
        action="bulletin.export",
        object_type="bulletin",
        object_id=object_id,
        detail={"filters": dict(filters), "format": fmt, "rows": rows, "scope": scope_of(actor)},
    )


def bulletin_response(content: bytes, fmt: BulletinFormat, filename: str) -> Response:
    """The file as a download named `filename` (with its extension)."""
    return Response(
        content,
        media_type=BULLETIN_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
