"""Every relative link of the documentation resolves: the file it names exists, and the
heading its ``#anchor`` names is in that file (GitHub's anchors: lower case, punctuation out,
spaces to hyphens, ``-1`` for a repeated heading)."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        ROOT / "fhir_fixtures" / "README.md",
        *(ROOT / "docs").glob("*.md"),
    ]
)
ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
NOT_IN_ANCHORS = re.compile(r"[^\w\- ]")
MARKDOWN = MarkdownIt("commonmark").enable("table")


def tokens(text: str) -> list[Token]:
    """Every token, the inline ones' children included."""
    flat = []
    for token in MARKDOWN.parse(text):
        flat.append(token)
        flat.extend(token.children or ())
    return flat


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text."""
    found: set[str] = set()
    seen: Counter[str] = Counter()
    for opening, inline in pairwise(MARKDOWN.parse(text)):
        if opening.type == "heading_open":
            words = "".join(child.content for child in inline.children or ())
            slug = NOT_IN_ANCHORS.sub("", words.strip().lower()).replace(" ", "-")
            found.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
            seen[slug] += 1
    return found


def broken_links(document: Path, text: str) -> list[str]:
    """The relative links of ``text`` (a document at ``document``) that name nothing."""
    broken = []
    for token in tokens(text):
        href = str(token.attrs.get("href") or token.attrs.get("src") or "")
        if token.type not in {"link_open", "image"} or not href or ABSOLUTE.match(href):
            continue
        target, _, anchor = href.partition("#")
        path = (document.parent / target).resolve()
        if target and not path.exists():
            broken.append(href)
        elif anchor and (not target or path.suffix == ".md"):
            headings = anchors(path.read_text("utf-8") if target else text)
            broken += [] if anchor in headings else [href]
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert broken_links(document, document.read_text(encoding="utf-8")) == []


def test_the_checker_finds_a_missing_file_and_a_missing_heading() -> None:
    text = (
        "# A `code` heading, with punctuation!\n\n## Twice\n\n## Twice\n\n"
        "[ok](#a-code-heading-with-punctuation) [ok](#twice-1) [ok](docs/errors.md#errors) "
        "[ok](https://example.org/x) [bad](#twice-2) [bad](docs/nowhere.md) "
        "[bad](docs/errors.md#nowhere)\n"
    )
    assert broken_links(ROOT / "README.md", text) == [
        "#twice-2",
        "docs/nowhere.md",
        "docs/errors.md#nowhere",
    ]
