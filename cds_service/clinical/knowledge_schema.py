"""The vocabulary of the knowledge file: what a procedure, an exclusion group or a code list is.

Code defines the shapes; the YAML file in ``knowledge/`` says which codes and ratings. A file
is validated against :class:`KnowledgeFile` when it is loaded (knowledge_loader.py) and then
compiled into the look-ups the rules use (compiled_knowledge.py).
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator

from cds_service.clinical.card_texts import Texts
from cds_service.clinical.code_lists import CodeLists, CodeSystem, Strict, SystemKey
from cds_service.clinical.default_cues import ReviewedCue, check_reviewed_cues
from cds_service.clinical.display_idioms import DisplayIdiom
from cds_service.clinical.finding_families import FindingFamily
from cds_service.clinical.generated_targets import GeneratedTargets
from cds_service.clinical.local_causes import LocalCause
from cds_service.clinical.topics import AdviceId, AdviceTopic, Topics, check_topics

SUMMARY_LIMIT = 139  # CDS Hooks 2.0: "<140-character summary"

CategoryKey = Literal[
    "usually-appropriate",
    "may-be-appropriate",
    "may-be-appropriate-disagreement",
    "usually-not-appropriate",
]
RrlKey = Literal["O", "☢", "☢☢", "☢☢☢", "☢☢☢☢", "☢☢☢☢☢", "not stated"]


class Coded(Strict):
    system: str
    code: str
    display: str


class Guideline(Strict):
    title: str
    edition: str
    url: str
    source_label: str
    topic: Coded


class Variant(Strict):
    id: str
    title: str
    minimum_age_years: int = Field(ge=0)


class Category(Strict):
    label: str
    pama_rating: Literal["appropriate", "not-appropriate", "no-criteria-apply", "configurable"]


class Procedure(Strict):
    """A row of the variant's procedure table, or an order that leaves contrast unspecified.

    A row has a ``category`` and ``rrl``; an unspecified-contrast order names the rows it could
    be (``candidates``) and is rated only when they all agree.
    """

    id: str
    name: str
    category: CategoryKey | None = None
    rrl: RrlKey | None = None
    rating_source: Literal["seed", "portal", "seed+portal"] | None = None
    candidates: list[str] = Field(default_factory=list)
    codes: CodeLists
    code_combinations: list[CodeLists] = Field(default_factory=list)
    """Sets of codes that identify the study only together (CT myelography in CPT)."""
    site_required_codes: CodeLists = Field(default_factory=CodeLists)
    """Codes that identify the row only when the order says the site is cervical (CPT 72020 is
    a single-view radiograph of any level of the spine)."""
    offer_replacement: bool = True
    """Offer MRI cervical spine without contrast instead (not for vascular studies)."""
    rationale: str

    @model_validator(mode="after")
    def _site_codes_are_the_rows(self) -> Procedure:
        for key, codes in self.site_required_codes.items():
            stray = set(codes) - set(dict(self.codes.items())[key])
            if stray:
                raise ValueError(f"site_required_codes {sorted(stray)} are not codes of the row")
        return self

    @model_validator(mode="after")
    def _row_or_candidates(self) -> Procedure:
        if self.candidates:
            if self.category or self.rrl:
                raise ValueError("an unspecified-contrast entry takes candidates, not a rating")
            if self.codes.is_empty():
                raise ValueError("an unspecified-contrast entry needs at least one code")
        elif not (self.category and self.rrl and self.rating_source):
            raise ValueError("a table row needs category, rrl and rating_source")
        return self


class ObservationThreshold(Strict):
    unit: Literal["Cel", "[degF]"]
    minimum: float


class FeverRule(Strict):
    kind: Literal["threshold"]
    loinc: list[str] = Field(min_length=1)
    """Every LOINC code of a body temperature (generic and site-specific): any one counts."""
    snomed: list[str] = Field(default_factory=list)
    """SNOMED CT codes of the same observable (EHRs that code vital signs in SNOMED CT)."""
    label: str
    thresholds: list[ObservationThreshold] = Field(min_length=1)
    lookback_days: int = Field(gt=0)

    @property
    def reading_codes(self) -> frozenset[str]:
        return frozenset((*self.loinc, *self.snomed))


class WeightLossRule(Strict):
    kind: Literal["weight-loss"]
    loinc: list[str] = Field(min_length=1)
    snomed: list[str] = Field(default_factory=list)
    label: str
    minimum_loss_percent: float = Field(gt=0, lt=100)
    window_days: int = Field(gt=0)

    @property
    def reading_codes(self) -> frozenset[str]:
        return frozenset((*self.loinc, *self.snomed))


class TextRules(Strict):
    """How a group's finding is named in free text, read with ConText (see assertions.py).

    ``match`` and ``no_match`` are examples a reviewer can read, run as tests: each ``match``
    text must affirm the group, no ``no_match`` text may.
    """

    phrases: list[str] = Field(min_length=1)
    patterns: list[str] = Field(default_factory=list)
    """Regular expressions (case-insensitive) for mentions a phrase cannot list: a number and
    its unit ("lost 10 lbs", "T 38.6"), words in between ("radiating down left arm")."""
    other_senses: list[str] = Field(default_factory=list)
    """Longer phrases holding a phrase that name something else (``hay fever``)."""
    cancelled_by: list[str] = Field(default_factory=list)
    """Modifiers that cancel a mention within ConText's scope (``lumbar`` radiculopathy)."""
    cancel_scope: int = Field(default=2, gt=0, le=6)
    """How many tokens from a mention a cancelling word reaches."""
    kept_by: list[str] = Field(default_factory=list)
    """Modifiers that keep a mention a cancelling one also modifies (``cervical``)."""
    asserted_by: list[str] = Field(default_factory=list)
    """Words just after a mention that date it as an event ("MVC last week"): the mention
    counts even inside a list a negation runs over ("denies illness, MVC last week")."""
    escalated_by: list[str] = Field(default_factory=list)
    """Words beside a mention that make it new or progressive ("progressive weakness")."""
    historical_counts: bool = False
    """A historical mention ("history of ...") still puts the patient outside the variant."""
    generated: GeneratedTargets | None = None
    """Targets generated from the ICD-10-CM tabular (generated_targets.py)."""
    families: list[FindingFamily] = Field(default_factory=list)
    """A head near a word that makes it the finding, by lemma (finding_families.py)."""
    local_causes: list[LocalCause] = Field(default_factory=list)
    """Named causes that explain the finding's plain words away (local_causes.py)."""
    match: list[str] = Field(min_length=1)
    no_match: list[str] = Field(min_length=1)


class TextContextRule(Strict):
    """A ConText modifier added to medspaCy's defaults."""

    literal: str
    category: Literal[
        "NEGATED_EXISTENCE",
        "POSSIBLE_EXISTENCE",
        "HISTORICAL",
        "HYPOTHETICAL",
        "FAMILY",
    ]
    direction: Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"] = "FORWARD"
    """TERMINATE: ends every other modifier's scope there (ConText's "but"); PSEUDO: a longer
    phrase that holds a modifier but modifies nothing ("no change in" holds "no")."""
    replaces_default: bool = False
    groups: list[str] = Field(default_factory=list)
    """Only mentions of these exclusion groups (every group when empty)."""
    max_scope: int | None = Field(default=None, gt=0)
    """At most this many tokens away (the sentence when unset)."""
    pattern: str | None = None
    """A regular expression matched in place of the literal (a year long past: "in 2019")."""
    why: str


class ExclusionGroup(Strict):
    """Findings that put the patient outside the variant, and where the guideline sends them."""

    id: str
    label: str
    status_policy: Literal["active", "any"]
    inactive_lookback_days: int | None = Field(default=None, gt=0)
    escalate_within_days: int | None = Field(default=None, gt=0)
    codes: CodeLists
    no_escalation_codes: CodeLists = Field(default_factory=CodeLists)
    """Codes of the group that exclude but do not call for escalation (generalised weakness)."""
    text: TextRules | None = None
    observations: list[FeverRule | WeightLossRule] = Field(default_factory=list)
    snomed_roots: list[str] = Field(default_factory=list)
    """SNOMED CT concepts whose every descendant counts (``<< root``); the descendants come
    from a terminology server (see terminology.py), else only the listed codes count."""
    redirect: str


class PriorImaging(Strict):
    """The variant is for *initial* imaging: a cervical-spine study of the procedure table
    already in the record (within ``lookback_days``) puts the patient outside it."""

    label: str
    lookback_days: int = Field(gt=0)
    spine_words: list[str] = Field(min_length=1)
    imaging_words: list[str] = Field(min_length=1)
    """A study known only by its text counts when a name holds one word of each list."""
    evidence: str
    """How the card names the study: ``{procedure}``, ``{resource_type}`` and ``{date}``."""
    redirect: str

    @model_validator(mode="after")
    def _evidence_fills(self) -> PriorImaging:
        try:
            self.evidence.format(procedure="", resource_type="", date="")
        except (KeyError, IndexError, ValueError) as exc:
            fields = "{procedure}, {resource_type}, {date}"
            raise ValueError(f"evidence takes only {fields}: {exc}") from None
        return self


class VascularFindings(Strict):
    """A vascular study ordered for a recorded vascular finding is not rated (see
    vascular.py): the studies, the finding's codes and words, and the card's sentences."""

    procedures: list[str] = Field(min_length=1)
    codes: CodeLists
    patterns: list[str] = Field(min_length=1)
    order_patterns: list[str] = Field(default_factory=list)
    """Words that name the finding only in a vascular study's own reason or note, which asks
    about the neck's arteries ("rule out dissection", "?dissection"); see vascular_reading.py."""
    match: list[str] = Field(default_factory=list)
    no_match: list[str] = Field(default_factory=list)
    summary: str
    detail: str


class OverrideReason(Strict):
    code: str
    display: str


class CervicalSite(Strict):
    """How an order says its site is the cervical spine (for ``site_required_codes``)."""

    codes: CodeLists
    words: list[str] = Field(min_length=1)


class OtherRegions(Strict):
    """Codes of other body regions: an order that also names one is not a cervical study."""

    codes: CodeLists


class KnowledgeFile(Strict):
    """A whole knowledge file, validated (its look-ups are compiled in compiled_knowledge.py)."""

    schema_version: Literal[1]
    id: str
    version: str
    guideline: Guideline
    variant: Variant
    code_systems: dict[SystemKey, CodeSystem]
    rating_code_system: str
    override_reason_system: str
    categories: dict[CategoryKey, Category]
    pama_displays: dict[Literal["appropriate", "not-appropriate", "no-criteria-apply"], str]
    rrl_labels: dict[RrlKey, str]
    preferred_procedure: str
    indication: CodeLists
    cervical_site: CervicalSite
    other_regions: OtherRegions
    procedures: list[Procedure] = Field(min_length=1)
    text_context_rules: list[TextContextRule] = Field(default_factory=list)
    reviewed_default_cues: list[ReviewedCue] = Field(default_factory=list)
    """medspaCy's default ConText cues, each kept or replaced, with why (default_cues.py)."""
    display_idioms: list[DisplayIdiom] = Field(default_factory=list)
    exclusions: list[ExclusionGroup]
    prior_imaging: PriorImaging
    vascular_findings: VascularFindings | None = None
    override_reasons: list[OverrideReason] = Field(min_length=1)
    texts: Texts
    topics: Topics
    """One topic (``source.topic``) per advice a card can give: see topics.py."""
    snomed_expansions: dict[str, list[str]] = Field(default_factory=dict)
    """Root concept to its descendants, from a terminology server; never written in the file
    (see :meth:`~cds_service.clinical.compiled_knowledge.Knowledge.with_expansions`)."""
    snomed_terms: dict[str, list[str]] = Field(default_factory=dict)
    """Root concept to the displays and synonyms of its descendants, for the groups that read
    them (synonym_targets.py); from a terminology server, never written in the file."""

    @model_validator(mode="after")
    def _consistent(self) -> KnowledgeFile:
        ids = [p.id for p in self.procedures]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"duplicate procedure ids: {sorted(duplicates)}")
        known = set(ids)
        if self.preferred_procedure not in known:
            raise ValueError(f"preferred_procedure {self.preferred_procedure!r} is not a procedure")
        for procedure in self.procedures:
            missing = set(procedure.candidates) - known
            if missing:
                raise ValueError(f"procedure {procedure.id!r}: unknown candidates {missing}")
            if procedure.category and procedure.category not in self.categories:
                raise ValueError(f"procedure {procedure.id!r}: category not in categories")
            if procedure.rrl and procedure.rrl not in self.rrl_labels:
                raise ValueError(f"procedure {procedure.id!r}: rrl not in rrl_labels")
        for key in ("cpt", "loinc", "snomed", "icd10cm", "radlex"):
            if key not in self.code_systems:
                raise ValueError(f"code_systems lacks {key!r}")
        self._check_codes_unique()
        self._check_summaries_fit()
        check_reviewed_cues(self.reviewed_default_cues, self.text_context_rules)
        check_topics(self)
        return self

    @cached_property
    def topic_index(self) -> dict[AdviceId, AdviceTopic]:
        return self.topics.by_advice()

    @cached_property
    def procedures_by_id(self) -> dict[str, Procedure]:
        return {p.id: p for p in self.procedures}

    def rating_for(self, procedure: Procedure) -> tuple[CategoryKey | None, RrlKey | None]:
        """The category and RRL of a row, or of an unspecified order whose candidates agree."""
        if not procedure.candidates:
            return procedure.category, procedure.rrl
        rows = [self.procedures_by_id[c] for c in procedure.candidates]
        categories = {r.category for r in rows}
        rrls = {r.rrl for r in rows}
        category = categories.pop() if len(categories) == 1 else None
        rrl = rrls.pop() if len(rrls) == 1 else None
        return category, rrl

    def _check_summaries_fit(self) -> None:
        """Every summary a card can show is under 140 characters (CDS Hooks 2.0)."""
        texts = self.texts
        for procedure in self.procedures:
            for template in (
                texts.not_appropriate_summary,
                texts.mri_summary,
                texts.unspecified_summary,
                texts.other_region_summary,
            ):
                for category in self.categories.values():
                    summary = template.format(procedure=procedure.name, category=category.label)
                    if len(summary) > SUMMARY_LIMIT:
                        raise ValueError(f"summary too long ({len(summary)}): {summary!r}")
        for fixed in ("escalation_summary", "unconfirmed_summary", "unreadable_summary"):
            if len(getattr(texts, fixed)) > SUMMARY_LIMIT:
                raise ValueError(f"texts.{fixed} is 140 characters or more")

    def _check_codes_unique(self) -> None:
        seen: dict[tuple[str, str], str] = {}
        for procedure in self.procedures:
            for key, codes in procedure.codes.items():
                for code in codes:
                    other = seen.setdefault((key, code), procedure.id)
                    if other != procedure.id:
                        raise ValueError(f"{key} {code} identifies both {other} and {procedure.id}")
