"""The sentences of the cards, in the knowledge file (``texts``): rendered by advice/."""

from __future__ import annotations

from cds_service.clinical.code_lists import Strict


class Texts(Strict):
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
    unreadable_summary: str
    unreadable_condition_label: str
    unreadable_condition: str
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
    evidence_weight_loss_undated: str
    """A loss found with a weight that has no date: as ``evidence_weight_loss``."""
    evidence_weight_loss_partial: str
    """A loss found with a weight dated only by a month or year (placed within that span)."""
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
