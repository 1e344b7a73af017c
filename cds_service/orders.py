"""The draft orders of a hook call (``context.draftOrders``) as :class:`Order` facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cds_service.criteria import local_reference
from cds_service.facts import CodePair, Order
from cds_service.fhir_read import Skipped, codings, is_valid, read_order


@dataclass(frozen=True)
class DraftOrders:
    orders: tuple[Order, ...]
    """Every valid draft ServiceRequest, in Bundle order."""
    references: dict[str, tuple[CodePair, ...]]
    """``Type/id`` to codes for the other resources of the Bundle (reasonReference targets)."""


def read_draft_orders(
    bundle: Mapping[str, Any], systems: Mapping[str, str], skipped: Skipped
) -> DraftOrders:
    """Parse the Bundle's entries one by one: a Bundle without ``type`` is still read."""
    orders: list[Order] = []
    references: dict[str, tuple[CodePair, ...]] = {}
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        kind = resource.get("resourceType")
        if kind == "ServiceRequest":
            if is_valid(resource, skipped):
                orders.append(read_order(resource, systems))
        elif isinstance(kind, str) and isinstance(resource.get("id"), str):
            references[f"{kind}/{resource['id']}"] = codings(resource.get("code"), systems)
    return DraftOrders(tuple(orders), references)


def selected(orders: Iterable[Order], selections: Iterable[str]) -> list[Order]:
    """The orders named in ``context.selections`` (``ServiceRequest/id``)."""
    wanted = {local_reference(s) for s in selections}
    return [o for o in orders if o.reference is not None and o.reference in wanted]
