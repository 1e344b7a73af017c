"""Code lists of the knowledge file: the code systems it names, and codes per system.

The base model of every part of the knowledge file (knowledge_schema.py) is here too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cds_service.clinical import icd10cm

SystemKey = Literal["cpt", "loinc", "radlex", "snomed", "icd10cm"]


class Strict(BaseModel):
    """The base of every model of the knowledge file: no unknown field, never changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeSystem(Strict):
    uri: str
    aliases: list[str] = Field(default_factory=list)


class CodeLists(Strict):
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
