"""The package's import graph, read from the code: no cycles, and no module reaching
into another module's private names. Imports inside functions count (they run too);
imports under ``if TYPE_CHECKING:`` do not (they never run)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import fsartifacts

PACKAGE = Path(fsartifacts.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _runtime_imports(
    tree: ast.Module, *, type_hints: bool = False
) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, at any depth, leaving out TYPE_CHECKING blocks
    unless ``type_hints``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not type_hints:
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for each package module ``node`` names."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in MODULES:
                yield alias.name, None
        return
    if node.level:
        base = module.split(".")
        if MODULES[module].name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    for alias in node.names:
        if f"{source}.{alias.name}" in MODULES:
            yield f"{source}.{alias.name}", None
        elif source in MODULES:
            yield source, alias.name


def _graph(*, type_hints: bool = False) -> tuple[dict[str, set[str]], list[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    private: list[str] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _runtime_imports(tree, type_hints=type_hints):
            for target, name in _targets(module, node):
                if target == module:
                    continue
                edges[module].add(target)
                if name and name.startswith("_") and not name.startswith("__"):
                    private.append(f"{module} imports {target}.{name}")
    return edges, private


def _is_own_package(parent: str, child: str) -> bool:
    """A package's ``__init__`` importing its own submodules is how a package is built."""
    return child.startswith(parent + ".")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work.append((root, iter(sorted(edges[root]))))
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if _is_own_package(node, child):
                    continue
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_walk_sees_the_whole_package() -> None:
    edges, _ = _graph()
    assert "fsartifacts.cli.commands" in MODULES
    assert "fsartifacts.testing.artifactory" in MODULES
    assert any(edges.values())


def test_no_import_cycles() -> None:
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_no_import_cycles_even_through_type_hints() -> None:
    """A type hint is a dependency too: a cycle through one means two modules each need
    the other to be understood, whether or not the import runs."""
    edges, _ = _graph(type_hints=True)
    assert _cycles(edges) == []


def test_the_filesystem_and_the_server_have_no_cycles_even_through_type_hints() -> None:
    """Their modules depend one way (the filesystem on its client, the endpoints on a
    protocol of the server's state), so not even a type hint points back."""
    edges, _ = _graph(type_hints=True)
    own = ("fsartifacts.artifactoryfs", "fsartifacts.testing")
    inside = {
        module: {t for t in targets if t.startswith(own)}
        for module, targets in edges.items()
        if module.startswith(own)
    }
    assert "fsartifacts.artifactoryfs.client" in inside["fsartifacts.artifactoryfs.listing"]
    assert _cycles(inside) == []


def test_no_module_imports_another_modules_private_names() -> None:
    _, private = _graph()
    assert private == []


def test_the_artifactory_filesystem_imports_nothing_of_the_engine_config_or_stores() -> None:
    edges, _ = _graph()
    apart = ("engine", "config", "stores", "cli", "project")
    reached = {
        f"{module} imports {target}"
        for module, targets in edges.items()
        if module.startswith("fsartifacts.artifactoryfs")
        for target in targets
        if [*target.split("."), ""][1] in apart
    }
    assert edges["fsartifacts.artifactoryfs.filesystem"]
    assert reached == set()


def test_the_stores_import_nothing_of_the_engine() -> None:
    """The engine uses the stores, never the other way: what both need (claim objects,
    the runner a folder upload is handed, reading listing entries) lives in stores/.
    Not even a type hint points from a store into the engine."""
    edges, _ = _graph(type_hints=True)
    reached = {
        f"{module} imports {target}"
        for module, targets in edges.items()
        if module.startswith("fsartifacts.stores")
        for target in targets
        if target.startswith("fsartifacts.engine")
    }
    assert edges["fsartifacts.stores.base"]
    assert reached == set()


def test_push_and_pull_know_nothing_of_the_engine_that_runs_them() -> None:
    """They work with the narrow context they are given, and share no helper with each
    other: not even a type hint reaches the runner, and pull takes nothing from push."""
    edges, _ = _graph(type_hints=True)
    pulls = ("fsartifacts.engine.pull", "fsartifacts.engine.pullfolder")
    operations = ("fsartifacts.engine.push", *pulls)
    assert "fsartifacts.engine.context" in edges["fsartifacts.engine.push"]
    assert {m for m in operations if "fsartifacts.engine.runner" in edges[m]} == set()
    assert {m for m in pulls if "fsartifacts.engine.push" in edges[m]} == set()


def test_the_checks_catch_a_cycle_and_a_private_import() -> None:
    """The walk itself: a function-level import counts, a TYPE_CHECKING one does not."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert _cycles({"p": {"p.child"}, "p.child": {"p"}}) == []
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .x import T\n"
        "def f():\n    from .y import _hidden\n"
    )
    names = [
        (n.module, [a.name for a in n.names])
        for n in _runtime_imports(tree)
        if isinstance(n, ast.ImportFrom)
    ]
    assert sorted(names, key=str) == sorted(
        [("typing", ["TYPE_CHECKING"]), ("y", ["_hidden"])], key=str
    )


STORE_KINDS = {"s3", "s3a", "artifactory"}


def _kind_compares(tree: ast.AST) -> Iterator[int]:
    """Lines comparing a value with a store kind's name (``== "s3"``, ``in ("s3", ...)``)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        for operand in [node.left, *node.comparators]:
            names = (
                operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
            )
            if any(isinstance(n, ast.Constant) and n.value in STORE_KINDS for n in names):
                yield node.lineno


def test_no_module_outside_the_stores_compares_against_a_store_kind() -> None:
    """Only stores/ knows which store it talks to; everything else asks it."""
    apart = ("stores", "artifactoryfs", "testing")
    found = [
        f"{module}:{line}"
        for module, path in MODULES.items()
        if [*module.split("."), ""][1] not in apart
        for line in _kind_compares(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []
    assert list(_kind_compares(ast.parse("if kind == 's3' or x in ('a', 'artifactory'): pass")))
