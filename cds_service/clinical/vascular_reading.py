"""The words of a recorded vascular finding, read with ConText (issue 20).

A cervical artery dissection or stenosis named in a text makes a vascular study a question
about it (appraisal/vascular.py) only as a clinician would read the text: the knowledge file's
ConText rules apply as they do to the exclusion groups.

- Affirmed, or historical ("history of carotid dissection"): it counts (a follow-up study of a
  dissection asks about it; PROJECT DEFAULT in the knowledge file).
- Suspected ("rule out dissection", "?dissection", "evaluate for dissection", "possible
  vertebral artery dissection"): it counts. The seed's variant is "the common, non-emergent
  workup where the primary question is identifying a structural correlate for a suspected
  cervicogenic headache"; an
  order that asks whether an artery is dissected has another question, and a clinical
  suspicion is enough to leave the variant (the seed: contrast "is reserved for specific
  clinical suspicions that fall outside of this initial workup scenario"). Failing safe: no
  "Usually not appropriate" for it (first rule).
- Denied ("no evidence of dissection", "carotid stenosis ruled out"), hypothetical ("risk of
  vertebral artery dissection with manipulation") or a relative's ("mother had a carotid
  dissection", as the clinical reference's family history of malignancy is not the patient's
  red flag): it does not count, and the study is rated for the headache (second rule).

Two groups of words: ``patterns`` name the finding anywhere in the record; ``order_patterns``
only in the vascular study's own reason or note (there "dissection" alone is an artery's).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from cds_service.clinical.assertions import ContextRule, GroupPhrases, TextReader

RECORD = "vascular-finding"
ORDER = "vascular-finding-in-order"

SUSPECTED = (
    ContextRule("evaluate for", "POSSIBLE_EXISTENCE", "FORWARD", replaces_default=True),
    ContextRule("to exclude", "POSSIBLE_EXISTENCE", "FORWARD", replaces_default=True),
)
"""An order "to evaluate for dissection" or "to exclude carotid dissection" suspects it:
medspaCy reads both as negations, which would rate the study for the headache."""


def vascular_reader(
    patterns: Sequence[str], order_patterns: Sequence[str], rules: Sequence[ContextRule]
) -> TextReader:
    """The reader of the vascular words (one per set of words and rules: knowledge copies
    made by a terminology refresh share it)."""
    return _reader(tuple(patterns), tuple(order_patterns), tuple(rules))


@cache
def _reader(
    patterns: tuple[str, ...], order_patterns: tuple[str, ...], rules: tuple[ContextRule, ...]
) -> TextReader:
    groups = [
        GroupPhrases(group_id=RECORD, phrases=(), patterns=patterns, historical_counts=True),
        GroupPhrases(group_id=ORDER, phrases=(), patterns=order_patterns, historical_counts=True),
    ]
    return TextReader(
        [g for g in groups if g.patterns], (*rules, *SUSPECTED), cache_bytes=256 * 1024
    )
