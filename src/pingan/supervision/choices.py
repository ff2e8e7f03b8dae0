"""Statuses and kinds of law-enforcement supervision: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class CaseKind(StrEnum):
    """Which procedure a case follows: the Criminal Procedure Law or the Public Security Administration
    Punishments Law."""

    CRIMINAL = "criminal"  # 刑事案件
    ADMINISTRATIVE = "administrative"  # 行政（治安）案件


class CaseStatus(StrEnum):
    """Whether a case is still being handled."""

    OPEN = "open"
    CLOSED = "closed"


class PartyRole(StrEnum):
    """How a person takes part in a case."""

    SUSPECT = "suspect"  # 犯罪嫌疑人 / 违法行为人
    VICTIM = "victim"  # 被害人
    WITNESS = "witness"  # 证人


class EventKind(StrEnum):
    """The steps of a case's log, from which the rule pack computes its deadlines.

    The measures (措施) come first; then the steps that satisfy or end them.
    """

    CASE_OPENED = "case_opened"  # 受案 / 立案
    SUMMONS = "summons"  # 传唤
    QUESTIONING_STARTED = "questioning_started"  # 询问查证 begins
    QUESTIONING_ENDED = "questioning_ended"
    DETENTION = "detention"  # 刑事拘留
    FAMILY_NOTIFIED = "family_notified"  # 通知家属
    ARREST_REQUESTED = "arrest_requested"  # 提请批准逮捕
    ARREST_DECIDED = "arrest_decided"  # 检察院批准或不批准逮捕
    ARREST = "arrest"  # 逮捕
    BAIL = "bail"  # 取保候审
    BAIL_ENDED = "bail_ended"
    RESIDENTIAL_SURVEILLANCE = "residential_surveillance"  # 监视居住
    SURVEILLANCE_ENDED = "surveillance_ended"
    RELEASED = "released"  # 释放: the person leaves custody
    SEIZURE = "seizure"  # 查封、扣押
    PROPERTY_REGISTERED = "property_registered"  # 涉案财物登记入库
    PROPERTY_FOUND_UNRELATED = "property_found_unrelated"  # 经查明与案件无关
    SEIZURE_LIFTED = "seizure_lifted"  # 解除查封、扣押, property returned
    EXTENSION = "extension"  # 延长: approved extension of a running deadline
    TRANSFER_FOR_PROSECUTION = "transfer_for_prosecution"  # 移送审查起诉
    CASE_DECIDED = "case_decided"  # 治安案件作出处理决定
    CASE_CLOSED = "case_closed"  # 结案 / 撤案


# The measures (措施) an officer records, each with its start time and, where the law wants one, its approval.
MEASURES = frozenset(
    {
        EventKind.SUMMONS,
        EventKind.QUESTIONING_STARTED,
        EventKind.DETENTION,
        EventKind.ARREST_REQUESTED,
        EventKind.ARREST,
        EventKind.BAIL,
        EventKind.RESIDENTIAL_SURVEILLANCE,
        EventKind.SEIZURE,
        EventKind.TRANSFER_FOR_PROSECUTION,
    }
)


class Calendar(StrEnum):
    """How a deadline's duration is counted (CPL art. 105: the starting hour and day are not counted)."""

    HOURS = "hours"  # exact: start + n hours
    DAYS = "days"  # from the next day: ends at 24:00 Beijing time of the n-th day after the start day
    MONTHS = "months"  # from the next day: ends at 24:00 of the same date n months on (month end if none)


class Severity(StrEnum):
    """How grave missing a deadline is."""

    CRITICAL = "critical"  # unlawful custody or questioning beyond its limit
    MAJOR = "major"  # a procedural deadline missed
    MINOR = "minor"  # a registration or paperwork deadline missed


class DeadlineStatus(StrEnum):
    """Where a deadline stands at the evaluation time."""

    RUNNING = "running"  # not yet within its warning lead time
    WARNING = "warning"  # within its warning lead time, not yet met
    MET = "met"  # satisfied on time
    BREACHED = "breached"  # passed without being met, or met late


class Approver(StrEnum):
    """Who may approve an extension of a deadline."""

    COUNTY_BUREAU_HEAD = "county_bureau_head"  # 县级以上公安机关负责人
    HIGHER_BUREAU = "higher_bureau"  # 上一级公安机关
    HIGHER_PROCURATORATE = "higher_procuratorate"  # 上一级人民检察院
    PROVINCIAL_PROCURATORATE = "provincial_procuratorate"  # 省级人民检察院
    AGENCY_HEAD = "agency_head"  # 行政机关负责人


register_labels(CaseKind, {CaseKind.CRIMINAL: N_("criminal"), CaseKind.ADMINISTRATIVE: N_("administrative")})
register_labels(CaseStatus, {CaseStatus.OPEN: N_("open"), CaseStatus.CLOSED: N_("closed")})
register_labels(
    PartyRole,
    {PartyRole.SUSPECT: N_("suspect"), PartyRole.VICTIM: N_("victim"), PartyRole.WITNESS: N_("witness")},
)
register_labels(
    EventKind,
    {
        EventKind.CASE_OPENED: N_("case opened"),
        EventKind.SUMMONS: N_("summons"),
        EventKind.QUESTIONING_STARTED: N_("questioning started"),
        EventKind.QUESTIONING_ENDED: N_("questioning ended"),
        EventKind.DETENTION: N_("criminal detention"),
        EventKind.FAMILY_NOTIFIED: N_("family notified"),
        EventKind.ARREST_REQUESTED: N_("arrest requested"),
        EventKind.ARREST_DECIDED: N_("arrest decided by the procuratorate"),
        EventKind.ARREST: N_("arrest"),
        EventKind.BAIL: N_("bail"),
        EventKind.BAIL_ENDED: N_("bail ended"),
        EventKind.RESIDENTIAL_SURVEILLANCE: N_("residential surveillance"),
        EventKind.SURVEILLANCE_ENDED: N_("residential surveillance ended"),
        EventKind.RELEASED: N_("released"),
        EventKind.SEIZURE: N_("seizure"),
        EventKind.PROPERTY_REGISTERED: N_("seized property registered"),
        EventKind.PROPERTY_FOUND_UNRELATED: N_("property found unrelated to the case"),
        EventKind.SEIZURE_LIFTED: N_("seizure lifted, property returned"),
        EventKind.EXTENSION: N_("deadline extended"),
        EventKind.TRANSFER_FOR_PROSECUTION: N_("transfer for prosecution"),
        EventKind.CASE_DECIDED: N_("administrative decision made"),
        EventKind.CASE_CLOSED: N_("case closed"),
    },
)
register_labels(
    Calendar,
    {
        Calendar.HOURS: N_("hours, counted exactly"),
        Calendar.DAYS: N_("days, counted from the next day"),
        Calendar.MONTHS: N_("months, counted from the next day"),
    },
)
register_labels(
    Severity, {Severity.CRITICAL: N_("critical"), Severity.MAJOR: N_("major"), Severity.MINOR: N_("minor")}
)
register_labels(
    DeadlineStatus,
    {
        DeadlineStatus.RUNNING: N_("running"),
        DeadlineStatus.WARNING: N_("due soon"),
        DeadlineStatus.MET: N_("met"),
        DeadlineStatus.BREACHED: N_("breached"),
    },
)
register_labels(
    Approver,
    {
        Approver.COUNTY_BUREAU_HEAD: N_("head of the county-level public security bureau"),
        Approver.HIGHER_BUREAU: N_("the public security organ at the next higher level"),
        Approver.HIGHER_PROCURATORATE: N_("the procuratorate at the next higher level"),
        Approver.PROVINCIAL_PROCURATORATE: N_("the provincial procuratorate"),
        Approver.AGENCY_HEAD: N_("head of the administrative organ"),
    },
)

# The grounds a step may carry, which the rule pack reads (`when_flag`, `unless_flags`, `requires_flag`).
GROUND_LABELS = {
    "complex": N_("complex case (may lead to administrative detention)"),
    "many_parties": N_("many people involved or identity unknown"),
    "roving_serial_gang": N_("roving, serial or gang crime"),
}


class PropertyState(StrEnum):
    """Where a seized item (涉案财物) stands in the ledger."""

    REGISTERED = "registered"  # 已登记: with the seizing officer, not yet received into the store
    IN_STORE = "in_store"  # 在库: received by the custodian (保管员)
    CHECKED_OUT = "checked_out"  # 调用出库: lent out for examination or a hearing, due back
    RELEASED = "released"  # 发还: returned to its owner, the seizure lifted
    DISPOSED = "disposed"  # 处置: confiscated, destroyed or handed on after the decision


class MovementKind(StrEnum):
    """A hand-over of a seized item, signed by the handing and the receiving user."""

    CUSTODY = "custody"  # 移交保管: into the store; the receiver becomes the custodian
    CHECK_OUT = "check_out"  # 调用: the custodian lends it out, with a due date
    RETURN = "return"  # 归还: back to the custodian


register_labels(
    PropertyState,
    {
        PropertyState.REGISTERED: N_("registered, not yet in the store"),
        PropertyState.IN_STORE: N_("in the store"),
        PropertyState.CHECKED_OUT: N_("checked out"),
        PropertyState.RELEASED: N_("released to its owner"),
        PropertyState.DISPOSED: N_("disposed of"),
    },
)
register_labels(
    MovementKind,
    {
        MovementKind.CUSTODY: N_("handed into custody"),
        MovementKind.CHECK_OUT: N_("checked out"),
        MovementKind.RETURN: N_("returned to the store"),
    },
)


class DeductionKind(StrEnum):
    """An entry of the quality ledger (执法质量考评): a deduction, or an appeal's decision on one."""

    DEDUCTION = "deduction"  # 扣分
    APPEAL = "appeal"  # 申诉复核: points given back by a new entry, never by changing the deduction


register_labels(
    DeductionKind, {DeductionKind.DEDUCTION: N_("deduction"), DeductionKind.APPEAL: N_("appeal decision")}
)


class RequestKind(StrEnum):
    """What a request for approval (审批) asks: a case step that needs a superior, the return or
    disposal of a seized item, an appeal, or a complaint's extension."""

    STEP = "step"  # an extension or another measure that needs approval, by the approver it names
    APPEAL = "appeal"  # 申诉: a unit asks the legal-supervision office to give points back
    RELEASE = "release"  # 发还: a seized item returned to its owner, by the approver it names
    DISPOSAL = "disposal"  # 处置: a seized item disposed of after the decision, by the approver it names
    # 延期: a complaint's handling period extended by 30 days, by the approver it names (complaints/).
    COMPLAINT_EXTENSION = "complaint_extension"


class RequestState(StrEnum):
    """Where a request for approval stands; decided once. A pending request, or an approved request to
    return or dispose of seized property not yet carried out, may be withdrawn by its requester; the
    custodian's release or disposal uses the approval up (`used`)."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    USED = "used"


class RequestStanding(StrEnum):
    """How a request reads at a given time: its state, except that an approval to return or dispose of
    seized property past its `expires_at` has lapsed (nothing is written when it lapses)."""

    PENDING = "pending"
    APPROVED = "approved"
    LAPSED = "lapsed"
    USED = "used"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


register_labels(
    RequestKind,
    {
        RequestKind.STEP: N_("step needing approval"),
        RequestKind.APPEAL: N_("appeal on a deduction"),
        RequestKind.RELEASE: N_("return of seized property"),
        RequestKind.DISPOSAL: N_("disposal of seized property"),
        RequestKind.COMPLAINT_EXTENSION: N_("extension of a complaint's handling period"),
    },
)
register_labels(
    RequestState,
    {
        RequestState.PENDING: N_("awaiting decision"),
        RequestState.APPROVED: N_("approved"),
        RequestState.REFUSED: N_("refused"),
        RequestState.WITHDRAWN: N_("withdrawn"),
        RequestState.USED: N_("carried out"),
    },
)
register_labels(
    RequestStanding,
    {
        RequestStanding.PENDING: N_("awaiting decision"),
        RequestStanding.APPROVED: N_("approved"),
        RequestStanding.LAPSED: N_("approval lapsed"),
        RequestStanding.USED: N_("carried out"),
        RequestStanding.REFUSED: N_("refused"),
        RequestStanding.WITHDRAWN: N_("withdrawn"),
    },
)
