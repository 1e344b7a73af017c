"""Which row of the procedure table an order is, and whether it is a cervical study alone."""

from __future__ import annotations

from cds_service.clinical.codes import any_match
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import Procedure
from cds_service.record.facts import Order

RRL_ORDER = ("not stated", "O", "☢", "☢☢", "☢☢☢", "☢☢☢☢", "☢☢☢☢☢")


def classify_order(order: Order, knowledge: Knowledge) -> Procedure | None:
    """The table row an order's codes identify; None for other orders or conflicting codes.

    Codes that identify a study only together win (CT myelography: 72126 with 62284); a row
    that states the contrast wins over an unspecified entry it is a candidate of; codings of
    rows rated alike give the row with the highest radiation level; rows rated differently
    give None (no rating is better than a guessed one).
    """
    codes = {(system, code.strip().upper()) for system, code in order.codes}
    for combination, procedure in knowledge.codes.procedure_combinations:
        if combination <= codes:
            return procedure
    cervical = says_cervical(order, knowledge)
    found: list[Procedure] = []
    for pair in sorted(codes):
        row = knowledge.codes.procedure_by_code.get(pair)
        if row is None or row in found:
            continue
        if pair in knowledge.codes.site_required_codes and not cervical:
            continue  # 72020: a radiograph of some level of the spine, not said to be cervical
        found.append(row)
    stated = {p.id for p in found if not p.candidates}
    found = [p for p in found if not (p.candidates and stated & set(p.candidates))]
    rating_for = knowledge.file.rating_for
    if not found or len({rating_for(p)[0] for p in found}) != 1:
        return None
    return max(found, key=lambda p: RRL_ORDER.index(rating_for(p)[1] or "not stated"))


def says_cervical(order: Order, knowledge: Knowledge) -> bool:
    """The order's bodySite is the cervical spine, or its code's text names it."""
    if any_match(knowledge.codes.cervical_site_codes, order.body_sites):
        return True
    return any(knowledge.text.cervical_words.search(text) for text in order.code_texts)


def other_region(order: Order, knowledge: Knowledge) -> list[str]:
    """The codes (of the order's code or bodySite) that name another body region."""
    other = knowledge.codes.other_region_codes
    return [
        code for system, code in (*order.codes, *order.body_sites) if other.contains(system, code)
    ]
