"""The tests' one builder library: FHIR resources and hook requests for the HTTP tests, the
pipeline's dependencies for calling it without Flask, and a real server in a subprocess."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from cds_service.advice.cards import CardPolicy
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.ops.store import Store
from cds_service.pipeline import Dependencies
from cds_service.record.facts import PatientRecord
from cds_service.record.prefetch import assemble_record, refuse
from cds_service.record.relevance import Relevance
from cds_service.services import Service, build_services
from support.clock import NOW

FIXTURES = Path(__file__).resolve().parents[2] / "fhir_fixtures"
CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CGH = {"coding": [{"system": SNOMED, "code": "279016001", "display": "Cervicogenic headache"}]}
PRIOR_IMAGING_KEYS = ("procedures", "diagnosticReports", "imagingStudies", "observationValues")
NO_PRIOR_IMAGING: dict[str, Any] = dict.fromkeys(PRIOR_IMAGING_KEYS)
"""The prior-imaging prefetch keys, each null ("no data"): nothing to fetch."""


def load(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


def order(
    order_id: str, system: str = CPT, code: str = "72040", *, reason: bool = True, **extra: Any
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "plan",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p1"},
    }
    if reason:
        resource["reasonCode"] = [copy.deepcopy(CGH)]
    resource.update(extra)
    return resource


def coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept of one coding (with its display, when given)."""
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return {"coding": [coding]}


def condition(
    condition_id: str,
    code: Any,
    *,
    status: str | None = "active",
    patient: str | None = "p1",
    **extra: Any,
) -> dict[str, Any]:
    """A Condition coded ``code`` (any shape a test sends); its clinical status ``status``
    (none when None) and subject ``Patient/<patient>`` (none when None)."""
    resource: dict[str, Any] = {"resourceType": "Condition", "id": condition_id}
    if status is not None:
        resource["clinicalStatus"] = coded(CONDITION_CLINICAL, status)
    resource["code"] = copy.deepcopy(code)
    if patient is not None:
        resource["subject"] = {"reference": f"Patient/{patient}"}
    resource.update(extra)
    return resource


def observation(
    observation_id: str | None,
    code: Any,
    value: Any,
    *,
    unit: str | None = None,
    unit_code: str | None = None,
    unit_system: str | None = None,
    when: object = None,
    patient: str | None = "p1",
    **extra: Any,
) -> dict[str, Any]:
    """A final Observation coded ``code`` (any shape a test sends) of the quantity ``value``
    (with the ``unit`` text, ``unit_system`` and ``unit_code`` given), dated ``when`` (no date
    when None), of ``Patient/<patient>`` (no subject when None) and with no id when None."""
    resource: dict[str, Any] = {"resourceType": "Observation"}
    if observation_id is not None:
        resource["id"] = observation_id
    resource["status"] = "final"
    resource["code"] = copy.deepcopy(code)
    if patient is not None:
        resource["subject"] = {"reference": f"Patient/{patient}"}
    if when is not None:
        resource["effectiveDateTime"] = when
    quantity: dict[str, Any] = {"value": value}
    for key, given in (("unit", unit), ("system", unit_system), ("code", unit_code)):
        if given is not None:
            quantity[key] = given
    resource["valueQuantity"] = quantity
    resource.update(extra)
    return resource


def study(kind: str, code: str = "72141", **extra: Any) -> dict[str, Any]:
    """A completed prior imaging study ``s1`` as a ``kind`` (Procedure, DiagnosticReport or
    ImagingStudy) coded by the CPT ``code`` (72141: MRI cervical spine without contrast)."""
    concept = {"coding": [{"system": CPT, "code": code}]}
    resource: dict[str, Any] = {"resourceType": kind, "id": "s1", "status": "completed"}
    resource["procedureCode" if kind == "ImagingStudy" else "code"] = (
        [concept] if kind == "ImagingStudy" else concept
    )
    resource.update(extra)
    return resource


def bundle(*resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
        **extra,
    }


def searchset(
    *resources: dict[str, Any], next_url: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A search result Bundle of ``resources`` (with a next link to ``next_url``, when given)."""
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
        **extra,
    }
    if next_url:
        body["link"] = [{"relation": "next", "url": next_url}]
    return body


def adult_prefetch(birth_date: str = "1981-05-04", **keys: Any) -> dict[str, Any]:
    """Patient p1, an adult, and every other prefetch key null ("no data") unless given."""
    return {
        "patient": {"resourceType": "Patient", "id": "p1", "birthDate": birth_date},
        "conditions": None,
        "observations": None,
        **NO_PRIOR_IMAGING,
        **keys,
    }


def hook_request(
    hook: str,
    orders: list[dict[str, Any]],
    *,
    selections: list[str] | None = None,
    prefetch: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "userId": "Practitioner/dr-1",
        "patientId": "p1",
        "draftOrders": bundle(*orders),
    }
    if hook == "order-select":
        context["selections"] = (
            selections if selections is not None else [f"ServiceRequest/{o['id']}" for o in orders]
        )
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
        "prefetch": adult_prefetch() if prefetch is None else prefetch,
    }
    body.update(extra)
    return body


# ---------------------------------------------------------- the pipeline without Flask


@cache
def knowledge() -> Knowledge:
    """The packaged knowledge, loaded once for the tests that need no app."""
    return load_knowledge()


def service(service_id: str) -> Service:
    return build_services(knowledge())[service_id]


def dependencies(store: Store | None = None, policy: CardPolicy | None = None) -> Dependencies:
    """A call at ``NOW`` that may read nothing from a FHIR server (its fetches are refused)."""
    return Dependencies(
        knowledge_source=knowledge,
        policy=policy or CardPolicy(),
        fetcher_for=lambda request: refuse("no FHIR server in this test"),
        clock=lambda: NOW,
        store=store,
    )


def record_of(*resources: dict[str, Any], now: datetime | None = None) -> PatientRecord:
    """The record of patient ``p1`` whose one prefetch key is a searchset of ``resources``,
    made by the real stages (prefetch, selection, reading), fresh memos and no FHIR server;
    with ``now``, vital signs outside every rule's window are left out."""
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    gathered = assemble_record(
        {"record": bundle},
        {"record": "Condition?patient={{context.patientId}}"},
        {"patientId": "p1"},
        Relevance(knowledge()),
        refuse("no FHIR server in this test"),
        now=now,
    )
    return gathered.record


# ---------------------------------------------------------- a real server


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(store: Path, **settings: str) -> dict[str, str]:
    """The environment of a real server: a store and a metrics folder in ``store``, and the
    ``CDS_*`` settings given."""
    import os

    return {
        **os.environ,
        "CDS_DATABASE_URL": f"sqlite:///{store}/store.sqlite3",
        "PROMETHEUS_MULTIPROC_DIR": str(store / "metrics"),
        **settings,
    }


@contextmanager
def running_server(env: dict[str, str], port: int) -> Iterator[str]:
    """``cds-service serve`` (2 workers x 2 threads) on ``port``, up within 60 s (the machine
    may be shared), stopped after. A server that never comes up is killed and its stderr's
    tail raised (read only once it is dead: a live server's stderr never ends)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import requests

    command = [sys.executable, "-m", "cds_service.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "2", "--threads", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                if process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                stderr = process.communicate(timeout=20)[1]
                raise RuntimeError(stderr.decode()[-2000:]) from None
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()
