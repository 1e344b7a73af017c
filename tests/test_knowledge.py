"""The knowledge file: code patterns, start-up validation, and the limits of what it can say."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cds_service.codes import CodePattern
from cds_service.knowledge import PACKAGED_KNOWLEDGE, KnowledgeError, load_knowledge


@pytest.mark.parametrize(
    ("pattern", "code", "matches"),
    [
        ("C00-C96", "C34.90", True),
        ("C00-C96", "C96.4", True),
        ("C00-C96", "C00", True),
        ("C00-C96", "C97", False),
        ("C00-C96", "D00.1", False),
        ("C00-C96", "B99", False),
        ("M50.120-M50.123", "M50.121", True),
        ("M50.120-M50.123", "M50.13", False),
        ("M47.21-M47.23", "M47.22", True),
        ("M47.21-M47.23", "M47.24", False),
        ("Z85*", "Z85.3", True),
        ("Z85*", "Z86.0", False),
        ("M50.1*", "M50.10", True),
        ("M50.1*", "M50.0", False),
        ("S14.2XXA", "s14.2xxa", True),
        ("24940-9", "24940-9", True),
        ("24940-9", "24940", False),
    ],
)
def test_code_patterns(pattern: str, code: str, matches: bool) -> None:
    assert CodePattern.parse(pattern).matches(code) is matches


@pytest.mark.parametrize("bad", ["", "*", "C96-C00"])
def test_bad_code_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        CodePattern.parse(bad)


def test_packaged_knowledge_loads() -> None:
    knowledge = load_knowledge()
    assert knowledge.preferred_procedure == "mri-cspine-without"
    rated = {p.id: p.category for p in knowledge.procedures if p.category}
    assert rated.pop("mri-cspine-without") == "may-be-appropriate-disagreement"
    assert set(rated.values()) == {"usually-not-appropriate"}


def mutated(tmp_path: Path, change: object) -> Path:
    data = yaml.safe_load(PACKAGED_KNOWLEDGE.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path = tmp_path / "knowledge.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        (lambda d: d["procedures"][0].pop("category"), "needs category, rrl and rating_source"),
        (lambda d: d["procedures"][1]["codes"].update(cpt=["72141"]), "identifies both"),
        (lambda d: d.update(preferred_procedure="nope"), "preferred_procedure"),
        (lambda d: d["procedures"][3].update(candidates=["nope"]), "unknown candidates"),
        (lambda d: d["exclusions"][0]["codes"].update(icd10cm=["M99-M10"]), "reversed"),
        (lambda d: d.pop("texts"), "texts"),
        (lambda d: d["procedures"][0].update(rrl="☢☢☢☢☢☢"), "rrl"),
        (
            lambda d: d["procedures"][0].update(name="A very long procedure name " * 4),
            "summary too long",
        ),
    ],
)
def test_a_broken_file_names_its_fault(tmp_path: Path, change: object, fault: str) -> None:
    with pytest.raises(KnowledgeError, match=fault):
        load_knowledge(mutated(tmp_path, change))


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="cannot be read"):
        load_knowledge(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("procedures: [unclosed", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        load_knowledge(bad)


@pytest.mark.parametrize(
    ("group_id", "name", "matches"),
    [
        ("malignancy", "Non-small cell lung cancer (disorder)", True),
        ("malignancy", "Malignant neoplasm of breast (disorder)", True),
        ("malignancy", "Metastasis to bone", True),
        ("malignancy", "Glioblastoma multiforme", True),
        ("malignancy", "Screening for malignant neoplasm of cervix", False),
        ("malignancy", "Family history of cancer", False),
        ("malignancy", "Benign neoplasm of skin", False),
        ("malignancy", "Cancerophobia", False),
        ("malignancy", "Carcinoma in situ of cervix", False),
        ("malignancy", "Malignant hypertension", False),
        ("malignancy", "Chronic neck pain (finding)", False),
        ("radiculopathy", "Cervical radiculopathy, right C6", True),
        ("radiculopathy", "Lumbar radiculopathy", False),
        ("trauma", "Whiplash injury to neck", True),
        ("trauma", "Fracture of ankle", False),
        ("fever-infection", "Fever (finding)", True),
        ("fever-infection", "History of rheumatic fever", False),
        ("neurologic-deficit", "Cervical myelopathy", True),
        ("neurologic-deficit", "Stress incontinence", False),
        ("neurologic-deficit", "Fecal incontinence", True),
        ("immunosuppression", "Dependence on walking aids", False),
        ("immunosuppression", "Hearing aids in use", False),
        ("immunosuppression", "HIV infection", True),
    ],
)
def test_display_terms(group_id: str, name: str, matches: bool) -> None:
    knowledge = load_knowledge()
    group = {g.id: g for g in knowledge.exclusions}[group_id]
    assert knowledge.names_match(group, (name,)) is matches
