"""The knowledge file as a review sheet a clinician can read and sign.

``cds-service knowledge explain`` prints it: the procedure table with its codes, each exclusion
group with its codes (ICD-10-CM titles from the CMS tabular), phrases and examples, every card
text filled in for each procedure, the thresholds, and the PROJECT DEFAULT and SIGN-OFF
choices. The packaged sheet is checked in as ``knowledge/review.md``; a test regenerates it.
"""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt

from cds_service.clinical import icd10cm
from cds_service.clinical.code_lists import CodeLists
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_loader import PACKAGED_KNOWLEDGE
from cds_service.clinical.knowledge_schema import ExclusionGroup
from cds_service.clinical.knowledge_schema import Procedure as Row

PACKAGED_REVIEW = PACKAGED_KNOWLEDGE.parent / "review.md"
SYSTEM_NAMES = {
    "cpt": "CPT",
    "loinc": "LOINC",
    "radlex": "RadLex",
    "snomed": "SNOMED CT",
    "icd10cm": "ICD-10-CM",
}
MARKS = re.compile(r"(PROJECT DEFAULT|SIGN-OFF)")


def explain(knowledge: Knowledge, source: Path = PACKAGED_KNOWLEDGE) -> str:
    """The review sheet, in Markdown."""
    parts = [
        header(knowledge),
        procedures(knowledge),
        indication(knowledge),
        exclusions(knowledge),
        other_rules(knowledge),
        card_texts(knowledge),
        topics(knowledge),
        marked_choices(source),
    ]
    return "\n\n".join(parts).rstrip() + "\n"


def header(k: Knowledge) -> str:
    return "\n".join(
        [
            f"# Review sheet: {k.file.guideline.title}",
            "",
            f"- Knowledge file: `{k.file.id}`, version `{k.file.version}`",
            f"- Guideline: {k.file.guideline.edition} ({k.file.guideline.url})",
            f"- Variant: *{k.file.variant.title}* "
            f"(adults: {k.file.variant.minimum_age_years} and over)",
            "",
            "Reviewer: ______________________  Date: ____________  Signature: ______________",
        ]
    )


def codes_line(lists: CodeLists, *, titles: bool = False) -> str:
    parts = []
    for key, codes in lists.items():
        if codes:
            shown = [
                f"{c} ({icd10cm.description(c)})"
                if titles and key == "icd10cm" and icd10cm.description(c)
                else c
                for c in codes
            ]
            parts.append(f"{SYSTEM_NAMES[key]}: {', '.join(shown)}")
    if lists.icd10cm_alone:
        alone = [f"{c} ({icd10cm.description(c)})" if titles else c for c in lists.icd10cm_alone]
        parts.append(f"{SYSTEM_NAMES['icd10cm']}, the category alone: {', '.join(alone)}")
    return "; ".join(parts) or "none"


def procedures(k: Knowledge) -> str:
    lines = [
        "## Procedure table",
        "",
        "| procedure | ACR category | RRL | source | codes |",
        "|---|---|---|---|---|",
    ]
    for row in k.file.procedures:
        category, rrl = k.file.rating_for(row)
        label = k.file.categories[category].label if category else "depends on contrast (not rated)"
        codes = codes_line(row.codes)
        if not row.site_required_codes.is_empty():
            codes += f"; only with the cervical site stated: {codes_line(row.site_required_codes)}"
        if row.code_combinations:
            combos = " or ".join(
                " + ".join(c for _, cs in combo.items() for c in cs)
                for combo in row.code_combinations
            )
            codes += f"; by combination: {combos}"
        source = row.rating_source or "candidates: " + ", ".join(row.candidates)
        lines.append(f"| {row.name} | {label} | {rrl or '-'} | {source} | {codes} |")
    lines += ["", "Rationale shown on each card:", ""]
    lines += [f"- **{row.name}**: {row.rationale}" for row in k.file.procedures]
    return "\n".join(lines)


def indication(k: Knowledge) -> str:
    return "\n".join(
        [
            "## The indication: suspected cervicogenic headache",
            "",
            f"- Codes: {codes_line(k.file.indication, titles=True)}",
            "- Read from the order's reason; when the order gives none, from the problem list.",
        ]
    )


def exclusions(k: Knowledge) -> str:
    sections = [group(g) + concept_lines(k, g) for g in k.file.exclusions]
    return "\n\n".join(["## Exclusions: the variant does not apply", *sections])


def concept_lines(k: Knowledge, g: ExclusionGroup) -> str:
    """A group's generated targets (kept and pruned), finding families and local causes."""
    lines: list[str] = []
    generated = k.text.generated_targets.get(g.id)
    spec = g.text.generated if g.text is not None else None
    if spec is not None and spec.icd10cm and generated is not None:
        lines += [
            f"- Generated from ICD-10-CM {', '.join(spec.icd10cm)} (titles and "
            f"inclusion terms, by lemma): {', '.join(w for w, _ in generated.kept)}",
            f"- Generated but pruned (too broad): "
            f"{'; '.join(f'{w!r} (by {x!r})' for w, x in generated.pruned) or 'none'}",
        ]
    if spec is not None and spec.snomed_synonyms:
        lines.append(
            "- With a terminology server, also the displays and synonyms of every concept below "
            "its SNOMED CT roots (by lemma), pruned by the texts no generated target may occur "
            f"in: {'; '.join(map(repr, spec.no_match))}"
        )
    for f in g.text.families if g.text is not None else []:
        kind = "hides the finding (a normal result)" if f.hides else "the finding"
        lines.append(
            f"- Family *{f.name}* ({kind}): {', '.join(f.heads)} within {f.distance} words of "
            f"{', '.join(f.near)}. {f.why} Must match: {'; '.join(map(repr, f.match))}. "
            f"Must not match: {'; '.join(map(repr, f.no_match))}"
        )
    for c in g.text.local_causes if g.text is not None else []:
        lines.append(
            f"- Local cause *{c.name}*: not read when its sentence names a cause "
            f"({'; '.join(f'`{p}`' for p in c.causes)}) and none of {', '.join(c.unless)}. "
            f"{c.why} Explained away: {'; '.join(map(repr, c.match))}. "
            f"Still read: {'; '.join(map(repr, c.no_match))}"
        )
    return "".join(f"\n{line}" for line in lines)


def group(g: ExclusionGroup) -> str:
    lines = [f"### {g.label} (`{g.id}`)", ""]
    lookback = (
        f"; inactive ones within {g.inactive_lookback_days} days"
        if (g.inactive_lookback_days)
        else ""
    )
    lines.append(f"- Status: {g.status_policy}{lookback}")
    if g.escalate_within_days:
        lines.append(f"- Urgent escalation when new: onset within {g.escalate_within_days} days")
    lines.append(f"- Codes: {codes_line(g.codes, titles=True)}")
    if not g.no_escalation_codes.is_empty():
        lines.append(f"- Exclude without escalation: {codes_line(g.no_escalation_codes)}")
    if g.snomed_roots:
        lines.append(f"- SNOMED CT descendants of: {', '.join(g.snomed_roots)}")
    for rule in g.observations:
        lines.append(f"- Observation rule: {rule.model_dump_json(exclude_none=True)}")
    if g.text:
        t = g.text
        lines += [
            f"- Phrases: {', '.join(t.phrases)}",
            f"- Other senses (not the finding): {', '.join(t.other_senses) or 'none'}",
            f"- Patterns (regular expressions): {'; '.join(f'`{p}`' for p in t.patterns) or '-'}",
            f"- Cancelled by (within {t.cancel_scope} tokens): "
            f"{', '.join(t.cancelled_by) or 'none'}; kept by: {', '.join(t.kept_by) or 'none'}",
            f"- Dated or stated as an event by: {', '.join(t.asserted_by) or 'none'}",
            f"- New or progressive (urgent escalation) by: {', '.join(t.escalated_by) or 'none'}",
            f"- A historical mention counts: {'yes' if t.historical_counts else 'no'}",
            f"- Must match: {'; '.join(repr(x) for x in t.match)}",
            f"- Must not match: {'; '.join(repr(x) for x in t.no_match)}",
        ]
    lines.append(f"- Card says: {g.redirect}")
    return "\n".join(lines)


def other_rules(k: Knowledge) -> str:
    p = k.file.prior_imaging
    lines = [
        "## Other rules",
        "",
        f"- {p.label}: a study of the table within {p.lookback_days} days. Card says: {p.redirect}",
        f"- Cervical site: {codes_line(k.file.cervical_site.codes)}; words: "
        f"{', '.join(k.file.cervical_site.words)}",
        f"- Other body regions (not rated as cervical): {codes_line(k.file.other_regions.codes)}",
        "- Added ConText modifiers:",
    ]
    lines += [
        f"  - {r.literal!r} {r.category} {r.direction}: {r.why}" for r in k.file.text_context_rules
    ]
    lines += default_cues(k)
    lines.append("- Display idioms removed before a text is read:")
    lines += [
        f"  - `{i.id}` `{i.pattern}`: {i.why} Removed from: {'; '.join(map(repr, i.match))}. "
        f"Left in: {'; '.join(map(repr, i.no_match))}"
        for i in k.file.display_idioms
    ]
    lines.append("- Override reasons offered with a Usually not appropriate card:")
    lines += [f"  - {r.display} (`{r.code}`)" for r in k.file.override_reasons]
    lines += vascular_rule(k)
    return "\n".join(lines)


def default_cues(k: Knowledge) -> list[str]:
    """medspaCy's default ConText cues, each with the review's decision (default_cues.py)."""
    cues = k.file.reviewed_default_cues
    if not cues:
        return []
    kept = sum(c.decision == "keep" for c in cues)
    return [
        f"- medspaCy's default ConText cues, reviewed ({kept} kept, {len(cues) - kept} "
        "replaced by a rule above):",
        *(f"  - {c.literal!r} {c.category} {c.direction}: {c.decision}. {c.why}" for c in cues),
    ]


def vascular_rule(k: Knowledge) -> list[str]:
    """The vascular-study rule: its studies, codes, words and card (issue 20)."""
    v = k.file.vascular_findings
    if v is None:
        return []
    return [
        f"- Vascular studies not rated for a recorded vascular finding: {', '.join(v.procedures)}",
        f"  - codes: {codes_line(v.codes, titles=True)}",
        *(f"  - words: `{pattern}`" for pattern in v.patterns),
        f"  - card: {v.summary} / {v.detail}",
    ]


def card_texts(k: Knowledge) -> str:
    t = k.file.texts
    lines = ["## Card texts, filled in", ""]
    for row in k.file.procedures:
        lines += procedure_texts(k, row)
    lines += ["### Every other text", ""]
    lines += [f"- `{name}`: {value}" for name, value in t.model_dump().items()]
    return "\n".join(lines)


def topics(k: Knowledge) -> str:
    """Each card's ``source.topic``: one code per advice (Epic remembers overrides by it)."""
    lines = [
        f"## Card topics (`{k.file.topics.system}`)",
        "",
        "| advice | about | code | display |",
    ]
    lines.append("|---|---|---|---|")
    lines += [f"| {t.kind} | {t.about} | `{t.code}` | {t.display} |" for t in k.file.topics.advice]
    return "\n".join(lines)


def procedure_texts(k: Knowledge, row: Row) -> list[str]:
    t = k.file.texts
    category, rrl = k.file.rating_for(row)
    if category is None or rrl is None:
        return [
            f"### {row.name}",
            "",
            f"Summary: {t.unspecified_summary.format(procedure=row.name)}",
            "",
            f"Detail: {t.unspecified_detail}",
            "",
        ]
    label = k.file.categories[category].label
    template = t.mri_summary if category != "usually-not-appropriate" else t.not_appropriate_summary
    advice = (
        f"{t.mri_advice}\n\n{t.mri_detail}"
        if category != "usually-not-appropriate"
        else (t.preferred_alternative if row.offer_replacement else t.vascular_note)
    )
    return [
        f"### {row.name}",
        "",
        f"Summary: {template.format(procedure=row.name, category=label)}",
        "",
        "Detail: " + t.rating_line.format(category=label, rrl=k.file.rrl_labels[rrl]),
        "",
        row.rationale,
        "",
        advice,
        "",
    ]


def marked_choices(source: Path) -> str:
    """Every line of the file marked PROJECT DEFAULT or SIGN-OFF, with its line number."""
    lines = ["## Operating choices (PROJECT DEFAULT) and additions to sign off (SIGN-OFF)", ""]
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        if MARKS.search(line):
            lines.append(f"- line {number}: `{line.strip()}`")
    return "\n".join(lines)


def to_html(markdown: str) -> str:
    """A plain, printable HTML page of the sheet, rendered by markdown-it-py (CommonMark with
    its tables): lists, emphasis, code and tables as a browser prints them, text escaped."""
    body: str = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Review sheet</title>"
        "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px}"
        "</style></head><body>\n" + body + "</body></html>\n"
    )
