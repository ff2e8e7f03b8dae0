"""Statuses and kinds of complaints and petitions (信访投诉): what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class Channel(StrEnum):
    """How a complaint reached the bureau."""

    COUNTER = "counter"  # 窗口/来访
    HOTLINE_12345 = "hotline_12345"  # 12345 政务服务便民热线转办
    LETTER = "letter"  # 来信
    WEB = "web"  # 网上信访
    CALLBACK_110 = "callback_110"  # 110 回访不满意


class SubjectKind(StrEnum):
    """What a complaint is about: an officer, a unit (a station), a 110 incident or a case."""

    OFFICER = "officer"
    UNIT = "unit"
    INCIDENT = "incident"
    CASE = "case"


class ComplaintStatus(StrEnum):
    """Where a complaint stands."""

    RECEIVED = "received"  # 登记, awaiting the decision to accept
    ACCEPTED = "accepted"  # 受理, being handled
    NOT_ACCEPTED = "not_accepted"  # 不予受理, with a written notice
    ANSWERED = "answered"  # 书面答复 given
    UNDER_REVIEW = "under_review"  # 复查 requested
    CLOSED = "closed"  # review decided, or the review window passed


class StepKind(StrEnum):
    """The steps of a complaint's timeline; the clocks of the rule pack read them."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    ASSIGNED = "assigned"
    NOTE = "note"
    FINDING = "finding"
    EXTENSION = "extension"
    ANSWERED = "answered"
    CALLBACK = "callback"
    REVIEW_REQUESTED = "review_requested"
    REVIEW_DECIDED = "review_decided"


class Finding(StrEnum):
    """What the investigation found."""

    SUBSTANTIATED = "substantiated"  # 属实
    PARTLY = "partly"  # 部分属实
    NOT_SUBSTANTIATED = "not_substantiated"  # 不属实


class RootCause(StrEnum):
    """Why the matter arose (根源), coded so that lessons can be counted."""

    ATTITUDE = "attitude"  # 服务态度
    DELAY = "delay"  # 拖延
    PROCEDURE = "procedure"  # 程序不规范
    LAW_APPLICATION = "law_application"  # 适用法律错误
    OUTSIDE_REMIT = "outside_remit"  # 非公安职能


class CallbackResult(StrEnum):
    """The complainant's answer to the satisfaction call-back (回访)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    UNREACHABLE = "unreachable"  # not counted in the score


class LinkReason(StrEnum):
    """Why two complaints are linked as repeats or duplicates."""

    SAME_COMPLAINANT = "same_complainant"  # 同一信访人 (by pseudonym)
    SAME_MATTER = "same_matter"  # 同一事项: same subject and similar text


class ReviewOutcome(StrEnum):
    """The review's decision on the answer (复查意见)."""

    UPHELD = "upheld"
    REVISED = "revised"


register_labels(
    Channel,
    {
        Channel.COUNTER: N_("counter visit"),
        Channel.HOTLINE_12345: N_("12345 hotline transfer"),
        Channel.LETTER: N_("letter"),
        Channel.WEB: N_("web"),
        Channel.CALLBACK_110: N_("110 call-back dissatisfaction"),
    },
)
register_labels(
    SubjectKind,
    {
        SubjectKind.OFFICER: N_("officer"),
        SubjectKind.UNIT: N_("unit"),
        SubjectKind.INCIDENT: N_("110 incident"),
        SubjectKind.CASE: N_("case"),
    },
)
register_labels(
    ComplaintStatus,
    {
        ComplaintStatus.RECEIVED: N_("received"),
        ComplaintStatus.ACCEPTED: N_("accepted"),
        ComplaintStatus.NOT_ACCEPTED: N_("not accepted"),
        ComplaintStatus.ANSWERED: N_("answered"),
        ComplaintStatus.UNDER_REVIEW: N_("under review"),
        ComplaintStatus.CLOSED: N_("closed"),
    },
)
register_labels(
    StepKind,
    {
        StepKind.RECEIVED: N_("received"),
        StepKind.ACCEPTED: N_("accepted"),
        StepKind.NOT_ACCEPTED: N_("not accepted"),
        StepKind.ASSIGNED: N_("assigned to a unit"),
        StepKind.NOTE: N_("investigation note"),
        StepKind.FINDING: N_("finding"),
        StepKind.EXTENSION: N_("handling period extended"),
        StepKind.ANSWERED: N_("written answer"),
        StepKind.CALLBACK: N_("satisfaction call-back"),
        StepKind.REVIEW_REQUESTED: N_("review requested"),
        StepKind.REVIEW_DECIDED: N_("review decided"),
    },
)
register_labels(
    Finding,
    {
        Finding.SUBSTANTIATED: N_("substantiated"),
        Finding.PARTLY: N_("partly substantiated"),
        Finding.NOT_SUBSTANTIATED: N_("not substantiated"),
    },
)
register_labels(
    RootCause,
    {
        RootCause.ATTITUDE: N_("attitude"),
        RootCause.DELAY: N_("delay"),
        RootCause.PROCEDURE: N_("procedure"),
        RootCause.LAW_APPLICATION: N_("application of the law"),
        RootCause.OUTSIDE_REMIT: N_("outside police remit"),
    },
)
register_labels(
    CallbackResult,
    {
        CallbackResult.SATISFIED: N_("satisfied"),
        CallbackResult.BASICALLY_SATISFIED: N_("basically satisfied"),
        CallbackResult.DISSATISFIED: N_("dissatisfied"),
        CallbackResult.UNREACHABLE: N_("unreachable"),
    },
)
register_labels(
    LinkReason,
    {LinkReason.SAME_COMPLAINANT: N_("same complainant"), LinkReason.SAME_MATTER: N_("same matter")},
)
register_labels(
    ReviewOutcome, {ReviewOutcome.UPHELD: N_("answer upheld"), ReviewOutcome.REVISED: N_("answer revised")}
)
