"""The menu and each role's landing page: every entry is shown only to the roles its page admits."""

from __future__ import annotations

from pingan.antifraud.mules.review.actions import REVIEWERS
from pingan.antifraud.reports.actions import REPORT_READERS, REPORT_WRITERS
from pingan.command import actions as command_actions
from pingan.core.admin_pages import ADMINS
from pingan.core.audit_api import AUDIT_READERS
from pingan.core.i18n import N_
from pingan.core.pages import NavItem
from pingan.core.roles import ANTIFRAUD_STAFF, Role

HUMAN = frozenset(r for r in Role if r is not Role.SYSTEM)
ANTIFRAUD_DECIDERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR})

MENU = [
    NavItem("/antifraud", "反诈概览 Overview", ANTIFRAUD_STAFF),
    NavItem("/reports", "报案 Reports", REPORT_READERS),
    NavItem("/reports/import", "导入 Import", REPORT_WRITERS & HUMAN),
    NavItem("/orders", "止付 Orders", ANTIFRAUD_STAFF),
    NavItem("/findings", "认定 Findings", ANTIFRAUD_DECIDERS),
    NavItem("/risk/events", "预警 Risk", ANTIFRAUD_STAFF),
    NavItem("/warnings", "劝阻 Warnings", ANTIFRAUD_STAFF),
    NavItem("/mules/review", "涉诈账户 Mules", frozenset(REVIEWERS)),
    NavItem("/command", N_("指挥调度 Command"), command_actions.READERS),
    NavItem("/command/calls/new", N_("接警 Take a call"), command_actions.CALL_TAKERS & HUMAN),
    NavItem("/command/units", N_("警力 Units"), command_actions.READERS),
    NavItem("/command/bulletin", N_("周通报 Bulletin"), command_actions.READERS),
    NavItem("/audit", "审计日志 Audit log", AUDIT_READERS),
    NavItem("/admin/users", "用户 Users", ADMINS),
]

# Where "/" sends each role: its daily work. A role with no page of its own yet gets none.
LANDING = {
    Role.ANTIFRAUD_ANALYST: "/antifraud",
    Role.SUPERVISOR: "/findings",
    Role.OFFICER: "/reports",
    Role.DISPATCHER: "/command",
    Role.AUDITOR: "/audit",
    Role.ADMIN: "/admin/users",
}
