"""The core without Flask: the pipeline, the appraisal and the advice called directly."""

from __future__ import annotations

import os

import pytest
from support.builders import CPT, dependencies, hook_request, knowledge, order, service
from support.clock import NOW

from cds_service.advice.appraised import Adviser, response_of
from cds_service.advice.cards import CardPolicy
from cds_service.appraisal.criteria import appraise
from cds_service.appraisal.verdicts import Verdict
from cds_service.errors import BadRequest, MissingData
from cds_service.ops.store import Store
from cds_service.pipeline import run_hook
from cds_service.record.drafts import read_draft_orders
from cds_service.record.facts import PatientRecord
from cds_service.record.readers import Skipped

RADIOGRAPHS = "72040"  # usually not appropriate
MRI = "72141"  # may be appropriate


def test_one_result_per_order_carries_appraisal_card_pama_and_action() -> None:
    body = hook_request("order-sign", [order("xr", code=RADIOGRAPHS), order("mri", code=MRI)])
    result = run_hook(service("order-sign"), body, dependencies())
    assert [o.appraisal.order.id for o in result.orders] == ["xr", "mri"]
    ratings = ["usually-not-appropriate", "may-be-appropriate-disagreement"]
    assert [o.rating for o in result.orders] == ratings
    assert [o.card.indicator if o.card else None for o in result.orders] == ["warning", "info"]
    assert [o.pama for o in result.orders] == ["not-appropriate", "appropriate"]
    assert [(o.action.resource or {})["id"] for o in result.orders if o.action] == ["xr", "mri"]
    assert result.log_fields() == {
        "cards": 2,
        "ratings": ratings,
        "fetched": [],
        "skipped": 0,
    }
    assert [c["uuid"] for c in result.body["cards"]] == [
        o.card.uuid for o in result.shown if o.card
    ]


def test_order_select_appraises_only_the_selections() -> None:
    orders = [order("xr", code=RADIOGRAPHS), order("mri", code=MRI)]
    body = hook_request("order-select", orders, selections=["ServiceRequest/mri"])
    result = run_hook(service("order-select"), body, dependencies())
    assert [o.appraisal.order.id for o in result.orders] == ["mri"]


def test_a_rejected_draft_order_is_counted_as_skipped() -> None:
    """The draft orders' collector of skipped resources is the one the log line reads."""
    broken = order("bad", code=RADIOGRAPHS, status=["not", "a", "code"])
    body = hook_request("order-sign", [broken, order("xr", code=RADIOGRAPHS)])
    result = run_hook(service("order-sign"), body, dependencies())
    assert [o.appraisal.order.id for o in result.orders] == ["xr"]
    assert result.skipped == 1


def test_a_call_with_nothing_to_appraise_reads_no_record_and_says_nothing() -> None:
    body = hook_request("order-sign", [order("lab", system="http://loinc.org", code="2345-7")])
    body["prefetch"] = {}  # every key missing: it would have to be fetched (and be refused)
    result = run_hook(service("order-sign"), body, dependencies())
    assert result.orders == () and result.body == {"cards": []}


def test_a_missing_prefetch_key_that_cannot_be_fetched_is_a_412() -> None:
    body = hook_request("order-sign", [order("xr", code=RADIOGRAPHS)])
    del body["prefetch"]["conditions"]
    with pytest.raises(MissingData, match="conditions"):
        run_hook(service("order-sign"), body, dependencies())


def test_the_hook_must_be_the_services() -> None:
    body = hook_request("order-select", [order("xr", code=RADIOGRAPHS)])
    with pytest.raises(BadRequest, match="does not match service 'order-sign'"):
        run_hook(service("order-sign"), body, dependencies())


def test_the_audit_rows_are_read_from_the_results(tmp_path: object) -> None:
    store = Store(os.environ["CDS_DATABASE_URL"])
    store.upgrade()
    body = hook_request("order-sign", [order("xr", code=RADIOGRAPHS)])
    result = run_hook(service("order-sign"), body, dependencies(store))
    (line,) = store.report()
    assert (line["service"], line["rating"], line["orders"], line["cards"]) == (
        "order-sign",
        result.orders[0].rating,
        1,
        1,
    )
    store.dispose()


def test_appraise_and_advise_without_the_pipeline() -> None:
    k = knowledge()
    skipped = Skipped()
    drafts = read_draft_orders(
        {"resourceType": "Bundle", "entry": [{"resource": order("ct", code="72125")}]},
        k.codes.system_uris,
        skipped,
    )
    record = PatientRecord(patient_id="p1", birth_date=NOW.date().replace(year=1980))
    (appraisal,) = appraise(drafts.orders, record, k, NOW, drafts.references)
    assert appraisal.verdict is Verdict.RATED and appraisal.category == "usually-not-appropriate"
    adviser = Adviser(k, CardPolicy(ehr_profile="spec"), NOW, drafts.orders)
    advised = adviser.advise(appraisal)
    assert advised.card is not None and advised.card.indicator == "warning"
    actions = [a.type for s in advised.card.suggestions for a in s.actions]
    assert "create" in actions and "delete" in actions
    hidden = adviser.advise(appraisal, hidden=True)
    assert hidden.card is None and hidden.pama == advised.pama == "not-appropriate"
    response = response_of([advised])
    assert advised.action is not None and response.systemActions == [advised.action]
    assert response.extension == {"systemActions": [advised.action.model_dump(mode="json")]}


def test_codes_of_the_table_are_known_to_the_record_layer() -> None:
    assert (CPT, RADIOGRAPHS) in knowledge().codes.procedure_by_code
