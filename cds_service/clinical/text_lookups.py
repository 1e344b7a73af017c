"""What the knowledge file says of free text, compiled: the ConText reader of every group's
phrases, and the word lists that name a cervical site, a prior study or an escalation.

A component of the compiled knowledge (compiled_knowledge.py), built once per knowledge file;
the ConText reader, the costly part, is shared by the versions of one file (terminology
refreshes change codes, not phrases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from cds_service.clinical.assertions import ContextRule, GroupPhrases, TextReader, escalating
from cds_service.clinical.display_idioms import idioms_pattern
from cds_service.clinical.finding_families import compile_family
from cds_service.clinical.generated_targets import Generated, generate
from cds_service.clinical.knowledge_schema import ExclusionGroup, KnowledgeFile
from cds_service.clinical.local_causes import compile_cause
from cds_service.clinical.synonym_targets import group_synonym_targets


@dataclass(frozen=True)
class StudyWords:
    spine: re.Pattern[str]
    imaging: re.Pattern[str]


def context_rules_of(file: KnowledgeFile) -> tuple[ContextRule, ...]:
    """The file's reviewed ConText rules, as the readers take them (the exclusion groups' and
    the vascular finding's)."""
    return tuple(
        ContextRule(
            r.literal,
            r.category,
            r.direction,
            r.replaces_default,
            tuple(r.groups),
            r.max_scope,
            r.pattern,
        )
        for r in file.text_context_rules
    )


def words_pattern(words: list[str]) -> re.Pattern[str]:
    """Any of the words, on word boundaries, case aside; a space or hyphen inside a word
    matches either."""
    parts = [r"[\s\-]?".join(re.escape(p) for p in re.split(r"[\s\-]", w)) for w in words]
    return re.compile(rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)", re.IGNORECASE)


class TextLookups:
    """The text look-ups of a knowledge file (each built once, on first use or by ``warm``).

    ``reader``: the ConText reader of an earlier version of the same file, to share.
    """

    def __init__(self, file: KnowledgeFile, reader: TextReader | None = None) -> None:
        self.file = file
        self.text_reader = reader if reader is not None else self.build_reader()
        """ConText over every group's phrases (built once per knowledge file)."""

    def warm(self) -> None:
        """Build every look-up now, so that nothing about the file can fail at request time."""
        _ = (self.prior_imaging_words, self.cervical_words, self.escalating_words)
        self.text_reader.warm()

    @cached_property
    def prior_imaging_words(self) -> StudyWords:
        return StudyWords(
            words_pattern(self.file.prior_imaging.spine_words),
            words_pattern(self.file.prior_imaging.imaging_words),
        )

    @cached_property
    def cervical_words(self) -> re.Pattern[str]:
        words = "|".join(re.escape(w) for w in self.file.cervical_site.words)
        return re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)

    def build_reader(self) -> TextReader:
        """ConText over every group's phrases."""
        groups = [
            GroupPhrases(
                group_id=group.id,
                phrases=tuple(group.text.phrases),
                patterns=tuple(group.text.patterns),
                asserted_by=tuple(group.text.asserted_by),
                escalated_by=tuple(group.text.escalated_by),
                other_senses=tuple(group.text.other_senses),
                cancelled_by=tuple(group.text.cancelled_by),
                cancel_scope=group.text.cancel_scope,
                kept_by=tuple(group.text.kept_by),
                historical_counts=group.text.historical_counts,
                generated=self.targets_generated(group.id),
                families=tuple(compile_family(f) for f in group.text.families),
                local_causes=tuple(compile_cause(c) for c in group.text.local_causes),
            )
            for group in self.file.exclusions
            if group.text is not None
        ]
        return TextReader(groups, context_rules_of(self.file), idioms=self.idioms)

    @cached_property
    def idioms(self) -> re.Pattern[str] | None:
        """The display idioms removed before a text is read ("(HCC)", "(finding)")."""
        return idioms_pattern(self.file.display_idioms)

    @cached_property
    def generated_targets(self) -> dict[str, Generated]:
        """Each group's targets generated from the ICD-10-CM tabular, kept and pruned."""
        return {
            g.id: generate(g.text.generated, g.text.phrases)
            for g in self.file.exclusions
            if g.text is not None and g.text.generated is not None
        }

    @cached_property
    def synonym_targets(self) -> dict[str, Generated]:
        """Each group's targets from the SNOMED CT synonyms of its roots (synonym_targets.py;
        none without a terminology server)."""
        return group_synonym_targets(
            self.file.exclusions, self.file.snomed_terms, self.generated_targets
        )

    def targets_generated(self, group_id: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """A group's generated targets read: from the tabular, then its SNOMED CT synonyms."""
        found = (self.generated_targets.get(group_id), self.synonym_targets.get(group_id))
        return tuple(target for part in found if part is not None for target in part.kept)

    def text_affirms(self, group: ExclusionGroup, texts: tuple[str, ...]) -> bool:
        """A text affirms the group's finding (not negated, hypothetical or a relative's)."""
        reader = self.text_reader
        return any(group.id in reader.affirmed(text) for text in texts)

    def text_escalates(self, group: ExclusionGroup, texts: tuple[str, ...]) -> bool:
        """A text names the group's finding as new or progressive ("progressive weakness")."""
        reader = self.text_reader
        return any(escalating(group.id) in reader.affirmed(text) for text in texts)

    def note_escalates(self, group: ExclusionGroup, notes: tuple[str, ...]) -> bool:
        """A note on one of the group's findings holds an escalating word ("Worsening over
        the last 2 weeks" on a coded paresthesia): the finding is progressive."""
        pattern = self.escalating_words.get(group.id)
        return pattern is not None and any(pattern.search(note) for note in notes)

    @cached_property
    def escalating_words(self) -> dict[str, re.Pattern[str]]:
        return {
            g.id: words_pattern(g.text.escalated_by)
            for g in self.file.exclusions
            if g.text is not None and g.text.escalated_by
        }
