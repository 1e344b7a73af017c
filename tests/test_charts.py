"""Whole charts as EHRs send them (issue 20): fhir_fixtures/charts/.

Ten primary-care charts of 100+ resources (problem lists of 20+ problems coded ICD-10-CM +
SNOMED CT + a local code, some with Epic's "(HCC)" displays; encounter diagnoses; health
concerns; a family history of cancer; six years of vital signs in US units; labs; screening
procedures) belong to the variant's own patients: CT and radiographs of the cervical spine are
still rated "Usually not appropriate" and MRI without contrast "May be appropriate
(Disagreement)" (seed). Each ``*-with-*`` chart is one of them with ONE finding buried in it
that puts the patient outside the variant (seed: radiculopathy, neurologic deficit, red flags,
trauma, initial imaging only) or asks another question (a vascular finding): no order is
rated, and no card says "not appropriate". Expectations written from the seed, not from the
program's output.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.clock import NOW
from support.pama import pama_of

from cds_service import create_app

CHARTS = Path(__file__).resolve().parent.parent / "fhir_fixtures" / "charts"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RATING = {
    "not-appropriate": ("Usually not appropriate", "not-appropriate"),
    "may-be": ("May be appropriate (Disagreement)", "appropriate"),
}
RATED: dict[str, dict[str, str]] = {
    "chart-alvarez": {"ct-1": "not-appropriate"},
    "chart-chen": {"xr-1": "not-appropriate", "mri-1": "may-be"},
    "chart-evans": {"mri-1": "may-be"},
    "chart-fischer": {"ct-1": "not-appropriate"},
    "chart-ito": {"xr-1": "not-appropriate"},
    "chart-jones": {"ct-1": "not-appropriate"},
}
RATED_WITH_HCC: dict[str, dict[str, str]] = {
    "chart-brooks": {"xr-1": "not-appropriate"},
    "chart-dubois": {"ct-1": "not-appropriate"},
    "chart-garcia": {"xr-1": "not-appropriate"},
    "chart-hughes": {"ct-1": "not-appropriate", "mri-1": "may-be"},
}
OUTSIDE: dict[str, str] = {
    # chart: words its card must say (what puts the patient outside, or the other question)
    "chart-alvarez-with-radiculopathy-code": "cervical radiculopathy",
    "chart-alvarez-with-numbness-no-system": "neurologic deficit",
    "chart-chen-with-fever-reading": "fever",
    "chart-evans-with-breast-cancer-history-hcc": "malignancy",
    "chart-evans-mra-with-carotid-dissection": "recorded vascular finding",
    "chart-fischer-with-abnormal-gait-text": "neurologic deficit",
    "chart-fischer-with-flowsheet-fever": "fever",
    "chart-garcia-with-hiv-hcc": "immunosuppression",
    "chart-ito-with-weight-loss-10-months": "weight loss",
    "chart-jones-with-whiplash": "trauma",
    "chart-jones-with-prior-cervical-radiograph": "already imaged",
}
OUTSIDE_WITH_NEW_WORDS: dict[str, str] = {
    "chart-fischer-with-unsteady-gait-words": "neurologic deficit",
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CHARTS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def resources(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for key, value in request["prefetch"].items()
        if key != "patient" and value
        for entry in value.get("entry", [])
    ]


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return create_app({"TESTING": True}, clock=lambda: NOW).test_client()


def answer(client: FlaskClient, request: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/cds-services/{request['hook']}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def pama_codes(body: dict[str, Any]) -> dict[str, str]:
    return {a["resource"]["id"]: pama_of(a)[0]["code"] for a in body.get("systemActions", [])}


def test_every_chart_has_an_expectation() -> None:
    files = {p.stem for p in CHARTS.glob("chart-*.json")}
    expected = {*RATED, *RATED_WITH_HCC, *OUTSIDE, *OUTSIDE_WITH_NEW_WORDS}
    assert files == expected
    assert len({*RATED, *RATED_WITH_HCC}) >= 10


def test_the_generator_writes_the_charts_checked_in() -> None:
    spec = importlib.util.spec_from_file_location("make_charts", CHARTS / "make_charts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    made = module.charts()
    assert set(made) == {p.stem for p in CHARTS.glob("chart-*.json")}
    for name, body in made.items():
        assert body == load(name), f"{name} differs from make_charts.py's output: run it again"


@pytest.mark.parametrize("name", sorted({*RATED, *RATED_WITH_HCC}))
def test_a_chart_is_a_whole_primary_care_record(name: str) -> None:
    request = load(name)
    found = resources(request)
    assert len(found) >= 100
    kinds = Counter(r["resourceType"] for r in found)
    assert kinds["FamilyMemberHistory"] >= 1 and kinds["Procedure"] >= 5
    categories = Counter(
        c["code"]
        for r in found
        if r["resourceType"] == "Condition"
        for c in r["category"][0]["coding"]
    )
    assert categories["problem-list-item"] >= 20
    assert categories["encounter-diagnosis"] >= 5 and categories["health-concern"] >= 1
    problems = [
        r
        for r in found
        if r["resourceType"] == "Condition"
        and r["category"][0]["coding"][0]["code"] == "problem-list-item"
    ]
    systems = Counter(c["system"] for r in problems for c in r["code"]["coding"])
    assert systems[ICD] >= 20 and systems[SNOMED] >= 20 and len(systems) >= 3  # and a local one
    units = {r["valueQuantity"]["code"] for r in found if "valueQuantity" in r}
    assert {"[degF]", "[lb_av]", "[in_i]"} <= units
    dates = [
        datetime.fromisoformat(r["effectiveDateTime"]) for r in found if "effectiveDateTime" in r
    ]
    assert NOW - min(dates) >= timedelta(days=6 * 365)


def test_several_charts_show_epic_hcc_displays() -> None:
    flagged = [
        name
        for name in RATED_WITH_HCC
        if sum(
            "(HCC)" in json.dumps(r["code"])
            for r in resources(load(name))
            if r["resourceType"] == "Condition"
        )
        >= 3
    ]
    assert len(flagged) >= 4


@pytest.mark.parametrize("name", sorted({*OUTSIDE, *OUTSIDE_WITH_NEW_WORDS}))
def test_each_variant_chart_buries_one_finding_in_its_patients_chart(name: str) -> None:
    base = "chart-" + name.removeprefix("chart-").split("-")[0]
    counted = ("Condition", "Observation", "Procedure")
    added = Counter(
        r["resourceType"] for r in resources(load(name)) if r["resourceType"] in counted
    )
    before = Counter(
        r["resourceType"] for r in resources(load(base)) if r["resourceType"] in counted
    )
    assert sum(added.values()) - sum(before.values()) == 1


def check_rated(client: FlaskClient, name: str, expected: dict[str, str]) -> None:
    request = load(name)
    body = answer(client, request)
    cards = body["cards"]
    assert len(cards) == len(expected), [c["summary"] for c in cards]
    drafts = [e["resource"]["id"] for e in request["context"]["draftOrders"]["entry"]]
    for order_id, card in zip(drafts, cards, strict=True):
        assert RATING[expected[order_id]][0] in card["summary"], (name, card["summary"])
    assert pama_codes(body) == {k: RATING[v][1] for k, v in expected.items()}


@pytest.mark.parametrize("name", sorted(RATED))
def test_the_variants_patients_are_still_rated(client: FlaskClient, name: str) -> None:
    check_rated(client, name, RATED[name])


@pytest.mark.parametrize("name", sorted(RATED_WITH_HCC))
def test_the_variants_patients_with_hcc_displays_are_still_rated(
    client: FlaskClient, name: str
) -> None:
    check_rated(client, name, RATED_WITH_HCC[name])


def check_outside(client: FlaskClient, name: str, words: str) -> None:
    request = load(name)
    body = answer(client, request)
    drafts = [e["resource"]["id"] for e in request["context"]["draftOrders"]["entry"]]
    assert len(body["cards"]) == len(drafts)
    for card in body["cards"]:
        text = "\n".join([card["summary"], card.get("detail", "")]).casefold()
        assert "not appropriate" not in text, f"{name}: {card['summary']}"
        assert words in text, f"{name}: {words!r} not in {card['summary']!r}"
    assert pama_codes(body) == dict.fromkeys(drafts, "no-criteria-apply")


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_a_buried_finding_is_never_rated_inappropriate(client: FlaskClient, name: str) -> None:
    check_outside(client, name, OUTSIDE[name])


@pytest.mark.parametrize("name", sorted(OUTSIDE_WITH_NEW_WORDS))
def test_a_buried_finding_in_new_words_is_never_rated_inappropriate(
    client: FlaskClient, name: str
) -> None:
    check_outside(client, name, OUTSIDE_WITH_NEW_WORDS[name])
