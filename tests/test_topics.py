"""A topic per advice: ``source.topic.code`` is the advice's, static, alphanumeric, <= 100.

Every scenario is answered; the cards are grouped by what they say (the summary, for the cards
whose summary names the advice itself) and by topic code: one advice, one code; two advice,
two codes. The schema refuses a file in which an advice has no topic.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from support.builders import FIXTURES, load
from support.clock import NOW

from cds_service import create_app
from cds_service.clinical.knowledge_loader import PACKAGED_KNOWLEDGE, KnowledgeError, load_knowledge
from cds_service.clinical.topics import AdviceId, MissingTopic, topic_of
from cds_service.ops.tables import Appraised
from cds_service.web.state import app_state

EPIC_TOPIC = re.compile(r"[A-Za-z0-9]{1,100}")
SCENARIOS = sorted((FIXTURES / "scenarios").glob("*.json"))


@pytest.fixture(scope="module")
def cards() -> list[dict[str, Any]]:
    client = create_app({"TESTING": True}, clock=lambda: NOW).test_client()
    found = []
    for path in SCENARIOS:
        request = json.loads(path.read_text(encoding="utf-8"))
        body = client.post(f"/cds-services/{request['hook']}", json=request).get_json()
        found.extend(body["cards"])
    return found


def reasons_listed(card: dict[str, Any]) -> bool:
    """A card outside the variant names its reasons in the summary (several, or one)."""
    return str(card["summary"]).startswith("ACR cervicogenic headache criteria do not apply")


def test_every_card_carries_an_alphanumeric_topic_of_the_file(cards: list[dict[str, Any]]) -> None:
    knowledge = load_knowledge()
    codes = {t.code: t for t in knowledge.file.topics.advice}
    assert len(cards) > 250
    for card in cards:
        topic = card["source"]["topic"]
        assert EPIC_TOPIC.fullmatch(topic["code"]), topic
        assert topic["system"] == knowledge.file.topics.system
        assert topic["display"] == codes[topic["code"]].display


def test_the_same_advice_gets_the_same_code_and_other_advice_another(
    cards: list[dict[str, Any]],
) -> None:
    codes_of: dict[str, set[str]] = defaultdict(set)  # what the card says -> codes
    said_by: dict[str, set[str]] = defaultdict(set)  # code -> what the cards say
    for card in cards:
        if reasons_listed(card) and ";" in card["summary"]:
            continue  # several reasons: the first one's topic (below)
        code = card["source"]["topic"]["code"]
        codes_of[card["summary"]].add(code)
        said_by[code].add(card["summary"])
    assert {s: c for s, c in codes_of.items() if len(c) > 1} == {}
    assert {c: s for c, s in said_by.items() if len(s) > 1} == {}
    assert len(said_by) >= 20  # rated rows, unstated contrast, other regions, reasons, escalation


def test_two_patients_with_the_same_advice_get_the_same_code() -> None:
    client = create_app({"TESTING": True}, clock=lambda: NOW).test_client()

    def topic(name: str, order: str) -> str:
        request = load(f"scenarios/{name}.json")
        body = client.post(f"/cds-services/{request['hook']}", json=request).get_json()
        (card,) = [c for c in body["cards"] if c["summary"].startswith(order)]
        return str(card["source"]["topic"]["code"])

    ct = "CT cervical spine without IV contrast: Usually"
    assert topic("sandbox-imaging-screen", ct) == topic("text-reason-denies-red-flags", ct)
    assert topic("sandbox-imaging-screen", ct) != topic("mri-already-drafted", "MRI cervical")


def test_a_card_for_several_reasons_carries_the_first_reason_s_topic(
    cards: list[dict[str, Any]],
) -> None:
    knowledge = load_knowledge()
    order = [t.code for t in knowledge.file.topics.advice if t.kind == "out-of-variant"]
    labels = {g.id: g.label for g in knowledge.file.exclusions}
    several = [c for c in cards if reasons_listed(c) and ";" in c["summary"]]
    assert several
    for card in several:
        named = [
            t.code
            for t in knowledge.file.topics.advice
            if t.kind == "out-of-variant" and labels.get(t.about, "\0") in card["summary"]
        ]
        assert card["source"]["topic"]["code"] == min(named, key=order.index)


def test_the_store_keeps_the_topic_code_as_the_advice_key() -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}, clock=lambda: NOW)
    request = load("scenarios/sandbox-imaging-screen.json")
    body = app.test_client().post("/cds-services/order-select", json=request).get_json()
    (card,) = body["cards"]
    with app_state(app).store.engine.connect() as connection:
        keys = connection.execute(select(Appraised.advice_key)).scalars().all()
    assert keys == [card["source"]["topic"]["code"]]


def mutated(tmp_path: Path, change: Any) -> Path:
    data = yaml.safe_load(PACKAGED_KNOWLEDGE.read_text(encoding="utf-8"))
    change(data["topics"]["advice"], data)
    path = tmp_path / "knowledge.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def new_row(advice: list[dict[str, Any]], data: dict[str, Any]) -> None:
    row = {**data["procedures"][6], "id": "ct-new", "name": "CT new", "codes": {"cpt": ["99999"]}}
    data["procedures"].append(row)
    advice.append(
        {"kind": "other-region", "about": "ct-new", "code": "CghCtNewOtherRegion", "display": "x"}
    )


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        (lambda a, d: a.pop(5), "no topic for the advice: usually-not-appropriate ct-cspine-with"),
        (new_row, "no topic for the advice: usually-not-appropriate ct-new"),
        (lambda a, d: a[0].update(code="Cgh-MRI"), "letters and digits only"),
        (lambda a, d: a[0].update(code="C" * 65), "letters and digits only"),
        (lambda a, d: a[1].update(code=a[0]["code"]), "code given more than once"),
        (lambda a, d: a.append({**a[0], "code": "Other"}), "advice given more than once"),
        (lambda a, d: a.append({**a[0], "kind": "vascular-study", "code": "X"}), "no card gives"),
        (lambda a, d: a[0].pop("code"), "code"),
    ],
)
def test_a_file_without_a_topic_for_an_advice_does_not_load(
    tmp_path: Path, change: Any, fault: str
) -> None:
    with pytest.raises(KnowledgeError, match=re.escape(fault)):
        load_knowledge(mutated(tmp_path, change))


def test_a_new_kind_of_card_without_a_topic_fails_clearly() -> None:
    with pytest.raises(MissingTopic, match="no topic for the advice 'vascular-study'"):
        topic_of(load_knowledge().file, AdviceId("vascular-study", "mra-neck-without"))
