"""Real records nobody here wrote: Synthea patients with a cervical-spine order added.

Each expectation is stated from the record and the guideline, before looking at the output.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from support.builders import CGH, CPT, NO_PRIOR_IMAGING, bundle, load
from support.conformance import assert_conforms
from support.pama import pama_of

CT = (CPT, "72125")
MRI = (CPT, "72141")

CASES = [
    # (patient, imaging order, expected indicator, words on the card, pama-rating)
    pytest.param(
        "Corrin41",
        CT,
        "warning",
        ["Usually not appropriate"],
        "not-appropriate",
        id="Corrin41: adult, chronic neck pain, fever resolved in 2021: CT rated",
    ),
    pytest.param(
        "Karena692",
        MRI,
        "info",
        ["May be appropriate (Disagreement)"],
        "appropriate",
        id="Karena692: adult with chronic neck pain: MRI without contrast",
    ),
    pytest.param(
        "Sumiko254",
        CT,
        "info",
        ["malignancy", "Non-small cell lung cancer"],
        "no-criteria-apply",
        id="Sumiko254: lung and breast cancer (SNOMED CT only): outside the variant",
    ),
    pytest.param(
        "Denis399",
        CT,
        "info",
        ["under 18"],
        "no-criteria-apply",
        id="Denis399: born 2011, a child: outside the variant",
    ),
    pytest.param(
        "Elisa944",
        CT,
        "warning",
        ["Usually not appropriate"],
        "not-appropriate",
        id="Elisa944: forearm fracture 2018 (not the neck), resolved: CT rated",
    ),
]


def request_for(name: str, coding: tuple[str, str], observations: Any = None) -> dict[str, Any]:
    patient = load(f"synthea/{name}-Patient.json")
    order = {
        "resourceType": "ServiceRequest",
        "id": "cspine-1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": coding[0], "code": coding[1]}]},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "reasonCode": [CGH],
    }
    try:
        conditions = load(f"synthea/{name}-Condition.json")
    except FileNotFoundError:
        conditions = None
    return {
        "hook": "order-sign",
        "hookInstance": f"synthea-{name}",
        "context": {
            "userId": "Practitioner/dr-1",
            "patientId": patient["id"],
            "draftOrders": bundle(order),
        },
        "prefetch": {
            "patient": patient,
            "conditions": conditions,
            "observations": observations,
            **NO_PRIOR_IMAGING,
        },
    }


@pytest.mark.parametrize(("name", "coding", "indicator", "words", "pama"), CASES)
def test_synthea_patient(
    client: FlaskClient,
    name: str,
    coding: tuple[str, str],
    indicator: str,
    words: list[str],
    pama: str,
) -> None:
    response = client.post("/cds-services/order-sign", json=request_for(name, coding))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert_conforms(body)
    [card] = body["cards"]
    assert card["indicator"] == indicator
    text = card["summary"] + card.get("detail", "")
    for word in words:
        assert word in text
    assert pama_of(body["systemActions"][0])[0]["code"] == pama


def test_synthea_observations_with_local_codes_are_not_read_as_vitals(
    client: FlaskClient,
) -> None:
    """Bob965's vitals carry local codes under the LOINC system (5088AAAA... TEMPERATURE):
    they are not body temperature 8310-5, so they neither exclude nor break the call."""
    body = request_for("Bob965", CT, observations=load("synthea/Bob965-Observation.json"))
    response = client.post("/cds-services/order-sign", json=body)
    assert response.status_code == 200
    [card] = response.get_json()["cards"]
    assert card["indicator"] == "warning"
