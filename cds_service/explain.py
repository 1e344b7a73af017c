"""``cds-service evaluate --explain``: what the service saw in a hook request, beside its answer.

For integration harnesses and analysts: each prefetch key (filled, empty, null, missing,
unusable; fetched or failed, with the HTTP status), how many resources were read, kept and
skipped per key, where each order's indication came from, which exclusion groups were checked
and what each found, and why each order got its card or none. Everything is read from the
call's :class:`~cds_service.pipeline.CallTrace` and :class:`~cds_service.pipeline.HookResult`:
no rule is run again. The texts quoted are the request's own (a local file the user owns).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cds_service.advice.appraised import AppraisedOrder
from cds_service.advice.evidence_text import evidence_text
from cds_service.appraisal.verdicts import Appraisal, Verdict
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.pipeline import CallTrace, HookResult
from cds_service.record.facts import Order
from cds_service.record.prefetch_trace import KeyTrace
from cds_service.services import Service

FORBIDDEN_HINT = "a 403 usually means the EHR did not grant the read scope {scopes}"
AGE, PRIOR = "age", "prior-imaging"
AGE_FINDINGS = {"not-adult": AGE, "age-unknown": AGE}
"""The age rule's findings, shown under one group."""


def explanation(
    service: Service, trace: CallTrace, result: HookResult | None, knowledge: Knowledge
) -> dict[str, Any]:
    """The explanation as plain JSON (``result`` None: the call ended in an error)."""
    orders = {o.appraisal.order.reference: o for o in (result.orders if result else ())}
    return {
        "prefetch": [prefetch_key(service, t) for t in trace.prefetch.keys.values()],
        "orders": [
            order_story(order, procedure, orders.get(order.reference), trace, knowledge)
            for order, procedure in _with_rows(trace)
        ],
        "silent": bool(result and result.silent),
    }


def _with_rows(trace: CallTrace) -> list[tuple[Order, str | None]]:
    """Every draft order, with its table row's name when the service appraised it ("" when
    it was appraised but names no row; None when it was not among the orders appraised)."""
    rows = {id(order): (p.name if p else "") for order, p in trace.appraised}
    return [(order, rows.get(id(order))) for order in trace.drafts]


def prefetch_key(service: Service, trace: KeyTrace) -> dict[str, Any]:
    key = next((k for k in service.prefetch if k.name == trace.key), None)
    seen: dict[str, Any] = {"key": trace.key, "state": trace.words}
    if trace.fault:
        seen["unusable"] = trace.fault
    if trace.reason:
        seen["failure"] = trace.reason
    if trace.status == 403 and key is not None:
        seen["hint"] = FORBIDDEN_HINT.format(scopes=" or ".join(key.read_scopes))
    seen.update(read=trace.read, kept=trace.kept, skipped=trace.skipped)
    return seen


def order_story(
    order: Order,
    row: str | None,
    advised: AppraisedOrder | None,
    trace: CallTrace,
    knowledge: Knowledge,
) -> dict[str, Any]:
    """One draft order: its codes, its row, its indication, the groups checked, its card."""
    story: dict[str, Any] = {
        "order": order.reference or "(no id)",
        "codes": [f"{system}|{code}" for system, code in order.codes],
    }
    if row is None:
        return {**story, "card": "none: not among the orders this hook appraises (selections)"}
    if not row:
        return {**story, "card": "none: no row of the ACR procedure table names this order"}
    story["procedure"] = row
    if advised is None:
        return {**story, "card": "none: the call ended before the orders were appraised"}
    appraisal = advised.appraisal
    story["indication"] = indication(appraisal)
    story["verdict"] = advised.rating
    story["exclusions"] = exclusions(appraisal, knowledge)
    story["card"] = card_story(advised, trace)
    return story


def indication(appraisal: Appraisal) -> str:
    found = appraisal.indication
    if found is None:
        return (
            "none: no suspected cervicogenic headache in the order's reason (or, when the "
            "order gives no reason, on the problem list)"
        )
    where = "the order's reason" if found.source == "order" else "the problem list"
    shown = f"“{found.display}”, " if found.display else ""
    return f"{where}: {shown}{found.code}"


def exclusions(appraisal: Appraisal, knowledge: Knowledge) -> list[dict[str, str]] | str:
    """Each group the rules checked and what it found (the card's evidence, quoted)."""
    if appraisal.verdict is Verdict.NOT_APPLICABLE:
        return "not checked: the order was not rated"
    if appraisal.verdict is Verdict.OTHER_REGION:
        regions = ", ".join(evidence_text(f.evidence, knowledge.file) for f in appraisal.findings)
        return f"not checked: the order also names another body region ({regions})"
    found: dict[str, list[str]] = {}
    for finding in appraisal.findings:
        group = AGE_FINDINGS.get(finding.group_id, finding.group_id)
        shown = evidence_text(finding.evidence, knowledge.file)
        found.setdefault(group, []).append(shown or finding.label)
    groups = [(AGE, knowledge.file.texts.not_adult_label)]
    groups += [(g.id, g.label) for g in knowledge.file.exclusions]
    groups.append((PRIOR, knowledge.file.prior_imaging.label))
    lines = [
        {"group": gid, "label": label, "found": "; ".join(found.pop(gid, [])) or "nothing"}
        for gid, label in groups
    ]
    lines += [{"group": g, "label": g, "found": "; ".join(e)} for g, e in found.items()]
    return lines


def card_story(advised: AppraisedOrder, trace: CallTrace) -> str:
    card = advised.card
    if card is not None:
        return f"{card.indicator}: {card.summary}"
    appraisal = advised.appraisal
    if appraisal.order.reference in trace.hidden:
        return "none: the clinician overrode the same card at order-select (within 24 hours)"
    if appraisal.verdict is Verdict.EXCLUDED:
        return "none: outside the variant, and CDS_OUT_OF_SCOPE_CARDS is false"
    return "none: nothing to say for this verdict"


def as_text(explained: dict[str, Any]) -> str:
    """The explanation for a terminal."""
    lines = ["Prefetch"]
    if not explained["prefetch"]:
        lines.append("  (not read: no order of the procedure table to appraise)")
    for key in explained["prefetch"]:
        counts = f"read {key['read']}, kept {key['kept']}, skipped {key['skipped']}"
        lines.append(f"  {key['key']}: {key['state']} ({counts})")
        lines += [f"    {k}: {key[k]}" for k in ("unusable", "failure", "hint") if k in key]
    lines.append("Orders")
    for story in explained["orders"]:
        lines.append(f"  {story['order']} ({', '.join(story['codes']) or 'no code'})")
        lines += _story_lines(story)
    if explained["silent"]:
        lines.append("CDS_MODE=silent: the cards above were recorded, not sent")
    return "\n".join(lines) + "\n"


def _story_lines(story: dict[str, Any]) -> Sequence[str]:
    lines = [f"    {k}: {story[k]}" for k in ("procedure", "indication", "verdict") if k in story]
    groups = story.get("exclusions")
    if isinstance(groups, str):
        lines.append(f"    exclusions: {groups}")
    elif groups:
        lines.append("    exclusions checked:")
        lines += [f"      {g['label']}: {g['found']}" for g in groups]
    lines.append(f"    card: {story['card']}")
    return lines
