"""The vocabulary of the knowledge file, and its loader.

Code defines what a procedure, an exclusion group or a code list is; the YAML file in
``knowledge/`` says which codes and ratings. The file is validated when the service starts:
a broken file stops start-up with a :class:`KnowledgeError` that names the fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cds_service.clinical import icd10cm
from cds_service.clinical.code_lookups import CodeLookups
from cds_service.clinical.display_idioms import DisplayIdiom
from cds_service.clinical.finding_families import FindingFamily
from cds_service.clinical.generated_targets import GeneratedTargets
from cds_service.clinical.text_lookups import TextLookups
from cds_service.clinical.topics import AdviceId, AdviceTopic, Topics, check_topics
from cds_service.clinical.vascular import VascularLookups
from cds_service.errors import StartupError

SUMMARY_LIMIT = 139  # CDS Hooks 2.0: "<140-character summary"
PACKAGED_KNOWLEDGE = Path(__file__).parent / "knowledge" / "acr_cervicogenic_headache.yaml"

SystemKey = Literal["cpt", "loinc", "radlex", "snomed", "icd10cm"]
CategoryKey = Literal[
    "usually-appropriate",
    "may-be-appropriate",
    "may-be-appropriate-disagreement",
    "usually-not-appropriate",
]
RrlKey = Literal["O", "☢", "☢☢", "☢☢☢", "☢☢☢☢", "☢☢☢☢☢", "not stated"]


class KnowledgeError(StartupError):
    """The knowledge file cannot be used; the message names the file and the fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeSystem(_Strict):
    uri: str
    aliases: list[str] = Field(default_factory=list)


class CodeLists(_Strict):
    """Codes per system key. An ICD-10-CM entry is a code, a category or a range
    (``C00-C96``) of the CMS tabular, and means it and every code below it."""

    cpt: list[str] = Field(default_factory=list)
    loinc: list[str] = Field(default_factory=list)
    radlex: list[str] = Field(default_factory=list)
    snomed: list[str] = Field(default_factory=list)
    icd10cm: list[str] = Field(default_factory=list)
    icd10cm_alone: list[str] = Field(default_factory=list)
    """ICD-10-CM categories meant by themselves, without the codes below them."""

    @model_validator(mode="after")
    def _codes_are_real(self) -> CodeLists:
        for code in self.icd10cm_alone:
            problem = icd10cm.fault(code)
            if problem:
                raise ValueError(f"icd10cm_alone {code!r} {problem}")
        for key, codes in self.items():
            for code in codes:
                if not code.strip():
                    raise ValueError(f"{key}: empty code")
                problem = icd10cm.fault(code) if key == "icd10cm" else None
                if problem:
                    raise ValueError(f"icd10cm {code!r} {problem}")
                if key != "icd10cm" and ("*" in code or " " in code.strip()):
                    raise ValueError(f"{key} {code!r}: only exact codes")
        return self

    def items(self) -> list[tuple[SystemKey, list[str]]]:
        return [
            ("cpt", self.cpt),
            ("loinc", self.loinc),
            ("radlex", self.radlex),
            ("snomed", self.snomed),
            ("icd10cm", self.icd10cm),
        ]

    def is_empty(self) -> bool:
        return not (self.icd10cm_alone or any(codes for _, codes in self.items()))


class Coded(_Strict):
    system: str
    code: str
    display: str


class Guideline(_Strict):
    title: str
    edition: str
    url: str
    source_label: str
    topic: Coded


class Variant(_Strict):
    id: str
    title: str
    minimum_age_years: int = Field(ge=0)


class Category(_Strict):
    label: str
    pama_rating: Literal["appropriate", "not-appropriate", "no-criteria-apply", "configurable"]


class Procedure(_Strict):
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


class ObservationThreshold(_Strict):
    unit: Literal["Cel", "[degF]"]
    minimum: float


class FeverRule(_Strict):
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


class WeightLossRule(_Strict):
    kind: Literal["weight-loss"]
    loinc: list[str] = Field(min_length=1)
    snomed: list[str] = Field(default_factory=list)
    label: str
    minimum_loss_percent: float = Field(gt=0, lt=100)
    window_days: int = Field(gt=0)

    @property
    def reading_codes(self) -> frozenset[str]:
        return frozenset((*self.loinc, *self.snomed))


class TextRules(_Strict):
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
    match: list[str] = Field(min_length=1)
    no_match: list[str] = Field(min_length=1)


class TextContextRule(_Strict):
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


class ExclusionGroup(_Strict):
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


class PriorImaging(_Strict):
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


class VascularFindings(_Strict):
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


class OverrideReason(_Strict):
    code: str
    display: str


class Texts(_Strict):
    """Every sentence a card, a suggestion or an action shows that is not specific to one
    procedure or group. Placeholders in braces are filled by the service."""

    # ratings and the variant
    rating_line: str
    variant_line: str
    not_appropriate_summary: str
    preferred_alternative: str
    mri_summary: str
    mri_detail: str
    mri_advice: str
    """What to do, after the rating, on the card of the preferred study."""
    vascular_note: str
    unspecified_summary: str
    unspecified_detail: str
    checked: str
    indication_order: str
    indication_problem_list: str
    # patients outside the variant
    excluded_summary: str
    excluded_intro: str
    unconfirmed_summary: str
    unconfirmed_intro: str
    finding_line: str
    more_findings: str
    findings_count: str
    escalation_summary: str
    escalation_detail: str
    not_adult_label: str
    not_adult_evidence: str
    not_adult: str
    age_unknown_label: str
    age_unknown: str
    # orders that are not a cervical study alone
    other_region_summary: str
    other_region_detail: str
    # evidence
    evidence_condition: str
    status_not_recorded: str
    status_unrecognised: str
    onset: str
    recorded: str
    no_date: str
    evidence_order_reason: str
    evidence_order_note: str
    evidence_condition_note: str
    evidence_observation: str
    evidence_observation_text: str
    prior_study_by_site: str
    """An ImagingStudy known by modality and body site: ``{modality}``."""
    not_adult_evidence_partial: str
    """A birth date without its day or month: ``{youngest}``, ``{oldest}``."""
    unnamed_condition: str
    birth_date_in_future: str
    """A Condition with neither code nor name (found by its note)."""
    """An ImagingStudy known by modality and body site: ``{modality}``."""
    evidence_temperature: str
    unit_missing: str
    unit_reread: str
    evidence_weight_loss: str
    evidence_temperature_flagged: str
    """A body temperature flagged high with no value: ``{label}``, ``{date}``."""
    # suggestions and actions
    replace_label: str
    remove_label: str
    remove_replacement_elsewhere_label: str
    keep_existing_label: str
    conservative_label: str
    conservative_all_label: str
    replace_description: str
    create_description: str
    delete_description: str
    rating_description: str
    rating_description_unrated: str
    link_label: str
    order_replacement_label: str
    """The suggestion that orders the MRI beside the order (profile ``epic``): ``{procedure}``."""


class CervicalSite(_Strict):
    """How an order says its site is the cervical spine (for ``site_required_codes``)."""

    codes: CodeLists
    words: list[str] = Field(min_length=1)


class OtherRegions(_Strict):
    """Codes of other body regions: an order that also names one is not a cervical study."""

    codes: CodeLists


class Knowledge(_Strict, CodeLookups, TextLookups, VascularLookups):
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
    (see :meth:`with_expansions`)."""
    snomed_terms: dict[str, list[str]] = Field(default_factory=dict)
    """Root concept to the displays and synonyms of its descendants, for the groups that read
    them (synonym_targets.py); from a terminology server, never written in the file."""

    @model_validator(mode="after")
    def _consistent(self) -> Knowledge:
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
        check_topics(self)
        return self

    @cached_property
    def topic_index(self) -> dict[AdviceId, AdviceTopic]:
        return self.topics.by_advice()

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
        for fixed in ("escalation_summary", "unconfirmed_summary"):
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

    def with_expansions(
        self,
        expansions: Mapping[str, Iterable[str]],
        terms: Mapping[str, Iterable[str]] | None = None,
    ) -> Knowledge:
        """A copy whose groups also hold the given descendants of their SNOMED CT roots, and
        (``terms``) their displays and synonyms as text targets."""
        data = self.model_dump()
        data["snomed_expansions"] = {root: sorted(set(codes)) for root, codes in expansions.items()}
        data["snomed_terms"] = {root: sorted(set(words)) for root, words in (terms or {}).items()}
        copy = Knowledge.model_validate(data)
        if copy.synonym_targets == self.synonym_targets:
            copy.__dict__["text_reader"] = self.text_reader  # same targets: share the pipeline
        else:
            copy.text_reader.limit_cache(self.text_reader.cache_limit)
        return compile_knowledge(copy)


_LOADED: dict[tuple[str, int, int], Knowledge] = {}


def load_knowledge(path: Path | None = None) -> Knowledge:
    """Read and validate a knowledge file; raise :class:`KnowledgeError` naming any fault.

    A file already loaded unchanged (same path, size and modification time) is not compiled
    again: the text pipeline takes about a second to build.
    """
    source = path or PACKAGED_KNOWLEDGE
    try:
        stat = source.stat()
        key = (str(source.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is not None and key in _LOADED:
        return _LOADED[key]
    knowledge = _load(source)
    if key is not None:
        _LOADED[key] = knowledge
    return knowledge


def _load(source: Path) -> Knowledge:
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KnowledgeError(f"knowledge file {source}: cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"knowledge file {source}: not valid YAML: {exc}") from exc
    try:
        knowledge = Knowledge.model_validate(data)
    except ValidationError as exc:
        faults = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise KnowledgeError(f"knowledge file {source}: {faults}") from exc
    return compile_knowledge(knowledge)


def compile_knowledge(knowledge: Knowledge) -> Knowledge:
    """Build every look-up now, so that nothing about the file can fail at request time."""
    _ = (
        knowledge.system_uris,
        knowledge.procedure_by_code,
        knowledge.condition_codes_of_interest,
        knowledge.observation_codes_of_interest,
        knowledge.procedure_combinations,
        knowledge.exclusion_codes,
        knowledge.no_escalation_codes,
        knowledge.finding_codes,
        knowledge.site_required_codes,
        knowledge.cervical_site_codes,
        knowledge.cervical_words,
        knowledge.other_region_codes,
        knowledge.vascular_procedures,
    )
    knowledge.text_reader.warm()
    knowledge.vascular_reader.warm()
    return knowledge
