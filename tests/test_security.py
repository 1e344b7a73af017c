"""Client authentication with the CDS Hooks JWT, with keys generated in the test."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask.testing import FlaskClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cds_service import create_app
from cds_service.web.state import app_state

ISS = "https://ehr.example.org"
REMOTE_ISS = "https://remote-ehr.example.org"
REMOTE_JWKS = "https://remote-ehr.example.org/.well-known/jwks.json"
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JWKS = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
DATA = Path(__file__).parent / "data"
DISCOVERY = "http://localhost/cds-services"


def jwk(public: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = ECAlgorithm if alg.startswith("ES") else RSAAlgorithm
    data: dict[str, Any] = json.loads(algorithm.to_jwk(public))
    return {**data, "kid": kid, "alg": alg, "use": "sig"}


EC_KEY = ec.generate_private_key(ec.SECP384R1())
EC256_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP384R1())
KEYS: dict[str, tuple[Any, str]] = {
    "ec-1": (EC_KEY, "ES384"),
    "ec256-1": (EC256_KEY, "ES256"),
    "rsa-1": (RSA_KEY, "RS384"),
}
JWKS = {"keys": [jwk(key.public_key(), kid, alg) for kid, (key, alg) in KEYS.items()]}


def issuers(**extra: Any) -> str:
    return json.dumps(
        {
            ISS: {"jwks": JWKS, **extra},
            REMOTE_ISS: {"jwks_url": REMOTE_JWKS},
            SANDBOX_ISS: {"jwks_url": SANDBOX_JWKS},
        }
    )


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    """Authentication on, at the real time (the tokens' iat and exp are the real time's)."""
    return make_client(now=None, TESTING=False, CDS_TRUSTED_ISSUERS=issuers())


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISS, "aud": DISCOVERY, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def token(
    kid: str = "ec-1", key: Any = None, alg: str | None = None, headers: Any = None, **changes: Any
) -> str:
    signing_key, default_alg = KEYS.get(kid, (EC_KEY, "ES384"))
    header = {"kid": kid, "typ": "JWT", **(headers or {})}
    return jwt.encode(
        claims(**changes), key or signing_key, algorithm=alg or default_alg, headers=header
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], body: dict[str, Any], secret: bytes | None = None) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(body).encode())
    if secret is None:
        return head + "."
    return head + "." + b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


def get(client: FlaskClient, bearer: str | None, path: str = "/cds-services") -> Any:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return client.get(path, headers=headers)


@pytest.mark.parametrize("kid", ["ec-1", "rsa-1", "ec256-1"])
def test_a_valid_token_passes(client: FlaskClient, kid: str) -> None:
    response = get(client, token(kid))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_hook_call_needs_its_own_url_as_audience(client: FlaskClient) -> None:
    body = json.loads(
        (
            Path(__file__).parent.parent
            / "fhir_fixtures"
            / "scenarios"
            / "sandbox-imaging-screen.json"
        ).read_text()
    )
    url = "http://localhost/cds-services/order-select"
    ok = client.post(
        "/cds-services/order-select",
        json=body,
        headers={"Authorization": f"Bearer {token(aud=url)}"},
    )
    assert ok.status_code == 200
    wrong = client.post(
        "/cds-services/order-select", json=body, headers={"Authorization": f"Bearer {token()}"}
    )  # aud: discovery
    assert wrong.status_code == 401


PUBLIC_PEM = EC_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)

REFUSED = {
    "no header": None,
    "malformed token": "not.a.jwt",
    "garbage": "%%%",
    "alg none": unsigned({"alg": "none", "typ": "JWT", "kid": "ec-1"}, claims()),
    "HS256 with the public key as secret": unsigned(
        {"alg": "HS256", "typ": "JWT", "kid": "ec-1"}, claims(), PUBLIC_PEM
    ),
    "wrong signature": token(key=OTHER_EC_KEY),
    "unknown kid": token(kid="nobody", key=EC_KEY, alg="ES384"),
    "untrusted iss": token(iss="https://evil.example.com"),
    "jku not allowlisted": token(headers={"jku": "https://evil.example.com/jwks.json"}),
    "wrong aud": token(aud="https://other-service.example.org/cds-services"),
    "expired": lambda: token(exp=int(time.time()) - 120, iat=int(time.time()) - 420),
    "not yet valid": lambda: token(nbf=int(time.time()) + 300),
    "issued in the future": lambda: token(iat=int(time.time()) + 300),
    "no jti": token(jti=None),
    "no exp": token(exp=None),
    "jti too long for the replay store": token(jti="j" * 301),
    "jku not a string (forged, unsigned)": unsigned(
        {"alg": "ES384", "typ": "JWT", "kid": "ec-1", "jku": ["x"]}, claims()
    )
    + "AAAA",
    "lifetime over an hour": lambda: token(exp=int(time.time()) + 7200),
    "exp beyond any calendar": token(exp=10**20),
    "jti not a string": token(jti=12345),
    "RSA key used as ES384": token(kid="rsa-1", key=EC_KEY, alg="ES384"),
}


@pytest.mark.parametrize("bearer", REFUSED.values(), ids=REFUSED.keys())
def test_refused_with_a_bare_401(
    client: FlaskClient, bearer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    if callable(bearer):  # a token relative to the time of the test, not of its collection
        bearer = bearer()
    with caplog.at_level("WARNING"):
        response = get(client, bearer)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json() == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login", "diagnostics": "authentication required"}],
    }
    assert "refused GET /cds-services" in caplog.text  # the reason goes to the log ...
    if bearer:
        assert bearer not in caplog.text  # ... the token never does


def test_a_replayed_jti_is_refused(client: FlaskClient) -> None:
    bearer = token()
    assert get(client, bearer).status_code == 200
    assert get(client, bearer).status_code == 401


def test_replay_store_is_shared_between_app_instances() -> None:
    first = create_app({"CDS_TRUSTED_ISSUERS": issuers()}).test_client()
    second = create_app({"CDS_TRUSTED_ISSUERS": issuers()}).test_client()
    bearer = token()
    assert get(first, bearer).status_code == 200
    assert get(second, bearer).status_code == 401


def test_tenant_allowlist() -> None:
    client = create_app({"CDS_TRUSTED_ISSUERS": issuers(tenants=["hospital-a"])}).test_client()
    assert get(client, token(tenant="hospital-a")).status_code == 200
    assert get(client, token(tenant="hospital-b")).status_code == 401
    assert get(client, token()).status_code == 401


def test_extra_claims_such_as_epics_sub_are_fine(client: FlaskClient) -> None:
    assert get(client, token(sub="epic-client-id", nbf=int(time.time()) - 5)).status_code == 200


def test_public_base_url_behind_a_proxy() -> None:
    client = create_app(
        {"CDS_TRUSTED_ISSUERS": issuers(), "CDS_PUBLIC_BASE_URL": "https://cds.example.org/"}
    ).test_client()
    public = "https://cds.example.org/cds-services"
    assert get(client, token(aud=public)).status_code == 200
    assert get(client, token()).status_code == 401  # the internal URL is not the audience


class FakeMonotonic:
    """``time`` as cds_service.web.auth sees it, with a monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return time.time()


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr("cds_service.web.auth.time", fake)
    return fake


def test_jwks_url_is_fetched_cached_and_refreshed_on_an_unknown_kid(
    client: FlaskClient, mock: responses.RequestsMock, monotonic: FakeMonotonic
) -> None:
    first = {"keys": [jwk(EC_KEY.public_key(), "old", "ES384")]}
    second = {"keys": [*first["keys"], jwk(RSA_KEY.public_key(), "new", "RS384")]}
    mock.get(REMOTE_JWKS, json=first)
    assert get(client, token(kid="old", key=EC_KEY, alg="ES384", iss=REMOTE_ISS)).status_code == 200
    assert get(client, token(kid="old", key=EC_KEY, alg="ES384", iss=REMOTE_ISS)).status_code == 200
    assert len(mock.calls) == 1  # cached
    mock.replace(responses.GET, REMOTE_JWKS, json=second)
    # a kid the set fetched within the last 30 s lacks is refused without a fetch ...
    refused = get(client, token(kid="new", key=RSA_KEY, alg="RS384", iss=REMOTE_ISS))
    assert refused.status_code == 401 and len(mock.calls) == 1
    monotonic.now += 31  # ... and fetched once the set is older (a rotated key)
    response = get(client, token(kid="new", key=RSA_KEY, alg="RS384", iss=REMOTE_ISS))
    assert response.status_code == 200
    assert len(mock.calls) == 2  # refreshed once for the unknown kid
    flood = get(client, token(kid="newer", key=RSA_KEY, alg="RS384", iss=REMOTE_ISS))
    assert flood.status_code == 401
    assert len(mock.calls) == 2  # another unknown kid right away does not fetch again


def test_the_sandbox_published_key_works_as_a_trusted_issuer(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    """Signed exactly as the CDS Hooks sandbox signs (its published key, its header)."""
    mock.get(SANDBOX_JWKS, json=json.loads((DATA / "sandbox-jwks.json").read_text()))
    keypair = json.loads((DATA / "sandbox-published-keypair.json").read_text())["keys"][0]
    private = jwt.PyJWK.from_dict(keypair).key
    now = int(time.time())
    bearer = jwt.encode(
        {
            "iss": SANDBOX_ISS,
            "aud": DISCOVERY,
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
        },
        private,
        algorithm="ES384",
        headers={"kid": keypair["kid"], "typ": "JWT", "jku": SANDBOX_JWKS},
    )
    assert get(client, bearer).status_code == 200


def test_health_and_preflight_need_no_token(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    preflight = client.options(
        "/cds-services/order-sign",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert preflight.status_code == 200


def test_feedback_needs_a_token_too(client: FlaskClient) -> None:
    assert client.post("/cds-services/order-sign/feedback", json={}).status_code == 401


@pytest.mark.parametrize(
    "value",
    [
        '{"https://x": {}}',
        '{"https://x": {"jwks": {"keys": []}, "jwks_url": "https://y"}}',
        "[1]",
        "not json",
        "@/no/such/file.json",
    ],
)
def test_bad_trusted_issuers_stop_start_up(value: str) -> None:
    from cds_service.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        create_app({"CDS_TRUSTED_ISSUERS": value})


def test_trusted_issuers_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(issuers())
    client = create_app({"CDS_TRUSTED_ISSUERS": f"@{path}"}).test_client()
    assert get(client, token()).status_code == 200
    assert get(client, None).status_code == 401


def test_rs384_with_a_jwk_that_declares_no_alg() -> None:
    bare = {k: v for k, v in jwk(RSA_KEY.public_key(), "rsa-bare", "RS384").items() if k != "alg"}
    config = json.dumps({ISS: {"jwks": {"keys": [bare]}}})
    client = create_app({"CDS_TRUSTED_ISSUERS": config}).test_client()
    assert get(client, token(kid="rsa-bare", key=RSA_KEY, alg="RS384")).status_code == 200
    assert get(client, token(kid="rsa-bare", key=RSA_KEY, alg="RS256")).status_code == 200


def test_the_scheme_is_case_insensitive(client: FlaskClient) -> None:
    response = client.get("/cds-services", headers={"Authorization": f"bearer {token()}"})
    assert response.status_code == 200


def test_forged_tokens_with_random_kids_do_not_make_the_service_fetch_jwks(
    client: FlaskClient, mock: responses.RequestsMock, monotonic: FakeMonotonic
) -> None:
    """The issuer's JWKS endpoint is failing: however many tokens with a random kid arrive,
    it is tried at most once per 30 s (a failed fetch counts like a successful one)."""
    mock.get(REMOTE_JWKS, status=503)
    for _ in range(20):
        forged = token(kid=str(uuid.uuid4()), key=RSA_KEY, alg="RS384", iss=REMOTE_ISS)
        assert get(client, forged).status_code == 401
    assert len(mock.calls) == 1
    monotonic.now += 31
    get(client, token(kid=str(uuid.uuid4()), key=RSA_KEY, alg="RS384", iss=REMOTE_ISS))
    assert len(mock.calls) == 2


def test_no_lock_is_held_while_the_jwks_is_fetched(mock: responses.RequestsMock) -> None:
    """While one call waits on a slow JWKS endpoint, another is refused at once, not queued
    behind the lock."""
    import threading

    from cds_service.errors import AuthenticationFailed
    from cds_service.record.fhir_client import cookieless_session
    from cds_service.settings import TrustedIssuers
    from cds_service.web.auth import KeyResolver

    started = threading.Event()

    def slow(request: Any) -> tuple[int, dict[str, str], str]:
        started.set()
        time.sleep(1.5)
        return 503, {}, ""

    mock.add_callback(responses.GET, REMOTE_JWKS, callback=slow)
    resolver = KeyResolver(TrustedIssuers.model_validate(issuers()).issuers, cookieless_session())

    def fetch_first() -> None:
        with contextlib.suppress(AuthenticationFailed):
            resolver.key(REMOTE_ISS, "a", None)

    first = threading.Thread(target=fetch_first)
    first.start()
    assert started.wait(2)
    begun = time.monotonic()
    with pytest.raises(AuthenticationFailed):
        resolver.key(REMOTE_ISS, "b", None)
    assert time.monotonic() - begun < 0.5
    first.join()
    assert len(mock.calls) == 1


def test_a_store_failure_is_a_503_not_a_401(monkeypatch: pytest.MonkeyPatch) -> None:
    """A locked or full database: the caller's token may be fine, so never "authentication
    required"; /healthz stays liveness and /readyz says the store is down."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    app = create_app({"CDS_TRUSTED_ISSUERS": issuers()})
    client = app.test_client()
    store = app_state(app).store

    def locked(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(store.engine, "begin", locked)
    monkeypatch.setattr(store.engine, "connect", locked)
    response = get(client, token())
    assert response.status_code == 503, response.get_data(as_text=True)
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "transient"
    assert response.headers["Retry-After"]
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["resourceType"] == "OperationOutcome"
    monkeypatch.undo()
    assert client.get("/readyz").get_json() == {"status": "ready"}
