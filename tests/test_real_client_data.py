"""What others wrote: every official HL7 R4 example ServiceRequest, sent as a draft order."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from support.builders import FIXTURES, hook_request, load
from support.conformance import assert_conforms

HL7_SERVICE_REQUESTS = sorted((FIXTURES / "hl7-r4").glob("ServiceRequest-*.json"))


def test_all_hl7_examples_are_here() -> None:
    assert len(HL7_SERVICE_REQUESTS) == 20


@pytest.mark.parametrize("path", HL7_SERVICE_REQUESTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_hl7_example_service_request_gets_200(client: FlaskClient, path: Path, hook: str) -> None:
    resource = load(f"hl7-r4/{path.name}")
    body = hook_request(hook, [resource])
    response = client.post(f"/cds-services/{hook}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()
    assert_conforms(result)
    # none of them is a cervical-spine study: the service stays silent
    assert result == {"cards": []}
