"""The README and the docs it points to: CI runs the quick start's test command, the layout
lists every module. (The settings table, docs/settings.md, is generated and checked by its own
test.)"""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
DOCS = README.parent / "docs"
FRONT_DOOR_LINES = 250


def test_the_readme_is_a_front_door_linking_every_document() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= FRONT_DOOR_LINES
    linked = {path.name for path in DOCS.glob("*.md") if f"(docs/{path.name})" in text}
    assert linked == {path.name for path in DOCS.glob("*.md")}


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
