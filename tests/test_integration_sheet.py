"""The integration sheet: generated from the registry and the knowledge file, checked in under
docs/, and regenerated here so that the checked-in copy cannot go stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.cli import main
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.clinical.knowledge_schema import OverrideReason
from cds_service.integration_sheet import COMMAND, PREFERENCE_LIST_SYSTEM, integration_sheet
from cds_service.services import build_services

SHEET = Path(__file__).resolve().parent.parent / "docs" / "integration-sheet.md"


def generated(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["integration-sheet", *args]) == 0
    return capsys.readouterr().out


def test_the_checked_in_sheet_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    fresh = generated(capsys)
    checked_in = SHEET.read_text(encoding="utf-8") if SHEET.exists() else ""
    assert fresh == checked_in, f"docs/integration-sheet.md is stale: run `{COMMAND}`"


def test_the_sheet_holds_what_the_registry_and_the_knowledge_say(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sheet = generated(capsys, "--base-url", "https://cds.example.org/")
    knowledge = load_knowledge(None)
    for service in build_services(knowledge).values():
        assert f"`https://cds.example.org/cds-services/{service.id}`" in sheet
        assert f"`https://cds.example.org/cds-services/{service.id}/feedback`" in sheet
        for key in service.prefetch:
            assert key.template.replace("|", "\\|") in sheet
            assert f"`patient/{key.resource_type}.read`" in sheet
    for reason in knowledge.file.override_reasons:
        assert f"| `{reason.code}` | {reason.display} |" in sheet
    for topic in knowledge.file.topics.advice:
        assert f"| `{topic.code}` | {topic.display} |" in sheet
    assert f"{PREFERENCE_LIST_SYSTEM}|<site code>" in sheet
    for claim in ("`iss`", "`aud`", "`sub`", "`jku` (header)", "CDS_TRUSTED_ISSUERS"):
        assert claim in sheet


def test_a_change_to_the_knowledge_changes_the_sheet() -> None:
    knowledge = load_knowledge(None)
    services = list(build_services(knowledge).values())
    extra = OverrideReason(code="site-protocol", display="Site imaging protocol")
    changed = Knowledge(
        knowledge.file.model_copy(
            update={"override_reasons": [*knowledge.file.override_reasons, extra]}
        ),
        knowledge.text.text_reader,
    )
    before = integration_sheet(services, knowledge)
    after = integration_sheet(services, changed)
    assert "site-protocol" not in before and "| `site-protocol` | Site imaging protocol |" in after
