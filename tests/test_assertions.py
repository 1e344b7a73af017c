"""The text assertion step (medspaCy ConText): the review's phrases, the knowledge file's own
examples, the cache, and that the libraries never log the texts they read."""

from __future__ import annotations

import logging

import pytest

from cds_service.clinical.assertions import MAX_TEXT_CHARS, GroupPhrases, TextReader
from cds_service.clinical.knowledge_loader import load_knowledge

KNOWLEDGE = load_knowledge()
EXAMPLES = [
    (group.id, text, expected)
    for group in KNOWLEDGE.file.exclusions
    if group.text is not None
    for expected, texts in ((True, group.text.match), (False, group.text.no_match))
    for text in texts
]


@pytest.mark.parametrize(("group_id", "text", "expected"), EXAMPLES)
def test_the_knowledge_files_examples(group_id: str, text: str, expected: bool) -> None:
    """Each group's ``match`` examples affirm it; its ``no_match`` examples do not."""
    assert (group_id in KNOWLEDGE.text.text_reader.affirmed(text)) is expected


def test_every_group_has_examples_both_ways() -> None:
    groups = {g.id for g in KNOWLEDGE.file.exclusions}
    assert {g for g, _, e in EXAMPLES if e} == groups
    assert {g for g, _, e in EXAMPLES if not e} == groups


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        # the clinical review: texts that deny a finding silenced the variant's own patients
        ("Spondylosis without myelopathy or radiculopathy, cervical region", set()),
        ("No radiculopathy, no red flags", set()),
        ("no weakness, numbness or gait change", set()),
        ("Denies fever, night sweats or weight loss", set()),
        ("Family history of cancer", set()),
        ("If fever develops, return to clinic", set()),
        ("Intentional weight loss", set()),
        ("Lumbar radiculopathy", set()),
        ("Hay fever", set()),
        # ... and substrings cancelled real findings
        ("Unintentional weight loss", {"weight-loss"}),
        ("Cervical and lumbar radiculopathy", {"radiculopathy"}),
        ("Cervicothoracic radiculopathy", {"radiculopathy"}),
        ("Breast cancer, negative for metastases", {"malignancy"}),
        ("History of melanoma", {"malignancy"}),
        ("Possible cervical radiculopathy", {"radiculopathy"}),
        (
            "New left arm weakness",
            {"neurologic-deficit", "radiculopathy", "neurologic-deficit+escalating"},
        ),
        ("Neck pain after a motor vehicle collision", {"trauma"}),
        ("HIV", {"immunosuppression"}),
        ("Febrile to 38.9 last night", {"fever-infection"}),
    ],
)
def test_the_review_phrases(text: str, groups: set[str]) -> None:
    assert KNOWLEDGE.text.text_reader.affirmed(text) == groups


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("No fever; reports night sweats", {"night-sweats"}),
        ("ROS negative for fever, positive for weight loss", {"weight-loss"}),
        ("Mother had breast cancer; patient has lymphoma", {"malignancy"}),
        ("Denies fever, endorses arm numbness", {"radiculopathy", "neurologic-deficit"}),
        ("Red flag screen negative: fever, weight loss, night sweats.", set()),
        ("Radiculopathy, lumbar region", set()),
        ("Radiculopathy, prior lumbar fusion 2015", {"radiculopathy"}),
        # R20.2 paresthesia at any site is a deficit (clinical reference: R20 whole); it is
        # not cervical radiculopathy (a leg)
        ("Tingling in the left leg", {"neurologic-deficit"}),
        ("Pain shooting into the right hand", {"radiculopathy"}),
        ("Lost 10 lbs in 2 months", {"weight-loss"}),
        ("Lost 10 lbs on a diet", set()),
        ("T 38.6", {"fever-infection"}),
        ("Temp: 37.9", set()),
        ("Tmax 100.4 F", {"fever-infection"}),
        ("Denies illness, MVC last week", {"trauma"}),
        ("Denies fever, MVC or whiplash", set()),
        ("Mother had a fall yesterday", set()),
        (
            "Progressive left arm weakness",
            {"radiculopathy", "neurologic-deficit", "neurologic-deficit+escalating"},
        ),
        ("Chronic stable arm weakness", {"radiculopathy", "neurologic-deficit"}),
    ],
)
def test_the_second_review_phrases(text: str, groups: set[str]) -> None:
    """Statements after ';', "positive for" or "reports"; patterns; dated events; escalation."""
    assert KNOWLEDGE.text.text_reader.affirmed(text) == groups


def reader(cache_bytes: int = 4096) -> TextReader:
    return TextReader([GroupPhrases("fever", ("fever",))], cache_bytes=cache_bytes)


def test_texts_without_a_candidate_phrase_never_reach_the_nlp() -> None:
    texts = reader()
    calls: list[str] = []

    def counted(text: str) -> frozenset[str]:
        calls.append(text)
        return frozenset()

    texts._read = counted  # type: ignore[method-assign]
    assert texts.affirmed("Chronic neck pain, worse with sitting") == frozenset()
    assert calls == []
    texts.affirmed("fever")
    assert calls == ["fever"]


def test_answers_are_cached_by_text_within_a_byte_budget() -> None:
    texts = reader(cache_bytes=2_000)
    calls: list[str] = []
    real = texts._read

    def counted(text: str) -> frozenset[str]:
        calls.append(text)
        return real(text)

    texts._read = counted  # type: ignore[method-assign]
    texts.affirmed("fever today")
    texts.affirmed("fever today")
    assert calls == ["fever today"]
    for i in range(200):
        texts.affirmed(f"fever on day {i} " + "x" * 50)
    assert texts._cache.size <= 2_000
    assert len(texts._cache.entries) < 200


def test_a_text_too_long_to_parse_counts_when_it_names_the_finding() -> None:
    """Failing safe: a text over the parsing limit is not read as "nothing there"."""
    long = "neck pain. " * (MAX_TEXT_CHARS // 10) + "no fever"
    assert reader().affirmed(long) == {"fever"}
    assert reader().affirmed("neck pain. " * (MAX_TEXT_CHARS // 10)) == frozenset()


def test_the_libraries_never_log_the_text(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = "Jane Roe has fever after the picnic on Elm Street"
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    texts = reader()
    texts.warm()
    assert texts.affirmed(secret) == {"fever"}
    captured = capfd.readouterr()
    assert "Elm Street" not in captured.out + captured.err
    assert all("Elm Street" not in record.getMessage() for record in caplog.records)


def test_pyrush_the_clinical_sentence_splitter_is_silenced_too(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """medspaCy's default pipeline splits sentences with PyRuSH, which logs each text at DEBUG
    through loguru; once the service has loaded its reader, that logging is off."""
    import medspacy

    from cds_service.clinical.assertions import silence_libraries

    silence_libraries()
    nlp = medspacy.load(medspacy_enable=["medspacy_pyrush"])
    nlp("Zebulon Roe lives here. She has neck pain.")
    captured = capfd.readouterr()
    assert "Zebulon" not in captured.out + captured.err


@pytest.mark.parametrize(
    "text",
    [
        "Neck pain, rated 4/5",
        "Seen 3/5/2026",
        "Lhermitte sign negative",
        "HIV (-)",
        "HIV Ab: nonreactive",
        "Allergy: methotrexate",
        "Ginger aids digestion",
        "Occipital nerve block with methylprednisolone 40 mg",
        "Former NHL player",
        "H/o Ca oxalate kidney stones",
        "Lost 10 lbs on Ozempic",
        "Down 2 lbs since last visit",
        "T40.2X5A Adverse effect of other opioids",
        "Symptoms fell off after NSAIDs",
        "No falls yesterday or today",
    ],
)
def test_the_fourth_review_texts_name_no_finding(text: str) -> None:
    """The variant's own patients, whose texts the third review's new rules first misread."""
    assert KNOWLEDGE.text.text_reader.affirmed(text) == frozenset()


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("Deltoid 4/5", "neurologic-deficit"),
        ("AIDS", "immunosuppression"),
        ("Prednisone 40 mg daily for 3 months", "immunosuppression"),
        ("Hx NHL", "malignancy"),
        ("Triple negative breast cancer", "malignancy"),
        ("Breast cancer, ER negative", "malignancy"),
        ("T 38.6.", "fever-infection"),
        ("Fell off a ladder yesterday", "trauma"),
    ],
)
def test_the_fourth_review_keeps_the_findings(text: str, group: str) -> None:
    assert group in KNOWLEDGE.text.text_reader.affirmed(text)


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("Fever, cultures negative", "fever-infection"),
        ("HIV negative, fever 38.9", "fever-infection"),
        ("HIV (-), fever 38.9", "fever-infection"),
        ("Fever, cultures - negative", "fever-infection"),
        ("HIV positive, RPR nonreactive", "immunosuppression"),
        ("Allergy: none, HIV", "immunosuppression"),
        ("No breast cancer recurrence", "malignancy"),
        ("T38.6 overnight", "fever-infection"),
        ("Lost 10 lbs despite exercise", "weight-loss"),
        ("Prednisone 20 mg", "immunosuppression"),
        ("Fell off his scooter", "trauma"),
        ("pt has aids", "immunosuppression"),
        ("4/5 LUE", "neurologic-deficit"),
    ],
)
def test_the_fourth_review_fixes_never_hide_a_finding(text: str, group: str) -> None:
    """First-rule patients written against each narrowing of the fourth review: a negation
    next to another finding, a history stated with a denial, a dose without a frequency."""
    assert group in KNOWLEDGE.text.text_reader.affirmed(text)
