"""The README's settings table is the settings: every CDS_* variable, with its default."""

from __future__ import annotations

import re
from pathlib import Path

from cds_service.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
ROW = re.compile(r"^\| `(CDS_[A-Z_]+)` \| (.*?) \| (.*) \|$")


def settings_table() -> dict[str, str]:
    """Variable to its default cell, from the Configuration section's table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {m[1]: m[2] for line in section.splitlines() if (m := ROW.match(line))}


def shown(value: object) -> str:
    """A default as the table writes it: ``true``, ``30`` (not ``30.0``), ``0.25``."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_the_table_lists_every_setting_and_nothing_else() -> None:
    expected = {f"CDS_{name.upper()}" for name in Settings.model_fields}
    assert set(settings_table()) == expected


def test_the_table_gives_each_plain_default() -> None:
    table = settings_table()
    wrong = {}
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, bool | int | float) or (isinstance(default, str) and default):
            cell = table[f"CDS_{name.upper()}"]
            if f"`{shown(default)}`" not in cell:
                wrong[name] = (default, cell)
    assert wrong == {}
