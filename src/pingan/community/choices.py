"""Statuses and kinds of community mediation: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class DisputeType(StrEnum):
    """What a dispute (矛盾纠纷) is about."""

    NEIGHBOURS = "neighbours"  # 邻里纠纷
    FAMILY = "family"  # 家庭纠纷
    MARRIAGE = "marriage"  # 婚恋纠纷
    WAGE_ARREARS = "wage_arrears"  # 劳资纠纷 (欠薪)
    CONSUMER = "consumer"  # 消费纠纷
    PROPERTY_MANAGEMENT = "property_management"  # 物业纠纷
    TRAFFIC = "traffic"  # 交通事故纠纷


class DisputeStatus(StrEnum):
    """Where a dispute stands. `agreed` and `failed` end the mediation; `escalated` means it went to
    the criminal track (民转刑), which the bureau's target says must never happen."""

    OPEN = "open"  # 受理, being mediated
    AGREED = "agreed"  # 调解成功, an agreement signed
    FAILED = "failed"  # 调解不成, referred to litigation or arbitration
    ESCALATED = "escalated"  # 民转刑


class Mediator(StrEnum):
    """The four parties of 四方联动, each of which names a mediator for a dispute."""

    STATION = "station"  # 派出所
    JUDICIAL_OFFICE = "judicial_office"  # 司法所
    LAWYER = "lawyer"  # 律师
    COMMUNITY = "community"  # 社区 (居委会/村委会)


class PartyRole(StrEnum):
    """Which side of a dispute a party is on."""

    APPLICANT = "applicant"  # 申请人
    RESPONDENT = "respondent"  # 被申请人


class Grade(StrEnum):
    """The grid-management risk grade: red is the highest."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"


class ClockKind(StrEnum):
    """The deadlines a dispute runs against (`rules.clocks`)."""

    MEDIATION = "mediation"  # mediation finished within a month of intake
    FOLLOW_UP = "follow_up"  # a follow-up visit after the agreement
    CONFIRMATION = "confirmation"  # judicial confirmation applied for within 30 days of the agreement
    DV_WARNING = "dv_warning"  # a written warning (告诫书) in a domestic-violence case
    PROTECTION_ORDER = "protection_order"  # the court's decision on a protection order


class ClockState(StrEnum):
    """How a clock stands now."""

    RUNNING = "running"
    WARNING = "warning"  # inside the warning lead before its deadline
    BREACHED = "breached"  # past its deadline, not met
    MET = "met"
    LAPSED = "lapsed"  # a window of the parties (judicial confirmation) closed unused: no duty missed


class EventKind(StrEnum):
    """The steps of a dispute's timeline, appended and never changed."""

    TAKEN_IN = "taken_in"
    GRADED = "graded"
    REPEAT_FOUND = "repeat_found"
    TASK_CREATED = "task_created"
    AGREED = "agreed"
    FAILED = "failed"
    ESCALATED = "escalated"
    FOLLOW_UP_VISIT = "follow_up_visit"
    CONFIRMATION_APPLIED = "confirmation_applied"
    DV_WARNING_ISSUED = "dv_warning_issued"
    PROTECTION_ORDER_APPLIED = "protection_order_applied"
    PROTECTION_ORDER_DECIDED = "protection_order_decided"
    RECOVERED = "recovered"
    CLOCK_BREACHED = "clock_breached"


class TaskKind(StrEnum):
    """Work the station must do for a dispute."""

    HOME_VISIT = "home_visit"  # a red grade: visit the home within hours
    ART25_NOTIFICATION = "art25_notification"  # report the risk of violence (人民调解法 art. 25)


class RiskFactor(StrEnum):
    """The factors of the risk grader; `factors.toml` gives each its weight and source."""

    THREATS = "threats"
    VIOLENCE_HISTORY = "violence_history"
    WEAPONS = "weapons"
    ALCOHOL_OR_DRUGS = "alcohol_or_drugs"
    SEPARATION = "separation"
    ECONOMIC_STRESS = "economic_stress"
    VULNERABLE_PARTY = "vulnerable_party"
    REPEATED_CALLS = "repeated_calls"
    REPEAT_COUNT = "repeat_count"


class LinkReason(StrEnum):
    """Why a dispute is linked to an earlier one."""

    SAME_PARTY = "same_party"
    SAME_ADDRESS = "same_address"
    GIVEN = "given"  # named by the mediator at intake


register_labels(
    RiskFactor,
    {
        RiskFactor.THREATS: N_("threats"),
        RiskFactor.VIOLENCE_HISTORY: N_("history of violence"),
        RiskFactor.WEAPONS: N_("weapons"),
        RiskFactor.ALCOHOL_OR_DRUGS: N_("alcohol or drugs"),
        RiskFactor.SEPARATION: N_("separation"),
        RiskFactor.ECONOMIC_STRESS: N_("economic stress (wage arrears)"),
        RiskFactor.VULNERABLE_PARTY: N_("vulnerable party"),
        RiskFactor.REPEATED_CALLS: N_("repeated 110 calls"),
        RiskFactor.REPEAT_COUNT: N_("earlier disputes"),
    },
)
register_labels(
    LinkReason,
    {
        LinkReason.SAME_PARTY: N_("same party"),
        LinkReason.SAME_ADDRESS: N_("same address"),
        LinkReason.GIVEN: N_("named at intake"),
    },
)
register_labels(
    DisputeType,
    {
        DisputeType.NEIGHBOURS: N_("neighbours"),
        DisputeType.FAMILY: N_("family"),
        DisputeType.MARRIAGE: N_("marriage and relationship"),
        DisputeType.WAGE_ARREARS: N_("wage arrears"),
        DisputeType.CONSUMER: N_("consumer"),
        DisputeType.PROPERTY_MANAGEMENT: N_("property management"),
        DisputeType.TRAFFIC: N_("traffic accident"),
    },
)
register_labels(
    DisputeStatus,
    {
        DisputeStatus.OPEN: N_("being mediated"),
        DisputeStatus.AGREED: N_("agreement reached"),
        DisputeStatus.FAILED: N_("mediation failed"),
        DisputeStatus.ESCALATED: N_("escalated to the criminal track"),
    },
)
register_labels(
    Mediator,
    {
        Mediator.STATION: N_("police station"),
        Mediator.JUDICIAL_OFFICE: N_("judicial office"),
        Mediator.LAWYER: N_("lawyer"),
        Mediator.COMMUNITY: N_("community"),
    },
)
register_labels(PartyRole, {PartyRole.APPLICANT: N_("applicant"), PartyRole.RESPONDENT: N_("respondent")})
register_labels(
    Grade,
    {Grade.RED: N_("red"), Grade.ORANGE: N_("orange"), Grade.YELLOW: N_("yellow"), Grade.BLUE: N_("blue")},
)
register_labels(
    ClockKind,
    {
        ClockKind.MEDIATION: N_("mediation within a month"),
        ClockKind.FOLLOW_UP: N_("follow-up visit"),
        ClockKind.CONFIRMATION: N_("judicial confirmation window"),
        ClockKind.DV_WARNING: N_("written warning"),
        ClockKind.PROTECTION_ORDER: N_("protection order decision"),
    },
)
register_labels(
    ClockState,
    {
        ClockState.RUNNING: N_("running"),
        ClockState.WARNING: N_("due soon"),
        ClockState.BREACHED: N_("breached"),
        ClockState.MET: N_("met"),
        ClockState.LAPSED: N_("window closed"),
    },
)
register_labels(
    EventKind,
    {
        EventKind.TAKEN_IN: N_("taken in"),
        EventKind.GRADED: N_("risk graded"),
        EventKind.REPEAT_FOUND: N_("earlier dispute found"),
        EventKind.TASK_CREATED: N_("station task created"),
        EventKind.AGREED: N_("agreement signed"),
        EventKind.FAILED: N_("mediation failed"),
        EventKind.ESCALATED: N_("escalated to the criminal track"),
        EventKind.FOLLOW_UP_VISIT: N_("follow-up visit made"),
        EventKind.CONFIRMATION_APPLIED: N_("judicial confirmation applied for"),
        EventKind.DV_WARNING_ISSUED: N_("written warning issued"),
        EventKind.PROTECTION_ORDER_APPLIED: N_("protection order applied for"),
        EventKind.PROTECTION_ORDER_DECIDED: N_("protection order decided"),
        EventKind.RECOVERED: N_("wages recovered"),
        EventKind.CLOCK_BREACHED: N_("deadline breached"),
    },
)
register_labels(
    TaskKind,
    {
        TaskKind.HOME_VISIT: N_("home visit within hours"),
        TaskKind.ART25_NOTIFICATION: N_("risk report (Mediation Law art. 25)"),
    },
)
