"""What a card offers to do: replace the order with MRI cervical spine without IV contrast, or
remove it.

The form depends on the EHR profile (see profiles.py). ``sandbox``: the replacement is one
``update`` of the draft ServiceRequest (same id) whose code becomes the MRI's and which carries
the MRI's pama-rating, the form the CDS Hooks sandbox and the CDS Hooks project's PAMA service
apply. ``spec``: a delete and a create in one suggestion. ``epic``: one action per suggestion,
the MRI's ``create`` (recommended) beside the order's ``delete``. The MRI is offered once per
response, so that accepting every card cannot order several MRIs.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cds_service.advice.pama import category_pama, pama_extension, with_extension
from cds_service.advice.profiles import ProfileRules
from cds_service.appraisal.verdicts import Appraisal
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import Procedure
from cds_service.protocol import Action, Suggestion, new_uuid
from cds_service.record.facts import Order

STUDY_FIELDS = ("code", "orderDetail", "bodySite")
"""Fields of the old study that the replacement does not keep (they describe the old one)."""
CONTEXT_FIELDS = (
    "category",
    "priority",
    "subject",
    "encounter",
    "requester",
    "reasonCode",
    "reasonReference",
)


@dataclass
class Suggester:
    """The suggestions of one response (it remembers that the replacement was offered)."""

    knowledge: Knowledge
    rules: ProfileRules
    may_be_rating: str
    now: datetime
    drafted_mri: Sequence[Order]
    site_coding: tuple[str, str] | None = None
    """The site's orderable for the MRI (``CDS_MRI_ORDER_CODING``), its first coding."""
    replaced_on: str | None = field(default=None)
    """The name of the procedure whose card offers the replacement, once offered."""

    @property
    def preferred(self) -> Procedure:
        return self.knowledge.file.procedures_by_id[self.knowledge.file.preferred_procedure]

    def for_not_appropriate(self, appraisal: Appraisal, procedure: Procedure) -> list[Suggestion]:
        """Replace (once) or remove; remove and manage conservatively (not for vascular)."""
        order, texts = appraisal.order, self.knowledge.file.texts
        if order.reference is None:  # an order without id cannot be changed or removed
            return []
        remove = self.delete(order, procedure.name)
        if not procedure.offer_replacement:  # MRA, CTA: spinal MRI answers another question
            return [Suggestion(label=texts.remove_label, actions=[remove])]
        if self.replaced_on is not None and not self.drafted_mri:
            label = texts.remove_replacement_elsewhere_label.format(other=self.replaced_on)
            return [Suggestion(label=label, actions=[remove])]
        found = self.replace_or_remove(order, procedure, remove)
        if self.rules.one_action_per_suggestion:
            return found  # each holds one action, and one of them removes this order
        if self.drafted_mri:
            others = [self.delete(o, self.preferred.name) for o in self.drafted_mri if o.reference]
            found.append(Suggestion(label=texts.conservative_all_label, actions=[remove, *others]))
        else:
            found.append(Suggestion(label=texts.conservative_label, actions=[remove]))
        return found

    def for_unspecified(self, appraisal: Appraisal, procedure: Procedure) -> list[Suggestion]:
        """Contrast not stated: the replacement with the MRI without contrast, if not offered."""
        order = appraisal.order
        if order.reference is None:
            return []
        return self.replace_or_remove(order, procedure, self.delete(order, procedure.name))

    def replace_or_remove(
        self, order: Order, procedure: Procedure, remove: Action
    ) -> list[Suggestion]:
        texts = self.knowledge.file.texts
        if self.drafted_mri:
            return [Suggestion(label=texts.keep_existing_label, actions=[remove])]
        if self.replaced_on is not None:
            label = texts.remove_replacement_elsewhere_label.format(other=self.replaced_on)
            return [Suggestion(label=label, actions=[remove])]
        self.replaced_on = procedure.name
        if self.rules.one_action_per_suggestion:
            return [
                Suggestion(
                    label=texts.order_replacement_label.format(procedure=self.preferred.name),
                    isRecommended=True,
                    actions=[self.create(order)],
                ),
                Suggestion(label=texts.remove_label, actions=[remove]),
            ]
        return [
            Suggestion(label=texts.replace_label, isRecommended=True, actions=self.replace(order))
        ]

    # ------------------------------------------------------------------ actions

    def delete(self, order: Order, name: str) -> Action:
        description = self.knowledge.file.texts.delete_description.format(procedure=name)
        return Action(type="delete", description=description, resourceId=order.reference)

    def create(self, order: Order) -> Action:
        description = self.knowledge.file.texts.create_description.format(
            procedure=self.preferred.name
        )
        return Action(type="create", description=description, resource=self.new_order(order))

    def replace(self, order: Order) -> list[Action]:
        """The actions of one replacing suggestion (``update``, or ``delete-create``)."""
        if self.rules.replace == "delete-create":
            return [self.delete(order, order_name(order, self.knowledge)), self.create(order)]
        description = self.knowledge.file.texts.replace_description.format(
            procedure=self.preferred.name
        )
        return [Action(type="update", description=description, resource=self.updated_order(order))]

    def mri_coding(self) -> dict[str, Any]:
        """The site's orderable first (when configured), then CPT and LOINC."""
        preferred, systems = self.preferred, self.knowledge.file.code_systems
        site: list[dict[str, str]] = []
        if self.site_coding is not None:
            site.append({"system": self.site_coding[0], "code": self.site_coding[1]})
        coding = [
            {"system": systems[key].uri, "code": codes[0], "display": preferred.name}
            for key, codes in preferred.codes.items()
            if key in ("cpt", "loinc") and codes
        ]
        return {"coding": [*site, *coding], "text": preferred.name}

    def mri_rating(self) -> dict[str, Any]:
        category = self.preferred.category
        assert category is not None  # the preferred study is a rated row (checked at load)
        pama = category_pama(category, self.knowledge, self.may_be_rating)
        return pama_extension(pama, category, self.knowledge)

    def updated_order(self, order: Order) -> dict[str, Any]:
        """The same draft order (same id), now for the MRI, with the MRI's pama-rating."""
        resource = {k: v for k, v in order.raw.items() if k not in STUDY_FIELDS}
        resource["code"] = self.mri_coding()
        return with_extension(resource, self.mri_rating())

    def new_order(self, order: Order) -> dict[str, Any]:
        """A new draft ServiceRequest for the MRI carrying the order's context."""
        raw = order.raw
        resource: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "id": new_uuid(),
            "status": "draft",
            "intent": raw.get("intent") or "order",
            "code": self.mri_coding(),
            "authoredOn": self.now.isoformat(),
        }
        resource.update({f: copy.deepcopy(raw[f]) for f in CONTEXT_FIELDS if raw.get(f)})
        return with_extension(resource, self.mri_rating())


def order_name(order: Order, knowledge: Knowledge) -> str:
    """The table's name of the order's study, for an action's description."""
    for system, code in order.codes:
        row = knowledge.codes.procedure_by_code.get((system, code.strip().upper()))
        if row is not None:
            return row.name
    return order.reference or ""
