"""``cds-service evaluate --explain``: what the service saw, read from the call's trace; and
the hook call's log line naming the keys that came missing or failed in the same words."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from flask.testing import FlaskClient
from support.builders import FIXTURES, hook_request, load, order
from support.log_lines import LogLines, log_lines

from cds_service.cli import main

NOW = "2026-11-23T12:00:00+00:00"
BASE = "https://fhir.example-health.org/interconnect-fhir-oauth/api/FHIR/R4"
AUTH = {
    "access_token": "opaque-token-xyz",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/Patient.read patient/Condition.read",
    "subject": "cds-service",
}


def explain(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    status = main(["evaluate", str(path), "--now", NOW, "--explain", "json"])
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return status, out


def by_key(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k["key"]: k for k in out["explain"]["prefetch"]}


def test_the_epic_request_explained(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = explain(FIXTURES / "epic/epic-order-select-ct.json", capsys)
    assert status == 0 and out["response"]["cards"][0]["indicator"] == "warning"
    keys = by_key(out)
    assert keys["patient"] == {
        "key": "patient",
        "state": "filled",
        "read": 1,
        "kept": 1,
        "skipped": 0,
    }
    assert (keys["conditions"]["state"], keys["conditions"]["read"]) == ("filled", 1)
    assert keys["conditions"]["kept"] == 0  # hypertension: no rule reads it
    assert keys["procedures"]["state"] == "empty"  # Epic's "no results" warning
    (order,) = out["explain"]["orders"]
    assert order["procedure"] == "CT cervical spine without IV contrast"
    assert order["indication"] == "the order's reason: “Cervicogenic headache”, G44.86"
    assert all(group["found"] == "nothing" for group in order["exclusions"])
    assert order["card"].startswith("warning: CT cervical spine without IV contrast")


def test_an_exclusion_is_quoted_under_its_group(capsys: pytest.CaptureFixture[str]) -> None:
    _, out = explain(FIXTURES / "scenarios/excl-radiculopathy-text-only.json", capsys)
    (order,) = out["explain"]["orders"]
    found = {g["group"]: g["found"] for g in order["exclusions"]}
    assert "radiculopathy" in found["radiculopathy"].lower()
    assert found["fever-infection"] == "nothing"
    assert order["verdict"] == "excluded" and order["card"].startswith("info:")


def test_the_text_form_goes_to_stderr_beside_the_response(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = FIXTURES / "epic/epic-order-select-ct.json"
    assert main(["evaluate", str(path), "--now", NOW, "--explain"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["cards"]  # stdout: the response alone
    assert "procedures: empty (read 0, kept 0, skipped 0)" in captured.err
    assert "card: warning:" in captured.err


def test_each_order_says_why_it_has_no_card(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A knee radiograph names no row; an unselected CT is not appraised at order-select."""
    orders = [order("knee", code="73562"), order("ct", code="72125"), order("xr")]
    body = hook_request(
        "order-select", orders, selections=["ServiceRequest/knee", "ServiceRequest/xr"]
    )
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    _, out = explain(path, capsys)
    cards = {o["order"]: o["card"] for o in out["explain"]["orders"]}
    assert (
        cards["ServiceRequest/knee"] == "none: no row of the ACR procedure table names this order"
    )
    assert cards["ServiceRequest/ct"].startswith("none: not among the orders this hook appraises")
    assert cards["ServiceRequest/xr"].startswith("warning:")


def forbidden_request(tmp_path: Path) -> Path:
    """The Epic request without its observations: the FHIR server refuses the search."""
    body = load("epic/epic-order-select-ct.json")
    del body["prefetch"]["observations"]
    body["fhirAuthorization"] = AUTH
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


@pytest.fixture
def forbidden(mock: responses.RequestsMock) -> responses.RequestsMock:
    mock.get(f"{BASE}/Observation", status=403, json={"resourceType": "OperationOutcome"})
    return mock


def test_a_403_names_the_key_its_status_and_the_scope(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    forbidden: responses.RequestsMock,
) -> None:
    monkeypatch.setenv("CDS_FHIR_ALLOWLIST", BASE)
    status, out = explain(forbidden_request(tmp_path), capsys)
    assert status == 1 and out["response"]["resourceType"] == "OperationOutcome"
    seen = by_key(out)["observations"]
    assert seen["state"] == "missing, failed (HTTP 403)"
    assert "patient/Observation.read" in seen["hint"]
    assert by_key(out)["patient"]["state"] == "filled"
    (order,) = out["explain"]["orders"]
    assert order["card"] == "none: the call ended before the orders were appraised"


@pytest.fixture
def calls() -> Iterator[LogLines]:
    with log_lines("cds_service.calls") as lines:
        yield lines


def test_the_log_line_names_the_missing_and_failed_keys_in_the_same_words(
    make_client: Callable[..., FlaskClient], forbidden: responses.RequestsMock, calls: LogLines
) -> None:
    client = make_client(CDS_FHIR_ALLOWLIST=BASE, CDS_FHIR_DEADLINE=2.0)
    body = load("epic/epic-order-select-ct.json")
    del body["prefetch"]["observations"]
    body["fhirAuthorization"] = AUTH
    assert client.post("/cds-services/order-select", json=body).status_code == 412
    (line,) = calls.lines
    assert line["prefetch"] == {"observations": "missing, failed (HTTP 403)"}
    assert "Cervicogenic" not in json.dumps(line) and "Lin" not in json.dumps(line)


def test_a_complete_prefetch_adds_nothing_to_the_log_line(
    client: FlaskClient, calls: LogLines
) -> None:
    body = load("epic/epic-order-select-ct.json")
    assert client.post("/cds-services/order-select", json=body).status_code == 200
    (line,) = calls.lines
    assert "prefetch" not in line


def test_a_key_fetched_in_place_of_a_missing_one_is_named_too(
    make_client: Callable[..., FlaskClient], mock: responses.RequestsMock, calls: LogLines
) -> None:
    mock.get(f"{BASE}/Observation", json={"resourceType": "Bundle", "type": "searchset"})
    client = make_client(CDS_FHIR_ALLOWLIST=BASE, CDS_FHIR_DEADLINE=2.0)
    body = load("epic/epic-order-select-ct.json")
    del body["prefetch"]["observations"]
    body["prefetch"]["procedures"] = {"resourceType": "OperationOutcome", "issue": []}
    mock.get(f"{BASE}/Procedure", json={"resourceType": "Bundle", "type": "searchset"})
    body["fhirAuthorization"] = AUTH
    response = client.post("/cds-services/order-select", json=body)
    assert response.status_code == 200 and response.get_json()["cards"]
    (line,) = calls.lines
    assert line["prefetch"] == {
        "observations": "missing, fetched",
        "procedures": "unusable, fetched",
    }
