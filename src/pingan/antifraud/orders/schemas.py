"""Request and response models of the orders API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from pingan.antifraud.orders.choices import (
    AppealStatus,
    BasisKind,
    FindingKind,
    FindingStatus,
    OrderKind,
    OrderReason,
    OrderState,
)
from pingan.core.schemas import MAX_FEN, InputModel, RowId


class OrderEventOut(BaseModel):
    """One step of an order's timeline."""

    at: datetime
    from_state: str | None
    to_state: str
    actor: str
    note: str


class OrderOut(BaseModel):
    """A restriction order; the account number masked."""

    id: int
    kind: OrderKind
    state: OrderState
    reason: OrderReason
    basis_kind: BasisKind
    report_id: int | None
    finding_id: int | None
    bank_code: str
    account: str
    amount_fen: int | None
    traced_amount_fen: int | None
    held_amount_fen: int
    major_case: bool
    renewals: int
    renews_order_id: int | None = Field(
        description="the order this one renews, or the stop-payment it converts"
    )
    reject_code: str | None
    reject_reason: str | None
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    executed_at: datetime | None
    expires_at: datetime | None
    release_due_at: datetime | None
    timeline: list[OrderEventOut] = []


class OrderPage(BaseModel):
    """A list of orders."""

    items: list[OrderOut]


class FreezeIn(InputModel):
    """Freeze (冻结) an account that an approved finding names."""

    finding_id: RowId
    finding_account_id: RowId
    amount_fen: int | None = Field(
        default=None, gt=0, le=MAX_FEN, description="fen; capped at the traced amount"
    )


class StopPaymentIn(InputModel):
    """A stop-payment on an account named by an approved finding or a registered report."""

    finding_id: RowId | None = None
    finding_account_id: RowId | None = None
    model_score: float | None = Field(default=None, description="refused: a score is never a basis")


class ConvertIn(InputModel):
    """Convert a live stop-payment into a freeze (止付转冻结) on an approved finding naming its account."""

    finding_id: RowId
    amount_fen: int | None = Field(
        default=None, gt=0, le=MAX_FEN, description="fen; capped at the traced amount"
    )


class RenewIn(InputModel):
    """Why the order is renewed: the case still needs the hold."""

    reason: str = Field(min_length=4, max_length=255)


class MajorCaseIn(InputModel):
    """The drafter marks a draft finding as a major case (a freeze runs 1 year), with the reason."""

    major_case: bool
    major_case_reason: str | None = Field(default=None, max_length=255)


class ReleaseIn(InputModel):
    """Why the order is released."""

    reason: str = Field(min_length=4, max_length=255)


class FindingAccountOut(BaseModel):
    """An account a finding names."""

    id: int
    bank_code: str
    account: str
    traced_amount_fen: int | None


class FindingOut(BaseModel):
    """A police finding (认定)."""

    id: int
    report_id: int | None
    case_ref: str
    legal_basis: str
    evidence: str
    kind: FindingKind
    major_case: bool
    major_case_reason: str | None
    status: FindingStatus
    drafted_by: str
    drafted_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    waiting_s: float
    accounts: list[FindingAccountOut]


class DecisionIn(InputModel):
    """A supervisor's decision."""

    approve: bool
    note: str = Field(default="", max_length=255)


class FindingDecisionIn(InputModel):
    """A supervisor's decision on one finding of a batch."""

    finding_id: RowId
    approve: bool
    note: str = Field(default="", max_length=255)


class DecisionBatchIn(InputModel):
    """Decisions a supervisor takes together on the drafts selected in the approval queue."""

    decisions: list[FindingDecisionIn] = Field(min_length=1, max_length=200)


class AppealIn(InputModel):
    """An appeal (申诉) by the account holder."""

    appellant: str = Field(min_length=1, max_length=64)
    statement: str = Field(min_length=10, max_length=5000)


class AppealDecisionIn(InputModel):
    """Uphold (release at once) or dismiss an appeal, with the reason."""

    upheld: bool
    reason: str = Field(min_length=4, max_length=255)


class AppealOut(BaseModel):
    """An appeal and its decision."""

    id: int
    order_id: int
    appellant: str
    status: AppealStatus
    filed_at: datetime
    filed_by: str
    decision_due_at: datetime
    decided_by: str | None
    decision_reason: str | None
