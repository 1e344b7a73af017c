"""What an appraisal is called where one word is needed: the log line, the metrics, the store,
the report. Written here once."""

from __future__ import annotations

import hashlib

from cds_service.appraisal.criteria import Appraisal


def rating_or_verdict(category: str | None, verdict: str) -> str:
    """The ACR category of a rated order, else why it has none (excluded, unspecified...)."""
    return category or verdict


def rating_label(appraisal: Appraisal) -> str:
    """:func:`rating_or_verdict` of an appraisal."""
    return rating_or_verdict(appraisal.category, appraisal.verdict.value)


def advice_key(appraisal: Appraisal) -> str:
    """What a card says, hashed: its procedure, rating and the findings' groups (no text).
    An order-select override hides only the same advice at order-sign."""
    groups = sorted({f.group_id for f in appraisal.findings})
    procedure = appraisal.procedure.id if appraisal.procedure else ""
    said = "|".join([procedure, rating_label(appraisal), ",".join(groups)])
    return hashlib.sha256(said.encode()).hexdigest()[:32]
