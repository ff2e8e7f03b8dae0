"""Roles and the acting principal. Enumerations live in one place."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a user may do. `system` is for the platform's own robots and cannot log in."""

    ADMIN = "admin"
    ANTIFRAUD_ANALYST = "antifraud_analyst"
    DISPATCHER = "dispatcher"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    SYSTEM = "system"


HUMAN_ROLES = tuple(r for r in Role if r is not Role.SYSTEM)
# Who works the anti-fraud loop's queues and pages: the centre's analysts and supervisors, and the
# station officers who register reports and visit people at risk.
ANTIFRAUD_STAFF = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR, Role.OFFICER})


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user or a named platform robot."""

    username: str
    role: Role
    user_id: int | None = None

    @classmethod
    def system(cls, name: str) -> Actor:
        """A platform robot acting on its own (the stop-payment robot, an importer)."""
        return cls(username=name, role=Role.SYSTEM)
