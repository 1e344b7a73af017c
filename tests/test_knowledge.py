"""The knowledge file: code patterns, start-up validation, and the limits of what it can say."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cds_service.clinical import icd10cm
from cds_service.clinical.codes import CodeSet
from cds_service.clinical.knowledge_loader import PACKAGED_KNOWLEDGE, KnowledgeError, load_knowledge

ICD = "http://hl7.org/fhir/sid/icd-10-cm"


@pytest.mark.parametrize(
    ("entry", "code", "matches"),
    [
        ("C00-C96", "C34.90", True),
        ("C00-C96", "C96.4", True),
        ("C00-C96", "C00", True),
        ("C00-C96", "C97", False),
        ("C00-C96", "D00.1", False),
        ("C00-C96", "B99", False),
        ("M47.21-M47.23", "M47.22", True),
        ("M47.21-M47.23", "M47.24", False),
        ("Z85", "Z85.3", True),
        ("Z85", "Z85.828", True),
        ("Z85", "Z86.0", False),
        ("M50.1", "M50.10", True),
        ("M50.1", "M50.123", True),
        ("M50.1", "M50.0", False),
        ("M50.1", "M50", False),  # the parent is not the child's finding
        ("R20", "R20.2", True),
        ("G95.2", "G95.20", True),
        ("D80-D83", "D82.1", True),
        ("D80-D83", "D84.1", False),
        ("S14.2XXA", "s14.2xxa", True),
        ("S14.2XXA", "S142XXA", True),
        # a code deeper than the tabular knows still counts under its category (failing safe)
        ("R50", "R50.999", True),
        ("G44.86", "G44.861", True),
    ],
)
def test_icd10cm_by_hierarchy(entry: str, code: str, matches: bool) -> None:
    codes = CodeSet()
    codes.add_all(ICD, icd10cm.expand(entry), hierarchical=True)
    assert codes.contains(ICD, code) is matches


@pytest.mark.parametrize("bad", ["", "X", "M54.99999", "C96-C00Q", "Q99.99"])
def test_entries_not_in_the_tabular_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        icd10cm.expand(bad)


def test_every_icd10cm_code_of_the_knowledge_file_is_real() -> None:
    """Every ICD-10-CM entry the file names (groups, indication) is in the CMS tabular."""
    data = yaml.safe_load(PACKAGED_KNOWLEDGE.read_text(encoding="utf-8"))
    lists = [data["indication"], *(g["codes"] for g in data["exclusions"])]
    lists += [g["no_escalation_codes"] for g in data["exclusions"] if "no_escalation_codes" in g]
    entries = [entry for codes in lists for entry in codes.get("icd10cm", [])]
    assert len(entries) > 60
    unreal = [entry for entry in entries if not icd10cm.is_real(entry)]
    assert unreal == []


def test_a_code_that_is_not_real_stops_start_up(tmp_path: Path) -> None:
    def change(data: dict) -> None:
        data["exclusions"][0]["codes"]["icd10cm"].append("M54.199")

    with pytest.raises(KnowledgeError, match=r"M54\.199"):
        load_knowledge(mutated(tmp_path, change))


@pytest.mark.parametrize(
    ("group_id", "code"),
    [
        # the clinical reference's "Additions after clinical review"
        ("radiculopathy", "G54.2"),
        ("radiculopathy", "M54.10"),
        ("radiculopathy", "M47.20"),
        ("neurologic-deficit", "G95.20"),
        ("neurologic-deficit", "R20.8"),
        ("neurologic-deficit", "R27.8"),
        ("neurologic-deficit", "G82.20"),
        ("neurologic-deficit", "N31.9"),
        ("neurologic-deficit", "K59.2"),
        ("fever-infection", "R50.81"),
        ("fever-infection", "M46.21"),
        ("fever-infection", "G06.2"),
        ("fever-infection", "A18.01"),
        ("weight-loss", "R64"),
        ("malignancy", "C50.911"),
        ("malignancy", "Z85.3"),
        ("immunosuppression", "Z21"),
        ("immunosuppression", "D84.821"),
        ("immunosuppression", "Z94.0"),
        ("immunosuppression", "Z79.60"),
        ("trauma", "S13.4XXA"),
        ("trauma", "S19.9XXA"),
    ],
)
def test_groups_hold_the_reviewed_codes(group_id: str, code: str) -> None:
    assert load_knowledge().codes.exclusion_codes[group_id].contains(ICD, code)


@pytest.mark.parametrize(
    "code", ["M47.812", "Z80.3", "M54.2", "M54.16", "G44.86", "R51.9", "S82.001A"]
)
def test_codes_that_are_not_exclusions(code: str) -> None:
    knowledge = load_knowledge()
    assert not any(codes.contains(ICD, code) for codes in knowledge.codes.exclusion_codes.values())


def test_packaged_knowledge_loads() -> None:
    knowledge = load_knowledge()
    assert knowledge.file.preferred_procedure == "mri-cspine-without"
    rated = {p.id: p.category for p in knowledge.file.procedures if p.category}
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
        (
            lambda d: d["procedures"][4].update(site_required_codes={"cpt": ["99999"]}),
            "not codes of the row",
        ),
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
def test_text_phrases(group_id: str, name: str, matches: bool) -> None:
    knowledge = load_knowledge()
    group = {g.id: g for g in knowledge.file.exclusions}[group_id]
    assert knowledge.text.text_affirms(group, (name,)) is matches
