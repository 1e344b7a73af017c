"""What an appraisal is called where one word is needed: the log line, the metrics, the store,
the report. Written here once."""

from __future__ import annotations

import hashlib

from cds_service.appraisal.verdicts import Appraisal, Verdict
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.topics import AdviceId, MissingTopic, topic_of


def rating_or_verdict(category: str | None, verdict: str) -> str:
    """The ACR category of a rated order, else why it has none (excluded, unspecified...)."""
    return category or verdict


def rating_label(appraisal: Appraisal) -> str:
    """:func:`rating_or_verdict` of an appraisal."""
    return rating_or_verdict(appraisal.category, appraisal.verdict.value)


def advice_of(appraisal: Appraisal, knowledge: Knowledge) -> AdviceId | None:
    """The advice the appraisal's card gives (None: its verdict calls for no card): a rated
    row and its rating; a row whose contrast is unstated, or ordered with another region; the
    patient outside the variant (the first of the reasons in the topics' order), or an
    urgent escalation. The same advice, whatever the patient, is the same identity. A verdict
    not named here is a :class:`MissingTopic`: a new kind of card names its advice here."""
    verdict, row = appraisal.verdict, appraisal.procedure.id if appraisal.procedure else ""
    if verdict is Verdict.NOT_APPLICABLE:
        return None
    if verdict is Verdict.RATED and appraisal.category:
        return AdviceId(appraisal.category, row)
    if verdict in (Verdict.RATED, Verdict.UNSPECIFIED):
        return AdviceId("unspecified", row)
    if verdict is Verdict.OTHER_REGION:
        return AdviceId("other-region", row)
    if verdict is Verdict.VASCULAR_FINDING:
        return AdviceId("vascular-finding", row)
    if verdict is Verdict.EXCLUDED:
        kind = "escalation" if appraisal.escalate else "out-of-variant"
        reasons = {f.group_id for f in appraisal.findings if f.escalate or not appraisal.escalate}
        for advice in knowledge.file.topic_index:
            if advice.kind == kind and advice.about in reasons:
                return advice
        return AdviceId(kind, min(reasons, default=""))  # no topic: topic_of says so
    raise MissingTopic(
        f"no advice for the verdict {verdict.value!r}: name it in appraisal/labels.advice_of, "
        "its topics in the knowledge file and in clinical/topics.REQUIRED"
    )


def advice_key(appraisal: Appraisal, knowledge: Knowledge) -> str | None:
    """The key an override is remembered by, so that an order-select override hides at
    order-sign only the card that gives the same advice: the topic code of the advice; for a
    card outside the variant for several reasons, the first one's code, ``+`` and a hash of
    all their codes (a reason found since the override makes it new advice)."""
    advice = advice_of(appraisal, knowledge)
    if advice is None:
        return None
    code = topic_of(knowledge.file, advice).code
    if advice.kind != "out-of-variant":
        return code
    index = knowledge.file.topic_index
    reasons = sorted(
        {
            index[key].code
            for f in appraisal.findings
            if (key := AdviceId(advice.kind, f.group_id)) in index
        }
    )
    if len(reasons) < 2:
        return code
    return f"{code[:31]}+{hashlib.sha256('+'.join(reasons).encode()).hexdigest()[:32]}"
