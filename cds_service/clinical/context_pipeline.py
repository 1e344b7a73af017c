"""The medspaCy pipeline the text reader runs, and what its answers mean: the labels of the
groups' target phrases, the groups' own ConText modifiers (cancelling, keeping, dating,
escalating), the reviewed extra rules, and when a modified mention still counts.

See :mod:`cds_service.clinical.assertions` for the reader itself.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cds_service.clinical.finding_families import Family
from cds_service.clinical.lemmas import add_lemmatizer
from cds_service.clinical.local_causes import Cause, explained_locally

CANCEL = "CDS_CANCELLED_BY"
KEEP = "CDS_KEPT_BY"
ASSERT = "CDS_ASSERTED_BY"
ESCALATE = "CDS_ESCALATED_BY"
OTHER_SENSE = "CDS_OTHER_SENSE"
CONTEXT_CATEGORIES = frozenset(
    {"NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "FAMILY"}
)
_QUIET = ("medspacy", "PyRuSH", "spacy", "quickumls")
MODIFIER_SCOPE = 4
"""The reach of keeping, dating and escalating words, in tokens."""


_JOINING_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")


def unhyphenated(text: str) -> str:
    """A hyphen between two letters read as a space, in texts and phrases alike:
    "night-sweats" is "night sweats" (spaCy's tokens would otherwise differ)."""
    return _JOINING_HYPHEN.sub(" ", text)


def escalating(group_id: str) -> str:
    """The member of an answer saying a group's finding is named new or progressive."""
    return f"{group_id}+escalating"


def silence_libraries() -> None:
    """Keep medspaCy, PyRuSH and spaCy from logging the texts they read (patient data)."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        logging.getLogger(name).propagate = False
    try:
        from loguru import logger  # PyRuSH logs through loguru, at DEBUG, with the text
    except ImportError:  # pragma: no cover - loguru comes with PyRuSH
        return
    for name in _QUIET:
        logger.disable(name)


@dataclass(frozen=True)
class GroupPhrases:
    """What the knowledge file says of one group's text (``TextRules``, knowledge_schema.py)."""

    group_id: str
    phrases: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    other_senses: tuple[str, ...] = ()
    cancelled_by: tuple[str, ...] = ()
    cancel_scope: int = 2
    """Tokens from the mention a cancelling word reaches: two by default ("lumbar
    radiculopathy", "radiculopathy, lumbar region"), so that "radiculopathy, prior lumbar
    fusion" is a radiculopathy of unstated site, which counts (failing safe)."""
    kept_by: tuple[str, ...] = ()
    asserted_by: tuple[str, ...] = ()
    escalated_by: tuple[str, ...] = ()
    historical_counts: bool = False
    generated: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Targets generated from the ICD-10-CM tabular: words and lemmas (matched by lemma)."""
    families: tuple[Family, ...] = ()
    """Finding families: a head near a word that makes it the finding (finding_families.py)."""
    local_causes: tuple[Cause, ...] = ()
    """Named causes that explain a mention away in its sentence (local_causes.py)."""


@dataclass(frozen=True)
class ContextRule:
    """A ConText modifier added to medspaCy's defaults; ``replaces_default`` drops the default
    rule of the same literal (a reviewed change of its direction, say)."""

    literal: str
    category: str
    direction: str = "FORWARD"
    replaces_default: bool = False
    groups: tuple[str, ...] = ()
    """Only mentions of these groups (all when empty)."""
    max_scope: int | None = None
    pattern: str | None = None
    """A regular expression matched in place of the literal."""


def target_labels(groups: Iterable[GroupPhrases]) -> dict[str, str]:
    """Each phrase (lower case) to its target label: the ids of every group that lists it,
    joined by ``|`` (one mention can name two groups: "arm weakness")."""
    owners: dict[str, set[str]] = {}
    for group in groups:
        for phrase in group.phrases:
            owners.setdefault(unhyphenated(phrase.lower()), set()).add(group.group_id)
    return {phrase: "|".join(sorted(ids)).upper() for phrase, ids in owners.items()}


def target_types(labels: Mapping[str, str], group_ids: Iterable[str]) -> set[str] | None:
    """The target labels that name any of these groups (None: every label)."""
    wanted = {g.upper() for g in group_ids}
    if not wanted:
        return None
    return {label for label in labels.values() if wanted & set(label.split("|"))}


def mention_counts(ent: Any, group: GroupPhrases) -> bool:
    """Does this mention, with its ConText modifiers, affirm the group's finding?"""
    categories = {m.category for m in ent._.modifiers}
    if "FAMILY" in categories or ("HYPOTHETICAL" in categories and ASSERT not in categories):
        return False
    # "No falls yesterday or today": a negation next to the mention is undone only by an
    # asserting word next to it too ("No breast cancer recurrence" is a history of cancer)
    if beside(ent, "NEGATED_EXISTENCE") and not beside(ent, ASSERT):
        return False
    # "cannot rule out": negated and possible, so possible (failing safe)
    if "NEGATED_EXISTENCE" in categories and not categories & {ASSERT, "POSSIBLE_EXISTENCE"}:
        return False
    if "HISTORICAL" in categories and not group.historical_counts:
        return False
    if group.local_causes and explained_locally(ent, group.local_causes):
        return False
    return not (CANCEL in categories and KEEP not in categories)


def beside(ent: Any, category: str) -> bool:
    """A modifier of ``category`` right next to the mention (at most one token between):
    "no falls", "fever negative"; not one reaching it across a list ("denies illness, MVC")."""
    for modifier in ent._.modifiers:
        if modifier.category != category:
            continue
        start, end = modifier.modifier_span
        if 0 <= ent.start - end <= 1 or 0 <= start - ent.end <= 1:
            return True
    return False


def group_modifiers(group: GroupPhrases, labels: Mapping[str, str], rule: Any) -> list[Any]:
    """The group's own modifiers: cancelling (next to the mention), keeping, escalating and
    dating (either side, further)."""
    types = target_types(labels, [group.group_id])
    spec = [
        *((w, CANCEL, "BIDIRECTIONAL", group.cancel_scope) for w in group.cancelled_by),
        *((w, KEEP, "BIDIRECTIONAL", MODIFIER_SCOPE) for w in group.kept_by),
        *((w, ESCALATE, "BIDIRECTIONAL", MODIFIER_SCOPE) for w in group.escalated_by),
        *((w, ASSERT, "BIDIRECTIONAL", MODIFIER_SCOPE) for w in group.asserted_by),
    ]
    return [
        rule(
            unhyphenated(word),
            category,
            direction=direction,
            allowed_types=types,
            max_scope=scope,
        )
        for word, category, direction, scope in spec
    ]


def build_pipeline(
    groups: Mapping[str, GroupPhrases],
    labels: Mapping[str, str],
    extra_rules: Sequence[ContextRule],
) -> Any:
    """A blank spaCy pipeline: sentences, the groups' target phrases, ConText with medspaCy's
    default modifiers (less those a reviewed rule replaces), the groups' and the extra ones."""
    # spaCy warns on every text that ConText's empty sub-matcher "has no patterns"
    warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)
    silence_libraries()
    import medspacy
    from medspacy.context import ConTextRule
    from medspacy.ner import TargetRule

    silence_libraries()
    nlp = medspacy.load(
        medspacy_enable=["medspacy_target_matcher", "medspacy_context"], load_rules=False
    )
    nlp.add_pipe("sentencizer", first=True)
    add_lemmatizer(nlp)
    targets = nlp.get_pipe("medspacy_target_matcher")
    context = nlp.get_pipe("medspacy_context")
    targets.add(target_rules(groups, labels, TargetRule))
    every_label = all_labels(groups, labels)
    modifiers = [
        *context_modifiers(extra_rules, every_label, ConTextRule, context.DEFAULT_RULES_FILEPATH),
        *(m for group in groups.values() for m in group_modifiers(group, every_label, ConTextRule)),
    ]
    context.add(modifiers)
    return nlp


def all_labels(groups: Mapping[str, GroupPhrases], labels: Mapping[str, str]) -> dict[str, str]:
    """Every target label, of phrases, generated targets and families (a group's modifiers
    reach every mention of the group, however it was found)."""
    return {
        **labels,
        **{" ".join(k): v for k, v in generated_labels(groups.values(), labels).items()},
        **{
            f"family {f.name}": "|".join(sorted({g.group_id, *f.also})).upper()
            for g in groups.values()
            for f in g.families
        },
    }


def target_rules(
    groups: Mapping[str, GroupPhrases], labels: Mapping[str, str], rule: Any
) -> list[Any]:
    """The groups' phrases under their labels, their generated targets (by lemma) and
    families, and the other senses that hide them."""
    rules = [rule(phrase, label) for phrase, label in labels.items()]
    senses = {unhyphenated(p.lower()) for g in groups.values() for p in g.other_senses}
    rules += [rule(p, OTHER_SENSE) for p in sorted(senses - set(labels))]
    rules += [
        rule(" ".join(lemmas), label, pattern=[{"LEMMA": w} for w in lemmas])
        for lemmas, label in generated_labels(groups.values(), labels).items()
    ]
    for group in groups.values():
        for family in group.families:
            owners = sorted({group.group_id, *family.also})
            label = OTHER_SENSE if family.hides else "|".join(owners).upper()
            rules += [rule(family.name, label, pattern=list(p)) for p in family.patterns]
    return rules


def generated_labels(
    groups: Iterable[GroupPhrases], labels: Mapping[str, str]
) -> dict[tuple[str, ...], str]:
    """Each generated target (its lemmas) to the ids of every group that generates it; a
    target that is also a hand-listed phrase is read as that phrase."""
    owners: dict[tuple[str, ...], set[str]] = {}
    for group in groups:
        for words, lemmas in group.generated:
            if unhyphenated(words) not in labels:
                owners.setdefault(lemmas, set()).add(group.group_id)
    return {lemmas: "|".join(sorted(ids)).upper() for lemmas, ids in owners.items()}


def context_modifiers(
    extra_rules: Sequence[ContextRule], labels: Mapping[str, str], rule: Any, defaults_file: str
) -> list[Any]:
    """medspaCy's default modifiers, less those a reviewed rule replaces, and the reviewed
    rules of the knowledge file."""
    replaced = {r.literal.lower() for r in extra_rules if r.replaces_default}
    defaults = [r for r in rule.from_json(defaults_file) if r.literal.lower() not in replaced]
    return defaults + [
        rule(
            unhyphenated(r.literal),
            r.category,
            pattern=r.pattern,
            direction=r.direction,
            allowed_types=target_types(labels, r.groups),
            max_scope=r.max_scope,
        )
        for r in extra_rules
    ]
