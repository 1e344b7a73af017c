"""Requests in the shapes Epic's public CDS Hooks documentation gives (fhir_fixtures/epic/):
absolute references, OID code systems beside CPT, "no results" searchsets holding a warning
OperationOutcome, the request's flat ``com.epic.cdshooks.request.*`` extension keys, a
PractitionerRole ``userId``, and Epic's RS384 JWT with ``jku``, ``kid``, ``nbf`` and ``sub``."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from support.builders import load

from cds_service.ops.tables import HookCall
from cds_service.pipeline import CallTrace, run_hook
from cds_service.record.prefetch_trace import Sent
from cds_service.web.state import app_state

EPIC_CT = "epic/epic-order-select-ct.json"
NO_RESULT_KEYS = ("observations", "observationValues", "procedures", "diagnosticReports")


def epic_call(client: FlaskClient, **changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Epic-shaped order-select for a CT (a fresh hookInstance), and its answer."""
    body = load(EPIC_CT)
    body["hookInstance"] = str(uuid.uuid4())
    body.update(changes)
    response = client.post("/cds-services/order-select", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return body, answer


def test_an_epic_ct_order_gets_the_usually_not_appropriate_warning(client: FlaskClient) -> None:
    """Absolute references (selections, subject, fullUrl), the CPT code under its OID beside
    Epic's own orderable code, the reason in ICD-10-CM under its OID."""
    _, answer = epic_call(client)
    (card,) = answer["cards"]
    assert card["indicator"] == "warning"
    assert "Usually not appropriate" in card["summary"]
    (action,) = answer["systemActions"]
    order = load(EPIC_CT)["context"]["draftOrders"]["entry"][0]["resource"]
    assert action["resource"]["id"] == order["id"]


def test_the_request_extension_keys_are_accepted_as_sent(client: FlaskClient) -> None:
    body = load(EPIC_CT)
    keys = [k for k in body["extension"] if k.startswith("com.epic.cdshooks.request.")]
    assert "com.epic.cdshooks.request.cds-hooks-specification-version" in keys
    assert body["extension"]["com.epic.cdshooks.request.cds-hooks-specification-version"] == "1.0"
    without = {k: v for k, v in body.items() if k != "extension"}
    _, plain = epic_call(client, **{k: v for k, v in without.items() if k != "hookInstance"})
    _, extended = epic_call(client)
    assert [c["summary"] for c in extended["cards"]] == [c["summary"] for c in plain["cards"]]


def test_a_no_results_searchset_is_read_as_no_resources(app: Any) -> None:
    """Epic's "Resource request returns no results." (a warning OperationOutcome with
    ``search.mode: outcome``) is an empty result: not a failure (nothing is fetched; the call
    has no fhirAuthorization, so a fetch would have been a 412) and not an exclusion."""
    body = load(EPIC_CT)
    for key in NO_RESULT_KEYS:
        (entry,) = body["prefetch"][key]["entry"]
        assert entry["search"]["mode"] == "outcome"
        assert entry["resource"]["issue"][0]["severity"] == "warning"
    deps = app_state(app).dependencies
    trace = CallTrace()
    result = run_hook(app_state(app).services["order-select"], body, deps, trace)
    assert result.fetched == ()
    assert [o.rating for o in result.orders] == ["usually-not-appropriate"]
    for key in NO_RESULT_KEYS:
        seen = trace.prefetch.keys[key]
        assert (seen.sent, seen.fetch, seen.read) == (Sent.EMPTY, None, 0)


def test_an_error_operation_outcome_in_the_searchset_is_still_a_failure(
    client: FlaskClient,
) -> None:
    """The same shape with severity ``error``: the search failed; it is fetched, and with no
    fhirAuthorization that is a 412 naming the key (never "no data")."""
    body = load(EPIC_CT)
    body["prefetch"]["procedures"]["entry"][0]["resource"]["issue"][0]["severity"] = "error"
    response = client.post("/cds-services/order-select", json=body)
    assert response.status_code == 412
    assert "prefetch.procedures" in response.get_json()["issue"][0]["expression"]


def test_a_practitioner_role_user_id_is_kept_as_sent(client: FlaskClient) -> None:
    body, _ = epic_call(client)
    store = app_state(client.application).store
    with store.database.sessions() as session:
        user = session.execute(
            select(HookCall.user_id).where(HookCall.hook_instance == body["hookInstance"])
        ).scalar_one()
    assert user == "PractitionerRole/eYg3-1aBmlDq5kE7Kt1E6ZQ3"


# --------------------------------------------------------------------------- Epic's JWT

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def epic_token(shape: dict[str, Any], **changes: Any) -> str:
    """A token of the fixture's header and claims, signed RS384, at the real time: ``nbf``
    five minutes before ``iat``, as Epic sets it."""
    now = int(time.time())
    claims = {
        **shape["payload"],
        "iat": now,
        "nbf": now - 300,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(changes)
    return jwt.encode(claims, RSA_KEY, algorithm="RS384", headers=shape["header"])


@pytest.fixture
def epic_client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    """Authentication on, trusting the Epic issuer's key inline, its jku allowlisted."""
    shape = load("epic/epic-jwt.json")
    header = shape["header"]
    public = json.loads(RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    jwks = {"keys": [{**public, "kid": header["kid"], "alg": "RS384", "use": "sig"}]}
    issuers = {shape["payload"]["iss"]: {"jwks": jwks, "jku_allowlist": [header["jku"]]}}
    return make_client(now=None, TESTING=False, CDS_TRUSTED_ISSUERS=json.dumps(issuers))


def test_epic_s_jwt_with_nbf_and_sub_is_accepted(epic_client: FlaskClient) -> None:
    shape = load("epic/epic-jwt.json")
    assert shape["header"]["alg"] == "RS384" and {"jku", "kid"} <= set(shape["header"])
    assert {"nbf", "sub"} <= set(shape["payload"])
    body = load(EPIC_CT)
    headers = {"Authorization": f"Bearer {epic_token(shape)}"}
    response = epic_client.post("/cds-services/order-select", json=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_epic_s_jwt_not_yet_valid_is_refused(epic_client: FlaskClient) -> None:
    """``nbf`` is checked (with the leeway): a token valid only in ten minutes is a 401."""
    shape = load("epic/epic-jwt.json")
    later = int(time.time()) + 600
    token = epic_token(shape, nbf=later, iat=later - 600)
    body = copy.deepcopy(load(EPIC_CT))
    headers = {"Authorization": f"Bearer {token}"}
    response = epic_client.post("/cds-services/order-select", json=body, headers=headers)
    assert response.status_code == 401
