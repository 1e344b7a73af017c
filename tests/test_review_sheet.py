"""The review sheet (``cds-service knowledge explain``) checked in beside the knowledge file."""

from __future__ import annotations

import pytest

from cds_service.cli import main
from cds_service.clinical.knowledge_loader import PACKAGED_KNOWLEDGE, load_knowledge
from cds_service.clinical.review import PACKAGED_REVIEW, explain, to_html


def test_the_checked_in_review_sheet_is_current() -> None:
    """Regenerate with:
    .venv/bin/cds-service knowledge explain > cds_service/clinical/knowledge/review.md"""
    assert PACKAGED_REVIEW.read_text(encoding="utf-8") == explain(load_knowledge())


def test_the_sheet_shows_what_a_reviewer_signs() -> None:
    sheet = PACKAGED_REVIEW.read_text(encoding="utf-8")
    knowledge = load_knowledge()
    for row in knowledge.file.procedures:
        assert row.name in sheet and row.rationale in sheet
    for group in knowledge.file.exclusions:
        assert group.label in sheet and group.redirect in sheet
    # ICD-10-CM titles from the CMS tabular, the thresholds, the marked choices
    assert "G95.2 (Other and unspecified cord compression)" in sheet
    assert '"minimum_loss_percent":5.0' in sheet
    marked = [
        line
        for line in PACKAGED_KNOWLEDGE.read_text(encoding="utf-8").splitlines()
        if "PROJECT DEFAULT" in line or "SIGN-OFF" in line
    ]
    assert len(marked) > 10
    assert all(line.strip() in sheet for line in marked)
    # every card text, filled in for a procedure
    assert "CT cervical spine without IV contrast: Usually not appropriate for suspected" in sheet


def test_the_command_prints_markdown_and_html(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["knowledge", "explain"]) == 0
    assert capsys.readouterr().out == PACKAGED_REVIEW.read_text(encoding="utf-8")
    assert main(["knowledge", "explain", "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!doctype html>") and "<table>" in page and "<h2>" in page
    assert page == to_html(PACKAGED_REVIEW.read_text(encoding="utf-8"))
