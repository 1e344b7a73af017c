"""The settings that fit the suggestions to the EHR that shows them (``advice/profiles.py``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings

from cds_service.settings.values import CONFIG, Expected

EhrProfile = Literal["sandbox", "epic", "spec"]
PROFILE_OF_REPLACE_ACTION: dict[str, EhrProfile] = {"update": "sandbox", "delete-create": "spec"}
"""``CDS_REPLACE_ACTION``, the former setting, as the profile it names."""
CODING_PAIR = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s|]+\|[^\s|]+(?: [^\s|]+)*")
"""``system|code``: a URI without spaces, then a FHIR code (single inner spaces allowed)."""


class EhrSettings(BaseSettings):
    """The EHR that shows the cards"""

    model_config = CONFIG

    ehr_profile: EhrProfile = "sandbox"
    """The form of a card's suggestions, for the EHR that shows them. ``sandbox``: the
    replacement with MRI cervical spine without IV contrast is one ``update`` of the draft order
    (same id, its code changed and the MRI's pama-rating on it: the form the CDS Hooks sandbox
    and the PAMA convention apply), suggestions ``at-most-one``. ``spec``: delete the order and
    create the MRI, both in one suggestion. ``epic``: one action per suggestion and only
    ``create`` and ``delete`` (Epic's rules): "Order MRI cervical spine without IV contrast" (a
    ``create``, recommended) and "Remove this order" (a ``delete``) are separate suggestions,
    ``selectionBehavior`` ``any``; set ``CDS_MRI_ORDER_CODING`` too (start-up warns when it is
    unset). The MRI is offered once per response; systemActions are the same in every
    profile."""

    replace_action: Literal["update", "delete-create"] | None = None
    """The former name of ``CDS_EHR_PROFILE``, still read: ``update`` means ``sandbox``,
    ``delete-create`` means ``spec``. Set with a ``CDS_EHR_PROFILE`` that says otherwise,
    start-up stops with an error naming both."""

    mri_order_coding: Annotated[
        str | None,
        Expected(
            "system|code, a URI then a code, e.g. "
            "urn:com.epic.cdshooks.action.code.system.preference-list-item|12345"
        ),
    ] = None
    """``system|code`` of the site's orderable for MRI cervical spine without IV contrast,
    e.g. ``urn:com.epic.cdshooks.action.code.system.preference-list-item|<site code>`` (Epic
    names a particular orderable by its preference-list code). It is the first coding of the
    MRI a card orders, before CPT 72141 and LOINC 30667-0. A value that is not a URI, one
    ``|`` and a code stops start-up."""

    @field_validator("mri_order_coding", mode="before")
    @classmethod
    def _coding_pair(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not CODING_PAIR.fullmatch(value.strip()):
            raise ValueError("not system|code")
        return value.strip()

    @property
    def mri_order_coding_pair(self) -> tuple[str, str] | None:
        """``mri_order_coding`` as (system, code), None when unset."""
        if self.mri_order_coding is None:
            return None
        system, code = self.mri_order_coding.split("|", 1)
        return system, code

    @model_validator(mode="before")
    @classmethod
    def _profile_of_alias(cls, data: Any) -> Any:
        """``replace_action`` names a profile; with a different ``ehr_profile``, an error."""
        if not isinstance(data, dict):
            return data
        alias = PROFILE_OF_REPLACE_ACTION.get(str(data.get("replace_action")).strip())
        if alias is None:
            return data  # unset, or a value the field itself rejects
        stated = data.get("ehr_profile")
        if stated is not None and str(stated).strip() != alias:
            raise ValueError(
                f"CDS_EHR_PROFILE={stated} and CDS_REPLACE_ACTION={data['replace_action']} "
                f"contradict (CDS_REPLACE_ACTION={data['replace_action']} means "
                f"CDS_EHR_PROFILE={alias}): set CDS_EHR_PROFILE only"
            )
        return {**data, "ehr_profile": alias}
