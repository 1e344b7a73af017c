"""The draft orders of a hook call (``context.draftOrders``) as :class:`Order` facts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cds_service.record.facts import CodePair, ConditionFact, Order
from cds_service.record.readers import (
    MALFORMED_CONTENT,
    Skipped,
    as_dict,
    as_list,
    as_str,
    codings,
    is_valid,
    local_reference,
    read_condition,
    read_order,
)


@dataclass(frozen=True)
class DraftOrders:
    orders: tuple[Order, ...]
    """Every valid draft ServiceRequest, in Bundle order."""
    references: dict[str, tuple[CodePair, ...]]
    """``Type/id`` to codes for the other resources of the Bundle (reasonReference targets)."""
    conditions: tuple[ConditionFact, ...] = ()
    """Conditions carried in the Bundle (entered during this visit): part of the record."""


def read_draft_orders(
    bundle: Mapping[str, Any], systems: Mapping[str, str], skipped: Skipped
) -> DraftOrders:
    """Parse the Bundle's entries one by one: a Bundle without ``type`` is still read."""
    orders: list[Order] = []
    conditions: list[ConditionFact] = []
    references: dict[str, tuple[CodePair, ...]] = {}
    for entry in as_list(bundle.get("entry")):
        resource = as_dict(as_dict(entry).get("resource"))
        try:  # malformed content is "skipped", never a 500 (see MALFORMED_CONTENT)
            kind = as_str(resource.get("resourceType"))
            if kind == "ServiceRequest":
                readable = readable_order(resource, skipped)
                if readable is not None:  # its actions carry the order as the EHR sent it
                    orders.append(replace(read_order(readable, systems), raw=resource))
                continue
            if kind == "Condition":  # a rejected one still excludes, failing safe
                valid = is_valid(resource, skipped)
                conditions.append(read_condition(resource, systems, validated=valid))
            codes = codings(resource.get("code"), systems)
            if kind and as_str(resource.get("id")):
                references[f"{kind}/{resource['id']}"] = codes
            full_url = as_str(as_dict(entry).get("fullUrl"))
            if full_url and full_url.startswith("urn:"):
                references[full_url] = codes
        except MALFORMED_CONTENT:
            skipped.add(resource)
    return DraftOrders(tuple(orders), references, tuple(conditions))


def readable_order(resource: dict[str, Any], skipped: Skipped) -> dict[str, Any] | None:
    """The draft ServiceRequest if the models accept it. One they reject only for its
    ``contained``, when nothing in it refers to a contained resource (``#id``), is read
    without it: what nothing refers to cannot change the answer, and must not silence the
    order (it stays counted as skipped)."""
    if is_valid(resource, skipped):
        return resource
    if "contained" not in resource or '"reference": "#' in json.dumps(resource):
        return None
    bare = {name: value for name, value in resource.items() if name != "contained"}
    return bare if is_valid(bare, Skipped()) else None


def selected(orders: Iterable[Order], selections: Iterable[str]) -> list[Order]:
    """The orders named in ``context.selections`` (``ServiceRequest/id``)."""
    wanted = {local_reference(s) for s in selections}
    return [o for o in orders if o.reference is not None and o.reference in wanted]
