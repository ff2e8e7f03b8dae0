"""FastAPI dependencies shared by every router, defined once.

Role guards are built where the roles are decided: a package's `actions` (or `choices`) names its role
sets as frozensets, and its routers guard with `Annotated[Actor, Depends(require_roles(*READERS))]`, so
the set that `check_*` enforces and the set the router admits cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from pingan.core.auth import require_roles
from pingan.core.db import session_dependency
from pingan.core.pages import csrf_protect
from pingan.core.schemas import MAX_ROW_ID

DbSession = Annotated[Session, Depends(session_dependency)]
# Every HTML form post declares this parameter; a test enumerates the page routes to hold it so.
CsrfChecked = Annotated[None, Depends(csrf_protect)]

__all__ = ["MAX_ROW_ID", "CsrfChecked", "DbSession", "require_roles"]
