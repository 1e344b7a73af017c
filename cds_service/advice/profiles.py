"""EHR profiles: the form of the suggestions each kind of CDS client can apply.

``sandbox`` (the default) is the reference client's form: the replacement is one ``update`` of
the draft ServiceRequest, and a card's suggestions are alternatives (``at-most-one``).
``spec`` replaces with a ``delete`` of the order and a ``create`` of the MRI in one suggestion.
``epic`` follows Epic's public CDS Hooks documentation: one action per suggestion, only
``create`` and ``delete`` for orders, ``selectionBehavior`` "any"; the MRI is a ``create``
suggestion of its own (recommended) beside "Remove this order", and the clinician may take
both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cds_service.settings import EhrProfile

SelectionBehavior = Literal["at-most-one", "any"]
ReplaceForm = Literal["update", "delete-create", "separate"]


@dataclass(frozen=True)
class ProfileRules:
    selection_behavior: SelectionBehavior
    replace: ReplaceForm
    """``update``: one update of the draft order; ``delete-create``: both in one suggestion;
    ``separate``: a create suggestion and a delete suggestion, one action each."""

    @property
    def one_action_per_suggestion(self) -> bool:
        return self.replace == "separate"


RULES: dict[EhrProfile, ProfileRules] = {
    "sandbox": ProfileRules("at-most-one", "update"),
    "spec": ProfileRules("at-most-one", "delete-create"),
    "epic": ProfileRules("any", "separate"),
}
