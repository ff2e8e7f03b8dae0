"""Wastewater tables: sites (sewersheds), lab results, quarantine, and the two published tables.

Aggregates only: a site is a treatment plant's catchment with the population it serves. No table
here holds or links to a person, an address or a building.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pingan.core.db import Base, UTCDateTime, str_enum
from pingan.narcotics.choices import Metabolite, QuarantineReason


class WwSite(Base):
    """A sewershed: the plant's code, place, location (WGS-84) and the population it serves."""

    __tablename__ = "ww_site"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    country: Mapped[str] = mapped_column(String(8), default="")
    city: Mapped[str] = mapped_column(String(128), default="")
    location: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    population: Mapped[int] = mapped_column(Integer)


class WwResult(Base):
    """One lab result: a 24-h composite sample's residue concentration and the day's flow."""

    __tablename__ = "ww_result"
    __table_args__ = (UniqueConstraint("site_code", "sample_date", "metabolite"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_code: Mapped[str] = mapped_column(ForeignKey("ww_site.code"), index=True)
    sample_date: Mapped[date] = mapped_column(Date, index=True)
    metabolite: Mapped[Metabolite] = mapped_column(str_enum(Metabolite, length=20))
    concentration_ng_l: Mapped[float] = mapped_column(Float)
    flow_m3_day: Mapped[float] = mapped_column(Float)
    source_file: Mapped[str] = mapped_column(String(255), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WwQuarantine(Base):
    """A row an import set aside: the file, line, field, reason and the raw text."""

    __tablename__ = "ww_quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # lab, sites, euda, statcan
    source_file: Mapped[str] = mapped_column(String(255))
    line: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    reason: Mapped[QuarantineReason] = mapped_column(str_enum(QuarantineReason, length=24))
    message: Mapped[str] = mapped_column(String(255), default="")
    raw: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class WwEudaLoad(Base):
    """One row of the EUDA/SCORE city table as published: mg of residue/day/1000 inhabitants per
    sampling day, and the three means the publisher computed (decimals, as printed)."""

    __tablename__ = "ww_euda_load"
    __table_args__ = (UniqueConstraint("year", "metabolite", "site_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    metabolite: Mapped[str] = mapped_column(String(32))
    site_code: Mapped[str] = mapped_column(String(16), index=True)
    country: Mapped[str] = mapped_column(String(8))
    city: Mapped[str] = mapped_column(String(128))
    monday: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    tuesday: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    wednesday: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    thursday: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    friday: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    saturday: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    sunday: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    weekday_mean: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    weekend_mean: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    daily_mean: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))


class WwStatcanLoad(Base):
    """One month, place and measure of Statistics Canada table 13-10-0871-01 (mg/day/1000 people),
    its published 95% CI, standard error, imputation rate and status (`E`: use with caution)."""

    __tablename__ = "ww_statcan_load"
    __table_args__ = (UniqueConstraint("month", "geo", "measure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    geo: Mapped[str] = mapped_column(String(64))
    measure: Mapped[str] = mapped_column(String(64))
    load: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    se: Mapped[float | None] = mapped_column(Float)
    imputation_rate: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(4), default="")
