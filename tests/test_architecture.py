"""The package's shape, enforced: small modules, functions and classes, Flask only under
``web/``, and no import from a later stage into an earlier one (the stages follow a hook call's
flow)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cds_service"

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40
MAX_CLASS_LINES = 150

STAGES = (
    ("cds_service.errors", "cds_service.settings", "cds_service.protocol"),
    ("cds_service.clinical",),
    ("cds_service.record",),
    ("cds_service.appraisal",),
    ("cds_service.advice",),
    ("cds_service.ops",),
    ("cds_service.services", "cds_service.pipeline"),
    ("cds_service.web",),
    ("cds_service.cli", "cds_service"),
)
"""In order: a module may import from its own stage and the earlier ones only. The knowledge
(``clinical``) comes before the record, which reads what the rules ask for; the appraisal and
the advice read the record; ``ops`` keeps what they produced; the pipeline strings them
together; ``web`` serves it and the command line starts it."""

FLASK = ("flask", "flask_cors", "werkzeug")


def sources() -> Iterator[tuple[str, str, Path]]:
    """(module name, source text, path) of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path.read_text(encoding="utf-8"), path


def modules() -> Iterator[tuple[str, ast.Module]]:
    for name, text, path in sources():
        yield name, ast.parse(text, str(path))


def sized(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
    """(qualified name, lines, limit) of every function and class, nested ones too."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}.{child.name}"
            limit = MAX_CLASS_LINES if isinstance(child, ast.ClassDef) else MAX_FUNCTION_LINES
            assert child.end_lineno is not None
            yield name, child.end_lineno - child.lineno + 1, limit
            yield from sized(child, name)


def type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """The nodes under ``if TYPE_CHECKING:`` (imported for the type checker only)."""
    return {
        inner
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body
        for inner in ast.walk(statement)
    }


def imported(module: str, tree: ast.Module, *, at_run_time: bool = False) -> Iterator[str]:
    """Every module a module imports, at the top or inside a function (``at_run_time``: not
    those imported for the type checker only)."""
    package = module if module == "cds_service" else module.rpartition(".")[0]
    skipped = type_checking_only(tree) if at_run_time else set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1]])
                base = f"{base}.{node.module}" if node.module else base
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def stage(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (index, len(prefix))
    return None if best is None else best[0]


def test_no_module_is_over_the_limit() -> None:
    """A module holds one idea: none is over ``MAX_MODULE_LINES`` lines, no exception."""
    lines = {name: len(text.splitlines()) for name, text, _ in sources()}
    over = {name: n for name, n in lines.items() if n > MAX_MODULE_LINES}
    assert over == {}, over


def test_no_function_or_class_is_over_the_limits() -> None:
    over = {
        name: (lines, limit)
        for module, tree in modules()
        for name, lines, limit in sized(tree, module)
        if lines > limit
    }
    assert over == {}


def test_only_web_imports_flask() -> None:
    offenders = sorted(
        f"{module} imports {name}"
        for module, tree in modules()
        if not module.startswith("cds_service.web")
        for name in imported(module, tree, at_run_time=True)
        if name.split(".")[0] in FLASK
    )
    assert offenders == []


def test_no_import_from_a_later_stage() -> None:
    offenders = []
    for module, tree in modules():
        own = stage(module)
        assert own is not None, f"{module} belongs to no stage"
        for name in imported(module, tree):
            target = stage(name) if name.startswith("cds_service") else None
            if target is not None and target > own and name != "cds_service":
                offenders.append(f"{module} imports {name}")
    assert sorted(set(offenders)) == []


@pytest.mark.parametrize("name", ["cds_service.pipeline", "cds_service.web.routes"])
def test_the_stage_table_knows_every_module(name: str) -> None:
    assert stage(name) is not None
