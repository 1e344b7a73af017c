"""Which Procedures, DiagnosticReports and ImagingStudies are prior cervical-spine imaging.

The selection (selection.py) asks :func:`study_match` once of each such resource, on the raw
JSON; the reader (record_reader.py) reads the ones it matched, and uses how it matched for the
study's display. Three tests, cheapest first:

- the study's code names a row of the procedure table (a CPT code with a modifier,
  ``72141-26``, counts as its code);
- an ImagingStudy whose series' body site, or whose description, is the cervical spine (a PACS
  often sends only modality and body site);
- a name of its code holds a cervical-spine word and an imaging word ("MRI C-spine w/o
  contrast", "XR cervical spine 2 views").
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.record.readers import as_dict, as_list, as_str, names, study_concepts

PRIOR_STUDY_TYPES = frozenset({"Procedure", "DiagnosticReport", "ImagingStudy"})
"""The resource types a prior study may come as."""


class StudyMatch(Enum):
    """How a resource was recognised as prior cervical-spine imaging."""

    TABLE_ROW = "a procedure-table row"
    BODY_SITE = "an ImagingStudy of the cervical spine"
    NAME = "a name of a cervical-spine study"


def study_match(resource: Mapping[str, Any], knowledge: Knowledge) -> StudyMatch | None:
    """How a Procedure, DiagnosticReport or ImagingStudy is prior cervical-spine imaging, or
    None when it is not."""
    if names_a_table_row(resource, knowledge):
        return StudyMatch.TABLE_ROW
    if images_the_cervical_spine(resource, knowledge):
        return StudyMatch.BODY_SITE
    if names_a_cervical_study(resource, knowledge):
        return StudyMatch.NAME
    return None


def names_a_table_row(resource: Mapping[str, Any], knowledge: Knowledge) -> bool:
    """A coding that identifies a procedure-table row (a CPT code with a modifier,
    ``72141-26``, as its code)."""
    table, systems = knowledge.codes.procedure_by_code, knowledge.codes.system_uris
    cpt = knowledge.file.code_systems["cpt"].uri
    for concept in study_concepts(resource):
        for coding in as_list(as_dict(concept).get("coding")):
            system, code = as_dict(coding).get("system"), as_dict(coding).get("code")
            if not (isinstance(system, str) and isinstance(code, str)):
                continue
            canonical, value = systems.get(system, system), code.strip().upper()
            if canonical == cpt:
                value = value.split("-")[0].strip()
            if (canonical, value) in table:
                return True
    return False


def names_a_cervical_study(resource: Mapping[str, Any], knowledge: Knowledge) -> bool:
    """A study known only by its text: a cervical-spine word and an imaging word in a name
    of its code."""
    words = knowledge.text.prior_imaging_words
    return any(
        words.spine.search(name) is not None and words.imaging.search(name) is not None
        for concept in study_concepts(resource)
        for name in names(concept)
    )


def images_the_cervical_spine(resource: Mapping[str, Any], knowledge: Knowledge) -> bool:
    """An ImagingStudy whose series' body site, or whose description, is the cervical spine."""
    if resource.get("resourceType") != "ImagingStudy":
        return False
    sites, systems = knowledge.codes.cervical_site_codes, knowledge.codes.system_uris
    for series in as_list(resource.get("series")):
        site = as_dict(as_dict(series).get("bodySite"))
        system, code = as_str(site.get("system")), as_str(site.get("code"))
        if system and code and sites.contains(systems.get(system, system), code):
            return True
        if any(knowledge.text.cervical_words.search(n) for n in names({"coding": [site]})):
            return True
    description = as_str(resource.get("description"))
    return description is not None and knowledge.text.cervical_words.search(description) is not None
