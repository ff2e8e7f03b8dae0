"""The menu and each role's landing page: every entry is shown only to the roles its page admits."""

from __future__ import annotations

from pingan.antifraud.mules.review.actions import REVIEWERS
from pingan.antifraud.reports.actions import REPORT_READERS, REPORT_WRITERS
from pingan.core.admin_pages import ADMINS
from pingan.core.audit_api import AUDIT_READERS
from pingan.core.pages import NavItem
from pingan.core.roles import ANTIFRAUD_STAFF, Role

HUMAN = frozenset(r for r in Role if r is not Role.SYSTEM)
ANTIFRAUD_DECIDERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR})

MENU = [
    NavItem("/antifraud", "反诈概览 Overview", ANTIFRAUD_STAFF),
    NavItem("/reports", "报案 Reports", REPORT_READERS),
    NavItem("/reports/new", "新报案 New report", REPORT_WRITERS & HUMAN),
    NavItem("/reports/import", "导入 Import", REPORT_WRITERS & HUMAN),
    NavItem("/orders", "止付 Orders", ANTIFRAUD_STAFF),
    NavItem("/findings", "认定 Findings", ANTIFRAUD_DECIDERS),
    NavItem("/risk/events", "预警 Risk", ANTIFRAUD_STAFF),
    NavItem("/warnings", "劝阻 Warnings", ANTIFRAUD_STAFF),
    NavItem("/mules/review", "涉诈账户 Mules", frozenset(REVIEWERS)),
    NavItem("/audit", "审计日志 Audit log", AUDIT_READERS),
    NavItem("/admin/users", "用户 Users", ADMINS),
]

# Where "/" sends each role: its daily work. A role with no page of its own yet gets none.
LANDING = {
    Role.ANTIFRAUD_ANALYST: "/antifraud",
    Role.SUPERVISOR: "/findings",
    Role.OFFICER: "/reports",
    Role.AUDITOR: "/audit",
    Role.ADMIN: "/admin/users",
}
