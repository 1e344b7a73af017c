"""The clinic's calendar (CDS_TIMEZONE) decides the date on which a patient turns 18."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from support.builders import CPT, hook_request, order

from cds_service import create_app
from cds_service.appraisal.exclusions import age_finding
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.errors import StartupError
from cds_service.record.facts import PatientRecord

BORN = "2008-11-24"
# 2026-11-23T12:00Z is already 2026-11-24 01:00 in Auckland (NZDT, UTC+13): the 18th birthday
AUCKLAND_MORNING = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# 2026-11-24T03:00Z is still 2026-11-23 19:00 in Los Angeles (PST, UTC-8): one day short of 18
LOS_ANGELES_EVENING = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "zone", "adult"),
    [
        (AUCKLAND_MORNING, "UTC", False),
        (AUCKLAND_MORNING, "Pacific/Auckland", True),
        (LOS_ANGELES_EVENING, "UTC", True),
        (LOS_ANGELES_EVENING, "America/Los_Angeles", False),
    ],
)
def test_the_pure_core_reads_age_on_the_date_of_the_now_it_is_given(
    instant: datetime, zone: str, adult: bool
) -> None:
    record = PatientRecord(patient_id="p1", birth_date=date.fromisoformat(BORN))
    finding = age_finding(record, load_knowledge(), instant.astimezone(ZoneInfo(zone)))
    assert (finding is None) is adult
    if not adult:
        assert finding is not None and finding.group_id == "not-adult"


def call(zone: str | None, instant: datetime) -> dict[str, Any]:
    config: dict[str, Any] = {"TESTING": True}
    if zone:
        config["TIMEZONE"] = zone
    client = create_app(config, clock=lambda: instant).test_client()
    body = hook_request("order-select", [order("ct-1", CPT, "72125")])
    body["prefetch"]["patient"]["birthDate"] = BORN
    response = client.post("/cds-services/order-select", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    [card] = response.get_json()["cards"]
    return dict(card)


def test_18_on_the_clinics_date_though_not_yet_in_utc() -> None:
    assert "under 18" in call(None, AUCKLAND_MORNING)["detail"]  # default UTC: still 17
    card = call("Pacific/Auckland", AUCKLAND_MORNING)
    assert card["indicator"] == "warning"  # an adult: the CT is rated
    assert "Usually not appropriate" in card["summary"]


def test_18_in_utc_though_not_yet_on_the_clinics_date() -> None:
    assert "Usually not appropriate" in call(None, LOS_ANGELES_EVENING)["summary"]
    card = call("America/Los_Angeles", LOS_ANGELES_EVENING)
    assert card["indicator"] == "info"
    assert "under 18" in card["detail"]
    assert "not appropriate" not in card["summary"].casefold()


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "utc", "", "../etc/passwd"])
def test_an_unknown_time_zone_stops_start_up(zone: str) -> None:
    with pytest.raises(StartupError, match="CDS_TIMEZONE"):
        create_app({"TIMEZONE": zone})


def test_the_time_zone_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_TIMEZONE", "Pacific/Auckland")
    card = call(None, AUCKLAND_MORNING)
    assert "Usually not appropriate" in card["summary"]
