"""The prefetch templates: what the rules read, as FHIR queries generated from the knowledge."""

from __future__ import annotations

from cds_service.clinical.compiled_knowledge import Knowledge


def prefetch_templates(knowledge: Knowledge) -> dict[str, str]:
    """Patient, the patient's Conditions, the Observations the rules read, and the imaging
    already done (the variant is for initial imaging)."""
    codes = ",".join(sorted(knowledge.codes.observation_codes_of_interest))
    studies = study_code_filter(knowledge)
    findings = finding_code_filter(knowledge)
    return {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        # the vital signs the rules read, and examination findings coded as an exclusion's
        "observations": f"Observation?patient={{{{context.patientId}}}}&code={codes},{findings}",
        # examination findings whose coded value is an exclusion's ("numbness" as the value)
        "observationValues": (
            f"Observation?patient={{{{context.patientId}}}}&value-concept={findings}"
        ),
        "procedures": f"Procedure?patient={{{{context.patientId}}}}&code={studies}",
        "diagnosticReports": f"DiagnosticReport?patient={{{{context.patientId}}}}&code={studies}",
        # ImagingStudy has no standard search on its procedure code: all of the patient's
        "imagingStudies": "ImagingStudy?patient={{context.patientId}}",
    }


def finding_code_filter(knowledge: Knowledge) -> str:
    """The exclusion groups' SNOMED CT concepts as ``system|code`` tokens (the listed ones:
    a terminology server's descendants would make the query too long)."""
    snomed = knowledge.file.code_systems["snomed"].uri
    concepts = sorted({c for group in knowledge.file.exclusions for c in group.codes.snomed})
    return ",".join(f"{snomed}|{code}" for code in concepts)


def study_code_filter(knowledge: Knowledge) -> str:
    """Every code of the procedure table, as a token search without a system: EHRs send the
    same codes under other system URIs too (OIDs, ``https://loinc.org``), and the record layer
    keeps only the codings whose system and code identify a row."""
    return ",".join(sorted({code for _, code in knowledge.codes.procedure_by_code}))
