"""The store's tables. Ids, codes, ratings and card uuids only: no tokens, no free text from
the record, no free-text override comment (only that there was one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class HookCall(Base):
    __tablename__ = "hook_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hook_instance: Mapped[str] = mapped_column(String(200), index=True)
    service: Mapped[str] = mapped_column(String(100))
    called_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    patient_id: Mapped[str] = mapped_column(String(200), index=True)
    mode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    """``silent`` when the call was answered with no card (CDS_MODE); None or ``live``: shown."""
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The ordering clinician, as the EHR sent ``context.userId`` (staff data: the report
    shows it only when asked)."""


class Appraised(Base):
    """One appraised order of a call, its rating, and the card shown for it (if any)."""

    __tablename__ = "appraisals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("hook_calls.id"), index=True)
    order_ref: Mapped[str | None] = mapped_column(String(300), index=True)
    procedure: Mapped[str | None] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(40))
    rating: Mapped[str | None] = mapped_column(String(60))
    pama: Mapped[str | None] = mapped_column(String(40))
    card_uuid: Mapped[str | None] = mapped_column(String(64), unique=True)
    indicator: Mapped[str | None] = mapped_column(String(20))
    advice_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The topic code of the advice the card gave (the knowledge file's topics): an override
    hides only the same advice."""
    knowledge_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    knowledge_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The knowledge file (rules) that appraised the order."""


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("service", "card_uuid", "outcome", "outcome_timestamp"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(100))
    card_uuid: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    outcome_timestamp: Mapped[str] = mapped_column(String(64))
    accepted_suggestions: Mapped[str | None] = mapped_column(String(2000))
    override_system: Mapped[str | None] = mapped_column(String(300))
    override_code: Mapped[str | None] = mapped_column(String(100))
    override_display: Mapped[str | None] = mapped_column(String(300))
    has_user_comment: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OverriddenOrder(Base):
    """A card the clinician overrode at a service that remembers overrides (order-select):
    written when the feedback arrives, so that order-sign, which asks on every call, needs one
    key lookup."""

    __tablename__ = "overridden_orders"
    patient_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    order_ref: Mapped[str] = mapped_column(String(300), primary_key=True)
    card_uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    procedure: Mapped[str | None] = mapped_column(String(100))
    rating: Mapped[str] = mapped_column(String(60))
    overridden_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    advice_key: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SeenJti(Base):
    __tablename__ = "seen_jtis"
    issuer: Mapped[str] = mapped_column(String(300), primary_key=True)
    jti: Mapped[str] = mapped_column(String(300), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


ADDED_COLUMNS = (
    ("appraisals", "advice_key"),
    ("overridden_orders", "advice_key"),
    ("appraisals", "knowledge_id"),
    ("appraisals", "knowledge_version"),
    ("hook_calls", "mode"),
    ("hook_calls", "user_id"),
)
"""Nullable text columns added to existing tables after their first release (no Alembic yet:
``Database.upgrade`` adds them when missing, with the type the model gives them)."""
