"""The app factory, discovery, health, CORS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_service import create_app
from cds_service.clinical.knowledge_loader import PACKAGED_KNOWLEDGE, KnowledgeError
from cds_service.settings import Settings

LEGAL_TOKENS = re.compile(
    r"\{\{(context\.(userId|patientId|encounterId)|userPractitionerId|userPractitionerRoleId"
    r"|userPatientId|userRelatedPersonId)\}\}"
)


def test_factory_takes_config_and_settings() -> None:
    assert not create_app().testing
    app = create_app({"TESTING": True, "CDS_MAX_BODY_BYTES": 1234})
    assert app.testing
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert create_app(Settings(max_body_bytes=99)).config["MAX_CONTENT_LENGTH"] == 99


def test_factory_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_MAX_BODY_BYTES", "4321")
    assert create_app().config["MAX_CONTENT_LENGTH"] == 4321


def test_broken_knowledge_file_stops_start_up(tmp_path: Path) -> None:
    broken = tmp_path / "k.yaml"
    broken.write_text(
        PACKAGED_KNOWLEDGE.read_text().replace(
            "category: usually-not-appropriate", "category: rather-dubious", 1
        )
    )
    with pytest.raises(KnowledgeError, match=r"k\.yaml: procedures\.1\.category"):
        create_app({"knowledge_file": broken})


def test_discovery_lists_one_service_per_hook(client: FlaskClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = response.get_json()["services"]
    assert sorted((s["id"], s["hook"]) for s in services) == [
        ("order-select", "order-select"),
        ("order-sign", "order-sign"),
    ]
    for service in services:
        assert service["title"] and service["description"]
        assert set(service["prefetch"]) == {
            "patient",
            "conditions",
            "observations",
            "procedures",
            "diagnosticReports",
            "imagingStudies",
            "observationValues",
        }
        for key, kind in (("procedures", "Procedure"), ("diagnosticReports", "DiagnosticReport")):
            template = service["prefetch"][key]
            assert template.startswith(f"{kind}?patient={{{{context.patientId}}}}&code=")
            assert {"72141", "30667-0", "72125", "RPID21", "70498"} <= set(
                template.split("code=")[1].split(",")
            )
        assert service["prefetch"]["imagingStudies"] == "ImagingStudy?patient={{context.patientId}}"
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert "http://loinc.org|8310-5" in service["prefetch"]["observations"]
        assert "http://loinc.org|29463-7" in service["prefetch"]["observations"]
        # examination findings, coded as the finding or valued as one
        assert "http://snomed.info/sct|44077006" in service["prefetch"]["observations"]
        assert service["prefetch"]["observationValues"].startswith(
            "Observation?patient={{context.patientId}}&value-concept="
        )
        assert "http://snomed.info/sct|26544005" in service["prefetch"]["observationValues"]
        for template in service["prefetch"].values():
            tokens = re.findall(r"\{\{[^}]*\}\}", template)
            assert tokens and all(LEGAL_TOKENS.fullmatch(t) for t in tokens), template


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_cors_preflight_from_the_sandbox(client: FlaskClient) -> None:
    response = client.options(
        "/cds-services/order-select",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_cors_origins_are_configurable() -> None:
    client = create_app({"cors_origins": "https://ehr.example.org"}).test_client()
    allowed = client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    other = client.get("/cds-services", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers
