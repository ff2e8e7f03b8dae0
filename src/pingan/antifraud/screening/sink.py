"""From the engine's flags to the risk domain: protect the identities, then record the events.

The transaction store names accounts and persons by the bank's ids. Before anything is written, the
payer's person is pseudonymised (national ID), the phone is protected for the channels, and the
account numbers become card pseudonyms, so that the platform database holds no clear identifier.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from pingan.antifraud.risk.actions import FlagIn, RecordResult, do_record_flags
from pingan.antifraud.screening.engine import AccountIndex
from pingan.core import db
from pingan.core.pii import PiiKind, protect, pseudonym
from pingan.core.roles import Actor

SCREENING_ACTOR = Actor.system("screening")


class StoreIdentities:
    """Card numbers and persons of a transaction store, looked up only for flagged rows.

    Nothing is read until first needed, and then only as columns with an id index (`AccountIndex`):
    a district holds 4 million accounts and 1.2 million persons, and a Python dict of every person
    (the first version) took ~14 s and ~1.5 GiB before the first message could be screened. A flag
    batch gathers its few rows from the columns.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._card_pseudonyms: dict[int, str] = {}

    @cached_property
    def _accounts(self) -> tuple[AccountIndex, pl.DataFrame]:
        accounts = pl.read_parquet(self.directory / "accounts.parquet", columns=["account_id", "card_number"])
        ids = np.ascontiguousarray(accounts["account_id"].to_numpy(), dtype=np.int64)
        return AccountIndex.of(ids), accounts

    @cached_property
    def _persons(self) -> tuple[AccountIndex, pl.DataFrame]:
        persons = pl.read_parquet(
            self.directory / "persons.parquet", columns=["person_id", "national_id", "phone", "home_station"]
        )
        ids = np.ascontiguousarray(persons["person_id"].to_numpy(), dtype=np.int64)
        return AccountIndex.of(ids), persons

    def load(self) -> StoreIdentities:
        """Read the columns now (a stream consumer does, so that its first flags do not wait for them)."""
        _ = self._accounts, self._persons
        return self

    def _cards(self, account_ids: npt.NDArray[np.int64]) -> list[str | None]:
        index, accounts = self._accounts
        rows = index.get(account_ids)
        cards = accounts["card_number"]
        got = cards.gather(np.where(rows >= 0, rows, 0)).to_list() if cards.len() else [None] * rows.size
        return [c if r >= 0 else None for c, r in zip(got, rows.tolist(), strict=True)]

    def _pseudonym_of(self, account_id: int, card: str | None) -> str:
        if account_id not in self._card_pseudonyms:
            self._card_pseudonyms[account_id] = (
                pseudonym(PiiKind.CARD, str(card)) if card is not None else f"store:{account_id}"
            )
        return self._card_pseudonyms[account_id]

    def card_pseudonym(self, account_id: int) -> str:
        """The pseudonym of an account's card number (as the fraud reports store payees)."""
        if account_id in self._card_pseudonyms:
            return self._card_pseudonyms[account_id]
        return self._pseudonym_of(account_id, self._cards(np.array([account_id], np.int64))[0])

    def account_ids(self) -> dict[str, int]:
        """Card pseudonym → store account id, for every account (HMAC of each card number)."""
        _, accounts = self._accounts
        return {
            pseudonym(PiiKind.CARD, str(card)): int(a) for a, card in accounts.iter_rows() if card is not None
        }

    def flag_inputs(self, flags: pl.DataFrame) -> list[FlagIn]:
        """The flags as risk-domain inputs, identities protected."""
        if flags.height == 0:
            return []
        payers = np.ascontiguousarray(flags["payer_account"].to_numpy(), dtype=np.int64)
        payees = np.ascontiguousarray(flags["payee_account"].to_numpy(), dtype=np.int64)
        payer_cards, payee_cards = self._cards(payers), self._cards(payees)
        p_index, persons = self._persons
        person_ids = flags["person_id"].fill_null(-1).to_numpy().astype(np.int64)
        p_rows = p_index.get(person_ids)
        found = persons[np.where(p_rows >= 0, p_rows, 0)] if persons.height else None
        out = []
        for i, r in enumerate(flags.iter_rows(named=True)):
            person = found.row(i, named=True) if found is not None and p_rows[i] >= 0 else None
            phone = protect(PiiKind.PHONE, person["phone"]) if person and person["phone"] else None
            payer = self._pseudonym_of(int(payers[i]), payer_cards[i])
            person_key = (
                pseudonym(PiiKind.NATIONAL_ID, person["national_id"])
                if person and person["national_id"]
                else f"account:{payer}"
            )
            out.append(
                FlagIn(
                    tx_id=r["tx_id"],
                    occurred_at=r["ts"],
                    person_key=person_key,
                    payer_account=payer,
                    payee_account=self._pseudonym_of(int(payees[i]), payee_cards[i]),
                    payer_bank=r["payer_bank"],
                    payee_bank=r["payee_bank"],
                    amount_fen=r["amount_fen"],
                    amount_at_risk_fen=r["amount_at_risk_fen"],
                    reasons=list(r["reasons"]),
                    typology_guess=r["typology_guess"],
                    elderly=bool(r["elderly"]),
                    phone=phone,
                    home_station=person["home_station"] if person else None,
                )
            )
        return out


def record_flags(
    flags: pl.DataFrame, identities: StoreIdentities, *, engine: str, rules_version: str
) -> RecordResult:
    """Persist flags as risk events and warning plans, in one transaction; idempotent by tx id."""
    inputs = identities.flag_inputs(flags)
    with db.transaction() as session:
        return do_record_flags(
            session, inputs, engine=engine, rules_version=rules_version, actor=SCREENING_ACTOR
        )
