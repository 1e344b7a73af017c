"""The README and the docs it points to: the settings table is the settings (every CDS_*
variable, with its default), CI runs the quick start's test command, the layout lists every
module."""

from __future__ import annotations

import re
from pathlib import Path

from cds_service.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
DOCS = README.parent / "docs"
ROW = re.compile(r"^\| `(CDS_[A-Z_]+)` \| (.*?) \| (.*) \|$")


def settings_table() -> dict[str, str]:
    """Variable to its default cell, from the Configuration section's table."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    section = text.split("# Configuration", 1)[1].split("\n## ", 1)[0]
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


def test_ci_runs_the_readme_s_test_command_first() -> None:
    """CI's first command (after ``cd``) is the quick start's test command, pins included."""
    text = README.read_text(encoding="utf-8")
    quick_start = text.split("# 2. install and run the tests\n", 1)[1].splitlines()[0]
    script = (README.parent / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in script if line and not line.startswith(("#", "set ", "cd "))]
    assert commands[0] == quick_start
    assert "-c constraints.txt" in quick_start


def test_the_constraints_pin_every_dependency_but_the_package() -> None:
    pins = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (README.parent / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert "cds-service" not in pins
    assert {"flask", "fhir.resources", "medspacy", "sqlalchemy", "pytest", "psycopg"} <= pins


def test_the_layout_lists_every_module() -> None:
    text = (DOCS / "development.md").read_text(encoding="utf-8")
    block = text.split("## Layout", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    listed, folder = set(), ""
    for line in block.splitlines()[1:]:
        name = line.split()[0]
        if line.startswith("  ") and not line.startswith("    "):
            folder = name if name.endswith("/") else ""
            listed.add(name)
        else:
            listed.add(folder + name)
    package = README.parent / "cds_service"
    modules = {
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if not (p.name == "__init__.py" and p.parent != package)
    }
    assert modules - listed == set()
