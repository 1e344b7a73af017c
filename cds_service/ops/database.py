"""The database behind the store: SQLAlchemy, so a SQLite file (the default, zero set-up) or
any SQLAlchemy URL such as PostgreSQL (``CDS_DATABASE_URL``). Every failure of it becomes
:class:`StoreUnavailable` (a 503), logged by type only."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import create_engine, event, insert, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from cds_service.errors import StoreUnavailable
from cds_service.ops.tables import ADDED_COLUMNS, Base, SeenJti

log = logging.getLogger("cds_service.store")

P = ParamSpec("P")
R = TypeVar("R")

SQLITE_BUSY_TIMEOUT = 5.0
"""Seconds a SQLite write waits for the lock before the call is answered 503."""


@contextmanager
def unavailable_on_failure(operation: str) -> Iterator[None]:
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
    """Wrap a store method with :func:`unavailable_on_failure`."""

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with unavailable_on_failure(method.__name__):
            return method(*args, **kwargs)

    return wrapper


class Database:
    """The engine, the tables' creation and upgrade, and an idempotent insert."""

    def __init__(self, url: str) -> None:
        options: dict[str, Any] = {"pool_pre_ping": not url.startswith("sqlite")}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}
            if url in ("sqlite://", "sqlite:///:memory:"):
                options["poolclass"] = StaticPool
        self.engine: Engine = create_engine(url, **options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        """Create the tables that do not exist yet, and add the columns added since (each
        nullable, of the type the model gives it, on SQLite and PostgreSQL alike)."""
        Base.metadata.create_all(self.engine)
        for table, column in ADDED_COLUMNS:
            if column not in self._columns(table):
                self._add_column(table, column)

    def _columns(self, table: str) -> set[str]:
        return {c["name"] for c in inspect(self.engine).get_columns(table)}

    def _add_column(self, table: str, column: str) -> None:
        """``ALTER TABLE ... ADD COLUMN``; another worker upgrading the same store at the same
        moment may have added it first, which is not a failure."""
        kind = Base.metadata.tables[table].columns[column].type.compile(self.engine.dialect)
        try:
            with self.engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))
        except SQLAlchemyError:
            if column not in self._columns(table):
                raise

    def dispose(self) -> None:
        self.engine.dispose()

    @guarded
    def ping(self) -> None:
        """Readiness: the store answers a query on its tables (StoreUnavailable if not)."""
        with self.engine.connect() as connection:
            connection.execute(select(SeenJti.jti).limit(1)).all()

    def insert_once(self, connection: Connection, table: Any, values: dict[str, Any]) -> bool:
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


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    """WAL lets readers and one writer work at once (several threads and workers)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class StoreJob:
    """One of the store's jobs (the audit trail, feedback, JWT replay) on the shared database."""

    def __init__(self, database: Database) -> None:
        self.database = database
