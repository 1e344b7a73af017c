"""The review sheet (``cds-service knowledge explain``) checked in beside the knowledge file."""

from __future__ import annotations

from html.parser import HTMLParser

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
    assert page.startswith("<!doctype html>")
    assert Page.of(page).headings[0] == (
        "h1",
        f"Review sheet: {load_knowledge().file.guideline.title}",
    )


class Page(HTMLParser):
    """What a browser would show of the sheet: its elements, their nesting and their text."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.faults: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self.cells: list[list[str]] = []  # the rows of every table, cell texts
        self.prose: list[str] = []  # text outside <code>, as shown

    @classmethod
    def of(cls, page: str) -> Page:
        parsed = cls()
        parsed.feed(page)
        parsed.close()
        return parsed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li" and not {"ul", "ol"} & set(self.open):
            self.faults.append("<li> outside <ul>/<ol>")
        if tag == "tr":
            self.cells.append([])
        if tag in {"td", "th"}:
            self.cells[-1].append("")
        if tag in {"h1", "h2", "h3"}:
            self.headings.append((tag, ""))
        if tag != "meta":
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.faults.append(f"</{tag}> closes nothing open")

    def handle_data(self, data: str) -> None:
        inside = set(self.open)
        if inside & {"style", "title"}:
            return
        if inside & {"td", "th"}:
            self.cells[-1][-1] += data
        if inside & {"h1", "h2", "h3"}:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)
        if "code" not in inside:
            self.prose.append(data)


@pytest.fixture(scope="module")
def page() -> Page:
    return Page.of(to_html(PACKAGED_REVIEW.read_text(encoding="utf-8")))


def test_the_html_sheet_is_well_formed_lists_and_tables(page: Page) -> None:
    assert page.faults == []
    assert page.open == []
    knowledge = load_knowledge()
    first_cells = [row[0] for row in page.cells]
    assert first_cells[0] == "procedure"
    assert [row.name for row in knowledge.file.procedures] == first_cells[
        1 : len(knowledge.file.procedures) + 1
    ]
    assert all(
        len(row) == len(page.cells[0]) for row in page.cells[: len(knowledge.file.procedures) + 1]
    )


def test_the_html_sheet_shows_no_markdown_syntax(page: Page) -> None:
    prose = "".join(page.prose)
    assert "**" not in prose
    assert "`" not in prose
    assert "\n- " not in prose and not any(line.startswith("- ") for line in prose.splitlines())
    assert "|---" not in prose


def test_the_html_sheet_has_every_heading_of_the_markdown(page: Page) -> None:
    markdown = PACKAGED_REVIEW.read_text(encoding="utf-8")
    expected = [
        (f"h{len(marks)}", title.replace("`", "").replace("*", ""))
        for marks, _, title in (
            line.partition(" ") for line in markdown.splitlines() if line.startswith("#")
        )
    ]
    assert page.headings == expected
    assert ("h2", "Procedure table") in page.headings
    knowledge = load_knowledge()
    assert {("h3", f"{g.label} ({g.id})") for g in knowledge.file.exclusions} <= set(page.headings)


def test_the_html_sheet_escapes_markup_from_the_knowledge_file() -> None:
    shown = Page.of(to_html("- a <script>alert(1)</script> **b** `c`\n"))
    assert "script" not in shown.open and shown.faults == []
    assert "".join(shown.prose).strip() == "a <script>alert(1)</script> b"
