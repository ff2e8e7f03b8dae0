"""The menu and each role's landing page: every entry is shown only to the roles its page admits.

Labels are msgids, shown in the request's language (`pages.nav_for`)."""

from __future__ import annotations

from pingan.antifraud.mules.review.actions import REVIEWERS
from pingan.antifraud.reports.actions import REPORT_READERS, REPORT_WRITERS
from pingan.command import actions as command_actions
from pingan.community import actions as community_actions
from pingan.core.admin_pages import ADMINS
from pingan.core.audit_api import AUDIT_READERS
from pingan.core.i18n import N_
from pingan.core.pages import NavItem
from pingan.core.roles import ANTIFRAUD_STAFF, Role
from pingan.narcotics import actions as narcotics_actions
from pingan.sensors import actions as sensors_actions
from pingan.supervision import actions as supervision_actions
from pingan.traffic import actions as traffic_actions

HUMAN = frozenset(r for r in Role if r is not Role.SYSTEM)
ANTIFRAUD_DECIDERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR})

MENU = [
    NavItem("/antifraud", N_("Anti-fraud overview"), ANTIFRAUD_STAFF),
    NavItem("/reports", N_("Reports"), REPORT_READERS),
    NavItem("/reports/new", N_("New report"), REPORT_WRITERS & HUMAN),
    NavItem("/reports/import", N_("Import"), REPORT_WRITERS & HUMAN),
    NavItem("/orders", N_("Orders"), ANTIFRAUD_STAFF),
    NavItem("/findings", N_("Findings"), ANTIFRAUD_DECIDERS),
    NavItem("/risk/events", N_("Risk events"), ANTIFRAUD_STAFF),
    NavItem("/warnings", N_("Warnings"), ANTIFRAUD_STAFF),
    NavItem("/mules/review", N_("Mule accounts"), frozenset(REVIEWERS)),
    NavItem("/command", N_("Command"), command_actions.READERS),
    NavItem("/command/calls/new", N_("Take a call"), command_actions.CALL_TAKERS & HUMAN),
    NavItem("/command/units", N_("Units"), command_actions.READERS),
    NavItem("/command/map", N_("Live map"), command_actions.READERS),
    NavItem("/command/stats", N_("Statistics"), command_actions.READERS),
    NavItem("/command/bulletin", N_("Weekly bulletin"), command_actions.READERS),
    NavItem("/sensors", N_("Sensors"), sensors_actions.READERS),
    NavItem("/sensors/alerts", N_("Officer safety"), sensors_actions.READERS),
    NavItem("/sensors/dead-letters", N_("Refused messages"), sensors_actions.READERS),
    NavItem("/supervision", N_("Case supervision"), supervision_actions.CASE_READERS),
    NavItem("/supervision/cases/new", N_("Open a case"), supervision_actions.CASE_WRITERS & HUMAN),
    NavItem("/supervision/warnings", N_("Deadline warnings"), supervision_actions.CASE_READERS),
    NavItem("/supervision/rules", N_("Rule pack"), supervision_actions.CASE_READERS),
    NavItem("/supervision/property", N_("Seized property"), supervision_actions.CASE_READERS),
    NavItem("/supervision/leaderboard", N_("Quality leaderboard"), supervision_actions.CASE_READERS),
    NavItem("/narcotics", N_("Wastewater monitoring"), narcotics_actions.READERS),
    NavItem("/narcotics/canada", N_("Statistics Canada trends"), narcotics_actions.READERS),
    NavItem("/community", N_("Mediation"), community_actions.READERS),
    NavItem("/community/disputes/new", N_("Take in a dispute"), community_actions.MEDIATORS & HUMAN),
    NavItem("/community/wages", N_("Wage arrears"), community_actions.READERS),
    NavItem("/community/monthly", N_("Mediation figures"), community_actions.READERS),
    NavItem("/community/factors", N_("Risk factors"), community_actions.READERS),
    NavItem("/traffic", N_("Traffic accidents"), traffic_actions.READERS),
    NavItem("/traffic/blackspots", N_("Black spots"), traffic_actions.READERS),
    NavItem("/traffic/bulletin", N_("Monthly traffic bulletin"), traffic_actions.READERS),
    NavItem("/audit", N_("Audit log"), AUDIT_READERS),
    NavItem("/admin/users", N_("Users"), ADMINS),
]

# Where "/" sends each role: its daily work. A role with no page of its own yet gets none.
LANDING = {
    Role.ANTIFRAUD_ANALYST: "/antifraud",
    Role.SUPERVISOR: "/findings",
    Role.OFFICER: "/reports",
    Role.DISPATCHER: "/command",
    Role.TRAFFIC_POLICE: "/traffic",
    Role.AUDITOR: "/audit",
    Role.LEGAL_SUPERVISOR: "/supervision",
    Role.ADMIN: "/admin/users",
}
