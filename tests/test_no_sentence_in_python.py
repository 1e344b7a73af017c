"""Every word a card shows comes from the knowledge file (or from the patient's record).

A copy of the knowledge file has every sentence replaced by a meaningless token (its
placeholders kept). Every scenario is then answered with it, and each text the clinician reads
(summaries, details, suggestion labels, action descriptions, override reasons, source, links,
the pama-rating displays) must hold nothing but those tokens, the record's own words, the
file's codes and identifiers, numbers and punctuation. A word that survives was written in
Python.
"""

from __future__ import annotations

import itertools
import json
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from support.builders import FIXTURES
from support.clock import NOW

from cds_service import create_app
from cds_service.advice.pama import PAMA_EXTENSION, PAMA_SYSTEM
from cds_service.clinical.knowledge_loader import PACKAGED_KNOWLEDGE

PLACEHOLDER = re.compile(r"(\{[a-z_]+\})")
SENTENCES = [
    ("texts", "*"),
    ("categories", "*", "label"),
    ("rrl_labels", "*"),
    ("pama_displays", "*"),
    ("procedures", "*", "name"),
    ("procedures", "*", "rationale"),
    ("exclusions", "*", "label"),
    ("exclusions", "*", "redirect"),
    ("exclusions", "*", "observations", "*", "label"),
    ("prior_imaging", "label"),
    ("prior_imaging", "evidence"),
    ("prior_imaging", "redirect"),
    ("vascular_findings", "summary"),
    ("vascular_findings", "detail"),
    ("override_reasons", "*", "display"),
    ("guideline", "source_label"),
    ("variant", "title"),
    ("topics", "advice", "*", "display"),
]


def tokens() -> Iterator[str]:
    for size in itertools.count(2):
        for letters in itertools.product(string.ascii_lowercase, repeat=size):
            yield "⟦" + "".join(letters) + "⟧"


def replace_sentences(data: Any, path: tuple[str, ...], names: Iterator[str]) -> None:
    """Replace every text found at ``path`` ("*": every key or item) with tokens."""
    head, *rest = path
    if isinstance(data, dict):
        keys = list(data) if head == "*" else [head] if head in data else []
    elif isinstance(data, list):
        keys = list(range(len(data))) if head == "*" else []
    else:
        return
    for key in keys:
        if rest:
            replace_sentences(data[key], tuple(rest), names)
        elif isinstance(data[key], str):
            parts = PLACEHOLDER.split(data[key])
            data[key] = "".join(p if PLACEHOLDER.fullmatch(p) else next(names) for p in parts)


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)  # codes used as keys (the pama-rating codes)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


@pytest.fixture(scope="module")
def stripped(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[FlaskClient, re.Pattern[str]]:
    data = yaml.safe_load(PACKAGED_KNOWLEDGE.read_text(encoding="utf-8"))
    names = tokens()
    for sentence in SENTENCES:
        replace_sentences(data, sentence, names)
    path: Path = tmp_path_factory.mktemp("knowledge") / "stripped.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    app = create_app({"TESTING": True, "KNOWLEDGE_FILE": str(path)}, clock=lambda: NOW)
    # what the file still says that is not a sentence: codes, ids, URIs, phrases for text
    kept = {s for s in strings_in(data) if "⟦" not in s} | {PAMA_EXTENSION, PAMA_SYSTEM}
    return app.test_client(), alternation(kept)


def alternation(values: set[str]) -> re.Pattern[str]:
    """One pattern matching any of ``values`` (longest first), case-insensitively."""
    ordered = sorted((v for v in values if len(v) > 1), key=len, reverse=True)
    return re.compile("|".join(re.escape(v) for v in ordered) or "(?!)", re.IGNORECASE)


def read_texts(body: dict[str, Any]) -> Iterator[str]:
    """Every text of the response that a clinician reads."""
    for card in body.get("cards", []):
        yield card["summary"]
        yield card.get("detail", "")
        yield card["source"]["label"]
        yield card["source"]["topic"]["display"]
        yield from (link["label"] for link in card.get("links", []))
        yield from (reason["display"] for reason in card.get("overrideReasons", []))
        for suggestion in card.get("suggestions", []):
            yield suggestion["label"]
            yield from (action["description"] for action in suggestion["actions"])
            for action in suggestion["actions"]:
                yield from extension_displays(action.get("resource") or {})
    for action in body.get("systemActions", []):
        yield action["description"]
        yield from extension_displays(action["resource"])


def extension_displays(resource: dict[str, Any]) -> Iterator[str]:
    for extension in resource.get("extension", []):
        if extension.get("url") == PAMA_EXTENSION:
            for coding in extension["valueCodeableConcept"]["coding"]:
                yield coding.get("display", "")


SCENARIOS = sorted(p.stem for p in (FIXTURES / "scenarios").glob("*.json"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_word_of_a_card_is_written_in_python(
    stripped: tuple[FlaskClient, re.Pattern[str]], name: str
) -> None:
    client, kept = stripped
    request = json.loads((FIXTURES / "scenarios" / f"{name}.json").read_text(encoding="utf-8"))
    response = client.post(f"/cds-services/{request['hook']}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    from_record = alternation(set(strings_in(request)))
    for text in read_texts(response.get_json()):
        rest = kept.sub(" ", from_record.sub(" ", re.sub(r"⟦[a-z]+⟧", " ", text)))
        words = re.findall(r"[A-Za-z]{3,}", rest)
        assert words == [], f"{name}: {words} in {text!r}"
