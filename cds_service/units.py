"""Unit conversion for the few Observations the rules read (UCUM codes and common spellings)."""

from __future__ import annotations

CELSIUS = frozenset({"cel", "°c", "c", "degc", "deg c", "celsius"})
FAHRENHEIT = frozenset({"[degf]", "°f", "f", "degf", "deg f", "fahrenheit"})
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
    return None


def to_kilograms(value: float, unit: str | None) -> float | None:
    """Kilograms, or None when the unit is not a mass unit."""
    factor = KILOGRAMS.get((unit or "").strip().lower())
    return None if factor is None else value * factor
