"""The durable record: hook calls and what they advised, feedback, and seen JWT ids.

SQLAlchemy, so a SQLite file (the default, zero set-up) or any SQLAlchemy URL such as
PostgreSQL (``CDS_DATABASE_URL``). No tokens are stored, and no free text from the record: ids,
codes, ratings and card uuids only. A clinician's free-text override comment is not kept either
(only that there was one), because it may carry patient details.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from cds_service.errors import StoreUnavailable

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

SQLITE_BUSY_TIMEOUT = 5.0
"""Seconds a SQLite write waits for the lock before the call is answered 503."""


@contextmanager
def _unavailable_on_failure(operation: str) -> Iterator[None]:
    """A database failure (locked, disk full, connection lost) becomes StoreUnavailable; the
    log gets its type only (the statement's parameters could hold ids)."""
    try:
        yield
    except IntegrityError:
        raise
    except SQLAlchemyError as exc:
        log.error(
            "the store failed during %s: %s",
            operation,
            type(getattr(exc, "orig", None) or exc).__name__,
        )
        raise StoreUnavailable("the service's store is unavailable; try again later") from None


def guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Wrap a store method with :func:`_unavailable_on_failure`."""

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _unavailable_on_failure(method.__name__):
            return method(*args, **kwargs)

    return wrapper


class Base(DeclarativeBase):
    pass


class HookCall(Base):
    __tablename__ = "hook_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hook_instance: Mapped[str] = mapped_column(String(200), index=True)
    service: Mapped[str] = mapped_column(String(100))
    called_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    patient_id: Mapped[str] = mapped_column(String(200), index=True)


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
    """What the card said (procedure, rating, findings), hashed: an override hides only the
    same advice."""
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
    """An order-select card the clinician overrode: written when the feedback arrives, so that
    order-sign, which asks on every call, needs one key lookup."""

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


@dataclass(frozen=True)
class AppraisalRow:
    """What the store keeps of one appraised order (built by the hook handler)."""

    order_ref: str | None
    procedure: str | None
    verdict: str
    rating: str | None
    pama: str | None
    card_uuid: str | None
    indicator: str | None
    advice_key: str | None = None
    knowledge_id: str | None = None
    knowledge_version: str | None = None


@dataclass(frozen=True)
class FeedbackRow:
    card_uuid: str
    outcome: str
    outcome_timestamp: str
    accepted_suggestions: tuple[str, ...] = ()
    override_system: str | None = None
    override_code: str | None = None
    override_display: str | None = None
    has_user_comment: bool = False


ADDED_COLUMNS = (
    ("appraisals", "advice_key"),
    ("overridden_orders", "advice_key"),
    ("appraisals", "knowledge_id"),
    ("appraisals", "knowledge_version"),
)
"""Nullable text columns added to existing tables after their first release (no Alembic yet:
``upgrade`` adds them when missing)."""


class Store:
    def __init__(self, url: str) -> None:
        options: dict[str, Any] = {"pool_pre_ping": not url.startswith("sqlite")}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}
            if url in ("sqlite://", "sqlite:///:memory:"):
                options["poolclass"] = StaticPool
        self.engine = create_engine(url, **options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        """Create the tables that do not exist yet, and add the columns added since."""
        Base.metadata.create_all(self.engine)
        present = inspect(self.engine)
        for table, column in ADDED_COLUMNS:
            names = {c["name"] for c in present.get_columns(table)}
            if column not in names:
                with self.engine.begin() as connection:
                    connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(64)"))

    def dispose(self) -> None:
        self.engine.dispose()

    @guarded
    def ping(self) -> None:
        """Readiness: the store answers a query on its tables (StoreUnavailable if not)."""
        with self.engine.connect() as connection:
            connection.execute(select(SeenJti.jti).limit(1)).all()

    def _insert_once(self, connection: Connection, table: Any, values: dict[str, Any]) -> bool:
        """Insert a row unless it is a duplicate; True when it was new. The answer comes from
        ``RETURNING`` where the database has it: psycopg reports a rowcount of -1 for
        ``INSERT ... ON CONFLICT DO NOTHING``, which would read as "new" every time."""
        statement = self._insert_ignoring_duplicates(table).values(**values)
        if self.engine.dialect.name in ("postgresql", "sqlite"):
            key = next(iter(inspect(table).primary_key))
            return connection.execute(statement.returning(key)).first() is not None
        return bool(connection.execute(statement).rowcount > 0)

    def _insert_ignoring_duplicates(self, table: Any) -> Any:
        """``INSERT ... ON CONFLICT DO NOTHING``: idempotent under concurrency, and a
        duplicate aborts nothing else in the transaction."""
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if self.engine.dialect.name == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        return insert(table).prefix_with("IGNORE")  # MySQL and kin

    # ----------------------------------------------------------------- hook calls

    @guarded
    def record_call(
        self,
        hook_instance: str,
        service: str,
        called_at: datetime,
        patient_id: str,
        rows: Sequence[AppraisalRow],
    ) -> None:
        """One transaction: the call, then its appraised orders (Core inserts: this is hot)."""
        with self.engine.begin() as connection:
            call_id = connection.execute(
                insert(HookCall).returning(HookCall.id),
                {
                    "hook_instance": hook_instance,
                    "service": service,
                    "called_at": called_at,
                    "patient_id": patient_id,
                },
            ).scalar_one()
            if rows:
                connection.execute(
                    insert(Appraised), [{"call_id": call_id, **row.__dict__} for row in rows]
                )

    @guarded
    def overridden_orders(
        self, patient_id: str, order_refs: Iterable[str], since: datetime
    ) -> set[tuple[str, str | None]]:
        """(order, advice key) of this patient's order-select cards the clinician overrode
        since ``since``."""
        refs = [r for r in order_refs if r]
        if not refs:
            return set()
        query = select(OverriddenOrder.order_ref, OverriddenOrder.advice_key).where(
            OverriddenOrder.patient_id == patient_id,
            OverriddenOrder.order_ref.in_(refs),
            OverriddenOrder.overridden_at >= since,
        )
        with self.engine.connect() as connection:  # Core: this runs on every order-sign call
            return {(ref, key) for ref, key in connection.execute(query)}

    # ----------------------------------------------------------------- feedback

    @guarded
    def record_feedback(self, service: str, rows: Sequence[FeedbackRow], now: datetime) -> int:
        """Store each entry once; a duplicate is ignored (``ON CONFLICT DO NOTHING``, so that
        concurrent deliveries of the same feedback, or of two overrides of one card, neither
        fail nor lose a row). Returns how many were new."""
        stored = 0
        for row in rows:
            entry = {
                "service": service,
                "card_uuid": row.card_uuid,
                "outcome": row.outcome,
                "outcome_timestamp": row.outcome_timestamp,
                # not ASCII-escaped: a non-ASCII id would otherwise take six characters each
                "accepted_suggestions": json.dumps(
                    list(row.accepted_suggestions), ensure_ascii=False
                )
                if row.accepted_suggestions
                else None,
                "override_system": row.override_system,
                "override_code": row.override_code,
                "override_display": row.override_display,
                "has_user_comment": row.has_user_comment,
                "received_at": now,
            }
            with self.engine.begin() as connection:
                inserted = self._insert_once(connection, Feedback, entry)
                if inserted and row.outcome == "overridden" and service == "order-select":
                    self._remember_override(connection, row.card_uuid, now)
            stored += 1 if inserted else 0
        return stored

    def _remember_override(self, connection: Connection, card_uuid: str, now: datetime) -> None:
        """The card's order, procedure and rating, so that order-sign can recognise the same
        card; a card this service did not issue at order-select is not remembered."""
        found = connection.execute(
            select(
                HookCall.patient_id,
                Appraised.order_ref,
                Appraised.procedure,
                Appraised.rating,
                Appraised.verdict,
                Appraised.advice_key,
            )
            .join(HookCall, HookCall.id == Appraised.call_id)
            .where(Appraised.card_uuid == card_uuid, HookCall.service == "order-select")
        ).first()
        if found is None or found.order_ref is None:
            return
        self._insert_once(
            connection,
            OverriddenOrder,
            {
                "patient_id": found.patient_id,
                "order_ref": found.order_ref,
                "card_uuid": card_uuid,
                "procedure": found.procedure,
                "rating": found.rating or found.verdict,
                "overridden_at": now,
                "advice_key": found.advice_key,
            },
        )

    # ----------------------------------------------------------------- JWT replay

    @guarded
    def claim_jti(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record a token id; False when it was seen before and has not expired (a replay)."""
        with self.engine.begin() as connection:
            connection.execute(delete(SeenJti).where(SeenJti.expires_at < now))
            values = {"issuer": issuer, "jti": jti, "expires_at": expires_at}
            return self._insert_once(connection, SeenJti, values)

    # ----------------------------------------------------------------- report

    def report(self) -> list[dict[str, Any]]:
        """Per service and rating: calls, cards shown, accepted, overridden and the reasons."""
        with self._sessions() as session:
            appraisals = session.execute(
                select(
                    HookCall.service,
                    Appraised.rating,
                    Appraised.verdict,
                    Appraised.card_uuid,
                    HookCall.id,
                ).join(HookCall, HookCall.id == Appraised.call_id)
            ).all()
            feedback = session.execute(
                select(
                    Feedback.card_uuid,
                    Feedback.outcome,
                    Feedback.override_display,
                    Feedback.override_code,
                )
            ).all()
        outcomes: dict[str, list[tuple[str, str | None]]] = {}
        for card_id, outcome, display, code in feedback:
            outcomes.setdefault(card_id, []).append((outcome, display or code))
        table: dict[tuple[str, str], dict[str, Any]] = {}
        for service, rating, verdict, card_uuid, call_id in appraisals:
            key: tuple[str, str] = (service, rating or verdict)
            line = table.setdefault(
                key,
                {
                    "service": service,
                    "rating": key[1],
                    "calls": set(),
                    "orders": 0,
                    "cards": 0,
                    "accepted": 0,
                    "overridden": 0,
                    "reasons": {},
                },
            )
            line["calls"].add(call_id)
            line["orders"] += 1
            if card_uuid:
                line["cards"] += 1
                for outcome, reason in outcomes.get(card_uuid, []):
                    line[outcome] += 1
                    if outcome == "overridden":
                        label = reason or "(no reason given)"
                        line["reasons"][label] = line["reasons"].get(label, 0) + 1
        for line in table.values():
            line["calls"] = len(line["calls"])
        return [table[k] for k in sorted(table)]


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    """WAL lets readers and one writer work at once (several gunicorn threads and workers)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
