"""The menu and each role's landing page: every entry is shown only to the roles its page admits.

Labels are msgids, shown in the request's language (`pages.nav_for`); a long menu folds into
`GROUPS` (`pages.menu_for`)."""

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
from pingan.supervision.callbacks import actions as callbacks_actions
from pingan.supervision.complaints import actions as complaints_actions
from pingan.supervision.directives import actions as directives_actions
from pingan.supervision.directives.pages import BULLETIN_READERS as DIRECTIVE_BULLETIN_READERS
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
    NavItem("/sensors/events", N_("Large events"), sensors_actions.READERS),
    NavItem("/sensors/dead-letters", N_("Refused messages"), sensors_actions.READERS),
    NavItem("/supervision", N_("Case supervision"), supervision_actions.CASE_READERS),
    NavItem("/supervision/cases/new", N_("Open a case"), supervision_actions.CASE_WRITERS & HUMAN),
    NavItem("/supervision/warnings", N_("Deadline warnings"), supervision_actions.CASE_READERS),
    NavItem("/supervision/rules", N_("Rule pack"), supervision_actions.CASE_READERS),
    NavItem("/supervision/property", N_("Seized property"), supervision_actions.CASE_READERS),
    NavItem("/supervision/leaderboard", N_("Quality leaderboard"), supervision_actions.CASE_READERS),
    NavItem("/supervision/approvals", N_("Approvals and appeals"), supervision_actions.CASE_READERS),
    NavItem("/complaints", N_("Complaints and petitions"), complaints_actions.READERS),
    NavItem("/complaints/new", N_("Register a complaint"), complaints_actions.INTAKE_ROLES & HUMAN),
    NavItem("/complaints/bulletin", N_("Complaints bulletin"), complaints_actions.READERS),
    NavItem("/callbacks", N_("110 call-backs"), callbacks_actions.READERS & HUMAN),
    NavItem("/directives", N_("Directives"), directives_actions.READERS),
    NavItem("/directives/new", N_("Issue a directive"), directives_actions.ISSUERS),
    NavItem("/directives/inbox", N_("Directive inbox"), directives_actions.ANSWERERS),
    NavItem("/directives/bulletin", N_("Directives bulletin"), DIRECTIVE_BULLETIN_READERS),
    NavItem("/narcotics", N_("Wastewater monitoring"), narcotics_actions.READERS),
    NavItem("/narcotics/canada", N_("Statistics Canada trends"), narcotics_actions.READERS),
    NavItem("/community", N_("Mediation"), community_actions.READERS),
    NavItem("/community/disputes/new", N_("Take in a dispute"), community_actions.MEDIATORS & HUMAN),
    NavItem("/community/wages", N_("Wage arrears"), community_actions.READERS),
    NavItem("/community/monthly", N_("Mediation figures"), community_actions.READERS),
    NavItem("/community/factors", N_("Risk factors"), community_actions.READERS),
    NavItem("/traffic", N_("Traffic accidents"), traffic_actions.READERS),
    NavItem("/traffic/blackspots", N_("Black spots"), traffic_actions.READERS),
    NavItem("/traffic/racing", N_("Street racing and loud exhausts"), traffic_actions.READERS),
    NavItem("/traffic/campaigns", N_("Enforcement campaigns"), traffic_actions.READERS),
    NavItem("/traffic/bulletin", N_("Monthly traffic bulletin"), traffic_actions.READERS),
    NavItem("/audit", N_("Audit log"), AUDIT_READERS),
    NavItem("/admin/users", N_("Users"), ADMINS),
]

# The menu's headings: an entry belongs to the first group whose path prefix it starts with.
GROUPS = [
    ("/antifraud", N_("Anti-fraud")),
    ("/reports", N_("Anti-fraud")),
    ("/orders", N_("Anti-fraud")),
    ("/findings", N_("Anti-fraud")),
    ("/risk", N_("Anti-fraud")),
    ("/warnings", N_("Anti-fraud")),
    ("/mules", N_("Anti-fraud")),
    ("/command", N_("Command")),
    ("/sensors", N_("Sensors")),
    ("/supervision", N_("Supervision")),
    ("/complaints", N_("Supervision")),
    ("/directives", N_("Supervision")),
    ("/callbacks", N_("Supervision")),
    ("/community", N_("Community policing")),
    ("/narcotics", N_("Community policing")),
    ("/traffic", N_("Traffic")),
    ("/audit", N_("Administration")),
    ("/admin", N_("Administration")),
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
