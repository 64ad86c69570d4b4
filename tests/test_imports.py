"""The dependency rule, as the code has it: graph/ imports no other package of the project, nodes/ does
not import recipes/ (recipes -> nodes -> graph), and `import portraitflow` stays cheap. Read from the
source with ast, so an import inside a function counts too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph", "nodes", "models", "recipes", "devices", "cli", "evaluation")


def project_imports(path: Path) -> set[str]:
    """The project's top-level packages (and root modules such as api) that one file imports."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    package = parts[:-1]                  # the package the file is in ("" for the root modules)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name.split(".") for alias in node.names]
            found |= {n[1] for n in names if n[0] == "portraitflow" and len(n) > 1}
        elif isinstance(node, ast.ImportFrom):
            if node.level:                # relative: `level` dots go up from the file's own package
                base = package[:len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                if not target:            # `from . import x` at the root: x is the package
                    target = [node.names[0].name]
            elif node.module and node.module.split(".")[0] == "portraitflow":
                target = node.module.split(".")[1:] or [node.names[0].name]
            else:
                continue                  # third-party or the standard library
            found.add(target[0])
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def offenders(package: str, forbidden: set[str]) -> dict[str, set[str]]:
    bad = {}
    for path in sources(package):
        wrong = project_imports(path) & forbidden
        if wrong:
            bad[str(path.relative_to(ROOT))] = wrong
    return bad


def test_the_checker_sees_relative_and_absolute_imports():
    assert project_imports(ROOT / "nodes" / "composite.py") >= {"graph"}
    assert "graph" in project_imports(ROOT / "cli" / "graph.py")
    assert project_imports(ROOT / "api.py") >= {"graph"}
    assert "graph" in project_imports(ROOT / "nodes" / "looks" / "assets.py")
    assert project_imports(ROOT / "cli" / "main.py") >= {"graph", "__version__"}


def test_graph_imports_no_other_package_of_the_project():
    assert sources("graph")
    assert offenders("graph", set(PACKAGES) - {"graph"} | {"api"}) == {}


def test_nodes_do_not_import_recipes():
    assert sources("nodes")
    assert offenders("nodes", {"recipes", "cli", "devices"}) == {}


@pytest.mark.parametrize("package", ["devices", "models"])
def test_devices_and_models_do_not_reach_up_into_recipes_or_the_cli(package):
    assert offenders(package, {"recipes", "cli"}) == {}
