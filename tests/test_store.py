"""The store on its own; runs on CDS_DATABASE_URL (SQLite by default, PostgreSQL in CI)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from support.clock import NOW

from cds_service.ops.audit import AuditRow
from cds_service.ops.feedback import FeedbackRow
from cds_service.ops.store import Store
from cds_service.ops.tables import SeenJti


@pytest.fixture(scope="module")
def store() -> Store:
    store = Store(os.environ["CDS_DATABASE_URL"])
    store.upgrade()
    return store


def test_the_store_runs_on_the_configured_database(store: Store) -> None:
    url = os.environ["CDS_DATABASE_URL"]
    assert store.engine.dialect.name == ("postgresql" if url.startswith("postgresql") else "sqlite")


def test_jti_is_claimed_once_until_it_expires(store: Store) -> None:
    jti = str(uuid.uuid4())
    assert store.replay.claim("iss", jti, NOW + timedelta(minutes=5), NOW)
    assert not store.replay.claim("iss", jti, NOW + timedelta(minutes=5), NOW)
    assert store.replay.claim("other-iss", jti, NOW + timedelta(minutes=5), NOW)
    later = NOW + timedelta(minutes=10)  # expired entries are purged; the id may come back
    assert store.replay.claim("iss", jti, later + timedelta(minutes=5), later)


def test_expired_jtis_are_purged(store: Store) -> None:
    store.replay.claim("iss", str(uuid.uuid4()), NOW - timedelta(days=1), NOW - timedelta(days=2))
    store.replay.claim("iss", str(uuid.uuid4()), NOW + timedelta(minutes=5), NOW)
    with store.database.sessions() as session:
        stale = session.query(SeenJti).filter(SeenJti.expires_at < NOW).count()
    assert stale == 0


def card_recorded_at_order_select(
    store: Store, procedure: str, key: str = "advice-1"
) -> tuple[str, str]:
    """A fresh patient and the uuid of the warning card order-select showed for Order a."""
    patient, card = f"p-{uuid.uuid4()}", str(uuid.uuid4())
    row = AuditRow(
        "ServiceRequest/a",
        procedure,
        "rated",
        "usually-not-appropriate",
        "not-appropriate",
        card,
        "warning",
        key,
        "acr-cervical-pain-cervicogenic-headache",
        "test",
    )
    store.audit.record_call("h1", "order-select", NOW, patient, [row])
    return patient, card


def test_overridden_orders_are_per_patient_order_procedure_and_time(store: Store) -> None:
    patient, card = card_recorded_at_order_select(store, "xr-cspine")
    since = NOW - timedelta(hours=1)
    assert store.audit.overridden_orders(patient, ["ServiceRequest/a"], since) == set()
    store.feedback.record(
        "order-select", [FeedbackRow(card, "overridden", "t1")], NOW, remember_overrides=True
    )
    assert store.audit.overridden_orders(
        patient, ["ServiceRequest/a", "ServiceRequest/b"], since
    ) == {("ServiceRequest/a", "advice-1")}
    assert store.audit.overridden_orders("someone-else", ["ServiceRequest/a"], since) == set()
    assert (
        store.audit.overridden_orders(patient, ["ServiceRequest/a"], NOW + timedelta(days=1))
        == set()
    )


def test_a_store_made_before_advice_keys_gains_the_column(tmp_path: object) -> None:
    from sqlalchemy import create_engine, inspect, text

    url = f"sqlite:///{tmp_path}/old.sqlite3"
    old = create_engine(url)
    with old.begin() as connection:
        connection.execute(text("CREATE TABLE appraisals (id INTEGER PRIMARY KEY, call_id INT)"))
    old.dispose()
    store = Store(url)
    store.upgrade()
    columns = {c["name"] for c in inspect(store.engine).get_columns("appraisals")}
    assert "advice_key" in columns
    store.dispose()


def test_an_override_sent_to_another_service_is_not_remembered(store: Store) -> None:
    patient, card = card_recorded_at_order_select(store, "ct-cspine-without")
    store.feedback.record(
        "order-sign", [FeedbackRow(card, "overridden", "t1")], NOW, remember_overrides=True
    )
    assert (
        store.audit.overridden_orders(patient, ["ServiceRequest/a"], NOW - timedelta(hours=1))
        == set()
    )


def test_duplicate_feedback_is_ignored(store: Store) -> None:
    card = str(uuid.uuid4())
    rows = [FeedbackRow(card, "overridden", "t1"), FeedbackRow(card, "overridden", "t1")]
    assert store.feedback.record("order-select", rows, NOW, remember_overrides=True) == 1
    assert store.feedback.record("order-select", rows[:1], NOW, remember_overrides=True) == 0
