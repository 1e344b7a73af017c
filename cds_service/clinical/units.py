"""Unit conversion for the few Observations the rules read (UCUM codes and common spellings)."""

from __future__ import annotations

from dataclasses import dataclass

CELSIUS = frozenset({"cel", "°c", "c", "degc", "deg c", "celsius", "degrees celsius"})
FAHRENHEIT = frozenset({"[degf]", "°f", "f", "degf", "deg f", "fahrenheit", "degrees fahrenheit"})
KELVIN = frozenset({"k", "kelvin"})
UNITLESS_CELSIUS = (34.0, 45.0)
"""A body temperature with no unit in this range is read as degrees Celsius."""
UNITLESS_FAHRENHEIT = (93.0, 113.0)
"""... and in this one as degrees Fahrenheit (the same range, 33.9-45 °C)."""
KILOGRAMS = {
    "kg": 1.0,
    "kilogram": 1.0,
    "kilograms": 1.0,
    "g": 0.001,
    "[lb_av]": 0.45359237,
    "lb": 0.45359237,
    "lbs": 0.45359237,
    "[oz_av]": 0.028349523125,
}


def to_celsius(value: float, unit: str | None) -> float | None:
    """Degrees Celsius, or None when the unit is not a temperature unit."""
    key = (unit or "").strip().lower()
    if key in CELSIUS:
        return value
    if key in FAHRENHEIT:
        return (value - 32) * 5 / 9
    if key in KELVIN:
        return value - 273.15
    return None


@dataclass(frozen=True)
class Temperature:
    celsius: float
    unit: str
    """The UCUM unit it was read in: ``Cel``, ``[degF]`` or ``K``."""
    inferred: bool
    """True when the record gave no temperature unit and the value's range decided it."""


def read_temperature(value: float, unit: str | None) -> Temperature | None:
    """A body temperature in degrees Celsius, or None when it cannot be read.

    A recognised unit (UCUM or a common spelling, Kelvin included) is converted. Without one
    (no unit, or one that is not a temperature unit) the value decides, as only one reading is
    physiological: 34-45 is Celsius, 93-113 Fahrenheit. Anything else is unreadable: neither a
    fever nor a normal temperature. Guessing can only ever find a fever the clinician then
    sees named on the card (the patient is treated as outside the variant, the safe side); it
    can never silence one, because a normal reading cancels nothing in the rules.
    """
    key = (unit or "").strip().lower()
    for units, canonical in ((CELSIUS, "Cel"), (FAHRENHEIT, "[degF]"), (KELVIN, "K")):
        if key in units:
            celsius = to_celsius(value, canonical)
            assert celsius is not None
            return Temperature(celsius, canonical, inferred=False)
    if UNITLESS_CELSIUS[0] <= value <= UNITLESS_CELSIUS[1]:
        return Temperature(value, "Cel", inferred=True)
    if UNITLESS_FAHRENHEIT[0] <= value <= UNITLESS_FAHRENHEIT[1]:
        return Temperature((value - 32) * 5 / 9, "[degF]", inferred=True)
    return None


def to_kilograms(value: float, unit: str | None) -> float | None:
    """Kilograms, or None when the unit is not a mass unit."""
    factor = KILOGRAMS.get((unit or "").strip().lower())
    return None if factor is None else value * factor
