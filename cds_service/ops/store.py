"""The durable record, one object per job: the audit trail, feedback, JWT replay, the report.

No tokens are stored, and no free text from the record: ids, codes, ratings and card uuids
only. A clinician's free-text override comment is not kept either (only that there was one),
because it may carry patient details.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from cds_service.ops.audit import AuditTrail
from cds_service.ops.database import Database
from cds_service.ops.feedback import FeedbackLog
from cds_service.ops.replay import ReplayGuard
from cds_service.ops.report import report


class Store:
    """The store at ``url``: its database and the three jobs that share it."""

    def __init__(self, url: str) -> None:
        self.database = Database(url)
        self.audit = AuditTrail(self.database)
        self.feedback = FeedbackLog(self.database)
        self.replay = ReplayGuard(self.database)

    @property
    def engine(self) -> Engine:
        return self.database.engine

    def upgrade(self) -> None:
        self.database.upgrade()

    def ping(self) -> None:
        self.database.ping()

    def dispose(self) -> None:
        self.database.dispose()

    def report(self) -> list[dict[str, Any]]:
        return report(self.database)
