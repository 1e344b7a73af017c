"""JWT replay protection: each token id (``jti``) is accepted once until it expires, for all
workers and replicas sharing the store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from cds_service.ops.database import StoreJob, guarded
from cds_service.ops.tables import SeenJti


class ReplayGuard(StoreJob):
    @guarded
    def claim(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record a token id; False when it was seen before and has not expired (a replay)."""
        with self.database.engine.begin() as connection:
            connection.execute(delete(SeenJti).where(SeenJti.expires_at < now))
            values = {"issuer": issuer, "jti": jti, "expires_at": expires_at}
            return self.database.insert_once(connection, SeenJti, values)
