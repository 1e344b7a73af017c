"""The work one hook call may ask for, enforced by the request's models (protocol.py): counted
before any draft order or prefetch resource is read, and only when validation is given limits.
The HTTP answers (a 400 naming the setting) are in test_robustness.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from cds_service.errors import BadRequest
from cds_service.pipeline import parse
from cds_service.protocol import HookRequest, OrderSignContext, RequestLimits
from cds_service.record.raw_json import decode_request

LIMITS = RequestLimits(draft_orders=2, prefetch_resources=3)


def hook_request(prefetch: dict[str, Any]) -> dict[str, Any]:
    return {"hook": "order-sign", "hookInstance": "h-1", "context": {}, "prefetch": prefetch}


def bundle(entries: int) -> dict[str, Any]:
    condition = {"resource": {"resourceType": "Condition", "id": "c"}}
    return {"resourceType": "Bundle", "entry": [condition] * entries}


class NeverDecoded:
    """A prefetch value that counts its entries and must not be decoded to be counted."""

    def entry_count(self) -> int | None:
        return 4

    def value(self) -> Any:
        raise AssertionError("decoded to be counted")


def refusals(model: type[Any], data: Any) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data, context=LIMITS)
    return [(error["loc"], error["type"]) for error in caught.value.errors()]


def test_a_raw_prefetch_bundle_over_the_limit_is_refused_where_it_is_modelled() -> None:
    body = json.dumps(hook_request({"conditions": bundle(4), "ok": bundle(3)})).encode()
    decoded = decode_request(body)  # the prefetch values stay raw JSON
    assert refusals(HookRequest, decoded) == [(("prefetch", "conditions"), "too_many_resources")]
    assert HookRequest.model_validate(decoded).prefetch is not None  # no limits: not counted


def test_a_raw_value_is_counted_without_being_decoded() -> None:
    found = refusals(HookRequest, hook_request({"conditions": NeverDecoded()}))
    assert found == [(("prefetch", "conditions"), "too_many_resources")]


def test_a_value_that_is_no_bundle_is_not_counted() -> None:
    prefetch = {"patient": {"resourceType": "Patient", "id": "p"}, "odd": [1, 2, 3, 4]}
    assert HookRequest.model_validate(hook_request(prefetch), context=LIMITS).prefetch == prefetch


def test_draft_orders_over_the_limit_are_refused_before_their_shape_is_read() -> None:
    context = {"userId": "u", "patientId": "p", "draftOrders": {"entry": ["no", "no", "no"]}}
    assert refusals(OrderSignContext, context) == [(("draftOrders",), "too_many_orders")]


def test_the_refusal_names_the_setting_and_cuts_a_long_key() -> None:
    key = "k" * 500
    with pytest.raises(BadRequest) as caught:
        parse(HookRequest, hook_request({key: bundle(4)}), limits=LIMITS)
    assert caught.value.expression == [f"prefetch.{'k' * 64}"]
    assert "CDS_MAX_PREFETCH_RESOURCES" in caught.value.message
    assert key not in caught.value.message
