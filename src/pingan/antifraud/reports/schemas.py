"""Request and response models of the anti-fraud API. One family per object: `*In`, `*Out`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from pingan.antifraud.banks.directory import check_bank
from pingan.antifraud.reports.choices import Channel, ReportIntake, RevealPurpose, SuspectKind, Typology
from pingan.core.errors import Invalid
from pingan.core.pii import normalize_card, normalize_name, normalize_national_id, normalize_phone
from pingan.core.schemas import InputModel, SaneDatetime


def _wrap(fn: object) -> AfterValidator:
    """Turn a pingan normaliser (which raises Invalid) into a Pydantic validator (which needs ValueError)."""

    def validate(value: str) -> str:
        try:
            return fn(value)  # type: ignore[operator,no-any-return]
        except Invalid as exc:
            raise ValueError(exc.message) from None

    return AfterValidator(validate)


def _bank_code(value: str) -> str:
    return check_bank(value).code


NationalId = Annotated[str, _wrap(normalize_national_id)]
Phone = Annotated[str, _wrap(normalize_phone)]
Card = Annotated[str, _wrap(normalize_card)]
Name = Annotated[str, _wrap(normalize_name)]
BankCode = Annotated[str, _wrap(_bank_code)]


class VictimIn(InputModel):
    """The person who reported the fraud."""

    name: Name
    national_id: NationalId
    phone: Phone


class TransferIn(InputModel):
    """One payment the victim made to the fraudsters."""

    occurred_at: SaneDatetime
    amount_fen: int = Field(gt=0, le=10_000_000_000, description="amount in fen (分), an integer > 0")
    payer_card: Card
    payer_bank: BankCode
    payee_account: Card
    payee_bank: BankCode
    channel: Channel = Channel.MOBILE_BANKING


class SuspectIn(InputModel):
    """An identifier of the suspects: phone number, URL, app name or social account."""

    kind: SuspectKind
    value: str = Field(min_length=1, max_length=500)


# The longest narrative a report carries: the form shows it, and the API refuses more (422 naming
# `narrative`); a narrative is never cut.
NARRATIVE_MAX_LENGTH = 20_000


class ReportIn(InputModel):
    """A fraud report as registered at a station (受案登记)."""

    external_ref: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
    victim: VictimIn
    fraud_started_at: SaneDatetime
    reported_at: SaneDatetime
    station_code: str = Field(min_length=1, max_length=32)
    # The receiving officer is the logged-in officer who registers the report, or the one who
    # confirms it. This field is only what a file or an analyst states: recorded, never trusted.
    officer: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the officer a file import states (recorded, not trusted); ignored for an officer's entry",
    )
    typology: Typology
    narrative: str = Field(default="", max_length=NARRATIVE_MAX_LENGTH)
    transfers: list[TransferIn] = Field(min_length=1, max_length=500)
    suspects: list[SuspectIn] = Field(default_factory=list, max_length=200)


# A batch is what one intake push carries (a station system or the anti-fraud centre's feed every
# few hundred milliseconds); bounded so that one transaction stays short.
MAX_REPORT_BATCH = 200


class ReportBatchIn(InputModel):
    """Reports delivered together by an intake system, registered in one transaction: all or none."""

    reports: list[ReportIn] = Field(min_length=1, max_length=MAX_REPORT_BATCH)


class RegisteredReportOut(BaseModel):
    """One report of a batch, as registered."""

    id: int
    external_ref: str


class ReportBatchOut(BaseModel):
    """The reports of a batch, in the order they were sent."""

    reports: list[RegisteredReportOut]


class VictimOut(BaseModel):
    """The victim, masked unless revealed."""

    name: str
    national_id: str
    phone: str


class TransferOut(BaseModel):
    """A transfer with masked card numbers."""

    seq: int
    occurred_at: datetime
    amount_fen: int
    payer_card: str
    payer_bank: str
    payee_account: str
    payee_bank: str
    channel: Channel


class SuspectOut(BaseModel):
    """A suspect identifier; phones masked."""

    kind: SuspectKind
    value: str


class SharedIdentifier(BaseModel):
    """An identifier that two or more reports of a cluster share."""

    kind: str
    value: str
    report_ids: list[int]


class ClusterBrief(BaseModel):
    """The cluster a report belongs to."""

    id: int
    size: int


class ReportOut(BaseModel):
    """A registered fraud report."""

    id: int
    external_ref: str
    victim: VictimOut
    fraud_started_at: datetime
    reported_at: datetime
    station_code: str
    officer: str
    typology: Typology
    narrative: str
    total_amount_fen: int
    transfers: list[TransferOut]
    suspects: list[SuspectOut]
    cluster: ClusterBrief
    created_at: datetime
    intake: ReportIntake = ReportIntake.REGISTERED
    source: str = ""
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None


class ReportSummaryOut(BaseModel):
    """One row of the report list."""

    id: int
    external_ref: str
    victim_name: str
    reported_at: datetime
    station_code: str
    typology: Typology
    total_amount_fen: int
    transfer_count: int
    cluster_id: int
    intake: ReportIntake = ReportIntake.REGISTERED


class ReportPage(BaseModel):
    """A page of reports and the cursor of the next page (null at the end)."""

    items: list[ReportSummaryOut]
    next_cursor: str | None


class ClusterReportOut(BaseModel):
    """A report as listed in its cluster."""

    id: int
    external_ref: str
    typology: Typology
    reported_at: datetime
    station_code: str
    total_amount_fen: int


class ClusterOut(BaseModel):
    """A linked-case cluster (串并案) with its reports and the identifiers they share."""

    id: int
    size: int
    total_amount_fen: int
    reports: list[ClusterReportOut]
    shared: list[SharedIdentifier]


class RevealIn(InputModel):
    """Why the caller needs the clear personal data, and for which case; both go to the audit log.

    `reference` is the external reference of a registered report: this one's, or the case's lead
    report when several are worked together.
    """

    purpose: RevealPurpose
    reference: str = Field(min_length=1, max_length=64)


class RevealOut(BaseModel):
    """The clear personal data of a report."""

    victim: VictimOut
    payer_cards: list[str]
    payee_accounts: list[str]
    suspect_phones: list[str]
