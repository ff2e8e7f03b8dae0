"""Roles and the acting principal. Enumerations live in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class Role(StrEnum):
    """What a user may do. `system` is for the platform's own robots and cannot log in."""

    ADMIN = "admin"
    ANTIFRAUD_ANALYST = "antifraud_analyst"
    DISPATCHER = "dispatcher"
    TRAFFIC_POLICE = "traffic_police"  # 交警: the traffic police brigade (交警大队)
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    LEGAL_SUPERVISOR = "legal_supervisor"  # 法制员: the legal-supervision office that watches every case
    SYSTEM = "system"


register_labels(
    Role,
    {
        Role.ADMIN: N_("administrator"),
        Role.ANTIFRAUD_ANALYST: N_("anti-fraud analyst"),
        Role.DISPATCHER: N_("dispatcher"),
        Role.TRAFFIC_POLICE: N_("traffic police"),
        Role.OFFICER: N_("officer"),
        Role.SUPERVISOR: N_("supervisor"),
        Role.AUDITOR: N_("auditor"),
        Role.LEGAL_SUPERVISOR: N_("legal supervisor"),
        Role.SYSTEM: N_("platform robot"),
    },
)


HUMAN_ROLES = tuple(r for r in Role if r is not Role.SYSTEM)
# Roles whose work spans the district: the anti-fraud centre's analysts, the command centre's
# dispatchers (no anti-fraud route admits them), the supervisors who approve
# restrictions, the auditors, the legal-supervision office, and the platform's own robots. An officer works for one station (派出所)
# and sees its records only, unless granted the district-wide view (`User.district_wide`).
DISTRICT_WIDE_ROLES = frozenset(
    {
        Role.ANTIFRAUD_ANALYST,
        Role.SUPERVISOR,
        Role.AUDITOR,
        Role.DISPATCHER,
        Role.LEGAL_SUPERVISOR,
        Role.TRAFFIC_POLICE,
        Role.SYSTEM,
    }
)
# Who works the anti-fraud loop's queues and pages: the centre's analysts and supervisors, and the
# station officers who register reports and visit people at risk.
ANTIFRAUD_STAFF = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR, Role.OFFICER})


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user or a named platform robot."""

    username: str
    role: Role
    user_id: int | None = None
    station_code: str | None = None
    district_grant: bool = False
    # For pages only (the header, the language): not part of who the actor is, so not compared.
    display_name: str = field(default="", compare=False)
    station_name: str | None = field(default=None, compare=False)
    locale: str | None = field(default=None, compare=False)

    @property
    def district_wide(self) -> bool:
        """Whether this actor sees every station's records: by role, or by an officer's grant."""
        return self.role in DISTRICT_WIDE_ROLES or self.district_grant

    @property
    def by_grant(self) -> bool:
        """Whether the district-wide view comes from a grant rather than the role (its reads are audited as such)."""
        return self.district_grant and self.role not in DISTRICT_WIDE_ROLES

    def sees_station(self, station_code: str | None) -> bool:
        """Whether records of `station_code` are within this actor's view; an officer without a station sees none."""
        if self.district_wide:
            return True
        return self.station_code is not None and station_code == self.station_code

    @classmethod
    def system(cls, name: str) -> Actor:
        """A platform robot acting on its own (the stop-payment robot, an importer)."""
        return cls(username=name, role=Role.SYSTEM)
