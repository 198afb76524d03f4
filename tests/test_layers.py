"""The layers of src/perfscore hold: every import (module-level or inside a function) goes down the layer order

    engine → udfs → excel → receiving → report → deploy → cli

(each layer may import from itself and from the layers before it), and the shared modules — errors.py, files.py,
text.py, render/ — may be used by any layer but import only each other. The package root (perfscore/__init__.py)
re-exports the engine's API and counts as engine; __main__.py counts as cli.

Run as a script (``python tests/test_layers.py``) to print the import graph as counts per arrow.
"""
from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "perfscore"
ORDER = ["engine", "udfs", "excel", "receiving", "report", "deploy", "cli"]
SHARED = {"errors", "files", "text", "render"}
SPECIAL = {"__init__": "engine", "__main__": "cli"}


def _layer(parts: list[str]) -> str:
    """The layer of module perfscore.<parts>; a name that is no module of the package is the root's."""
    if not parts or not ((PACKAGE / parts[0]).is_dir() or (PACKAGE / f"{parts[0]}.py").exists()):
        return "engine"  # the package root: `import perfscore`, `from perfscore import __version__`
    return SPECIAL.get(parts[0], parts[0])


def imports():
    """(file, line, source layer, target layer, target module, inside a function) for every perfscore import."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        source = SPECIAL.get(parts[0], parts[0])
        package = parts[:-1]  # a module's package; for __init__.py the package itself
        tree = ast.parse(path.read_text("utf-8"), str(path))
        in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for n in ast.walk(f)}
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "perfscore"]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                    module = base + (node.module.split(".") if node.module else [])
                elif node.module and node.module.split(".")[0] == "perfscore":
                    module = node.module.split(".")[1:]
                else:
                    continue
                # `from perfscore import udfs` / `from . import x` name modules; otherwise the module is the target
                targets = [module + [a.name] for a in node.names] if not node.module or not module else [module]
            for t in targets:
                yield (path.relative_to(PACKAGE.parent).as_posix(), node.lineno, source, _layer(t),
                       ".".join(["perfscore", *t]), id(node) in in_function)


def allowed(source: str, target: str) -> bool:
    if source in SHARED:
        return target in SHARED
    if target in SHARED or target == source:
        return True
    return ORDER.index(target) < ORDER.index(source)


def test_every_layer_is_known():
    for path in PACKAGE.iterdir():
        name = path.stem if path.suffix == ".py" else path.name
        if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists()):
            assert name in ORDER or name in SHARED or name in SPECIAL, (
                f"{path.name}: a new top-level module; add it to ORDER or SHARED in tests/test_layers.py")


def test_imports_follow_the_layer_order():
    wrong = [f"{file}:{line}: {source} imports {module} ({target}){' inside a function' if fn else ''}"
             for file, line, source, target, module, fn in imports() if not allowed(source, target)]
    assert not wrong, ("imports against the layer order " + " → ".join(ORDER)
                       + " (shared: " + ", ".join(sorted(SHARED)) + "):\n" + "\n".join(wrong))


def test_the_checker_sees_imports_inside_functions():
    found = list(imports())
    assert any(fn for *_, fn in found) and any(not fn for *_, fn in found)
    assert not allowed("engine", "excel") and not allowed("receiving", "report") and allowed("report", "receiving")


def graph() -> tuple[Counter, Counter]:
    arrows, inside = Counter(), Counter()
    for _, _, source, target, _, fn in imports():
        if source != target:
            arrows[source, target] += 1
            inside[source, target] += fn
    return arrows, inside


if __name__ == "__main__":
    arrows, inside = graph()
    rank = {name: k for k, name in enumerate(ORDER + sorted(SHARED))}
    total = sum(1 for _ in imports())
    print(f"{total} perfscore imports, {sum(1 for *_, fn in imports() if fn)} inside functions; between layers:")
    for (a, b), n in sorted(arrows.items(), key=lambda kv: (rank[kv[0][0]], rank[kv[0][1]])):
        flag = "" if allowed(a, b) else "   <-- against the order"
        print(f"  {a:>9} → {b:<9} {n:3d}  ({inside[a, b]} inside functions){flag}")
    sys.exit(0)
