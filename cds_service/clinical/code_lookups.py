"""What the knowledge file says of codes, compiled: system URIs, the procedure table by code,
each exclusion group's codes (ICD-10-CM expanded, SNOMED CT roots with their descendants).

A component of the compiled knowledge (compiled_knowledge.py), built once per knowledge file.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from cds_service.clinical import icd10cm
from cds_service.clinical.code_lists import CodeLists, CodeSystem, SystemKey
from cds_service.clinical.codes import CodeSet, SystemTable
from cds_service.clinical.knowledge_schema import KnowledgeFile, Procedure


def code_set(systems: Mapping[SystemKey, CodeSystem], lists: CodeLists) -> CodeSet:
    """The codes of ``lists``; ICD-10-CM entries with every code below them."""
    result = CodeSet()
    for key, codes in lists.items():
        uri = systems[key].uri
        if key == "icd10cm":
            for entry in codes:
                result.add_all(uri, icd10cm.expand(entry), hierarchical=True)
        else:
            result.add_all(uri, codes)
    result.add_alone(systems["icd10cm"].uri, lists.icd10cm_alone)
    return result


class CodeLookups:
    """The code look-ups of a knowledge file (each built once, on first use or by ``warm``)."""

    def __init__(self, file: KnowledgeFile, also_read: CodeSet) -> None:
        self.file = file
        self.also_read = also_read
        """Codes of Conditions another rule reads (the vascular findings, vascular.py)."""

    def warm(self) -> None:
        """Build every look-up now, so that nothing about the file can fail at request time."""
        _ = (
            self.system_uris,
            self.procedure_by_code,
            self.condition_codes_of_interest,
            self.observation_codes_of_interest,
            self.procedure_combinations,
            self.exclusion_codes,
            self.no_escalation_codes,
            self.finding_codes,
            self.site_required_codes,
            self.cervical_site_codes,
            self.other_region_codes,
        )

    @cached_property
    def system_uris(self) -> SystemTable:
        """Every accepted system URI (canonical or alias) to its canonical URI."""
        table: dict[str, str] = {}
        for system in self.file.code_systems.values():
            table[system.uri] = system.uri
            for alias in system.aliases:
                table[alias] = system.uri
        return SystemTable(table)

    def code_set(self, lists: CodeLists) -> CodeSet:
        """The codes of ``lists``; ICD-10-CM entries with every code below them."""
        return code_set(self.file.code_systems, lists)

    @cached_property
    def procedure_by_code(self) -> dict[tuple[str, str], Procedure]:
        """(canonical system URI, code) to the procedure it identifies."""
        table: dict[tuple[str, str], Procedure] = {}
        for procedure in self.file.procedures:
            for key, codes in procedure.codes.items():
                for code in codes:
                    table[(self.file.code_systems[key].uri, code.strip().upper())] = procedure
        return table

    @cached_property
    def indication_codes(self) -> CodeSet:
        return self.code_set(self.file.indication)

    @cached_property
    def exclusion_codes(self) -> dict[str, CodeSet]:
        """Each group's codes, with the expanded descendants of its SNOMED CT roots."""
        snomed = self.file.code_systems["snomed"].uri
        found = {}
        for group in self.file.exclusions:
            codes = self.code_set(group.codes)
            codes.any_system = True  # a code without its system, failing safe
            for root in group.snomed_roots:
                codes.add_all(snomed, [root, *self.file.snomed_expansions.get(root, ())])
            found[group.id] = codes
        return found

    @property
    def snomed_roots(self) -> list[str]:
        """Every group's SNOMED CT roots, for the terminology server."""
        return sorted({root for group in self.file.exclusions for root in group.snomed_roots})

    @cached_property
    def condition_codes_of_interest(self) -> CodeSet:
        """Every Condition code any rule reads: the record keeps only these Conditions."""
        result = CodeSet()
        result.update(self.indication_codes)
        for codes in self.exclusion_codes.values():
            result.update(codes)
        result.update(self.also_read)  # the vascular-study rule reads them (vascular.py)
        return result

    @cached_property
    def site_required_codes(self) -> frozenset[tuple[str, str]]:
        """(canonical system, code) pairs that identify a row only with the cervical site."""
        return frozenset(
            (self.file.code_systems[key].uri, code.strip().upper())
            for procedure in self.file.procedures
            for key, codes in procedure.site_required_codes.items()
            for code in codes
        )

    @cached_property
    def cervical_site_codes(self) -> CodeSet:
        return self.code_set(self.file.cervical_site.codes)

    @cached_property
    def other_region_codes(self) -> CodeSet:
        return self.code_set(self.file.other_regions.codes)

    @cached_property
    def no_escalation_codes(self) -> dict[str, CodeSet]:
        return {
            group.id: self.code_set(group.no_escalation_codes) for group in self.file.exclusions
        }

    @cached_property
    def finding_codes(self) -> CodeSet:
        """Every exclusion group's codes: an Observation coded with one is a finding."""
        result = CodeSet()
        for codes in self.exclusion_codes.values():
            result.update(codes)
        return result

    @cached_property
    def procedure_combinations(self) -> list[tuple[frozenset[tuple[str, str]], Procedure]]:
        """Code sets that identify a study only together, largest first."""
        found = []
        for procedure in self.file.procedures:
            for combination in procedure.code_combinations:
                codes = frozenset(
                    (self.file.code_systems[key].uri, code.strip().upper())
                    for key, codes in combination.items()
                    for code in codes
                )
                found.append((codes, procedure))
        return sorted(found, key=lambda item: -len(item[0]))

    @cached_property
    def observation_codes_of_interest(self) -> frozenset[str]:
        """``system|code`` tokens of the Observations any rule reads (LOINC and SNOMED CT)."""
        loinc, snomed = self.file.code_systems["loinc"].uri, self.file.code_systems["snomed"].uri
        return frozenset(
            token
            for group in self.file.exclusions
            for rule in group.observations
            for token in (
                *(f"{loinc}|{code}" for code in rule.loinc),
                *(f"{snomed}|{code}" for code in rule.snomed),
            )
        )
