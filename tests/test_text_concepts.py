"""Issue 20, the text reader: display idioms, clause-bounded negation, targets generated from
the ICD-10-CM tabular, finding families by lemma and distance, and the cheap first test.

Expectations are written from the seed (radiating arm pain, numbness, tingling or weakness in
the arm; gait instability; bowel/bladder changes; a traumatic mechanism; history of
malignancy) and the clinical reference, never from the program's output.
"""

from __future__ import annotations

import pytest

from cds_service.clinical.display_idioms import without_idioms
from cds_service.clinical.knowledge_loader import load_knowledge

KNOWLEDGE = load_knowledge()
READER = KNOWLEDGE.text.text_reader
RAD, NEURO, TRAUMA, CANCER = "radiculopathy", "neurologic-deficit", "trauma", "malignancy"

IDIOMS = [
    (idiom.id, text, removed)
    for idiom in KNOWLEDGE.file.display_idioms
    for removed, texts in ((True, idiom.match), (False, idiom.no_match))
    for text in texts
]


@pytest.mark.parametrize(("idiom_id", "text", "removed"), IDIOMS)
def test_display_idioms_examples(idiom_id: str, text: str, removed: bool) -> None:
    """Each idiom's ``match`` texts lose it; its ``no_match`` texts are left as they are."""
    assert (without_idioms(KNOWLEDGE.text.idioms, text) != text) is removed


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        # a billing flag in a display is not the finding (second rule)
        ("Essential hypertension (HCC)", set()),
        ("Atrial fibrillation (HCC)", set()),
        ("Type 2 diabetes mellitus with hyperglycemia (CMS-HCC)", set()),
        ("Morbid obesity (CMS/HCC)", set()),
        ("Major depressive disorder, recurrent (HHS-HCC)", set()),
        ("Chronic kidney disease, stage 3 (HCC)", set()),
        ("Low back pain (finding)", set()),
        # an HCC that names the cancer still counts (first rule)
        ("HCC on sorafenib", {CANCER}),
        ("h/o HCC", {CANCER}),
        ("hepatocellular ca", {CANCER}),
        ("Hepatocellular carcinoma (HCC)", {CANCER}),
        ("Malignant neoplasm of liver (HCC)", {CANCER}),
        ("Cirrhosis (hcc)", {CANCER}),
    ],
)
def test_display_idioms_are_removed_before_reading(text: str, groups: set[str]) -> None:
    assert READER.affirmed(text) == groups


CLAUSES = [
    # a new clause ends a negation, a hypothesis or a relative's mention
    ("Neck pain without trauma, with numbness in right hand", {RAD, NEURO}),
    ("Without fever, with night sweats", {"night-sweats"}),
    ("Without fever, chills or night sweats", set()),
    ("No weakness and new numbness in the hand", {RAD, NEURO}),
    ("No weakness and no numbness", set()),
    ("No fever but night sweats for a month", {"night-sweats"}),
    ("No fever, no night sweats", set()),
    ("Denies fever, however reports night sweats", {"night-sweats"}),
    ("No numbness, though tingling in the fingers", {RAD}),
    ("No numbness or tingling in the fingers", set()),
    ("Mother had lymphoma; patient has no cancer", set()),
    ("Mother had lymphoma; patient has breast cancer", {CANCER}),
    ("Return if fever develops, with night sweats for a week", {"night-sweats"}),
    ("Return if fever or night sweats develop", set()),
    ("Brother has MS and gait problems", set()),
    ("Mother has breast cancer", set()),
    ("Mother has no cancer; patient has lymphoma", {CANCER}),
    ("Denies numbness, has weakness in the right hand", {NEURO}),
    # EHR abbreviations of a negation
    ("Spondylosis w/o myelopathy or radiculopathy, cervical", set()),
    ("Spondylosis with myelopathy, cervical", {NEURO}),
    ("Neck pain w/out radiation to the arm or fever", set()),
    ("Neck pain w/ fever", {"fever-infection"}),
    ("ROS neg for fever, weight loss", set()),
    ("(-) fever", set()),
    ("Fever (+)", {"fever-infection"}),
]


@pytest.mark.parametrize(("text", "groups"), CLAUSES)
def test_negation_ends_with_its_clause(text: str, groups: set[str]) -> None:
    """The clause's own finding is affirmed (a finding of two groups may name both)."""
    affirmed = {g for g in READER.affirmed(text) if "+" not in g}
    assert groups <= affirmed if groups else affirmed == set()


SEED_FINDINGS = [
    # each was rated "Usually not appropriate" (first rule): each is outside the variant
    ("Gait unsteady since last month", NEURO),
    ("Unsteady on feet", NEURO),
    ("Broad-based gait", NEURO),
    ("Abnormal gait noted on fall-risk screening", NEURO),
    ("New bladder urgency x 1 week", NEURO),
    ("Loss of bowel control", NEURO),
    ("Saddle anesthesia", NEURO),
    ("shooting pain down right arm", RAD),
    ("Hit by car 3 days ago", TRAUMA),
    ("Positive Spurling test", RAD),
    # the tabular's own words (R26, R15, R32, R39.15)
    ("Ataxic gait", NEURO),
    ("Staggering gait", NEURO),
    ("Difficulty in walking", NEURO),
    ("Unsteadiness on feet", NEURO),
    ("Fecal urgency", NEURO),
    ("Urgency of urination", NEURO),
    ("Retention of urine", NEURO),
    ("Pedestrian injured in collision with car", TRAUMA),
    ("Fracture of cervical vertebra", TRAUMA),
    # lemmas and order
    ("Walking is unsteady", NEURO),
    ("Difficulties in walking", NEURO),
    ("Fingers tingle", RAD),
    ("Struck by a car", TRAUMA),
    ("Pedestrian vs auto 1 week ago", TRAUMA),
    ("Fell and struck her head", TRAUMA),
    ("Hoffmann sign positive on the right", NEURO),
    ("Lhermitte sign", NEURO),
]


@pytest.mark.parametrize(("text", "group"), SEED_FINDINGS)
def test_findings_by_concept_exclude(text: str, group: str) -> None:
    assert group in READER.affirmed(text)


DENIED = [
    # denied, hypothetical or a relative's: the variant's own patients (second rule)
    "Denies unsteady gait",
    "No bowel or bladder changes",
    "Negative Spurling test",
    "Spurling's test negative bilaterally",
    "Return if numbness in the hand develops",
    "Mother had gait problems",
    "Gait normal",
    "Gait: normal, no unsteadiness",
    "No loss of balance",
    "Denies urinary incontinence",
    "Babinski downgoing bilaterally",
    "Hoffmann sign negative",
    "Denies shooting pain down the arm",
    "No history of car accident",
    "Headache radiating to the temporal region",
    "Change in bowel habits",
    "Good bowel and bladder control",
    "Fall in blood pressure on standing",
    "Axis I diagnosis: anxiety",
]


@pytest.mark.parametrize("text", DENIED)
def test_denied_hypothetical_and_family_mentions_do_not_exclude(text: str) -> None:
    assert READER.affirmed(text) == frozenset()


FAMILIES = [
    (group.id, family.name, family.hides, text, expected)
    for group in KNOWLEDGE.file.exclusions
    if group.text is not None
    for family in group.text.families
    for expected, texts in ((True, family.match), (False, family.no_match))
    for text in texts
]


@pytest.mark.parametrize(("group_id", "name", "hides", "text", "expected"), FAMILIES)
def test_the_knowledge_files_family_examples(
    group_id: str, name: str, hides: bool, text: str, expected: bool
) -> None:
    """A family's ``match`` texts affirm its group (for a family that hides a normal result:
    they do not); its ``no_match`` texts the other way."""
    affirmed = group_id in READER.affirmed(text)
    assert affirmed is (expected != hides), name


def test_r26_gives_the_issues_words() -> None:
    kept = {words for words, _ in KNOWLEDGE.text.generated_targets[NEURO].kept}
    assert {"ataxic gait", "staggering gait", "unsteadiness on feet", "difficulty in walking"} <= (
        kept
    )
    assert "urgency of urination" in kept  # R39.15 (SIGN-OFF)


@pytest.mark.parametrize(
    ("group_id", "pruned"),
    [
        (RAD, "lumbar neuritis or radiculitis"),
        (RAD, "mid-cervical disc disorder"),
        (NEURO, "enuresis"),
        (TRAUMA, "fall"),
        (TRAUMA, "axis"),
        (TRAUMA, "atlas"),
        (TRAUMA, "slipping"),
    ],
)
def test_generated_targets_too_broad_are_pruned(group_id: str, pruned: str) -> None:
    generated = KNOWLEDGE.text.generated_targets[group_id]
    assert pruned in {words for words, _ in generated.pruned}
    assert pruned not in {words for words, _ in generated.kept}


def test_r39_15_urgency_is_a_coded_bladder_change() -> None:
    """The seed's bladder changes: R39.15 urgency of urination (SIGN-OFF), coded."""
    (group,) = [g for g in KNOWLEDGE.file.exclusions if g.id == NEURO]
    assert "R39.15" in group.codes.icd10cm


@pytest.mark.parametrize(
    "text",
    [
        "Essential hypertension (HCC)",
        "Hyperlipidemia, unspecified (HCC)",
        "Chronic neck pain, worse with sitting",
        "Right hand pain after gardening",
        "Gait normal",
        "Pain radiating to the temple",
        "Bladder scan done",
        "Car seat counselling",
        "Fall prevention education given",
    ],
)
def test_texts_without_a_candidate_never_reach_the_nlp(text: str) -> None:
    """Generated targets and families do not make every text a candidate: a text needs a
    target's words, or a family's head and near word, to be parsed at all."""
    assert not READER.has_candidate(text)
