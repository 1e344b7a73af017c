"""The cards of orders the table does not rate for this patient: another body region, a
patient outside the variant, a deficit that calls for urgent escalation."""

from __future__ import annotations

from collections.abc import Sequence

from cds_service.advice.card_frame import CardFrame, procedure_of
from cds_service.advice.evidence_text import evidence_text
from cds_service.appraisal.exclusions import UNREADABLE_CONDITION
from cds_service.appraisal.verdicts import Appraisal, Finding
from cds_service.protocol import SUMMARY_MAX, Card

UNCONFIRMED = frozenset({"age-unknown", UNREADABLE_CONDITION})
"""Findings that say the record cannot confirm the variant, not that it does not fit."""


class UnratedCards:
    """Each card names the evidence and where the guideline sends the patient."""

    def __init__(self, frame: CardFrame) -> None:
        self.frame = frame
        self.k = frame.k

    def other_region(self, appraisal: Appraisal) -> Card:
        texts = self.k.file.texts
        evidence = ", ".join(self._evidence(f) for f in appraisal.findings)
        return self.frame.card(
            appraisal,
            texts.other_region_summary.format(procedure=procedure_of(appraisal).name),
            [texts.other_region_detail.format(evidence=evidence), self.frame.variant_line()],
            "info",
        )

    def vascular_finding(self, appraisal: Appraisal) -> Card:
        """A vascular study for a recorded vascular finding: not rated (appraisal/vascular.py)."""
        found = self.k.file.vascular_findings
        assert found is not None  # the verdict is given only when the file has the block
        evidence = ", ".join(self._evidence(f) for f in appraisal.findings)
        return self.frame.card(
            appraisal,
            found.summary.format(procedure=procedure_of(appraisal).name),
            [found.detail.format(evidence=evidence, variant=self.k.file.variant.title)],
            "info",
        )

    def out_of_scope(self, appraisal: Appraisal) -> Card:
        texts = self.k.file.texts
        kinds = {f.group_id for f in appraisal.findings}
        if kinds <= UNCONFIRMED:  # nothing found that excludes: the record cannot tell
            age_unknown = "age-unknown" in kinds
            summary = texts.unconfirmed_summary if age_unknown else texts.unreadable_summary
            intro = texts.unconfirmed_intro
        else:
            labels = [f.label for f in appraisal.findings]
            summary, intro = self._fit(texts.excluded_summary, labels), texts.excluded_intro
        redirects = dict.fromkeys(f.redirect for f in appraisal.findings)
        first = " ".join([intro.format(variant=self.k.file.variant.title), *redirects])
        bullets = "\n".join(self._finding_line(f) for f in appraisal.findings)
        return self.frame.card(appraisal, summary, [first, bullets], "info")

    def escalation(self, appraisal: Appraisal) -> Card:
        """A deficit that may be new: the seed's call for urgent escalation, with the evidence."""
        texts = self.k.file.texts
        deficits = [f for f in appraisal.findings if f.escalate]
        others = [f for f in appraisal.findings if not f.escalate]
        bullets = "\n".join(self._finding_line(f) for f in deficits)
        parts = [texts.escalation_detail, bullets, *(self._findings(others) if others else [])]
        return self.frame.card(appraisal, texts.escalation_summary, parts, "warning")

    def _evidence(self, finding: Finding) -> str:
        return evidence_text(finding.evidence, self.k.file)

    def _finding_line(self, finding: Finding) -> str:
        evidence = self._evidence(finding)
        if not evidence:
            return f"- **{finding.label}**"
        return self.k.file.texts.finding_line.format(label=finding.label, evidence=evidence)

    def _findings(self, findings: Sequence[Finding]) -> list[str]:
        """A bullet per finding with its evidence, then where the guideline sends each."""
        bullets = "\n".join(self._finding_line(f) for f in findings)
        return [bullets, *dict.fromkeys(f.redirect for f in findings)]

    def _fit(self, template: str, parts: list[str]) -> str:
        """Fill ``template`` with as many findings as fit under the summary limit."""
        texts = self.k.file.texts
        for count in range(len(parts), 0, -1):
            rest = len(parts) - count
            shown = "; ".join(parts[:count])
            text = texts.more_findings.format(shown=shown, rest=rest) if rest else shown
            summary = template.format(reasons=text)
            if len(summary) <= SUMMARY_MAX:
                return summary
        return template.format(reasons=texts.findings_count.format(count=len(parts)))[:SUMMARY_MAX]
