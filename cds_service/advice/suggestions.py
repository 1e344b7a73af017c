"""What a card offers to do: replace the order with MRI cervical spine without IV contrast, or
remove it.

The replacement is one ``update`` of the draft ServiceRequest (same id) whose code becomes the
MRI's and which carries the MRI's pama-rating: the form the CDS Hooks sandbox and the CDS Hooks
project's PAMA service apply (they ignore a delete + create pair, which EHRs that want it get
with ``CDS_REPLACE_ACTION=delete-create``). It is offered once per response, so that accepting
every card cannot order several MRIs.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cds_service.advice.pama import category_pama, pama_extension, with_extension
from cds_service.appraisal.criteria import Appraisal
from cds_service.clinical.knowledge import Knowledge, Procedure
from cds_service.protocol import Action, Suggestion, new_uuid
from cds_service.record.facts import Order

ReplaceAction = Literal["update", "delete-create"]
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
    replace_action: ReplaceAction
    may_be_rating: str
    now: datetime
    drafted_mri: Sequence[Order]
    replaced_on: str | None = field(default=None)
    """The name of the procedure whose card offers the replacement, once offered."""

    @property
    def preferred(self) -> Procedure:
        return self.knowledge.procedures_by_id[self.knowledge.preferred_procedure]

    def for_not_appropriate(self, appraisal: Appraisal, procedure: Procedure) -> list[Suggestion]:
        """Replace (once) or remove; remove and manage conservatively (not for vascular)."""
        order, texts = appraisal.order, self.knowledge.texts
        if order.reference is None:  # an order without id cannot be changed or removed
            return []
        remove = self.delete(order, procedure.name)
        if not procedure.offer_replacement:  # MRA, CTA: spinal MRI answers another question
            return [Suggestion(label=texts.remove_label, actions=[remove])]
        if self.replaced_on is not None and not self.drafted_mri:
            label = texts.remove_replacement_elsewhere_label.format(other=self.replaced_on)
            return [Suggestion(label=label, actions=[remove])]
        found = [self.replace_or_remove(order, procedure, remove)]
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
        return [self.replace_or_remove(order, procedure, self.delete(order, procedure.name))]

    def replace_or_remove(self, order: Order, procedure: Procedure, remove: Action) -> Suggestion:
        texts = self.knowledge.texts
        if self.drafted_mri:
            return Suggestion(label=texts.keep_existing_label, actions=[remove])
        if self.replaced_on is not None:
            label = texts.remove_replacement_elsewhere_label.format(other=self.replaced_on)
            return Suggestion(label=label, actions=[remove])
        self.replaced_on = procedure.name
        return Suggestion(
            label=texts.replace_label, isRecommended=True, actions=self.replace(order)
        )

    # ------------------------------------------------------------------ actions

    def delete(self, order: Order, name: str) -> Action:
        description = self.knowledge.texts.delete_description.format(procedure=name)
        return Action(type="delete", description=description, resourceId=order.reference)

    def replace(self, order: Order) -> list[Action]:
        texts, name = self.knowledge.texts, self.preferred.name
        if self.replace_action == "delete-create":
            create = Action(
                type="create",
                description=texts.create_description.format(procedure=name),
                resource=self.new_order(order),
            )
            return [self.delete(order, order_name(order, self.knowledge)), create]
        return [
            Action(
                type="update",
                description=texts.replace_description.format(procedure=name),
                resource=self.updated_order(order),
            )
        ]

    def mri_coding(self) -> dict[str, Any]:
        preferred, systems = self.preferred, self.knowledge.code_systems
        coding = [
            {"system": systems[key].uri, "code": codes[0], "display": preferred.name}
            for key, codes in preferred.codes.items()
            if key in ("cpt", "loinc") and codes
        ]
        return {"coding": coding, "text": preferred.name}

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
        row = knowledge.procedure_by_code.get((system, code.strip().upper()))
        if row is not None:
            return row.name
    return order.reference or ""
