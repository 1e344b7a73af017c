"""A shared test database (PostgreSQL in CI), emptied so that each test starts from nothing."""

from __future__ import annotations

from cds_service.ops.database import Database
from cds_service.ops.tables import Base


def empty_database(url: str) -> None:
    """Every table of the store emptied (created first when missing)."""
    database = Database(url)
    try:
        database.upgrade()
        with database.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    finally:
        database.dispose()
