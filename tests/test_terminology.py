"""SNOMED CT by hierarchy: roots expanded by a FHIR terminology server, cached, refreshed."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from flask import Flask
from support.builders import CPT, SNOMED, bundle, coded, condition, hook_request, order

from cds_service import create_app
from cds_service.cli import main
from cds_service.clinical.knowledge_loader import PACKAGED_KNOWLEDGE, load_knowledge
from cds_service.errors import TerminologyError
from cds_service.ops.knowledge_updater import KnowledgeUpdater
from cds_service.ops.terminology import TerminologyClient
from cds_service.settings import Settings
from cds_service.web.state import app_state

TX = "https://tx.example.org/fhir"
EXPAND = f"{TX}/ValueSet/$expand"
MALIGNANCY = "363346000"
NSCLC = "1078301000112109"  # a malignancy concept under 363346000, listed nowhere in the file


@pytest.fixture(autouse=True)
def no_thread_outlives_its_test() -> Iterator[None]:
    """A refresh thread left running would call the network once responses is gone."""
    yield
    time.sleep(0.01)
    alive = [t for t in threading.enumerate() if t.name == "snomed-refresh" and t.is_alive()]
    assert not alive


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "snomed-expansions.json"


def page(codes: list[str], total: int | None, system: str = SNOMED) -> dict[str, Any]:
    expansion: dict[str, Any] = {"contains": [{"system": system, "code": c} for c in codes]}
    if total is not None:
        expansion["total"] = total
    return {"resourceType": "ValueSet", "expansion": expansion}


PACKAGED_ROOTS = load_knowledge().codes.snomed_roots


def asked_root(request: Any) -> str:
    """The SNOMED CT root of an ``$expand`` call (``url=...fhir_vs=ecl/<< 363346000``)."""
    url = parse_qs(urlsplit(request.url or "").query).get("url", [""])[0]
    return url.rsplit(" ", 1)[-1]


def serve_pages(mock: responses.RequestsMock, *pages: dict[str, Any]) -> None:
    """For << 363346000 each page in turn, then (if asked again) an empty one; every other
    group's root expands to itself alone."""
    queue = list(pages)

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        root = asked_root(request)
        if root != MALIGNANCY:
            return 200, {}, json.dumps(page([root], 1))
        return 200, {}, json.dumps(queue.pop(0) if queue else page([], None))

    mock.add_callback(responses.GET, EXPAND, callback=answer)


def malignancy_queries(mock: responses.RequestsMock) -> list[dict[str, list[str]]]:
    return [q for q in queries(mock) if q.get("url", [""])[0].endswith(f"<< {MALIGNANCY}")]


def queries(mock: responses.RequestsMock) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(call.request.url or "").query) for call in mock.calls]


def config(cache: Path, **extra: Any) -> dict[str, Any]:
    return {"TESTING": True, "CDS_TERMINOLOGY_CACHE": cache, **extra}


def ct_summaries(app: Flask, condition_code: str = NSCLC) -> list[str]:
    """The card summaries for a CT cervical spine (usually not appropriate) for this patient."""
    client = app.test_client()
    services = client.get("/cds-services").get_json()["services"]
    keys = next(s["prefetch"] for s in services if s["id"] == "order-sign")
    prefetch: dict[str, Any] = dict.fromkeys(keys)  # every other key: no data
    prefetch["patient"] = {"resourceType": "Patient", "id": "p1", "birthDate": "1981-05-04"}
    prefetch["conditions"] = bundle(
        condition("c1", coded(SNOMED, condition_code)), type="searchset"
    )
    body = hook_request("order-sign", [order("ct-1", CPT, "72125")], prefetch=prefetch)
    response = client.post("/cds-services/order-sign", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [card["summary"] for card in response.get_json()["cards"]]


def not_appropriate(summaries: list[str]) -> bool:
    return any("not appropriate" in s.lower() for s in summaries)


# --- the client -------------------------------------------------------------------------------


def test_expansion_pages_until_the_total(mock: responses.RequestsMock) -> None:
    serve_pages(
        mock,
        page([MALIGNANCY, NSCLC], 5),
        page(["93880001", "372130007"], 5),
        page(["94225005"], 5),
    )
    client = TerminologyClient(TX, page_size=2)
    assert client.expand(MALIGNANCY) == sorted(
        [MALIGNANCY, NSCLC, "93880001", "372130007", "94225005"]
    )
    assert [q["offset"] for q in queries(mock)] == [["0"], ["2"], ["4"]]
    assert all(q["count"] == ["2"] for q in queries(mock))


def test_expansion_without_a_total_stops_at_an_empty_page(mock: responses.RequestsMock) -> None:
    serve_pages(mock, page([MALIGNANCY], None), page([NSCLC], None))
    assert TerminologyClient(TX, page_size=1).expand(MALIGNANCY) == sorted([MALIGNANCY, NSCLC])
    assert len(mock.calls) == 3


def test_the_ecl_value_set_is_url_encoded(mock: responses.RequestsMock) -> None:
    serve_pages(mock, page([MALIGNANCY], 1))
    TerminologyClient(TX).expand(MALIGNANCY)
    request = mock.calls[0].request
    raw = urlsplit(request.url or "").query
    assert "url=http%3A%2F%2Fsnomed.info%2Fsct%3Ffhir_vs%3Decl%2F%3C%3C%20363346000" in raw
    assert queries(mock)[0]["url"] == ["http://snomed.info/sct?fhir_vs=ecl/<< 363346000"]
    assert request.headers["Accept"] == "application/fhir+json"


def test_nested_contains_are_read_and_other_systems_dropped(
    mock: responses.RequestsMock,
) -> None:
    body = page([MALIGNANCY], 4)
    body["expansion"]["contains"][0]["contains"] = [
        {"system": SNOMED, "code": NSCLC},
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C34.90"},
    ]
    body["expansion"]["contains"].append({"code": "93880001"})
    serve_pages(mock, body)
    assert TerminologyClient(TX).expand(MALIGNANCY) == sorted([MALIGNANCY, NSCLC])


def test_an_empty_expansion_is_a_failure(mock: responses.RequestsMock) -> None:
    mock.get(EXPAND, json=page([], 0))
    with pytest.raises(TerminologyError, match="holds no SNOMED CT code"):
        TerminologyClient(TX).expand(MALIGNANCY)


def test_limits_and_redirects_to_other_hosts_fail(mock: responses.RequestsMock) -> None:
    mock.get(EXPAND, json=page([str(100000 + i) for i in range(5)], 10))
    with pytest.raises(TerminologyError, match="more than 3 codes"):
        TerminologyClient(TX, max_codes=3).expand(MALIGNANCY)
    with pytest.raises(TerminologyError, match="larger than 10 bytes"):
        TerminologyClient(TX, max_bytes=10).expand(MALIGNANCY)
    mock.reset()
    mock.get(EXPAND, status=302, headers={"Location": "https://evil.example.com/x"})
    with pytest.raises(TerminologyError, match="another host"):
        TerminologyClient(TX).expand(MALIGNANCY)
    assert all(urlsplit(c.request.url or "").hostname == "tx.example.org" for c in mock.calls)
    with pytest.raises(TerminologyError, match="not a SNOMED CT concept id"):
        TerminologyClient(TX).expand("<< 1 OR *")


# --- the hook answers ---------------------------------------------------------------------------


def test_a_descendant_excludes_only_once_expanded(
    mock: responses.RequestsMock, cache: Path
) -> None:
    plain = create_app(config(cache))
    assert not_appropriate(ct_summaries(plain))  # NSCLC is listed nowhere: not excluded
    assert not_appropriate(ct_summaries(plain, "1234567"))  # ... as an unrelated code

    serve_pages(mock, page([MALIGNANCY, NSCLC], 2))
    expanded = create_app(config(cache, CDS_TERMINOLOGY_URL=TX))
    summaries = ct_summaries(expanded)
    assert summaries and not not_appropriate(summaries)
    assert not_appropriate(ct_summaries(expanded, "1234567"))
    app_state(expanded).terminology.stop()


def test_the_cache_file_survives_a_restart_with_the_server_down(
    mock: responses.RequestsMock, cache: Path, warnings: pytest.LogCaptureFixture
) -> None:
    serve_pages(mock, page([MALIGNANCY, NSCLC], 2))
    app_state(create_app(config(cache, CDS_TERMINOLOGY_URL=TX))).terminology.stop()
    written = json.loads(cache.read_text())
    assert written["server"] == TX
    assert written["expansions"][MALIGNANCY] == sorted([MALIGNANCY, NSCLC])
    # make it stale, so that the restart tries the (now failing) server
    written["fetched"] = "2000-01-01T00:00:00+00:00"
    cache.write_text(json.dumps(written))
    mock.reset()
    mock.get(EXPAND, status=503)
    restarted = create_app(config(cache, CDS_TERMINOLOGY_URL=TX))
    assert len(mock.calls) == 1  # it did try
    assert "SNOMED CT refresh failed" in warnings.text and "HTTP 503" in warnings.text
    assert not not_appropriate(ct_summaries(restarted))
    app_state(restarted).terminology.stop()
    # and without any server, the cache's expansions apply too
    assert not not_appropriate(ct_summaries(create_app(config(cache))))


def test_a_failing_server_keeps_the_previous_expansions(
    mock: responses.RequestsMock, warnings: pytest.LogCaptureFixture
) -> None:
    serve_pages(mock, page([MALIGNANCY, NSCLC], 2))
    updater = KnowledgeUpdater(load_knowledge(), TerminologyClient(TX))
    updater.refresh_now()
    before = updater.knowledge
    assert before.file.snomed_expansions[MALIGNANCY] == sorted([MALIGNANCY, NSCLC])
    mock.reset()
    mock.get(EXPAND, body=b"<html>gateway</html>", status=200)
    assert updater.refresh() is False
    assert updater.knowledge is before
    lines = [r for r in warnings.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "not JSON" in lines[0].getMessage()


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"server": TX, "fetched": "2026-01-01T00:00:00+00:00"}),
        json.dumps({"server": TX, "fetched": "yesterday", "expansions": {MALIGNANCY: [NSCLC]}}),
        json.dumps(
            {"server": TX, "fetched": "2026-01-01T00:00:00+00:00", "expansions": {MALIGNANCY: 1}}
        ),
        json.dumps(["a", "list"]),
    ],
)
def test_a_corrupt_or_foreign_cache_file_is_ignored(
    cache: Path, content: str, warnings: pytest.LogCaptureFixture
) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text(content)
    app = create_app(config(cache))
    assert app_state(app).terminology.knowledge.file.snomed_expansions == {}
    assert not_appropriate(ct_summaries(app))
    assert "ignoring the SNOMED CT expansion cache" in warnings.text


def test_a_valid_cache_file_without_a_server_applies(cache: Path) -> None:
    cache.parent.mkdir(parents=True)
    document = {
        "server": TX,
        "fetched": "2026-01-01T00:00:00+00:00",
        "expansions": {root: [root] for root in PACKAGED_ROOTS} | {MALIGNANCY: [MALIGNANCY, NSCLC]},
    }
    cache.write_text(json.dumps(document))
    assert not not_appropriate(ct_summaries(create_app(config(cache))))


def test_a_cache_that_cannot_be_written_is_a_warning(
    mock: responses.RequestsMock, tmp_path: Path, warnings: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "file").write_text("")
    serve_pages(mock, page([MALIGNANCY, NSCLC], 2))
    app = create_app(config(tmp_path / "file" / "cache.json", CDS_TERMINOLOGY_URL=TX))
    assert "cannot write the SNOMED CT expansion cache" in warnings.text
    assert not not_appropriate(ct_summaries(app))
    app_state(app).terminology.stop()


def test_the_refresh_thread_runs_per_process_as_a_daemon(
    mock: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock.get(EXPAND, json=page([MALIGNANCY], 1))  # every refresh gets this one page
    updater = KnowledgeUpdater(
        load_knowledge(), TerminologyClient(TX), refresh_hours=0.1 / 3600
    )  # every 0.1 s
    try:
        updater()  # the first call in this process starts the thread, without waiting
        thread = updater.thread
        assert thread is not None and thread.daemon and thread.is_alive()
        deadline = time.monotonic() + 5
        twice = 2 * len(PACKAGED_ROOTS)  # every root once at once, then on the schedule
        while len(mock.calls) < twice and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(mock.calls) >= twice
        assert updater.knowledge.file.snomed_expansions[MALIGNANCY] == [MALIGNANCY]
        updater()
        assert updater.thread is thread  # once per process ...
        monkeypatch.setattr(os, "getpid", lambda: -1)
        updater()
        assert updater.thread is not thread  # ... and again in a forked worker
    finally:
        updater.stop()


# --- settings and the command -----------------------------------------------------------------


def test_the_default_cache_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CDS_TERMINOLOGY_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().terminology_cache == tmp_path / "cds-service" / "snomed-expansions.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".cache" / "cds-service" / "snomed-expansions.json"
    assert Settings().terminology_cache == expected
    monkeypatch.setenv("CDS_TERMINOLOGY_CACHE", "")
    assert Settings().terminology_cache is None  # no cache file at all


def test_the_command_writes_the_file(
    mock: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "363346000" in PACKAGED_KNOWLEDGE.read_text()
    serve_pages(mock, page([MALIGNANCY, NSCLC], 2))
    monkeypatch.setenv("CDS_TERMINOLOGY_URL", TX)
    output = tmp_path / "shipped.json"
    assert main(["terminology", "refresh", "--output", str(output)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith(
        f"cds-service: wrote {len(PACKAGED_ROOTS)} SNOMED CT roots to {output} ("
    )
    assert f"{MALIGNANCY}: 2 codes" in out[0]
    assert json.loads(output.read_text())["expansions"][MALIGNANCY] == sorted([MALIGNANCY, NSCLC])
    # the file is what a deployment ships: an app without a server uses it
    monkeypatch.delenv("CDS_TERMINOLOGY_URL")
    assert not not_appropriate(ct_summaries(create_app(config(output))))


def test_the_command_fails_cleanly(
    mock: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "shipped.json"
    assert main(["terminology", "refresh", "--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "cds-service: terminology refresh: CDS_TERMINOLOGY_URL is not set"
    monkeypatch.setenv("CDS_TERMINOLOGY_URL", TX)
    mock.get(EXPAND, status=500)
    assert main(["terminology", "refresh", "--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTTP 500" in err and "Traceback" not in err
    assert not output.exists()


def test_an_answer_nested_100000_deep_is_a_failed_refresh_not_a_failed_start(
    mock: responses.RequestsMock, cache: Path, warnings: pytest.LogCaptureFixture
) -> None:
    """RecursionError is not a TerminologyError: it escaped create_app and stopped start-up,
    where the README promises one warning line and the previous expansions."""
    deep = b'{"resourceType": "ValueSet", "expansion": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    mock.get(EXPAND, body=deep, status=200)
    app = create_app(config(cache, CDS_TERMINOLOGY_URL=TX))
    lines = [r for r in warnings.records if "SNOMED CT" in r.getMessage()]
    assert len(lines) == 1 and "not JSON" in lines[0].getMessage()
    assert not_appropriate(ct_summaries(app))  # the listed codes still apply
    app_state(app).terminology.stop()


def test_any_other_fault_of_a_refresh_keeps_the_previous_expansions(
    mock: responses.RequestsMock, warnings: pytest.LogCaptureFixture
) -> None:
    serve_pages(mock, page([MALIGNANCY, NSCLC], 2))
    client = TerminologyClient(TX)
    updater = KnowledgeUpdater(load_knowledge(), client)
    updater.refresh_now()
    before = updater.knowledge

    def broken(roots: Any, designations: Any = ()) -> dict[str, Any]:
        raise KeyError("a bug, or an answer of a shape nobody foresaw")

    object.__setattr__(client, "expand_all_concepts", broken)
    assert updater.refresh() is False
    assert updater.knowledge is before
    lines = [r for r in warnings.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and "KeyError" in lines[0].getMessage()
