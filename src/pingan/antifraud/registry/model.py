"""Registry tables: account holders and their bank accounts and cards (KYC extracts from the banks)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.antifraud.registry.choices import AccountKind, AccountStatus
from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.core.pii import PiiKind, Protected, Sealed, protected, sealed


class AccountHolder(Base):
    """A person who holds accounts (开户人), known by the pseudonym of their national ID."""

    __tablename__ = "account_holder"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    national_id: Mapped[Protected] = protected(PiiKind.NATIONAL_ID, "national_id", unique=True)
    name: Mapped[Sealed] = sealed(PiiKind.NAME, "name", masked_length=64)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    accounts: Mapped[list[BankAccount]] = relationship(back_populates="holder", order_by="BankAccount.id")


class BankAccount(Base):
    """An account or card at one bank; the number is stored as pseudonym, ciphertext and masked form."""

    __tablename__ = "bank_account"
    __table_args__ = (
        UniqueConstraint("bank_code", "account_pseudonym", name="uq_bank_account_bank_account"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("account_holder.id"), index=True)
    bank_code: Mapped[str] = mapped_column(String(16))
    account: Mapped[Protected] = protected(PiiKind.CARD, "account", index=True)
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, length=16))
    opened_on: Mapped[date] = mapped_column(Date)
    status: Mapped[AccountStatus] = mapped_column(str_enum(AccountStatus, length=16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    holder: Mapped[AccountHolder] = relationship(back_populates="accounts")
