"""A conformance check of CDS Hooks 2.0 responses, written from the specification's text.

Deliberately independent of ``cds_service.protocol``: it reads plain JSON and checks the
rules a CDS client relies on (required fields, types, enums, omitted empties, summary length).
"""

from __future__ import annotations

from typing import Any

INDICATORS = {"info", "warning", "critical"}
SELECTION_BEHAVIORS = {"at-most-one", "any"}
ACTION_TYPES = {"create", "update", "delete"}
LINK_TYPES = {"absolute", "smart"}


def problems(response: Any) -> list[str]:
    """Every way ``response`` breaks CDS Hooks 2.0; empty when it conforms."""
    found: list[str] = []
    if not isinstance(response, dict):
        return ["response is not a JSON object"]
    extra = set(response) - {"cards", "systemActions", "extension"}
    if extra:
        found.append(f"unknown response fields {sorted(extra)}")
    if not isinstance(response.get("cards"), list):
        found.append("cards is required and must be an array")
    _empties(response, "response", found, top=True)
    for i, card in enumerate(response.get("cards") or []):
        _card(card, f"cards[{i}]", found)
    actions = response.get("systemActions")
    if actions is not None:
        if not isinstance(actions, list) or not actions:
            found.append("systemActions must be a non-empty array when present")
        for i, action in enumerate(actions or []):
            _action(action, f"systemActions[{i}]", found)
    extension = response.get("extension")
    if extension is not None and not isinstance(extension, dict):
        found.append("extension must be an object")
    return found


def assert_conforms(response: Any) -> None:
    found = problems(response)
    assert not found, "CDS Hooks 2.0 violations:\n" + "\n".join(found)


def _empties(value: Any, where: str, found: list[str], top: bool = False) -> None:
    """No null, "", [] or {} anywhere (but the required top-level cards array may be empty)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if top and key == "cards":
                for i, card in enumerate(item or []):
                    _empties(card, f"{where}.cards[{i}]", found)
                continue
            if item is None or item == "" or item == [] or item == {}:
                found.append(f"{where}.{key} is empty ({item!r}): omit it")
            _empties(item, f"{where}.{key}", found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _empties(item, f"{where}[{i}]", found)


def _string(obj: dict[str, Any], key: str, where: str, found: list[str], required: bool) -> None:
    if key not in obj:
        if required:
            found.append(f"{where}.{key} is required")
    elif not isinstance(obj[key], str) or not obj[key]:
        found.append(f"{where}.{key} must be a non-empty string")


def _coding(coding: Any, where: str, found: list[str], display: bool) -> None:
    if not isinstance(coding, dict):
        found.append(f"{where} must be a Coding object")
        return
    _string(coding, "system", where, found, True)
    _string(coding, "code", where, found, True)
    _string(coding, "display", where, found, display)


def _card(card: Any, where: str, found: list[str]) -> None:
    if not isinstance(card, dict):
        found.append(f"{where} must be an object")
        return
    allowed = {
        "uuid",
        "summary",
        "detail",
        "indicator",
        "source",
        "suggestions",
        "selectionBehavior",
        "overrideReasons",
        "links",
        "extension",
    }
    if set(card) - allowed:
        found.append(f"{where} has unknown fields {sorted(set(card) - allowed)}")
    _string(card, "uuid", where, found, True)  # our rule: every card carries a uuid
    _string(card, "summary", where, found, True)
    if isinstance(card.get("summary"), str) and len(card["summary"]) >= 140:
        found.append(f"{where}.summary has {len(card['summary'])} characters (< 140 required)")
    _string(card, "detail", where, found, False)
    if card.get("indicator") not in INDICATORS:
        found.append(f"{where}.indicator {card.get('indicator')!r} not in {sorted(INDICATORS)}")
    source = card.get("source")
    if not isinstance(source, dict):
        found.append(f"{where}.source is required")
    else:
        _string(source, "label", f"{where}.source", found, True)
        _string(source, "url", f"{where}.source", found, False)
        if "topic" in source:
            _coding(source["topic"], f"{where}.source.topic", found, display=False)
    suggestions = card.get("suggestions")
    if suggestions is not None:
        if card.get("selectionBehavior") not in SELECTION_BEHAVIORS:
            found.append(
                f"{where}.selectionBehavior must be one of {sorted(SELECTION_BEHAVIORS)}"
                " when suggestions are present"
            )
        uuids = []
        for i, suggestion in enumerate(suggestions):
            _suggestion(suggestion, f"{where}.suggestions[{i}]", found)
            if isinstance(suggestion, dict):
                uuids.append(suggestion.get("uuid"))
        if len(set(uuids)) != len(uuids):
            found.append(f"{where}: suggestion uuids repeat")
        recommended = sum(1 for s in suggestions if isinstance(s, dict) and s.get("isRecommended"))
        if recommended > 1 and card.get("selectionBehavior") != "any":
            found.append(f"{where}: several recommended suggestions need selectionBehavior any")
    elif "selectionBehavior" in card:
        found.append(f"{where}.selectionBehavior without suggestions")
    for i, reason in enumerate(card.get("overrideReasons") or []):
        _coding(reason, f"{where}.overrideReasons[{i}]", found, display=True)
    for i, link in enumerate(card.get("links") or []):
        path = f"{where}.links[{i}]"
        if not isinstance(link, dict):
            found.append(f"{path} must be an object")
            continue
        _string(link, "label", path, found, True)
        _string(link, "url", path, found, True)
        if link.get("type") not in LINK_TYPES:
            found.append(f"{path}.type must be one of {sorted(LINK_TYPES)}")
        if "appContext" in link and link.get("type") != "smart":
            found.append(f"{path}.appContext is only valid for smart links")


def _suggestion(suggestion: Any, where: str, found: list[str]) -> None:
    if not isinstance(suggestion, dict):
        found.append(f"{where} must be an object")
        return
    _string(suggestion, "label", where, found, True)
    _string(suggestion, "uuid", where, found, True)  # our rule: every suggestion carries one
    if "isRecommended" in suggestion and not isinstance(suggestion["isRecommended"], bool):
        found.append(f"{where}.isRecommended must be a boolean")
    for i, action in enumerate(suggestion.get("actions") or []):
        _action(action, f"{where}.actions[{i}]", found)


def _action(action: Any, where: str, found: list[str]) -> None:
    if not isinstance(action, dict):
        found.append(f"{where} must be an object")
        return
    if action.get("type") not in ACTION_TYPES:
        found.append(f"{where}.type must be one of {sorted(ACTION_TYPES)}")
    _string(action, "description", where, found, True)
    if action.get("type") in ("create", "update"):
        resource = action.get("resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            found.append(f"{where}.resource must be a FHIR resource for {action.get('type')}")
        elif action.get("type") == "update" and not resource.get("id"):
            found.append(f"{where}.resource needs an id for update")
    if action.get("type") == "delete":
        resource_id = action.get("resourceId")
        if not isinstance(resource_id, str) or "/" not in resource_id:
            found.append(f"{where}.resourceId must be a relative reference string for delete")
